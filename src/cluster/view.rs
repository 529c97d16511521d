//! The live state of one environment's Deployment, folded from the watchers' updates: what
//! the rollout pane draws. Pure (no I/O, no async); every derived row is computed when an
//! update arrives, so drawing 2,000 pods only walks rows that are already in order.

mod rows;

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};

pub use rows::{
    CHANGE_CAUSE_ANNOTATION, ConditionRow, Counts, EventRow, JobRow, JobState,
    POD_TEMPLATE_HASH_LABEL, PodRow, PodStatusSummary, REVISION_ANNOTATION, RevisionRow,
    kubectl_status,
};

use super::progress::{RolloutStatus, rollout_status};
use super::{Change, ClusterMsg, ClusterUpdate, Stream, Target};

/// How many Warning events the view keeps.
pub const MAX_WARNINGS: usize = 50;

/// Whether a watch stream is delivering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamHealth {
    /// Not listed yet.
    Connecting,
    Up {
        since: DateTime<Utc>,
    },
    /// Backing off after `error`; the view shows what it had before `since`.
    Down {
        since: DateTime<Utc>,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownStream {
    pub stream: Stream,
    pub since: DateTime<Utc>,
    pub error: String,
}

/// Why what the view shows may be out of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    /// In `Stream::ALL` order.
    pub down: Vec<DownStream>,
    /// The last moment every stream that is down was known current: when it went down if
    /// it had been delivering, else its last change. The oldest of them; `None` when one
    /// has told nothing yet. Another stream still delivering does not make it newer.
    pub last_update: Option<DateTime<Utc>>,
    /// `now - last_update`.
    pub age: Option<Duration>,
}

impl fmt::Display for Staleness {
    /// `pods stream down: <error> — last update 12 s ago`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.down.iter().map(|d| d.stream.name()).collect();
        let plural = if names.len() == 1 { "" } else { "s" };
        write!(f, "{} stream{plural} down", names.join(", "))?;
        if let Some(first) = self.down.first() {
            write!(f, ": {}", first.error)?;
        }
        match self.age {
            Some(age) => write!(f, " — last update {} s ago", age.num_seconds().max(0)),
            None => write!(f, " — no update yet"),
        }
    }
}

/// Pods in table order: newest revision first (unknown revisions last), then by name.
type PodKey = (Reverse<Option<u64>>, String);

pub struct ClusterView {
    pub target: Target,
    pub deployment: Option<Deployment>,
    /// Why the Deployment is not there, while it is not.
    pub missing: Option<String>,
    /// The Deployment's own ReplicaSets, by name.
    replica_sets: HashMap<String, RevisionRow>,
    revisions: Vec<RevisionRow>,
    hash_revisions: HashMap<String, u64>,
    pods: BTreeMap<PodKey, PodRow>,
    pod_keys: HashMap<String, PodKey>,
    warnings: VecDeque<EventRow>,
    jobs: Vec<JobRow>,
    streams: [StreamHealth; Stream::ALL.len()],
    /// Per stream, the last moment it was known current (see `Staleness::last_update`).
    known_current: [Option<DateTime<Utc>>; Stream::ALL.len()],
    last_update: Option<DateTime<Utc>>,
}

fn slot(stream: Stream) -> usize {
    Stream::ALL
        .iter()
        .position(|s| *s == stream)
        .expect("every stream is in ALL")
}

