//! The procedure's rules, checked before an event is written. A refusal is a sentence the
//! operator reads, saying what to do instead.

pub mod approval;

use chrono::{DateTime, Utc};

use super::action::{Action, MigrationDirection, TaskId};
use super::event::{Entry, Event, GoNoGo};
use super::gates::{GateStatus, evaluate, missing_approvals, phase_applies};
use super::identity::Author;
use super::soak::{self, SoakVerdict};
use super::state::{ItemStatus, ReleaseState};
use crate::config::Config;
pub use crate::release::people::same_person;

/// Who asks for an event, and when: what the rules about people and time go by.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub author: &'a Author,
    /// The groups the cluster put them in; `None` when not known (an entry read back
    /// from a journal, which does not record them).
    pub groups: Option<&'a [String]>,
    pub at: DateTime<Utc>,
}

impl<'a> Caller<'a> {
    /// The author of a journal entry, as far as the entry tells.
    pub fn of_entry(entry: &'a Entry, author: &'a Author) -> Self {
        Self {
            author,
            groups: None,
            at: entry.at,
        }
    }
}

/// Checks whether `event` may be recorded now, as requested by `caller`.
pub fn check(
    release: &ReleaseState,
    config: &Config,
    caller: &Caller,
    event: &Event,
) -> Result<(), String> {
    match event {
        Event::ReleaseCreated { .. } => Err("the release already exists".into()),
        // Whether a check is running right now is the runtime's knowledge, not the
        // journal's: a check cut off by a restart leaves a start without a finish.
        Event::ItemTicked { item } => open_item(release, config, item).map(|_| ()),
        Event::ItemUnticked { item } => {
            known_item(config, item)?;
            if release.item(item).status.is_settled() {
                Ok(())
            } else {
                Err(format!("{item} is not ticked or waived"))
            }
        }
        Event::ItemWaived { item, reason } => {
            open_item(release, config, item)?;
            if reason.trim().is_empty() {
                return Err("a waiver needs a reason".into());
            }
            Ok(())
        }
        Event::CheckStarted { item, .. } => {
            let (_, spec) = known_item(config, item)?;
            if spec.check.is_none() {
                return Err(format!("{item} has no check command in the config"));
            }
            Ok(())
        }
        Event::CheckFinished { item, .. } => {
            let (phase, spec) = known_item(config, item)?;
            if spec.check.is_none() {
                return Err(format!("{item} has no check command in the config"));
            }
            if !phase_applies(release, phase.only_when) {
                return Err(format!(
                    "{item} belongs to {}, which this release does not use",
                    phase.title
                ));
            }
            Ok(())
        }
        Event::Approved { role, name } => approval::check(release, config, caller, role, name),
        Event::ApprovalRevoked { role } => {
            if release.approvals.contains_key(role) {
                Ok(())
            } else {
                Err(format!(
                    "no approval as {} to revoke",
                    config.roles.title(role)
                ))
            }
        }
        Event::Decision { verdict, reason } => {
            let spec = config
                .release_type(&release.release_type)
                .ok_or_else(|| unknown_type(config, &release.release_type))?;
            if !spec.go_no_go {
                return Err(format!("a {} release has no go/no-go decision", spec.id));
            }
            match verdict {
                GoNoGo::NoGo if reason.as_deref().is_none_or(|r| r.trim().is_empty()) => {
                    Err("a no-go needs a reason".into())
                }
                GoNoGo::Go => {
                    let missing = missing_approvals(release, config);
                    if missing.is_empty() {
                        Ok(())
                    } else {
                        let names: Vec<String> =
                            missing.iter().map(|any| config.roles.any_of(any)).collect();
                        Err(format!(
                            "a go needs the required approvals first; missing: {}",
                            names.join(", ")
                        ))
                    }
                }
                GoNoGo::NoGo => Ok(()),
            }
        }
        Event::TypeChanged {
            release_type,
            reason,
        } => {
            config
                .release_type(release_type)
                .ok_or_else(|| unknown_type(config, release_type))?;
            if *release_type == release.release_type {
                return Err(format!("the release is already {release_type}"));
            }
            if reason.trim().is_empty() {
                return Err("changing the release type needs a reason".into());
            }
            Ok(())
        }
        Event::ComplianceSet { required } => {
            if *required == release.compliance {
                Err(format!(
                    "compliance is already {}",
                    if *required { "on" } else { "off" }
                ))
            } else {
                Ok(())
            }
        }
        Event::StagingValidated { .. } => {
            if release.staging_validated.is_some() {
                Err("staging is already validated".into())
            } else {
                Ok(())
            }
        }
        Event::ActionStarted { task, env, action } => {
            check_action(release, config, *task, env, action)
        }
        Event::ActionFinished { task, .. } => match release.action(*task) {
            None => Err(format!("there is no action #{task} to finish")),
            Some(a) if a.finished.is_some() => Err(format!("action #{task} already finished")),
            Some(_) => Ok(()),
        },
        Event::BaselineCaptured { .. } => Ok(()),
        Event::CheckpointRecorded { snapshot } => {
            soak_open(release, config)?;
            known_checkpoint(config, snapshot.at_minutes)?;
            if release.soak.snapshots.contains_key(&snapshot.at_minutes) {
                return Err(format!("T+{} is already recorded", snapshot.at_minutes));
            }
            Ok(())
        }
        Event::CheckpointAcknowledged { at_minutes, .. } => {
            soak_open(release, config)?;
            known_checkpoint(config, *at_minutes)?;
            if let Some(w) = soak::window(release, config)
                && caller.at < w.t0 + chrono::Duration::minutes(*at_minutes)
            {
                return Err(format!("T+{at_minutes} is not due yet"));
            }
            if let Some((by, _)) = release.soak.acks.get(at_minutes) {
                return Err(format!("T+{at_minutes} is already acknowledged by {by}"));
            }
            Ok(())
        }
        Event::TriggerFired { trigger, detail } => {
            soak_open(release, config)?;
            if trigger.is_manual() && detail.trim().is_empty() {
                return Err("a manual rollback trigger needs a reason".into());
            }
            Ok(())
        }
        Event::DriverTookOver { reason, .. } => {
            if reason.trim().is_empty() {
                return Err("taking over as the driver needs a reason".into());
            }
            Ok(())
        }
        Event::AutoRollbackFired { .. } => {
            if release.soak.auto_rollback.is_none() {
                return Err("auto-rollback is not armed".into());
            }
            if release.soak.auto_rollback_fired {
                return Err("auto-rollback has fired already; it fires once".into());
            }
            Ok(())
        }
        Event::AutoRollbackSet { armed } => {
            if release.soak.auto_rollback.is_some() == *armed {
                return Err(format!(
                    "auto-rollback is already {}",
                    if *armed { "armed" } else { "disarmed" }
                ));
            }
            Ok(())
        }
        Event::Concluded { verdict } => {
            if release.soak.verdict.is_some() {
                return Err("the release is already concluded".into());
            }
            let window = soak::window(release, config).ok_or(
                "nothing to conclude: production was not deployed, so no soak window opened",
            )?;
            match verdict {
                SoakVerdict::Stable { reason } => {
                    if caller.at < window.end {
                        return Err(format!(
                            "the soak window runs {} more; stable is declared at its end",
                            super::schedule::human_duration(window.end - caller.at)
                        ));
                    }
                    let breaches = soak::breaches(release, config);
                    if !breaches.is_empty() && reason.as_deref().is_none_or(|r| r.trim().is_empty())
                    {
                        return Err(format!(
                            "the window had breaches ({}); declaring it stable needs a reason",
                            breaches.join("; ")
                        ));
                    }
                    Ok(())
                }
                SoakVerdict::RolledBack { reason, .. } if reason.trim().is_empty() => {
                    Err("a rollback needs a reason".into())
                }
                SoakVerdict::RolledBack { .. } => Ok(()),
            }
        }
        Event::CommitSet { commit_sha } => {
            let ok = (7..=64).contains(&commit_sha.len())
                && commit_sha.chars().all(|c| c.is_ascii_hexdigit());
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{commit_sha:?} is not a git commit SHA (7 to 64 hex digits)"
                ))
            }
        }
    }
}

