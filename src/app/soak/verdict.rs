//! The end of the soak window: stable (with a reason if it had breaches), or rolled back
//! in it, and the releases.log line of the concluded release.

use chrono::{DateTime, Utc};

use super::SoakAnswer;
use super::window::window_env;
use crate::app::dialog::{Confirm, Input};
use crate::app::record::{no_release, record};
use crate::app::{Answer, App, Command, Level, Modal};
use crate::release::action::Action;
use crate::release::audit::{AuditApprover, AuditRecord, AuditRollback};
use crate::release::event::{Entry, Event};
use crate::release::soak::{self, SoakVerdict};
use crate::release::state::ReleaseState;

/// A rollback that succeeded in the window's environment concludes the release.
pub fn after_rollback(app: &mut App, task: crate::release::action::TaskId) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
    let Some(a) = release.action(task) else {
        return Vec::new();
    };
    let Action::Rollback { method, reason } = &a.action else {
        return Vec::new();
    };
    let in_window_env = window_env(release, &app.config).is_some_and(|e| e == a.env);
    if !in_window_env || release.soak.verdict.is_some() {
        return Vec::new();
    }
    let verdict = SoakVerdict::RolledBack {
        method: method.describe(),
        reason: reason.clone(),
    };
    record(app, Event::Concluded { verdict })
}

/// The concluded release's line goes to releases.log.
pub fn after_conclusion(app: &App, entry: &Entry) -> Vec<Command> {
    match app.release.as_ref() {
        Some(r) => vec![Command::AppendAudit(audit_record(r, &app.config, entry.at))],
        None => Vec::new(),
    }
}

/// `Y`: the verdict at the end of the window.
pub fn declare_stable(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    let Some(w) = soak::window(release, &app.config) else {
        app.log(
            Level::Warn,
            "nothing to declare stable: production was not deployed",
        );
        return;
    };
    if app.now < w.end {
        let left = crate::release::schedule::human_duration(w.end - app.now);
        app.log(
            Level::Warn,
            format!("the soak window runs {left} more; stable is declared at its end"),
        );
        return;
    }
    let breaches = soak::breaches(release, &app.config);
    if breaches.is_empty() {
        app.modal = Some(Modal::Confirm(Confirm::new(
            "Declare the release stable?",
            vec![
                format!(
                    "Release {}: the soak window passed with no breach.",
                    release.version
                ),
                "This ends the release and writes its releases.log line.".into(),
            ],
            Answer::Record(Event::Concluded {
                verdict: SoakVerdict::Stable { reason: None },
            }),
        )));
    } else {
        app.modal = Some(Modal::Input(Input::new(
            "Declare stable despite breaches",
            format!("The window had: {}\nWhy is it stable?", breaches.join("; ")),
            SoakAnswer::StableReason,
        )));
    }
}

/// releases.log's line for a concluded release.
pub fn audit_record(
    release: &ReleaseState,
    config: &crate::config::Config,
    at: DateTime<Utc>,
) -> AuditRecord {
    let deploy = soak::opening_deploy(release, config);
    let (outcome, rollback) = match &release.soak.verdict {
        Some(SoakVerdict::RolledBack { method, reason }) => (
            "rolled_back",
            Some(AuditRollback {
                method: method.clone(),
                reason: reason.clone(),
            }),
        ),
        Some(SoakVerdict::Stable { .. }) => ("stable", None),
        None => ("abandoned", None),
    };
    AuditRecord {
        version: release.version.clone(),
        release_type: release.release_type.clone(),
        environment: deploy.map(|d| d.env.clone()).unwrap_or_default(),
        commit_sha: release.commit_sha.clone(),
        image: deploy.and_then(|d| match &d.action {
            Action::Deploy { image, .. } => Some(image.clone()),
            _ => None,
        }),
        deploy_started_at: deploy.map(|d| d.started),
        rollout_finished_at: deploy
            .and_then(|d| d.finished.as_ref())
            .filter(|(_, o)| o.ok)
            .map(|(at, _)| *at),
        finished_at: at,
        outcome: outcome.into(),
        approvers: release
            .approvals
            .iter()
            .map(|(role, a)| AuditApprover {
                role: role.clone(),
                name: a.name.clone(),
                at: a.at,
                entered_by: a.proxy().map(str::to_string),
                verified: a.verified,
            })
            .collect(),
        rollback,
        // The runtime, which holds the journal, pins its head as it writes the line.
        journal_head: None,
    }
}
