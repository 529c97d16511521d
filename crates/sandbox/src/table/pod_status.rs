//! A pod's Ready, Status and Restarts cells, derived from its container statuses as
//! kubectl's `printPod` does.

use serde_json::Value;

use super::fields::{int, items, nonempty, text};

fn terminated_reason(t: &Value) -> String {
    match (nonempty(text(t, "/reason")), int(t, "/signal")) {
        (Some(reason), _) => reason.to_string(),
        (None, 0) => format!("ExitCode:{}", int(t, "/exitCode")),
        (None, signal) => format!("Signal:{signal}"),
    }
}

/// Ready, Status and Restarts as kubectl's `printPod` derives them.
pub(super) fn pod_status(pod: &Value) -> (String, String, i64) {
    let status = &pod["status"];
    let phase = text(status, "/phase");
    let mut reason = nonempty(text(status, "/reason"))
        .unwrap_or(phase)
        .to_string();
    let (mut restarts, mut ready) = (0, 0);
    let init_total = items(pod, "/spec/initContainers").len();
    let mut initializing = false;
    for (i, c) in items(status, "/initContainerStatuses").iter().enumerate() {
        restarts += int(c, "/restartCount");
        let terminated = &c["state"]["terminated"];
        if terminated.is_object() && int(terminated, "/exitCode") == 0 {
            continue;
        }
        let waiting = text(c, "/state/waiting/reason");
        reason = match terminated.is_object() {
            true => format!("Init:{}", terminated_reason(terminated)),
            false if !matches!(waiting, "" | "PodInitializing") => format!("Init:{waiting}"),
            false => format!("Init:{i}/{init_total}"),
        };
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        // Walked backwards so that the first container with a problem names the status.
        for c in items(status, "/containerStatuses").iter().rev() {
            restarts += int(c, "/restartCount");
            if let Some(waiting) = nonempty(text(c, "/state/waiting/reason")) {
                reason = waiting.to_string();
            } else if c["state"]["terminated"].is_object() {
                reason = terminated_reason(&c["state"]["terminated"]);
            } else if c["ready"] == true && c["state"]["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        // A finished sidecar must not make a still-serving pod look Completed.
        if reason == "Completed" && has_running {
            let conditions = items(status, "/conditions");
            let pod_ready = conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        let lost = text(status, "/reason") == "NodeLost";
        reason = if lost { "Unknown" } else { "Terminating" }.to_string();
    }
    let total = items(pod, "/spec/containers").len();
    (format!("{ready}/{total}"), reason, restarts)
}
