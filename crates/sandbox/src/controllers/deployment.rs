//! The Deployment controller, after kubernetes `pkg/controller/deployment` (sync.go,
//! rolling.go, progress.go): the new ReplicaSet by template, revisions, surge and
//! unavailability steps, conditions and the progress deadline, history cleanup.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::replicaset::{owned_by, owner_reference};
use crate::defaults::{comparable_template, normalise};
use crate::events::{self, Source};
use crate::naming;
use crate::resources::lookup;
use crate::store::{Store, WriteTo, name_of, timestamp};

const REVISION: &str = "deployment.kubernetes.io/revision";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations of the Deployment that are not copied to its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

pub fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `maxSurge`/`maxUnavailable`: an integer or a percentage of `replicas`.
pub fn resolve(v: &Value, replicas: i64, round_up: bool) -> i64 {
    if let Some(n) = v.as_i64() {
        return n;
    }
    let Some(pct) = v
        .as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return 0;
    };
    let scaled = pct * replicas;
    if round_up {
        (scaled + 99) / 100
    } else {
        scaled / 100
    }
}

/// (surge, unavailable) with Kubernetes' rule that both cannot be zero.
pub fn fenceposts(deployment: &Value) -> (i64, i64) {
    let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let ru = &deployment["spec"]["strategy"]["rollingUpdate"];
    let surge = resolve(&ru["maxSurge"], replicas, true);
    let mut unavailable = resolve(&ru["maxUnavailable"], replicas, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

fn spec_replicas(rs: &Value) -> i64 {
    rs["spec"]["replicas"].as_i64().unwrap_or(0)
}

fn status_count(rs: &Value, key: &str) -> i64 {
    rs["status"][key].as_i64().unwrap_or(0)
}

struct Ctx<'a> {
    ns: String,
    deployment: &'a Value,
    now: DateTime<Utc>,
}

fn scale(store: &mut Store, ctx: &Ctx, rs: &Value, to: i64) -> Value {
    let from = spec_replicas(rs);
    if from == to {
        return rs.clone();
    }
    let r = lookup("apps", "v1", "replicasets").expect("replicasets");
    let mut updated = rs.clone();
    updated["spec"]["replicas"] = json!(to);
    let (surge, _) = fenceposts(ctx.deployment);
    let replicas = ctx.deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    updated["metadata"]["annotations"][DESIRED] = json!(replicas.to_string());
    updated["metadata"]["annotations"][MAX_REPLICAS] = json!((replicas + surge).to_string());
    updated["metadata"]["resourceVersion"] = json!("");
    let name = name_of(rs).to_string();
    let result = store
        .update(r, &ctx.ns, &name, updated, WriteTo::Main)
        .unwrap_or_else(|_| rs.clone());
    let verb = if to > from { "up" } else { "down" };
    events::emit(
        store,
        ctx.now,
        ctx.deployment,
        false,
        "ScalingReplicaSet",
        &format!("Scaled {verb} replica set {name} to {to} from {from}"),
        Source {
            component: "deployment-controller",
        },
    );
    result
}

/// The Deployment's annotations a ReplicaSet carries (how change-cause reaches history).
fn copied_annotations(deployment: &Value) -> serde_json::Map<String, Value> {
    deployment["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !NOT_COPIED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn create_new_rs(store: &mut Store, ctx: &Ctx, max_revision: i64) -> Option<Value> {
    let d = ctx.deployment;
    let r = lookup("apps", "v1", "replicasets").expect("replicasets");
    let collision = d["status"]["collisionCount"].as_u64().unwrap_or(0);
    let template = comparable_template(&d["spec"]["template"]);
    let hash = naming::template_hash(&template, collision);
    let mut rs_template = d["spec"]["template"].clone();
    rs_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let mut labels = rs_template["metadata"]["labels"].clone();
    labels["pod-template-hash"] = json!(hash);
    let (surge, _) = fenceposts(d);
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let mut annotations = copied_annotations(d);
    annotations.insert(REVISION.into(), json!((max_revision + 1).to_string()));
    annotations.insert(DESIRED.into(), json!(replicas.to_string()));
    annotations.insert(MAX_REPLICAS.into(), json!((replicas + surge).to_string()));
    let mut rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", name_of(d)),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_reference(d)],
        },
        "spec": {
            "replicas": 0,
            "selector": selector,
            "template": normalise(&rs_template),
        },
    });
    if let Some(m) = d["spec"].get("minReadySeconds") {
        rs["spec"]["minReadySeconds"] = m.clone();
    }
    crate::defaults::apply(r, &mut rs);
    store.create(r, &ctx.ns, rs, ctx.now).ok()
}

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

