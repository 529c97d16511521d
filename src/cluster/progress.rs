//! Rollout progress by kubectl's `rollout status` rules, word for word
//! (kubectl `pkg/polymorphichelpers/rollout_status.go`), so what the cockpit says matches
//! what the engineer would see in a terminal next to it.

use k8s_openapi::api::apps::v1::Deployment;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutStatus {
    /// Still moving; the message is kubectl's.
    Waiting(String),
    /// `deployment "x" successfully rolled out`.
    Done(String),
    /// `deployment "x" exceeded its progress deadline`.
    Failed(String),
}

impl RolloutStatus {
    pub fn message(&self) -> &str {
        match self {
            RolloutStatus::Waiting(m) | RolloutStatus::Done(m) | RolloutStatus::Failed(m) => m,
        }
    }

    pub fn is_finished(&self) -> bool {
        !matches!(self, RolloutStatus::Waiting(_))
    }
}

/// kubectl's verdict on one observed state of the Deployment.
pub fn rollout_status(d: &Deployment) -> RolloutStatus {
    let name = d.metadata.name.as_deref().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let status = d.status.clone().unwrap_or_default();
    if generation > status.observed_generation.unwrap_or(0) {
        return RolloutStatus::Waiting(
            "Waiting for deployment spec update to be observed...".to_string(),
        );
    }
    let deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_.as_deref() == Some("Progressing")
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline_exceeded {
        return RolloutStatus::Failed(format!(
            "deployment {name:?} exceeded its progress deadline"
        ));
    }
    let desired = d.spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < desired {
        return RolloutStatus::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {desired} new replicas have been updated..."
        ));
    }
    if replicas > updated {
        return RolloutStatus::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return RolloutStatus::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    RolloutStatus::Done(format!("deployment {name:?} successfully rolled out"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn kubectl_messages_in_kubectl_order() {
        let cases = [
            (
                deployment(2, json!({"observedGeneration": 1})),
                RolloutStatus::Waiting(
                    "Waiting for deployment spec update to be observed...".into(),
                ),
            ),
            (
                deployment(
                    2,
                    json!({"observedGeneration": 2, "updatedReplicas": 1, "conditions": [
                        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
                ),
                RolloutStatus::Failed("deployment \"web\" exceeded its progress deadline".into()),
            ),
            (
                deployment(2, json!({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 5})),
                RolloutStatus::Waiting("Waiting for deployment \"web\" rollout to finish: 1 out of 4 new replicas have been updated...".into()),
            ),
            (
                deployment(2, json!({"observedGeneration": 2, "updatedReplicas": 4, "replicas": 6})),
                RolloutStatus::Waiting("Waiting for deployment \"web\" rollout to finish: 2 old replicas are pending termination...".into()),
            ),
            (
                deployment(2, json!({"observedGeneration": 2, "updatedReplicas": 4, "replicas": 4, "availableReplicas": 3})),
                RolloutStatus::Waiting("Waiting for deployment \"web\" rollout to finish: 3 of 4 updated replicas are available...".into()),
            ),
            (
                deployment(2, json!({"observedGeneration": 2, "updatedReplicas": 4, "replicas": 4, "availableReplicas": 4})),
                RolloutStatus::Done("deployment \"web\" successfully rolled out".into()),
            ),
        ];
        for (d, want) in cases {
            assert_eq!(rollout_status(&d), want);
        }
    }
}
