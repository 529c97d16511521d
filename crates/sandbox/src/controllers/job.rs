//! The Job controller, for migration Jobs: one pod at a time until one succeeds
//! (Complete), `backoffLimit` failures (Failed, BackoffLimitExceeded), or
//! `activeDeadlineSeconds` since it started (Failed, DeadlineExceeded: its running pod is
//! deleted, as the real controller does).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::replicaset::{owned_by, pod_from_template};
use crate::events::{self, Source};
use crate::naming;
use crate::resources::lookup;
use crate::store::{Store, WriteTo, name_of, timestamp};

fn finished(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

fn condition(kind: &str, reason: &str, message: &str, now: DateTime<Utc>) -> Value {
    json!({
        "type": kind, "status": "True", "reason": reason, "message": message,
        "lastProbeTime": timestamp(now), "lastTransitionTime": timestamp(now),
    })
}

pub fn sync_one(store: &mut Store, job: &Value, now: DateTime<Utc>) {
    if finished(job) {
        return;
    }
    let ns = job["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = job["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = name_of(job).to_string();
    let pods: Vec<Value> = owned_by(store.list("pods", Some(&ns)), &uid)
        .into_iter()
        .cloned()
        .collect();
    let phase = |p: &Value| {
        p["status"]["phase"]
            .as_str()
            .unwrap_or("Pending")
            .to_string()
    };
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let active = pods.len() as i64 - succeeded - failed;
    let completions = job["spec"]["completions"].as_i64().unwrap_or(1);
    let backoff_limit = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
    let mut status = json!({
        "startTime": job["status"].get("startTime").cloned().unwrap_or(json!(timestamp(now))),
    });
    let component = || Source {
        component: "job-controller",
    };
    let started = status["startTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let past_deadline = job["spec"]["activeDeadlineSeconds"]
        .as_i64()
        .zip(started)
        .is_some_and(|(secs, started)| now >= started + chrono::Duration::seconds(secs));
    if succeeded < completions && past_deadline {
        let pods_r = lookup("", "v1", "pods").expect("pods");
        let mut stopped = 0;
        for p in pods
            .iter()
            .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        {
            if store.delete(pods_r, &ns, name_of(p), false).is_ok() {
                stopped += 1;
            }
        }
        status["conditions"] = json!([condition(
            "Failed",
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
            now
        )]);
        if failed + stopped > 0 {
            status["failed"] = json!(failed + stopped);
        }
        events::emit(
            store,
            now,
            job,
            true,
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
            component(),
        );
        write_status(store, job, &ns, &name, status);
        return;
    }
    if succeeded >= completions {
        status["completionTime"] = json!(timestamp(now));
        status["conditions"] = json!([condition("Complete", "", "", now)]);
        events::emit(
            store,
            now,
            job,
            false,
            "Completed",
            "Job completed",
            component(),
        );
    } else if failed > backoff_limit {
        status["conditions"] = json!([condition(
            "Failed",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            now
        )]);
        events::emit(
            store,
            now,
            job,
            true,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            component(),
        );
    } else if active == 0 {
        let labels = json!({
            "batch.kubernetes.io/job-name": name,
            "job-name": name,
            "batch.kubernetes.io/controller-uid": uid,
            "controller-uid": uid,
        });
        let pod_name = format!(
            "{name}-{}",
            naming::suffix(store.resource_version() * 17 + failed as u64, 5)
        );
        let pod = pod_from_template(job, &pod_name, &labels);
        let pods_r = lookup("", "v1", "pods").expect("pods");
        if store.create(pods_r, &ns, pod, now).is_ok() {
            events::emit(
                store,
                now,
                job,
                false,
                "SuccessfulCreate",
                &format!("Created pod: {pod_name}"),
                component(),
            );
        }
    }
    for (k, v) in [
        (
            "active",
            active.max(0)
                + i64::from(active == 0 && succeeded < completions && failed <= backoff_limit),
        ),
        ("succeeded", succeeded),
        ("failed", failed),
    ] {
        if v > 0 {
            status[k] = json!(v);
        }
    }
    write_status(store, job, &ns, &name, status);
}

fn write_status(store: &mut Store, job: &Value, ns: &str, name: &str, status: Value) {
    if job["status"] != status {
        let r = lookup("batch", "v1", "jobs").expect("jobs");
        let mut updated = job.clone();
        updated["status"] = status;
        updated["metadata"]["resourceVersion"] = json!("");
        let _ = store.update(r, ns, name, updated, WriteTo::Status);
    }
}

pub fn sync(store: &mut Store, now: DateTime<Utc>) {
    let all: Vec<Value> = store.list("jobs", None).into_iter().cloned().collect();
    for job in all {
        sync_one(store, &job, now);
    }
}
