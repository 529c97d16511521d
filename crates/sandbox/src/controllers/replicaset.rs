//! The ReplicaSet controller: owned pods up or down to `spec.replicas`, and the counts in
//! status.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::pods::ready_since;
use crate::events::{self, Source};
use crate::naming;
use crate::resources::lookup;
use crate::store::{Store, WriteTo, name_of};

pub fn owned_by<'a>(objects: Vec<&'a Value>, uid: &str) -> Vec<&'a Value> {
    objects
        .into_iter()
        .filter(|o| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r["uid"] == uid && r["controller"] == true)
                })
        })
        .collect()
}

pub fn owner_reference(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Available: ready for at least `min_ready` seconds.
pub fn is_available(pod: &Value, min_ready: i64, now: DateTime<Utc>) -> bool {
    ready_since(pod).is_some_and(|t| t + Duration::seconds(min_ready) <= now)
}

/// A pod made from an owner's template: a ReplicaSet's or a Job's.
pub fn pod_from_template(owner: &Value, name: &str, extra_labels: &Value) -> Value {
    let template = &owner["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    if let Some(extra) = extra_labels.as_object() {
        for (k, v) in extra {
            labels[k] = v.clone();
        }
    }
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": labels,
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": template["spec"].clone(),
    });
    if let Some(a) = template["metadata"].get("annotations") {
        pod["metadata"]["annotations"] = a.clone();
    }
    pod["spec"]["nodeName"] = json!("sandbox-node");
    // What the API server would fill in had the pod come through it (phase Pending at once).
    crate::defaults::apply(lookup("", "v1", "pods").expect("pods"), &mut pod);
    pod
}

pub fn sync_one(store: &mut Store, rs: &Value, now: DateTime<Utc>) {
    let pods_r = lookup("", "v1", "pods").expect("pods");
    let rs_r = lookup("apps", "v1", "replicasets").expect("replicasets");
    let ns = rs["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = rs["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rs_name = name_of(rs).to_string();
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let pods: Vec<Value> = owned_by(store.list("pods", Some(&ns)), &uid)
        .into_iter()
        .cloned()
        .collect();
    let have = pods.len();
    if have < want {
        for i in 0..(want - have) {
            let name = format!(
                "{rs_name}-{}",
                naming::suffix(store.resource_version() * 31 + i as u64, 5)
            );
            let pod = pod_from_template(rs, &name, &json!({}));
            if let Ok(created) = store.create(pods_r, &ns, pod, now) {
                events::emit(
                    store,
                    now,
                    rs,
                    false,
                    "SuccessfulCreate",
                    &format!("Created pod: {}", name_of(&created)),
                    Source {
                        component: "replicaset-controller",
                    },
                );
            }
        }
    } else if have > want {
        // Not-ready pods go first, then the youngest: the kubelet's and controller's order.
        let mut victims: Vec<&Value> = pods.iter().collect();
        victims.sort_by_key(|p| {
            (
                ready_since(p).is_some(),
                std::cmp::Reverse(
                    p["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
            )
        });
        for p in victims.into_iter().take(have - want) {
            let name = name_of(p).to_string();
            if store.delete(pods_r, &ns, &name, false).is_ok() {
                events::emit(
                    store,
                    now,
                    rs,
                    false,
                    "SuccessfulDelete",
                    &format!("Deleted pod: {name}"),
                    Source {
                        component: "replicaset-controller",
                    },
                );
            }
        }
    }
    // Status from the pods as they are now.
    let rs_now = match store.get("replicasets", &ns, &rs_name) {
        Some(r) => r.clone(),
        None => return,
    };
    let pods = owned_by(store.list("pods", Some(&ns)), &uid);
    let min_ready = rs_now["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let ready = pods.iter().filter(|p| ready_since(p).is_some()).count();
    let available = pods
        .iter()
        .filter(|p| is_available(p, min_ready, now))
        .count();
    let status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": rs_now["metadata"]["generation"],
    });
    let mut status = status;
    if let Some(m) = status.as_object_mut() {
        // The API server omits zero counts.
        m.retain(|_, v| v.as_u64() != Some(0));
    }
    if rs_now["status"] != status {
        let mut updated = rs_now.clone();
        updated["status"] = status;
        updated["metadata"]["resourceVersion"] = json!("");
        let _ = store.update(rs_r, &ns, &rs_name, updated, WriteTo::Status);
    }
}

pub fn sync(store: &mut Store, now: DateTime<Utc>) {
    let all: Vec<Value> = store
        .list("replicasets", None)
        .into_iter()
        .cloned()
        .collect();
    for rs in all {
        sync_one(store, &rs, now);
    }
}
