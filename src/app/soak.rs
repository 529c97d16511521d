//! The soak window in the cockpit: the baseline taken as the production deploy starts, the
//! gauges judged against the release-window thresholds while it is open, the rollback
//! triggers (alert, rollback pre-filled, optional auto-rollback that fires once), the
//! checkpoint snapshots at their minutes, and the verdict with its releases.log line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::modal::{Confirm, ConfirmThen, Input, InputFor, Modal, Pick, PickFor, PickOption};
use super::update::{no_release, record};
use super::{App, Command, Level};
use crate::cluster::progress::RolloutStatus;
use crate::config::CheckpointCheck;
use crate::metrics::gauges::{GaugeStatus, format_value};
use crate::metrics::source::Readings;
use crate::release::action::{Action, RollbackMethod};
use crate::release::audit::{AuditApprover, AuditRecord, AuditRollback};
use crate::release::event::{Entry, Event};
use crate::release::soak::{self, CheckpointSnapshot, SoakVerdict, TriggerKind};
use crate::release::state::ReleaseState;

/// The current release's window, until it has its verdict.
fn watched_window(app: &App) -> Option<soak::Window> {
    let release = app.release.as_ref()?;
    if release.soak.verdict.is_some() {
        return None;
    }
    soak::window(release, &app.config)
}

/// The environment the window watches: where the production deploy went.
fn window_env(release: &ReleaseState, config: &crate::config::Config) -> Option<String> {
    soak::opening_deploy(release, config).map(|a| a.env.clone())
}

/// Before the production deploy starts: the gauges now are what "degraded" is measured
/// against. Taken once per release, from the environment being deployed.
pub(super) fn baseline(app: &mut App, env: &str, action: &Action) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
    let protected = app.config.environment(env).is_some_and(|e| e.protected);
    if !protected
        || !matches!(action, Action::Deploy { .. })
        || release.soak.baseline.is_some()
        || soak::window(release, &app.config).is_some()
    {
        return Vec::new();
    }
    let Some(board) = app.boards.get_mut(env) else {
        return Vec::new();
    };
    board.capture_baseline(app.now);
    let gauges: BTreeMap<String, f64> = board
        .gauges
        .values()
        .filter_map(|g| g.baseline.as_ref().map(|b| (g.name.to_string(), b.value)))
        .collect();
    vec![Command::Record(Event::BaselineCaptured {
        env: env.to_string(),
        gauges,
    })]
}

/// After a (re)start: the gauges show the journaled baseline again, and the prompt and
/// trigger clocks start afresh.
pub(super) fn restore(app: &mut App) {
    app.trigger_watch.reset();
    app.stable_prompted = false;
    let Some(release) = &app.release else {
        return;
    };
    let baseline = release.soak.baseline.clone();
    let env = window_env(release, &app.config).unwrap_or_else(|| app.env.clone());
    if let (Some(board), Some((at, values))) = (app.boards.get_mut(&env), baseline) {
        for g in board.gauges.values_mut() {
            g.baseline = values
                .get(g.name)
                .map(|v| crate::metrics::gauges::Baseline { value: *v, at });
        }
    }
}

/// One poll of the gauges: judged against the release-window thresholds while the window
/// is open, and watched by the rollback triggers.
pub(super) fn on_readings(
    app: &mut App,
    env: &str,
    at: DateTime<Utc>,
    readings: &Readings,
) -> Vec<Command> {
    let window = watched_window(app).filter(|w| w.is_open(at));
    let watched_env = app
        .release
        .as_ref()
        .and_then(|r| window_env(r, &app.config));
    let other_env = watched_env.as_deref().is_some_and(|e| e != env);
    let watching = window.is_some() && !other_env;
    if let Some(board) = app.boards.get_mut(env) {
        board.record(at, readings, watching);
    }
    if other_env {
        // Another environment's numbers say nothing of the window's: its triggers hold.
        return Vec::new();
    }
    if !watching {
        app.trigger_watch.reset();
        return Vec::new();
    }
    let baseline_p95 = app
        .release
        .as_ref()
        .and_then(|r| r.soak.baseline.as_ref())
        .and_then(|(_, g)| g.get("p95_latency_seconds").copied());
    let firings =
        app.trigger_watch
            .observe(at, readings, baseline_p95, &app.config.rollback_triggers);
    let mut commands = Vec::new();
    for f in firings {
        let already = app
            .release
            .as_ref()
            .is_some_and(|r| r.soak.triggers.iter().any(|t| t.kind == f.kind));
        if !already {
            commands.extend(record(
                app,
                Event::TriggerFired {
                    trigger: f.kind,
                    detail: f.detail,
                },
            ));
        }
    }
    commands
}

