//! The cockpit's state and the one function that changes it.
//!
//! `update(&mut App, Msg) -> Vec<Command>` is synchronous and does no I/O; the runtime
//! carries out the commands and feeds their results back as messages. Each feature is a
//! folder (its intents, its part of `update`, its dialogs); `update` only routes to them.

pub mod approvals;
pub mod checklist;
pub mod deploy;
mod describe;
pub mod dialog;
pub mod keymap;
pub mod layout;
pub mod msg;
pub mod navigation;
mod record;
pub mod releases;
pub mod shared;
pub mod soak;
mod update;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::cluster::view::ClusterView;
use crate::config::Config;
use crate::metrics::gauges::GaugeBoard;
use crate::release::action::{Action, TaskId};
use crate::release::gates::{self, Gates};
use crate::release::identity::Identity;
use crate::release::rules::Caller;
use crate::release::soak::TriggerWatch;
use crate::release::state::ReleaseState;
pub use msg::{Command, Msg};
pub use update::update;

use approvals::ApprovalAnswer;
use checklist::ChecklistAnswer;
use deploy::DeployAnswer;
use navigation::NavigationAnswer;
use releases::ReleaseAnswer;
use shared::SharedAnswer;
use soak::SoakAnswer;

/// The open dialog, whose answer means an `Answer`.
pub type Modal = dialog::Dialog<Answer>;

/// What a dialog's answer means, typed: the feature that opened it gets it back.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A confirmation whose yes records this event (checked by the rules first).
    Record(crate::release::event::Event),
    Navigation(NavigationAnswer),
    Checklist(ChecklistAnswer),
    Approvals(ApprovalAnswer),
    Releases(ReleaseAnswer),
    Deploy(DeployAnswer),
    Soak(SoakAnswer),
    Shared(shared::SharedAnswer),
}

macro_rules! answer_from {
    ($($feature:ident => $variant:ident),* $(,)?) => {
        $(impl From<$feature> for Answer {
            fn from(a: $feature) -> Self {
                Answer::$variant(a)
            }
        })*
    };
}

answer_from!(
    NavigationAnswer => Navigation,
    ChecklistAnswer => Checklist,
    ApprovalAnswer => Approvals,
    ReleaseAnswer => Releases,
    DeployAnswer => Deploy,
    SoakAnswer => Soak,
    SharedAnswer => Shared,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Checklist,
    Runbook,
    Rollout,
    Timeline,
    Tasks,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Checklist,
        Pane::Runbook,
        Pane::Rollout,
        Pane::Timeline,
        Pane::Tasks,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Checklist => "Checklist",
            Pane::Runbook => "Runbook",
            Pane::Rollout => "Rollout",
            Pane::Timeline => "Timeline & gauges",
            Pane::Tasks => "Tasks / log",
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub level: Level,
    pub text: String,
}

/// A running check, as the task pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningCheck {
    pub started: DateTime<Utc>,
    pub argv: Vec<String>,
    pub last_line: Option<String>,
}

/// An action running now, as the runbook and the task pane show it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningTask {
    pub env: String,
    pub action: Action,
    pub started: DateTime<Utc>,
    /// The newest progress line (kubectl's rollout message, the Job's state).
    pub progress: Option<String>,
    /// The last lines of output.
    pub output: VecDeque<String>,
    /// Reconciling an action cut off by a restart.
    pub resumed: bool,
}

/// How many output lines of a running task are kept in memory.
pub const TASK_OUTPUT_LINES: usize = 200;

/// How much of the log the cockpit keeps in memory; the full history is in the log file.
pub const LOG_LINES: usize = 500;

pub struct App {
    pub config: Config,
    pub env: String,
    /// Who records: the identity the cluster vouched for, or a claimed name.
    pub identity: Identity,
    pub now: DateTime<Utc>,
    pub release: Option<ReleaseState>,
    /// Other releases in the state dir, for the open-release picker.
    pub releases: Vec<String>,
    pub focus: Pane,
    pub zoomed: bool,
    pub checklist: checklist::ChecklistView,
    pub modal: Option<Modal>,
    pub log: VecDeque<LogLine>,
    pub log_scroll: usize,
    pub running_checks: BTreeMap<String, RunningCheck>,
    pub size: (u16, u16),
    pub log_file: PathBuf,
    pub state_dir: PathBuf,
    pub no_color: bool,
    /// Enables F12 as a deliberate panic, for the terminal-restore test.
    pub panic_key: bool,
    pub quit: bool,
    pub collapsed_phases: BTreeSet<String>,
    /// The cluster the cockpit was started against, if any.
    pub cluster: Option<ClusterInfo>,
    /// Environments whose cluster cannot be reached (no context, bad kubeconfig), and why.
    pub unreachable: BTreeMap<String, String>,
    /// What each environment's API server said the cockpit's identity may not do.
    pub denied: BTreeMap<String, Vec<crate::cluster::identity::Request>>,
    /// Set when the shared journal stopped checking out (an entry edited, a foreign
    /// write): what is wrong, naming the entry. Nothing is recorded while it is.
    pub journal_broken: Option<String>,
    /// What this cockpit does on the release: the driver unless the journal is shared
    /// and another cockpit holds the driver's lease.
    pub role: crate::cluster::lease::Role,
    /// Who holds the driver's lease, when the journal is shared.
    pub driver: Option<crate::cluster::lease::Driver>,
    /// Who is on the release now (their presence leases), when the journal is shared.
    pub present: Vec<crate::cluster::lease::Present>,
    /// Every environment's gauges, when a metrics source is connected. All are read, not
    /// only the one on screen: the soak window's triggers watch production while the
    /// engineer looks at staging.
    pub boards: BTreeMap<String, GaugeBoard>,
    /// The live view of every environment's Deployment, when a cluster is connected; the
    /// checkpoints read production's whichever one is on screen.
    pub views: BTreeMap<String, ClusterView>,
    /// Actions running now, by task number.
    pub tasks: BTreeMap<TaskId, RunningTask>,
    pub runbook_selected: usize,
    /// Rows scrolled in the rollout pane's pod table.
    pub pod_scroll: usize,
    /// How long each rollback trigger's condition has held (running knowledge, not journaled).
    pub trigger_watch: TriggerWatch,
    /// The end-of-window prompt was given.
    pub stable_prompted: bool,
    /// A rollback waiting for the deploy it takes over from to end.
    pub queued: Option<QueuedAction>,
}

