//! An item's check command: started (journaled first), its output shown as it comes, its
//! outcome recorded, and cancelled on request.

use crate::app::record::{no_release, record};
use crate::app::{App, Command, Level, RunningCheck};
use crate::release::event::{CheckOutcome, Event};

pub(super) fn run(app: &mut App, item: String) -> Vec<Command> {
    if app.running_checks.contains_key(&item) {
        app.log(Level::Warn, format!("{item}: its check is already running"));
        return Vec::new();
    }
    let Some((_, spec)) = app.config.procedure.item(&item) else {
        return Vec::new();
    };
    let (argv, timeout_secs) = match &spec.check {
        Some(argv) => (argv.clone(), spec.check_timeout_secs),
        None => {
            app.log(
                Level::Warn,
                format!("{item} has no check command; add `check = [...]` to it in the config"),
            );
            return Vec::new();
        }
    };
    let Some(version) = app.release.as_ref().map(|r| r.version.clone()) else {
        no_release(app);
        return Vec::new();
    };
    let mut cmds = record(
        app,
        Event::CheckStarted {
            item: item.clone(),
            argv: argv.clone(),
        },
    );
    if !cmds.is_empty() {
        app.running_checks.insert(
            item.clone(),
            RunningCheck {
                started: app.now,
                argv: argv.clone(),
                last_line: None,
            },
        );
        cmds.push(Command::RunCheck {
            version,
            item,
            argv,
            timeout_secs,
        });
    }
    cmds
}

pub(super) fn cancel(app: &mut App, item: String) -> Vec<Command> {
    if app.running_checks.contains_key(&item) {
        return vec![Command::CancelCheck { item }];
    }
    app.log(Level::Warn, format!("no check of {item} is running"));
    Vec::new()
}

pub fn on_check_output(app: &mut App, item: String, line: String) {
    if let Some(c) = app.running_checks.get_mut(&item) {
        c.last_line = Some(line.clone());
    }
    app.log(Level::Info, format!("[{item}] {line}"));
}

pub fn on_check_done(
    app: &mut App,
    version: String,
    item: String,
    outcome: CheckOutcome,
) -> Vec<Command> {
    app.running_checks.remove(&item);
    if app.release.as_ref().is_none_or(|r| r.version != version) {
        // Switching releases is refused while checks run; this is the guard if not.
        app.log(
            Level::Warn,
            format!("check {item} of release {version} finished after it was closed; not recorded"),
        );
        return Vec::new();
    }
    let verdict = outcome.verdict();
    let level = if outcome.passed() {
        Level::Info
    } else {
        Level::Warn
    };
    app.log(level, format!("check {item} {verdict}"));
    record(app, Event::CheckFinished { item, outcome })
}
