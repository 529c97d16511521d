//! The test cockpit (`common::Cockpit`) wired to a seeded sandbox cluster the way
//! `commands/cockpit.rs` wires the real one: a kube client per environment, the cluster
//! info, the live view and its watchers. The watchers and the TaskRunner's tasks really
//! run; what they send arrives on `rx` and is fed back through `Runtime::process` by
//! `pump`, as the event loop would.
//!
//! Include it next to `mod common;`:
//! `#[path = "common/cluster.rs"] mod cluster_common;`
#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cockpit_sandbox::RequestRecord;
use cockpit_sandbox::server::{self, Running};
use release_cockpit::app::{App, ClusterInfo, Msg};
use release_cockpit::cluster::client;
use release_cockpit::config::Config;
use release_cockpit::release::action::TaskId;
use release_cockpit::release::clock::{Clock, ScaledClock};
use release_cockpit::release::event::{Entry, Event};
use release_cockpit::release::journal;
use release_cockpit::release::store::{StateDir, parse_version};
use release_cockpit::runtime::Runtime;
use release_cockpit::tasks::runner::{TaskEvent, TaskMsg};

use crate::common::Cockpit;

pub const DEPLOYMENT: &str = "deal-scout-api";

/// A sandbox whose simulated time runs `speed` times faster than the wall clock.
pub async fn sandbox(speed: f64) -> Running {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), speed));
    server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the sandbox starts")
}

/// Writes a kubeconfig for `running` at `path`: contexts `production` (the current one:
/// where shared journals are) and `staging` as the release engineer, and `<user>@<env>`
/// for every sandbox user.
pub fn write_kubeconfig(running: &Running, path: &std::path::Path) {
    cockpit_sandbox::kubeconfig::write(
        path,
        &running.kubeconfig_server(),
        &[("production", "production"), ("staging", "staging")],
        running.sandbox.users(),
    )
    .unwrap();
}

/// A cockpit connected to a sandbox, and every task message it has seen (the output of a
/// task is gone from `App` once it ends, so the pump keeps a copy).
pub struct Live {
    pub c: Cockpit,
    pub url: String,
    /// The release engineer's, as the cockpit's own contexts use.
    pub token: String,
    pub seen: Vec<TaskMsg>,
}

impl Deref for Live {
    type Target = Cockpit;
    fn deref(&self) -> &Cockpit {
        &self.c
    }
}

impl DerefMut for Live {
    fn deref_mut(&mut self) -> &mut Cockpit {
        &mut self.c
    }
}

fn connect_runtime(rt: &mut Runtime, app: &mut App, config: &Config, url: &str, token: &str) {
    for (name, env) in &config.environments {
        rt.clients.insert(
            name.clone(),
            client::for_url(url, &env.namespace, Some(token)),
        );
    }
    app.cluster = Some(ClusterInfo {
        api: url.to_string(),
        kubeconfig: app.state_dir.join("sandbox.kubeconfig"),
        simulated: true,
    });
    rt.watch_every_cluster(app);
}

impl Live {
    /// A new release in a fresh state dir, then the cluster connected: what an engineer
    /// gets who starts the cockpit on a release not yet begun.
    pub fn new(running: &Running, config: Config, version: &str, release_type: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cockpit::open_in(dir, config.clone(), version, release_type);
        let token = running.sandbox.release_engineer_token().to_string();
        connect_runtime(&mut c.rt, &mut c.app, &config, &running.url(), &token);
        Self {
            c,
            url: running.url(),
            token,
            seen: Vec::new(),
        }
    }

    /// A cockpit started on an existing state dir, in the order `commands/cockpit.rs`
    /// starts one: clients and watchers first, then the release is opened, so an action
    /// the journal has in flight is reconciled against a connected cluster.
    pub fn reopen(
        dir: tempfile::TempDir,
        url: &str,
        token: &str,
        config: Config,
        version: &str,
        release_type: &str,
    ) -> Self {
        let c = Cockpit::open_in_with(dir, config.clone(), version, release_type, |rt, app| {
            connect_runtime(rt, app, &config, url, token);
        });
        Self {
            c,
            url: url.to_string(),
            token: token.to_string(),
            seen: Vec::new(),
        }
    }