/// An action to start as soon as another one's end is journaled.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedAction {
    pub after: TaskId,
    pub env: String,
    pub action: Action,
}

/// Where the cluster is; the live view of it is the rollout pane's (issue 5).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInfo {
    pub api: String,
    pub kubeconfig: PathBuf,
    /// The built-in sandbox rather than a real cluster.
    pub simulated: bool,
}

/// What the cockpit starts with: `App` is built from it whole, so nothing outside
/// `update` writes the App's fields once it runs.
pub struct AppInit {
    pub config: Config,
    pub env: String,
    pub identity: Identity,
    pub now: DateTime<Utc>,
    pub log_file: PathBuf,
    pub state_dir: PathBuf,
    pub no_color: bool,
    /// Enables F12 as a deliberate panic, for the terminal-restore test.
    pub panic_key: bool,
    /// The cluster the cockpit was started against, if any.
    pub cluster: Option<ClusterInfo>,
    /// A board per environment whose metrics are read.
    pub boards: BTreeMap<String, GaugeBoard>,
}

impl AppInit {
    /// A cockpit with nothing connected yet: no cluster, no metrics, no log file, and
    /// `operator` a claimed name.
    pub fn new(config: Config, env: String, operator: String, now: DateTime<Utc>) -> Self {
        Self {
            config,
            env,
            identity: Identity::claimed(operator),
            now,
            log_file: PathBuf::new(),
            state_dir: PathBuf::new(),
            no_color: false,
            panic_key: false,
            cluster: None,
            boards: BTreeMap::new(),
        }
    }
}

impl App {
    /// A cockpit with nothing connected yet (see `AppInit::new`).
    pub fn new(config: Config, env: String, operator: String, now: DateTime<Utc>) -> Self {
        Self::from_init(AppInit::new(config, env, operator, now))
    }

    /// Who asks, as the rules see it: this cockpit's identity, now.
    pub fn caller(&self) -> Caller<'_> {
        Caller {
            author: &self.identity.author,
            groups: Some(&self.identity.groups),
            at: self.now,
        }
    }

    pub fn from_init(init: AppInit) -> Self {
        let AppInit {
            config,
            env,
            identity,
            now,
            log_file,
            state_dir,
            no_color,
            panic_key,
            cluster,
            boards,
        } = init;
        Self {
            config,
            env,
            identity,
            now,
            release: None,
            releases: Vec::new(),
            focus: Pane::Checklist,
            zoomed: false,
            checklist: checklist::ChecklistView::default(),
            modal: None,
            log: VecDeque::new(),
            log_scroll: 0,
            running_checks: BTreeMap::new(),
            size: (80, 24),
            log_file,
            state_dir,
            no_color,
            panic_key,
            quit: false,
            collapsed_phases: BTreeSet::new(),
            cluster,
            unreachable: BTreeMap::new(),
            denied: BTreeMap::new(),
            journal_broken: None,
            role: crate::cluster::lease::Role::Driver,
            driver: None,
            present: Vec::new(),
            boards,
            views: BTreeMap::new(),
            tasks: BTreeMap::new(),
            runbook_selected: 0,
            pod_scroll: 0,
            trigger_watch: TriggerWatch::default(),
            stable_prompted: false,
            queued: None,
        }
    }

    /// The gauges of the environment on screen.
    pub fn gauges(&self) -> Option<&GaugeBoard> {
        self.boards.get(&self.env)
    }

    /// The live view of the environment on screen.
    pub fn view(&self) -> Option<&ClusterView> {
        self.views.get(&self.env)
    }

    pub fn gates(&self) -> Option<Gates> {
        self.release
            .as_ref()
            .map(|r| gates::evaluate(r, &self.config))
    }

    pub fn log(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        match level {
            Level::Info => tracing::info!("{text}"),
            Level::Warn => tracing::warn!("{text}"),
            Level::Error => tracing::error!("{text}"),
        }
        self.log.push_back(LogLine {
            at: self.now,
            level,
            text,
        });
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
        self.log_scroll = 0;
    }
}
