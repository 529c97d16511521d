//! Everything that can happen to the cockpit (`Msg`) and everything it can ask the outside
//! world to do (`Command`).

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use crate::cluster::ClusterUpdate;
use crate::metrics::source::Readings;
use crate::release::action::{Action, TaskId};
use crate::release::audit::AuditRecord;
use crate::release::event::{CheckOutcome, Entry, Event};
use crate::release::state::ReleaseState;
use crate::tasks::runner::TaskMsg;

use super::Level;

// A watch update is the large one (a Deployment or Pod by value); see `ClusterMsg`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The process was stopped and continued (SIGCONT): the event loop repaints.
    Continued,
    Tick(DateTime<Utc>),
    /// The event is on disk; only now does the screen show it as done.
    Recorded(Entry),
    RecordFailed {
        event: Event,
        error: String,
    },
    /// Another cockpit's entry reached this one (or the shared journal broke).
    Followed(crate::release::journal::Followed),
    /// Another cockpit appended first; its entries are folded in: ask the rules again.
    RecordAgain(Event),
    /// What this cockpit is on a shared release, and who drives it.
    Role {
        role: crate::cluster::lease::Role,
        driver: Option<crate::cluster::lease::Driver>,
    },
    /// Who drives and who is present, as the leases say now.
    Presence {
        driver: Option<crate::cluster::lease::Driver>,
        present: Vec<crate::cluster::lease::Present>,
    },
    ReleaseOpened {
        state: ReleaseState,
        releases: Vec<String>,
        notice: Option<String>,
    },
    OpenFailed(String),
    /// The cockpit started without a release open; these are in the state dir.
    NoRelease {
        releases: Vec<String>,
    },
    /// A line for the log from outside `update` (the start-up's own news).
    Notice {
        level: Level,
        text: String,
    },
    CheckOutput {
        item: String,
        line: String,
    },
    /// A signal, or the terminal's input ending: close down now.
    Shutdown(String),
    /// One poll of the environment's metrics source.
    Readings {
        env: String,
        at: DateTime<Utc>,
        readings: Readings,
    },
    /// releases.log could not be written.
    AuditFailed(String),
    /// The kube client of `env` was made, or could not be (`error` says why): whether
    /// actions there can reach a cluster at all.
    Connected {
        env: String,
        error: Option<String>,
    },
    /// What the API server refuses the cockpit's identity in `env` (SelfSubjectAccessReview),
    /// asked when its client is made, so an action is refused before its confirmation.
    Permissions {
        env: String,
        denied: Vec<crate::cluster::identity::Request>,
    },
    /// The live view's watchers of `env` are starting: its view exists, empty, until
    /// their first lists arrive.
    Watching {
        env: String,
    },
    /// What the live view's watchers saw.
    Cluster(ClusterUpdate),
    /// Progress, output or the end of an action.
    Task(TaskMsg),
    /// The runtime would not start an action (another change is running, or the journal
    /// refused it); nothing was sent.
    ActionRefused {
        task: TaskId,
        why: String,
    },
    /// A check finished; `version` is the release it was started for.
    CheckDone {
        version: String,
        item: String,
        outcome: CheckOutcome,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Put a broken shared journal back as this cockpit read it (the driver's decision).
    RestoreJournal,
    /// Append to the open release's journal, then report `Msg::Recorded`.
    Record(Event),
    /// Open (or create as `release_type`) a release and make it current.
    OpenRelease {
        version: String,
        release_type: String,
    },
    RunCheck {
        version: String,
        item: String,
        argv: Vec<String>,
        timeout_secs: u64,
    },
    CancelCheck {
        item: String,
    },
    /// Run an action, once `update` has had its start recorded (the `Record` before it in
    /// the same batch; a failed record stops the batch). `resume` reconciles an action
    /// the journal shows in flight from before a restart: nothing is sent again.
    StartAction {
        task: TaskId,
        env: String,
        action: Action,
        resume: bool,
    },
    CancelAction {
        task: TaskId,
    },
    /// Append the concluded release's line to releases.log.
    AppendAudit(AuditRecord),
    /// Test-only: proves the terminal is restored after a panic.
    ForcePanic,
}
