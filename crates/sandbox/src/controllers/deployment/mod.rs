//! The Deployment controller, after kubernetes `pkg/controller/deployment` (sync.go,
//! rolling.go, progress.go): the new ReplicaSet by template, revisions, surge and
//! unavailability steps, conditions and the progress deadline, history cleanup.

mod revisions;
mod rollout;
mod status;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::replicaset::owned_by;
use crate::defaults::comparable_template;
use crate::store::{Store, name_of};

pub use rollout::{fenceposts, resolve};

const REVISION: &str = "deployment.kubernetes.io/revision";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";

pub fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
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

impl Ctx<'_> {
    /// The ReplicaSets the Deployment owns, as the store holds them now.
    fn owned(&self, store: &Store) -> Vec<Value> {
        let uid = self.deployment["metadata"]["uid"]
            .as_str()
            .unwrap_or_default();
        owned_by(store.list("replicasets", Some(&self.ns)), uid)
            .into_iter()
            .cloned()
            .collect()
    }
}

pub fn sync_one(store: &mut Store, d: &Value, now: DateTime<Utc>) {
    let ns = d["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ctx = Ctx {
        ns,
        deployment: d,
        now,
    };
    let paused = d["spec"]["paused"] == true;

    let mut all = ctx.owned(store);
    let wanted = comparable_template(&d["spec"]["template"]);
    let max_revision = all.iter().map(revision).max().unwrap_or(0);
    let mut new_rs = all
        .iter()
        .find(|rs| comparable_template(&rs["spec"]["template"]) == wanted)
        .cloned();
    let mut created_rs = false;
    if new_rs.is_none() && !paused {
        new_rs = revisions::create_new_rs(store, &ctx, max_revision);
        created_rs = new_rs.is_some();
        all = ctx.owned(store);
    } else if let Some(rs) = &mut new_rs
        && revisions::carry_forward(store, &ctx, rs, max_revision)
    {
        all = ctx.owned(store);
    }
    let new_name = new_rs.as_ref().map(|r| name_of(r).to_string());

    if !paused && let Some(new) = new_rs {
        rollout::step(store, &ctx, new, &all);
    }
    let complete = status::update(store, &ctx, new_name.as_deref(), paused, created_rs);
    // History cleanup, only once the rollout is complete.
    if complete && !paused {
        revisions::clean_up(store, &ctx, new_name.as_deref());
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
