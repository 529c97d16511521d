//! The live cluster: watchers that keep a view of one environment's Deployment up to date,
//! kubectl's rollout rules, and the actions (deploy, undo, migrations, health) that change
//! or probe it. Everything here talks to the API through `kube`; nothing here draws.

pub mod actions;
pub mod client;
pub mod error;
pub mod health;
pub mod history;
pub mod identity;
pub mod journal;
pub mod lease;
pub mod migrate;
pub mod progress;
pub mod undo;
pub mod view;
pub mod watch;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};

use crate::config::Environment;

/// Labels the cockpit puts on what it creates (migration Jobs), so its watchers find them.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "release-cockpit";
/// On a migration Job: the Deployment whose pod template it was built from.
pub const FOR_DEPLOYMENT_LABEL: &str = "release-cockpit/deployment";
/// The field manager of every write the cockpit makes.
pub const FIELD_MANAGER: &str = "release-cockpit";

/// What the cockpit acts on in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub env: String,
    pub namespace: String,
    pub deployment: String,
    pub container: String,
    pub image_repository: String,
}

impl Target {
    pub fn of(env: &Environment) -> Self {
        Self {
            env: env.name.clone(),
            namespace: env.namespace.clone(),
            deployment: env.deployment.clone(),
            container: env.container.clone(),
            image_repository: env.image_repository.clone(),
        }
    }

    /// `deal-scout-api:1.2.3` for version `1.2.3`.
    pub fn image(&self, version: &str) -> String {
        format!("{}:{version}", self.image_repository)
    }
}

/// One watch stream of the live view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    Deployment,
    ReplicaSets,
    Pods,
    Events,
    Jobs,
}

impl Stream {
    pub const ALL: [Stream; 5] = [
        Stream::Deployment,
        Stream::ReplicaSets,
        Stream::Pods,
        Stream::Events,
        Stream::Jobs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stream::Deployment => "deployment",
            Stream::ReplicaSets => "replicasets",
            Stream::Pods => "pods",
            Stream::Events => "events",
            Stream::Jobs => "jobs",
        }
    }
}

/// What a watch stream saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<K> {
    Applied(K),
    Deleted(K),
    /// A complete (re)list: everything not in it is gone.
    Replaced(Vec<K>),
}

// Each update crosses one channel once; boxing the objects would add an allocation per
// watch event to save a copy of a few KB.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterMsg {
    Deployment(Change<Deployment>),
    ReplicaSet(Change<ReplicaSet>),
    Pod(Change<Pod>),
    Event(Change<KubeEvent>),
    Job(Change<Job>),
    /// The stream is (again) delivering: its last list or event arrived.
    StreamUp(Stream),
    /// The stream failed and is backing off; the view keeps its last state meanwhile.
    StreamDown {
        stream: Stream,
        error: String,
    },
    /// The Deployment is not there (or not readable); the watchers wait for it.
    Missing {
        error: String,
    },
}

/// A `ClusterMsg` for one environment, stamped with the cockpit's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterUpdate {
    pub env: String,
    pub at: DateTime<Utc>,
    pub msg: ClusterMsg,
}

pub use crate::sink::Sink;
