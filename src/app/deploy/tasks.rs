//! What running actions report, and what the watchers see: progress, output and the end of
//! each task (journaled), actions a restart cut off (reconciled, never sent again), and
//! cancelling the one running on screen.

use super::no_cluster;
use crate::app::record::record;
use crate::app::{App, Command, Level, RunningTask, TASK_OUTPUT_LINES};
use crate::cluster::view::ClusterView;
use crate::cluster::{ClusterMsg, ClusterUpdate, Target};
use crate::release::action::{Action, ActionOutcome, TaskId};
use crate::release::event::Event;
use crate::tasks::runner::{TaskEvent, TaskMsg};

/// How many output lines of a failed action are kept in the log.
const FAILURE_TAIL: usize = 10;

/// Actions the journal shows started and never finished: reconciled against the cluster,
/// never sent again.
pub fn resume_in_flight(app: &mut App) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
    if !app.drives() {
        // The driver's cockpit follows it; two followers would journal its end twice.
        return Vec::new();
    }
    let cut_off: Vec<_> = release
        .in_flight()
        .filter(|a| !app.tasks.contains_key(&a.task))
        .cloned()
        .collect();
    let mut commands = Vec::new();
    for a in cut_off {
        // Without the cluster there is nothing to reconcile against: the action stays in
        // flight in the journal, and keeps the environment closed to other changes.
        if a.action.mutating()
            && let Some(why) = no_cluster(app, &a.env)
        {
            app.log(
                Level::Warn,
                format!(
                    "not started: cannot reconcile #{} yet ({why}); it stays in flight",
                    a.task
                ),
            );
            continue;
        }
        app.log(
            Level::Warn,
            format!(
                "#{} {} in {} was in flight when the cockpit stopped; reconciling with the cluster",
                a.task,
                a.action.describe(),
                a.env
            ),
        );
        app.tasks.insert(
            a.task,
            RunningTask {
                env: a.env.clone(),
                action: a.action.clone(),
                started: a.started,
                progress: Some("reconciling with the cluster".into()),
                output: Default::default(),
                resumed: true,
            },
        );
        commands.push(Command::StartAction {
            task: a.task,
            env: a.env,
            action: a.action,
            resume: true,
        });
    }
    commands
}

pub fn on_task(app: &mut App, msg: TaskMsg) -> Vec<Command> {
    let TaskMsg { task, event } = msg;
    match event {
        TaskEvent::Progress(line) => {
            if let Some(t) = app.tasks.get_mut(&task)
                && t.progress.as_deref() != Some(line.as_str())
            {
                let what = t.action.name();
                t.progress = Some(line.clone());
                app.log(Level::Info, format!("#{task} {what}: {line}"));
            }
            Vec::new()
        }
        TaskEvent::Output(line) => {
            if let Some(t) = app.tasks.get_mut(&task) {
                t.output.push_back(line);
                while t.output.len() > TASK_OUTPUT_LINES {
                    t.output.pop_front();
                }
            }
            Vec::new()
        }
        TaskEvent::Done(result) => {
            let Some(t) = app.tasks.remove(&task) else {
                return Vec::new();
            };
            // The journaled ActionFinished is what the log shows (once it is on disk).
            if !result.ok {
                // The output that explains a failure (a migration's log, a smoke test's
                // assertion) arrives with its end: keep its tail in the log.
                let skip = t.output.len().saturating_sub(FAILURE_TAIL);
                for line in t.output.iter().skip(skip) {
                    app.log(Level::Warn, format!("#{task} │ {line}"));
                }
            }
            let reached_cluster = result.detail.reached_cluster();
            if !result.ok && reached_cluster && matches!(t.action, Action::Deploy { .. }) {
                app.log(
                    Level::Warn,
                    "the deploy did not roll out: U rolls back (previous revision, a chosen one, or the previous tag)",
                );
            }
            record(
                app,
                Event::ActionFinished {
                    task,
                    outcome: ActionOutcome {
                        ok: result.ok,
                        summary: result.summary,
                        detail: result.detail,
                        duration_ms: result.duration_ms,
                    },
                },
            )
        }
    }
}

pub fn on_refused(app: &mut App, task: TaskId, why: String) {
    app.tasks.remove(&task);
    app.log(Level::Warn, format!("not started: {why}"));
}

/// An environment's watchers start: its (empty) live view is there to draw.
pub fn on_watching(app: &mut App, env: &str) {
    if let Some(e) = app.config.environment(env) {
        app.views
            .insert(env.to_string(), ClusterView::new(Target::of(e)));
    }
}

pub fn on_cluster(app: &mut App, update: ClusterUpdate) {
    if let ClusterMsg::StreamDown { stream, error } = &update.msg {
        app.log(
            Level::Warn,
            format!(
                "{} watch of {} lost: {error}; reconnecting",
                stream.name(),
                update.env
            ),
        );
    }
    let view = match app.views.entry(update.env.clone()) {
        std::collections::btree_map::Entry::Occupied(v) => v.into_mut(),
        std::collections::btree_map::Entry::Vacant(slot) => {
            let Some(e) = app.config.environment(&update.env) else {
                return;
            };
            slot.insert(ClusterView::new(Target::of(e)))
        }
    };
    view.apply(&update);
}

/// Cancels the running action of the current environment (the newest, if several).
pub fn cancel_running(app: &mut App) -> Vec<Command> {
    let found = app
        .tasks
        .iter()
        .rev()
        .find(|(_, t)| t.env == app.env)
        .map(|(task, t)| (*task, t.action.describe()));
    match found {
        Some((task, what)) => {
            app.log(Level::Warn, format!("cancelling #{task} {what}"));
            vec![Command::CancelAction { task }]
        }
        None => {
            app.log(Level::Info, format!("nothing is running in {}", app.env));
            Vec::new()
        }
    }
}
