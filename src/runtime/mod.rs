//! The edge where commands become effects: the journal, opening releases, check processes,
//! the cluster's watchers and the actions the TaskRunner runs.
//! Results known at once are queued and folded in before the next frame, so the screen
//! never shows an event as done before it is on disk.

mod journal;
mod roles;
mod work;

pub use journal::{Opened, SharedJournal};

use crate::release::identity::Author;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::app::{App, Command, Msg, update};
use crate::cluster::watch::WatchHandle;
use crate::cluster::{Target, watch};
use crate::config::Config;
use crate::release::action::{Action, ActionDetail, TaskId};
use crate::release::clock::Clock;
use crate::release::event::CheckOutcome;
use crate::release::journal::JournalStore;
use crate::release::store::{StateDir, parse_version};
use crate::tasks::check::{self, CheckRequest};
use crate::tasks::runner::{RunId, TaskEvent, TaskMsg, TaskRunner};

/// How many times a record is asked of the rules again after another cockpit's entry
/// came first, before it is given up (the journal keeps moving, or cannot be read).
const MAX_CONFLICTS_IN_A_ROW: u32 = 5;

/// How much longer than a check's own timeout the runner waits before it stops the check
/// itself (the check kills its process group at its timeout and reports that better).
const CHECK_BACKSTOP: Duration = Duration::from_secs(30);

