//! The release as one JSON document: what `status --json` prints and what a handoff reads.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Environment};
use crate::metrics::gauges::GaugeBoard;
use crate::release::gates::{self, Gate};
use crate::release::journal::ChainStatus;
use crate::release::progress::{self, PhaseProgress};
use crate::release::state::{ItemState, ReleaseState};
use crate::release::{runbook, soak};

#[derive(Serialize)]
struct ItemReport<'a> {
    id: &'a str,
    text: &'a str,
    #[serde(flatten)]
    state: ItemState,
    /// Set when a recorded decision settles the item ("GO by alice").
    #[serde(skip_serializing_if = "Option::is_none")]
    settled_by: Option<String>,
}

#[derive(Serialize)]
struct PhaseReport<'a> {
    #[serde(flatten)]
    progress: PhaseProgress<'a>,
    items: Vec<ItemReport<'a>>,
}

#[derive(Serialize)]
struct GateReport {
    status: gates::GateStatus,
    blockers: Vec<Value>,
}

fn gate_report(gate: &Gate, config: &Config) -> GateReport {
    GateReport {
        status: gate.status.clone(),
        blockers: gate
            .blockers
            .iter()
            .map(|b| {
                let mut v = serde_json::to_value(b).expect("blockers serialise");
                v["message"] = Value::String(b.describe(config));
                v
            })
            .collect(),
    }
}

pub fn status_json(
    config: &Config,
    env: &Environment,
    release: &ReleaseState,
    chain: &ChainStatus,
    now: DateTime<Utc>,
    journal_warning: Option<String>,
    gauges: Option<&GaugeBoard>,
) -> Value {
    let window = crate::release::schedule::next_window(&config.schedule, now);
    let checklist: Vec<PhaseReport> = progress::phases(config, release)
        .into_iter()
        .map(|p| PhaseReport {
            items: p
                .phase
                .items
                .iter()
                .map(|i| ItemReport {
                    id: &i.id,
                    text: &i.text,
                    state: release.item(&i.id),
                    settled_by: gates::settled_by_link(release, i),
                })
                .collect(),
            progress: p,
        })
        .collect();
    let g = gates::evaluate(release, config);
    serde_json::json!({
        "release": {
            "version": release.version,
            "type": release.release_type,
            "commit_sha": release.commit_sha,
            "created": release.created,
            "compliance": release.compliance,
            "approvals": release.approvals,
            "missing_approvals": gates::missing_approvals(release, config),
            "decision": release.decision,
            "staging_validated": release.staging_validated,
            "events": release.events,
            "last_event_at": release.last_event_at,
        },
        "environment": {
            "name": env.name,
            "kube_context": env.kube_context,
            "namespace": env.namespace,
            "deployment": env.deployment,
            "protected": env.protected,
        },
        "schedule": {
            "release_window": progress::release_window(config, release),
            "next_window": window,
            "go_no_go_deadline": crate::release::schedule::go_no_go_deadline(&config.schedule, window),
        },
        "checklist": checklist,
        "gates": {
            "staging": gate_report(&g.staging, config),
            "production": gate_report(&g.production, config),
        },
        "actions": release.actions,
        "runbook": runbook::steps(config)
            .iter()
            .map(|step| serde_json::json!({
                "stage": step.stage,
                "env": step.env,
                "kind": step.kind,
                "title": step.title,
                "state": runbook::state(step, release, config, &g),
            }))
            .collect::<Vec<_>>(),
        "soak": soak_json(config, release, now),
        // The live rollout is the cockpit's (watchers); a snapshot reads only the journal.
        "rollout": null,
        "gauges": gauges.map(|b| &b.gauges),
        "journal_warning": journal_warning,
        // How far the journal's history can be checked: chained, unchained, chained_from.
        "journal_chain": chain,
    })
}

/// The soak window for whoever takes over: where it stands, each checkpoint, what fired.
fn soak_json(config: &Config, release: &ReleaseState, now: DateTime<Utc>) -> serde_json::Value {
    let Some(w) = soak::window(release, config) else {
        return serde_json::Value::Null;
    };
    serde_json::json!({
        "t0": w.t0,
        "end": w.end,
        "minutes": w.minutes(now).floor() as i64,
        "open": w.is_open(now) && release.soak.verdict.is_none(),
        "baseline": release.soak.baseline.as_ref().map(|(at, g)| serde_json::json!({"at": at, "gauges": g})),
        "checkpoints": soak::checkpoints(release, config),
        "triggers": release.soak.triggers,
        "auto_rollback": release.soak.auto_rollback,
        "auto_rollback_fired": release.soak.auto_rollback_fired,
        "breaches": soak::breaches(release, config),
        "verdict": release.soak.verdict,
    })
}

/// The soak window in a few lines: the handoff to the on-call who takes over.
pub fn soak_summary(config: &Config, release: &ReleaseState, now: DateTime<Utc>) -> String {
    let Some(w) = soak::window(release, config) else {
        return "soak window: not open (no production deploy yet)\n".into();
    };
    let mut out = match &release.soak.verdict {
        Some(soak::SoakVerdict::Stable { .. }) => "soak window: release STABLE\n".to_string(),
        Some(soak::SoakVerdict::RolledBack { method, reason }) => {
            format!("soak window: ROLLED BACK ({method}): {reason}\n")
        }
        None if w.is_open(now) => format!(
            "soak window: T+{}m of {} (since {})\n",
            w.minutes(now).floor() as i64,
            (w.end - w.t0).num_minutes(),
            w.t0.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "soak window: over; the verdict is due\n".to_string(),
    };
    for c in soak::checkpoints(release, config) {
        let state = match &c.snapshot {
            Some(s) if s.passed => "passed".to_string(),
            Some(s) => format!("FAILED: {}", s.failures.join(", ")),
            None => "pending".to_string(),
        };
        let ack = c
            .acknowledged
            .as_ref()
            .map(|(by, _)| format!(" (ack {by})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  T+{:<4}{:<28}{state}{ack}\n",
            c.at_minutes, c.title
        ));
    }
    for t in &release.soak.triggers {
        out.push_str(&format!(
            "  TRIGGER {} at {}: {}\n",
            t.kind.title(),
            t.at.format("%H:%M:%S"),
            t.detail
        ));
    }
    out
}
