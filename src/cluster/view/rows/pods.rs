//! The pod table's rows: each pod as `kubectl get pods` shows it, its STATUS worked out by
//! kubectl's own rules.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;

use super::{POD_TEMPLATE_HASH_LABEL, created, image_of};

/// One pod as `kubectl get pods` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRow {
    pub name: String,
    /// The revision of its ReplicaSet; `None` until that ReplicaSet is known.
    pub revision: Option<u64>,
    pub hash: Option<String>,
    /// READY as `ready/containers`.
    pub ready: u32,
    pub containers: u32,
    /// kubectl's STATUS column.
    pub status: String,
    /// The message behind that status, when the container gave one (e.g. the back-off).
    pub message: Option<String>,
    pub restarts: i32,
    pub created: Option<DateTime<Utc>>,
    pub image: String,
}

impl PodRow {
    pub fn of(pod: &Pod, container: &str) -> Self {
        let meta = &pod.metadata;
        let status = kubectl_status(pod);
        Self {
            name: meta.name.clone().unwrap_or_default(),
            revision: None,
            hash: meta
                .labels
                .as_ref()
                .and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL))
                .cloned(),
            ready: status.ready,
            containers: pod.spec.as_ref().map_or(0, |s| s.containers.len() as u32),
            status: status.reason,
            message: status.message,
            restarts: status.restarts,
            created: created(meta),
            image: image_of(pod.spec.as_ref(), container),
        }
    }

    /// `1/1`, the READY column.
    pub fn ready_text(&self) -> String {
        format!("{}/{}", self.ready, self.containers)
    }
}

/// What kubectl prints for a pod in its STATUS, READY and RESTARTS columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodStatusSummary {
    pub reason: String,
    pub message: Option<String>,
    pub ready: u32,
    pub restarts: i32,
}

