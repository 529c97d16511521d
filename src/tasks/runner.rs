//! The TaskRunner: actions run as tokio tasks that report progress, output lines and one
//! final result as owned messages; they can be cancelled and time out; and no environment
//! ever has two mutating actions at once, whatever the caller asks.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::cluster::Sink;

/// What a task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent {
    /// A short status line (the newest replaces the last).
    Progress(String),
    /// A line of output to keep.
    Output(String),
    Done(TaskResult),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskMsg {
    pub task: u64,
    pub event: TaskEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    pub ok: bool,
    /// One line for the log and the runbook.
    pub summary: String,
    /// Structured detail for the journal (revision, job name, output digest...).
    pub detail: serde_json::Value,
    pub duration_ms: u64,
}

impl TaskResult {
    pub fn ok(summary: impl Into<String>, detail: serde_json::Value) -> Self {
        Self {
            ok: true,
            summary: summary.into(),
            detail,
            duration_ms: 0,
        }
    }

    pub fn failed(summary: impl Into<String>, detail: serde_json::Value) -> Self {
        Self {
            ok: false,
            summary: summary.into(),
            detail,
            duration_ms: 0,
        }
    }
}

/// What a running task gets: a way to report, and a way to learn it was cancelled.
#[derive(Clone)]
pub struct TaskCtx {
    pub task: u64,
    sink: Sink<TaskMsg>,
    cancel: watch::Receiver<bool>,
}

impl TaskCtx {
    pub fn progress(&self, line: impl Into<String>) {
        (self.sink)(TaskMsg {
            task: self.task,
            event: TaskEvent::Progress(line.into()),
        });
    }

    pub fn output(&self, line: impl Into<String>) {
        (self.sink)(TaskMsg {
            task: self.task,
            event: TaskEvent::Output(line.into()),
        });
    }

    /// Resolves once the task is asked to stop. Work that must clean up (kill a process
    /// group, say what was already sent) selects on this; the runner stops the rest.
    pub async fn cancelled(&self) {
        let mut rx = self.cancel.clone();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                // The runner is gone: nobody will ever cancel, so never resolve.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// How a task is to be run.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub task: u64,
    pub env: String,
    /// Changes the environment (deploy, rollback, migration): one at a time per environment.
    pub mutating: bool,
    /// What it is, for the refusal message ("deploy 1.2.3").
    pub what: String,
    pub timeout: Duration,
}

/// How long cancelled work gets to stop by itself before it is dropped.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

struct Running {
    spec: TaskSpec,
    cancel: watch::Sender<bool>,
}

pub struct TaskRunner {
    sink: Sink<TaskMsg>,
    running: HashMap<u64, Running>,
}

impl TaskRunner {
    pub fn new(sink: Sink<TaskMsg>) -> Self {
        Self {
            sink,
            running: HashMap::new(),
        }
    }

    /// Why `spec` may not start now, if it may not.
    pub fn refusal(&self, spec: &TaskSpec) -> Option<String> {
        if self.running.contains_key(&spec.task) {
            return Some(format!("task {} is already running", spec.task));
        }
        if !spec.mutating {
            return None;
        }
        self.running
            .values()
            .find(|r| r.spec.mutating && r.spec.env == spec.env)
            .map(|r| {
                format!(
                    "{} is running in {}; one change to an environment at a time (wait, or cancel it)",
                    r.spec.what, r.spec.env
                )
            })
    }

    /// Starts `work` unless the spec is refused; the refusal says why.
    pub fn start<F, Fut>(&mut self, spec: TaskSpec, work: F) -> Result<(), String>
    where
        F: FnOnce(TaskCtx) -> Fut,
        Fut: Future<Output = TaskResult> + Send + 'static,
    {
        if let Some(why) = self.refusal(&spec) {
            return Err(why);
        }
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let ctx = TaskCtx {
            task: spec.task,
            sink: self.sink.clone(),
            cancel: cancel_rx,
        };
        let fut = work(ctx.clone());
        let sink = self.sink.clone();
        let (task, timeout) = (spec.task, spec.timeout);
        tokio::spawn(async move {
            let started = Instant::now();
            tokio::pin!(fut);
            let mut result = tokio::select! {
                r = &mut fut => r,
                _ = tokio::time::sleep(timeout) => TaskResult::failed(
                    format!("timed out after {} s", timeout.as_secs()),
                    serde_json::Value::Null,
                ),
                _ = async {
                    ctx.cancelled().await;
                    tokio::time::sleep(CANCEL_GRACE).await;
                } => TaskResult::failed("cancelled (did not stop by itself)", serde_json::Value::Null),
            };
            result.duration_ms = started.elapsed().as_millis() as u64;
            sink(TaskMsg {
                task,
                event: TaskEvent::Done(result),
            });
        });
        self.running.insert(
            spec.task,
            Running {
                spec,
                cancel: cancel_tx,
            },
        );
        Ok(())
    }

