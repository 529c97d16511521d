//! The config reader's messages, checked against a folder of invalid configs.
//!
//! Each `tests/fixtures/invalid_configs/NN-name.toml` holds one kind of mistake giving one
//! problem; `9N-` fixtures give several (`99-` many mistakes, `98-` one mistake that breaks
//! several references); next to it, `NN-name.expected` holds exactly what a user sees:
//! one problem per line, as `Problem`'s Display prints it, each line ending in a newline.
//! Each fixture is checked twice: through `Config::from_file`, and through the real
//! `check-config` command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use release_cockpit::config::{Config, DEFAULT_TOML};

const FIXTURES: &str = "tests/fixtures/invalid_configs";
const MIN_FIXTURES: usize = 15;

/// Runs the built binary from the crate root, so relative fixture paths resolve as in a shell.
fn cockpit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_release-cockpit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Keep the user's environment from choosing a config or state for us.
        .env_remove("RELEASE_COCKPIT_CONFIG")
        .output()
        .expect("the release-cockpit binary runs")
}

/// The fixtures, sorted, as paths relative to the crate root (`tests/fixtures/...`).
fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| {
            let name = name.to_str()?.to_string();
            name.ends_with(".toml")
                .then(|| Path::new(FIXTURES).join(name))
        })
        .collect();
    out.sort();
    out
}

/// The text a `.expected` file promises, without its final newline.
fn expected_text(fixture: &Path) -> Result<String, String> {
    let path = fixture.with_extension("expected");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text.strip_suffix('\n').unwrap_or(&text).to_string()),
        Err(e) => Err(format!(
            "{}: has no readable {} ({e}); write the problem lines a user should see there",
            fixture.display(),
            path.display()
        )),
    }
}

/// Expected and actual side by side, one line each, marking the lines that differ.
fn diff(expected: &str, actual: &str) -> String {
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let mut out = String::from("--- expected\n+++ actual\n");
    for i in 0..exp.len().max(act.len()) {
        match (exp.get(i), act.get(i)) {
            (Some(e), Some(a)) if e == a => out.push_str(&format!("  {e}\n")),
            (e, a) => {
                if let Some(e) = e {
                    out.push_str(&format!("- {e}\n"));
                }
                if let Some(a) = a {
                    out.push_str(&format!("+ {a}\n"));
                }
            }
        }
    }
    out
}

/// Checks one fixture through the library and the binary; `Err` describes every mismatch.
fn check_fixture(fixture: &Path) -> Result<(), String> {
    let name = fixture.display().to_string();
    let expected = expected_text(fixture)?;
    let mut failures = Vec::new();

    // (1) The library: the problems' Display lines, exactly.
    match Config::from_file(fixture) {
        Ok(_) => failures.push(format!(
            "{name}: Config::from_file accepted it; expected these problems:\n{expected}"
        )),
        Err(problems) => {
            let actual = problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            if actual != expected {
                failures.push(format!(
                    "{name}: Config::from_file problems differ from {}:\n{}",
                    fixture.with_extension("expected").display(),
                    diff(&expected, &actual)
                ));
            }
            let is_many = fixture
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('9'));
            if !is_many && problems.len() != 1 {
                failures.push(format!(
                    "{name}: a fixture holds one mistake and should report exactly one \
                     problem, found {}:\n{actual}",
                    problems.len()
                ));
            }
        }
    }

    // (2) The binary: `error: `, every expected line, the count, exit status 2.
    let out = cockpit(&["check-config", &name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(2) {
        failures.push(format!(
            "{name}: check-config exited with {:?}, expected 2\nstderr:\n{stderr}",
            out.status.code()
        ));
    }
    if !stderr.starts_with("error: ") {
        failures.push(format!(
            "{name}: check-config stderr does not start with \"error: \":\n{stderr}"
        ));
    }
    for line in expected.lines() {
        if !stderr.contains(line) {
            failures.push(format!(
                "{name}: check-config stderr lacks the expected line\n  {line}\nstderr:\n{stderr}"
            ));
        }
    }
    let n = expected.lines().count();
    let count = format!("{n} problem{} found", if n == 1 { "" } else { "s" });
    if stderr.lines().last() != Some(count.as_str()) {
        failures.push(format!(
            "{name}: check-config stderr should end with {count:?}:\n{stderr}"
        ));
    }

    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n\n"))
    }
}

