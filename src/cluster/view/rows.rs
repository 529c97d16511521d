//! The lean rows the live view keeps instead of whole objects: what the rollout pane draws,
//! computed once when an object changes so a frame with 2,000 pods only reads strings.

mod pods;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

pub use pods::{PodRow, PodStatusSummary, kubectl_status};

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

pub fn utc(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

fn created(meta: &ObjectMeta) -> Option<DateTime<Utc>> {
    meta.creation_timestamp.as_ref().and_then(utc)
}

/// The image of `container`, or of the first container when none has that name (the
/// config may name a container the Deployment does not have); empty when there is none.
fn image_of(spec: Option<&PodSpec>, container: &str) -> String {
    spec.and_then(|s| {
        let containers = &s.containers;
        containers
            .iter()
            .find(|c| c.name == container)
            .or(containers.first())
    })
    .and_then(|c| c.image.clone())
    .unwrap_or_default()
}

/// Whether `meta` is controlled by the Deployment `deployment`, as `rollout history` checks
/// before it counts a ReplicaSet as one of its revisions.
pub fn controlled_by(meta: &ObjectMeta, kind: &str, name: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.kind == kind && o.name == name)
}

/// One revision of the Deployment: one of its ReplicaSets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionRow {
    pub revision: u64,
    pub replica_set: String,
    /// Its `pod-template-hash`: how its pods are recognised.
    pub hash: Option<String>,
    pub image: String,
    /// `kubernetes.io/change-cause`, as `rollout history` shows it.
    pub change_cause: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// `spec.replicas`, `status.replicas`, `status.readyReplicas`.
    pub desired: i32,
    pub replicas: i32,
    pub ready: i32,
    /// The newest revision: the one the Deployment is rolling to (or has rolled to).
    pub current: bool,
}

impl RevisionRow {
    /// `None` for a ReplicaSet without a revision number: no Deployment controller made it.
    pub fn of(rs: &ReplicaSet, container: &str) -> Option<Self> {
        let meta = &rs.metadata;
        let revision = meta
            .annotations
            .as_ref()?
            .get(REVISION_ANNOTATION)?
            .parse()
            .ok()?;
        let status = rs.status.as_ref();
        let template = rs.spec.template.as_ref();
        Some(Self {
            revision,
            replica_set: meta.name.clone().unwrap_or_default(),
            hash: meta
                .labels
                .as_ref()
                .and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL))
                .cloned(),
            image: image_of(template.and_then(|t| t.spec.as_ref()), container),
            change_cause: meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION))
                .cloned(),
            created: created(meta),
            desired: rs.spec.replicas.unwrap_or(1),
            replicas: status.map_or(0, |s| s.replicas),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            current: false,
        })
    }
}
/// One Event as the warnings list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub name: String,
    /// `Pod`, `ReplicaSet`, `Deployment`, `Job`.
    pub kind: String,
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

impl EventRow {
    pub fn of(e: &KubeEvent) -> Self {
        let io = &e.involved_object;
        let event_time = e.event_time.as_ref().and_then(|t| {
            DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        });
        let series_time = e
            .series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref())
            .and_then(|t| {
                DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
            });
        let first = e
            .first_timestamp
            .as_ref()
            .and_then(utc)
            .or(event_time)
            .or_else(|| created(&e.metadata));
        Self {
            name: e.metadata.name.clone().unwrap_or_default(),
            kind: io.kind.clone().unwrap_or_default(),
            object: io.name.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e
                .count
                .or_else(|| e.series.as_ref().and_then(|s| s.count))
                .unwrap_or(1),
            first,
            last: e
                .last_timestamp
                .as_ref()
                .and_then(utc)
                .or(series_time)
                .or(first),
        }
    }

    pub fn is_warning(e: &KubeEvent) -> bool {
        e.type_.as_deref() == Some("Warning")
    }
}

/// One of the Deployment's conditions, as `kubectl describe` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionRow {
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition: Option<DateTime<Utc>>,
}

impl ConditionRow {
    pub fn all(d: &Deployment) -> Vec<Self> {
        let conditions = d.status.as_ref().and_then(|s| s.conditions.as_ref());
        conditions
            .into_iter()
            .flatten()
            .map(|c| Self {
                type_: c.type_.clone().unwrap_or_default(),
                status: c.status.clone().unwrap_or_default(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_transition: c.last_transition_time.as_ref().and_then(utc),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    Complete,
    /// The Failed condition's reason (`BackoffLimitExceeded`, `DeadlineExceeded`).
    Failed(String),
}

/// One migration Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub name: String,
    pub created: Option<DateTime<Utc>>,
    pub active: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub state: JobState,
    /// The first container's command and args.
    pub command: Vec<String>,
    pub image: Option<String>,
}

impl JobRow {
    pub fn of(job: &Job) -> Self {
        let status = job.status.clone().unwrap_or_default();
        let holds = |t: &str| {
            status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == t && c.status == "True")
        };
        let state = if holds("Complete").is_some() {
            JobState::Complete
        } else if let Some(c) = holds("Failed") {
            JobState::Failed(
                c.reason
                    .clone()
                    .or_else(|| c.message.clone())
                    .unwrap_or_else(|| "Failed".to_string()),
            )
        } else {
            JobState::Running
        };
        let container = job
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.containers.first());
        Self {
            name: job.metadata.name.clone().unwrap_or_default(),
            created: created(&job.metadata),
            active: status.active.unwrap_or(0),
            succeeded: status.succeeded.unwrap_or(0),
            failed: status.failed.unwrap_or(0),
            state,
            command: container
                .map(|c| {
                    let command = c.command.iter().flatten();
                    command.chain(c.args.iter().flatten()).cloned().collect()
                })
                .unwrap_or_default(),
            image: container.and_then(|c| c.image.clone()),
        }
    }
}

/// The replica counts the rollout pane puts on one line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// `spec.replicas`.
    pub desired: i32,
    /// `status.replicas`: every pod of every revision.
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
}

impl Counts {
    pub fn of(d: &Deployment) -> Self {
        let s = d.status.clone().unwrap_or_default();
        Self {
            desired: d.spec.replicas.unwrap_or(1),
            current: s.replicas.unwrap_or(0),
            updated: s.updated_replicas.unwrap_or(0),
            ready: s.ready_replicas.unwrap_or(0),
            available: s.available_replicas.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn job_states_from_conditions() {
        let job = |status: Value| -> Job {
            serde_json::from_value(json!({
                "metadata": {"name": "migrate-1"},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "migrate", "image": "web:2", "command": ["python"],
                     "args": ["manage.py", "migrate"]}]}}},
                "status": status,
            }))
            .unwrap()
        };
        let running = JobRow::of(&job(json!({"active": 1})));
        assert_eq!(running.state, JobState::Running);
        assert_eq!(running.command, ["python", "manage.py", "migrate"]);
        assert_eq!(running.active, 1);
        let done = JobRow::of(&job(json!({"succeeded": 1, "conditions": [
            {"type": "Complete", "status": "True"}]})));
        assert_eq!(done.state, JobState::Complete);
        let failed = JobRow::of(&job(json!({"failed": 7, "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]})));
        assert_eq!(
            failed.state,
            JobState::Failed("BackoffLimitExceeded".into())
        );
        assert_eq!(failed.failed, 7);
    }
}