pub fn unknown_type(config: &Config, id: &str) -> String {
    format!(
        "unknown release type {id:?} (types are: {})",
        config.release_type_ids()
    )
}

fn known_item<'a>(
    config: &'a Config,
    item: &str,
) -> Result<
    (
        &'a crate::release::procedure::Phase,
        &'a crate::release::procedure::ChecklistItem,
    ),
    String,
> {
    config
        .procedure
        .item(item)
        .ok_or_else(|| format!("no checklist item {item:?}"))
}

fn open_item(
    release: &ReleaseState,
    config: &Config,
    item: &str,
) -> Result<crate::release::state::ItemState, String> {
    let (phase, spec) = known_item(config, item)?;
    if let Some(by) = spec.settled_by {
        return Err(format!("{item} is recorded by {}", by.how()));
    }
    if !phase_applies(release, phase.only_when) {
        return Err(format!(
            "{item} belongs to {}, which this release does not use (compliance is off)",
            phase.title
        ));
    }
    let state = release.item(item);
    match &state.status {
        ItemStatus::Open => Ok(state),
        ItemStatus::Done { signed, .. } => {
            Err(format!("{item} is already done (by {})", signed.by))
        }
        ItemStatus::Waived { signed, .. } => {
            Err(format!("{item} is already waived (by {})", signed.by))
        }
    }
}

