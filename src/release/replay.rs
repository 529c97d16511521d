//! Re-checking a journal against the procedure's rules as it is read back: each entry must
//! have been allowed when it was written, given everything before it. A line edited in by
//! hand that the cockpit would have refused (a GO with approvals missing, one person in two
//! roles) is named, and the journal is not opened.
//!
//! The rules that depend on who was signed in, and on the access the config granted then
//! (proxy entries, who may approve as which role), are checked when an entry is written;
//! read back, an entry carries its author's name but not their groups, and the config may
//! have changed since. The hash chain, not this, is what shows a line was changed.

use super::event::Entry;
use super::identity::Author;
use super::rules::{self, Caller};
use super::state::ReleaseState;
use crate::config::Config;

/// An entry the rules would have refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {seq} breaks the procedure's rules: {why}")]
pub struct BrokenRule {
    pub seq: u64,
    pub why: String,
}

/// Folds `entries`, checking each against the rules first. `Ok(None)`: there is no
/// creation to start from.
pub fn replay(entries: &[Entry], config: &Config) -> Result<Option<ReleaseState>, BrokenRule> {
    let Some((first, rest)) = entries.split_first() else {
        return Ok(None);
    };
    let Some(mut state) = ReleaseState::from_entries(std::slice::from_ref(first)) else {
        return Ok(None);
    };
    for entry in rest {
        let author = Author {
            name: entry.by.clone(),
            verified_by: entry.verified_by.clone(),
        };
        rules::check(
            &state,
            config,
            &Caller::of_entry(entry, &author),
            &entry.event,
        )
        .map_err(|why| BrokenRule {
            seq: entry.seq,
            why,
        })?;
        state.apply(entry);
    }
    Ok(Some(state))
}
