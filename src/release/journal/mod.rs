//! Where a release's journal is kept. `JournalStore` is the seam: the file journal is its
//! first implementation, a store in the cluster (several cockpits on one release) the next.
//! Every store must pass `conformance`.

pub mod chain;
pub mod conformance;
mod file;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::event::{Entry, Event};
use super::identity::Author;
pub use chain::{ChainBreak, ChainStatus};
pub use file::{Contents, Journal, JournalError, Opened, Recovery, read};

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended first: entry `expected` is taken, the journal is at
    /// `actual`. Nothing was written; read what was added, then decide again.
    #[error("the journal moved on: entry {expected} was expected next, it is at {actual}")]
    Conflict { expected: u64, actual: u64 },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// A release's journal: entries numbered from 1, each naming the one before it by hash
/// (`chain`), appended only when the caller's idea of the next number is still true,
/// durable when `append` returns.
pub trait JournalStore: Send {
    /// Where it is, for messages and reports.
    fn location(&self) -> String;

    /// The number the next entry gets, as this handle knows it.
    fn next_seq(&self) -> u64;

    /// The hash of the last entry (`chain::entry_hash`), which the next entry names as its
    /// `prev` and releases.log pins; `None` while there is no entry. Every store chains.
    fn head(&self) -> Option<String>;

    /// Appends `event` as entry `expected_seq`; a stale number is a `Conflict` and
    /// writes nothing.
    fn append(
        &mut self,
        expected_seq: u64,
        by: &Author,
        at: DateTime<Utc>,
        event: Event,
    ) -> Result<Entry, AppendError>;

    /// Every entry from number `seq` on.
    fn read_from(&self, seq: u64) -> Result<Vec<Entry>, JournalError>;

    /// What other writers append from now on, in order, and a break in the chain seen
    /// while following (an edited or foreign write), after which nothing more is sent.
    fn follow(&self) -> mpsc::UnboundedReceiver<Followed>;

    /// Takes in an entry of another writer's that `follow` delivered and the cockpit
    /// folded (a store with a local copy keeps it). Most stores need nothing.
    fn seen(&mut self, _entry: &Entry) {}

    /// Keeps the release's releases.log line (JSON) beside a shared journal, so the audit
    /// trail is where the journal is. A file journal has releases.log beside it already.
    fn keep_audit(&mut self, _line: &str) -> Result<(), JournalError> {
        Ok(())
    }

    /// Puts a shared journal that stopped checking out back as this cockpit read it (the
    /// driver's decision); says what was put back. A store with no other copy cannot.
    fn restore(&mut self) -> Result<String, JournalError> {
        Err(JournalError::Cluster {
            at: self.location(),
            message: "this journal is kept nowhere else: there is nothing to restore".into(),
        })
    }
}

/// What following a shared journal sees. Entries are the common case, so they are not
/// boxed to make the rare break smaller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Followed {
    /// Another writer's entry, the next in order.
    Appended(Entry),
    /// The journal no longer checks out (an entry changed or removed, a write that breaks
    /// the chain): what is wrong, naming the entry.
    Broken(String),
    /// It checks out again: every entry read before the break is back as it was.
    Repaired,
}