/// kubectl's `printPod` (`pkg/printers/internalversion/printers.go`): the phase, overridden
/// by the pod's reason, then by the first unfinished init container, else by the last
/// container that is waiting or terminated; `Terminating` once deletion has begun.
pub fn kubectl_status(pod: &Pod) -> PodStatusSummary {
    let status = pod.status.as_ref();
    let mut reason = status
        .and_then(|s| s.reason.clone())
        .filter(|r| !r.is_empty())
        .or_else(|| status.and_then(|s| s.phase.clone()))
        .unwrap_or_else(|| "Pending".to_string());
    let mut message = None;
    let mut restarts = 0;
    let mut ready = 0;
    let init_total = pod
        .spec
        .as_ref()
        .map_or(0, |s| s.init_containers.iter().flatten().count());
    let mut initializing = false;
    for (i, c) in status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        restarts += c.restart_count;
        let state = c.state.clone().unwrap_or_default();
        let waiting = state.waiting.as_ref();
        match &state.terminated {
            Some(t) if t.exit_code == 0 => continue,
            Some(t) => {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => format!("Init:{r}"),
                    None => match t.signal.filter(|s| *s != 0) {
                        Some(s) => format!("Init:Signal:{s}"),
                        None => format!("Init:ExitCode:{}", t.exit_code),
                    },
                };
                message = t.message.clone();
            }
            None => match waiting.and_then(|w| w.reason.as_deref()) {
                Some(r) if !r.is_empty() && r != "PodInitializing" => {
                    reason = format!("Init:{r}");
                    message = waiting.and_then(|w| w.message.clone());
                }
                _ => reason = format!("Init:{i}/{init_total}"),
            },
        }
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        let statuses = status.and_then(|s| s.container_statuses.as_ref());
        for c in statuses.into_iter().flatten().rev() {
            restarts += c.restart_count;
            let state = c.state.clone().unwrap_or_default();
            let waiting_reason = state
                .waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .filter(|r| !r.is_empty());
            if let Some(r) = waiting_reason {
                reason = r;
                message = state.waiting.and_then(|w| w.message);
            } else if let Some(t) = &state.terminated {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None => match t.signal.filter(|s| *s != 0) {
                        Some(s) => format!("Signal:{s}"),
                        None => format!("ExitCode:{}", t.exit_code),
                    },
                };
                message = t.message.clone();
            } else if c.ready && state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // A finished sidecar does not make a pod whose main container still runs "Completed".
        if reason == "Completed" && has_running {
            let pod_ready = status
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = if status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
            "Unknown".to_string()
        } else {
            "Terminating".to_string()
        };
    }
    PodStatusSummary {
        reason,
        message,
        ready,
        restarts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn pod(status: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-abc-12345", "labels": {"pod-template-hash": "abc"}},
            "spec": {"containers": [{"name": "api", "image": "web:2"}]},
            "status": status,
        }))
        .unwrap()
    }

    fn container(state: Value, ready: bool, restarts: i32) -> Value {
        json!({"name": "api", "image": "web:2", "imageID": "", "ready": ready,
               "restartCount": restarts, "state": state})
    }

    /// The §6 scenarios, as kubectl prints them.
    #[test]
    fn kubectl_status_column() {
        let cases = [
            (json!({"phase": "Pending"}), ("Pending", 0, 0)),
            (
                json!({"phase": "Pending", "containerStatuses": [container(
                    json!({"waiting": {"reason": "ContainerCreating"}}), false, 0)]}),
                ("ContainerCreating", 0, 0),
            ),
            (
                json!({"phase": "Pending", "containerStatuses": [container(
                    json!({"waiting": {"reason": "ErrImagePull", "message": "not found"}}), false, 0)]}),
                ("ErrImagePull", 0, 0),
            ),
            (
                json!({"phase": "Pending", "containerStatuses": [container(
                    json!({"waiting": {"reason": "ImagePullBackOff",
                                       "message": "Back-off pulling image \"web:2\""}}), false, 0)]}),
                ("ImagePullBackOff", 0, 0),
            ),
            (
                json!({"phase": "Running", "containerStatuses": [container(
                    json!({"waiting": {"reason": "CrashLoopBackOff",
                                       "message": "back-off 20s restarting failed container=api"}}),
                    false, 3)]}),
                ("CrashLoopBackOff", 0, 3),
            ),
            (
                json!({"phase": "Running", "containerStatuses": [container(
                    json!({"terminated": {"exitCode": 1, "reason": "Error"}}), false, 2)]}),
                ("Error", 0, 2),
            ),
            (
                json!({"phase": "Running", "containerStatuses": [container(
                    json!({"terminated": {"exitCode": 137}}), false, 0)]}),
                ("ExitCode:137", 0, 0),
            ),
            (
                json!({"phase": "Running", "containerStatuses": [container(
                    json!({"running": {}}), true, 1)]}),
                ("Running", 1, 1),
            ),
            (
                json!({"phase": "Running", "containerStatuses": [container(
                    json!({"running": {}}), false, 0)]}),
                ("Running", 0, 0),
            ),
            (
                json!({"phase": "Failed", "reason": "Evicted"}),
                ("Evicted", 0, 0),
            ),
            (
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"name": "migrate", "image": "m", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"waiting": {"reason": "PodInitializing"}}}]}),
                ("Init:0/1", 0, 0),
            ),
            (
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"name": "migrate", "image": "m", "imageID": "", "ready": false, "restartCount": 4,
                     "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
                ("Init:CrashLoopBackOff", 0, 4),
            ),
        ];
        for (status, (reason, ready, restarts)) in cases {
            let mut p = pod(status.clone());
            if status.get("initContainerStatuses").is_some() {
                p.spec.as_mut().unwrap().init_containers = Some(vec![
                    serde_json::from_value(json!({"name": "migrate"})).unwrap(),
                ]);
            }
            let s = kubectl_status(&p);
            assert_eq!(
                (s.reason.as_str(), s.ready, s.restarts),
                (reason, ready, restarts),
                "{status}"
            );
        }
    }

    #[test]
    fn terminating_wins_and_messages_are_kept() {
        let mut p = pod(json!({"phase": "Running", "containerStatuses": [container(
            json!({"running": {}}), true, 0)]}));
        p.metadata.deletion_timestamp = serde_json::from_value(json!("2026-11-26T11:00:00Z")).ok();
        assert_eq!(kubectl_status(&p).reason, "Terminating");

        let row = PodRow::of(
            &pod(json!({"phase": "Running", "containerStatuses": [container(
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}),
                false, 1)]})),
            "api",
        );
        assert_eq!(row.status, "CrashLoopBackOff");
        assert_eq!(row.message.as_deref(), Some("back-off 10s"));
        assert_eq!(row.ready_text(), "0/1");
        assert_eq!(row.hash.as_deref(), Some("abc"));
        assert_eq!(row.image, "web:2");
        assert_eq!(kubectl_status(&pod(json!({}))).reason, "Pending");
    }
}
