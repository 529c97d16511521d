//! `kubectl rollout undo` planned without touching the cluster (kubectl
//! `pkg/polymorphichelpers/rollback.go`, release-1.20): which ReplicaSet to go back to, the
//! refusals word for word, the no-op it skips, and the JSON patch it sends. Matching kubectl
//! exactly means the cockpit's undo and an engineer's `kubectl rollout undo` in a terminal
//! leave the cluster in the same state and say the same things.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Value, json};

use super::history::{
    DESIRED_REPLICAS_ANNOTATION, LAST_APPLIED_ANNOTATION, MAX_REPLICAS_ANNOTATION,
    POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION,
    ROLLBACK_TO_ANNOTATION, kubectl_order, revision_of, templates_match,
};

/// Annotations that describe the Deployment itself rather than a revision: an undo keeps the
/// Deployment's own values of these and never copies the ReplicaSet's.
pub const ANNOTATIONS_TO_SKIP: [&str; 6] = [
    LAST_APPLIED_ANNOTATION,
    REVISION_ANNOTATION,
    REVISION_HISTORY_ANNOTATION,
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    ROLLBACK_TO_ANNOTATION,
];

/// kubectl's refusals; `Display` is kubectl's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UndoError {
    #[error("unable to find specified revision {0} in history")]
    RevisionNotFound(i64),
    #[error("no rollout history found for deployment {0:?}")]
    NoHistory(String),
    #[error(
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{0}' and try again"
    )]
    Paused(String),
}

/// What an undo will do.
#[derive(Debug, Clone, PartialEq)]
pub enum UndoPlan {
    /// The Deployment already runs that template: nothing is sent.
    Skip {
        /// The revision found (kubectl's message names the one asked for instead).
        revision: i64,
        /// `skipped rollback (current template already matches revision N)`.
        message: String,
    },
    Rollback(Box<RollbackPatch>),
}

/// The patch that puts an old revision's template back.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackPatch {
    pub revision: i64,
    pub replica_set: String,
    /// The revision's template without `pod-template-hash`.
    pub template: PodTemplateSpec,
    /// The Deployment's annotations after the undo.
    pub annotations: BTreeMap<String, String>,
}

impl RollbackPatch {
    /// The `application/json-patch+json` body kubectl sends.
    pub fn body(&self) -> Value {
        json!([
            {"op": "replace", "path": "/spec/template", "value": self.template},
            {"op": "replace", "path": "/metadata/annotations", "value": self.annotations},
        ])
    }
}

/// kubectl's `deploymentRevision`: `to_revision` N (`Some(0)` and `None` mean the previous
/// revision, the second-highest) among the ReplicaSets the Deployment controls.
fn target(
    d: &Deployment,
    replica_sets: &[ReplicaSet],
    to_revision: i64,
) -> Result<(ReplicaSet, i64), UndoError> {
    let mut latest: Option<(ReplicaSet, i64)> = None;
    let mut previous: Option<(ReplicaSet, i64)> = None;
    for rs in kubectl_order(d, replica_sets) {
        let Ok(v) = revision_of(&rs) else { continue };
        if to_revision == 0 {
            let latest_rev = latest.as_ref().map_or(-1, |l| l.1);
            let previous_rev = previous.as_ref().map_or(-1, |p| p.1);
            if latest_rev < v {
                previous = latest.take();
                latest = Some((rs, v));
            } else if previous_rev < v {
                previous = Some((rs, v));
            }
        } else if to_revision == v {
            return Ok((rs, v));
        }
    }
    if to_revision > 0 {
        return Err(UndoError::RevisionNotFound(to_revision));
    }
    previous.ok_or_else(|| UndoError::NoHistory(d.metadata.name.clone().unwrap_or_default()))
}

