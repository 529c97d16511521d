//! How each journaled action is carried out, as a task for the TaskRunner: the cluster
//! calls, the commands, and the reconciliation of an action a restart cut off (which
//! looks at the cluster and never sends anything again).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::{Api, Client};

use crate::cluster::actions::{self, RolloutEnd, UndoOutcome};
use crate::cluster::{Target, health, migrate};
use crate::config::Environment;
use crate::release::action::{Action, ActionDetail, ProbedUrl, RollbackMethod};
use crate::sink::Sink;
use crate::tasks::check::run_argv;
use crate::tasks::runner::{TaskCtx, TaskResult};

type Ctx = TaskCtx<ActionDetail>;
type Ended = TaskResult<ActionDetail>;

/// What a task needs besides its action.
pub struct Work {
    pub client: Result<Client, String>,
    pub target: Target,
    pub env: Environment,
    /// Where a command's whole output goes, and how the journal names it.
    pub output_file: (PathBuf, String),
}

fn progress_sink(ctx: &Ctx) -> Sink<String> {
    let ctx = ctx.clone();
    Arc::new(move |line| {
        ctx.progress(line);
        true
    })
}

pub async fn run(action: Action, resume: bool, ctx: Ctx, w: Work) -> Ended {
    match action {
        Action::Deploy {
            image,
            change_cause,
            ..
        } => {
            let client = match &w.client {
                Ok(c) => c.clone(),
                Err(e) => return TaskResult::failed(e.clone(), ActionDetail::None),
            };
            if resume {
                return resume_image(&client, &ctx, &w, &image).await;
            }
            ctx.progress(format!("setting the image to {image}"));
            match actions::set_image(&client, &w.target, &image, &change_cause).await {
                Err(e) => TaskResult::failed(e.to_string(), ActionDetail::None),
                Ok(out) => {
                    let sent = if out.patched {
                        format!(
                            "image set to {image} (was {})",
                            out.previous_image.clone().unwrap_or_default()
                        )
                    } else {
                        format!("{image} was already set; nothing sent")
                    };
                    ctx.output(sent.clone());
                    let detail = ActionDetail::ImageSet {
                        patched: out.patched,
                        previous_image: out.previous_image,
                        previous_revision: out.previous_revision,
                        generation: out.generation,
                    };
                    follow(&client, &ctx, &w, detail, &sent).await
                }
            }
        }
        Action::Rollback { method, .. } => {
            let client = match &w.client {
                Ok(c) => c.clone(),
                Err(e) => return TaskResult::failed(e.clone(), ActionDetail::None),
            };
            if resume {
                if let RollbackMethod::Image { image } = &method {
                    return resume_image(&client, &ctx, &w, image).await;
                }
                return TaskResult::failed(
                    "the cockpit stopped during this rollback; whether the undo was applied is \
                     what the live view shows now (nothing was sent again)",
                    ActionDetail::Interrupted {
                        interrupted: true,
                        patched: None,
                    },
                );
            }
            let undo = match method {
                RollbackMethod::Previous => actions::undo(&client, &w.target, None).await,
                RollbackMethod::ToRevision { revision } => {
                    actions::undo(&client, &w.target, Some(revision)).await
                }
                RollbackMethod::Image { image } => {
                    let cause = format!("release-cockpit: rollback to {image}");
                    match actions::set_image(&client, &w.target, &image, &cause).await {
                        Err(e) => return TaskResult::failed(e.to_string(), ActionDetail::None),
                        Ok(out) => {
                            let sent = format!("image set back to {image}");
                            ctx.output(sent.clone());
                            let detail = ActionDetail::ImageSetBack {
                                patched: out.patched,
                                image,
                            };
                            return follow(&client, &ctx, &w, detail, &sent).await;
                        }
                    }
                }
            };
            match undo {
                Err(e) => TaskResult::failed(e.to_string(), ActionDetail::None),
                Ok(UndoOutcome::Skipped { revision, message }) => {
                    ctx.output(message.clone());
                    TaskResult::ok(
                        message,
                        ActionDetail::UndoSkipped {
                            skipped: true,
                            revision,
                        },
                    )
                }
                Ok(UndoOutcome::RolledBack {
                    revision,
                    image,
                    message,
                }) => {
                    ctx.output(message.clone());
                    let detail = ActionDetail::RolledBack { revision, image };
                    let said = format!("rolled back to revision {revision}");
                    follow(&client, &ctx, &w, detail, &said).await
                }
            }
        }
        Action::Migrate { argv, job, .. } => {
            let client = match &w.client {
                Ok(c) => c.clone(),
                Err(e) => return TaskResult::failed(e.clone(), ActionDetail::None),
            };
            let timeout = Duration::from_secs(w.env.step_timeout_secs);
            // The same Job name on a resume: a Job already there is followed, not run again.
            let run = migrate::run(
                &client,
                &w.target,
                &argv,
                &job,
                timeout,
                progress_sink(&ctx),
            );
            let outcome = tokio::select! {
                r = run => r,
                _ = ctx.cancelled() => return TaskResult::failed(
                    format!("stopped following Job {job}; it keeps running in the cluster"),
                    ActionDetail::JobLeftRunning { job },
                ),
            };
            match outcome {
                Err(e) => TaskResult::failed(e, ActionDetail::JobLeftRunning { job }),
                Ok(m) => {
                    for line in &m.logs {
                        ctx.output(line.clone());
                    }
                    let summary = format!("Job {}: {} {}", m.job, m.reason, m.message);
                    let detail = ActionDetail::Migration {
                        job: m.job,
                        adopted: m.adopted,
                        reason: m.reason,
                        log_tail: m.logs.iter().rev().take(20).rev().cloned().collect(),
                    };
                    if m.succeeded {
                        TaskResult::ok(summary, detail)
                    } else {
                        TaskResult::failed(summary, detail)
                    }
                }
            }
        }
        Action::Health { urls } => {
            let timeout = Duration::from_secs(w.env.step_timeout_secs.min(30));
            let mut all_ok = true;
            let mut results = Vec::new();
            for url in &urls {
                ctx.progress(format!("GET {url}"));
                let h = health::check(url, timeout).await;
                ctx.output(format!("{url}: {}", h.summary()));
                for line in h.body.lines() {
                    ctx.output(format!("  {line}"));
                }
                all_ok &= h.healthy;
                results.push(ProbedUrl {
                    url: h.url,
                    http_status: h.http_status,
                    healthy: h.healthy,
                    error: h.error,
                });
            }
            let healthy = results.iter().filter(|r| r.healthy).count();
            let summary = format!("{healthy} of {} health URLs healthy", urls.len());
            if all_ok {
                TaskResult::ok(summary, ActionDetail::Health(results))
            } else {
                TaskResult::failed(summary, ActionDetail::Health(results))
            }
        }
        Action::Backup { argv } | Action::Smoke { argv } => {
            if resume {
                return TaskResult::failed(
                    "the cockpit stopped while this ran; run it again",
                    ActionDetail::Interrupted {
                        interrupted: true,
                        patched: None,
                    },
                );
            }
            let timeout = Duration::from_secs(w.env.step_timeout_secs);
            let line_ctx = ctx.clone();
            let outcome = run_argv(
                &argv,
                timeout,
                Some(&w.output_file),
                move |line| line_ctx.output(line),
                ctx.cancelled(),
            )
            .await;
            let detail = ActionDetail::Command {
                exit_code: outcome.exit_code,
                output_sha256: outcome.output_sha256,
                output_file: outcome.output_file,
            };
            match (outcome.exit_code, &outcome.error) {
                (Some(0), _) => TaskResult::ok(format!("`{}` passed", argv.join(" ")), detail),
                (Some(code), _) => TaskResult::failed(format!("exit status {code}"), detail),
                (None, e) => {
                    TaskResult::failed(e.clone().unwrap_or_else(|| "did not finish".into()), detail)
                }
            }
        }
    }
}

