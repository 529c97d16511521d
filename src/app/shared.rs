//! A release shared by several cockpits (its journal in the cluster): what this cockpit
//! may record as the driver, a reviewer or an observer, what it is told when that
//! changes, who else is on the release, and the driver's decision on a journal that
//! stopped checking out.

use chrono::{DateTime, Utc};

use super::dialog::Confirm;
use super::{App, Command, Level, Modal};
use crate::cluster::lease::{Driver, Present, Role};
use crate::release::event::Event;

impl App {
    /// Whether this cockpit journals what happens by itself (checkpoints, triggers,
    /// auto-rollback, resuming an action cut off by a restart): only the driver's does,
    /// so a shared release gets each once.
    pub fn drives(&self) -> bool {
        self.role == Role::Driver
    }
}

/// "release-engineer drives (since 10:02)".
pub fn who_drives(driver: Option<&Driver>, now: DateTime<Utc>) -> String {
    match driver {
        Some(d) if d.live(now) => {
            format!("{} drives (since {})", d.name, d.since.format("%H:%M UTC"))
        }
        Some(d) => format!(
            "nobody drives: {}'s lease lapsed at {}",
            d.name,
            (d.renewed + chrono::Duration::seconds(d.seconds)).format("%H:%M:%S UTC")
        ),
        None => "nobody drives".to_string(),
    }
}

/// Why this cockpit's role may not record `event`, if it may not. A reviewer records
/// approvals (theirs to give or take back); an observer records nothing.
pub fn refusal(app: &App, event: &Event) -> Option<String> {
    let drives = who_drives(app.driver.as_ref(), Utc::now());
    // What this cockpit started it finishes, whatever it is now (a driver that lost its
    // lease mid-deploy): an action left in flight would hold its environment for good.
    let own_end = match event {
        Event::ActionFinished { task, .. } => app.tasks.contains_key(task),
        Event::CheckFinished { item, .. } => app.running_checks.contains_key(item),
        _ => false,
    };
    if own_end {
        return None;
    }
    match app.role {
        Role::Driver => None,
        Role::Reviewer => match event {
            Event::Approved { .. } | Event::ApprovalRevoked { .. } => None,
            _ => Some(format!(
                "refused: you are reviewing this release ({drives}); a reviewer records approvals, the driver the rest"
            )),
        },
        Role::Observer => Some(format!(
            "refused: you are observing this release ({drives}); nothing is recorded from this cockpit"
        )),
    }
}

/// This cockpit's role as the driver's lease decided it; when it has just become the
/// driver (it took a lapsed lease over), the takeover to journal: then it follows what
/// the journal has in flight.
pub fn on_role(app: &mut App, role: Role, driver: Option<Driver>) -> Option<Event> {
    let was = app.role;
    let before = app.driver.clone();
    app.role = role;
    let drives = who_drives(driver.as_ref(), Utc::now());
    let driver_is_me = driver
        .as_ref()
        .is_some_and(|d| d.name == app.identity.author.name);
    app.driver = driver;
    let text = match role {
        Role::Driver if was == Role::Driver => {
            "you drive this release (you hold its lease)".to_string()
        }
        Role::Driver => "you drive this release now (you hold its lease)".to_string(),
        Role::Reviewer if driver_is_me => format!(
            "opened as reviewer: another cockpit of yours holds the driver's lease (or one that closed less than {} s ago): {drives}",
            crate::cluster::lease::LEASE_SECONDS
        ),
        Role::Reviewer => format!("opened as reviewer: {drives}; you may approve"),
        Role::Observer => format!("opened as observer: {drives}; this cockpit only watches"),
    };
    let level = if was == Role::Driver && role != Role::Driver && app.release.is_some() {
        Level::Error
    } else {
        Level::Info
    };
    app.log(level, text);
    if role != Role::Driver || was == Role::Driver {
        return None;
    }
    let from = before.as_ref().map(|d| d.name.clone());
    let reason = match &before {
        Some(d) => format!(
            "{}'s lease lapsed at {} (no renewal for {} s)",
            d.name,
            (d.renewed + chrono::Duration::seconds(d.seconds)).format("%H:%M:%S UTC"),
            d.seconds
        ),
        None => "nobody held the driver's lease".to_string(),
    };
    Some(Event::DriverTookOver { from, reason })
}

/// Whether this participant may take over a lapsed driver's lease: the on-call (whoever
/// may approve as `on_call`), or anyone where the procedure has no such role.
pub fn may_take_over(app: &App) -> bool {
    if app.role == Role::Observer {
        return false;
    }
    if !app.config.roles.0.contains_key(TAKEOVER_ROLE) {
        return true;
    }
    let me = &app.identity;
    !matches!(
        crate::release::rules::approval::may_approve(
            &app.config.access,
            TAKEOVER_ROLE,
            &me.author.name,
            Some(&me.groups),
        ),
        crate::release::rules::approval::MayApprove::No { .. }
    )
}

/// The procedure's role whose holders may take a lapsed release over.
const TAKEOVER_ROLE: &str = "on_call";

/// The leases as they stand: who drives, who is present. A driver that finds another name
/// on the driver's lease has lost it (its renewals failed for longer than the lease).
pub fn on_presence(app: &mut App, driver: Option<Driver>, present: Vec<Present>) -> Vec<Command> {
    let me = app.identity.author.name.clone();
    if app.role == Role::Driver
        && let Some(d) = &driver
        && d.name != me
        && d.live(Utc::now())
    {
        app.log(
            Level::Error,
            format!(
                "{} holds the driver's lease now: this cockpit reviews from here on",
                d.name
            ),
        );
        app.role = Role::Reviewer;
    }
    app.driver = driver;
    app.present = present;
    Vec::new()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// `J`: put a broken shared journal back as this cockpit read it.
    RestoreJournal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedAnswer {
    Restore,
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    match intent {
        Intent::RestoreJournal => ask_restore(app),
    }
    Vec::new()
}

fn ask_restore(app: &mut App) {
    let Some(why) = app.journal_broken.clone() else {
        app.log(
            Level::Info,
            "the journal checks out: there is nothing to restore",
        );
        return;
    };
    if app.role != Role::Driver {
        let drives = who_drives(app.driver.as_ref(), Utc::now());
        app.log(
            Level::Warn,
            format!("refused: the driver decides what becomes of a broken journal ({drives})"),
        );
        return;
    }
    let entries = app.release.as_ref().map_or(0, |r| r.events);
    app.modal = Some(Modal::Confirm(Confirm::new(
        "Restore the shared journal?",
        vec![
            why,
            format!(
                "Puts its {entries} entries back as this cockpit read them; whatever else is in its ConfigMaps goes. Every cockpit on the release can record again."
            ),
            "y restores · n leaves every cockpit read-only".into(),
        ],
        SharedAnswer::Restore,
    )));
}

pub fn on_answer(app: &mut App, answer: SharedAnswer) -> Vec<Command> {
    app.modal = None;
    match answer {
        SharedAnswer::Restore => vec![Command::RestoreJournal],
    }
}

/// The journal checks out again (the driver restored it).
pub fn on_repaired(app: &mut App) -> Vec<Command> {
    if app.journal_broken.take().is_some() {
        app.log(
            Level::Info,
            "the shared journal checks out again: every entry is back as it was; recording resumes",
        );
    }
    Vec::new()
}
