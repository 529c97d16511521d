//! The runbook's steps run from the cockpit: the selected one, or the next one due.

use super::actions::{migrate_action, probe_action};
use super::{deploy_action, request};
use crate::app::record::no_release;
use crate::app::{App, Command, Level, approvals};
use crate::release::action::MigrationDirection;
use crate::release::runbook::{self, StepKind, StepState};

/// Runs a runbook step: its action behind its confirmation, or the staging validation.
pub fn run_step(app: &mut App, index: usize) -> Vec<Command> {
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
            approvals::validate_staging(app);
            return Vec::new();
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

pub fn run_next(app: &mut App) -> Vec<Command> {
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
