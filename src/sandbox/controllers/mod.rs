//! The controllers, run as one pass over the whole store: Deployments make ReplicaSets,
//! ReplicaSets and Jobs make pods, and the simulated kubelet moves pods along the clock.

pub mod deployment;
pub mod job;
pub mod pods;
pub mod replicaset;

use chrono::{DateTime, Utc};

use super::store::Store;

/// One pass. Run until nothing changes, so a single clock step settles completely.
pub fn reconcile(store: &mut Store, now: DateTime<Utc>) {
    for _ in 0..8 {
        let before = store.resource_version();
        deployment::sync(store, now);
        replicaset::sync(store, now);
        job::sync(store, now);
        pods::sync(store, now);
        if store.resource_version() == before {
            return;
        }
    }
}
