//! The revision history of a Deployment as `kubectl rollout history` computes it
//! (kubectl `pkg/polymorphichelpers/history.go`, `pkg/util/deployment/deployment.go`): its
//! ReplicaSets found by the Deployment's selector, kept only when the Deployment is their
//! controller, numbered by their revision annotation. `rollout undo` picks its target from
//! the same list in the same order, so both live here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::api::{Api, ListParams};
use kube::core::Selector;
use serde_json::Value;

use super::Target;
use super::error::ActionError;

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
pub const ROLLBACK_TO_ANNOTATION: &str = "deprecated.deployment.rollback.to";
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// The label the controller adds to tell its ReplicaSets' pods apart.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// One row of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub revision: i64,
    pub replica_set: String,
    /// The image of the target container in this revision's template.
    pub image: Option<String>,
    /// `kubernetes.io/change-cause`; kubectl prints `<none>` when it is missing or empty.
    pub change_cause: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// Desired (`spec.replicas`) and ready pods of the ReplicaSet.
    pub replicas: i32,
    pub ready_replicas: i32,
    /// Its template is the Deployment's: the revision the Deployment is moving to or runs.
    pub current: bool,
}

/// A Deployment with the ReplicaSets it controls, as read from the cluster.
#[derive(Debug, Clone)]
pub struct History {
    pub deployment: Deployment,
    /// In kubectl's order (see [`kubectl_order`]).
    pub replica_sets: Vec<ReplicaSet>,
    pub revisions: Vec<Revision>,
}

/// The Deployment's `spec.selector` as a label-selector query string.
pub fn selector(d: &Deployment) -> Result<String, String> {
    Selector::try_from(d.spec.selector.clone())
        .map(|s| s.to_string())
        .map_err(|e| format!("the Deployment's selector is not valid: {}", e.0))
}

/// The Deployment is the ReplicaSet's controller: a ReplicaSet that merely matches the
/// selector (adopted elsewhere, or orphaned) is not part of its history.
pub fn is_controlled_by(rs: &ReplicaSet, d: &Deployment) -> bool {
    let Some(uid) = d.metadata.uid.as_deref() else {
        return false;
    };
    rs.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .is_some_and(|r| r.uid == uid)
}

/// The revision annotation the way kubectl reads it: missing is 0; unparsable is an error
/// (kubectl then leaves that ReplicaSet out).
pub fn revision_of(rs: &ReplicaSet) -> Result<i64, String> {
    match annotation(rs, REVISION_ANNOTATION) {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| format!("revision {v:?} of ReplicaSet {:?}", name(rs))),
    }
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn name(rs: &ReplicaSet) -> &str {
    rs.metadata.name.as_deref().unwrap_or_default()
}

pub fn container_image<'a>(template: &'a PodTemplateSpec, container: &str) -> Option<&'a str> {
    template
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == container)
        .and_then(|c| c.image.as_deref())
}

/// A template as JSON with what kubectl's semantic equality ignores taken out: the
/// `pod-template-hash` label, and nulls and empty maps and lists (Go's nil equals empty).
pub fn comparable(template: &PodTemplateSpec) -> Value {
    let mut v = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    drop_empty(&v)
}

fn drop_empty(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), drop_empty(v)))
                .filter(|(_, v)| match v {
                    Value::Null => false,
                    Value::Object(o) => !o.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    _ => true,
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(drop_empty).collect()),
        other => other.clone(),
    }
}

/// kubectl's `equalIgnoreHash`.
pub fn templates_match(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    comparable(a) == comparable(b)
}

fn rs_template(rs: &ReplicaSet) -> PodTemplateSpec {
    rs.spec.template.clone().unwrap_or_default()
}

fn created(rs: &ReplicaSet) -> Option<DateTime<Utc>> {
    let t = &rs.metadata.creation_timestamp.as_ref()?.0;
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0) as u32)
}

/// The ReplicaSets the Deployment controls, in the order kubectl walks them: the old ones
/// by creation time (then name), then the new one (the oldest whose template is the
/// Deployment's). Undo's tie-breaking between equal revisions depends on this order.
pub fn kubectl_order(d: &Deployment, replica_sets: &[ReplicaSet]) -> Vec<ReplicaSet> {
    let mut owned: Vec<ReplicaSet> = replica_sets
        .iter()
        .filter(|rs| is_controlled_by(rs, d))
        .cloned()
        .collect();
    owned.sort_by(|a, b| {
        created(a)
            .cmp(&created(b))
            .then_with(|| name(a).cmp(name(b)))
    });
    let new = owned
        .iter()
        .position(|rs| templates_match(&rs_template(rs), &d.spec.template));
    if let Some(i) = new {
        let rs = owned.remove(i);
        owned.push(rs);
    }
    owned
}

