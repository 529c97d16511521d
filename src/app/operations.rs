//! Deploys, rollbacks, migrations and probes: asking for one (checked against the rules and
//! the one-change-per-environment guard before any dialog opens), confirming it (typed for a
//! protected environment), and folding in what the running task and the watchers report.

use super::modal::{Confirm, ConfirmThen, Input, InputFor, Modal};
use super::update::{no_release, record};
use super::{App, Command, Level, QueuedAction, RunningTask, TASK_OUTPUT_LINES};
use crate::cluster::ClusterUpdate;
use crate::cluster::view::ClusterView;
use crate::cluster::{ClusterMsg, Target};
use crate::release::action::{Action, ActionOutcome, MigrationDirection, TaskId};
use crate::release::event::Event;
use crate::release::rules;
use crate::release::runbook::{self, StepKind, StepState};
use crate::tasks::runner::{TaskEvent, TaskMsg};

/// How many output lines of a failed action are kept in the log.
const FAILURE_TAIL: usize = 10;

/// The task number a new action gets: past every journaled and every running one.
fn next_task(app: &App) -> TaskId {
    let journaled = app.release.as_ref().map_or(TaskId(1), |r| r.next_task());
    let running = app.tasks.keys().max().map_or(TaskId(1), |t| t.next());
    journaled.max(running)
}

/// Why `action` may not start in `env` now, if it may not. One change to an environment
/// at a time is the release's rule (`rules::check`, from the journal's actions in flight).
fn refusal(app: &App, env: &str, task: TaskId, action: &Action) -> Option<String> {
    let Some(release) = &app.release else {
        return Some("no release is open: press n to create one".into());
    };
    let touches_cluster = matches!(
        action,
        Action::Deploy { .. } | Action::Rollback { .. } | Action::Migrate { .. }
    );
    if touches_cluster && let Some(why) = no_cluster(app, env) {
        return Some(format!("refused: {why}"));
    }
    let event = Event::ActionStarted {
        task,
        env: env.to_string(),
        action: action.clone(),
    };
    rules::check(release, &app.config, &event)
        .err()
        .map(|why| format!("refused: {why}"))
}

/// Why `env` has no cluster to act on, if it has none.
fn no_cluster(app: &App, env: &str) -> Option<String> {
    if app.cluster.is_none() {
        return Some(format!("no cluster is connected for {env}"));
    }
    app.unreachable
        .get(env)
        .map(|why| format!("the cluster of {env} cannot be reached: {why}"))
}

