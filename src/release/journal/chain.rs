//! The hash chain that makes an edit to a journal show: each entry names, in `prev`, the
//! sha256 of the line before it exactly as it was written, and the first entry names the
//! sha256 of the release id. Changing, removing, inserting or reordering a line then breaks
//! the link of the line after it; rewriting the whole file with a fresh chain changes the
//! head, which releases.log pinned when the release concluded.
//!
//! A hash is not a signature: anyone who can write the file can recompute every link. The
//! chain makes an edit visible to whoever holds an earlier head, nothing more.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::release::event::{Entry, Event};

/// The `prev` of a release's first entry: ties the chain to the release it is for, so
/// another release's journal copied under this name does not follow.
pub fn genesis(release: &str) -> String {
    hash_line(release.as_bytes())
}

/// An entry's hash: of its line's bytes as written, without the line end.
pub fn hash_line(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// The hash of an entry as every store writes it (`serde_json::to_vec`), for stores and
/// tests that hold entries rather than the bytes.
pub fn entry_hash(entry: &Entry) -> String {
    hash_line(&serde_json::to_vec(entry).expect("entries always serialise"))
}

/// A hash as a person reads it in a message.
pub fn short(hash: &str) -> String {
    format!("{}…", hash.get(..8).unwrap_or(hash))
}

/// How far a journal's history can be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "chain", rename_all = "snake_case")]
pub enum ChainStatus {
    /// Every entry names the one before it; the first names the release.
    Chained { head: String },
    /// Written before the chain existed: no entry names another, so an edit cannot be told.
    Unchained,
    /// An old journal that a chaining cockpit appended to: entries from `seq` on are
    /// chained (the first of them names the unchained line before it); those before are not.
    ChainedFrom { seq: u64, head: String },
}

impl ChainStatus {
    pub fn head(&self) -> Option<&str> {
        match self {
            ChainStatus::Chained { head } | ChainStatus::ChainedFrom { head, .. } => Some(head),
            ChainStatus::Unchained => None,
        }
    }
}

impl std::fmt::Display for ChainStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainStatus::Chained { head } => write!(f, "chain intact, head {}", short(head)),
            ChainStatus::Unchained => {
                f.write_str("unchained (written before the hash chain); not verifiable")
            }
            ChainStatus::ChainedFrom { seq, head } => write!(
                f,
                "chain intact from entry {seq} (entries before it were written before the hash chain and are not verifiable), head {}",
                short(head)
            ),
        }
    }
}

/// Where and how a journal stops following its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry names something other than the line before it.
    Unlinked {
        seq: u64,
        prev_seq: u64,
        named: String,
        actual: String,
    },
    /// The first entry does not name this release's id.
    BadStart {
        seq: u64,
        release: String,
        named: String,
    },
    /// Once entries name their predecessor every later one must: a writer that chains
    /// never stops, so a gap is a line put in by hand.
    LinkDropped { seq: u64, prev_seq: u64, from: u64 },
    /// A creation entry for another release than the journal's own.
    OtherRelease {
        seq: u64,
        release: String,
        names: String,
    },
}

impl ChainBreak {
    /// The entry (its own number) where the chain breaks.
    pub fn seq(&self) -> u64 {
        match self {
            ChainBreak::Unlinked { seq, .. }
            | ChainBreak::BadStart { seq, .. }
            | ChainBreak::LinkDropped { seq, .. }
            | ChainBreak::OtherRelease { seq, .. } => *seq,
        }
    }
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Unlinked {
                seq,
                prev_seq,
                named,
                actual,
            } => write!(
                f,
                "entry {seq} does not follow entry {prev_seq} (it names {}, entry {prev_seq} hashes to {})",
                short(named),
                short(actual)
            ),
            ChainBreak::BadStart {
                seq,
                release,
                named,
            } => write!(
                f,
                "entry {seq} does not start release {release}'s chain (it names {}, the release id hashes to {})",
                short(named),
                short(&genesis(release))
            ),
            ChainBreak::LinkDropped {
                seq,
                prev_seq,
                from,
            } => write!(
                f,
                "entry {seq} does not name entry {prev_seq}, though every entry from {from} on names the one before it"
            ),
            ChainBreak::OtherRelease {
                seq,
                release,
                names,
            } => write!(
                f,
                "entry {seq} creates release {names}, but this is the journal of {release}"
            ),
        }
    }
}

/// The chain as far as a journal has been read or written: what the next entry must name.
#[derive(Debug, Clone)]
pub struct Chain {
    release: String,
    /// The hash of the last entry; the genesis before the first.
    head: String,
    last_seq: Option<u64>,
    /// The first entry that named its predecessor.
    chained_from: Option<u64>,
}

impl Chain {
    pub fn new(release: &str) -> Chain {
        Chain {
            release: release.to_string(),
            head: genesis(release),
            last_seq: None,
            chained_from: None,
        }
    }

    pub fn release(&self) -> &str {
        &self.release
    }

    /// What the next entry names as `prev`.
    pub fn next_prev(&self) -> &str {
        &self.head
    }

    /// The hash of the last entry; `None` before the first.
    pub fn head(&self) -> Option<&str> {
        self.last_seq.map(|_| self.head.as_str())
    }

