//! The writes the cockpit makes to a release's Deployment, and the wait that follows them:
//! `set image` (idempotent, so a second press or a restart never sends a second patch),
//! `rollout undo` and `rollout status`, each behaving as its kubectl command does.

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::utils::Backoff;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::history::{self, CHANGE_CAUSE_ANNOTATION, REVISION_ANNOTATION};
use super::progress::{RolloutStatus, rollout_status};
use super::undo::{self, UndoPlan};
use super::{FIELD_MANAGER, Sink, Target};

/// What every action here fails with; kept apart so that `history::fetch` fails with it too.
pub use super::error::ActionError;

fn deployment_api(client: &Client, target: &Target) -> Api<Deployment> {
    Api::namespaced(client.clone(), &target.namespace)
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    }
}

fn annotation(d: &Deployment, key: &str) -> Option<String> {
    d.metadata.annotations.as_ref()?.get(key).cloned()
}

fn revision(d: &Deployment) -> Option<i64> {
    annotation(d, REVISION_ANNOTATION)?.parse().ok()
}

/// What `set_image` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOutcome {
    /// `false`: the Deployment already had this image and change-cause; nothing was sent.
    pub patched: bool,
    pub image: String,
    /// The target container's image before (equal to `image` when not patched).
    pub previous_image: Option<String>,
    /// `metadata.generation` after the write: the rollout of this change is under way once
    /// `status.observedGeneration` reaches it.
    pub generation: i64,
    /// `status.observedGeneration` as the write saw it.
    pub observed_generation: i64,
    /// The Deployment's revision as read before any write; after a patch, the revision
    /// `undo` goes back to.
    pub previous_revision: Option<i64>,
}

/// `kubectl set image deployment/<d> <container>=<image>` plus the change-cause annotation
/// (what `--record` used to add), in one strategic-merge patch. Reads first: when the
/// container already runs `image` with this change-cause, nothing is sent.
pub async fn set_image(
    client: &Client,
    target: &Target,
    image: &str,
    change_cause: &str,
) -> Result<DeployOutcome, ActionError> {
    let doing = format!(
        "setting the image of deployment {:?} in namespace {:?} to {image}",
        target.deployment, target.namespace
    );
    let api = deployment_api(client, target);
    let current = api
        .get(&target.deployment)
        .await
        .map_err(|e| ActionError::from_kube(&doing, e))?;
    let containers: Vec<String> = current
        .spec
        .template
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
        .collect();
    // A strategic merge with an unknown name would add a container instead of failing.
    if !containers.contains(&target.container) {
        return Err(ActionError::new(
            &doing,
            format!(
                "unable to find container named {:?} (the Deployment has {})",
                target.container,
                containers.join(", ")
            ),
        ));
    }
    let previous_image =
        history::container_image(&current.spec.template, &target.container).map(str::to_string);
    let outcome = |d: &Deployment, patched: bool| DeployOutcome {
        patched,
        image: image.to_string(),
        previous_image: previous_image.clone(),
        generation: d.metadata.generation.unwrap_or(0),
        observed_generation: d
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(0),
        previous_revision: revision(&current),
    };
    if previous_image.as_deref() == Some(image)
        && annotation(&current, CHANGE_CAUSE_ANNOTATION).as_deref() == Some(change_cause)
    {
        return Ok(outcome(&current, false));
    }
    let order: Vec<Value> = containers.iter().map(|n| json!({"name": n})).collect();
    let body = json!({
        "metadata": {"annotations": {CHANGE_CAUSE_ANNOTATION: change_cause}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": order,
            "containers": [{"image": image, "name": target.container}],
        }}},
    });
    let patched = api
        .patch(&target.deployment, &params(), &Patch::Strategic(body))
        .await
        .map_err(|e| ActionError::from_kube(&doing, e))?;
    Ok(outcome(&patched, true))
}

/// What `undo` did; `message()` is what kubectl prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoOutcome {
    RolledBack {
        /// The revision whose template was restored (the controller renumbers it).
        revision: i64,
        image: Option<String>,
        /// `deployment.apps/<d> rolled back`
        message: String,
    },
    /// Nothing was sent.
    Skipped {
        revision: i64,
        /// `deployment.apps/<d> skipped rollback (current template already matches revision N)`
        message: String,
    },
}

impl UndoOutcome {
    pub fn message(&self) -> &str {
        match self {
            UndoOutcome::RolledBack { message, .. } | UndoOutcome::Skipped { message, .. } => {
                message
            }
        }
    }
}

/// `kubectl rollout undo` (`to_revision`: `--to-revision`; `None` is the previous revision).
/// Refusals carry kubectl's text in `reason`.
pub async fn undo(
    client: &Client,
    target: &Target,
    to_revision: Option<i64>,
) -> Result<UndoOutcome, ActionError> {
    let doing = format!(
        "rolling back deployment {:?} in namespace {:?}",
        target.deployment, target.namespace
    );
    let history = history::fetch(client, target).await?;
    let plan = undo::plan(&history.deployment, &history.replica_sets, to_revision)
        .map_err(|e| ActionError::new(&doing, e.to_string()))?;
    let prefix = format!("deployment.apps/{}", target.deployment);
    let rollback = match plan {
        UndoPlan::Skip { revision, message } => {
            return Ok(UndoOutcome::Skipped {
                revision,
                message: format!("{prefix} {message}"),
            });
        }
        UndoPlan::Rollback(r) => r,
    };
    // kube's JSON patch type is its own json-patch version's; the body is built as JSON.
    let ops = serde_json::from_value(rollback.body())
        .map_err(|e| ActionError::new(&doing, format!("building the patch: {e}")))?;
    deployment_api(client, target)
        .patch(&target.deployment, &params(), &Patch::<()>::Json(ops))
        .await
        .map_err(|e| {
            let mut err = ActionError::from_kube(&doing, e);
            err.reason = format!(
                "failed restoring revision {}: {}",
                rollback.revision, err.reason
            );
            err
        })?;
    Ok(UndoOutcome::RolledBack {
        revision: rollback.revision,
        image: history::container_image(&rollback.template, &target.container).map(str::to_string),
        message: format!("{prefix} rolled back"),
    })
}

