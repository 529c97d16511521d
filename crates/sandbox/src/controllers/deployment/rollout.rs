//! The rollout steps: surge and unavailability from the strategy, scaling a ReplicaSet
//! (and the event that says so), and one pass of a Recreate or RollingUpdate rollout.

use serde_json::{Value, json};

use super::{Ctx, DESIRED, MAX_REPLICAS, revision, spec_replicas, status_count};
use crate::events::{self, Source};
use crate::resources::lookup;
use crate::store::{Store, WriteTo, name_of};

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

/// One pass towards `spec.replicas` pods of the new ReplicaSet's template.
pub(super) fn step(store: &mut Store, ctx: &Ctx, mut new: Value, all: &[Value]) {
    let d = ctx.deployment;
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let new_name = name_of(&new).to_string();
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    if recreate {
        let mut old: Vec<Value> = all
            .iter()
            .filter(|r| name_of(r) != new_name)
            .cloned()
            .collect();
        old.sort_by_key(revision);
        let old_running: i64 = old
            .iter()
            .map(|r| spec_replicas(r) + status_count(r, "replicas"))
            .sum();
        for rs in &old {
            scale(store, ctx, rs, 0);
        }
        if old_running == 0 {
            scale(store, ctx, &new, replicas);
        }
    } else {
        let (surge, unavailable) = fenceposts(d);
        // Scale up the new ReplicaSet within the surge.
        let total: i64 = all.iter().map(spec_replicas).sum();
        let current = spec_replicas(&new);
        if current > replicas {
            new = scale(store, ctx, &new, replicas);
        } else if current < replicas {
            let room = replicas + surge - total;
            if room > 0 {
                new = scale(store, ctx, &new, current + room.min(replicas - current));
            }
        }
        // Scale down old ReplicaSets as far as availability allows.
        let all_now: Vec<Value> = ctx.owned(store);
        let all_pods: i64 = all_now.iter().map(spec_replicas).sum();
        let min_available = replicas - unavailable;
        let new_unavailable =
            (spec_replicas(&new) - status_count(&new, "availableReplicas")).max(0);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down > 0 {
            let mut old_now: Vec<Value> = all_now
                .iter()
                .filter(|r| name_of(r) != new_name)
                .cloned()
                .collect();
            old_now.sort_by_key(revision);
            // First the unhealthy: replicas that are not available anyway.
            let mut cleaned = 0;
            for rs in &mut old_now {
                let spec = spec_replicas(rs);
                let avail = status_count(rs, "availableReplicas");
                if spec == 0 || spec == avail || cleaned >= max_scaled_down {
                    continue;
                }
                let n = (max_scaled_down - cleaned).min(spec - avail);
                *rs = scale(store, ctx, rs, spec - n);
                cleaned += n;
            }
            let available: i64 = ctx
                .owned(store)
                .iter()
                .map(|r| status_count(r, "availableReplicas"))
                .sum();
            if available > min_available {
                let mut budget = available - min_available;
                for rs in &old_now {
                    let spec = spec_replicas(rs);
                    if spec == 0 || budget == 0 {
                        continue;
                    }
                    let n = spec.min(budget);
                    scale(store, ctx, rs, spec - n);
                    budget -= n;
                }
            }
        }
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
