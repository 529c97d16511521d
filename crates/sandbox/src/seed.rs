//! The state the sandbox starts with: namespaces `staging` and `production`, each with the
//! `deal-scout-api` Deployment rolled out through 1.2.1 then 1.2.2, as if over past weeks.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::controllers;
use super::defaults;
use super::resources::lookup;
use super::store::{Store, WriteTo};

pub const DEPLOYMENT: &str = "deal-scout-api";
pub const CONTAINER: &str = "api";
pub const IMAGE_REPOSITORY: &str = "deal-scout-api";

/// (namespace, replicas) of the seeded environments.
pub const ENVIRONMENTS: &[(&str, i64)] = &[("staging", 2), ("production", 4)];

fn deployment(ns: &str, replicas: i64, version: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": DEPLOYMENT,
            "namespace": ns,
            "labels": {"app": DEPLOYMENT},
            "annotations": {"kubernetes.io/change-cause": format!("release {version}")},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": DEPLOYMENT}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": {"app": DEPLOYMENT}},
                "spec": {"containers": [{
                    "name": CONTAINER,
                    "image": format!("{IMAGE_REPOSITORY}:{version}"),
                    "ports": [{"containerPort": 8000, "protocol": "TCP"}],
                }]},
            },
        },
    })
}

/// Runs the controllers second by second from `from` until the rollout settles.
fn settle(store: &mut Store, from: DateTime<Utc>) {
    let mut memory = controllers::Memory::default();
    for s in 0..600 {
        let before = store.resource_version();
        controllers::reconcile(store, &mut memory, from + Duration::seconds(s));
        if s > 30 && store.resource_version() == before {
            return;
        }
    }
}

pub fn populate(store: &mut Store, now: DateTime<Utc>) {
    let ns_r = lookup("", "v1", "namespaces").expect("namespaces");
    let deploy_r = lookup("apps", "v1", "deployments").expect("deployments");
    let long_ago = now - Duration::days(90);
    for ns in ["default", "staging", "production"] {
        let mut obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        defaults::apply(ns_r, &mut obj);
        let _ = store.create(ns_r, "", obj, long_ago);
    }
    for (ns, replicas) in ENVIRONMENTS {
        let first = now - Duration::days(15);
        let mut d = deployment(ns, *replicas, "1.2.1");
        defaults::apply(deploy_r, &mut d);
        if store.create(deploy_r, ns, d, first).is_err() {
            continue;
        }
        settle(store, first);
        let second = now - Duration::days(1);
        let mut d = deployment(ns, *replicas, "1.2.2");
        defaults::apply(deploy_r, &mut d);
        if store
            .update(deploy_r, ns, DEPLOYMENT, d, WriteTo::Main)
            .is_ok()
        {
            settle(store, second);
        }
    }
}
