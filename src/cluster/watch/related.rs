//! Which Events concern the Deployment: the watch of a namespace's Events is filtered on the
//! client by the names the other streams have delivered.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use tokio::sync::Notify;

use crate::cluster::Change;

/// The names an Event may concern, learnt from the other streams as they deliver.
pub(super) struct Related {
    deployment: String,
    names: Mutex<Names>,
    /// Signalled when a name was learnt: held-back events may now be ours.
    pub(super) changed: Notify,
}

#[derive(Default)]
struct Names {
    /// Kept after a ReplicaSet is deleted: events about its pods outlive it. Few: one per
    /// revision.
    replica_sets: HashSet<String>,
    /// Only the pods there now; a deleted pod is still recognised by its ReplicaSet's name.
    pods: HashSet<String>,
    jobs: HashSet<String>,
}

fn name<K: kube::Resource>(k: &K) -> String {
    k.meta().name.clone().unwrap_or_default()
}

impl Related {
    pub(super) fn new(deployment: &str) -> Self {
        Self {
            deployment: deployment.to_string(),
            names: Mutex::default(),
            changed: Notify::new(),
        }
    }

    fn names(&self) -> MutexGuard<'_, Names> {
        self.names.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn grew(&self, grew: bool) {
        if grew {
            self.changed.notify_one();
        }
    }

    pub(super) fn saw_replica_sets(&self, change: &Change<ReplicaSet>) {
        let grew = {
            let mut n = self.names();
            match change {
                Change::Applied(rs) => n.replica_sets.insert(name(rs)),
                Change::Replaced(all) => all
                    .iter()
                    .fold(false, |g, rs| n.replica_sets.insert(name(rs)) | g),
                Change::Deleted(_) => false,
            }
        };
        self.grew(grew);
    }

    pub(super) fn saw_pods(&self, change: &Change<Pod>) {
        let grew = {
            let mut n = self.names();
            match change {
                Change::Applied(p) => n.pods.insert(name(p)),
                Change::Replaced(all) => {
                    n.pods = all.iter().map(name).collect();
                    true
                }
                Change::Deleted(p) => {
                    n.pods.remove(&name(p));
                    false
                }
            }
        };
        self.grew(grew);
    }

    pub(super) fn saw_jobs(&self, change: &Change<Job>) {
        let grew = {
            let mut n = self.names();
            match change {
                Change::Applied(j) => n.jobs.insert(name(j)),
                Change::Replaced(all) => {
                    n.jobs.extend(all.iter().map(name));
                    true
                }
                Change::Deleted(_) => false,
            }
        };
        self.grew(grew);
    }

    /// Whether `e` is about the Deployment, one of its ReplicaSets or Pods, or our Jobs
    /// (and their pods, named `<owner>-<suffix>` like ReplicaSets' pods).
    pub(super) fn about(&self, e: &KubeEvent) -> bool {
        let io = &e.involved_object;
        let Some(object) = io.name.as_deref() else {
            return false;
        };
        let n = self.names();
        match io.kind.as_deref() {
            Some("Deployment") => object == self.deployment,
            Some("ReplicaSet") => n.replica_sets.contains(object),
            Some("Job") => n.jobs.contains(object),
            Some("Pod") => {
                n.pods.contains(object)
                    || object.rsplit_once('-').is_some_and(|(owner, _)| {
                        n.replica_sets.contains(owner) || n.jobs.contains(owner)
                    })
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    fn event(kind: &str, name: &str) -> KubeEvent {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{name}.1")},
            "involvedObject": {"kind": kind, "name": name},
        }))
        .unwrap()
    }

    fn named<K: DeserializeOwned>(name: &str) -> K {
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {
            "selector": {}, "template": {}}}))
        .unwrap()
    }

    #[test]
    fn events_are_kept_when_about_our_objects() {
        let r = Related::new("web");
        assert!(r.about(&event("Deployment", "web")));
        assert!(!r.about(&event("Deployment", "other")));
        assert!(!r.about(&event("ReplicaSet", "web-abc")));
        assert!(!r.about(&event("Pod", "web-abc-x1y2z")));

        r.saw_replica_sets(&Change::Applied(named("web-abc")));
        assert!(r.about(&event("ReplicaSet", "web-abc")));
        // Pods of a known ReplicaSet, even before (or after) the pod stream has them.
        assert!(r.about(&event("Pod", "web-abc-x1y2z")));
        assert!(!r.about(&event("Pod", "other-abc-x1y2z")));
        assert!(!r.about(&event("ConfigMap", "web-abc")));

        r.saw_pods(&Change::Applied(named("oddly-named")));
        assert!(r.about(&event("Pod", "oddly-named")));
        r.saw_pods(&Change::Deleted(named("oddly-named")));
        assert!(!r.about(&event("Pod", "oddly-named")));

        r.saw_jobs(&Change::Replaced(vec![named("web-migrate-1-2-3")]));
        assert!(r.about(&event("Job", "web-migrate-1-2-3")));
        assert!(r.about(&event("Pod", "web-migrate-1-2-3-q8w7e")));
    }
}
