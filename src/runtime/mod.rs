//! The edge where commands become effects: the journal, opening releases, check processes,
//! the cluster's watchers and the actions the TaskRunner runs.
//! Results known at once are queued and folded in before the next frame, so the screen
//! never shows an event as done before it is on disk.

mod work;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::app::{App, Command, Msg, update};
use crate::cluster::watch::WatchHandle;
use crate::cluster::{Target, watch};
use crate::config::Config;
use crate::release::clock::Clock;
use crate::release::event::Event;
use crate::release::journal::Journal;
use crate::release::store::{StateDir, parse_version};
use crate::tasks::check::{self, CheckRequest};
use crate::tasks::runner::{TaskEvent, TaskRunner, TaskSpec};

pub struct Runtime {
    pub config: Config,
    pub store: StateDir,
    pub operator: String,
    pub clock: Arc<dyn Clock>,
    /// The type a release gets when it is created without one being chosen.
    pub default_type: String,
    journal: Option<Journal>,
    checks: HashMap<String, oneshot::Sender<()>>,
    /// A kube client per environment, or why there is none.
    pub clients: BTreeMap<String, Result<kube::Client, String>>,
    /// The live view's watchers, one set per environment, all running all along.
    watches: BTreeMap<String, WatchHandle>,
    runner: TaskRunner,
    tx: mpsc::UnboundedSender<Msg>,
}

impl Runtime {
    pub fn new(
        config: Config,
        store: StateDir,
        operator: String,
        clock: Arc<dyn Clock>,
        tx: mpsc::UnboundedSender<Msg>,
    ) -> Self {
        let default_type = config
            .release_types
            .first()
            .map(|t| t.id.clone())
            .unwrap_or_default();
        Self {
            config,
            store,
            operator,
            clock,
            default_type,
            journal: None,
            checks: HashMap::new(),
            clients: BTreeMap::new(),
            watches: BTreeMap::new(),
            runner: TaskRunner::new({
                let tx = tx.clone();
                Arc::new(move |m| tx.send(Msg::Task(m)).is_ok())
            }),
            tx,
        }
    }

    pub fn set_journal(&mut self, journal: Journal) {
        self.journal = Some(journal);
    }

    /// Feeds one message through `update`, carrying out the commands it returns and the
    /// messages those produce, until nothing is left to do.
    pub fn process(&mut self, app: &mut App, msg: Msg) {
        let mut queue = VecDeque::from([msg]);
        while let Some(m) = queue.pop_front() {
            if let Msg::Task(t) = &m
                && matches!(t.event, TaskEvent::Done(_))
            {
                self.runner.finished(t.task);
            }
            for cmd in update(app, m) {
                self.execute(cmd, &mut queue);
            }
        }
    }

    /// Carries out one command as if `update` had returned it, then folds in what follows.
    pub fn run_command(&mut self, app: &mut App, cmd: Command) {
        let mut queue = VecDeque::new();
        self.execute(cmd, &mut queue);
        while let Some(m) = queue.pop_front() {
            self.process(app, m);
        }
    }

    fn execute(&mut self, cmd: Command, queue: &mut VecDeque<Msg>) {
        match cmd {
            Command::Record(event) => {
                let Some(journal) = &mut self.journal else {
                    queue.push_back(Msg::RecordFailed {
                        event,
                        error: "no release journal is open".into(),
                    });
                    return;
                };
                match journal.append(&self.operator, self.clock.now(), event.clone()) {
                    Ok(entry) => queue.push_back(Msg::Recorded(entry)),
                    Err(e) => queue.push_back(Msg::RecordFailed {
                        event,
                        error: e.to_string(),
                    }),
                }
            }
            Command::OpenRelease {
                version,
                release_type,
            } => queue.push_back(self.open_release(&version, &release_type)),
            Command::RunCheck {
                version,
                item,
                argv,
                timeout_secs,
            } => {
                let (cancel_tx, cancel_rx) = oneshot::channel();
                self.checks.insert(item.clone(), cancel_tx);
                let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
                let dir = self.store.check_output_dir(&version);
                let file = format!("{item}-{stamp}.log");
                let shown = format!("releases/{version}.checks/{file}");
                let req = CheckRequest {
                    version,
                    item,
                    argv,
                    timeout: Duration::from_secs(timeout_secs),
                    output_file: Some((dir.join(file), shown)),
                };
                tokio::spawn(check::run(req, self.tx.clone(), cancel_rx));
            }
            Command::CancelCheck { item } => {
                if let Some(cancel) = self.checks.remove(&item) {
                    let _ = cancel.send(());
                }
            }
            Command::StartAction {
                task,
                env,
                action,
                resume,
            } => self.start_action(task, env, action, resume, queue),
            Command::CancelAction { task } => {
                self.runner.cancel(task);
            }
            Command::AppendAudit(record) => {
                if let Err(e) = crate::release::audit::append(&self.store.audit_log(), &record) {
                    // The journal holds the conclusion; the line can be written again from it.
                    tracing::error!("could not append to releases.log: {e}");
                    queue.push_back(Msg::AuditFailed(e.to_string()));
                }
            }
            Command::ForcePanic => panic!("forced panic (the test-only F12 trigger)"),
        }
    }

