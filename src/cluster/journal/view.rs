//! The journal as this cockpit knows it: the segments last read, the entries they hold,
//! the chain, and the one entry this cockpit is writing. Everything that learns something
//! of the cluster's copy (an append's answer, a re-read, the watch) goes through here, so
//! each entry is told to the followers once, and never the cockpit's own.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ConfigMap;

use super::segments::{self, Capacity, Segment};
use crate::release::event::{Entry, Event};
use crate::release::identity::Author;
use crate::release::journal::chain::Chain;
use crate::release::journal::{AppendError, Contents, Followed, JournalError};

pub struct View {
    release: String,
    segments: Vec<Segment>,
    entries: Vec<Entry>,
    hashes: Vec<String>,
    chain: Chain,
    /// The entry this cockpit is writing (number, hash): seen on the watch before the
    /// write's answer, it is ours, not news.
    pending: Option<(u64, String)>,
    /// Set once the cluster's copy stopped checking out; nothing is appended after.
    broken: Option<String>,
    /// How many entries (from the first) are shown to have been written by their authors
    /// (`signatures`): only those are read back or told.
    checked: usize,
    /// How many entries the followers were told of (or wrote themselves).
    told: usize,
}

/// Where an entry goes: into the last segment (by name, at the version read), or into a
/// new one that starts with it.
pub enum Write {
    AddTo {
        name: String,
        resource_version: Option<String>,
    },
    Start(Segment),
}

/// An entry ready to be written, and where.
pub struct Prepared {
    pub entry: Entry,
    pub line: String,
    pub hash: String,
    pub write: Write,
}

impl View {
    pub fn new(release: &str) -> Self {
        View {
            release: release.to_string(),
            segments: Vec::new(),
            entries: Vec::new(),
            hashes: Vec::new(),
            chain: Chain::new(release),
            pending: None,
            broken: None,
            checked: 0,
            told: 0,
        }
    }

    pub fn next_seq(&self) -> u64 {
        self.entries.len() as u64 + 1
    }

    pub fn head(&self) -> Option<String> {
        self.chain.head().map(str::to_string)
    }

    /// The checked entries (all of them, once a reading's check is done).
    pub fn contents(&self) -> Contents {
        let mut chain = Chain::new(&self.release);
        for (e, h) in self.entries.iter().zip(&self.hashes).take(self.checked) {
            chain.advance(e, h.clone());
        }
        Contents {
            entries: self.entries[..self.checked].to_vec(),
            hashes: self.hashes[..self.checked].to_vec(),
            chain: chain.status(),
        }
    }

    pub fn entries_from(&self, seq: u64) -> Vec<Entry> {
        self.entries[..self.checked]
            .iter()
            .filter(|e| e.seq >= seq)
            .cloned()
            .collect()
    }

    /// How many entries the followers have been told of.
    pub fn told(&self) -> usize {
        self.told
    }

    /// The entries not yet checked against their authors' signatures, with their hashes.
    pub fn unchecked(&self) -> Vec<(Entry, String)> {
        self.entries[self.checked..]
            .iter()
            .cloned()
            .zip(self.hashes[self.checked..].iter().cloned())
            .collect()
    }

    /// Entries up to `seq` checked out (unless the journal broke meanwhile).
    pub fn mark_checked(&mut self, seq: u64) {
        if self.broken.is_none() {
            self.checked = self.checked.max((seq as usize).min(self.entries.len()));
        }
    }

    /// What the followers have not been told of and may be: checked entries, not this
    /// cockpit's own in flight.
    pub fn news(&mut self) -> Vec<Followed> {
        let news = self.entries[self.told.min(self.checked)..self.checked]
            .iter()
            .zip(&self.hashes[self.told.min(self.checked)..self.checked])
            .filter(|(e, h)| self.pending.as_ref() != Some(&(e.seq, (*h).clone())))
            .map(|(e, _)| Followed::Appended(e.clone()))
            .collect();
        self.told = self.told.max(self.checked);
        news
    }

    /// Entry `seq` is not its author's: the view forgets it and everything after it (so a
    /// reading that still holds it cannot pass for a repair), and breaks.
    pub fn break_at(&mut self, seq: u64, why: String) -> JournalError {
        let keep = (seq as usize).saturating_sub(1).min(self.entries.len());
        self.entries.truncate(keep);
        self.hashes.truncate(keep);
        let mut chain = Chain::new(&self.release);
        for (e, h) in self.entries.iter().zip(&self.hashes) {
            chain.advance(e, h.clone());
        }
        self.chain = chain;
        for segment in &mut self.segments {
            let before = segment.lines.len();
            segment.lines.retain(|(s, _)| (*s as usize) <= keep);
            if segment.lines.len() != before {
                // Not the state of any version of it: a reading must never lose to it.
                segment.resource_version = None;
            }
        }
        self.segments.retain(|s| !s.lines.is_empty());
        self.checked = self.checked.min(keep);
        self.told = self.told.min(keep);
        self.break_with(why)
    }