#[test]
fn every_invalid_fixture_reports_exactly_its_expected_problems() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= MIN_FIXTURES,
        "found {} fixtures in {FIXTURES}, expected at least {MIN_FIXTURES}",
        fixtures.len()
    );

    let mut failures: Vec<String> = fixtures
        .iter()
        .filter_map(|f| check_fixture(f).err())
        .collect();

    // An `.expected` whose `.toml` was renamed or deleted would silently test nothing.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    for entry in fs::read_dir(&dir).expect("the fixture folder") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "expected")
            && !path.with_extension("toml").is_file()
        {
            failures.push(format!("{}: has no matching .toml fixture", path.display()));
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}\n\n(to update a fixture, run \
         `target/debug/release-cockpit check-config <fixture>` and copy the problem lines \
         into its .expected file, after checking each message is right)",
        failures.len(),
        fixtures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn many_problems_are_all_reported_at_once_each_at_its_own_line() {
    let fixture = Path::new(FIXTURES).join("99-many-problems.toml");
    let problems = Config::from_file(&fixture).expect_err("99-many-problems.toml is invalid");
    assert!(
        problems.len() >= 4,
        "expected at least 4 problems, got {}: {problems:#?}",
        problems.len()
    );
    let mut lines: Vec<usize> = problems
        .iter()
        .map(|p| {
            assert_eq!(
                p.file,
                fixture.display().to_string(),
                "every problem is in the user's file: {p}"
            );
            p.line
                .unwrap_or_else(|| panic!("problem without a line: {p}"))
        })
        .collect();
    lines.dedup();
    assert_eq!(
        lines.len(),
        problems.len(),
        "each problem should be at its own line: {problems:#?}"
    );
    let paths: std::collections::BTreeSet<&str> =
        problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths.len(), problems.len(), "each problem has its own key");
}

#[test]
fn embedded_default_is_valid() {
    if let Err(problems) = Config::from_str("embedded default", DEFAULT_TOML) {
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        panic!("the embedded default is invalid:\n{}", lines.join("\n"));
    }
    let config = Config::embedded();
    assert!(config.environment("production").is_some());
    assert!(config.environment("staging").is_some());
    assert!(!config.procedure.phases.is_empty());
}

#[test]
fn check_config_on_a_valid_file_exits_zero() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("valid.toml");
    fs::write(&path, "[service]\nname = \"billing-api\"\n").expect("write the config");
    let path = path.to_str().expect("a UTF-8 temporary path");
    let out = cockpit(&["check-config", path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "check-config {path} should succeed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{path}: ok")),
        "stdout should say the file is ok:\n{stdout}"
    );
    assert!(stderr.is_empty(), "nothing on stderr:\n{stderr}");
}

#[test]
fn check_config_accepts_the_default_file_itself() {
    let out = cockpit(&["check-config", "assets/default.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn overriding_only_service_keeps_the_default_tables() {
    let config = Config::from_str("service-only.toml", "[service]\nname = \"billing-api\"\n")
        .unwrap_or_else(|problems| {
            let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            panic!("a [service]-only config is valid:\n{}", lines.join("\n"))
        });
    assert_eq!(config.service_name, "billing-api");

    let (phase, item) = config
        .procedure
        .item("code-freeze")
        .expect("the default procedure's code-freeze item is kept");
    assert_eq!(phase.id, "week-before");
    assert_eq!(item.text, "Code freeze for non-critical features");

    let default = Config::embedded();
    assert_eq!(config.procedure, default.procedure);
    assert_eq!(config.environments, default.environments);
    assert_eq!(config.release_types, default.release_types);
    assert_eq!(config.schedule, default.schedule);
    assert_eq!(config.thresholds, default.thresholds);
}
