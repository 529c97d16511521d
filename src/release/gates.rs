//! What still stands between the release and each deploy, computed from state alone.

use serde::Serialize;

use super::event::GoNoGo;
use super::procedure::{Blocks, ChecklistItem, PhaseCondition, SettledBy, StagingPolicy};
use super::state::ReleaseState;
use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Blocker {
    OpenItems {
        phase: String,
        items: Vec<String>,
    },
    MissingApproval {
        any_of: Vec<String>,
    },
    NoDecision,
    NoGo {
        reason: Option<String>,
    },
    StagingNotValidated,
    /// The release's type is no longer in the config.
    UnknownType {
        release_type: String,
    },
}

impl Blocker {
    /// One line for the gate panel.
    pub fn describe(&self, config: &Config) -> String {
        match self {
            Blocker::OpenItems { phase, items } => {
                let title = config
                    .procedure
                    .phase(phase)
                    .map(|p| p.title.as_str())
                    .unwrap_or(phase);
                let n = items.len();
                format!("{n} open item{} in {title}", if n == 1 { "" } else { "s" })
            }
            Blocker::MissingApproval { any_of } => {
                format!("approval missing: {}", config.roles.any_of(any_of))
            }
            Blocker::NoDecision => "no go/no-go decision".to_string(),
            Blocker::NoGo { reason } => match reason {
                Some(r) => format!("decision is NO-GO: {r}"),
                None => "decision is NO-GO".to_string(),
            },
            Blocker::StagingNotValidated => "staging not validated".to_string(),
            Blocker::UnknownType { release_type } => {
                format!("release type {release_type:?} is not in the config; change the type (t)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    Open,
    Blocked,
    /// The release type does not use this environment (an emergency skips staging).
    NotUsed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    pub target: &'static str,
    pub status: GateStatus,
    pub blockers: Vec<Blocker>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gates {
    pub staging: Gate,
    pub production: Gate,
}

fn gate(target: &'static str, blockers: Vec<Blocker>) -> Gate {
    let status = if blockers.is_empty() {
        GateStatus::Open
    } else {
        GateStatus::Blocked
    };
    Gate {
        target,
        status,
        blockers,
    }
}

/// Whether a phase's items are asked of this release at all.
pub fn phase_applies(release: &ReleaseState, condition: PhaseCondition) -> bool {
    match condition {
        PhaseCondition::Always => true,
        PhaseCondition::Compliance => release.compliance,
    }
}

/// Done or waived, or settled by the decision it stands for.
pub fn item_settled(release: &ReleaseState, item: &ChecklistItem) -> bool {
    release.item(&item.id).status.is_settled() || settled_by_link(release, item).is_some()
}

/// Who settled a linked item, and how, when its linked decision is recorded.
pub fn settled_by_link(release: &ReleaseState, item: &ChecklistItem) -> Option<String> {
    match item.settled_by? {
        SettledBy::GoDecision => release
            .decision
            .as_ref()
            .filter(|d| d.verdict == GoNoGo::Go)
            .map(|d| format!("GO by {}", d.signed.by)),
        SettledBy::StagingValidated => release
            .staging_validated
            .as_ref()
            .map(|s| format!("validated by {}", s.by)),
    }
}

/// Role requirements of the release's type that no approval satisfies yet.
pub fn missing_approvals(release: &ReleaseState, config: &Config) -> Vec<Vec<String>> {
    let Some(spec) = config.release_type(&release.release_type) else {
        return Vec::new();
    };
    spec.approvals
        .iter()
        .filter(|req| !req.any_of.iter().any(|r| release.approvals.contains_key(r)))
        .map(|req| req.any_of.clone())
        .collect()
}

pub fn evaluate(release: &ReleaseState, config: &Config) -> Gates {
    let Some(spec) = config.release_type(&release.release_type) else {
        // The config changed since the release was made: nothing can be said to be clear.
        let unknown = vec![Blocker::UnknownType {
            release_type: release.release_type.clone(),
        }];
        return Gates {
            staging: gate("staging", unknown.clone()),
            production: gate("production", unknown),
        };
    };
    let mut staging = Vec::new();
    let mut production = Vec::new();
    for phase in &config.procedure.phases {
        if phase.blocks == Blocks::None
            || !spec.gating_phases.contains(&phase.id)
            || !phase_applies(release, phase.only_when)
        {
            continue;
        }
        let open: Vec<String> = phase
            .items
            .iter()
            .filter(|i| !item_settled(release, i))
            .map(|i| i.id.clone())
            .collect();
        if open.is_empty() {
            continue;
        }
        let blocker = Blocker::OpenItems {
            phase: phase.id.clone(),
            items: open,
        };
        if phase.blocks == Blocks::Staging {
            staging.push(blocker.clone());
        }
        production.push(blocker);
    }
    for any_of in missing_approvals(release, config) {
        production.push(Blocker::MissingApproval { any_of });
    }
    if spec.go_no_go {
        match &release.decision {
            None => production.push(Blocker::NoDecision),
            Some(d) if d.verdict == GoNoGo::NoGo => production.push(Blocker::NoGo {
                reason: d.reason.clone(),
            }),
            Some(_) => {}
        }
    }
    if spec.staging == StagingPolicy::Required && release.staging_validated.is_none() {
        production.push(Blocker::StagingNotValidated);
    }
    let staging_gate = if spec.staging == StagingPolicy::Skipped {
        Gate {
            target: "staging",
            status: GateStatus::NotUsed,
            blockers: Vec::new(),
        }
    } else {
        gate("staging", staging)
    };
    Gates {
        staging: staging_gate,
        production: gate("production", production),
    }
}