/// The history rows, oldest revision first. As in kubectl, rows are keyed by revision: of
/// two ReplicaSets claiming one number, the later in kubectl's order wins.
pub fn revisions(d: &Deployment, replica_sets: &[ReplicaSet], container: &str) -> Vec<Revision> {
    let mut rows: BTreeMap<i64, Revision> = BTreeMap::new();
    for rs in kubectl_order(d, replica_sets) {
        let Ok(revision) = revision_of(&rs) else {
            continue;
        };
        let template = rs_template(&rs);
        rows.insert(
            revision,
            Revision {
                revision,
                replica_set: name(&rs).to_string(),
                image: container_image(&template, container).map(str::to_string),
                change_cause: annotation(&rs, CHANGE_CAUSE_ANNOTATION)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
                created: created(&rs),
                replicas: rs.spec.replicas.unwrap_or(1),
                ready_replicas: rs
                    .status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0),
                current: templates_match(&template, &d.spec.template),
            },
        );
    }
    rows.into_values().collect()
}

/// Reads the Deployment and its ReplicaSets the way `kubectl rollout history` does: a GET,
/// then a list by the Deployment's selector.
pub async fn fetch(client: &kube::Client, target: &Target) -> Result<History, ActionError> {
    let doing = format!(
        "reading the rollout history of deployment {:?} in namespace {:?}",
        target.deployment, target.namespace
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &target.namespace);
    let deployment = deployments
        .get(&target.deployment)
        .await
        .map_err(|e| ActionError::from_kube(&doing, e))?;
    let selector = selector(&deployment).map_err(|reason| ActionError::new(&doing, reason))?;
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), &target.namespace);
    let listed = replica_sets
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ActionError::from_kube(&doing, e))?;
    let replica_sets = kubectl_order(&deployment, &listed.items);
    let revisions = revisions(&deployment, &replica_sets, &target.container);
    Ok(History {
        deployment,
        replica_sets,
        revisions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(image: &str) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "uid": "d-1"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"},
                             "matchExpressions": [{"key": "tier", "operator": "In", "values": ["api"]}]},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "side", "image": "side:1"},
                                                     {"name": "api", "image": image}]}},
            },
        }))
        .unwrap()
    }

    fn rs(name: &str, revision: &str, image: &str, owner: &str, created: &str) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "creationTimestamp": created,
                "annotations": {REVISION_ANNOTATION: revision, CHANGE_CAUSE_ANNOTATION: format!("release {image}")},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                     "uid": owner, "controller": true}],
            },
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web", POD_TEMPLATE_HASH_LABEL: name}},
                             "spec": {"containers": [{"name": "side", "image": "side:1"},
                                                     {"name": "api", "image": image}]}},
            },
            "status": {"replicas": 2, "readyReplicas": 1},
        }))
        .unwrap()
    }

    #[test]
    fn selector_includes_expressions() {
        assert_eq!(
            selector(&deployment("web:2")).unwrap(),
            "app=web,tier in (api)"
        );
    }

    #[test]
    fn history_keeps_only_controlled_replica_sets_by_revision() {
        let d = deployment("web:2");
        let all = vec![
            rs("web-b", "2", "web:2", "d-1", "2026-01-02T00:00:00Z"),
            rs("web-a", "1", "web:1", "d-1", "2026-01-01T00:00:00Z"),
            rs(
                "other",
                "7",
                "web:9",
                "someone-else",
                "2026-01-01T00:00:00Z",
            ),
        ];
        let rows = revisions(&d, &all, "api");
        let summary: Vec<(i64, &str, Option<&str>, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.revision,
                    r.replica_set.as_str(),
                    r.image.as_deref(),
                    r.current,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1, "web-a", Some("web:1"), false),
                (2, "web-b", Some("web:2"), true)
            ]
        );
        assert_eq!(rows[0].change_cause.as_deref(), Some("release web:1"));
        assert_eq!((rows[1].replicas, rows[1].ready_replicas), (2, 1));
        assert_eq!(
            rows[0].created.map(|t| t.to_rfc3339()),
            Some("2026-01-01T00:00:00+00:00".into())
        );
    }

    #[test]
    fn the_new_replica_set_comes_last_and_bad_revisions_are_left_out() {
        let d = deployment("web:1");
        let all = vec![
            rs("web-a", "1", "web:1", "d-1", "2026-01-01T00:00:00Z"),
            rs("web-b", "2", "web:2", "d-1", "2026-01-02T00:00:00Z"),
            rs("web-c", "x", "web:3", "d-1", "2026-01-03T00:00:00Z"),
        ];
        let order: Vec<String> = kubectl_order(&d, &all)
            .iter()
            .map(|r| r.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(order, ["web-b", "web-c", "web-a"]);
        let revs: Vec<i64> = revisions(&d, &all, "api")
            .iter()
            .map(|r| r.revision)
            .collect();
        assert_eq!(revs, [1, 2]);
    }

    #[test]
    fn templates_match_ignoring_hash_and_empty_fields() {
        let a = rs("web-a", "1", "web:1", "d-1", "2026-01-01T00:00:00Z");
        let mut t: PodTemplateSpec = deployment("web:1").spec.template;
        assert!(templates_match(&rs_template(&a), &t));
        t.spec.as_mut().unwrap().containers[1].resources = Some(Default::default());
        t.metadata.as_mut().unwrap().annotations = Some(BTreeMap::new());
        assert!(templates_match(&rs_template(&a), &t));
        t.spec.as_mut().unwrap().containers[1].image = Some("web:2".into());
        assert!(!templates_match(&rs_template(&a), &t));
    }
}
