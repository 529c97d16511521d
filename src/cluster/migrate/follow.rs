//! Following the Job to its verdict, telling each change of it and its pods as it comes,
//! and reading its pods' logs afterwards.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use super::{LOG_LINES, Say, api_error};

/// The pod label every Job controller version sets (the `batch.kubernetes.io/` one is 1.27+).
const JOB_NAME_LABEL: &str = "job-name";

/// `(succeeded, reason, message)` once the Job has a verdict.
fn verdict(job: &Job) -> Option<(bool, String, String)> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| {
            let ok = match c.type_.as_str() {
                "Complete" => true,
                "Failed" => false,
                _ => return None,
            };
            let reason = c
                .reason
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| c.type_.clone());
            Some((ok, reason, c.message.clone().unwrap_or_default()))
        })
}

/// How long the Job ran by its own status.
pub(super) fn ran_for(job: &Job) -> Option<Duration> {
    let status = job.status.as_ref()?;
    let start = status.start_time.as_ref()?;
    let failed_at = || {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Failed" && c.status == "True")
            .and_then(|c| c.last_transition_time.clone())
    };
    let end: Time = status.completion_time.clone().or_else(failed_at)?;
    let ms = end.0.as_millisecond() - start.0.as_millisecond();
    Some(Duration::from_millis(ms.max(0) as u64))
}

fn job_line(job: &Job) -> String {
    let s = job.status.clone().unwrap_or_default();
    format!(
        "Job {}: {} active, {} succeeded, {} failed",
        job.name_any(),
        s.active.unwrap_or(0),
        s.succeeded.unwrap_or(0),
        s.failed.unwrap_or(0)
    )
}

pub(super) fn pod_line(pod: &Pod) -> String {
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.unwrap_or_else(|| "Pending".to_string());
    let state = status
        .container_statuses
        .iter()
        .flatten()
        .next()
        .and_then(|c| c.state.clone())
        .unwrap_or_default();
    let detail = if let Some(w) = state.waiting {
        let mut d = w.reason.unwrap_or_default();
        if let Some(m) = w.message.filter(|m| !m.is_empty()) {
            d = format!("{d}: {m}");
        }
        d
    } else if let Some(t) = state.terminated {
        let reason = t.reason.unwrap_or_default();
        format!("exit code {} {reason}", t.exit_code)
            .trim()
            .to_string()
    } else {
        String::new()
    };
    if detail.is_empty() {
        format!("pod {}: {phase}", pod.name_any())
    } else {
        format!("pod {}: {phase} ({detail})", pod.name_any())
    }
}

/// The Job's pods, oldest first, and the last `LOG_LINES` lines of their logs, each pod
/// under a heading when there are several (retries).
pub(super) async fn job_logs(
    client: &Client,
    namespace: &str,
    job: &Job,
    container: &str,
) -> (Vec<Pod>, Vec<String>) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let uid = job.uid().unwrap_or_default();
    let selector = format!("{JOB_NAME_LABEL}={}", job.name_any());
    let mut list = match pods.list(&ListParams::default().labels(&selector)).await {
        Ok(l) => l.items,
        Err(e) => {
            return (
                Vec::new(),
                vec![api_error("cannot list the migration's pods", e)],
            );
        }
    };
    // A Job deleted and recreated under the same name leaves pods of the old one about.
    list.retain(|p| p.owner_references().iter().any(|o| o.uid == uid));
    list.sort_by_key(|p| p.creation_timestamp());
    let params = LogParams {
        container: Some(container.to_string()),
        tail_lines: Some(LOG_LINES as i64),
        ..Default::default()
    };
    let mut lines = Vec::new();
    for pod in &list {
        if list.len() > 1 {
            lines.push(format!("── {} ──", pod_line(pod)));
        }
        match pods.logs(&pod.name_any(), &params).await {
            Ok(text) => lines.extend(text.lines().map(String::from)),
            Err(e) => lines.push(api_error(&format!("no log from pod {}", pod.name_any()), e)),
        }
    }
    let skip = lines.len().saturating_sub(LOG_LINES);
    lines.drain(..skip);
    (list, lines)
}

/// One event of either watch; boxed, as a Job or Pod is some kilobytes.
enum Seen {
    Job(Box<watcher::Event<Job>>),
    Pod(Box<watcher::Event<Pod>>),
    Error(watcher::Error),
}

/// Where following the Job ended: its verdict, or why there is none.
pub(super) struct Followed {
    pub succeeded: bool,
    pub reason: String,
    pub message: String,
    /// The Job as last seen.
    pub last: Job,
    /// What was last said of each pod, so that only news is said of it afterwards.
    pub said_pods: BTreeMap<String, String>,
}

/// Watches the Job `name` and its pods, saying each change, until the Job has a verdict or
/// is deleted, or `timeout` and a little grace have passed; `Err` when nobody listens.
pub(super) async fn until_verdict(
    client: &Client,
    namespace: &str,
    job: Job,
    name: &str,
    timeout: Duration,
    deadline_secs: i64,
    say: &Say<'_>,
) -> Result<Followed, String> {
    let uid = job.uid();

    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let job_events = watcher(
        jobs,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .default_backoff()
    .map(|r| r.map_or_else(Seen::Error, |e| Seen::Job(Box::new(e))));
    let pod_events = watcher(
        pods,
        watcher::Config::default().labels(&format!("{JOB_NAME_LABEL}={name}")),
    )
    .default_backoff()
    .map(|r| r.map_or_else(Seen::Error, |e| Seen::Pod(Box::new(e))));
    let mut events = stream::select(job_events.boxed(), pod_events.boxed());

    let grace = (timeout / 10).min(Duration::from_secs(10));
    let give_up = tokio::time::Instant::now() + timeout + grace;
    let mut last = job;
    let mut said_job = String::new();
    let mut said_pods: BTreeMap<String, String> = BTreeMap::new();
    let mut said_error = String::new();
    let (succeeded, reason, message) = loop {
        if let Some(v) = verdict(&last) {
            break v;
        }
        let Ok(Some(event)) = tokio::time::timeout_at(give_up, events.next()).await else {
            break (
                false,
                "Timeout".to_string(),
                format!(
                    "no verdict within {timeout:?}; the Job stops at its own deadline of {deadline_secs}s"
                ),
            );
        };
        match event {
            Seen::Job(e) => match *e {
                watcher::Event::Apply(j) | watcher::Event::InitApply(j) if j.uid() == uid => {
                    let line = job_line(&j);
                    if line != said_job {
                        say(line.clone())?;
                        said_job = line;
                    }
                    last = j;
                }
                watcher::Event::Delete(j) if j.uid() == uid => {
                    last = j;
                    break (
                        false,
                        "Deleted".to_string(),
                        format!("Job {name} was deleted before it finished"),
                    );
                }
                _ => {}
            },
            Seen::Pod(e) => match *e {
                watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                    let line = pod_line(&p);
                    if said_pods.get(&p.name_any()) != Some(&line) {
                        say(line.clone())?;
                        said_pods.insert(p.name_any(), line);
                    }
                }
                watcher::Event::Delete(p) if said_pods.remove(&p.name_any()).is_some() => {
                    say(format!("pod {} deleted", p.name_any()))?;
                }
                _ => {}
            },
            Seen::Error(e) => {
                let line = format!("watching Job {name}: {e}; retrying");
                if line != said_error {
                    say(line.clone())?;
                    said_error = line;
                }
            }
        }
    };
    Ok(Followed {
        succeeded,
        reason,
        message,
        last,
        said_pods,
    })
}
