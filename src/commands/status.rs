//! `status [--json]`: one read-only snapshot of the release.

use super::{CmdResult, emit, environment, load_config, state_dir, usage};
use crate::cli::Common;
use crate::release::gates::{self, GateStatus};
use crate::release::store::parse_version;
use crate::report;

pub fn run(common: &Common, release: Option<&str>, json: bool) -> CmdResult {
    let config = load_config(common)?;
    let env_name = environment(common, &config)?;
    let env = config.environment(&env_name).expect("checked above");
    let state = state_dir(common, &config);
    let version = match release {
        Some(r) => parse_version(r).map_err(|e| usage(e.to_string()))?,
        None => state.current().ok_or_else(|| {
            usage(format!(
                "no release in {}; open one with --release VERSION",
                state.root().display()
            ))
        })?,
    };
    if !state.journal_path(&version).is_file() {
        return Err(usage(format!(
            "no release {version} in {}",
            state.root().display()
        )));
    }
    let (release, warning) = state.read(&version).map_err(|e| usage(e.to_string()))?;
    let now = chrono::Utc::now();
    if json {
        let doc = report::status_json(&config, env, &release, now, warning);
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        return Ok(());
    }
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let mut text = format!(
        "release {} ({}) on {}\n",
        release.version, release.release_type, env_name
    );
    let g = gates::evaluate(&release, &config);
    for gate in [&g.staging, &g.production] {
        let label = match gate.status {
            GateStatus::Open => "OPEN",
            GateStatus::NotUsed => "not used",
            GateStatus::Blocked => "BLOCKED",
        };
        text.push_str(&format!("{}: {label}\n", gate.target));
        for b in &gate.blockers {
            text.push_str(&format!("  - {}\n", b.describe(&config)));
        }
    }
    emit(&text)?;
    Ok(())
}
