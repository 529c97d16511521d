//! `audit [--release V] [--json]`: the releases.log entries.

use super::{CmdResult, emit, load_config, state_dir, usage};
use crate::cli::Common;
use crate::release::audit;
use crate::release::store::parse_version;

pub fn run(common: &Common, release: Option<&str>, json: bool, verify: bool) -> CmdResult {
    let _ = verify; // issue 10: the chain check lands with the hash chain
    let config = load_config(common)?;
    let state = state_dir(common, &config);
    let filter = release
        .map(|r| parse_version(r).map(|v| v.to_string()))
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
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
