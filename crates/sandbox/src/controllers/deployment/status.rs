//! The Deployment's status from what its ReplicaSets report: the counts, the Available
//! condition, and the Progressing condition with its deadline.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::rollout::fenceposts;
use super::{Ctx, REVISION, spec_replicas, status_count};
use crate::resources::lookup;
use crate::store::{Store, WriteTo, name_of, timestamp};

fn condition(
    kind: &str,
    ok: &str,
    reason: &str,
    message: String,
    now: DateTime<Utc>,
    previous: Option<&Value>,
    progress: bool,
) -> Value {
    let now_s = timestamp(now);
    let same_status = previous.is_some_and(|p| p["status"] == ok);
    let transition = match previous {
        Some(p) if same_status => p["lastTransitionTime"].clone(),
        _ => json!(now_s),
    };
    // lastUpdateTime moves on progress; otherwise only when the condition itself changes.
    let update = match previous {
        Some(p) if same_status && p["reason"] == reason && !progress => p["lastUpdateTime"].clone(),
        _ => json!(now_s),
    };
    json!({
        "type": kind,
        "status": ok,
        "lastUpdateTime": update,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    })
}

fn find_condition<'a>(d: &'a Value, kind: &str) -> Option<&'a Value> {
    d["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// Writes the status and conditions from what the ReplicaSets report now; true once the
/// rollout is complete.
pub(super) fn update(
    store: &mut Store,
    ctx: &Ctx,
    new_name: Option<&str>,
    paused: bool,
    created_rs: bool,
) -> bool {
    let (d, now) = (ctx.deployment, ctx.now);
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    // A new ReplicaSet is progress in itself.
    let mut progressed = created_rs;
    let all = ctx.owned(store);
    let new = new_name
        .and_then(|n| all.iter().find(|r| name_of(r) == n))
        .cloned();
    let sum = |key: &str| all.iter().map(|r| status_count(r, key)).sum::<i64>();
    let spec_sum: i64 = all.iter().map(spec_replicas).sum();
    let updated_replicas = new.as_ref().map_or(0, |r| status_count(r, "replicas"));
    let available = sum("availableReplicas");
    let ready = sum("readyReplicas");
    let total = sum("replicas");
    let prev = &d["status"];
    let count = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);
    progressed |= updated_replicas > count(prev, "updatedReplicas")
        || ready > count(prev, "readyReplicas")
        || available > count(prev, "availableReplicas")
        || (total - updated_replicas) < (count(prev, "replicas") - count(prev, "updatedReplicas"));
    let (_, unavailable) = fenceposts(d);
    let generation = d["metadata"]["generation"].clone();
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": total,
        "updatedReplicas": updated_replicas,
        "readyReplicas": ready,
        "availableReplicas": available,
        "unavailableReplicas": (spec_sum - available).max(0),
    });
    if let Some(c) = d["status"].get("collisionCount") {
        status["collisionCount"] = c.clone();
    }
    let mut conditions = Vec::new();
    let avail_ok = available >= replicas - unavailable;
    conditions.push(condition(
        "Available",
        if avail_ok { "True" } else { "False" },
        if avail_ok {
            "MinimumReplicasAvailable"
        } else {
            "MinimumReplicasUnavailable"
        },
        if avail_ok {
            "Deployment has minimum availability.".into()
        } else {
            "Deployment does not have minimum availability.".into()
        },
        now,
        find_condition(d, "Available"),
        false,
    ));
    let prev_progress = find_condition(d, "Progressing");
    let rs_name = new_name.unwrap_or_default();
    let complete = updated_replicas == replicas && total == replicas && available == replicas;
    if let Some(deadline) = d["spec"]["progressDeadlineSeconds"].as_i64() {
        let progressing = if paused {
            condition(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
                now,
                prev_progress,
                false,
            )
        } else if complete {
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet {rs_name:?} has successfully progressed."),
                now,
                prev_progress,
                false,
            )
        } else if created_rs {
            condition(
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                format!("Created new replica set {rs_name:?}"),
                now,
                prev_progress,
                true,
            )
        } else if progressed || prev_progress.is_none_or(|p| p["reason"] == "DeploymentPaused") {
            let reason =
                if prev_progress.is_none_or(|p| p["reason"] == "DeploymentPaused") && !progressed {
                    "DeploymentResumed"
                } else {
                    "ReplicaSetUpdated"
                };
            let message = if reason == "DeploymentResumed" {
                "Deployment is resumed".to_string()
            } else {
                format!("ReplicaSet {rs_name:?} is progressing.")
            };
            condition(
                "Progressing",
                "True",
                reason,
                message,
                now,
                prev_progress,
                true,
            )
        } else {
            let prev = prev_progress.expect("checked above");
            let last_update = prev["lastUpdateTime"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now);
            if prev["reason"] == "ProgressDeadlineExceeded"
                || (prev["reason"] != "NewReplicaSetAvailable"
                    && last_update + Duration::seconds(deadline) < now)
            {
                condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    format!("ReplicaSet {rs_name:?} has timed out progressing."),
                    now,
                    Some(prev),
                    false,
                )
            } else {
                prev.clone()
            }
        };
        conditions.push(progressing);
    }
    status["conditions"] = json!(conditions);
    let mut updated = d.clone();
    updated["status"] = status;
    if let Some(rs) = &new {
        let rev = rs["metadata"]["annotations"][REVISION].clone();
        if !rev.is_null() {
            updated["metadata"]["annotations"][REVISION] = rev;
        }
    }
    if updated != *d {
        let r = lookup("apps", "v1", "deployments").expect("deployments");
        updated["metadata"]["resourceVersion"] = json!("");
        let name = name_of(d).to_string();
        let _ = store.update(r, &ctx.ns, &name, updated, WriteTo::Status);
    }
    complete
}
