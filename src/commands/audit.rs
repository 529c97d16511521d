//! `audit [--release V] [--json] [--verify]`: the releases.log entries, or with `--verify`
//! each release's journal checked end to end.

use super::{CmdResult, NegativeAnswer, emit, load_config, state_dir, usage};
use crate::cli::Common;
use crate::release::audit;
use crate::release::store::{StateDir, parse_version};

pub fn run(common: &Common, release: Option<&str>, json: bool, verify: bool) -> CmdResult {
    let config = load_config(common)?;
    let state = state_dir(common, &config);
    let filter = release
        .map(parse_version)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    if verify {
        return verify_journals(&config, &state, filter);
    }
    let filter = filter.map(|v| v.to_string());
    let path = state.audit_log();
    let (records, problems) =
        audit::read(&path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let records: Vec<_> = records
        .into_iter()
        .filter(|r| filter.as_ref().is_none_or(|v| *v == r.version))
        .collect();
    if json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&records)?))?;
    } else if records.is_empty() {
        println!(
            "no finished releases{} in {}",
            filter.map(|v| format!(" for {v}")).unwrap_or_default(),
            path.display()
        );
    } else {
        emit(&audit::render(&records))?;
    }
    Ok(())
}

/// One line per release; a journal that fails is the command's answer (exit 1), naming the
/// first that did. Reading takes no lock, so a release open in a cockpit can be checked.
fn verify_journals(
    config: &crate::config::Config,
    state: &StateDir,
    only: Option<semver::Version>,
) -> CmdResult {
    let versions = match only {
        Some(v) if !state.journal_path(&v).is_file() => {
            return Err(usage(format!(
                "no release {v} in {}",
                state.root().display()
            )));
        }
        Some(v) => vec![v],
        None => {
            let mut all = state.releases();
            all.reverse(); // oldest first, as releases.log reads
            all
        }
    };
    if versions.is_empty() {
        println!("no release journals in {}", state.root().display());
        return Ok(());
    }
    let mut text = String::new();
    let mut first_failure = None;
    let mut failures = 0;
    for v in &versions {
        match state.verify(config, v) {
            Ok(verified) => {
                let torn = verified.torn_tail.as_ref().map(|t| format!("; {t}"));
                text.push_str(&format!("{v}: {verified}{}\n", torn.unwrap_or_default()));
            }
            Err(e) => {
                text.push_str(&format!("{v}: FAILED: {e}\n"));
                failures += 1;
                first_failure.get_or_insert(e.to_string());
            }
        }
    }
    emit(&text)?;
    match first_failure {
        None => Ok(()),
        Some(first) => Err(color_eyre::Report::new(NegativeAnswer(format!(
            "{failures} of {} journals failed verification; the first: {first}",
            versions.len()
        )))),
    }
}
