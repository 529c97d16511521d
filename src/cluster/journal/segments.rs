//! How a release's journal is laid out in ConfigMaps: segments numbered from 1, each
//! holding consecutive entries as data keys (the zero-padded entry number, so keys sort
//! as entries do) whose values are the journal lines exactly as the file journal writes
//! them, so the chain hashes the same bytes in both stores.
//!
//! A segment is full at the entry count or size it was created with (its own annotation,
//! so writers of different versions agree on when to roll over), far below the 1 MiB a
//! ConfigMap may hold; the writer that starts the next segment marks the full one
//! immutable.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;

use crate::cluster::{MANAGED_BY, MANAGED_BY_LABEL};
use crate::release::event::Entry;
use crate::release::journal::JournalError;
use crate::release::journal::chain::Chain;

/// On every segment: the release it belongs to, as a label value (`kubectl get configmaps
/// -l release-cockpit/journal=1.2.3`).
pub const JOURNAL_LABEL: &str = "release-cockpit/journal";
/// On every segment: its number, from 1.
pub const SEGMENT_LABEL: &str = "release-cockpit/segment";
/// The release's version exactly (a label value cannot hold every semver, such as `+build`).
pub const RELEASE_ANNOTATION: &str = "release-cockpit/release";
/// How many entries, and how many bytes of lines, the segment holds before it is full.
pub const CAPACITY_ANNOTATION: &str = "release-cockpit/segment-capacity";

/// When a segment is full. A ConfigMap holds at most 1 MiB; a checkpoint snapshot is a
/// few KiB, so the defaults keep a segment at a quarter of that at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub entries: usize,
    pub bytes: usize,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            entries: 500,
            bytes: 256 * 1024,
        }
    }
}

impl Capacity {
    fn annotation(self) -> String {
        format!("{} entries, {} bytes", self.entries, self.bytes)
    }

    fn parse(text: &str) -> Option<Capacity> {
        let (entries, bytes) = text.split_once(" entries, ")?;
        Some(Capacity {
            entries: entries.trim().parse().ok()?,
            bytes: bytes.strip_suffix(" bytes")?.trim().parse().ok()?,
        })
    }
}

/// A release's label value: the version where the label syntax allows it, `+` (build
/// metadata) as `_`; a version too long for a label is cut and tagged with its hash.
pub fn label_value(release: &str) -> String {
    let clean: String = release
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() <= 63 {
        return clean;
    }
    let hash = crate::release::journal::chain::hash_line(release.as_bytes());
    format!("{}-{}", &clean[..54], &hash[..8])
}

/// `release-cockpit-journal-1.2.3-0001`: a DNS subdomain whatever the version holds.
pub fn segment_name(release: &str, index: u32) -> String {
    let dns: String = label_value(release)
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '_' { '-' } else { c })
        .collect();
    let dns = dns.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if dns == release {
        format!("release-cockpit-journal-{dns}-{index:04}")
    } else {
        // The version changed on its way to a name (`+build`, capitals): its hash keeps
        // `1.2.3+b` and `1.2.3-b` apart.
        let hash = crate::release::journal::chain::hash_line(release.as_bytes());
        format!("release-cockpit-journal-{dns}-{}-{index:04}", &hash[..8])
    }
}

/// The label selector that lists a release's segments.
pub fn selector(release: &str) -> String {
    format!("{JOURNAL_LABEL}={}", label_value(release))
}

/// The ConfigMap holding a release's releases.log lines, beside its journal.
pub fn audit_name(release: &str) -> String {
    segment_name(release, 0)
        .trim_end_matches("-0000")
        .replace("-journal-", "-audit-")
}

/// On the audit ConfigMap: the release it is for (not the journal's label, which lists
/// segments only).
pub const AUDIT_LABEL: &str = "release-cockpit/audit";

pub fn audit_configmap(release: &str, first_line: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(audit_name(release)),
            labels: Some(BTreeMap::from([
                (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
                (AUDIT_LABEL.to_string(), label_value(release)),
            ])),
            annotations: Some(BTreeMap::from([(
                RELEASE_ANNOTATION.to_string(),
                release.to_string(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(key(1), first_line.to_string())])),
        ..Default::default()
    }
}

pub fn key(seq: u64) -> String {
    format!("{seq:08}")
}

/// One ConfigMap of the journal as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    pub index: u32,
    pub resource_version: Option<String>,
    pub immutable: bool,
    pub capacity: Capacity,
    /// Entry number and line, in order.
    pub lines: Vec<(u64, String)>,
}

impl Segment {
    /// A new segment whose first entry is `seq`.
    pub fn new(release: &str, index: u32, capacity: Capacity, seq: u64, line: String) -> Self {
        Segment {
            name: segment_name(release, index),
            index,
            resource_version: None,
            immutable: false,
            capacity,
            lines: vec![(seq, line)],
        }
    }

    pub fn bytes(&self) -> usize {
        self.lines.iter().map(|(_, l)| l.len()).sum()
    }

    /// Whether the next entry starts a new segment.
    pub fn is_full(&self) -> bool {
        self.immutable
            || self.lines.len() >= self.capacity.entries
            || self.bytes() >= self.capacity.bytes
    }

    /// Where it is, for messages: `configmap production/release-cockpit-journal-1.2.3-0001`.
    pub fn location(&self, namespace: &str) -> PathBuf {
        PathBuf::from(format!("configmap {namespace}/{}", self.name))
    }

    /// The ConfigMap to create.
    pub fn to_configmap(&self, release: &str) -> ConfigMap {
        let labels = BTreeMap::from([
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
            (JOURNAL_LABEL.to_string(), label_value(release)),
            (SEGMENT_LABEL.to_string(), self.index.to_string()),
        ]);
        let annotations = BTreeMap::from([
            (RELEASE_ANNOTATION.to_string(), release.to_string()),
            (CAPACITY_ANNOTATION.to_string(), self.capacity.annotation()),
        ]);
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(labels),
                annotations: Some(annotations),
                resource_version: self.resource_version.clone(),
                ..Default::default()
            },
            data: Some(
                self.lines
                    .iter()
                    .map(|(seq, line)| (key(*seq), line.clone()))
                    .collect(),
            ),
            immutable: self.immutable.then_some(true),
            ..Default::default()
        }
    }

    /// A ConfigMap read back; `Err` says what about it is not a segment.
    pub fn from_configmap(cm: &ConfigMap) -> Result<Segment, String> {
        let name = cm.metadata.name.clone().unwrap_or_default();
        let index = cm
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SEGMENT_LABEL))
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|i| *i >= 1)
            .ok_or_else(|| format!("{name} has no segment number ({SEGMENT_LABEL})"))?;
        let capacity = cm
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CAPACITY_ANNOTATION))
            .and_then(|v| Capacity::parse(v))
            .unwrap_or_default();
        let mut lines = Vec::new();
        for (k, v) in cm.data.iter().flatten() {
            let seq = k
                .parse::<u64>()
                .map_err(|_| format!("{name} holds {k:?}, which is not an entry number"))?;
            lines.push((seq, v.clone()));
        }
        lines.sort_by_key(|(s, _)| *s);
        Ok(Segment {
            name,
            index,
            resource_version: cm.metadata.resource_version.clone(),
            immutable: cm.immutable == Some(true),
            capacity,
            lines,
        })
    }
}

