//! Database migrations as `batch/v1` Jobs built from the Deployment's own pod template
//! (image, env, secrets, volumes), instead of `kubectl exec` into a serving pod: a Job
//! survives the cockpit, records its verdict in its status, and keeps its pod's logs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, ListParams, LogParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use sha2::{Digest, Sha256};

use super::{FIELD_MANAGER, FOR_DEPLOYMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Sink, Target};
use crate::release::action::MigrationDirection;

/// `kubectl exec deployment/… -- alembic upgrade head` of the release procedure.
pub const UPGRADE: [&str; 3] = ["alembic", "upgrade", "head"];
/// The procedure's database rollback.
pub const DOWNGRADE: [&str; 3] = ["alembic", "downgrade", "-1"];
/// Retrying a failed migration re-runs it against a schema it may have half changed (DDL
/// that is not transactional); one attempt, then an engineer reads the log and decides.
pub const BACKOFF_LIMIT: i32 = 0;
/// How much of the migration pod's log the outcome keeps.
pub const LOG_LINES: usize = 200;
/// Kubernetes names that end up in label values (`job-name`) must fit a DNS-1123 label.
const MAX_NAME: usize = 63;
/// The pod label every Job controller version sets (the `batch.kubernetes.io/` one is 1.27+).
const JOB_NAME_LABEL: &str = "job-name";

pub fn argv(direction: MigrationDirection) -> Vec<String> {
    let words: &[&str] = match direction {
        MigrationDirection::Up => &UPGRADE,
        MigrationDirection::Down => &DOWNGRADE,
    };
    words.iter().map(|w| w.to_string()).collect()
}

