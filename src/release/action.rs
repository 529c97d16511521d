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

/// How an action ended, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub ok: bool,
    pub summary: String,
    /// What the action found or made: revision, job name, HTTP status, output digest.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
    pub duration_ms: u64,
}

/// One action of the release, from the fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRecord {
    pub task: u64,
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