/// Every tick: the snapshots of checkpoints whose minute has come, and the verdict's prompt.
pub(super) fn on_tick(app: &mut App) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
    let due = soak::due_snapshots(release, &app.config, app.now);
    let mut commands = Vec::new();
    for at_minutes in due {
        let snapshot = snapshot(app, at_minutes);
        commands.extend(record(app, Event::CheckpointRecorded { snapshot }));
    }
    let ended = app.release.as_ref().and_then(|r| {
        let w = soak::window(r, &app.config)?;
        (r.soak.verdict.is_none() && app.now >= w.end).then_some(w)
    });
    if ended.is_some() && !app.stable_prompted {
        app.stable_prompted = true;
        app.log(
            Level::Warn,
            "the soak window is over: Y declares the release stable (with a reason if it had breaches)",
        );
    }
    commands
}

/// The automatic checks the checkpoint's config lists (every gauge within its release-window
/// threshold, the last health check passing, the rollout complete), and the deploy that
/// opened the window not having failed. All of the window's environment, whichever one is
/// on screen; every gauge's value is recorded whatever is checked.
fn snapshot(app: &App, at_minutes: i64) -> CheckpointSnapshot {
    let checks: Vec<CheckpointCheck> = app
        .config
        .checkpoints
        .iter()
        .find(|c| c.at_minutes == at_minutes)
        .map_or_else(|| CheckpointCheck::DEFAULT.to_vec(), |c| c.checks.clone());
    let mut failures = Vec::new();
    let mut gauges = BTreeMap::new();
    let env = app
        .release
        .as_ref()
        .and_then(|r| window_env(r, &app.config))
        .unwrap_or_else(|| app.env.clone());
    let view = app.views.get(&env);
    if let Some(board) = app.boards.get(&env) {
        for g in board.gauges.values() {
            gauges.insert(g.name.to_string(), g.value);
            if checks.contains(&CheckpointCheck::Gauges)
                && g.status == GaugeStatus::Breach
                && let (Some(v), Some(t)) = (g.value, g.threshold)
            {
                failures.push(format!(
                    "{} {} past {}",
                    g.name,
                    format_value(g.unit, v),
                    format_value(g.unit, t)
                ));
            }
        }
    }
    let rollout = view
        .and_then(|v| v.progress())
        .map(|p| p.message().to_string());
    let done = view
        .and_then(|v| v.progress())
        .is_some_and(|p| matches!(p, RolloutStatus::Done(_)));
    if checks.contains(&CheckpointCheck::Rollout) && view.is_some() && !done {
        failures.push(format!(
            "rollout not complete ({})",
            rollout.as_deref().unwrap_or("no rollout status")
        ));
    }
    // The deploy that opened the window must itself have succeeded.
    if let Some(release) = &app.release
        && let Some(deploy) = soak::opening_deploy(release, &app.config)
        && let Some((_, outcome)) = deploy.finished.as_ref().filter(|(_, o)| !o.ok)
    {
        failures.push(format!("the production deploy failed: {}", outcome.summary));
    }
    if checks.contains(&CheckpointCheck::Health)
        && let Some(release) = &app.release
        && let Some(last) = release
            .actions
            .iter()
            .rev()
            .find(|a| a.env == env && matches!(a.action, Action::Health { .. }))
        && last.finished.as_ref().is_some_and(|(_, o)| !o.ok)
    {
        failures.push("the last health check failed".into());
    }
    CheckpointSnapshot {
        at_minutes,
        passed: failures.is_empty(),
        failures,
        gauges,
        rollout,
    }
}

