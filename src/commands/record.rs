//! `record`: append events to a release's journal from a script (CI ticking "automated
//! tests" when they pass, say). Events come as JSON Lines on stdin, in the journal's own
//! form (`{"type":"item_ticked","item":"automated-tests"}`); each is stamped with the
//! caller's identity (the cluster's answer, else the claimed name, unverified), checked by
//! the same rules as a key press, and acknowledged on stdout only once it is on disk.

use std::io::{BufRead, Write};

use super::{CmdResult, identify, load_config, state_dir, usage};
use crate::cli::Common;
use crate::release::event::Event;
use crate::release::rules::{self, Caller};
use crate::release::store::parse_version;

pub fn run(common: &Common, release: Option<&str>) -> CmdResult {
    let config = load_config(common)?;
    let state = state_dir(common, &config);
    let version = release
        .ok_or_else(|| usage("record needs --release VERSION"))
        .and_then(|r| parse_version(r).map_err(|e| usage(e.to_string())))?;
    if let crate::config::journal::JournalPlace::Cluster { environment, .. } = &config.journal {
        // Writing the local mirror would only have the mirror set aside at the next open.
        return Err(usage(format!(
            "record writes the journal in the state dir, but {} keeps journals in {environment}'s cluster ([journal] store = \"cluster\"); record there from a cockpit",
            config.origin
        )));
    }
    if !state.journal_path(&version).is_file() {
        return Err(usage(format!(
            "no release {version} in {}; create it in the cockpit first",
            state.root().display()
        )));
    }
    let identified = identify(common, &config)?;
    for note in &identified.notes {
        eprintln!("warning: {note}");
    }
    let identity = identified.identity;
    let by = &identity.author;
    let mut opened = state
        .open_or_create(&config, &version, "", by, chrono::Utc::now())
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
        if let Some(why) = not_for_scripts(&event) {
            return Err(usage(format!("stdin:{}: refused: {why}", n + 1)));
        }
        let now = chrono::Utc::now();
        let caller = Caller {
            author: by,
            groups: Some(&identity.groups),
            at: now,
        };
        rules::check(&opened.state, &config, &caller, &event)
            .map_err(|why| usage(format!("stdin:{}: refused: {why}", n + 1)))?;
        let entry = opened.journal.append(by, now, event)?;
        opened.state.apply(&entry);
        writeln!(out, "{}", serde_json::to_string(&entry)?)?;
        out.flush()?;
    }
    Ok(())
}

/// What a script may not record, and why: the cockpit's own evidence (check results,
/// actions, checkpoints, triggers), and what a person must do at the cockpit while it
/// watches the release (concluding it, acknowledging a checkpoint, arming auto-rollback).
fn not_for_scripts(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::ReleaseCreated { .. } => "a release is created in the cockpit",
        Event::CheckStarted { .. } | Event::CheckFinished { .. } => {
            "check results come from the cockpit running the check"
        }
        Event::ActionStarted { .. } | Event::ActionFinished { .. } => {
            "deploys, rollbacks and other actions are run by the cockpit, which records them"
        }
        Event::BaselineCaptured { .. }
        | Event::CheckpointRecorded { .. }
        | Event::TriggerFired { .. }
        | Event::AutoRollbackFired { .. } => {
            "the soak window's measurements and triggers are the cockpit's own evidence"
        }
        Event::Concluded { .. } => {
            "a release is concluded in the cockpit, which stops the soak window's checks, triggers and auto-rollback with it"
        }
        Event::CheckpointAcknowledged { .. } => {
            "a checkpoint is acknowledged by a person looking at it in the cockpit"
        }
        Event::AutoRollbackSet { .. } => {
            "auto-rollback is armed or disarmed in the cockpit that would carry it out"
        }
        Event::DriverTookOver { .. } => {
            "the driver's lease is taken over in a cockpit, which then drives"
        }
        _ => return None,
    })
}
