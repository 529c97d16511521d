//! Bad input on the command line: the binary must say what is wrong, exit 2, and leave no
//! journal behind, all before it takes the terminal over.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_release-cockpit");
const TIMEOUT: Duration = Duration::from_secs(20);

/// A temp dir with a state dir (not created: the binary must not need it to fail), a cwd
/// with no `release-cockpit.toml`, and an empty XDG config dir.
struct Sandbox {
    dir: tempfile::TempDir,
}

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    args: Vec<String>,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("create a temp dir");
        for sub in ["work", "xdg-config"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a dir in the temp dir");
        }
        Sandbox { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn state_dir(&self) -> PathBuf {
        self.root().join("state")
    }

    fn work_dir(&self) -> PathBuf {
        self.root().join("work")
    }

    /// Runs the binary with `--state-dir STATE` and `args`, stdin null, killed after 20 s.
    fn run(&self, state_dir: &Path, args: &[&str]) -> Run {
        let mut all = vec!["--state-dir".to_string(), state_dir.display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let mut child = Command::new(BIN)
            .args(&all)
            .current_dir(self.work_dir())
            .env_remove("RELEASE_COCKPIT_CONFIG")
            .env_remove("RELEASE_COCKPIT_TEST_PANIC")
            .env("XDG_CONFIG_HOME", self.root().join("xdg-config"))
            .env("RELEASE_COCKPIT_USER", "alice")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn release-cockpit");
        // Drain the pipes on threads so a chatty child cannot block on a full pipe.
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let out = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = out.read_to_end(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        });
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for release-cockpit") {
                break status;
            }
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "release-cockpit {all:?} still ran after {TIMEOUT:?} (killed): bad input \
                     must be refused before the cockpit starts"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = String::from_utf8_lossy(&out.join().expect("stdout reader")).into_owned();
        let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
        Run {
            status,
            stdout,
            stderr,
            args: all,
        }
    }

    /// Every `*.jsonl` under the temp dir (which holds the state dir).
    fn journals(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "jsonl") {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.root(), &mut found);
        found
    }

    /// Exit 2, an `error:` on stderr naming each of `expected`, nothing on stdout, no journal.
    fn assert_refused(&self, run: &Run, expected: &[&str]) {
        let context = format!(
            "release-cockpit {:?}\nexit: {}\nstdout:\n{}\nstderr:\n{}",
            run.args, run.status, run.stdout, run.stderr
        );
        assert_eq!(
            run.status.code(),
            Some(2),
            "bad input should exit 2\n{context}"
        );
        assert!(
            run.stderr.starts_with("error: "),
            "stderr should start with `error: `\n{context}"
        );
        for text in expected {
            assert!(
                run.stderr.contains(text),
                "stderr should mention {text:?}\n{context}"
            );
        }
        // Nothing on stdout: in particular no escape sequences from taking the terminal over.
        assert!(
            run.stdout.is_empty(),
            "nothing should be printed on stdout\n{context}"
        );
        let journals = self.journals();
        assert!(
            journals.is_empty(),
            "bad input must not leave a journal behind, found {journals:?}\n{context}"
        );
    }
}

#[test]
fn a_release_version_without_a_patch_number_is_refused() {
    let sb = Sandbox::new();
    let run = sb.run(&sb.state_dir(), &["--release", "1.2"]);
    sb.assert_refused(&run, &["\"1.2\"", "not a semantic version"]);
}

#[test]
fn a_release_version_that_is_not_a_version_at_all_is_refused() {
    let sb = Sandbox::new();
    let run = sb.run(&sb.state_dir(), &["--release", "banana"]);
    sb.assert_refused(&run, &["\"banana\"", "not a semantic version"]);
}

#[test]
fn an_unknown_environment_is_refused_with_the_known_ones() {
    let sb = Sandbox::new();
    let run = sb.run(&sb.state_dir(), &["--release", "1.2.3", "--env", "qa"]);
    sb.assert_refused(
        &run,
        &["unknown environment", "\"qa\"", "staging", "production"],
    );
}

#[test]
fn a_state_dir_that_cannot_be_created_is_refused() {
    let sb = Sandbox::new();
    // Tests run as root, so permissions would not stop a write: go through a regular file.
    let blocker = sb.root().join("blocker");
    std::fs::write(&blocker, b"not a dir").expect("create the blocker file");
    let state = blocker.join("state");
    let run = sb.run(&state, &["--release", "1.2.3"]);
    sb.assert_refused(&run, &[&state.display().to_string(), "not writable"]);
    assert_eq!(
        std::fs::read(&blocker).expect("the blocker file is still there"),
        b"not a dir",
        "the file in the way should be left alone"
    );
}

#[test]
fn an_unknown_release_type_is_refused_with_the_known_ones() {
    let sb = Sandbox::new();
    let run = sb.run(&sb.state_dir(), &["--release", "1.2.3", "--type", "bogus"]);
    sb.assert_refused(&run, &["unknown release type", "\"bogus\"", "regular"]);
}

#[test]
fn a_config_with_a_wrong_value_is_refused_with_file_and_line() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.work_dir().join("bad.toml"),
        "[service]\nname = \"api\"\n\n[schedule]\ncadence_days = \"fortnightly\"\n",
    )
    .expect("write bad.toml");
    let run = sb.run(
        &sb.state_dir(),
        &["--config", "bad.toml", "--release", "1.2.3"],
    );
    sb.assert_refused(&run, &["bad.toml:5:", "cadence_days"]);
}

#[test]
fn a_config_that_is_not_toml_is_refused_with_file_and_line() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.work_dir().join("bad.toml"),
        "# a config\n\n[service\nname = \"api\"\n",
    )
    .expect("write bad.toml");
    let run = sb.run(
        &sb.state_dir(),
        &["--config", "bad.toml", "--release", "1.2.3"],
    );
    sb.assert_refused(&run, &["bad.toml:3:"]);
}

#[test]
fn status_with_no_release_in_the_state_dir_is_refused() {
    let sb = Sandbox::new();
    let state = sb.state_dir();
    std::fs::create_dir_all(&state).expect("create the state dir");
    let run = sb.run(&state, &["status"]);
    sb.assert_refused(&run, &["no release", &state.display().to_string()]);
}

#[test]
fn status_of_a_release_never_opened_is_refused() {
    let sb = Sandbox::new();
    let state = sb.state_dir();
    std::fs::create_dir_all(&state).expect("create the state dir");
    let run = sb.run(&state, &["--release", "1.2.3", "status", "--json"]);
    sb.assert_refused(&run, &["no release 1.2.3", &state.display().to_string()]);
}

#[test]
fn the_demo_will_not_use_or_wipe_a_state_dir_that_is_not_the_demo_s() {
    let sb = Sandbox::new();
    let real = sb.state_dir();
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("releases.log"), "{\"version\":\"1.0.0\"}\n").unwrap();
    let run = sb.run(&real, &["demo", "--fresh"]);
    sb.assert_refused(&run, &["holds state that is not the demo's"]);
    assert_eq!(
        std::fs::read_to_string(real.join("releases.log")).unwrap(),
        "{\"version\":\"1.0.0\"}\n",
        "--fresh must not have removed a real state dir"
    );
}

#[test]
fn an_unwritable_log_dir_is_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    let state = sb.state_dir();
    std::fs::create_dir_all(&state).unwrap();
    // `logs` is a file, so the log dir cannot be made even by root.
    std::fs::write(state.join("logs"), b"not a dir").unwrap();
    let run = sb.run(&state, &["--release", "1.2.3"]);
    sb.assert_refused(&run, &["is not writable", "logs"]);
}
