//! The resources the sandbox serves, with what discovery says about each.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    /// "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub subresources: &'static [&'static str],
    /// Where objects are kept: events.k8s.io events share the core events' store.
    pub store: &'static str,
}

const fn res(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    group: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    subresources: &'static [&'static str],
) -> Resource {
    Resource {
        plural,
        singular,
        kind,
        group,
        version: "v1",
        namespaced,
        short_names,
        subresources,
        store: plural,
    }
}

pub const RESOURCES: &[Resource] = &[
    res(
        "deployments",
        "deployment",
        "Deployment",
        "apps",
        true,
        &["deploy"],
        &["status", "scale"],
    ),
    res(
        "replicasets",
        "replicaset",
        "ReplicaSet",
        "apps",
        true,
        &["rs"],
        &["status", "scale"],
    ),
    res("pods", "pod", "Pod", "", true, &["po"], &["status", "log"]),
    res("jobs", "job", "Job", "batch", true, &[], &["status"]),
    res("events", "event", "Event", "", true, &["ev"], &[]),
    Resource {
        store: "events",
        ..res(
            "events",
            "event",
            "Event",
            "events.k8s.io",
            true,
            &["ev"],
            &[],
        )
    },
    res(
        "configmaps",
        "configmap",
        "ConfigMap",
        "",
        true,
        &["cm"],
        &[],
    ),
    res(
        "leases",
        "lease",
        "Lease",
        "coordination.k8s.io",
        true,
        &[],
        &[],
    ),
    res(
        "namespaces",
        "namespace",
        "Namespace",
        "",
        false,
        &["ns"],
        &["status"],
    ),
];

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, as Status messages name resources.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource a stored object's kind belongs to, in its home group.
pub fn by_store(store: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.store == store)
}

pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}
