//! What happened during a release, one journal line each. The release state is a fold over
//! these, so a field added here must keep old journals readable (`#[serde(default)]`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

pub use super::action::{Action, ActionOutcome, TaskId};
use super::soak_record::{CheckpointSnapshot, SoakVerdict, TriggerKind};

/// The go/no-go call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoNoGo {
    Go,
    NoGo,
}

/// The outcome of running an item's check command.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub argv: Vec<String>,
    /// `None` when the command could not be started, was killed, or timed out.
    pub exit_code: Option<i32>,
    /// Why there is no exit code, or other trouble worth saying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
    /// sha256 of the whole output, so the kept copy can be verified.
    pub output_sha256: String,
    /// The last part of stdout and stderr interleaved, as the engineer saw it.
    pub output_tail: String,
    /// Where the full output was saved, relative to the state dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
}

impl CheckOutcome {
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// "passed", "failed with exit status 2", "did not finish: timed out after 1 s".
    pub fn verdict(&self) -> String {
        match (self.exit_code, &self.error) {
            (Some(0), _) => "passed".to_string(),
            (Some(code), _) => format!("failed with exit status {code}"),
            (None, Some(e)) => format!("did not finish: {e}"),
            (None, None) => "did not finish".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ReleaseCreated {
        version: String,
        release_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit_sha: Option<String>,
    },
    ItemTicked {
        item: String,
    },
    ItemUnticked {
        item: String,
    },
    ItemWaived {
        item: String,
        reason: String,
    },
    CheckStarted {
        item: String,
        argv: Vec<String>,
    },
    CheckFinished {
        item: String,
        outcome: CheckOutcome,
    },
    Approved {
        role: String,
        name: String,
    },
    ApprovalRevoked {
        role: String,
    },
    Decision {
        verdict: GoNoGo,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    TypeChanged {
        release_type: String,
        reason: String,
    },
    ComplianceSet {
        required: bool,
    },
    StagingValidated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    CommitSet {
        commit_sha: String,
    },
    /// Journaled before the action touches anything.
    ActionStarted {
        task: TaskId,
        env: String,
        action: Action,
    },
    ActionFinished {
        task: TaskId,
        #[serde(flatten)]
        outcome: ActionOutcome,
    },
    /// The gauges just before the production deploy: what degradation is measured against.
    BaselineCaptured {
        env: String,
        gauges: BTreeMap<String, f64>,
    },
    /// A soak-window checkpoint's automatic checks, with every gauge and the rollout then.
    CheckpointRecorded {
        #[serde(flatten)]
        snapshot: CheckpointSnapshot,
    },
    /// The human acknowledgment the procedure asks for at a checkpoint.
    CheckpointAcknowledged {
        at_minutes: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    TriggerFired {
        trigger: TriggerKind,
        detail: String,
    },
    /// Auto-rollback armed (or disarmed) for this release.
    AutoRollbackSet {
        armed: bool,
    },
    /// The armed auto-rollback went off (it does so at most once).
    AutoRollbackFired {
        trigger: TriggerKind,
    },
    /// The driver's lease passed to the entry's author: its holder's cockpit stopped
    /// renewing it (or gave it up) and a participant allowed to take over did.
    DriverTookOver {
        /// Who held it last, if anyone did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        reason: String,
    },
    /// The end of the release: stable, or rolled back.
    Concluded {
        #[serde(flatten)]
        verdict: SoakVerdict,
    },
}

/// One journal line: an event with who did it and when, numbered from 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// The sha256 (hex) of the previous line's bytes; for the first entry, of the release
    /// id. `None` in journals written before the chain existed (opened as unchained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    pub at: DateTime<Utc>,
    /// Who recorded it. An approval names its approver in the event; when that is not
    /// `by`, the approval was entered by `by` for them (a proxy entry).
    pub by: String,
    /// The environment whose API server said who `by` is (SelfSubjectReview). `None`: the
    /// name was claimed (`--user`, `$USER`), not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
    #[serde(flatten)]
    pub event: Event,
}
