//! Reading a journal file: lines as entries, each checked against the chain, and a torn
//! last line told apart from an edit.

use std::path::Path;

use super::{JournalError, io};
use crate::release::event::Entry;
use crate::release::journal::chain::{Chain, ChainStatus};

/// A journal's entries as read, their chain checked.
#[derive(Debug, Clone)]
pub struct Contents {
    pub entries: Vec<Entry>,
    /// Each entry's hash, in order: what the next entry, or releases.log, names it by.
    pub hashes: Vec<String>,
    pub chain: ChainStatus,
}

/// Journal text as entries, checked against the chain; `Err` names the first bad line or
/// the entry where the chain breaks.
pub(super) struct Parsed {
    pub(super) contents: Contents,
    pub(super) chain: Chain,
    pub(super) torn: Option<TornTail>,
}

/// A damaged last line that starts at `offset`.
pub(super) struct TornTail {
    pub(super) offset: usize,
    pub(super) line: usize,
    pub(super) reason: String,
}

pub(super) fn parse(path: &Path, release: &str, bytes: &[u8]) -> Result<Parsed, JournalError> {
    let mut chain = Chain::new(release);
    let mut entries = Vec::new();
    let mut hashes = Vec::new();
    let mut torn = None;
    let mut offset = 0;
    let mut line_no = 0;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, complete) = match rest.iter().position(|b| *b == b'\n') {
            Some(n) => (&rest[..n], true),
            None => (rest, false),
        };
        let is_last = offset + line.len() + usize::from(complete) >= bytes.len();
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<Entry>(s).map_err(|e| e.to_string()));
        let corrupt = |message| JournalError::Corrupt {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let entry = match parsed {
            Ok(entry) => entry,
            // Only a line that does not parse can be a write cut short by a power loss.
            Err(reason) if is_last => {
                let reason = if complete {
                    reason
                } else {
                    format!("no line end: {reason}")
                };
                torn = Some(TornTail {
                    offset,
                    line: line_no,
                    reason,
                });
                break;
            }
            Err(message) => return Err(corrupt(message)),
        };
        // The chain before the number: a removed or moved line then reads as the edit it
        // is, naming both entries, rather than as a gap in the numbering.
        let hash = chain
            .check(&entry, line)
            .map_err(|broken| JournalError::Broken {
                path: path.to_path_buf(),
                broken,
            })?;
        let expected = entries.len() as u64 + 1;
        if entry.seq != expected {
            return Err(corrupt(format!(
                "event number {} where {expected} was expected",
                entry.seq
            )));
        }
        chain.advance(&entry, hash.clone());
        hashes.push(hash);
        entries.push(entry);
        offset += line.len() + usize::from(complete);
    }
    Ok(Parsed {
        contents: Contents {
            entries,
            hashes,
            chain: chain.status(),
        },
        chain,
        torn,
    })
}

/// Reads a journal without touching it (for `status`, `audit` and other readers), checking
/// its chain; the message says a cut-short last line was not read.
pub fn read(path: &Path, release: &str) -> Result<(Contents, Option<String>), JournalError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let parsed = parse(path, release, &bytes)?;
    let warning = parsed.torn.map(|t| {
        format!(
            "line {} is cut short ({}) and was not read",
            t.line, t.reason
        )
    });
    Ok((parsed.contents, warning))
}