/// Asks to run `action` in `env`: refused at once with the reason, or a confirmation opens.
pub(super) fn request(app: &mut App, env: &str, action: Action) -> Vec<Command> {
    let task = next_task(app);
    if let Some(why) = refusal(app, env, task, &action) {
        app.log(Level::Warn, why);
        return Vec::new();
    }
    let version = app
        .release
        .as_ref()
        .map(|r| r.version.clone())
        .unwrap_or_default();
    let protected = app.config.environment(env).is_some_and(|e| e.protected);
    let mut body = vec![format!("{} in {env}.", action.describe())];
    body.extend(consequences(app, env, &action));
    if action.mutating() && protected {
        let expect = format!("{env} {version}");
        body.push(format!("{env} is protected: type \"{expect}\" to confirm."));
        let mut input = Input::new(
            format!("Confirm: {} in {env}", action.describe()),
            body.join("\n"),
            InputFor::TypedConfirmation {
                env: env.to_string(),
                action,
                expect,
            },
        );
        input.error = None;
        app.modal = Some(Modal::Input(input));
    } else {
        app.modal = Some(Modal::Confirm(Confirm::new(
            format!("{}?", capitalise(&action.describe())),
            body,
            ConfirmThen::Start {
                env: env.to_string(),
                action,
            },
        )));
    }
    Vec::new()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// What the confirmation dialog says will happen, from what the live view shows now.
fn consequences(app: &App, env: &str, action: &Action) -> Vec<String> {
    let view = app.views.get(env);
    let current = view.and_then(|v| v.revisions().iter().find(|r| r.current).cloned());
    let mut out = Vec::new();
    if let Some(c) = &current {
        out.push(format!(
            "Now running: revision {} ({}).",
            c.revision, c.image
        ));
    }
    match action {
        Action::Deploy { change_cause, .. } => {
            out.push(format!("Change-cause: {change_cause}."));
            out.push("The rollout is followed to success or to its progress deadline.".into());
        }
        Action::Rollback { reason, .. } => out.push(format!("Reason: {reason}.")),
        Action::Migrate { argv, job, .. } => {
            out.push(format!(
                "Runs `{}` in Job {job}, built from the Deployment's pod template.",
                argv.join(" ")
            ));
        }
        _ => {}
    }
    out
}

/// After the confirmation: the start is recorded, then the runtime runs it.
pub(super) fn start(app: &mut App, env: String, action: Action) -> Vec<Command> {
    app.modal = None;
    // A rollback takes over from a deploy still rolling out in the same environment: the
    // deploy's follow is cancelled, and the rollback starts once its end is on disk.
    if matches!(action, Action::Rollback { .. })
        && let Some((&running, _)) = app
            .tasks
            .iter()
            .find(|(_, t)| t.env == env && matches!(t.action, Action::Deploy { .. }))
    {
        app.log(
            Level::Warn,
            format!("stopping #{running} (the deploy) so the rollback can start"),
        );
        app.queued = Some(QueuedAction {
            after: running,
            env,
            action,
        });
        return vec![Command::CancelAction { task: running }];
    }
    let task = next_task(app);
    // The world may have moved while the dialog was open.
    if let Some(why) = refusal(app, &env, task, &action) {
        app.log(Level::Warn, why);
        return Vec::new();
    }
    // The baseline is on disk before the production deploy starts.
    let mut commands = super::soak::baseline(app, &env, &action);
    app.tasks.insert(
        task,
        RunningTask {
            env: env.clone(),
            action: action.clone(),
            started: app.now,
            progress: None,
            output: Default::default(),
            resumed: false,
        },
    );
    // Nothing is sent to the cluster unless the start is on disk first: the runtime
    // carries out the batch in order and stops it at a failed record.
    commands.push(Command::Record(Event::ActionStarted {
        task,
        env: env.clone(),
        action: action.clone(),
    }));
    commands.push(Command::StartAction {
        task,
        env,
        action,
        resume: false,
    });
    commands
}

/// Starts the action queued behind `finished`, now that its end is journaled.
pub(super) fn start_queued(app: &mut App, finished: TaskId) -> Vec<Command> {
    match app.queued.take() {
        Some(q) if q.after == finished => start(app, q.env, q.action),
        other => {
            app.queued = other;
            Vec::new()
        }
    }
}

/// Actions the journal shows started and never finished: reconciled against the cluster,
/// never sent again.
pub(super) fn resume_in_flight(app: &mut App) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
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

pub(super) fn on_task(app: &mut App, msg: TaskMsg) -> Vec<Command> {
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

pub(super) fn on_refused(app: &mut App, task: TaskId, why: String) {
    app.tasks.remove(&task);
    app.log(Level::Warn, format!("not started: {why}"));
}

pub(super) fn on_cluster(app: &mut App, update: ClusterUpdate) {
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

fn release_version(app: &mut App) -> Option<(String, Option<String>)> {
    match &app.release {
        Some(r) => Some((r.version.clone(), r.commit_sha.clone())),
        None => {
            no_release(app);
            None
        }
    }
}

pub(super) fn deploy_action(app: &mut App, env: &str) -> Option<Action> {
    let (version, sha) = release_version(app)?;
    let Some(sha) = sha else {
        app.log(
            Level::Warn,
            "set the commit SHA first (s): the deploy's change-cause carries it",
        );
        return None;
    };
    let target = Target::of(app.config.environment(env)?);
    Some(Action::Deploy {
        image: target.image(&version),
        change_cause: format!("release-cockpit: release {version}, commit {sha}"),
        version,
        commit_sha: Some(sha),
    })
}

pub(super) fn migrate_action(
    app: &mut App,
    env: &str,
    direction: MigrationDirection,
) -> Option<Action> {
    let (version, _) = release_version(app)?;
    let e = app.config.environment(env)?;
    let argv = match direction {
        MigrationDirection::Up => e.migrate_up.clone(),
        MigrationDirection::Down => e.migrate_down.clone(),
    };
    let task = next_task(app);
    let job =
        crate::cluster::migrate::job_name(&e.deployment, direction, &format!("{version}-{task}"));
    Some(Action::Migrate {
        direction,
        argv,
        job,
    })
}

pub(super) fn probe_action(app: &mut App, env: &str, kind: StepKind) -> Option<Action> {
    let e = app.config.environment(env)?;
    let missing = |key: &str| format!("{env} has no {key} in the config");
    match kind {
        StepKind::Health => Some(Action::Health {
            urls: vec![e.health_url.clone(), e.detailed_health_url.clone()],
        }),
        StepKind::Smoke => match &e.smoke_command {
            Some(argv) => Some(Action::Smoke { argv: argv.clone() }),
            None => {
                let why = missing("smoke_command");
                app.log(Level::Warn, why);
                None
            }
        },
        StepKind::Backup => match &e.backup_command {
            Some(argv) => Some(Action::Backup { argv: argv.clone() }),
            None => {
                let why = missing("backup_command");
                app.log(Level::Warn, why);
                None
            }
        },
        _ => None,
    }
}

pub(super) fn deploy(app: &mut App) -> Vec<Command> {
    let env = app.env.clone();
    match deploy_action(app, &env) {
        Some(a) => request(app, &env, a),
        None => Vec::new(),
    }
}

/// Runs a runbook step: its action behind its confirmation, or the staging validation.
pub(super) fn run_step(app: &mut App, index: usize) -> Vec<Command> {
    let Some(release) = &app.release else {
        no_release(app);
        return Vec::new();
    };
    let steps = runbook::steps(&app.config);
    let Some(step) = steps.get(index).cloned() else {
        return Vec::new();
    };
    let gates = crate::release::gates::evaluate(release, &app.config);
    match runbook::state(&step, release, &app.config, &gates) {
        StepState::NotUsed { why } | StepState::Blocked { why } => {
            app.log(Level::Warn, format!("{}: {why}", step.title));
            return Vec::new();
        }
        StepState::Running { task } => {
            app.log(Level::Info, format!("{} is running (#{task})", step.title));
            return Vec::new();
        }
        _ => {}
    }
    let env = step.env.clone();
    let action = match step.kind {
        StepKind::ValidateStaging => {
            return super::actions::on_action(app, super::keymap::Action::ValidateStaging);
        }
        StepKind::Deploy => deploy_action(app, &env),
        StepKind::Migrate => migrate_action(app, &env, MigrationDirection::Up),
        kind => probe_action(app, &env, kind),
    };
    match action {
        Some(a) => request(app, &env, a),
        None => Vec::new(),
    }
}

pub(super) fn run_next(app: &mut App) -> Vec<Command> {
    let Some(release) = &app.release else {
        no_release(app);
        return Vec::new();
    };
    let gates = crate::release::gates::evaluate(release, &app.config);
    match runbook::next(&app.config, release, &gates) {
        Some(i) => {
            app.runbook_selected = i;
            run_step(app, i)
        }
        None => {
            app.log(Level::Info, "every runbook step is done");
            Vec::new()
        }
    }
}

/// Cancels the running action of the current environment (the newest, if several).
pub(super) fn cancel_running(app: &mut App) -> Vec<Command> {
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