/// Plans `kubectl rollout undo` (`--to-revision` is `to_revision`) of `d`, whose
/// ReplicaSets are `replica_sets` (those it does not control are ignored). The checks run in
/// kubectl's order: the revision exists, the Deployment is not paused, it differs.
pub fn plan(
    d: &Deployment,
    replica_sets: &[ReplicaSet],
    to_revision: Option<i64>,
) -> Result<UndoPlan, UndoError> {
    let to_revision = to_revision.unwrap_or(0);
    if to_revision < 0 {
        return Err(UndoError::RevisionNotFound(to_revision));
    }
    let (rs, revision) = target(d, replica_sets, to_revision)?;
    let name = d.metadata.name.clone().unwrap_or_default();
    if d.spec.paused == Some(true) {
        return Err(UndoError::Paused(name));
    }
    let mut template = rs.spec.template.clone().unwrap_or_default();
    if templates_match(&template, &d.spec.template) {
        return Ok(UndoPlan::Skip {
            revision,
            message: format!(
                "skipped rollback (current template already matches revision {to_revision})"
            ),
        });
    }
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
    let mut annotations = BTreeMap::new();
    let own = d.metadata.annotations.clone().unwrap_or_default();
    for key in ANNOTATIONS_TO_SKIP {
        if let Some(v) = own.get(key) {
            annotations.insert(key.to_string(), v.clone());
        }
    }
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    Ok(UndoPlan::Rollback(Box::new(RollbackPatch {
        revision,
        replica_set: rs.metadata.name.clone().unwrap_or_default(),
        template,
        annotations,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::history::CHANGE_CAUSE_ANNOTATION;

    fn deployment(image: &str, paused: bool) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {
                "name": "web", "uid": "d-1",
                "annotations": {
                    REVISION_ANNOTATION: "3",
                    CHANGE_CAUSE_ANNOTATION: "release 3",
                    LAST_APPLIED_ANNOTATION: "{}",
                    "team": "deals",
                },
            },
            "spec": {
                "paused": paused,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "api", "image": image}]}},
            },
        }))
        .unwrap()
    }

    fn rs(n: i64, image: &str, owner: &str) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {
                "name": format!("web-{n}"),
                "creationTimestamp": format!("2026-01-0{n}T00:00:00Z"),
                "annotations": {
                    REVISION_ANNOTATION: n.to_string(),
                    CHANGE_CAUSE_ANNOTATION: format!("release {n}"),
                    DESIRED_REPLICAS_ANNOTATION: "2",
                    MAX_REPLICAS_ANNOTATION: "3",
                },
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                     "uid": owner, "controller": true}],
            },
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web", POD_TEMPLATE_HASH_LABEL: format!("h{n}")},
                                          "creationTimestamp": null},
                             "spec": {"containers": [{"name": "api", "image": image, "resources": {}}]}},
            },
        }))
        .unwrap()
    }

    /// Revisions 1..=3 of `web`, the Deployment at revision 3.
    fn three() -> (Deployment, Vec<ReplicaSet>) {
        (
            deployment("web:3", false),
            vec![
                rs(3, "web:3", "d-1"),
                rs(1, "web:1", "d-1"),
                rs(2, "web:2", "d-1"),
            ],
        )
    }

    fn rollback(p: Result<UndoPlan, UndoError>) -> RollbackPatch {
        match p {
            Ok(UndoPlan::Rollback(r)) => *r,
            other => panic!("expected a rollback, got {other:?}"),
        }
    }

    #[test]
    fn default_goes_to_the_second_highest_revision() {
        let (d, all) = three();
        assert_eq!(rollback(plan(&d, &all, None)).revision, 2);
        assert_eq!(rollback(plan(&d, &all, Some(0))).revision, 2);
        assert_eq!(rollback(plan(&d, &all, Some(1))).replica_set, "web-1");
    }

    #[test]
    fn patch_restores_the_template_without_hash_and_kubectls_annotations() {
        let (d, all) = three();
        let p = rollback(plan(&d, &all, Some(1)));
        let body = p.body();
        assert_eq!(body[0]["op"], "replace");
        assert_eq!(body[0]["path"], "/spec/template");
        assert_eq!(
            body[0]["value"]["metadata"]["labels"],
            json!({"app": "web"})
        );
        assert_eq!(body[0]["value"]["spec"]["containers"][0]["image"], "web:1");
        assert_eq!(body[1]["path"], "/metadata/annotations");
        // The Deployment keeps its own revision and last-applied; everything else comes
        // from the revision's ReplicaSet, so an annotation only the Deployment had is gone.
        assert_eq!(
            body[1]["value"],
            json!({
                REVISION_ANNOTATION: "3",
                LAST_APPLIED_ANNOTATION: "{}",
                CHANGE_CAUSE_ANNOTATION: "release 1",
            })
        );
    }

    #[test]
    fn kubectl_refusals_word_for_word() {
        let (d, all) = three();
        assert_eq!(
            plan(&d, &all, Some(9)).unwrap_err().to_string(),
            "unable to find specified revision 9 in history"
        );
        assert_eq!(
            plan(&d, &all, Some(-1)).unwrap_err().to_string(),
            "unable to find specified revision -1 in history"
        );
        assert_eq!(
            plan(&d, &all[..1], None).unwrap_err().to_string(),
            "no rollout history found for deployment \"web\""
        );
        let paused = deployment("web:3", true);
        assert_eq!(
            plan(&paused, &all, None).unwrap_err().to_string(),
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/web' and try again"
        );
        // A missing revision is reported before the pause, as kubectl checks in that order.
        assert_eq!(
            plan(&paused, &all, Some(9)).unwrap_err(),
            UndoError::RevisionNotFound(9)
        );
    }

    #[test]
    fn replica_sets_of_other_owners_are_not_history() {
        let d = deployment("web:3", false);
        let all = vec![rs(3, "web:3", "d-1"), rs(2, "web:2", "someone-else")];
        assert_eq!(
            plan(&d, &all, Some(2)).unwrap_err(),
            UndoError::RevisionNotFound(2)
        );
        assert_eq!(
            plan(&d, &all, None).unwrap_err(),
            UndoError::NoHistory("web".into())
        );
    }

    #[test]
    fn skips_when_the_template_already_matches() {
        let (d, all) = three();
        assert_eq!(
            plan(&d, &all, Some(3)),
            Ok(UndoPlan::Skip {
                revision: 3,
                message: "skipped rollback (current template already matches revision 3)".into()
            })
        );
        // Someone set the image back by hand before the controller caught up: the previous
        // revision already matches, and kubectl names the revision asked for, 0.
        let d = deployment("web:2", false);
        assert_eq!(
            plan(&d, &all, None),
            Ok(UndoPlan::Skip {
                revision: 2,
                message: "skipped rollback (current template already matches revision 0)".into()
            })
        );
    }
}
