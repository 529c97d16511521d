//! The procedure's deploy steps as a runbook: staging (deploy and rollout, migrate, health,
//! smoke), staging validation, production (backup, deploy and rollout, migrate, health) and
//! post-deploy validation. What each step's state is comes from the journal's actions alone,
//! so the runbook after a restart is the runbook before it.

use serde::Serialize;

use super::action::{Action, ActionRecord, MigrationDirection, TaskId};
use super::gates::{Gate, GateStatus, Gates};
use super::procedure::StagingPolicy;
use super::state::ReleaseState;
use crate::config::{Config, Environment};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Staging,
    StagingValidation,
    Production,
    PostDeploy,
}

impl Stage {
    pub fn title(self) -> &'static str {
        match self {
            Stage::Staging => "Staging",
            Stage::StagingValidation => "Staging validation",
            Stage::Production => "Production",
            Stage::PostDeploy => "Post-deploy validation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Deploy,
    Migrate,
    Health,
    Smoke,
    Backup,
    ValidateStaging,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub stage: Stage,
    pub kind: StepKind,
    pub env: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    /// The release type does not use this step (an emergency skips staging).
    NotUsed {
        why: String,
    },
    /// Cannot run: a gate, or nothing configured to run.
    Blocked {
        why: String,
    },
    Ready,
    Running {
        task: TaskId,
    },
    Done {
        task: Option<TaskId>,
        summary: String,
    },
    Failed {
        task: TaskId,
        summary: String,
    },
}

impl StepState {
    pub fn is_done(&self) -> bool {
        matches!(self, StepState::Done { .. })
    }
}

/// The staging and production environments: the first unprotected and the first protected.
pub fn environments(config: &Config) -> (Option<&Environment>, Option<&Environment>) {
    let pick = |protected: bool, name: &str| {
        config
            .environment(name)
            .filter(|e| e.protected == protected)
            .or_else(|| {
                config
                    .environments
                    .values()
                    .find(|e| e.protected == protected)
            })
    };
    (pick(false, "staging"), pick(true, "production"))
}

pub fn steps(config: &Config) -> Vec<Step> {
    let (staging, production) = environments(config);
    let mut out = Vec::new();
    let step = |stage, kind, env: &Environment, title: &str| Step {
        stage,
        kind,
        env: env.name.clone(),
        title: title.to_string(),
    };
    if let Some(s) = staging {
        out.push(step(
            Stage::Staging,
            StepKind::Deploy,
            s,
            "deploy + rollout status",
        ));
        out.push(step(
            Stage::Staging,
            StepKind::Migrate,
            s,
            "migrate (upgrade)",
        ));
        out.push(step(Stage::Staging, StepKind::Health, s, "health checks"));
        out.push(step(Stage::Staging, StepKind::Smoke, s, "smoke tests"));
        out.push(step(
            Stage::StagingValidation,
            StepKind::ValidateStaging,
            s,
            "marked validated (V)",
        ));
    }
    if let Some(p) = production {
        out.push(step(
            Stage::Production,
            StepKind::Backup,
            p,
            "database backup",
        ));
        out.push(step(
            Stage::Production,
            StepKind::Deploy,
            p,
            "deploy + rollout status",
        ));
        out.push(step(
            Stage::Production,
            StepKind::Migrate,
            p,
            "migrate (upgrade)",
        ));
        out.push(step(
            Stage::Production,
            StepKind::Health,
            p,
            "health checks",
        ));
        out.push(step(Stage::PostDeploy, StepKind::Smoke, p, "smoke tests"));
    }
    out
}

fn matches(kind: StepKind, record: &ActionRecord, version: &str) -> bool {
    match (kind, &record.action) {
        (StepKind::Deploy, Action::Deploy { version: v, .. }) => v == version,
        (
            StepKind::Migrate,
            Action::Migrate {
                direction: MigrationDirection::Up,
                ..
            },
        ) => true,
        (StepKind::Health, Action::Health { .. }) => true,
        (StepKind::Smoke, Action::Smoke { .. }) => true,
        (StepKind::Backup, Action::Backup { .. }) => true,
        _ => false,
    }
}

/// The newest deploy or rollback in `env`: what is (meant to be) running there.
fn last_change<'a>(release: &'a ReleaseState, env: &str) -> Option<&'a ActionRecord> {
    release.actions.iter().rev().find(|a| {
        a.env == env && matches!(a.action, Action::Deploy { .. } | Action::Rollback { .. })
    })
}

