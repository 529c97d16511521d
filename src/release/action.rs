//! What the cockpit does to (or asks of) an environment, as the journal records it. An
//! action is journaled when it starts and again when it ends, so after a crash the fold
//! knows what was in flight and the cockpit reconciles it instead of sending it again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationDirection {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum RollbackMethod {
    /// `kubectl rollout undo`.
    Previous,
    /// `kubectl rollout undo --to-revision=N`.
    ToRevision { revision: i64 },
    /// `kubectl set image` with the previous tag.
    Image { image: String },
}

impl RollbackMethod {
    pub fn describe(&self) -> String {
        match self {
            RollbackMethod::Previous => "undo to the previous revision".into(),
            RollbackMethod::ToRevision { revision } => format!("undo to revision {revision}"),
            RollbackMethod::Image { image } => format!("set image {image}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Set the image (with a change-cause) and follow the rollout to its end.
    Deploy {
        version: String,
        image: String,
        change_cause: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit_sha: Option<String>,
    },
    Rollback {
        #[serde(flatten)]
        method: RollbackMethod,
        reason: String,
    },
    /// A Job built from the Deployment's pod template.
    Migrate {
        direction: MigrationDirection,
        argv: Vec<String>,
        job: String,
    },
    Backup {
        argv: Vec<String>,
    },
    Health {
        urls: Vec<String>,
    },
    Smoke {
        argv: Vec<String>,
    },
}

impl Action {
    /// Changes the environment: at most one such action per environment at a time, and a
    /// confirmation (typed, for a protected environment) before it starts.
    pub fn mutating(&self) -> bool {
        matches!(
            self,
            Action::Deploy { .. } | Action::Rollback { .. } | Action::Migrate { .. }
        )
    }

    pub fn describe(&self) -> String {
        match self {
            Action::Deploy { image, .. } => format!("deploy {image}"),
            Action::Rollback { method, .. } => format!("rollback ({})", method.describe()),
            Action::Migrate { argv, .. } => format!("migration `{}`", argv.join(" ")),
            Action::Backup { argv } => format!("backup `{}`", argv.join(" ")),
            Action::Health { .. } => "health checks".into(),
            Action::Smoke { argv } => format!("smoke tests `{}`", argv.join(" ")),
        }
    }

    /// The short name used in lists and the runbook.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Deploy { .. } => "deploy",
            Action::Rollback { .. } => "rollback",
            Action::Migrate {
                direction: MigrationDirection::Up,
                ..
            } => "migrate",
            Action::Migrate {
                direction: MigrationDirection::Down,
                ..
            } => "downgrade",
            Action::Backup { .. } => "backup",
            Action::Health { .. } => "health",
            Action::Smoke { .. } => "smoke",
        }
    }
}

/// The number of an action in its release's journal: past every one journaled before, so
/// a resumed action keeps its number and a new one never takes it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl TaskId {
    pub fn next(self) -> TaskId {
        TaskId(self.0 + 1)
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How an action ended, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub ok: bool,
    pub summary: String,
    /// What the action found or made: revision, job name, HTTP status, output digest.
    #[serde(default, skip_serializing_if = "ActionDetail::is_none")]
    pub detail: ActionDetail,
    pub duration_ms: u64,
}

/// One health URL's answer, as an action's detail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbedUrl {
    pub url: String,
    pub http_status: Option<u16>,
    pub healthy: bool,
    pub error: Option<String>,
}

/// What an action did, typed: what reached the cluster, what it patched, what it ran.
///
/// Each variant keeps the JSON shape the journal has always had (`untagged`), so journals
/// written before the type existed read the same. Variants are tried in order, so each one
/// that shares fields with a later one comes first; `Other` keeps any shape not known here
/// rather than refuse a journal over it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActionDetail {
    /// Nothing was done or found worth keeping (the cluster was out of reach, say).
    #[default]
    None,
    /// Cut off by a restart or cancelled before an outcome was known; `patched` says
    /// whether the cockpit knows the patch was (not) sent.
    Interrupted {
        interrupted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        patched: Option<bool>,
    },
    /// A deploy cut off by a restart whose image was found set: its rollout was followed.
    Resumed { resumed: bool },
    /// `kubectl rollout undo` found nothing to do.
    UndoSkipped { skipped: bool, revision: i64 },
    /// `kubectl rollout undo` restored `revision`'s template.
    RolledBack {
        revision: i64,
        image: Option<String>,
    },
    /// A rollback by image: the previous tag set back.
    ImageSetBack { patched: bool, image: String },
    /// A deploy's `kubectl set image`: whether a patch was sent, and what ran before.
    ImageSet {
        patched: bool,
        previous_image: Option<String>,
        previous_revision: Option<i64>,
        generation: i64,
    },
    /// A migration Job's verdict and the end of its log.
    Migration {
        job: String,
        adopted: bool,
        reason: String,
        log_tail: Vec<String>,
    },
    /// A migration Job no longer followed (cancelled, or no verdict yet).
    JobLeftRunning { job: String },
    /// The health URLs' answers.
    Health(Vec<ProbedUrl>),
    /// A command (backup, smoke tests): its exit status and kept output.
    Command {
        exit_code: Option<i32>,
        output_sha256: String,
        output_file: Option<String>,
    },
    /// A shape this version does not know (a journal from another version).
    Other(serde_json::Value),
}