/// How `follow_rollout` ended; the messages are kubectl's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutEnd {
    /// `deployment "x" successfully rolled out`
    Done(String),
    /// `deployment "x" exceeded its progress deadline`
    Failed(String),
    /// `object has been deleted`
    Deleted(String),
    /// `timed out waiting for the condition`; with the last watch error, if the watch was
    /// failing rather than the rollout being slow.
    TimedOut {
        message: String,
        last_error: Option<String>,
    },
    /// The progress sink stopped listening.
    Abandoned,
}

impl RolloutEnd {
    pub fn message(&self) -> &str {
        match self {
            RolloutEnd::Done(m) | RolloutEnd::Failed(m) | RolloutEnd::Deleted(m) => m,
            RolloutEnd::TimedOut { message, .. } => message,
            RolloutEnd::Abandoned => "",
        }
    }
}

/// Watch retries: quick at first, capped at a second, because a dropped watch on a healthy
/// API server should be resumed at once, and an unhealthy one not hammered.
pub(crate) struct RetryBackoff {
    next: Duration,
}

const FIRST_RETRY: Duration = Duration::from_millis(50);
const MAX_RETRY: Duration = Duration::from_secs(1);

impl Default for RetryBackoff {
    fn default() -> Self {
        Self { next: FIRST_RETRY }
    }
}

impl Iterator for RetryBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (now * 2).min(MAX_RETRY);
        Some(now)
    }
}

impl Backoff for RetryBackoff {
    fn reset(&mut self) {
        self.next = FIRST_RETRY;
    }
}

/// `kubectl rollout status deployment/<d> --timeout=<timeout>`: watches the one Deployment
/// and judges every state it sees by kubectl's rules, sending each new message to
/// `progress`, until the rollout is done, fails its progress deadline, the Deployment is
/// deleted, or `timeout` passes. A dropped watch is resumed (or re-listed) transparently.
pub async fn follow_rollout(
    client: &Client,
    target: &Target,
    timeout: Duration,
    progress: Sink<String>,
) -> Result<RolloutEnd, ActionError> {
    let doing = format!(
        "following the rollout of deployment {:?} in namespace {:?}",
        target.deployment, target.namespace
    );
    // `Duration::MAX` (kubectl's `--timeout=0`, wait for ever) must not overflow.
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600));
    let timed_out = |last_error: Option<String>| RolloutEnd::TimedOut {
        message: "timed out waiting for the condition".to_string(),
        last_error,
    };
    let api = deployment_api(client, target);
    // As kubectl does: a missing Deployment is an error now, not a wait until the timeout.
    match tokio::time::timeout_at(deadline, api.get(&target.deployment)).await {
        Err(_) => return Ok(timed_out(None)),
        Ok(Err(e)) => return Err(ActionError::from_kube(&doing, e)),
        Ok(Ok(_)) => {}
    }
    let config = watcher::Config::default().fields(&format!("metadata.name={}", target.deployment));
    let mut events = std::pin::pin!(watcher(api, config).backoff(RetryBackoff::default()));
    let mut last_message: Option<String> = None;
    let mut last_error: Option<String> = None;
    let mut listed = false;
    loop {
        let event = match tokio::time::timeout_at(deadline, events.next()).await {
            Err(_) => return Ok(timed_out(last_error)),
            Ok(None) => return Err(ActionError::new(&doing, "the watch ended")),
            Ok(Some(event)) => event,
        };
        let deployment = match event {
            Ok(watcher::Event::Apply(d)) => d,
            Ok(watcher::Event::InitApply(d)) => {
                listed = true;
                d
            }
            Ok(watcher::Event::Init) => {
                listed = false;
                continue;
            }
            // A re-list without it: it was deleted while the watch was down.
            Ok(watcher::Event::InitDone) if !listed => {
                return Ok(RolloutEnd::Deleted("object has been deleted".into()));
            }
            Ok(watcher::Event::InitDone) => continue,
            Ok(watcher::Event::Delete(_)) => {
                return Ok(RolloutEnd::Deleted("object has been deleted".into()));
            }
            Err(e) => {
                tracing::debug!(error = %e, deployment = %target.deployment, "rollout watch failed; retrying");
                last_error = Some(e.to_string());
                continue;
            }
        };
        last_error = None;
        let status = rollout_status(&deployment);
        if last_message.as_deref() != Some(status.message()) {
            last_message = Some(status.message().to_string());
            if !progress(status.message().to_string()) {
                return Ok(RolloutEnd::Abandoned);
            }
        }
        match status {
            RolloutStatus::Waiting(_) => {}
            RolloutStatus::Done(m) => return Ok(RolloutEnd::Done(m)),
            RolloutStatus::Failed(m) => return Ok(RolloutEnd::Failed(m)),
        }
    }
}