    /// Starts (or restarts) the live view's watchers of `env`; the other environments'
    /// keep running.
    pub fn watch_cluster(&mut self, env: &str) {
        self.watches.remove(env);
        let (Some(Ok(client)), Some(environment)) =
            (self.clients.get(env), self.config.environment(env))
        else {
            return;
        };
        let tx = self.tx.clone();
        self.watches.insert(
            env.to_string(),
            watch::spawn(
                client.clone(),
                Target::of(environment),
                self.clock.clone(),
                Arc::new(move |u| tx.send(Msg::Cluster(u)).is_ok()),
            ),
        );
    }

    /// Watches every environment that has a client, each with its (empty) view in `app`.
    pub fn watch_every_cluster(&mut self, app: &mut App) {
        let envs: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, c)| c.is_ok())
            .map(|(env, _)| env.clone())
            .collect();
        for env in envs {
            if let Some(e) = self.config.environment(&env) {
                app.views.insert(
                    env.clone(),
                    crate::cluster::view::ClusterView::new(Target::of(e)),
                );
                self.watch_cluster(&env);
            }
        }
    }

    /// Journals the start (unless resuming what the journal already has), then runs it.
    fn start_action(
        &mut self,
        task: u64,
        env: String,
        action: crate::release::action::Action,
        resume: bool,
        queue: &mut VecDeque<Msg>,
    ) {
        let Some(environment) = self.config.environment(&env).cloned() else {
            queue.push_back(Msg::ActionRefused {
                task,
                why: format!("there is no environment {env:?}"),
            });
            return;
        };
        let spec = TaskSpec {
            task,
            env: env.clone(),
            mutating: action.mutating(),
            what: format!("#{task} {}", action.describe()),
            // The runner's own limit sits above the action's, which reports better.
            timeout: Duration::from_secs(
                environment
                    .rollout_timeout_secs
                    .max(environment.step_timeout_secs)
                    + 60,
            ),
        };
        if let Some(why) = self.runner.refusal(&spec) {
            queue.push_back(Msg::ActionRefused { task, why });
            return;
        }
        let client = self
            .clients
            .get(&env)
            .cloned()
            .unwrap_or_else(|| Err(format!("no cluster is connected for {env}")));
        if !resume && action.mutating() && client.is_err() {
            // Nothing is journaled for an action that cannot reach its cluster.
            let why = client.err().unwrap_or_default();
            queue.push_back(Msg::ActionRefused {
                task,
                why: format!("{env} has no cluster to act on: {why}"),
            });
            return;
        }
        if resume && action.mutating() && client.is_err() {
            // Without the cluster there is nothing to reconcile against: the action stays in
            // flight in the journal (and keeps the environment closed to other changes).
            let why = client.err().unwrap_or_default();
            queue.push_back(Msg::ActionRefused {
                task,
                why: format!("cannot reconcile #{task} yet ({why}); it stays in flight"),
            });
            return;
        }
        if !resume {
            let Some(journal) = &mut self.journal else {
                queue.push_back(Msg::ActionRefused {
                    task,
                    why: "no release journal is open".into(),
                });
                return;
            };
            let event = Event::ActionStarted {
                task,
                env: env.clone(),
                action: action.clone(),
            };
            // Nothing is sent to the cluster unless the start is on disk first.
            match journal.append(&self.operator, self.clock.now(), event) {
                Ok(entry) => queue.push_back(Msg::Recorded(entry)),
                Err(e) => {
                    queue.push_back(Msg::ActionRefused {
                        task,
                        why: format!("the journal could not record the start: {e}"),
                    });
                    return;
                }
            }
        }
        let version = journal_version(self.journal.as_ref());
        let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
        let file = format!("action-{task}-{}-{stamp}.log", action.name());
        let work = work::Work {
            client,
            target: Target::of(&environment),
            env: environment,
            output_file: (
                self.store.check_output_dir(&version).join(&file),
                format!("releases/{version}.checks/{file}"),
            ),
        };
        let started = self
            .runner
            .start(spec, move |ctx| work::run(action, resume, ctx, work));
        if let Err(why) = started {
            queue.push_back(Msg::ActionRefused { task, why });
        }
    }

    fn open_release(&mut self, version: &str, release_type: &str) -> Msg {
        let v = match parse_version(version) {
            Ok(v) => v,
            Err(e) => return Msg::OpenFailed(e.to_string()),
        };
        if self
            .journal
            .as_ref()
            .is_some_and(|j| j.path() == self.store.journal_path(&v))
        {
            return Msg::OpenFailed(format!("release {v} is already open"));
        }
        let create_as = if release_type.is_empty() {
            self.default_type.clone()
        } else {
            release_type.to_string()
        };
        // The current release stays open until the new one is: a failure changes nothing.
        match self.store.open_or_create(
            &self.config,
            &v,
            &create_as,
            &self.operator,
            self.clock.now(),
        ) {
            Ok(opened) => {
                if let Err(e) = self.store.set_current(&v) {
                    tracing::warn!("could not remember the current release: {e}");
                }
                self.journal = Some(opened.journal);
                Msg::ReleaseOpened {
                    state: opened.state,
                    releases: self.store.release_names(),
                    notice: opened.recovery.map(|r| r.to_string()),
                }
            }
            Err(e) => Msg::OpenFailed(format!("could not open release {v}: {e}")),
        }
    }
}

/// The version of the open release, from its journal's file name.
fn journal_version(journal: Option<&Journal>) -> String {
    journal
        .and_then(|j| j.path().file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