/// A journal as its segments hold it: entries, their hashes, and the chain where it ends.
pub struct Assembled {
    pub entries: Vec<Entry>,
    pub hashes: Vec<String>,
    pub chain: Chain,
}

/// Puts a release's segments together (any order) and checks them as the file journal is
/// checked: segments numbered 1, 2, … with none missing, entries numbered 1, 2, … across
/// them, each line an entry with its own number, the chain unbroken. Unlike a file, a
/// ConfigMap is written whole or not at all, so no damage is a torn write: all is refused.
pub fn assemble(
    release: &str,
    namespace: &str,
    segments: &mut [Segment],
) -> Result<Assembled, JournalError> {
    segments.sort_by_key(|s| s.index);
    let mut chain = Chain::new(release);
    let mut entries = Vec::new();
    let mut hashes = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let path = segment.location(namespace);
        let corrupt = |line: u64, message: String| JournalError::Corrupt {
            path: path.clone(),
            line: line as usize,
            message,
        };
        let expected_index = i as u32 + 1;
        if segment.index != expected_index {
            return Err(corrupt(
                entries.len() as u64 + 1,
                format!(
                    "segment {expected_index} is missing (this is segment {}): the entries it held were deleted",
                    segment.index
                ),
            ));
        }
        for (seq, line) in &segment.lines {
            let entry: Entry = serde_json::from_str(line)
                .map_err(|e| corrupt(*seq, format!("entry {seq} does not read: {e}")))?;
            if entry.seq != *seq {
                return Err(corrupt(
                    *seq,
                    format!("the line under key {} is entry {}", key(*seq), entry.seq),
                ));
            }
            let hash =
                chain
                    .check(&entry, line.as_bytes())
                    .map_err(|broken| JournalError::Broken {
                        path: path.clone(),
                        broken,
                    })?;
            let expected = entries.len() as u64 + 1;
            if entry.seq != expected {
                return Err(corrupt(
                    *seq,
                    format!("event number {} where {expected} was expected", entry.seq),
                ));
            }
            chain.advance(&entry, hash.clone());
            hashes.push(hash);
            entries.push(entry);
        }
    }
    Ok(Assembled {
        entries,
        hashes,
        chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_hold_any_semver() {
        assert_eq!(label_value("1.2.3"), "1.2.3");
        assert_eq!(label_value("1.2.3-rc.1+build.5"), "1.2.3-rc.1_build.5");
        assert_eq!(
            segment_name("1.2.3-rc.1", 2),
            "release-cockpit-journal-1.2.3-rc.1-0002"
        );
        let built = segment_name("1.2.3-rc.1+build.5", 2);
        assert!(
            built.starts_with("release-cockpit-journal-1.2.3-rc.1-build.5-"),
            "{built}"
        );
        assert!(built.ends_with("-0002"), "{built}");
        assert_ne!(
            segment_name("1.2.3+b", 1),
            segment_name("1.2.3-b", 1),
            "versions a name would merge stay apart"
        );
        let long = format!("1.2.3-{}", "a".repeat(80));
        assert!(label_value(&long).len() <= 63);
        assert_ne!(label_value(&long), label_value(&format!("{long}b")));
    }

    #[test]
    fn a_segment_is_full_by_its_own_capacity() {
        let small = Capacity {
            entries: 2,
            bytes: 1000,
        };
        let mut s = Segment::new("1.2.3", 1, small, 1, "x".into());
        assert!(!s.is_full());
        s.lines.push((2, "y".into()));
        assert!(s.is_full());
        let read = Segment::from_configmap(&s.to_configmap("1.2.3")).unwrap();
        assert_eq!(
            read.capacity, small,
            "the capacity travels with the segment"
        );
        assert_eq!(read.lines, s.lines);
        assert_eq!(
            Capacity::parse(&Capacity::default().annotation()),
            Some(Capacity::default())
        );
    }
}