pub fn state(step: &Step, release: &ReleaseState, config: &Config, gates: &Gates) -> StepState {
    let policy = config
        .release_type(&release.release_type)
        .map(|t| t.staging)
        .unwrap_or(StagingPolicy::Required);
    let in_staging = matches!(step.stage, Stage::Staging | Stage::StagingValidation);
    if in_staging && policy == StagingPolicy::Skipped {
        return StepState::NotUsed {
            why: format!("a {} release skips staging", release.release_type),
        };
    }
    if step.kind == StepKind::ValidateStaging {
        return match &release.staging_validated {
            Some(s) => StepState::Done {
                task: None,
                summary: format!("validated by {}", s.by),
            },
            None => StepState::Ready,
        };
    }
    // Probes and migrations count only after the deploy they follow; a backup only before it.
    let change = last_change(release, &step.env);
    let after = match step.kind {
        StepKind::Migrate | StepKind::Health | StepKind::Smoke => {
            change.map_or(TaskId(0), |c| c.task)
        }
        _ => TaskId(0),
    };
    let latest =
        release.actions.iter().rev().find(|a| {
            a.env == step.env && a.task > after && matches(step.kind, a, &release.version)
        });
    if step.kind == StepKind::Deploy
        && let Some(c) = change.filter(|c| matches!(c.action, Action::Rollback { .. }))
    {
        return StepState::Failed {
            task: c.task,
            summary: format!("rolled back: {}", c.action.describe()),
        };
    }
    if let Some(a) = latest {
        return match &a.finished {
            None => StepState::Running { task: a.task },
            Some((_, o)) if o.ok => StepState::Done {
                task: Some(a.task),
                summary: o.summary.clone(),
            },
            Some((_, o)) => StepState::Failed {
                task: a.task,
                summary: o.summary.clone(),
            },
        };
    }
    if let Some(why) = unavailable(step, config) {
        return StepState::Blocked { why };
    }
    let gated = matches!(step.kind, StepKind::Deploy | StepKind::Migrate);
    if gated {
        let gate = gate_for(config, &step.env, gates);
        if gate.status == GateStatus::Blocked {
            let why: Vec<String> = gate.blockers.iter().map(|b| b.describe(config)).collect();
            return StepState::Blocked {
                why: format!("gated: {}", why.join("; ")),
            };
        }
    }
    StepState::Ready
}

fn unavailable(step: &Step, config: &Config) -> Option<String> {
    let env = config.environment(&step.env)?;
    match step.kind {
        StepKind::Backup if env.backup_command.is_none() => {
            Some(format!("no backup_command for {}", env.name))
        }
        StepKind::Smoke if env.smoke_command.is_none() => {
            Some(format!("no smoke_command for {}", env.name))
        }
        _ => None,
    }
}

pub fn gate_for<'a>(config: &Config, env: &str, gates: &'a Gates) -> &'a Gate {
    if config.environment(env).is_some_and(|e| e.protected) {
        &gates.production
    } else {
        &gates.staging
    }
}

/// The step "run next" runs: the first that is not done, in procedure order. A release
/// type whose staging is optional goes straight to production unless staging was begun.
pub fn next(config: &Config, release: &ReleaseState, gates: &Gates) -> Option<usize> {
    let all = steps(config);
    let states: Vec<StepState> = all
        .iter()
        .map(|s| state(s, release, config, gates))
        .collect();
    let optional = config
        .release_type(&release.release_type)
        .is_some_and(|t| t.staging == StagingPolicy::Optional);
    let staging_begun = all.iter().zip(&states).any(|(s, st)| {
        s.stage == Stage::Staging && !matches!(st, StepState::Ready | StepState::Blocked { .. })
    });
    all.iter().zip(&states).position(|(s, st)| {
        let skip_staging = optional
            && !staging_begun
            && matches!(s.stage, Stage::Staging | Stage::StagingValidation);
        !skip_staging && !matches!(st, StepState::Done { .. } | StepState::NotUsed { .. })
    })
}