/// Lowercase alphanumerics with single dashes between them.
fn dns_part(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `deal-scout-api-migrate-up-<stamp>`, a valid DNS-1123 label of at most 63 characters.
/// The stamp must name the release action (the version, the journal's task), not the wall
/// clock: a restarted cockpit finds the Job it already started by this name and adopts it.
/// The deployment part is shortened first; a stamp too long to fit is replaced by a digest
/// of it, so two stamps never collapse to one name.
pub fn job_name(deployment: &str, direction: MigrationDirection, stamp: &str) -> String {
    let dir = match direction {
        MigrationDirection::Up => "up",
        MigrationDirection::Down => "down",
    };
    let mut stamp = dns_part(stamp);
    if stamp.len() > 24 {
        let digest = Sha256::digest(stamp.as_bytes());
        stamp = hex::encode(&digest[..6]);
    }
    let suffix = if stamp.is_empty() {
        format!("migrate-{dir}")
    } else {
        format!("migrate-{dir}-{stamp}")
    };
    let room = MAX_NAME - suffix.len() - 1;
    let mut prefix = dns_part(deployment);
    prefix.truncate(room);
    let prefix = prefix.trim_end_matches('-');
    if prefix.is_empty() {
        suffix
    } else {
        format!("{prefix}-{suffix}")
    }
}

/// The Job that runs `argv` in `container` of the Deployment's pod template.
///
/// What a migration needs from the template is what the app needs to reach its database:
/// image, env, envFrom, volumes and mounts, service account, pull secrets, init containers
/// (a native sidecar such as a database proxy stops by itself when the migration ends).
/// Other regular containers are dropped: a Job completes only when every regular container
/// has exited, and a proxy or log shipper never does. Probes, lifecycle hooks and ports go
/// too: a liveness probe would kill the migration, which serves nothing.
///
/// Pod labels are the template's minus `pod-template-hash` and minus the keys the
/// Deployment's selector uses, so the migration pod is never counted as one of the
/// Deployment's pods (by the cockpit's pod watch, a PodDisruptionBudget, `kubectl get -l`)
/// nor, Ready without probes, sent a Service's traffic. Other labels (network policy,
/// team) stay. A `container` that is not in the template leaves the Job without containers,
/// which the API server refuses; `run` checks first.
pub fn migration_job(
    deployment: &Deployment,
    container: &str,
    argv: &[String],
    name: &str,
    backoff_limit: i32,
    deadline_secs: i64,
) -> Job {
    let deploy_name = deployment.name_any();
    let ours = || {
        BTreeMap::from([
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
            (FOR_DEPLOYMENT_LABEL.to_string(), deploy_name.clone()),
        ])
    };
    let template = &deployment.spec.template;
    let selector = &deployment.spec.selector;
    let selector_keys: Vec<&String> = selector
        .match_labels
        .iter()
        .flat_map(|m| m.keys())
        .chain(selector.match_expressions.iter().flatten().map(|e| &e.key))
        .collect();
    let mut labels: BTreeMap<String, String> = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.retain(|k, _| k != "pod-template-hash" && !selector_keys.contains(&k));
    labels.extend(ours());
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone());

    let mut spec = template.spec.clone().unwrap_or_default();
    spec.containers.retain(|c| c.name == container);
    for c in &mut spec.containers {
        c.command = Some(argv.to_vec());
        c.args = None;
        c.liveness_probe = None;
        c.readiness_probe = None;
        c.startup_probe = None;
        c.lifecycle = None;
        c.ports = None;
    }
    spec.restart_policy = Some("Never".to_string());
    // Debug containers added to a running pod cannot be part of a new pod's spec.
    spec.ephemeral_containers = None;

    Job {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: deployment.metadata.namespace.clone(),
            labels: Some(ours()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(backoff_limit),
            active_deadline_seconds: (deadline_secs > 0).then_some(deadline_secs),
            completions: Some(1),
            parallelism: Some(1),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations,
                    ..Default::default()
                }),
                spec: Some(spec),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// How a migration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationOutcome {
    pub job: String,
    /// The Job was there already (a restarted cockpit): it was followed, not started again.
    pub adopted: bool,
    pub succeeded: bool,
    /// `Complete`, the Job's failure reason (`BackoffLimitExceeded`, `DeadlineExceeded`),
    /// `Timeout` (no verdict in time; the Job may still run) or `Deleted`.
    pub reason: String,
    pub message: String,
    /// From the Job's start to its verdict by its status, else as long as it was followed.
    pub duration: Duration,
    /// The last `LOG_LINES` lines of its pod(s), oldest pod first.
    pub logs: Vec<String>,
}

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
fn ran_for(job: &Job) -> Option<Duration> {
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

fn pod_line(pod: &Pod) -> String {
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

fn api_error(what: &str, e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{what}: {} ({})", s.message, s.code),
        other => format!("{what}: {other}"),
    }
}

/// Whether an existing Job of this name is the cockpit's migration of this Deployment with
/// these arguments; anything else is refused rather than reported as our result.
fn check_adoptable(job: &Job, target: &Target, argv: &[String]) -> Result<(), String> {
    let labels = job.labels();
    let name = job.name_any();
    if labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(MANAGED_BY)
        || labels.get(FOR_DEPLOYMENT_LABEL) != Some(&target.deployment)
    {
        return Err(format!(
            "a Job named {name} already exists in {} and is not release-cockpit's migration of {}; \
             choose another name or delete it",
            target.namespace, target.deployment
        ));
    }
    let command = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.iter().find(|c| c.name == target.container))
        .and_then(|c| c.command.clone())
        .unwrap_or_default();
    if command != argv {
        return Err(format!(
            "Job {name} already exists but runs `{}`, not `{}`",
            command.join(" "),
            argv.join(" ")
        ));
    }
    Ok(())
}

