//! The controllers, run as one pass over the whole store: Deployments make ReplicaSets,
//! ReplicaSets and Jobs make pods, and the simulated kubelet moves pods along the clock.

pub mod deployment;
pub mod job;
pub mod pods;
pub mod replicaset;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::store::Store;

/// What the controllers remember between passes, so an idle cluster costs next to nothing.
#[derive(Debug, Default)]
pub struct Memory {
    /// Per pod uid: the resourceVersion its status was last computed at, and when it next
    /// changes (`None`: not by time alone).
    pub pod_wakeups: HashMap<String, (u64, Option<DateTime<Utc>>)>,
}

/// One pass. Run until nothing changes, so a single clock step settles completely.
pub fn reconcile(store: &mut Store, memory: &mut Memory, now: DateTime<Utc>) {
    for _ in 0..8 {
        let before = store.resource_version();
        deployment::sync(store, now);
        replicaset::sync(store, now);
        job::sync(store, now);
        pods::sync(store, memory, now);
        if store.resource_version() == before {
            return;
        }
    }
}
