//! The log line for each journaled event.

use super::{App, Level};
use crate::release::event::{Entry, Event, GoNoGo};
use crate::release::people::same_person;
use crate::release::soak::SoakVerdict;

pub(super) fn event_name(event: &Event) -> &'static str {
    match event {
        Event::ReleaseCreated { .. } => "release creation",
        Event::ItemTicked { .. } => "tick",
        Event::ItemUnticked { .. } => "untick",
        Event::ItemWaived { .. } => "waiver",
        Event::CheckStarted { .. } => "check start",
        Event::CheckFinished { .. } => "check result",
        Event::Approved { .. } => "approval",
        Event::ApprovalRevoked { .. } => "approval revocation",
        Event::Decision { .. } => "go/no-go decision",
        Event::TypeChanged { .. } => "type change",
        Event::ComplianceSet { .. } => "compliance switch",
        Event::StagingValidated { .. } => "staging validation",
        Event::CommitSet { .. } => "commit SHA",
        Event::ActionStarted { .. } => "action start",
        Event::ActionFinished { .. } => "action result",
        Event::BaselineCaptured { .. } => "baseline",
        Event::CheckpointRecorded { .. } => "checkpoint snapshot",
        Event::CheckpointAcknowledged { .. } => "checkpoint acknowledgment",
        Event::TriggerFired { .. } => "rollback trigger",
        Event::AutoRollbackSet { .. } => "auto-rollback switch",
        Event::AutoRollbackFired { .. } => "auto-rollback",
        Event::DriverTookOver { .. } => "driver change",
        Event::Concluded { .. } => "release verdict",
    }
}

/// How loudly the log shows a journaled event: failures and triggers stand out.
pub(super) fn level_of(event: &Event) -> Level {
    match event {
        Event::ActionFinished { outcome, .. } if !outcome.ok => Level::Error,
        Event::CheckpointRecorded { snapshot } if !snapshot.passed => Level::Warn,
        Event::TriggerFired { .. } | Event::AutoRollbackFired { .. } => Level::Error,
        Event::DriverTookOver { .. } => Level::Warn,
        _ => Level::Info,
    }
}

/// The log line for a journaled event.
pub(super) fn describe(app: &App, entry: &Entry) -> String {
    // A name no cluster vouched for says so wherever it is shown.
    let by = &if entry.verified_by.is_some() {
        entry.by.clone()
    } else {
        format!("{} (unverified)", entry.by)
    };
    match &entry.event {
        Event::ReleaseCreated {
            version,
            release_type,
            ..
        } => format!("{by} created release {version} ({release_type})"),
        Event::ItemTicked { item } => format!("{by} ticked {item}"),
        Event::ItemUnticked { item } => format!("{by} unticked {item}"),
        Event::ItemWaived { item, reason } => format!("{by} waived {item}: {reason}"),
        Event::CheckStarted { item, argv } => {
            format!("{by} started check {item}: {}", argv.join(" "))
        }
        Event::CheckFinished { item, outcome } => format!(
            "check {item} recorded ({})",
            if outcome.passed() {
                "ticked"
            } else {
                "not ticked"
            }
        ),
        Event::Approved { role, name } if same_person(name, &entry.by) => {
            format!("{by} approved as {}", app.config.roles.title(role))
        }
        Event::Approved { role, name } => format!(
            "{name} approved as {} (entered by {by})",
            app.config.roles.title(role)
        ),
        Event::ApprovalRevoked { role } => {
            format!("{by} revoked the {} approval", app.config.roles.title(role))
        }
        Event::Decision {
            verdict: GoNoGo::Go,
            ..
        } => format!("{by} decided GO"),
        Event::Decision {
            verdict: GoNoGo::NoGo,
            reason,
        } => format!("{by} decided NO-GO: {}", reason.as_deref().unwrap_or("")),
        Event::TypeChanged {
            release_type,
            reason,
        } => format!("{by} changed the type to {release_type}: {reason}"),
        Event::ComplianceSet { required } => format!(
            "{by} switched compliance {}",
            if *required { "on" } else { "off" }
        ),
        Event::StagingValidated { .. } => format!("{by} marked staging validated"),
        Event::CommitSet { commit_sha } => format!("{by} set the commit to {commit_sha}"),
        Event::ActionStarted { task, env, action } => {
            format!("{by} started #{task} {} in {env}", action.describe())
        }
        Event::ActionFinished { task, outcome } => {
            let what = app
                .release
                .as_ref()
                .and_then(|r| r.action(*task))
                .map(|a| format!("{} in {}", a.action.describe(), a.env))
                .unwrap_or_else(|| "action".into());
            let verdict = if outcome.ok { "done" } else { "FAILED" };
            format!("#{task} {what} {verdict}: {}", outcome.summary)
        }
        Event::BaselineCaptured { env, gauges } => {
            format!("baseline of {env} captured ({} gauges)", gauges.len())
        }
        Event::CheckpointRecorded { snapshot } => {
            if snapshot.passed {
                format!("T+{} checkpoint passed", snapshot.at_minutes)
            } else {
                format!(
                    "T+{} checkpoint FAILED: {}",
                    snapshot.at_minutes,
                    snapshot.failures.join(", ")
                )
            }
        }
        Event::CheckpointAcknowledged { at_minutes, note } => match note {
            Some(n) => format!("{by} acknowledged T+{at_minutes}: {n}"),
            None => format!("{by} acknowledged T+{at_minutes}"),
        },
        Event::TriggerFired { trigger, detail } => {
            format!("ROLLBACK TRIGGER: {} ({detail})", trigger.title())
        }
        Event::AutoRollbackFired { trigger } => {
            format!("AUTO-ROLLBACK fired on: {}", trigger.title())
        }
        Event::DriverTookOver { from, reason } => match from {
            Some(from) => format!("{by} took over driving from {from}: {reason}"),
            None => format!("{by} took over driving: {reason}"),
        },
        Event::AutoRollbackSet { armed } => format!(
            "{by} {} auto-rollback",
            if *armed { "armed" } else { "disarmed" }
        ),
        Event::Concluded { verdict } => match verdict {
            SoakVerdict::Stable { reason: None } => format!("{by} declared the release stable"),
            SoakVerdict::Stable { reason: Some(r) } => {
                format!("{by} declared the release stable despite its breaches: {r}")
            }
            SoakVerdict::RolledBack { method, reason } => {
                format!("release ended rolled back ({method}): {reason}")
            }
        },
    }
}