/// The Job to follow: the one already there when it is ours, else a new one.
async fn create_or_adopt(
    client: &Client,
    target: &Target,
    argv: &[String],
    name: &str,
    deadline_secs: i64,
    say: &(dyn Fn(String) -> Result<(), String> + Sync),
) -> Result<(Job, bool), String> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), &target.namespace);
    let adopt = |job: Job| -> Result<(Job, bool), String> {
        check_adoptable(&job, target, argv)?;
        let created = job
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| format!(" (created {})", t.0))
            .unwrap_or_default();
        say(format!(
            "Job {name} already exists{created}: following it instead of running the migration again"
        ))?;
        Ok((job, true))
    };
    let existing = jobs
        .get_opt(name)
        .await
        .map_err(|e| api_error(&format!("cannot read Job {name}"), e))?;
    if let Some(job) = existing {
        return adopt(job);
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &target.namespace);
    let deployment = deployments
        .get(&target.deployment)
        .await
        .map_err(|e| api_error(&format!("cannot read deployment {}", target.deployment), e))?;
    let containers = deployment
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let Some(image) = containers
        .iter()
        .find(|c| c.name == target.container)
        .map(|c| c.image.clone().unwrap_or_default())
    else {
        return Err(format!(
            "deployment {} has no container {:?}",
            target.deployment, target.container
        ));
    };
    let job = migration_job(
        &deployment,
        &target.container,
        argv,
        name,
        BACKOFF_LIMIT,
        deadline_secs,
    );
    say(format!(
        "creating Job {name} in {} with {image}: {}",
        target.namespace,
        argv.join(" ")
    ))?;
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    match jobs.create(&params, &job).await {
        Ok(job) => Ok((job, false)),
        // Another cockpit (or this one, before a restart) got there between GET and POST.
        Err(kube::Error::Api(s)) if s.is_already_exists() || s.code == 409 => {
            let job = jobs
                .get(name)
                .await
                .map_err(|e| api_error(&format!("cannot read Job {name}"), e))?;
            adopt(job)
        }
        Err(e) => Err(api_error(&format!("cannot create Job {name}"), e)),
    }
}

/// The Job's pods, oldest first, and the last `LOG_LINES` lines of their logs, each pod
/// under a heading when there are several (retries).
async fn job_logs(
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

/// Runs `argv` as the migration Job `name` (or follows it, when a cockpit already started
/// it) until it completes, fails, or `timeout` passes, streaming progress lines; then reads
/// its pods' logs. The Job's own deadline is `timeout` too, so a migration nobody follows
/// any more does not go on running; its verdict is waited for a little longer than that.
/// `Err` when nothing could be run or followed: the Deployment, the API, a foreign Job of
/// that name, or nobody listening to `progress` any more.
pub async fn run(
    client: &Client,
    target: &Target,
    argv: &[String],
    name: &str,
    timeout: Duration,
    progress: Sink<String>,
) -> Result<MigrationOutcome, String> {
    let started = Instant::now();
    let say = |line: String| -> Result<(), String> {
        if progress(line) {
            Ok(())
        } else {
            Err(format!(
                "stopped following Job {name}: nobody is listening (the Job goes on in the cluster)"
            ))
        }
    };
    let deadline_secs = timeout.as_secs_f64().ceil().max(1.0) as i64;
    let (job, adopted) = create_or_adopt(client, target, argv, name, deadline_secs, &say).await?;
    let uid = job.uid();

    let jobs: Api<Job> = Api::namespaced(client.clone(), &target.namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &target.namespace);
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
    let mut last = job.clone();
    let mut said_job = String::new();
    let mut said_pods: BTreeMap<String, String> = BTreeMap::new();
    let mut said_error = String::new();
    let (succeeded, reason, message) = loop {
        if let Some(v) = verdict(&last) {
            break v;
        }
        let event = match tokio::time::timeout_at(give_up, events.next()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => {
                break (
                    false,
                    "Timeout".to_string(),
                    format!(
                        "no verdict within {timeout:?}; the Job stops at its own deadline of {deadline_secs}s"
                    ),
                );
            }
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
    drop(events);
    let (final_pods, logs) = job_logs(client, &target.namespace, &last, &target.container).await;
    // The Job's verdict can overtake its pod's last watch event; the pod's end is news too.
    for pod in &final_pods {
        let line = pod_line(pod);
        if said_pods.get(&pod.name_any()) != Some(&line) {
            say(line)?;
        }
    }
    say(format!("Job {name}: {reason}"))?;
    Ok(MigrationOutcome {
        job: name.to_string(),
        adopted,
        succeeded,
        reason,
        message,
        duration: ran_for(&last).unwrap_or_else(|| started.elapsed()),
        logs,
    })
}