/// After a restart: the image is set (follow the rollout) or it is not (say so, send nothing).
async fn resume_image(client: &Client, ctx: &Ctx, w: &Work, image: &str) -> Ended {
    let api: Api<Deployment> = Api::namespaced(client.clone(), &w.target.namespace);
    // The cluster may be out of reach just after a restart; what was sent is unknown until
    // it answers, so keep asking (until cancelled or the runner's timeout) rather than
    // journal a failure for a deploy that may well have succeeded.
    let mut wait = std::time::Duration::from_millis(100);
    let current = loop {
        match api.get(&w.target.deployment).await {
            Ok(d) => break d,
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return TaskResult::failed(
                    format!(
                        "deployment {:?} is not in namespace {:?}: {}",
                        w.target.deployment, w.target.namespace, status.message
                    ),
                    ActionDetail::None,
                );
            }
            Err(e) => {
                let why = actions::ActionError::from_kube("reading the deployment to reconcile", e);
                ctx.progress(format!("{why}; retrying"));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = ctx.cancelled() => return TaskResult::failed(
                        format!("cancelled while the cluster was out of reach ({why}); the deploy's outcome is unknown"),
                        ActionDetail::Interrupted { interrupted: true, patched: None },
                    ),
                }
                wait = (wait * 2).min(std::time::Duration::from_secs(2));
            }
        }
    };
    let running = current
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == w.target.container))
        .and_then(|c| c.image.clone());
    if running.as_deref() != Some(image) {
        return TaskResult::failed(
            format!(
                "interrupted before {image} was set (the deployment runs {}); nothing was sent again",
                running.unwrap_or_default()
            ),
            ActionDetail::Interrupted {
                interrupted: true,
                patched: Some(false),
            },
        );
    }
    ctx.output(format!(
        "{image} was set before the restart; following the rollout"
    ));
    follow(
        client,
        ctx,
        w,
        ActionDetail::Resumed { resumed: true },
        "resumed",
    )
    .await
}

/// Follows the rollout to its end; the result says what was sent and how it ended.
async fn follow(client: &Client, ctx: &Ctx, w: &Work, detail: ActionDetail, sent: &str) -> Ended {
    let timeout = Duration::from_secs(w.env.rollout_timeout_secs);
    let end = tokio::select! {
        end = actions::follow_rollout(client, &w.target, timeout, progress_sink(ctx)) => end,
        _ = ctx.cancelled() => return TaskResult::failed(
            format!("{sent}; stopped following the rollout (cancelled)"),
            detail,
        ),
    };
    match end {
        Err(e) => TaskResult::failed(format!("{sent}; {e}"), detail),
        Ok(RolloutEnd::Done(m)) => TaskResult::ok(m, detail),
        Ok(end) => TaskResult::failed(
            match end.message() {
                "" => format!("{sent}; stopped following the rollout"),
                m => m.to_string(),
            },
            detail,
        ),
    }
}