pub struct Runtime {
    pub config: Config,
    pub store: StateDir,
    pub operator: Author,
    pub clock: Arc<dyn Clock>,
    /// The type a release gets when it is created without one being chosen.
    pub default_type: String,
    journal: Option<Box<dyn JournalStore>>,
    /// The open release's version.
    release: Option<String>,
    /// Where journals are kept when they are shared (`[journal] store = "cluster"`).
    pub shared_journal: Option<SharedJournal>,
    /// The last entry folded into the app, this cockpit's or another's.
    delivered: u64,
    /// Passes on what other writers append to the open journal.
    following: Option<tokio::task::JoinHandle<()>>,
    /// Whether others may have appended between the opening's reading and the follower.
    catch_up_due: bool,
    /// How many times in a row a record met another cockpit's entry first.
    conflicts_in_a_row: u32,
    /// This cockpit's role on a shared release, and the task keeping its leases.
    role: crate::cluster::lease::Role,
    keeping: Option<tokio::task::JoinHandle<()>>,
    /// When the driver's lease was last renewed, in milliseconds since `lease_started`.
    lease_renewed: Arc<std::sync::atomic::AtomicU64>,
    lease_started: std::time::Instant,
    /// Whether a lease decided this cockpit's role (a shared release).
    leased: bool,
    /// Running checks by item, and running actions by task, as the runner knows them.
    checks: HashMap<String, RunId>,
    actions: HashMap<TaskId, RunId>,
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
        operator: Author,
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
            release: None,
            shared_journal: None,
            delivered: 0,
            following: None,
            catch_up_due: false,
            conflicts_in_a_row: 0,
            role: crate::cluster::lease::Role::Driver,
            keeping: None,
            lease_renewed: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            lease_started: std::time::Instant::now(),
            leased: false,
            checks: HashMap::new(),
            actions: HashMap::new(),
            clients: BTreeMap::new(),
            watches: BTreeMap::new(),
            runner: TaskRunner::new(),
            tx,
        }
    }

    /// Feeds one message through `update`, carrying out the commands it returns and the
    /// messages those produce, until nothing is left to do.
    pub fn process(&mut self, app: &mut App, msg: Msg) {
        let mut queue = VecDeque::new();
        if std::mem::take(&mut self.catch_up_due) {
            self.catch_up(&mut queue);
        }
        if let Msg::Role { role, .. } = &msg {
            self.role = *role;
        }
        if let Msg::Followed(f) = &msg
            && !self.followed_news(f, &mut queue)
        {
            // Already folded; whatever catching up found is in the queue.
        } else {
            queue.push_back(msg);
        }
        while let Some(m) = queue.pop_front() {
            if let Msg::Task(t) = &m
                && matches!(t.event, TaskEvent::Done(_))
            {
                self.actions.remove(&t.task);
            }
            if let Msg::CheckDone { item, .. } = &m {
                self.checks.remove(item);
            }
            let commands = update(app, m);
            self.execute_all(commands, &mut queue);
        }
    }

    /// Carries out one command as if `update` had returned it, then folds in what follows.
    pub fn run_command(&mut self, app: &mut App, cmd: Command) {
        let mut queue = VecDeque::new();
        self.execute_all(vec![cmd], &mut queue);
        while let Some(m) = queue.pop_front() {
            self.process(app, m);
        }
    }

    /// Carries out one batch in order. A batch's commands follow from its records (the
    /// start of an action is recorded, then the action runs), so once a record fails
    /// nothing after it in the batch is carried out.
    fn execute_all(&mut self, commands: Vec<Command>, queue: &mut VecDeque<Msg>) {
        let mut commands = commands.into_iter().peekable();
        while let Some(cmd) = commands.next() {
            let last = commands.peek().is_none();
            if let Err(error) = self.execute(cmd, queue, last) {
                for skipped in commands.by_ref() {
                    if let Command::StartAction { task, .. } = skipped {
                        queue.push_back(Msg::ActionRefused {
                            task,
                            why: format!("the journal could not record the start: {error}"),
                        });
                    }
                }
            }
        }
    }

    /// Carries out one command; `Err` is a record that failed (why), which ends its batch.
    /// `last`: nothing in the batch follows it (a record another cockpit beat to the
    /// journal is then asked again of the rules, with the other's entries folded in; a
    /// record that more depends on, such as an action's start, is not).
    fn execute(
        &mut self,
        cmd: Command,
        queue: &mut VecDeque<Msg>,
        last: bool,
    ) -> Result<(), String> {
        match cmd {
            Command::Record(event) => match self.append(event.clone()) {
                Ok(entry) => {
                    self.conflicts_in_a_row = 0;
                    queue.push_back(Msg::Recorded(entry));
                }
                Err(journal::NotRecorded::Conflict) => {
                    self.catch_up(queue);
                    self.conflicts_in_a_row += 1;
                    if last && self.conflicts_in_a_row <= MAX_CONFLICTS_IN_A_ROW {
                        queue.push_back(Msg::RecordAgain(event));
                        return Ok(());
                    }
                    let error = "another cockpit wrote to the journal first: look at what it \
                                 recorded, then try again"
                        .to_string();
                    queue.push_back(Msg::RecordFailed {
                        event,
                        error: error.clone(),
                    });
                    return Err(error);
                }
                Err(journal::NotRecorded::Failed(error)) => {
                    queue.push_back(Msg::RecordFailed {
                        event,
                        error: error.clone(),
                    });
                    return Err(error);
                }
            },
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
                let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
                let dir = self.store.check_output_dir(&version);
                let file = format!("{item}-{stamp}.log");
                let shown = format!("releases/{version}.checks/{file}");
                let timeout = Duration::from_secs(timeout_secs);
                let req = CheckRequest {
                    argv,
                    timeout,
                    output_file: Some((dir.join(file), shown)),
                };
                let sink = check_sink(self.tx.clone(), version, item.clone());
                let run = self
                    .runner
                    .start(timeout + CHECK_BACKSTOP, sink, move |ctx| {
                        check::run(req, ctx)
                    });
                self.checks.insert(item, run);
            }
            Command::CancelCheck { item } => {
                if let Some(run) = self.checks.get(&item) {
                    self.runner.cancel(*run);
                }
            }
            Command::StartAction {
                task,
                env,
                action,
                resume,
            } => self.start_action(task, env, action, resume, queue),
            Command::CancelAction { task } => {
                if let Some(run) = self.actions.get(&task) {
                    self.runner.cancel(*run);
                }
            }
            Command::AppendAudit(mut record) => {
                // The app folds the journal but the runtime holds it: its head, the
                // concluding entry's hash, pins the journal's history in the line.
                record.journal_head = self.journal.as_ref().and_then(|j| j.head());
                if let Err(e) = crate::release::audit::append(&self.store.audit_log(), &record) {
                    // The journal holds the conclusion; the line can be written again from it.
                    tracing::error!("could not append to releases.log: {e}");
                    queue.push_back(Msg::AuditFailed(e.to_string()));
                }
                // A shared journal keeps the line beside it, for every cockpit and auditor.
                let line = serde_json::to_string(&record).expect("audit records serialise");
                if let Some(Err(e)) = self.journal.as_mut().map(|j| j.keep_audit(&line)) {
                    tracing::error!("could not copy the releases.log line into the cluster: {e}");
                    queue.push_back(Msg::AuditFailed(format!("(in the cluster) {e}")));
                }
            }
            Command::RestoreJournal => {
                let (level, text) = match self.journal.as_mut().map(|j| j.restore()) {
                    Some(Ok(done)) => (crate::app::Level::Info, done),
                    Some(Err(e)) => (crate::app::Level::Error, format!("NOT RESTORED: {e}")),
                    None => (crate::app::Level::Warn, "no release journal is open".into()),
                };
                queue.push_back(Msg::Notice { level, text });
            }
            Command::ForcePanic => panic!("forced panic (the test-only F12 trigger)"),
        }
        Ok(())
    }

    /// Gives `env` its kube client (or the reason it has none), and tells the app, whose
    /// rules refuse an action that could not reach a cluster before anything is journaled.
    pub fn set_client(&mut self, app: &mut App, env: &str, client: Result<kube::Client, String>) {
        let error = client.as_ref().err().cloned();
        if let (Ok(c), Some(environment)) = (&client, self.config.environment(env)) {
            let (c, tx, env) = (c.clone(), self.tx.clone(), env.to_string());
            let requests = crate::cluster::identity::Request::for_actions(environment);
            tokio::spawn(async move {
                match crate::cluster::identity::denied(&c, requests).await {
                    Ok(denied) => {
                        let _ = tx.send(Msg::Permissions { env, denied });
                    }
                    Err(e) => tracing::info!(%env, "could not ask what we may do: {e}"),
                }
            });
        }
        self.clients.insert(env.to_string(), client);
        self.process(
            app,
            Msg::Connected {
                env: env.to_string(),
                error,
            },
        );
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
            if self.config.environment(&env).is_some() {
                self.process(app, Msg::Watching { env: env.clone() });
                self.watch_cluster(&env);
            }
        }
    }

    /// Runs an action whose start `update` has had recorded (or, resuming, that the
    /// journal shows in flight); whether it may run was decided there, by the rules.
    fn start_action(
        &mut self,
        task: TaskId,
        env: String,
        action: Action,
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
        // The runner's own limit sits above the action's, which reports better.
        let timeout = Duration::from_secs(
            environment
                .rollout_timeout_secs
                .max(environment.step_timeout_secs)
                + 60,
        );
        let client = self
            .clients
            .get(&env)
            .cloned()
            .unwrap_or_else(|| Err(format!("no cluster is connected for {env}")));
        let version = self.release.clone().unwrap_or_default();
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
        let tx = self.tx.clone();
        let sink = Arc::new(move |event: TaskEvent<ActionDetail>| {
            tx.send(Msg::Task(TaskMsg { task, event })).is_ok()
        });
        let run = self.runner.start(timeout, sink, move |ctx| {
            work::run(action, resume, ctx, work)
        });
        self.actions.insert(task, run);
    }

    fn open_release(&mut self, version: &str, release_type: &str) -> Msg {
        let v = match parse_version(version) {
            Ok(v) => v,
            Err(e) => return Msg::OpenFailed(e.to_string()),
        };
        if self.release.as_deref() == Some(v.to_string().as_str()) {
            return Msg::OpenFailed(format!("release {v} is already open"));
        }
        if self.shared_journal.is_some() && self.release.is_some() {
            // The roles (the driver's lease) are taken as a cockpit starts on a release.
            return Msg::OpenFailed(format!(
                "this cockpit is on release {} with others; to switch, quit and start it with --release {v}",
                self.release.as_deref().unwrap_or_default()
            ));
        }
        let create_as = if release_type.is_empty() {
            self.default_type.clone()
        } else {
            release_type.to_string()
        };
        // The current release stays open until the new one is: a failure changes nothing.
        match self.open_journal(&v, &create_as) {
            Ok(opened) => {
                if let Err(e) = self.store.set_current(&v) {
                    tracing::warn!("could not remember the current release: {e}");
                }
                let folded = opened.state.events;
                self.set_journal(&v.to_string(), opened.journal, folded);
                Msg::ReleaseOpened {
                    state: opened.state,
                    releases: self.store.release_names(),
                    notice: opened.notice,
                }
            }
            Err(e) => Msg::OpenFailed(format!("could not open release {v}: {e}")),
        }
    }
}

/// A check reports its output lines and its outcome as the messages the checklist reads.
fn check_sink(
    tx: mpsc::UnboundedSender<Msg>,
    version: String,
    item: String,
) -> crate::sink::Sink<TaskEvent<CheckOutcome>> {
    Arc::new(move |event| match event {
        TaskEvent::Progress(_) => true,
        TaskEvent::Output(line) => tx
            .send(Msg::CheckOutput {
                item: item.clone(),
                line,
            })
            .is_ok(),
        TaskEvent::Done(result) => {
            let mut outcome = result.detail;
            if !result.ok && outcome.exit_code.is_none() && outcome.error.is_none() {
                // The runner stopped it (its backstop), not the check itself.
                outcome.error = Some(result.summary);
            }
            tx.send(Msg::CheckDone {
                version: version.clone(),
                item: item.clone(),
                outcome,
            })
            .is_ok()
        }
    })
}
