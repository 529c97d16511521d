//! Database migrations as `batch/v1` Jobs built from the Deployment's own pod template
//! (image, env, secrets, volumes), instead of `kubectl exec` into a serving pod: a Job
//! survives the cockpit, records its verdict in its status, and keeps its pod's logs.

mod follow;
mod manifest;
mod start;

use std::time::{Duration, Instant};

use kube::{Client, ResourceExt};

pub use manifest::{job_name, migration_job};

use super::{Sink, Target};
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

pub fn argv(direction: MigrationDirection) -> Vec<String> {
    let words: &[&str] = match direction {
        MigrationDirection::Up => &UPGRADE,
        MigrationDirection::Down => &DOWNGRADE,
    };
    words.iter().map(|w| w.to_string()).collect()
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

fn api_error(what: &str, e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{what}: {} ({})", s.message, s.code),
        other => format!("{what}: {other}"),
    }
}

/// Says one progress line; `Err` once nobody is listening.
type Say<'a> = dyn Fn(String) -> Result<(), String> + Sync + 'a;

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
    let (job, adopted) =
        start::create_or_adopt(client, target, argv, name, deadline_secs, &say).await?;
    let follow::Followed {
        succeeded,
        reason,
        message,
        last,
        said_pods,
    } = follow::until_verdict(
        client,
        &target.namespace,
        job,
        name,
        timeout,
        deadline_secs,
        &say,
    )
    .await?;
    let (final_pods, logs) =
        follow::job_logs(client, &target.namespace, &last, &target.container).await;
    // The Job's verdict can overtake its pod's last watch event; the pod's end is news too.
    for pod in &final_pods {
        let line = follow::pod_line(pod);
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
        duration: follow::ran_for(&last).unwrap_or_else(|| started.elapsed()),
        logs,
    })
}
