//! Discovery documents: what kubectl reads to map `deploy`, `po`, `rs` to resources.

use serde_json::{Value, json};

use super::resources::{RESOURCES, Resource, groups};
use super::reviews::REVIEWS;

fn resource_entry(r: &Resource) -> Vec<Value> {
    let verbs = if r.plural == "events" || r.plural == "configmaps" || r.plural == "leases" {
        json!([
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ])
    } else {
        json!([
            "create", "delete", "get", "list", "patch", "update", "watch"
        ])
    };
    let mut main = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": verbs,
    });
    if !r.short_names.is_empty() {
        main["shortNames"] = json!(r.short_names);
    }
    if matches!(r.plural, "deployments" | "replicasets" | "pods" | "jobs") {
        main["categories"] = json!(["all"]);
    }
    let mut out = vec![main];
    for sub in r.subresources {
        let (kind, verbs) = match *sub {
            "log" => ("Pod", json!(["get"])),
            "scale" => ("Scale", json!(["get", "patch", "update"])),
            _ => (r.kind, json!(["get", "patch", "update"])),
        };
        out.push(json!({
            "name": format!("{}/{sub}", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": kind,
            "verbs": verbs,
        }));
    }
    out
}

/// The reviews: create-only and cluster-scoped, as `kubectl auth whoami` and `can-i` look
/// them up.
fn review_entries(group_version: &str) -> impl Iterator<Item = Value> + '_ {
    REVIEWS
        .iter()
        .filter(move |r| format!("{}/v1", r.group) == group_version)
        .map(|r| {
            json!({
                "name": r.plural,
                "singularName": "",
                "namespaced": false,
                "kind": r.kind,
                "verbs": ["create"],
            })
        })
}

fn resource_list(group_version: &str) -> Option<Value> {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.api_version() == group_version)
        .flat_map(resource_entry)
        .chain(review_entries(group_version))
        .collect();
    (!resources.is_empty()).then(|| {
        json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        })
    })
}

/// The discovery document at `path`, if it is one.
pub fn answer(path: &str) -> Option<Value> {
    match path.trim_end_matches('/') {
        "/version" => Some(json!({
            "major": "1", "minor": "30", "gitVersion": "v1.30.0-sandbox",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22", "compiler": "gc",
            "platform": "linux/amd64",
        })),
        "/api" => Some(json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        })),
        "/apis" => Some(json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": groups().into_iter().chain(REVIEWS.iter().map(|r| r.group)).map(|g| json!({
                "name": g,
                "versions": [{"groupVersion": format!("{g}/v1"), "version": "v1"}],
                "preferredVersion": {"groupVersion": format!("{g}/v1"), "version": "v1"},
            })).collect::<Vec<_>>(),
        })),
        "/api/v1" => resource_list("v1"),
        p => {
            let gv = p.strip_prefix("/apis/")?;
            if gv.matches('/').count() != 1 {
                return None;
            }
            resource_list(gv)
        }
    }
}
