//! Server-side printing for `kubectl get`: the meta.k8s.io/v1 Table a real API server sends
//! when kubectl asks for `as=Table` (with a plain list kubectl prints only NAME and AGE).
//!
//! Cells follow kubectl 1.20's `pkg/printers/internalversion/printers.go`. Priority-1 cells
//! are always sent, as a real server does; kubectl shows them only with `-o wide`.

mod age;
mod cells;
mod fields;
mod pod_status;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use age::human_age;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    /// The `includeObject` query parameter; anything else gets the server default, Metadata.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

const NAME: &str = "Name|string|0|Name must be unique within a namespace.";
const AGE: &str = "Age|string|0|The server time when this object was created.";
const TEMPLATE: &str = "Containers|string|1|Names of each container in the template.
    Images|string|1|Images referenced by each container in the template.
    Selector|string|1|Label selector for pods.";

/// A resource's own columns, one `name|type|priority|description` per line.
fn own_columns(resource: &str) -> &'static str {
    match resource {
        "deployments" => {
            "Ready|string|0|Ready pods out of the desired replicas.
            Up-to-date|integer|0|Pods that run the desired template.
            Available|integer|0|Pods ready for at least minReadySeconds."
        }
        "replicasets" => {
            "Desired|integer|0|The number of desired replicas.
            Current|integer|0|The most recently observed number of replicas.
            Ready|integer|0|The number of ready replicas."
        }
        "pods" => {
            "Ready|string|0|The aggregate readiness state of this pod.
            Status|string|0|The aggregate status of the containers in this pod.
            Restarts|integer|0|The number of times the containers have been restarted.
            IP|string|1|IP address allocated to the pod.
            Node|string|1|The node the pod is scheduled onto."
        }
        "jobs" => {
            "Completions|string|0|The completion status of the job.
            Duration|string|0|Time required to complete the job."
        }
        "events" => {
            "Last Seen|string|0|When the event was last seen.
            Type|string|0|Type of this event (Normal, Warning).
            Reason|string|0|Why the object got into its current state.
            Object|string|0|The object this event is about.
            Message|string|0|A human-readable description of the event."
        }
        "configmaps" => "Data|integer|0|Number of keys in data and binaryData.",
        "namespaces" => "Status|string|0|The phase of the namespace.",
        "leases" => "Holder|string|0|The holder of the lease.",
        _ => "",
    }
}

/// The columnDefinitions for a resource (plural name); unknown ones get Name and Age.
pub fn columns(resource: &str) -> Value {
    let mut specs: Vec<&str> = own_columns(resource).lines().collect();
    if matches!(resource, "deployments" | "replicasets") {
        specs.extend(TEMPLATE.lines());
    }
    // kubectl 1.20 prints events without Name and Age columns.
    if resource != "events" {
        let wide = specs.iter().position(|s| s.contains("|1|"));
        specs.insert(wide.unwrap_or(specs.len()), AGE);
        specs.insert(0, NAME);
    }
    let definitions = specs.iter().map(|spec| {
        let fields: Vec<&str> = spec.trim().splitn(4, '|').collect();
        let [name, kind, priority, description] = fields[..] else {
            unreachable!("malformed column spec {spec}")
        };
        let format = if name == "Name" { "name" } else { "" };
        let priority: u8 = priority.parse().unwrap_or(0);
        json!({"name": name, "type": kind, "format": format,
               "description": description, "priority": priority})
    });
    Value::Array(definitions.collect())
}

/// One row: `{"cells":[...],"object":...}`; `object` is PartialObjectMetadata, the whole
/// object, or null, following `include`.
pub fn row(resource: &str, obj: &Value, now: DateTime<Utc>, include: IncludeObject) -> Value {
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => obj.clone(),
    };
    json!({"cells": cells::cells(resource, obj, now), "object": object})
}

/// The whole Table for a list.
pub fn table(
    resource: &str,
    objects: &[Value],
    resource_version: &str,
    now: DateTime<Utc>,
    include: IncludeObject,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| row(resource, o, now, include))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns(resource),
        "rows": rows,
    })
}
