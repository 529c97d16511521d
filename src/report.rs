//! The release as one JSON document: what `status --json` prints and what a handoff reads.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Environment};
use crate::release::gates::{self, Gate};
use crate::release::procedure::Blocks;
use crate::release::state::{ItemState, ReleaseState};

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
    id: &'a str,
    title: &'a str,
    blocks: Blocks,
    applies: bool,
    gating: bool,
    due: DateTime<Utc>,
    done: usize,
    total: usize,
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
    now: DateTime<Utc>,
    journal_warning: Option<String>,
) -> Value {
    let window = crate::release::schedule::next_window(&config.schedule, now);
    let gating = config
        .release_type(&release.release_type)
        .map(|t| t.gating_phases.clone())
        .unwrap_or_default();
    let checklist: Vec<PhaseReport> = config
        .procedure
        .phases
        .iter()
        .map(|p| {
            let items: Vec<ItemReport> = p
                .items
                .iter()
                .map(|i| ItemReport {
                    id: &i.id,
                    text: &i.text,
                    state: release.item(&i.id),
                    settled_by: gates::settled_by_link(release, i),
                })
                .collect();
            PhaseReport {
                id: &p.id,
                title: &p.title,
                blocks: p.blocks,
                applies: gates::phase_applies(release, p.only_when),
                gating: gating.contains(&p.id),
                due: window - chrono::Duration::days(p.due_days_before),
                done: p
                    .items
                    .iter()
                    .filter(|i| gates::item_settled(release, i))
                    .count(),
                total: items.len(),
                items,
            }
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
            "next_window": window,
            "go_no_go_deadline": crate::release::schedule::go_no_go_deadline(&config.schedule, window),
        },
        "checklist": checklist,
        "gates": {
            "staging": gate_report(&g.staging, config),
            "production": gate_report(&g.production, config),
        },
        "rollout": null,
        "gauges": null,
        "journal_warning": journal_warning,
    })
}
