//! The team's procedure as data: phases of checklist items, release types and the sign-offs
//! each needs, roles, and the release calendar. Loaded from config; the default ships in
//! `assets/default.toml`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Which deploy a phase's unfinished items hold back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blocks {
    /// Blocks the staging deploy, and so production too.
    Staging,
    Production,
    None,
}

impl Blocks {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staging" => Some(Self::Staging),
            "production" => Some(Self::Production),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// A phase that only applies to some releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseCondition {
    Always,
    /// Only when the release is marked as touching regulated features.
    Compliance,
}

/// A recorded decision that settles an item by itself, so the same fact is not asked twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettledBy {
    /// The go/no-go decision, when it is GO.
    GoDecision,
    /// Staging marked validated.
    StagingValidated,
}

impl SettledBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "go_decision" => Some(Self::GoDecision),
            "staging_validated" => Some(Self::StagingValidated),
            _ => None,
        }
    }

    /// What to do instead of ticking by hand.
    pub fn how(self) -> &'static str {
        match self {
            Self::GoDecision => "the go/no-go decision (d)",
            Self::StagingValidated => "marking staging validated (V)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistItem {
    pub id: String,
    pub text: String,
    /// An argv whose exit status ticks the item (0) or reports it failing (anything else).
    pub check: Option<Vec<String>>,
    pub check_timeout_secs: u64,
    pub settled_by: Option<SettledBy>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub id: String,
    pub title: String,
    /// Days before the release window the phase is due; negative for after it.
    pub due_days_before: i64,
    pub blocks: Blocks,
    pub only_when: PhaseCondition,
    pub items: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Procedure {
    pub phases: Vec<Phase>,
}

impl Procedure {
    pub fn item(&self, id: &str) -> Option<(&Phase, &ChecklistItem)> {
        self.phases
            .iter()
            .find_map(|p| p.items.iter().find(|i| i.id == id).map(|i| (p, i)))
    }

    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }
}

/// Whether a release type goes through staging before production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StagingPolicy {
    /// Production is blocked until staging is validated.
    Required,
    /// Staging may be used, but production does not wait for it.
    Optional,
    /// Straight to production.
    Skipped,
}

impl StagingPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "required" => Some(Self::Required),
            "optional" => Some(Self::Optional),
            "skipped" => Some(Self::Skipped),
            _ => None,
        }
    }
}

/// One sign-off a release needs: any one of these roles may give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequirement {
    pub any_of: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseTypeSpec {
    pub id: String,
    pub title: String,
    pub purpose: String,
    pub process: Vec<String>,
    pub approvals: Vec<ApprovalRequirement>,
    pub go_no_go: bool,
    pub staging: StagingPolicy,
    /// Phases whose items must be done (or waived) before the deploys they block.
    pub gating_phases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roles(pub BTreeMap<String, String>);

impl Roles {
    /// The display name of a role id, or the id itself.
    pub fn title<'a>(&'a self, id: &'a str) -> &'a str {
        self.0.get(id).map(String::as_str).unwrap_or(id)
    }

    /// One required approval in words: "On-Call Engineer or Team Lead".
    pub fn any_of(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|r| self.title(r))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}