    /// Builds entry `expected` and says where it goes; a stale number is a conflict.
    pub fn prepare(
        &mut self,
        expected: u64,
        by: &Author,
        at: DateTime<Utc>,
        event: Event,
        capacity: Capacity,
    ) -> Result<Prepared, AppendError> {
        if let Some(why) = &self.broken {
            return Err(JournalError::Cluster {
                at: segments::selector(&self.release),
                message: format!("{why}; nothing more is written to this journal"),
            }
            .into());
        }
        let actual = self.next_seq();
        if expected != actual {
            return Err(AppendError::Conflict { expected, actual });
        }
        let entry = Entry {
            seq: expected,
            prev: Some(self.chain.next_prev().to_string()),
            at,
            by: by.name.clone(),
            verified_by: by.verified_by.clone(),
            event,
        };
        let line = serde_json::to_string(&entry).expect("events always serialise");
        let hash =
            self.chain
                .check(&entry, line.as_bytes())
                .map_err(|why| JournalError::NotWritten {
                    path: PathBuf::from(segments::selector(&self.release)),
                    why,
                })?;
        let write = match self.segments.last() {
            Some(last) if !last.is_full() => Write::AddTo {
                name: last.name.clone(),
                resource_version: last.resource_version.clone(),
            },
            last => Write::Start(Segment::new(
                &self.release,
                last.map_or(1, |s| s.index + 1),
                capacity,
                expected,
                line.clone(),
            )),
        };
        self.pending = Some((expected, hash.clone()));
        Ok(Prepared {
            entry,
            line,
            hash,
            write,
        })
    }

    /// Takes in a write's answer (the segment as the API server now has it); returns the
    /// segment it filled before this one, when this write started a new one, to be sealed.
    pub fn appended(&mut self, prepared: &Prepared, cm: &ConfigMap) -> Option<Segment> {
        self.pending = None;
        let Ok(written) = Segment::from_configmap(cm) else {
            return None;
        };
        if self.next_seq() == prepared.entry.seq {
            self.chain.advance(&prepared.entry, prepared.hash.clone());
            self.entries.push(prepared.entry.clone());
            self.hashes.push(prepared.hash.clone());
        }
        // This cockpit's own entry: signed by it, and no news to it.
        let seq = prepared.entry.seq as usize;
        if self.checked == seq - 1 {
            self.checked = seq;
        }
        if self.told == seq - 1 {
            self.told = seq;
        }
        self.take_segment_state(written);
        match prepared.write {
            Write::Start(_) => self
                .segments
                .iter()
                .rev()
                .nth(1)
                .filter(|s| !s.immutable)
                .cloned(),
            Write::AddTo { .. } => None,
        }
    }

    /// Keeps the newest state of one segment whose entries are already in the view.
    fn take_segment_state(&mut self, segment: Segment) {
        match self.segments.iter_mut().find(|s| s.index == segment.index) {
            Some(known) if known.lines.len() <= segment.lines.len() => *known = segment,
            Some(_) => {}
            None => {
                self.segments.push(segment);
                self.segments.sort_by_key(|s| s.index);
            }
        }
    }

    pub fn cancel(&mut self, prepared: &Prepared) {
        if self
            .pending
            .as_ref()
            .is_some_and(|(s, _)| *s == prepared.entry.seq)
        {
            self.pending = None;
        }
    }

    /// Whether the view holds `prepared` as written (a write whose answer was lost).
    pub fn holds(&self, prepared: &Prepared) -> bool {
        self.hashes.get(prepared.entry.seq as usize - 1) == Some(&prepared.hash)
    }

