//! Deploys, rollbacks, migrations and probes (backup, health, smoke tests): asked for,
//! refused or confirmed, recorded, run, followed; the runbook's steps; and what the live
//! view's watchers report.

mod actions;
mod baseline;
mod menus;
mod runbook;
mod tasks;

pub use tasks::{on_cluster, on_refused, on_task, on_watching, resume_in_flight};

use super::dialog::{Confirm, Input};
use super::record::refuse_in_dialog;
use super::{App, Command, Level, Modal, QueuedAction, RunningTask};
use crate::cluster::Target;
use crate::release::action::{Action, MigrationDirection, RollbackMethod, TaskId};
use crate::release::event::{Entry, Event};
use crate::release::rules;
use crate::release::runbook::StepKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Deploy,
    Rollback,
    Migrations,
    Backup,
    Health,
    Smoke,
    /// The next runbook step that is due.
    RunNext,
    /// The runbook step under the cursor.
    RunSelected,
    CancelAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeployAnswer {
    /// Confirmed: record the start, then run it.
    Start {
        env: String,
        action: Action,
    },
    /// A protected environment: the operator must type `expect`.
    TypedConfirmation {
        env: String,
        action: Action,
        expect: String,
    },
    /// A way back chosen; its reason is asked next.
    Rollback(RollbackMethod),
    /// Undo to a revision still to be chosen.
    ChooseRevision,
    RollbackReason {
        method: RollbackMethod,
    },
    Migrate(MigrationDirection),
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    let env = app.env.clone();
    let action = match intent {
        Intent::Deploy => deploy_action(app, &env),
        Intent::Rollback => return menus::rollback_menu(app),
        Intent::Migrations => return menus::migrations_menu(app),
        Intent::Backup => actions::probe_action(app, &env, StepKind::Backup),
        Intent::Health => actions::probe_action(app, &env, StepKind::Health),
        Intent::Smoke => actions::probe_action(app, &env, StepKind::Smoke),
        Intent::RunNext => return runbook::run_next(app),
        Intent::RunSelected => return runbook::run_step(app, app.runbook_selected),
        Intent::CancelAction => return tasks::cancel_running(app),
    };
    match action {
        Some(a) => request(app, &env, a),
        None => Vec::new(),
    }
}

pub fn on_answer(app: &mut App, answer: DeployAnswer, text: String) -> Vec<Command> {
    match answer {
        DeployAnswer::Start { env, action } => start(app, env, action),
        DeployAnswer::TypedConfirmation {
            env,
            action,
            expect,
        } => {
            if text.split_whitespace().collect::<Vec<_>>().join(" ") == expect {
                start(app, env, action)
            } else {
                refuse_in_dialog(app, format!("type \"{expect}\" exactly, or Esc to cancel"));
                Vec::new()
            }
        }
        DeployAnswer::Rollback(method) => {
            menus::ask_rollback_reason(app, method);
            Vec::new()
        }
        DeployAnswer::ChooseRevision => {
            menus::revision_menu(app);
            Vec::new()
        }
        DeployAnswer::RollbackReason { method } => {
            if text.trim().is_empty() {
                refuse_in_dialog(app, "a rollback needs a reason".into());
                return Vec::new();
            }
            app.modal = None;
            let env = app.env.clone();
            request(
                app,
                &env,
                Action::Rollback {
                    method,
                    reason: text.trim().to_string(),
                },
            )
        }
        DeployAnswer::Migrate(direction) => {
            app.modal = None;
            let env = app.env.clone();
            match actions::migrate_action(app, &env, direction) {
                Some(a) => request(app, &env, a),
                None => Vec::new(),
            }
        }
    }
}

/// What follows a journaled event: the action queued behind one that just ended.
pub fn after_recorded(app: &mut App, entry: &Entry) -> Vec<Command> {
    match &entry.event {
        Event::ActionFinished { task, .. }
            if app.queued.as_ref().is_some_and(|q| q.after == *task) =>
        {
            start_queued(app, *task)
        }
        _ => Vec::new(),
    }
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
    if let Some(why) = forbidden(app, env, action) {
        return Some(format!("refused: {why}"));
    }
    let event = Event::ActionStarted {
        task,
        env: env.to_string(),
        action: action.clone(),
    };
    if let Some(why) = crate::app::shared::refusal(app, &event) {
        return Some(why);
    }
    rules::check(release, &app.config, &app.caller(), &event)
        .err()
        .map(|why| format!("refused: {why}"))
}

/// The API server's no to what `action` must do in `env`, if it said no when asked.
fn forbidden(app: &App, env: &str, action: &Action) -> Option<String> {
    let (verb, resource) = match action {
        Action::Deploy { .. } | Action::Rollback { .. } => ("patch", "deployments"),
        Action::Migrate { .. } => ("create", "jobs"),
        _ => return None,
    };
    app.denied
        .get(env)?
        .iter()
        .find(|r| r.verb == verb && r.resource == resource)
        .map(|r| {
            format!(
                "you ({}) may not {} (the API server's answer to a SelfSubjectAccessReview)",
                app.identity.author.name,
                r.describe()
            )
        })
}

/// Why `env` has no cluster to act on, if it has none.
pub fn no_cluster(app: &App, env: &str) -> Option<String> {
    if app.cluster.is_none() {
        return Some(format!("no cluster is connected for {env}"));
    }
    app.unreachable
        .get(env)
        .map(|why| format!("the cluster of {env} cannot be reached: {why}"))
}

/// Asks to run `action` in `env`: refused at once with the reason, or a confirmation opens.
pub fn request(app: &mut App, env: &str, action: Action) -> Vec<Command> {
    let task = actions::next_task(app);
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
            DeployAnswer::TypedConfirmation {
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
            DeployAnswer::Start {
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
pub fn start(app: &mut App, env: String, action: Action) -> Vec<Command> {
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
    let task = actions::next_task(app);
    // The world may have moved while the dialog was open.
    if let Some(why) = refusal(app, &env, task, &action) {
        app.log(Level::Warn, why);
        return Vec::new();
    }
    // The baseline is on disk before the production deploy starts.
    let mut commands = baseline::capture(app, &env, &action);
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
pub fn start_queued(app: &mut App, finished: TaskId) -> Vec<Command> {
    match app.queued.take() {
        Some(q) if q.after == finished => start(app, q.env, q.action),
        other => {
            app.queued = other;
            Vec::new()
        }
    }
}

pub fn deploy_action(app: &mut App, env: &str) -> Option<Action> {
    let (version, sha) = actions::release_version(app)?;
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
