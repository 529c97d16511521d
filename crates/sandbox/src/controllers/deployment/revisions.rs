//! The ReplicaSets that hold a Deployment's revisions: a new one for a new template, an
//! old one made the newest again by a rollback, and the cleanup of idle ones past
//! `revisionHistoryLimit`.

use serde_json::{Value, json};

use super::rollout::fenceposts;
use super::{
    Ctx, DESIRED, MAX_REPLICAS, REVISION, REVISION_HISTORY, revision, spec_replicas, status_count,
};
use crate::controllers::replicaset::owner_reference;
use crate::defaults::{comparable_template, normalise};
use crate::naming;
use crate::resources::lookup;
use crate::store::{Store, WriteTo, name_of};

/// Annotations of the Deployment that are not copied to its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

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

pub(super) fn create_new_rs(store: &mut Store, ctx: &Ctx, max_revision: i64) -> Option<Value> {
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

/// A ReplicaSet brought back by a rollback becomes the newest revision again, and carries
/// the Deployment's annotations as they are now. True if it had to be written; `rs` is then
/// what the store holds.
pub(super) fn carry_forward(
    store: &mut Store,
    ctx: &Ctx,
    rs: &mut Value,
    max_revision: i64,
) -> bool {
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
    for (k, v) in copied_annotations(ctx.deployment) {
        if updated["metadata"]["annotations"][&k] != v {
            updated["metadata"]["annotations"][&k] = v;
            changed = true;
        }
    }
    if changed {
        updated["metadata"]["resourceVersion"] = json!("");
        let name = name_of(rs).to_string();
        let r = lookup("apps", "v1", "replicasets").expect("replicasets");
        if let Ok(u) = store.update(r, &ctx.ns, &name, updated, WriteTo::Main) {
            *rs = u;
        }
    }
    changed
}

/// ReplicaSets scaled to nothing, oldest first, are deleted past `revisionHistoryLimit`.
pub(super) fn clean_up(store: &mut Store, ctx: &Ctx, new_name: Option<&str>) {
    let rs_r = lookup("apps", "v1", "replicasets").expect("replicasets");
    let limit = ctx.deployment["spec"]["revisionHistoryLimit"]
        .as_i64()
        .unwrap_or(10)
        .max(0) as usize;
    let mut idle: Vec<Value> = ctx
        .owned(store)
        .into_iter()
        .filter(|r| {
            Some(name_of(r)) != new_name
                && spec_replicas(r) == 0
                && status_count(r, "replicas") == 0
        })
        .collect();
    idle.sort_by_key(revision);
    if idle.len() > limit {
        for rs in idle.iter().take(idle.len() - limit) {
            let _ = store.delete(rs_r, &ctx.ns, name_of(rs), true);
        }
    }
}
