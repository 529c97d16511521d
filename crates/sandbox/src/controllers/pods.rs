//! The kubelet, simulated: a pod's status is a function of its image's scenario, its
//! restart policy and how long it has existed, so the same clock always gives the same state.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::events::{self, Source};
use crate::resources::lookup;
use crate::scenario::{self, Scenario};
use crate::store::{Store, WriteTo, name_of, timestamp};

/// The longest CrashLoopBackOff wait, as the kubelet caps it.
const MAX_BACKOFF_SECS: i64 = 300;

fn created(pod: &Value) -> Option<DateTime<Utc>> {
    pod["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn container_name(pod: &Value) -> &str {
    pod["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or("app")
}

fn condition(kind: &str, ok: bool, at: DateTime<Utc>, reason: Option<&str>) -> Value {
    let mut c = json!({
        "type": kind,
        "status": if ok { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": timestamp(at),
    });
    if let (false, Some(r)) = (ok, reason) {
        c["reason"] = json!(r);
        c["message"] = json!("containers with unready status");
    }
    c
}

/// Crash times of a crash-looping container: it runs `CRASH_AFTER_SECS`, exits, waits a
/// back-off of 10 s doubling up to 5 min, and starts again.
fn crash_history(
    started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (u32, Option<DateTime<Utc>>, DateTime<Utc>) {
    let mut restarts = 0u32;
    let mut run_start = started;
    let mut last_crash = None;
    loop {
        let crash = run_start + Duration::seconds(scenario::CRASH_AFTER_SECS);
        if crash > now {
            return (restarts, last_crash, run_start);
        }
        let backoff = (10i64 << restarts.min(5)).min(MAX_BACKOFF_SECS);
        let next = crash + Duration::seconds(backoff);
        last_crash = Some(crash);
        if next > now {
            // Waiting in back-off after this crash.
            return (restarts + 1, last_crash, next);
        }
        restarts += 1;
        run_start = next;
    }
}

/// The status a pod has at `now`.
pub fn status_at(pod: &Value, now: DateTime<Utc>) -> Value {
    let Some(t0) = created(pod) else {
        return pod["status"].clone();
    };
    let is_job = pod["spec"]["restartPolicy"] != "Always";
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let image = containers
        .first()
        .and_then(|c| c["image"].as_str())
        .unwrap_or_default()
        .to_string();
    let s = Scenario::from_image(&image);
    let started = t0 + Duration::seconds(scenario::START_SECS);
    let ip = format!(
        "10.244.{}.{}",
        (t0.timestamp() / 250) % 250 + 1,
        t0.timestamp() % 250 + 2
    );
    let mut phase = "Pending";
    let mut ready_at: Option<DateTime<Utc>> = None;
    let state: Value;
    let mut last_state = json!({});
    let mut restarts = 0u32;
    if now < started {
        state = json!({"waiting": {"reason": "ContainerCreating"}});
    } else if s.badpull {
        let reason = if now < started + Duration::seconds(8) {
            "ErrImagePull"
        } else {
            "ImagePullBackOff"
        };
        let message = if reason == "ErrImagePull" {
            format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"
            )
        } else {
            format!("Back-off pulling image \"{image}\"")
        };
        state = json!({"waiting": {"reason": reason, "message": message}});
    } else if is_job {
        let done = started + Duration::seconds(scenario::JOB_SECS);
        if now < done || s.mighang {
            phase = "Running";
            state = json!({"running": {"startedAt": timestamp(started)}});
        } else {
            let ok = !s.migfail;
            phase = if ok { "Succeeded" } else { "Failed" };
            state = json!({"terminated": {
                "exitCode": if ok { 0 } else { 1 },
                "reason": if ok { "Completed" } else { "Error" },
                "startedAt": timestamp(started),
                "finishedAt": timestamp(done),
            }});
        }
    } else if s.crashloop {
        phase = "Running";
        let (n, last_crash, next_start) = crash_history(started, now);
        restarts = n;
        match last_crash {
            Some(crash) if next_start > now => {
                let backoff = (next_start - crash).num_seconds();
                state = json!({"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": format!("back-off {backoff}s restarting failed container={} pod={}", container_name(pod), name_of(pod)),
                }});
                last_state = json!({"terminated": {
                    "exitCode": 1, "reason": "Error",
                    "startedAt": timestamp(crash - Duration::seconds(scenario::CRASH_AFTER_SECS)),
                    "finishedAt": timestamp(crash),
                }});
            }
            _ => state = json!({"running": {"startedAt": timestamp(next_start)}}),
        }
    } else {
        phase = "Running";
        state = json!({"running": {"startedAt": timestamp(started)}});
        let at = started + Duration::seconds(s.ready_after_secs());
        if now >= at {
            ready_at = Some(at);
        }
    }
    let ready = ready_at.is_some();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({
                "name": c["name"],
                "image": c["image"],
                "imageID": if state.get("waiting").is_some() && phase == "Pending" { json!("") } else { json!(format!("docker.io/library/{}@sha256:{:064x}", c["image"].as_str().unwrap_or_default(), 7)) },
                "containerID": format!("containerd://{:064x}", t0.timestamp()),
                "ready": ready,
                "started": state.get("running").is_some(),
                "restartCount": restarts,
                "state": state,
                "lastState": last_state,
            })
        })
        .collect();
    let not_ready_since = if now < started { t0 } else { started };
    let transition = ready_at.unwrap_or(not_ready_since);
    let mut status = json!({
        "phase": phase,
        "conditions": [
            condition("Initialized", true, t0, None),
            condition("Ready", ready, transition, Some("ContainersNotReady")),
            condition("ContainersReady", ready, transition, Some("ContainersNotReady")),
            condition("PodScheduled", true, t0, None),
        ],
        "hostIP": "172.18.0.2",
        "startTime": timestamp(t0),
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    });
    if now >= started {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    status
}

/// Whether a pod counts as ready, and since when.
pub fn ready_since(pod: &Value) -> Option<DateTime<Utc>> {
    pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "True")
        .and_then(|c| c["lastTransitionTime"].as_str())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Events the kubelet would emit for a change from `old` to `new` status.
fn transition_events(store: &mut Store, now: DateTime<Utc>, pod: &Value, old: &Value, new: &Value) {
    let kubelet = || Source {
        component: "kubelet",
    };
    let image = pod["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let old_state = &old["containerStatuses"][0]["state"];
    let new_state = &new["containerStatuses"][0]["state"];
    let waiting = |s: &Value| s["waiting"]["reason"].as_str().map(String::from);
    if old.get("phase").is_none() {
        events::emit(
            store,
            now,
            pod,
            false,
            "Scheduled",
            &format!(
                "Successfully assigned {}/{} to sandbox-node",
                pod["metadata"]["namespace"].as_str().unwrap_or_default(),
                name_of(pod)
            ),
            kubelet(),
        );
        events::emit(
            store,
            now,
            pod,
            false,
            "Pulling",
            &format!("Pulling image \"{image}\""),
            kubelet(),
        );
    }
    if new_state.get("running").is_some() && old_state.get("running").is_none() {
        if old_state.get("terminated").is_none() && new["containerStatuses"][0]["restartCount"] == 0
        {
            events::emit(
                store,
                now,
                pod,
                false,
                "Pulled",
                &format!("Successfully pulled image \"{image}\""),
                kubelet(),
            );
        }
        events::emit(
            store,
            now,
            pod,
            false,
            "Created",
            &format!("Created container {}", container_name(pod)),
            kubelet(),
        );
        events::emit(
            store,
            now,
            pod,
            false,
            "Started",
            &format!("Started container {}", container_name(pod)),
            kubelet(),
        );
    }
    match (waiting(old_state).as_deref(), waiting(new_state).as_deref()) {
        (o, Some("ErrImagePull")) if o != Some("ErrImagePull") => {
            let msg = new_state["waiting"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            events::emit(
                store,
                now,
                pod,
                true,
                "Failed",
                &format!("Failed to pull image \"{image}\": {msg}"),
                kubelet(),
            );
        }
        (o, Some("ImagePullBackOff")) if o != Some("ImagePullBackOff") => {
            events::emit(
                store,
                now,
                pod,
                false,
                "BackOff",
                &format!("Back-off pulling image \"{image}\""),
                kubelet(),
            );
            events::emit(
                store,
                now,
                pod,
                true,
                "Failed",
                "Error: ImagePullBackOff",
                kubelet(),
            );
        }
        (o, Some("CrashLoopBackOff")) if o != Some("CrashLoopBackOff") => {
            events::emit(
                store,
                now,
                pod,
                true,
                "BackOff",
                "Back-off restarting failed container",
                kubelet(),
            );
        }
        _ => {}
    }
}

/// Brings every pod's status up to `now`; writes only pods whose status changed.
/// When a pod's status next changes by the clock alone, or `None` if it does not.
pub fn next_change(pod: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let t0 = created(pod)?;
    let image = pod["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    let s = Scenario::from_image(image);
    let started = t0 + Duration::seconds(scenario::START_SECS);
    let is_job = pod["spec"]["restartPolicy"] != "Always";
    let candidates: Vec<DateTime<Utc>> = if s.badpull {
        vec![started, started + Duration::seconds(8)]
    } else if is_job && s.mighang {
        vec![started]
    } else if is_job {
        vec![started, started + Duration::seconds(scenario::JOB_SECS)]
    } else if s.crashloop {
        let (_, last_crash, next_start) = crash_history(started, now.max(started));
        let crash = next_start + Duration::seconds(scenario::CRASH_AFTER_SECS);
        vec![started, next_start, crash, last_crash.unwrap_or(started)]
    } else {
        vec![started, started + Duration::seconds(s.ready_after_secs())]
    };
    candidates.into_iter().filter(|t| *t > now).min()
}

pub fn sync(store: &mut Store, memory: &mut super::Memory, now: DateTime<Utc>) {
    let r = lookup("", "v1", "pods").expect("pods are served");
    // Only pods whose status the clock has moved, or that changed since they were last seen.
    let due: Vec<Value> = store
        .list("pods", None)
        .into_iter()
        .filter(|p| {
            let uid = p["metadata"]["uid"].as_str().unwrap_or_default();
            match memory.pod_wakeups.get(uid) {
                Some((rv, wake)) if *rv == crate::store::rv_of(p) => wake.is_some_and(|w| w <= now),
                _ => true,
            }
        })
        .cloned()
        .collect();
    let alive: std::collections::HashSet<String> = if memory.pod_wakeups.len() > store.len() {
        store
            .list("pods", None)
            .iter()
            .filter_map(|p| p["metadata"]["uid"].as_str().map(String::from))
            .collect()
    } else {
        Default::default()
    };
    if !alive.is_empty() {
        memory.pod_wakeups.retain(|uid, _| alive.contains(uid));
    }
    for pod in due {
        let uid = pod["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let new = status_at(&pod, now);
        if new == pod["status"] {
            memory
                .pod_wakeups
                .insert(uid, (crate::store::rv_of(&pod), next_change(&pod, now)));
            continue;
        }
        let old = pod["status"].clone();
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = name_of(&pod).to_string();
        let mut updated = pod.clone();
        updated["status"] = new.clone();
        updated["metadata"]["resourceVersion"] = json!("");
        if let Ok(written) = store.update(r, &ns, &name, updated, WriteTo::Status) {
            memory.pod_wakeups.insert(
                uid,
                (crate::store::rv_of(&written), next_change(&written, now)),
            );
            transition_events(store, now, &written, &old, &new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(image: &str, restart: &str) -> Value {
        json!({
            "metadata": {"name": "p", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"restartPolicy": restart, "containers": [{"name": "app", "image": image}]},
        })
    }

    fn at(secs: i64) -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(secs)
    }

    #[test]
    fn a_healthy_pod_creates_runs_then_turns_ready() {
        let p = pod("api:1.2.3", "Always");
        assert_eq!(
            status_at(&p, at(1))["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        assert_eq!(status_at(&p, at(3))["phase"], "Running");
        assert_eq!(status_at(&p, at(3))["containerStatuses"][0]["ready"], false);
        let s = status_at(&p, at(6));
        assert_eq!(s["containerStatuses"][0]["ready"], true);
        assert_eq!(
            s["conditions"][1]["lastTransitionTime"],
            "2026-01-01T00:00:05Z"
        );
    }

    #[test]
    fn a_crashloop_pod_restarts_with_growing_back_off() {
        let p = pod("api:1.2.3-crashloop", "Always");
        let s = status_at(&p, at(5));
        assert_eq!(s["phase"], "Running");
        assert_eq!(
            s["containerStatuses"][0]["state"]["waiting"]["reason"],
            "CrashLoopBackOff"
        );
        assert_eq!(
            s["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
            1
        );
        let restarts = |t| {
            status_at(&p, at(t))["containerStatuses"][0]["restartCount"]
                .as_u64()
                .unwrap()
        };
        assert!(restarts(5) < restarts(60) && restarts(60) < restarts(600));
        assert_eq!(
            status_at(&p, at(600))["containerStatuses"][0]["ready"],
            false
        );
    }

    #[test]
    fn a_bad_image_pull_backs_off() {
        let p = pod("api:1.2.3-badpull", "Always");
        assert_eq!(
            status_at(&p, at(3))["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ErrImagePull"
        );
        assert_eq!(
            status_at(&p, at(30))["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ImagePullBackOff"
        );
        assert_eq!(status_at(&p, at(30))["phase"], "Pending");
    }

    #[test]
    fn job_pods_succeed_or_fail_by_tag() {
        assert_eq!(
            status_at(&pod("api:1.2.3", "Never"), at(10))["phase"],
            "Succeeded"
        );
        let failed = status_at(&pod("api:1.2.3-migfail", "Never"), at(10));
        assert_eq!(failed["phase"], "Failed");
        assert_eq!(
            failed["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
    }
}
