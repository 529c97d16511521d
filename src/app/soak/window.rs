//! The soak window as it runs: the gauges judged against the release-window thresholds
//! while it is open, the rollback triggers (an alert with the rollback pre-filled, or the
//! armed auto-rollback, once), and the checkpoint snapshots at their minutes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::app::deploy::{self, DeployAnswer};
use crate::app::dialog::Confirm;
use crate::app::record::record;
use crate::app::{App, Command, Level, Modal};
use crate::cluster::progress::RolloutStatus;
use crate::config::CheckpointCheck;
use crate::metrics::gauges::{GaugeStatus, format_value};
use crate::metrics::source::Readings;
use crate::release::action::{Action, RollbackMethod};
use crate::release::event::Event;
use crate::release::soak::{self, CheckpointSnapshot, TriggerKind};
use crate::release::state::ReleaseState;

/// The current release's window, until it has its verdict.
pub fn watched_window(app: &App) -> Option<soak::Window> {
    let release = app.release.as_ref()?;
    if release.soak.verdict.is_some() {
        return None;
    }
    soak::window(release, &app.config)
}

/// The environment the window watches: where the production deploy went.
pub fn window_env(release: &ReleaseState, config: &crate::config::Config) -> Option<String> {
    soak::opening_deploy(release, config).map(|a| a.env.clone())
}

/// After a (re)start: the gauges show the journaled baseline again, and the prompt and
/// trigger clocks start afresh.
pub fn restore(app: &mut App) {
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
pub fn on_readings(
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
    if !app.drives() {
        // The driver's cockpit journals the triggers; this one shows them as they come.
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
pub fn on_tick(app: &mut App) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
    // Only the driver's cockpit takes the checkpoints' snapshots: each is journaled once.
    let due = if app.drives() {
        soak::due_snapshots(release, &app.config, app.now)
    } else {
        Vec::new()
    };
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

pub fn on_trigger(app: &mut App, trigger: TriggerKind, detail: &str) -> Vec<Command> {
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
        commands.extend(deploy::start(app, env, action));
        return commands;
    }
    app.modal = Some(Modal::Confirm(Confirm::new(
        format!("ROLLBACK TRIGGER: {}", trigger.title()),
        vec![
            detail.to_string(),
            format!("Roll {env} back to the previous revision now?"),
            "y rolls back (journaled with this reason) · n keeps watching".into(),
        ],
        DeployAnswer::Start { env, action },
    )));
    Vec::new()
}
