//! The actions a key or a runbook step builds from the config and the release: a
//! migration's Job and command, a probe's URLs or command, and the number the next one gets.

use crate::app::record::no_release;
use crate::app::{App, Level};
use crate::release::action::{Action, MigrationDirection, TaskId};
use crate::release::runbook::StepKind;

/// The task number a new action gets: past every journaled and every running one.
pub fn next_task(app: &App) -> TaskId {
    let journaled = app.release.as_ref().map_or(TaskId(1), |r| r.next_task());
    let running = app.tasks.keys().max().map_or(TaskId(1), |t| t.next());
    journaled.max(running)
}

pub fn release_version(app: &mut App) -> Option<(String, Option<String>)> {
    match &app.release {
        Some(r) => Some((r.version.clone(), r.commit_sha.clone())),
        None => {
            no_release(app);
            None
        }
    }
}

pub fn migrate_action(app: &mut App, env: &str, direction: MigrationDirection) -> Option<Action> {
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

pub fn probe_action(app: &mut App, env: &str, kind: StepKind) -> Option<Action> {
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