/// Whether an action may start: the environment's gate, the release's own version, a
/// reason for a rollback, and one change to an environment at a time.
fn check_action(
    release: &ReleaseState,
    config: &Config,
    task: TaskId,
    env: &str,
    action: &Action,
) -> Result<(), String> {
    let environment = config
        .environment(env)
        .ok_or_else(|| format!("there is no environment {env:?} in the config"))?;
    if release.action(task).is_some() {
        return Err(format!("action #{task} already exists"));
    }
    // The one place that holds an environment to one change at a time: an action is in
    // flight from its journaled start to its journaled end (a restart does not end it).
    if action.mutating()
        && let Some(busy) = release
            .in_flight()
            .find(|a| a.env == env && a.action.mutating())
    {
        return Err(format!(
            "#{} {} is running in {env}; one change to an environment at a time (wait, or X to cancel it)",
            busy.task,
            busy.action.describe()
        ));
    }
    let gated = match action {
        Action::Deploy { version, .. } => {
            if *version != release.version {
                return Err(format!(
                    "this is release {}; it cannot deploy {version}",
                    release.version
                ));
            }
            true
        }
        Action::Migrate {
            direction: MigrationDirection::Up,
            ..
        } => true,
        Action::Rollback { reason, .. } => {
            if reason.trim().is_empty() {
                return Err("a rollback needs a reason".into());
            }
            false
        }
        _ => false,
    };
    if !gated {
        return Ok(());
    }
    let gates = evaluate(release, config);
    let gate = if environment.protected {
        &gates.production
    } else {
        &gates.staging
    };
    match gate.status {
        GateStatus::Open => Ok(()),
        GateStatus::NotUsed => Err(format!(
            "a {} release does not use {env}; it goes straight to production",
            release.release_type
        )),
        GateStatus::Blocked => {
            let why: Vec<String> = gate.blockers.iter().map(|b| b.describe(config)).collect();
            Err(format!("{env} is gated: {}", why.join("; ")))
        }
    }
}

fn soak_open(release: &ReleaseState, config: &Config) -> Result<(), String> {
    if release.soak.verdict.is_some() {
        return Err("the release is already concluded".into());
    }
    soak::window(release, config)
        .map(|_| ())
        .ok_or_else(|| "the soak window opens with the production deploy".to_string())
}

fn known_checkpoint(config: &Config, at_minutes: i64) -> Result<(), String> {
    if config
        .checkpoints
        .iter()
        .any(|c| c.at_minutes == at_minutes)
    {
        Ok(())
    } else {
        Err(format!("there is no checkpoint at T+{at_minutes}"))
    }
}

#[cfg(test)]
mod tests;