    /// Takes a complete reading of the journal (every segment); what it adds is news. A
    /// reading that changes or drops an entry already read breaks the journal for good.
    ///
    /// A reading may be older than what the view has taken since it was asked for (a
    /// list answered just before a write whose watch event, or answer, came in first),
    /// so each segment keeps the newer of its two states, and a segment the reading
    /// lacks is kept when the reading (at `read_at`) is older than it.
    ///
    /// `Ok(true)`: the journal had broken, and this reading (a full list: `read_at` is
    /// set) puts back every entry read before; what it adds is checked like any news.
    pub fn take_all(
        &mut self,
        namespace: &str,
        read: Vec<Segment>,
        read_at: Option<u64>,
    ) -> Result<bool, JournalError> {
        let mut repaired = false;
        if let Some(why) = self.broken.clone() {
            // Broken for good, unless a full reading puts back every entry read before.
            if read_at.is_none() {
                return Err(self.broken_error(why));
            }
            let mut fresh = read.clone();
            let restored = segments::assemble(&self.release, namespace, &mut fresh)
                .is_ok_and(|a| a.hashes.starts_with(&self.hashes));
            if !restored {
                return Err(self.broken_error(why));
            }
            tracing::info!(release = %self.release, "the journal in the cluster checks out again");
            self.broken = None;
            repaired = true;
        }
        let mut read = read;
        for known in &self.segments {
            match read.iter_mut().find(|s| s.index == known.index) {
                Some(incoming) if is_older(incoming, known) => *incoming = known.clone(),
                Some(_) => {}
                None => {
                    let newer_than_reading = match (read_at, version(known)) {
                        (Some(at), Some(v)) => v > at,
                        _ => false,
                    };
                    if newer_than_reading {
                        read.push(known.clone());
                    }
                }
            }
        }
        let assembled = match segments::assemble(&self.release, namespace, &mut read) {
            Ok(a) => a,
            Err(e) => return Err(self.break_with(e.to_string())),
        };
        for (i, known) in self.hashes.iter().enumerate() {
            let seq = i + 1;
            match assembled.hashes.get(i) {
                Some(now) if now == known => {}
                Some(_) => {
                    let why = format!(
                        "entry {seq} of {} changed after this cockpit read it",
                        segments::selector(&self.release)
                    );
                    return Err(self.break_with(why));
                }
                None => {
                    let why = format!(
                        "entries {seq} to {} of {} were removed after this cockpit read them",
                        self.hashes.len(),
                        segments::selector(&self.release)
                    );
                    return Err(self.break_with(why));
                }
            }
        }
        self.segments = read;
        self.entries = assembled.entries;
        self.hashes = assembled.hashes;
        self.chain = assembled.chain;
        Ok(repaired)
    }

    /// Takes one segment's new state from the watch. A state older than the one known
    /// (an event that was on its way while this cockpit wrote) changes nothing.
    pub fn take_segment(
        &mut self,
        namespace: &str,
        segment: Segment,
    ) -> Result<bool, JournalError> {
        let mut read: Vec<Segment> = self
            .segments
            .iter()
            .filter(|s| s.index != segment.index)
            .cloned()
            .collect();
        read.push(segment);
        self.take_all(namespace, read, None)
    }

    /// A segment the watch saw deleted.
    pub fn segment_deleted(&mut self, name: &str) -> Option<JournalError> {
        if self.broken.is_some() || !self.segments.iter().any(|s| s.name == name) {
            return None;
        }
        Some(self.break_with(format!(
            "configmap {name}, a segment of the journal, was deleted"
        )))
    }

    /// The names of the segments known, to tell a relist that lost one.
    pub fn segment_names(&self) -> Vec<String> {
        self.segments.iter().map(|s| s.name.clone()).collect()
    }

    /// The segments as this cockpit last found them whole: what a restore puts back.
    pub fn segments_read(&self) -> Vec<Segment> {
        self.segments.clone()
    }

    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// The error a broken journal answers with; `None` while it checks out.
    pub fn broken_error_now(&self) -> Option<JournalError> {
        self.broken.clone().map(|why| self.broken_error(why))
    }

    /// Breaks the journal for good: nothing more is appended or believed.
    pub fn break_with(&mut self, why: String) -> JournalError {
        tracing::error!(release = %self.release, "the journal in the cluster broke: {why}");
        self.broken = Some(why.clone());
        self.broken_error(why)
    }

    fn broken_error(&self, why: String) -> JournalError {
        JournalError::Cluster {
            at: segments::selector(&self.release),
            message: why,
        }
    }
}

/// Whether `incoming` is an earlier state of `known`: a segment only grows, so a shorter
/// one whose lines are a prefix of the known ones is from before, unless its
/// resourceVersion (where both read as numbers, as etcd's do) says it is newer, which
/// makes it a removal.
fn is_older(incoming: &Segment, known: &Segment) -> bool {
    let newer_version = match (version(incoming), version(known)) {
        (Some(a), Some(b)) => Some(a > b),
        _ => None,
    };
    if incoming.resource_version == known.resource_version {
        return true;
    }
    if newer_version == Some(false) {
        return true;
    }
    let prefix = incoming.lines.len() <= known.lines.len()
        && incoming.lines.iter().zip(&known.lines).all(|(a, b)| a == b);
    prefix && newer_version.is_none() && !incoming.immutable
}

/// A resourceVersion as a number, where it reads as one (etcd's and the sandbox's do;
/// the API calls them opaque, so nothing depends on it but telling old from new).
fn version(segment: &Segment) -> Option<u64> {
    segment.resource_version.as_deref()?.parse().ok()
}