pub fn sync_one(store: &mut Store, d: &Value, now: DateTime<Utc>) {
    let ns = d["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = d["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ctx = Ctx {
        ns: ns.clone(),
        deployment: d,
        now,
    };
    let paused = d["spec"]["paused"] == true;
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let rs_r = lookup("apps", "v1", "replicasets").expect("replicasets");

    let owned = |store: &Store| -> Vec<Value> {
        owned_by(store.list("replicasets", Some(&ns)), &uid)
            .into_iter()
            .cloned()
            .collect()
    };
    let mut all = owned(store);
    let wanted = comparable_template(&d["spec"]["template"]);
    let max_revision = all.iter().map(revision).max().unwrap_or(0);
    let mut new_rs = all
        .iter()
        .find(|rs| comparable_template(&rs["spec"]["template"]) == wanted)
        .cloned();
    let mut progressed = false;
    let mut created_rs = false;
    if new_rs.is_none() && !paused {
        new_rs = create_new_rs(store, &ctx, max_revision);
        created_rs = new_rs.is_some();
        progressed = created_rs;
        all = owned(store);
    } else if let Some(rs) = &new_rs {
        // A ReplicaSet brought back by a rollback becomes the newest revision again.
        let rev = revision(rs);
        let mut updated = rs.clone();
        let mut changed = false;
        if rev < max_revision {
            let history = rs["metadata"]["annotations"][REVISION_HISTORY]
                .as_str()
                .unwrap_or("");
            let history = if history.is_empty() {
                rev.to_string()
            } else {
                format!("{history},{rev}")
            };
            updated["metadata"]["annotations"][REVISION] = json!((max_revision + 1).to_string());
            updated["metadata"]["annotations"][REVISION_HISTORY] = json!(history);
            changed = true;
        }
        for (k, v) in copied_annotations(d) {
            if updated["metadata"]["annotations"][&k] != v {
                updated["metadata"]["annotations"][&k] = v;
                changed = true;
            }
        }
        if changed {
            updated["metadata"]["resourceVersion"] = json!("");
            let name = name_of(rs).to_string();
            if let Ok(u) = store.update(rs_r, &ns, &name, updated, WriteTo::Main) {
                new_rs = Some(u);
            }
            all = owned(store);
        }
    }
    let new_name = new_rs.as_ref().map(|r| name_of(r).to_string());
    let mut old: Vec<Value> = all
        .iter()
        .filter(|r| Some(name_of(r).to_string()) != new_name)
        .cloned()
        .collect();
    old.sort_by_key(revision);

    if !paused && let Some(mut new) = new_rs.clone() {
        let recreate = d["spec"]["strategy"]["type"] == "Recreate";
        if recreate {
            let old_running: i64 = old
                .iter()
                .map(|r| spec_replicas(r) + status_count(r, "replicas"))
                .sum();
            for rs in &old {
                scale(store, &ctx, rs, 0);
            }
            if old_running == 0 {
                scale(store, &ctx, &new, replicas);
            }
        } else {
            let (surge, unavailable) = fenceposts(d);
            // Scale up the new ReplicaSet within the surge.
            let total: i64 = all.iter().map(spec_replicas).sum();
            let current = spec_replicas(&new);
            if current > replicas {
                new = scale(store, &ctx, &new, replicas);
            } else if current < replicas {
                let room = replicas + surge - total;
                if room > 0 {
                    new = scale(store, &ctx, &new, current + room.min(replicas - current));
                }
            }
            // Scale down old ReplicaSets as far as availability allows.
            let all_now: Vec<Value> = owned(store);
            let all_pods: i64 = all_now.iter().map(spec_replicas).sum();
            let min_available = replicas - unavailable;
            let new_unavailable =
                (spec_replicas(&new) - status_count(&new, "availableReplicas")).max(0);
            let max_scaled_down = all_pods - min_available - new_unavailable;
            if max_scaled_down > 0 {
                let mut old_now: Vec<Value> = all_now
                    .iter()
                    .filter(|r| Some(name_of(r).to_string()) != new_name)
                    .cloned()
                    .collect();
                old_now.sort_by_key(revision);
                // First the unhealthy: replicas that are not available anyway.
                let mut cleaned = 0;
                for rs in old_now.iter_mut() {
                    let spec = spec_replicas(rs);
                    let avail = status_count(rs, "availableReplicas");
                    if spec == 0 || spec == avail || cleaned >= max_scaled_down {
                        continue;
                    }
                    let n = (max_scaled_down - cleaned).min(spec - avail);
                    *rs = scale(store, &ctx, rs, spec - n);
                    cleaned += n;
                }
                let available: i64 = owned(store)
                    .iter()
                    .map(|r| status_count(r, "availableReplicas"))
                    .sum();
                if available > min_available {
                    let mut budget = available - min_available;
                    for rs in old_now.iter() {
                        let spec = spec_replicas(rs);
                        if spec == 0 || budget == 0 {
                            continue;
                        }
                        let n = spec.min(budget);
                        scale(store, &ctx, rs, spec - n);
                        budget -= n;
                    }
                }
            }
        }
    }

    // Status and conditions from what the ReplicaSets report now.
    let all = owned(store);
    let new = new_name
        .as_ref()
        .and_then(|n| all.iter().find(|r| name_of(r) == n.as_str()))
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
    let rs_name = new_name.clone().unwrap_or_default();
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
        let _ = store.update(r, &ns, &name, updated, WriteTo::Status);
    }

    // History cleanup, only once the rollout is complete.
    if complete && !paused {
        let limit = d["spec"]["revisionHistoryLimit"]
            .as_i64()
            .unwrap_or(10)
            .max(0) as usize;
        let mut idle: Vec<Value> = owned(store)
            .into_iter()
            .filter(|r| {
                Some(name_of(r).to_string()) != new_name
                    && spec_replicas(r) == 0
                    && status_count(r, "replicas") == 0
            })
            .collect();
        idle.sort_by_key(revision);
        if idle.len() > limit {
            for rs in idle.iter().take(idle.len() - limit) {
                let _ = store.delete(rs_r, &ns, name_of(rs), true);
            }
        }
    }
}

pub fn sync(store: &mut Store, now: DateTime<Utc>) {
    let all: Vec<Value> = store
        .list("deployments", None)
        .into_iter()
        .cloned()
        .collect();
    for d in all {
        sync_one(store, &d, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenceposts_follow_kubernetes_rounding() {
        let d = |replicas: i64, surge: Value, unavail: Value| json!({"spec": {"replicas": replicas, "strategy": {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavail}}}});
        assert_eq!(fenceposts(&d(3, json!("25%"), json!("25%"))), (1, 0));
        assert_eq!(fenceposts(&d(4, json!("25%"), json!("25%"))), (1, 1));
        assert_eq!(fenceposts(&d(10, json!("25%"), json!("25%"))), (3, 2));
        assert_eq!(fenceposts(&d(3, json!(0), json!(0))), (0, 1));
        assert_eq!(fenceposts(&d(2, json!(1), json!("0%"))), (1, 0));
    }
}