/// What follows a journaled event: the alert and auto-rollback after a trigger, the
/// conclusion after a rollback in the window, releases.log after the conclusion.
pub(super) fn after_recorded(app: &mut App, entry: &Entry) -> Vec<Command> {
    match &entry.event {
        Event::TriggerFired { trigger, detail } => on_trigger(app, *trigger, detail),
        Event::ActionFinished { task, .. }
            if app.queued.as_ref().is_some_and(|q| q.after == *task) =>
        {
            super::operations::start_queued(app, *task)
        }
        Event::ActionFinished { task, outcome } if outcome.ok => {
            let Some(release) = &app.release else {
                return Vec::new();
            };
            let Some(a) = release.action(*task) else {
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
        Event::Concluded { .. } => match app.release.as_ref() {
            Some(r) => vec![Command::AppendAudit(audit_record(r, &app.config, entry.at))],
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn on_trigger(app: &mut App, trigger: TriggerKind, detail: &str) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
    let Some(env) = window_env(release, &app.config) else {
        return Vec::new();
    };
    let reason = format!("{}: {detail}", trigger.title());
    let action = Action::Rollback {
        method: RollbackMethod::Previous,
        reason: reason.clone(),
    };
    let armed = release.soak.auto_rollback.is_some() && !release.soak.auto_rollback_fired;
    if armed && !trigger.is_manual() {
        app.log(Level::Error, format!("AUTO-ROLLBACK of {env}: {reason}"));
        let mut commands = record(app, Event::AutoRollbackFired { trigger });
        app.modal = None;
        commands.extend(super::operations::start(app, env, action));
        return commands;
    }
    app.modal = Some(Modal::Confirm(Confirm::new(
        format!("ROLLBACK TRIGGER: {}", trigger.title()),
        vec![
            detail.to_string(),
            format!("Roll {env} back to the previous revision now?"),
            "y rolls back (journaled with this reason) · n keeps watching".into(),
        ],
        ConfirmThen::Start { env, action },
    )));
    Vec::new()
}

/// `T`: the procedure's human triggers, with a reason.
pub(super) fn manual_trigger_menu(app: &mut App) {
    if app.release.is_none() {
        no_release(app);
        return;
    }
    if watched_window(app).is_none() {
        app.log(
            Level::Warn,
            "rollback triggers watch the soak window, which opens with the production deploy",
        );
        return;
    }
    let options = TriggerKind::MANUAL
        .iter()
        .map(|k| PickOption {
            id: format!("{k:?}"),
            label: k.title().to_string(),
            disabled: None,
        })
        .collect();
    app.modal = Some(Modal::Pick(Pick::new(
        "Manual rollback trigger",
        options,
        PickFor::ManualTrigger,
    )));
}

pub(super) fn manual_trigger_chosen(app: &mut App, id: &str) {
    let Some(kind) = TriggerKind::MANUAL
        .into_iter()
        .find(|k| format!("{k:?}") == id)
    else {
        app.modal = None;
        return;
    };
    app.modal = Some(Modal::Input(Input::new(
        kind.title().to_string(),
        "What is broken? (journaled; the rollback is offered next)",
        InputFor::TriggerReason { kind },
    )));
}

/// `A`: arms or disarms auto-rollback for this release.
pub(super) fn toggle_auto_rollback(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    let armed = release.soak.auto_rollback.is_none();
    let body = if armed {
        vec![
            "When an automatic trigger fires in the soak window, roll back at once".into(),
            "(undo to the previous revision), without asking. At most once; never on".into(),
            "missing data.".into(),
        ]
    } else {
        vec!["Triggers will ask before rolling back.".into()]
    };
    app.modal = Some(Modal::Confirm(Confirm::new(
        if armed {
            "Arm auto-rollback?"
        } else {
            "Disarm auto-rollback?"
        },
        body,
        ConfirmThen::Record(Event::AutoRollbackSet { armed }),
    )));
}

/// `K`: acknowledges the latest checkpoint whose minute has come.
pub(super) fn acknowledge(app: &mut App) -> Vec<Command> {
    let Some(release) = &app.release else {
        no_release(app);
        return Vec::new();
    };
    let Some(w) = soak::window(release, &app.config) else {
        app.log(
            Level::Warn,
            "no soak window yet: it opens with the production deploy",
        );
        return Vec::new();
    };
    let due = soak::checkpoints(release, &app.config)
        .into_iter()
        .rev()
        .find(|c| c.due(&w, app.now) && c.acknowledged.is_none());
    match due {
        Some(c) => record(
            app,
            Event::CheckpointAcknowledged {
                at_minutes: c.at_minutes,
                note: None,
            },
        ),
        None => {
            app.log(Level::Info, "no checkpoint waits for an acknowledgment");
            Vec::new()
        }
    }
}

/// `Y`: the verdict at the end of the window.
pub(super) fn declare_stable(app: &mut App) {
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
            ConfirmThen::Record(Event::Concluded {
                verdict: SoakVerdict::Stable { reason: None },
            }),
        )));
    } else {
        app.modal = Some(Modal::Input(Input::new(
            "Declare stable despite breaches",
            format!("The window had: {}\nWhy is it stable?", breaches.join("; ")),
            InputFor::StableReason,
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
            })
            .collect(),
        rollback,
    }
}