impl ClusterView {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            deployment: None,
            missing: None,
            replica_sets: HashMap::new(),
            revisions: Vec::new(),
            hash_revisions: HashMap::new(),
            pods: BTreeMap::new(),
            pod_keys: HashMap::new(),
            warnings: VecDeque::new(),
            jobs: Vec::new(),
            streams: std::array::from_fn(|_| StreamHealth::Connecting),
            known_current: [None; Stream::ALL.len()],
            last_update: None,
        }
    }

    /// Folds one update in; updates for other environments are ignored.
    pub fn apply(&mut self, update: &ClusterUpdate) {
        if update.env != self.target.env {
            return;
        }
        let at = update.at;
        match &update.msg {
            ClusterMsg::Deployment(c) => {
                self.apply_deployment(c);
                self.touched(Stream::Deployment, at);
            }
            ClusterMsg::ReplicaSet(c) => {
                self.apply_replica_sets(c);
                self.touched(Stream::ReplicaSets, at);
            }
            ClusterMsg::Pod(c) => {
                self.apply_pods(c);
                self.touched(Stream::Pods, at);
            }
            ClusterMsg::Event(c) => {
                self.apply_events(c);
                self.touched(Stream::Events, at);
            }
            ClusterMsg::Job(c) => {
                self.apply_jobs(c);
                self.touched(Stream::Jobs, at);
            }
            ClusterMsg::StreamUp(s) => {
                self.streams[slot(*s)] = StreamHealth::Up { since: at };
                self.known_current[slot(*s)] = Some(at);
            }
            ClusterMsg::StreamDown { stream, error } => {
                let health = &mut self.streams[slot(*stream)];
                // A stream that was delivering was current until this moment: a quiet
                // watch is not a stale one.
                if matches!(health, StreamHealth::Up { .. }) {
                    self.known_current[slot(*stream)] = Some(at);
                }
                // One outage keeps the time it began; a new error only refreshes the text.
                let since = match health {
                    StreamHealth::Down { since, .. } => *since,
                    _ => at,
                };
                *health = StreamHealth::Down {
                    since,
                    error: error.clone(),
                };
            }
            ClusterMsg::Missing { error } => {
                self.deployment = None;
                self.missing = Some(error.clone());
            }
        }
    }

    fn touched(&mut self, stream: Stream, at: DateTime<Utc>) {
        self.last_update = Some(self.last_update.map_or(at, |t| t.max(at)));
        let known = &mut self.known_current[slot(stream)];
        *known = Some(known.map_or(at, |t| t.max(at)));
    }

    fn apply_deployment(&mut self, change: &Change<Deployment>) {
        let ours = |d: &Deployment| d.metadata.name.as_deref() == Some(&self.target.deployment);
        let not_found = format!(
            "deployments.apps {:?} not found in namespace {:?}",
            self.target.deployment, self.target.namespace
        );
        match change {
            Change::Applied(d) if ours(d) => {
                self.deployment = Some(d.clone());
                self.missing = None;
            }
            Change::Deleted(d) if ours(d) => {
                self.deployment = None;
                self.missing = Some(format!(
                    "deployment {:?} was deleted",
                    self.target.deployment
                ));
            }
            Change::Replaced(all) => match all.iter().find(|d| ours(d)) {
                Some(d) => {
                    self.deployment = Some(d.clone());
                    self.missing = None;
                }
                None => {
                    self.deployment = None;
                    self.missing = Some(not_found);
                }
            },
            _ => {}
        }
    }

    fn revision_row(&self, rs: &ReplicaSet) -> Option<RevisionRow> {
        if !rows::controlled_by(&rs.metadata, "Deployment", &self.target.deployment) {
            return None;
        }
        RevisionRow::of(rs, &self.target.container)
    }

    fn apply_replica_sets(&mut self, change: &Change<ReplicaSet>) {
        match change {
            Change::Applied(rs) => {
                let name = rs.metadata.name.clone().unwrap_or_default();
                match self.revision_row(rs) {
                    Some(row) => self.replica_sets.insert(name, row),
                    None => self.replica_sets.remove(&name),
                };
            }
            Change::Deleted(rs) => {
                self.replica_sets
                    .remove(rs.metadata.name.as_deref().unwrap_or_default());
            }
            Change::Replaced(all) => {
                self.replica_sets = all
                    .iter()
                    .filter_map(|rs| {
                        let row = self.revision_row(rs)?;
                        Some((row.replica_set.clone(), row))
                    })
                    .collect();
            }
        }
        self.derive_revisions();
    }

    /// Re-sorts the revisions and, when the hash → revision map changed, re-keys the pods.
    fn derive_revisions(&mut self) {
        let mut revisions: Vec<RevisionRow> = self.replica_sets.values().cloned().collect();
        revisions.sort_by(|a, b| (b.revision, &b.replica_set).cmp(&(a.revision, &a.replica_set)));
        for (i, r) in revisions.iter_mut().enumerate() {
            r.current = i == 0;
        }
        self.revisions = revisions;
        let hashes: HashMap<String, u64> = self
            .revisions
            .iter()
            .filter_map(|r| Some((r.hash.clone()?, r.revision)))
            .collect();
        if hashes != self.hash_revisions {
            self.hash_revisions = hashes;
            let rows: Vec<PodRow> = std::mem::take(&mut self.pods).into_values().collect();
            self.pod_keys.clear();
            for row in rows {
                self.insert_pod(row);
            }
        }
    }

    fn insert_pod(&mut self, mut row: PodRow) {
        row.revision = row
            .hash
            .as_ref()
            .and_then(|h| self.hash_revisions.get(h))
            .copied();
        let key = (Reverse(row.revision), row.name.clone());
        if let Some(old) = self.pod_keys.insert(row.name.clone(), key.clone()) {
            self.pods.remove(&old);
        }
        self.pods.insert(key, row);
    }

    fn remove_pod(&mut self, name: &str) {
        if let Some(key) = self.pod_keys.remove(name) {
            self.pods.remove(&key);
        }
    }

    fn apply_pods(&mut self, change: &Change<Pod>) {
        match change {
            Change::Applied(p) => self.insert_pod(PodRow::of(p, &self.target.container)),
            Change::Deleted(p) => self.remove_pod(p.metadata.name.as_deref().unwrap_or_default()),
            Change::Replaced(all) => {
                self.pods.clear();
                self.pod_keys.clear();
                for p in all {
                    self.insert_pod(PodRow::of(p, &self.target.container));
                }
            }
        }
    }

    fn apply_events(&mut self, change: &Change<KubeEvent>) {
        match change {
            Change::Applied(e) => {
                let name = e.metadata.name.as_deref().unwrap_or_default();
                // A repeat (count and lastTimestamp bumped) moves to the end: newest last.
                self.warnings.retain(|w| w.name != name);
                if EventRow::is_warning(e) {
                    self.warnings.push_back(EventRow::of(e));
                    while self.warnings.len() > MAX_WARNINGS {
                        self.warnings.pop_front();
                    }
                }
            }
            Change::Deleted(e) => {
                let name = e.metadata.name.as_deref().unwrap_or_default();
                self.warnings.retain(|w| w.name != name);
            }
            Change::Replaced(all) => {
                let mut rows: Vec<EventRow> = all
                    .iter()
                    .filter(|e| EventRow::is_warning(e))
                    .map(EventRow::of)
                    .collect();
                rows.sort_by(|a, b| (a.last, &a.name).cmp(&(b.last, &b.name)));
                let skip = rows.len().saturating_sub(MAX_WARNINGS);
                self.warnings = rows.into_iter().skip(skip).collect();
            }
        }
    }

    fn apply_jobs(&mut self, change: &Change<Job>) {
        match change {
            Change::Applied(j) => {
                let row = JobRow::of(j);
                self.jobs.retain(|r| r.name != row.name);
                self.jobs.push(row);
            }
            Change::Deleted(j) => {
                let name = j.metadata.name.as_deref().unwrap_or_default();
                self.jobs.retain(|r| r.name != name);
            }
            Change::Replaced(all) => self.jobs = all.iter().map(JobRow::of).collect(),
        }
        self.jobs
            .sort_by(|a, b| (b.created, &a.name).cmp(&(a.created, &b.name)));
    }

    /// kubectl's `rollout status` verdict on the Deployment as last seen.
    pub fn progress(&self) -> Option<RolloutStatus> {
        self.deployment.as_ref().map(rollout_status)
    }

    /// Newest first; the first is `current`.
    pub fn revisions(&self) -> &[RevisionRow] {
        &self.revisions
    }

    /// Newest revision first, then by name.
    pub fn pods(&self) -> impl DoubleEndedIterator<Item = &PodRow> + ExactSizeIterator + '_ {
        self.pods.values()
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    pub fn pod(&self, name: &str) -> Option<&PodRow> {
        self.pod_keys.get(name).and_then(|k| self.pods.get(k))
    }

    pub fn conditions(&self) -> Vec<ConditionRow> {
        self.deployment
            .as_ref()
            .map(ConditionRow::all)
            .unwrap_or_default()
    }

    /// Recent Warning events, oldest first, newest last.
    pub fn warnings(&self) -> impl DoubleEndedIterator<Item = &EventRow> + ExactSizeIterator + '_ {
        self.warnings.iter()
    }

    /// Migration Jobs, newest first.
    pub fn jobs(&self) -> &[JobRow] {
        &self.jobs
    }

    pub fn counts(&self) -> Option<Counts> {
        self.deployment.as_ref().map(Counts::of)
    }

    pub fn stream_health(&self, stream: Stream) -> &StreamHealth {
        &self.streams[slot(stream)]
    }

    /// When any stream last delivered a change.
    pub fn last_update(&self) -> Option<DateTime<Utc>> {
        self.last_update
    }

    /// `Some` while any stream is down: the view may be behind the cluster.
    pub fn staleness(&self, now: DateTime<Utc>) -> Option<Staleness> {
        let down: Vec<DownStream> = Stream::ALL
            .iter()
            .filter_map(|s| match self.stream_health(*s) {
                StreamHealth::Down { since, error } => Some(DownStream {
                    stream: *s,
                    since: *since,
                    error: error.clone(),
                }),
                _ => None,
            })
            .collect();
        if down.is_empty() {
            return None;
        }
        let known: Option<Vec<DateTime<Utc>>> = down
            .iter()
            .map(|d| self.known_current[slot(d.stream)])
            .collect();
        let last_update = known.and_then(|k| k.into_iter().min());
        Some(Staleness {
            down,
            last_update,
            age: last_update.map(|t| now - t),
        })
    }
}

#[cfg(test)]
mod tests;