    /// Everything in memory goes, as in a kill -9; the state dir stays. (The tasks the
    /// runtime spawned are not aborted, but nothing they send is heard or journaled.)
    pub fn crash(self) -> tempfile::TempDir {
        let Cockpit {
            app, rt, rx, dir, ..
        } = self.c;
        drop(rt);
        drop(rx);
        drop(app);
        dir
    }

    /// Feeds what the watchers and tasks send back into the cockpit until `done` holds.
    pub async fn pump(&mut self, what: &str, limit: Duration, done: impl Fn(&Cockpit) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.c) {
            let msg = match tokio::time::timeout_at(deadline, self.c.rx.recv()).await {
                Ok(Some(m)) => m,
                Ok(None) => panic!("{what}: every sender is gone"),
                Err(_) => panic!(
                    "{what}: not within {limit:?}; the log ends:\n{}",
                    self.log_tail(15)
                ),
            };
            if let Msg::Task(t) = &msg {
                self.seen.push(t.clone());
            }
            self.c.send(msg);
        }
    }

    /// Feeds messages in for `how_long`, whatever they are.
    pub async fn pump_for(&mut self, how_long: Duration) {
        let deadline = tokio::time::Instant::now() + how_long;
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, self.c.rx.recv()).await {
            if let Msg::Task(t) = &msg {
                self.seen.push(t.clone());
            }
            self.c.send(msg);
        }
    }

    /// Pumps until no action runs any more.
    pub async fn until_idle(&mut self, what: &str, limit: Duration) {
        self.pump(what, limit, |c| c.app.tasks.is_empty()).await;
    }

    /// The output lines task `task` sent.
    pub fn output(&self, task: TaskId) -> Vec<String> {
        self.seen
            .iter()
            .filter(|m| m.task == task)
            .filter_map(|m| match &m.event {
                TaskEvent::Output(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    /// The progress lines task `task` sent.
    pub fn progress(&self, task: TaskId) -> Vec<String> {
        self.seen
            .iter()
            .filter(|m| m.task == task)
            .filter_map(|m| match &m.event {
                TaskEvent::Progress(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.c.app.log.iter().map(|l| l.text.clone()).collect()
    }

    pub fn log_tail(&self, n: usize) -> String {
        let lines = self.log_lines();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Whether any log line contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.c.app.log.iter().any(|l| l.text.contains(text))
    }

    /// Whether the log shows how an action ended: a line that names it (`#1 deploy … in
    /// staging`), says whether it FAILED, and carries its summary.
    pub fn logged_result(&self, action: &str, failed: bool, summary: &str) -> bool {
        self.c.app.log.iter().any(|l| {
            l.text.starts_with(action)
                && l.text.contains("FAILED") == failed
                && l.text.contains(summary)
        })
    }

    /// The journal as it is on disk.
    pub fn journal(&self) -> Vec<Entry> {
        journal_entries(&self.c)
    }

    /// The PATCH requests the sandbox received for the Deployment in `ns`.
    pub async fn patches(&self, ns: &str) -> Vec<RequestRecord> {
        patches(&self.url, ns).await
    }
}

pub fn journal_entries(c: &Cockpit) -> Vec<Entry> {
    let store = StateDir::new(c.dir.path());
    let version = parse_version(&c.version).unwrap();
    journal::read(&store.journal_path(&version), &version.to_string())
        .expect("the journal reads")
        .0
        .entries
}

/// The journaled action events, in order.
pub fn action_events(entries: &[Entry]) -> Vec<Event> {
    entries
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::ActionStarted { .. } | Event::ActionFinished { .. }
            )
        })
        .map(|e| e.event.clone())
        .collect()
}

pub async fn patches(url: &str, ns: &str) -> Vec<RequestRecord> {
    let log: Vec<RequestRecord> = release_cockpit::http::client()
        .get(format!("{url}/_sandbox/requests"))
        .send()
        .await
        .expect("the request log")
        .json()
        .await
        .expect("the request log is JSON");
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{DEPLOYMENT}");
    log.into_iter()
        .filter(|r| r.method == "PATCH" && r.path == path)
        .collect()
}
