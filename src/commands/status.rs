//! `status [--json]`: one read-only snapshot of the release.

use super::{CmdResult, emit, environment, load_config, state_dir, usage};
use crate::cli::Common;
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
    let doc = report::status_json(&config, env, &release, now, warning.clone());
    if json {
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
    for gate in ["staging", "production"] {
        let g = &doc["gates"][gate];
        let label = match g["status"].as_str() {
            Some("open") => "OPEN",
            Some("not_used") => "not used",
            _ => "BLOCKED",
        };
        text.push_str(&format!("{gate}: {label}\n"));
        for b in g["blockers"].as_array().into_iter().flatten() {
            text.push_str(&format!("  - {}\n", b["message"].as_str().unwrap_or("")));
        }
    }
    emit(&text)?;
    Ok(())
}