    /// Whether `entry`, written as `line`, may come next; `Ok` is its hash, for `advance`.
    pub fn check(&self, entry: &Entry, line: &[u8]) -> Result<String, ChainBreak> {
        if let Event::ReleaseCreated { version, .. } = &entry.event
            && !same_release(version, &self.release)
        {
            return Err(ChainBreak::OtherRelease {
                seq: entry.seq,
                release: self.release.clone(),
                names: version.clone(),
            });
        }
        match (&entry.prev, self.last_seq, self.chained_from) {
            (Some(named), None, _) if *named != self.head => Err(ChainBreak::BadStart {
                seq: entry.seq,
                release: self.release.clone(),
                named: named.clone(),
            }),
            (Some(named), Some(prev_seq), _) if *named != self.head => Err(ChainBreak::Unlinked {
                seq: entry.seq,
                prev_seq,
                named: named.clone(),
                actual: self.head.clone(),
            }),
            (None, Some(prev_seq), Some(from)) => Err(ChainBreak::LinkDropped {
                seq: entry.seq,
                prev_seq,
                from,
            }),
            _ => Ok(hash_line(line)),
        }
    }

    /// Takes `entry` (checked, with its hash) as the chain's new end.
    pub fn advance(&mut self, entry: &Entry, hash: String) {
        if entry.prev.is_some() && self.chained_from.is_none() {
            self.chained_from = Some(entry.seq);
        }
        self.head = hash;
        self.last_seq = Some(entry.seq);
    }

    pub fn status(&self) -> ChainStatus {
        match self.chained_from {
            None => ChainStatus::Unchained,
            Some(1) => ChainStatus::Chained {
                head: self.head.clone(),
            },
            Some(seq) => ChainStatus::ChainedFrom {
                seq,
                head: self.head.clone(),
            },
        }
    }
}

/// Versions compare as semver where they are one (`v1.2.3` is `1.2.3`), else as text.
fn same_release(a: &str, b: &str) -> bool {
    let parse = |s: &str| semver::Version::parse(s.strip_prefix('v').unwrap_or(s)).ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, prev: Option<String>, event: Event) -> Entry {
        Entry {
            seq,
            prev,
            at: "2026-11-26T10:00:00Z".parse().unwrap(),
            by: "alice".into(),
            verified_by: None,
            event,
        }
    }

    fn created(version: &str) -> Event {
        Event::ReleaseCreated {
            version: version.into(),
            release_type: "regular".into(),
            commit_sha: None,
        }
    }

    fn tick() -> Event {
        Event::ItemTicked {
            item: "changelog".into(),
        }
    }

    /// Feeds entries through a chain as a reader does, each hashed as it would be written.
    fn follow(chain: &mut Chain, e: &Entry) -> Result<(), ChainBreak> {
        let line = serde_json::to_vec(e).unwrap();
        let hash = chain.check(e, &line)?;
        chain.advance(e, hash);
        Ok(())
    }

    #[test]
    fn the_genesis_is_the_sha256_of_the_release_id() {
        // As `printf 1.2.3 | sha256sum` prints it.
        assert_eq!(
            genesis("1.2.3"),
            "c47f5b18b8a430e698b9fe15e51f6119984e78334bcf3f45e210d30c37ef2f9e"
        );
    }

    #[test]
    fn a_written_chain_follows_and_its_status_names_the_head() {
        let mut chain = Chain::new("1.2.3");
        let first = entry(1, Some(genesis("1.2.3")), created("1.2.3"));
        follow(&mut chain, &first).unwrap();
        let second = entry(2, Some(entry_hash(&first)), tick());
        follow(&mut chain, &second).unwrap();
        assert_eq!(
            chain.status(),
            ChainStatus::Chained {
                head: entry_hash(&second)
            }
        );
    }

    #[test]
    fn an_old_journal_appended_to_is_chained_from_the_first_linked_entry() {
        let mut chain = Chain::new("1.2.3");
        let first = entry(1, None, created("1.2.3"));
        follow(&mut chain, &first).unwrap();
        assert_eq!(chain.status(), ChainStatus::Unchained);
        let second = entry(2, Some(entry_hash(&first)), tick());
        follow(&mut chain, &second).unwrap();
        assert!(matches!(
            chain.status(),
            ChainStatus::ChainedFrom { seq: 2, .. }
        ));
        let third = entry(3, None, tick());
        assert!(matches!(
            follow(&mut chain, &third),
            Err(ChainBreak::LinkDropped {
                seq: 3,
                prev_seq: 2,
                from: 2
            })
        ));
    }

    #[test]
    fn a_first_entry_naming_another_release_does_not_start_this_one() {
        let chain = Chain::new("1.2.3");
        let copied = entry(1, Some(genesis("1.2.4")), tick());
        let line = serde_json::to_vec(&copied).unwrap();
        assert!(matches!(
            chain.check(&copied, &line),
            Err(ChainBreak::BadStart { seq: 1, .. })
        ));
        let renamed = entry(1, Some(genesis("1.2.3")), created("1.2.4"));
        let line = serde_json::to_vec(&renamed).unwrap();
        let err = chain.check(&renamed, &line).unwrap_err();
        assert_eq!(
            err.to_string(),
            "entry 1 creates release 1.2.4, but this is the journal of 1.2.3"
        );
        let tagged = entry(1, Some(genesis("1.2.3")), created("v1.2.3"));
        let line = serde_json::to_vec(&tagged).unwrap();
        assert!(chain.check(&tagged, &line).is_ok(), "v1.2.3 is 1.2.3");
    }
}