    /// Asks a task to stop; false if it is not running.
    pub fn cancel(&mut self, task: u64) -> bool {
        match self.running.get(&task) {
            Some(r) => r.cancel.send(true).is_ok(),
            None => false,
        }
    }

    /// Forgets a task once its `Done` has been seen.
    pub fn finished(&mut self, task: u64) {
        self.running.remove(&task);
    }

    pub fn is_running(&self, task: u64) -> bool {
        self.running.contains_key(&task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn collecting() -> (Sink<TaskMsg>, Arc<Mutex<Vec<TaskMsg>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (
            Arc::new(move |m| {
                s.lock().unwrap().push(m);
                true
            }),
            seen,
        )
    }

    fn spec(task: u64, env: &str, mutating: bool, timeout_ms: u64) -> TaskSpec {
        TaskSpec {
            task,
            env: env.into(),
            mutating,
            what: format!("task {task}"),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    async fn done(seen: &Arc<Mutex<Vec<TaskMsg>>>, task: u64) -> TaskResult {
        for _ in 0..200 {
            if let Some(r) = seen.lock().unwrap().iter().find_map(|m| match &m.event {
                TaskEvent::Done(r) if m.task == task => Some(r.clone()),
                _ => None,
            }) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("task {task} never finished");
    }

    #[tokio::test]
    async fn one_mutating_task_per_environment() {
        let (sink, _seen) = collecting();
        let mut runner = TaskRunner::new(sink);
        let forever = |_ctx: TaskCtx| std::future::pending::<TaskResult>();
        runner
            .start(spec(1, "production", true, 60_000), forever)
            .unwrap();
        let refused = runner
            .start(spec(2, "production", true, 60_000), forever)
            .unwrap_err();
        assert!(
            refused.contains("task 1 is running in production"),
            "{refused}"
        );
        // Another environment, or a read-only task, may run alongside.
        runner
            .start(spec(3, "staging", true, 60_000), forever)
            .unwrap();
        runner
            .start(spec(4, "production", false, 60_000), forever)
            .unwrap();
        runner.finished(1);
        runner
            .start(spec(5, "production", true, 60_000), forever)
            .unwrap();
    }

    #[tokio::test]
    async fn progress_output_and_result_arrive_in_order() {
        let (sink, seen) = collecting();
        let mut runner = TaskRunner::new(sink);
        runner
            .start(
                spec(7, "staging", false, 5_000),
                |ctx: TaskCtx| async move {
                    ctx.progress("half way");
                    ctx.output("a line");
                    TaskResult::ok("all done", serde_json::json!({"n": 1}))
                },
            )
            .unwrap();
        let result = done(&seen, 7).await;
        assert_eq!(result.summary, "all done");
        let events: Vec<TaskEvent> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.event.clone())
            .collect();
        assert_eq!(events[0], TaskEvent::Progress("half way".into()));
        assert_eq!(events[1], TaskEvent::Output("a line".into()));
    }

    #[tokio::test]
    async fn timeout_ends_the_task_with_a_reason() {
        let (sink, seen) = collecting();
        let mut runner = TaskRunner::new(sink);
        runner
            .start(spec(1, "staging", true, 50), |_ctx: TaskCtx| {
                std::future::pending::<TaskResult>()
            })
            .unwrap();
        let result = done(&seen, 1).await;
        assert!(!result.ok);
        assert_eq!(result.summary, "timed out after 0 s");
    }

    #[tokio::test]
    async fn cancelled_work_reports_what_it_did() {
        let (sink, seen) = collecting();
        let mut runner = TaskRunner::new(sink);
        runner
            .start(
                spec(1, "staging", true, 60_000),
                |ctx: TaskCtx| async move {
                    ctx.cancelled().await;
                    TaskResult::failed(
                        "cancelled after the patch was sent",
                        serde_json::Value::Null,
                    )
                },
            )
            .unwrap();
        assert!(runner.cancel(1));
        let result = done(&seen, 1).await;
        assert_eq!(result.summary, "cancelled after the patch was sent");
        assert!(!runner.cancel(99));
    }
}
