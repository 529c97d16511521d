//! `record`: append events to a release's journal from a script (CI ticking "automated
//! tests" when they pass, say). Events come as JSON Lines on stdin, in the journal's own
//! form (`{"type":"item_ticked","item":"automated-tests"}`); each is checked by the same
//! rules as a key press, and acknowledged on stdout only once it is on disk.

use std::io::{BufRead, Write};

use super::{CmdResult, load_config, operator, state_dir, usage};
use crate::cli::Common;
use crate::release::event::Event;
use crate::release::identity::Author;
use crate::release::rules;
use crate::release::store::parse_version;

pub fn run(common: &Common, release: Option<&str>) -> CmdResult {
    let config = load_config(common)?;
    let state = state_dir(common, &config);
    let version = release
        .ok_or_else(|| usage("record needs --release VERSION"))
        .and_then(|r| parse_version(r).map_err(|e| usage(e.to_string())))?;
    if !state.journal_path(&version).is_file() {
        return Err(usage(format!(
            "no release {version} in {}; create it in the cockpit first",
            state.root().display()
        )));
    }
    let by = Author::claimed(operator(common));
    let mut opened = state
        .open_or_create(&config, &version, "", &by, chrono::Utc::now())
        .map_err(|e| usage(e.to_string()))?;
    if let Some(n) = opened.notice() {
        eprintln!("warning: {n}");
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(&line)
            .map_err(|e| usage(format!("stdin:{}: not an event: {e}", n + 1)))?;
        // Check results are the cockpit's own evidence: a script records decisions only.
        if matches!(
            event,
            Event::ReleaseCreated { .. }
                | Event::CheckStarted { .. }
                | Event::CheckFinished { .. }
                | Event::ActionStarted { .. }
                | Event::ActionFinished { .. }
                | Event::BaselineCaptured { .. }
                | Event::CheckpointRecorded { .. }
                | Event::TriggerFired { .. }
                | Event::AutoRollbackFired { .. }
        ) {
            return Err(usage(format!(
                "stdin:{}: a script cannot record this kind of event (creation, check results and deploy actions come from the cockpit itself)",
                n + 1
            )));
        }
        rules::check(&opened.state, &config, &event)
            .map_err(|why| usage(format!("stdin:{}: refused: {why}", n + 1)))?;
        let entry = opened.journal.append(&by, chrono::Utc::now(), event)?;
        opened.state.apply(&entry);
        writeln!(out, "{}", serde_json::to_string(&entry)?)?;
        out.flush()?;
    }
    Ok(())
}
