//! What the journal records about the soak window: the kinds of rollback trigger, a
//! checkpoint's snapshot and the verdict (which events carry), and the soak part of the
//! state folded from them. These are plain data, kept apart from the window's logic in
//! `soak` because that logic reads a whole `ReleaseState`, while `event` and `state` need
//! these types to say and fold what happened: apart, the dependencies run one way
//! (`soak_record` <- `event` <- `state` <- `soak`). `soak` re-exports them, so their public
//! path stays `release::soak::*`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which automatic trigger fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    ErrorRate,
    LatencyDegraded,
    /// The procedure's human triggers.
    CriticalFeatureBroken,
    DataCorruption,
    SecurityVulnerability,
}

impl TriggerKind {
    pub const MANUAL: [TriggerKind; 3] = [
        TriggerKind::CriticalFeatureBroken,
        TriggerKind::DataCorruption,
        TriggerKind::SecurityVulnerability,
    ];

    pub fn title(self) -> &'static str {
        match self {
            TriggerKind::ErrorRate => "error rate above the rollback line",
            TriggerKind::LatencyDegraded => "p95 latency degraded against the baseline",
            TriggerKind::CriticalFeatureBroken => "critical feature broken",
            TriggerKind::DataCorruption => "data corruption detected",
            TriggerKind::SecurityVulnerability => "security vulnerability introduced",
        }
    }

    pub fn is_manual(self) -> bool {
        Self::MANUAL.contains(&self)
    }
}

/// A checkpoint's outcome, as journaled at its minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointSnapshot {
    pub at_minutes: i64,
    pub passed: bool,
    /// What did not hold (a gauge over its release-window threshold, the rollout not done).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// Every gauge's value then (`None`: no data or no traffic).
    pub gauges: BTreeMap<String, Option<f64>>,
    /// kubectl's verdict on the rollout then, when a cluster is connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<String>,
}

/// What the soak window's part of the journal folds into.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SoakState {
    /// The gauges just before the production deploy.
    pub baseline: Option<(DateTime<Utc>, BTreeMap<String, f64>)>,
    pub snapshots: BTreeMap<i64, CheckpointSnapshot>,
    pub acks: BTreeMap<i64, (String, DateTime<Utc>)>,
    pub triggers: Vec<FiredTrigger>,
    /// Auto-rollback armed for this release (by whom), and whether it has fired.
    pub auto_rollback: Option<String>,
    pub auto_rollback_fired: bool,
    pub verdict: Option<SoakVerdict>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredTrigger {
    pub kind: TriggerKind,
    pub detail: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// How the release ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum SoakVerdict {
    Stable {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    RolledBack {
        method: String,
        reason: String,
    },
}
