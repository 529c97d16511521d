//! A release's state, folded from its journal. `apply` is total: whatever the journal says
//! happened, happened; refusing bad requests is `rules`' job, before anything is written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::action::{ActionRecord, TaskId};
use super::event::{CheckOutcome, Entry, Event, GoNoGo};
use super::soak_record::{FiredTrigger, SoakState};

/// Who did something, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signed {
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemStatus {
    Open,
    Done {
        #[serde(flatten)]
        signed: Signed,
        /// Ticked by a passing check rather than by hand.
        by_check: bool,
    },
    Waived {
        #[serde(flatten)]
        signed: Signed,
        reason: String,
    },
}

impl ItemStatus {
    /// Done or waived: nothing left to do for the gates.
    pub fn is_settled(&self) -> bool {
        !matches!(self, ItemStatus::Open)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRecord {
    pub at: DateTime<Utc>,
    pub outcome: CheckOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemState {
    #[serde(flatten)]
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_check: Option<CheckRecord>,
    /// A check was started and has not finished; after a restart this means it was cut off.
    pub check_running: bool,
}

impl Default for ItemState {
    fn default() -> Self {
        Self {
            status: ItemStatus::Open,
            last_check: None,
            check_running: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub name: String,
    pub at: DateTime<Utc>,
    /// The operator who entered it, when the approver was not at the keyboard.
    pub recorded_by: String,
    /// Whether a cluster vouched for `recorded_by` (see `Entry::verified_by`).
    pub verified: bool,
}

impl Approval {
    /// Who entered it for the approver, when that was someone else.
    pub fn proxy(&self) -> Option<&str> {
        (!crate::release::people::same_person(&self.recorded_by, &self.name))
            .then_some(self.recorded_by.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub verdict: GoNoGo,
    pub reason: Option<String>,
    #[serde(flatten)]
    pub signed: Signed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseState {
    pub version: String,
    pub release_type: String,
    pub commit_sha: Option<String>,
    pub created: Signed,
    pub items: BTreeMap<String, ItemState>,
    /// By role id.
    pub approvals: BTreeMap<String, Approval>,
    pub decision: Option<Decision>,
    pub compliance: bool,
    pub staging_validated: Option<Signed>,
    pub events: u64,
    pub last_event_at: DateTime<Utc>,
    /// Deploys, rollbacks, migrations and probes, oldest first.
    pub actions: Vec<ActionRecord>,
    /// The soak window after the production deploy.
    pub soak: SoakState,
    /// Who took over driving, and when, oldest first (a shared release's handovers).
    pub drivers: Vec<Signed>,
}

impl ReleaseState {
    /// Folds a whole journal. `None` when it does not start with `ReleaseCreated`.
    pub fn from_entries(entries: &[Entry]) -> Option<Self> {
        let (first, rest) = entries.split_first()?;
        let Event::ReleaseCreated {
            version,
            release_type,
            commit_sha,
        } = &first.event
        else {
            return None;
        };
        let mut state = ReleaseState {
            version: version.clone(),
            release_type: release_type.clone(),
            commit_sha: commit_sha.clone(),
            created: Signed {
                by: first.by.clone(),
                at: first.at,
            },
            items: BTreeMap::new(),
            approvals: BTreeMap::new(),
            decision: None,
            compliance: false,
            staging_validated: None,
            events: 1,
            last_event_at: first.at,
            actions: Vec::new(),
            soak: SoakState::default(),
            drivers: Vec::new(),
        };
        for e in rest {
            state.apply(e);
        }
        Some(state)
    }

    /// Actions journaled as started and never finished: after a restart, cut off mid-way.
    pub fn in_flight(&self) -> impl Iterator<Item = &ActionRecord> {
        self.actions.iter().filter(|a| a.finished.is_none())
    }

    /// The task number the next action gets (unique within the release).
    pub fn next_task(&self) -> TaskId {
        self.actions
            .iter()
            .map(|a| a.task)
            .max()
            .unwrap_or_default()
            .next()
    }

    pub fn action(&self, task: TaskId) -> Option<&ActionRecord> {
        self.actions.iter().find(|a| a.task == task)
    }

    pub fn item(&self, id: &str) -> ItemState {
        self.items.get(id).cloned().unwrap_or_default()
    }

    pub fn apply(&mut self, entry: &Entry) {
        let signed = Signed {
            by: entry.by.clone(),
            at: entry.at,
        };
        self.events = entry.seq;
        self.last_event_at = entry.at;
        match &entry.event {
            // A second creation line would be a bug elsewhere; the first one stands.
            Event::ReleaseCreated { .. } => {}
            Event::ItemTicked { item } => {
                self.items.entry(item.clone()).or_default().status = ItemStatus::Done {
                    signed,
                    by_check: false,
                };
            }
            Event::ItemUnticked { item } => {
                self.items.entry(item.clone()).or_default().status = ItemStatus::Open;
            }
            Event::ItemWaived { item, reason } => {
                self.items.entry(item.clone()).or_default().status = ItemStatus::Waived {
                    signed,
                    reason: reason.clone(),
                };
            }
            Event::CheckStarted { item, .. } => {
                self.items.entry(item.clone()).or_default().check_running = true;
            }
            Event::CheckFinished { item, outcome } => {
                let state = self.items.entry(item.clone()).or_default();
                state.check_running = false;
                if outcome.passed() {
                    state.status = ItemStatus::Done {
                        signed: signed.clone(),
                        by_check: true,
                    };
                } else if matches!(state.status, ItemStatus::Done { by_check: true, .. }) {
                    // The evidence that ticked it no longer holds.
                    state.status = ItemStatus::Open;
                }
                state.last_check = Some(CheckRecord {
                    at: entry.at,
                    outcome: outcome.clone(),
                });
            }
            Event::Approved { role, name } => {
                self.approvals.insert(
                    role.clone(),
                    Approval {
                        name: name.clone(),
                        at: entry.at,
                        recorded_by: entry.by.clone(),
                        verified: entry.verified_by.is_some(),
                    },
                );
            }
            Event::ApprovalRevoked { role } => {
                self.approvals.remove(role);
            }
            Event::Decision { verdict, reason } => {
                self.decision = Some(Decision {
                    verdict: *verdict,
                    reason: reason.clone(),
                    signed,
                });
            }
            Event::TypeChanged { release_type, .. } => {
                self.release_type = release_type.clone();
                // A go given for another kind of release does not carry over.
                self.decision = None;
            }
            Event::ComplianceSet { required } => self.compliance = *required,
            Event::StagingValidated { .. } => self.staging_validated = Some(signed),
            Event::CommitSet { commit_sha } => self.commit_sha = Some(commit_sha.clone()),
            Event::ActionStarted { task, env, action } => self.actions.push(ActionRecord {
                task: *task,
                env: env.clone(),
                action: action.clone(),
                by: entry.by.clone(),
                started: entry.at,
                finished: None,
            }),
            Event::ActionFinished { task, outcome } => {
                if let Some(a) = self.actions.iter_mut().rev().find(|a| a.task == *task) {
                    a.finished = Some((entry.at, outcome.clone()));
                }
            }
            Event::BaselineCaptured { gauges, .. } => {
                self.soak.baseline = Some((entry.at, gauges.clone()));
            }
            Event::CheckpointRecorded { snapshot } => {
                self.soak
                    .snapshots
                    .insert(snapshot.at_minutes, snapshot.clone());
            }
            Event::CheckpointAcknowledged { at_minutes, .. } => {
                self.soak
                    .acks
                    .insert(*at_minutes, (entry.by.clone(), entry.at));
            }
            Event::TriggerFired { trigger, detail } => self.soak.triggers.push(FiredTrigger {
                kind: *trigger,
                detail: detail.clone(),
                by: entry.by.clone(),
                at: entry.at,
            }),
            Event::AutoRollbackFired { .. } => self.soak.auto_rollback_fired = true,
            Event::AutoRollbackSet { armed } => {
                self.soak.auto_rollback = armed.then(|| entry.by.clone());
            }
            Event::Concluded { verdict } => self.soak.verdict = Some(verdict.clone()),
            Event::DriverTookOver { .. } => self.drivers.push(Signed {
                by: entry.by.clone(),
                at: entry.at,
            }),
        }
    }
}
