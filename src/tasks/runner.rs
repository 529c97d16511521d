//! The TaskRunner: work runs as tokio tasks that report progress, output lines and one
//! final result as owned values through a sink; it can be cancelled and times out. What a
//! result carries (`D`) is the caller's: an action's typed detail, a check's outcome.
//! Which work may run together is decided before it gets here, by the rules of the
//! release (one change per environment), not by the runner.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::release::action::{ActionDetail, TaskId};
use crate::sink::Sink;

/// What a task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent<D> {
    /// A short status line (the newest replaces the last).
    Progress(String),
    /// A line of output to keep.
    Output(String),
    Done(TaskResult<D>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult<D> {
    pub ok: bool,
    /// One line for the log and the runbook.
    pub summary: String,
    /// What the work did, for the journal.
    pub detail: D,
    pub duration_ms: u64,
}

impl<D> TaskResult<D> {
    pub fn ok(summary: impl Into<String>, detail: D) -> Self {
        Self {
            ok: true,
            summary: summary.into(),
            detail,
            duration_ms: 0,
        }
    }

    pub fn failed(summary: impl Into<String>, detail: D) -> Self {
        Self {
            ok: false,
            summary: summary.into(),
            detail,
            duration_ms: 0,
        }
    }
}

/// An action's report, as the cockpit receives it: which task, and what it said.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMsg {
    pub task: TaskId,
    pub event: TaskEvent<ActionDetail>,
}

/// What running work gets: a way to report, and a way to learn it was cancelled.
pub struct TaskCtx<D> {
    sink: Sink<TaskEvent<D>>,
    cancel: watch::Receiver<bool>,
}

impl<D> Clone for TaskCtx<D> {
    fn clone(&self) -> Self {
        Self {
            sink: self.sink.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

impl<D> TaskCtx<D> {
    pub fn progress(&self, line: impl Into<String>) {
        (self.sink)(TaskEvent::Progress(line.into()));
    }

    pub fn output(&self, line: impl Into<String>) {
        (self.sink)(TaskEvent::Output(line.into()));
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

/// The runner's handle on one piece of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(u64);

/// How long cancelled work gets to stop by itself before it is dropped.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

struct Running {
    cancel: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

#[derive(Default)]
pub struct TaskRunner {
    next: u64,
    running: HashMap<RunId, Running>,
}

/// "50 ms", "90 s": a timeout as the operator set it, never rounded to "0 s".
pub fn describe_timeout(timeout: Duration) -> String {
    if timeout < Duration::from_secs(1) {
        format!("{} ms", timeout.as_millis())
    } else {
        format!("{} s", timeout.as_secs())
    }
}

impl TaskRunner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `work`, which reports through `sink` and is stopped after `timeout`. A
    /// result that never came (the timeout, or cancelled work that did not stop) is
    /// reported as a failure with `D::default()` as its detail.
    pub fn start<D, F, Fut>(
        &mut self,
        timeout: Duration,
        sink: Sink<TaskEvent<D>>,
        work: F,
    ) -> RunId
    where
        D: Default + Send + 'static,
        F: FnOnce(TaskCtx<D>) -> Fut,
        Fut: Future<Output = TaskResult<D>> + Send + 'static,
    {
        self.running.retain(|_, r| !r.handle.is_finished());
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let ctx = TaskCtx {
            sink: sink.clone(),
            cancel: cancel_rx,
        };
        let fut = work(ctx.clone());
        let handle = tokio::spawn(async move {
            let started = Instant::now();
            tokio::pin!(fut);
            let mut result = tokio::select! {
                r = &mut fut => r,
                _ = tokio::time::sleep(timeout) => TaskResult::failed(
                    format!("timed out after {}", describe_timeout(timeout)),
                    D::default(),
                ),
                _ = async {
                    ctx.cancelled().await;
                    tokio::time::sleep(CANCEL_GRACE).await;
                } => TaskResult::failed("cancelled (did not stop by itself)", D::default()),
            };
            result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            sink(TaskEvent::Done(result));
        });
        self.next += 1;
        let id = RunId(self.next);
        self.running.insert(
            id,
            Running {
                cancel: cancel_tx,
                handle,
            },
        );
        id
    }

    /// Asks work to stop; false if it is not running.
    pub fn cancel(&mut self, run: RunId) -> bool {
        match self.running.get(&run) {
            Some(r) if !r.handle.is_finished() => r.cancel.send(true).is_ok(),
            _ => false,
        }
    }

    pub fn is_running(&self, run: RunId) -> bool {
        self.running
            .get(&run)
            .is_some_and(|r| !r.handle.is_finished())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<TaskEvent<u32>>>>;

    fn collecting() -> (Sink<TaskEvent<u32>>, Seen) {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        (
            Arc::new(move |m| {
                s.lock().unwrap().push(m);
                true
            }),
            seen,
        )
    }

    async fn done(seen: &Seen) -> TaskResult<u32> {
        for _ in 0..200 {
            if let Some(r) = seen.lock().unwrap().iter().find_map(|m| match m {
                TaskEvent::Done(r) => Some(r.clone()),
                _ => None,
            }) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the task never finished");
    }

    #[tokio::test]
    async fn progress_output_and_result_arrive_in_order() {
        let (sink, seen) = collecting();
        let mut runner = TaskRunner::new();
        runner.start(
            Duration::from_secs(5),
            sink,
            |ctx: TaskCtx<u32>| async move {
                ctx.progress("half way");
                ctx.output("a line");
                TaskResult::ok("all done", 1)
            },
        );
        let result = done(&seen).await;
        assert_eq!(result.summary, "all done");
        assert_eq!(result.detail, 1);
        let events = seen.lock().unwrap().clone();
        assert_eq!(events[0], TaskEvent::Progress("half way".into()));
        assert_eq!(events[1], TaskEvent::Output("a line".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_ends_the_task_with_a_reason() {
        let (sink, seen) = collecting();
        let mut runner = TaskRunner::new();
        let run = runner.start(Duration::from_secs(90), sink, |_ctx: TaskCtx<u32>| {
            std::future::pending::<TaskResult<u32>>()
        });
        tokio::time::sleep(Duration::from_secs(89)).await;
        assert!(
            runner.is_running(run),
            "the task ended before its timeout: {:?}",
            seen.lock().unwrap()
        );
        let result = done(&seen).await;
        assert!(!result.ok);
        assert_eq!(result.summary, "timed out after 90 s");
        assert_eq!(
            result.detail, 0,
            "a result that never came has the default detail"
        );
        assert!(!runner.is_running(run));
    }

    #[test]
    fn a_timeout_under_a_second_is_said_in_milliseconds() {
        assert_eq!(describe_timeout(Duration::from_millis(50)), "50 ms");
        assert_eq!(describe_timeout(Duration::from_secs(600)), "600 s");
    }

    #[tokio::test]
    async fn cancelled_work_reports_what_it_did() {
        let (sink, seen) = collecting();
        let mut runner = TaskRunner::new();
        let run = runner.start(
            Duration::from_secs(60),
            sink,
            |ctx: TaskCtx<u32>| async move {
                ctx.cancelled().await;
                TaskResult::failed("cancelled after the patch was sent", 7)
            },
        );
        assert!(runner.cancel(run));
        let result = done(&seen).await;
        assert!(!result.ok);
        assert_eq!(result.summary, "cancelled after the patch was sent");
        assert_eq!(result.detail, 7);
        assert!(!runner.cancel(RunId(99)));
    }
}