impl ActionDetail {
    pub fn is_none(&self) -> bool {
        matches!(self, ActionDetail::None)
    }

    /// The action changed the cluster (a patch was sent), or was found to have: what makes
    /// a failed deploy one that needs rolling back rather than one that never started.
    pub fn reached_cluster(&self) -> bool {
        match self {
            ActionDetail::ImageSet { patched, .. } | ActionDetail::ImageSetBack { patched, .. } => {
                *patched
            }
            ActionDetail::Interrupted { patched, .. } => *patched == Some(true),
            ActionDetail::Resumed { resumed } => *resumed,
            ActionDetail::Other(v) => v["patched"] == true || v["resumed"] == true,
            _ => false,
        }
    }
}

/// One action of the release, from the fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRecord {
    pub task: TaskId,
    pub env: String,
    pub action: Action,
    pub by: String,
    pub started: DateTime<Utc>,
    /// `None` while it runs, or when the cockpit stopped before it ended.
    pub finished: Option<(DateTime<Utc>, ActionOutcome)>,
}

impl ActionRecord {
    pub fn succeeded(&self) -> bool {
        self.finished.as_ref().is_some_and(|(_, o)| o.ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every detail the cockpit writes reads back as itself, from the JSON shape journals
    /// have always held.
    #[test]
    fn each_detail_reads_back_from_its_journal_shape() {
        let cases = [
            (json!(null), ActionDetail::None),
            (
                json!({"interrupted": true}),
                ActionDetail::Interrupted {
                    interrupted: true,
                    patched: None,
                },
            ),
            (
                json!({"interrupted": true, "patched": false}),
                ActionDetail::Interrupted {
                    interrupted: true,
                    patched: Some(false),
                },
            ),
            (
                json!({"resumed": true}),
                ActionDetail::Resumed { resumed: true },
            ),
            (
                json!({"skipped": true, "revision": 3}),
                ActionDetail::UndoSkipped {
                    skipped: true,
                    revision: 3,
                },
            ),
            (
                json!({"revision": 4, "image": "api:1.2.2"}),
                ActionDetail::RolledBack {
                    revision: 4,
                    image: Some("api:1.2.2".into()),
                },
            ),
            (
                json!({"patched": true, "image": "api:1.2.2"}),
                ActionDetail::ImageSetBack {
                    patched: true,
                    image: "api:1.2.2".into(),
                },
            ),
            (
                json!({"patched": true, "previous_image": "api:1.2.2", "previous_revision": 2, "generation": 5}),
                ActionDetail::ImageSet {
                    patched: true,
                    previous_image: Some("api:1.2.2".into()),
                    previous_revision: Some(2),
                    generation: 5,
                },
            ),
            (
                json!({"job": "m-1", "adopted": false, "reason": "Complete", "log_tail": ["ok"]}),
                ActionDetail::Migration {
                    job: "m-1".into(),
                    adopted: false,
                    reason: "Complete".into(),
                    log_tail: vec!["ok".into()],
                },
            ),
            (
                json!({"job": "m-1"}),
                ActionDetail::JobLeftRunning { job: "m-1".into() },
            ),
            (
                json!([{"url": "http://h/health", "http_status": 200, "healthy": true, "error": null}]),
                ActionDetail::Health(vec![ProbedUrl {
                    url: "http://h/health".into(),
                    http_status: Some(200),
                    healthy: true,
                    error: None,
                }]),
            ),
            (
                json!({"exit_code": 0, "output_sha256": "ab", "output_file": null}),
                ActionDetail::Command {
                    exit_code: Some(0),
                    output_sha256: "ab".into(),
                    output_file: None,
                },
            ),
            (
                json!({"something": "new"}),
                ActionDetail::Other(json!({"something": "new"})),
            ),
        ];
        for (shape, want) in cases {
            let read: ActionDetail = serde_json::from_value(shape.clone()).unwrap();
            assert_eq!(read, want, "{shape}");
            assert_eq!(serde_json::to_value(&want).unwrap(), shape, "{want:?}");
        }
    }

    #[test]
    fn what_reached_the_cluster() {
        let set = |patched| ActionDetail::ImageSet {
            patched,
            previous_image: None,
            previous_revision: None,
            generation: 1,
        };
        assert!(set(true).reached_cluster());
        assert!(!set(false).reached_cluster());
        assert!(ActionDetail::Resumed { resumed: true }.reached_cluster());
        assert!(!ActionDetail::None.reached_cluster());
        assert!(ActionDetail::Other(json!({"patched": true})).reached_cluster());
    }
}
