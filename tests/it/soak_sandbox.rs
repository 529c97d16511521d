//! The soak window over the sandbox, wired as `commands/cockpit.rs` wires the demo: the real
//! `update`, Runtime, watchers and TaskRunner; the simulated production service; a metrics
//! poller and a ticker on one scaled clock (the cockpit's own poller and ticker are private
//! to its event loop, so they are copied here at the same 1 s cadence). What they send is
//! pumped into the cockpit as the event loop would; each test presses the keys the on-call
//! engineer would and asserts what lands in the journal, releases.log and the cluster.
//!
//! At 60x a minute of the window is a second of wall time, so the timeline is shortened
//! (T+0, T+1, T+5, T+10) through a config that replaces the `timeline` table. The Prometheus
//! test runs at 1x: Prometheus scrapes and stamps samples in wall time, and the cockpit only
//! reads Prometheus with the system clock.

use crate::common;
use crate::common::prometheus;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cockpit_sandbox::server::{self, Running};
use cockpit_sandbox::service::Services;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use release_cockpit::app::{App, ClusterInfo, Modal, Msg};
use release_cockpit::cluster::client;
use release_cockpit::cluster::progress::RolloutStatus;
use release_cockpit::config::Config;
use release_cockpit::metrics::gauges::{GaugeBoard, GaugeStatus};
use release_cockpit::metrics::prometheus::PrometheusSource;
use release_cockpit::metrics::scrape::ScrapeSource;
use release_cockpit::metrics::source::MetricSource;
use release_cockpit::release::action::TaskId;
use release_cockpit::release::action::{Action, RollbackMethod};
use release_cockpit::release::audit::{self, AuditRecord};
use release_cockpit::release::clock::{Clock, ScaledClock};
use release_cockpit::release::event::{Entry, Event};
use release_cockpit::release::journal;
use release_cockpit::release::soak::{self, SoakVerdict, TriggerKind};
use release_cockpit::release::state::ReleaseState;
use release_cockpit::release::store::{StateDir, parse_version};
use release_cockpit::runtime::Runtime;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use prometheus::Prometheus;

const SHA: &str = "0123abcd";
/// The cockpit's metrics poll and tick (wall time).
const POLL: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_secs(1);
/// Far longer than anything it bounds takes; reaching it is a failure.
const LIMIT: Duration = Duration::from_secs(45);
/// The shortened timeline: the procedure's first checkpoints, ending at T+10 so that the
/// "all pods rolled out" check (which the cockpit makes from T+10) is part of the window.
const TIMELINE: &[(i64, &str)] = &[
    (0, "Deploy starts"),
    (1, "First health checks"),
    (5, "Initial metrics review"),
    (10, "All pods rolled out"),
];
const ROLLED_OUT: &str = "deployment \"deal-scout-api\" successfully rolled out";

// ---------------------------------------------------------------------------------------
// The config, the sandbox and its services
// ---------------------------------------------------------------------------------------

/// The embedded config with `timeline` and `rollback_triggers` replaced (a user file's
/// top-level table replaces the default's whole).
fn config(timeline: Option<&[(i64, &str)]>, sustain_seconds: i64) -> Config {
    let mut toml = String::new();
    for (at, title) in timeline.unwrap_or_default() {
        toml.push_str(&format!(
            "[[timeline.checkpoints]]\nat_minutes = {at}\ntitle = \"{title}\"\n\n"
        ));
    }
    toml.push_str(&format!(
        "[rollback_triggers]\nerror_rate_above = 0.05\np95_degradation_above = 0.5\n\
         sustain_seconds = {sustain_seconds}\n"
    ));
    Config::from_str("soak_sandbox.toml", &toml).unwrap_or_else(|p| panic!("{p:#?}"))
}

/// The sandbox cluster and its simulated services on one clock.
struct World {
    clock: Arc<dyn Clock>,
    running: Running,
    services: Services,
    speed: f64,
}

impl World {
    async fn start(speed: f64) -> World {
        let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), speed));
        let running = server::start_seeded(clock.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("the sandbox starts");
        let services = Services::start(running.sandbox.clone())
            .await
            .expect("the simulated services start");
        World {
            clock,
            running,
            services,
            speed,
        }
    }

    /// The source the demo reads: production's `/metrics` scraped directly, with five polls
    /// in every rate window of simulated time (as `commands/cockpit.rs` sizes it).
    fn scrape_source(&self) -> ScrapeSource {
        let window = Duration::from_secs_f64((5.0 * POLL.as_secs_f64() * self.speed).max(10.0));
        ScrapeSource::new(
            &format!("{}/metrics", self.services.urls["production"]),
            window,
            Duration::from_secs(2),
        )
    }

    /// What the cluster itself runs in production, whatever the cockpit's view says.
    fn production_images(&self) -> (String, Vec<String>) {
        let store = self.running.sandbox.store();
        let d = store
            .get("deployments", "production", "deal-scout-api")
            .expect("the Deployment");
        let template = d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pods = store
            .list("pods", Some("production"))
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "deal-scout-api")
            .map(|p| {
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        (template, pods)
    }

    async fn stop(self) {
        self.services.stop().await;
        self.running.stop().await;
    }
}

// ---------------------------------------------------------------------------------------
// The cockpit, wired as the demo wires it
// ---------------------------------------------------------------------------------------

struct Soak {
    app: App,
    rt: Runtime,
    rx: mpsc::UnboundedReceiver<Msg>,
    dir: tempfile::TempDir,
    version: String,
    background: Vec<JoinHandle<()>>,
}

/// `poll_metrics` of `commands/cockpit.rs`, for production only.
async fn poll_metrics(
    mut source: Box<dyn MetricSource>,
    clock: Arc<dyn Clock>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let mut interval = tokio::time::interval(POLL);
    loop {
        interval.tick().await;
        let at = clock.now();
        let readings = source.poll(at).await;
        let msg = Msg::Readings {
            env: "production".into(),
            at,
            readings,
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// The event loop's ticker.
async fn tick(clock: Arc<dyn Clock>, tx: mpsc::UnboundedSender<Msg>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        if tx.send(Msg::Tick(clock.now())).is_err() {
            return;
        }
    }
}

impl Soak {
    /// A new release in a fresh state dir, the cockpit looking at production: clients,
    /// watchers and the metrics poller first, then the release is opened.
    fn open(
        world: &World,
        mut config: Config,
        version: &str,
        release_type: &str,
        source: Box<dyn MetricSource>,
    ) -> Soak {
        for (name, env) in &mut config.environments {
            let url = &world.services.urls[name];
            env.health_url = format!("{url}/health");
            env.detailed_health_url = format!("{url}/api/v1/monitoring/health/detailed");
        }
        let dir = tempfile::tempdir().unwrap();
        let clock = world.clock.clone();
        let store = StateDir::new(dir.path());
        let (tx, rx) = mpsc::unbounded_channel();
        let mut app = App::new(
            config.clone(),
            "production".into(),
            "alice".into(),
            clock.now(),
        );
        app.state_dir = dir.path().to_path_buf();
        app.log_file = dir.path().join("logs/release-cockpit.log");
        let mut rt = Runtime::new(
            config.clone(),
            store.clone(),
            "alice".into(),
            clock.clone(),
            tx.clone(),
        );
        let url = world.running.url();
        let token = world.running.sandbox.release_engineer_token();
        for (name, env) in &config.environments {
            rt.clients.insert(
                name.clone(),
                client::for_url(&url, &env.namespace, Some(token)),
            );
        }
        app.cluster = Some(ClusterInfo {
            api: url,
            kubeconfig: dir.path().join("sandbox.kubeconfig"),
            simulated: true,
        });
        rt.watch_every_cluster(&mut app);
        app.boards.insert(
            "production".into(),
            GaugeBoard::new(&config, source.describe()),
        );
        let background = vec![
            tokio::spawn(poll_metrics(source, clock.clone(), tx.clone())),
            tokio::spawn(tick(clock.clone(), tx)),
        ];
        common::open_release(
            &mut rt,
            &mut app,
            &store,
            &config,
            version,
            release_type,
            clock.now(),
        );
        Soak {
            app,
            rt,
            rx,
            dir,
            version: version.to_string(),
            background,
        }
    }

    fn send(&mut self, msg: Msg) {
        self.rt.process(&mut self.app, msg);
    }

    fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn char(&mut self, c: char) {
        self.key(KeyCode::Char(c));
    }

    fn answer(&mut self, text: &str) {
        for c in text.chars() {
            self.char(c);
        }
        self.key(KeyCode::Enter);
    }

    /// `a`, the role picked, the approver's name typed.
    /// `name` approves, signed in as themselves for it (the approver records their own).
    fn approve(&mut self, role: &str, name: &str) {
        let me = self.app.identity.clone();
        let them = release_cockpit::release::identity::Identity::claimed(name);
        self.rt.operator = them.author.clone();
        self.app.identity = them;
        self.char('a');
        let Some(Modal::Pick(p)) = &self.app.modal else {
            panic!("approve did not open a picker: {:?}", self.app.modal);
        };
        let target = p
            .options
            .iter()
            .position(|o| o.id == role)
            .expect("role offered");
        let steps = (target + p.options.len() - p.selected) % p.options.len();
        for _ in 0..steps {
            self.char('j');
        }
        self.key(KeyCode::Enter);
        assert!(
            matches!(self.app.modal, Some(Modal::Confirm(_))),
            "an approval is confirmed: {:?}",
            self.app.modal
        );
        self.key(KeyCode::Enter);
        self.rt.operator = me.author.clone();
        self.app.identity = me;
    }

    fn release(&self) -> &ReleaseState {
        self.app.release.as_ref().expect("a release is open")
    }

    /// Feeds what the poller, ticker, watchers and tasks send into the cockpit until `done`.
    async fn pump(&mut self, what: &str, limit: Duration, done: impl Fn(&Soak) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            let msg = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(m)) => m,
                Ok(None) => panic!("{what}: every sender is gone"),
                Err(_) => panic!(
                    "{what}: not within {limit:?}; the log ends:\n{}",
                    self.log_tail(15)
                ),
            };
            self.send(msg);
        }
    }

    fn logged(&self, text: &str) -> bool {
        self.app.log.iter().any(|l| l.text.contains(text))
    }

    fn log_tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.app.log.iter().map(|l| l.text.as_str()).collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn journal(&self) -> Vec<Entry> {
        let store = StateDir::new(self.dir.path());
        let version = parse_version(&self.version).unwrap();
        journal::read(&store.journal_path(&version), &version.to_string())
            .expect("the journal reads")
            .0
            .entries
    }

    fn releases_log(&self) -> Vec<AuditRecord> {
        let (records, problems) = audit::read(&self.dir.path().join("releases.log")).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        records
    }

    fn gauge(&self, name: &str) -> (Option<f64>, Option<f64>, GaugeStatus) {
        let g = &self.app.boards.get("production").expect("gauges").gauges[name];
        (g.value, g.threshold, g.status)
    }

    /// How long (clock time) production's p95 has had numbers: from its first to its last.
    fn read_for(&self) -> chrono::Duration {
        let history = &self.app.boards["production"].gauges["p95_latency_seconds"].history;
        let mut with_values = history.iter().filter(|(_, v)| v.is_some()).map(|(t, _)| *t);
        match (with_values.next(), with_values.next_back()) {
            (Some(first), Some(last)) => last - first,
            _ => chrono::Duration::zero(),
        }
    }

    fn finished(&self, task: TaskId) -> bool {
        self.release()
            .action(task)
            .is_some_and(|a| a.finished.is_some())
    }

    /// Every pod of the Deployment on the newest revision, ready, running `image`.
    fn all_on(&self, image: &str, replicas: usize) -> bool {
        let Some(view) = self.app.views.get("production") else {
            return false;
        };
        let Some(current) = view.revisions().iter().find(|r| r.current) else {
            return false;
        };
        current.image == image
            && view.pod_count() == replicas
            && view
                .pods()
                .all(|p| p.revision == Some(current.revision) && p.image == image && p.ready == 1)
            && matches!(view.progress(), Some(RolloutStatus::Done(_)))
    }

    fn stop(self) {
        for t in &self.background {
            t.abort();
        }
    }
}

/// How action `task` ended, as journaled.
fn outcome(s: &Soak, task: TaskId) -> (bool, String, Value) {
    let a = s.release().action(task).expect("the action");
    let (_, o) = a.finished.as_ref().expect("finished");
    (
        o.ok,
        o.summary.clone(),
        serde_json::to_value(&o.detail).unwrap(),
    )
}

/// The first journaled event `pick` accepts, with its entry.
fn journaled<T>(s: &Soak, pick: impl Fn(&Event) -> Option<T>) -> Option<(Entry, T)> {
    s.journal()
        .into_iter()
        .find_map(|e| pick(&e.event).map(|t| (e, t)))
}

/// An emergency release's path to production: the CTO's approval, the commit SHA, then D
/// with the typed confirmation, once the view and the gauges are live (the baseline is what
/// the gauges read as the deploy starts). Returns the deploy's task.
async fn deploy_to_production(s: &mut Soak) -> TaskId {
    // The baseline is the median of what was read before the deploy: give it more than a
    // rate window (10 s) of readings, as a cockpit that has been open a while has. (A
    // Prometheus just started computes its first rates over a scrape or two, and a p95
    // from those once fired the latency trigger on noise.)
    s.pump(
        "the production view and 15 s of gauges are live",
        LIMIT,
        |s| {
            s.all_on("deal-scout-api:1.2.2", 4)
                && s.gauge("error_rate").0.is_some()
                && s.gauge("p95_latency_seconds").0.is_some()
                && s.read_for() >= chrono::Duration::seconds(15)
        },
    )
    .await;
    s.approve("cto", "Carla CTO");
    s.char('s');
    s.answer(SHA);
    assert_eq!(s.release().commit_sha.as_deref(), Some(SHA));
    let task = s.release().next_task();
    s.char('D');
    let Some(Modal::Input(prompt)) = &s.app.modal else {
        panic!("production needs a typed confirmation: {:?}", s.app.modal);
    };
    assert!(
        prompt
            .prompt
            .contains("Now running: revision 2 (deal-scout-api:1.2.2)"),
        "{}",
        prompt.prompt
    );
    let typed = format!("production {}", s.version);
    s.answer(&typed);
    assert!(
        s.app.tasks.contains_key(&task),
        "the deploy did not start:\n{}",
        s.log_tail(5)
    );

    // The baseline is on disk before the deploy's start, with the gauges read then.
    let journal = s.journal();
    let seq_of = |f: &dyn Fn(&Event) -> bool| journal.iter().find(|e| f(&e.event)).map(|e| e.seq);
    let baseline = seq_of(&|e| matches!(e, Event::BaselineCaptured { .. }));
    let started = seq_of(&|e| matches!(e, Event::ActionStarted { task: t, .. } if *t == task));
    assert!(
        baseline.is_some() && baseline < started,
        "baseline #{baseline:?}, deploy #{started:?}"
    );
    let (_, gauges) = s.release().soak.baseline.clone().expect("baseline folded");
    let healthy = gauges["error_rate"];
    assert!(
        (0.0..0.005).contains(&healthy),
        "baseline error rate {healthy}"
    );
    assert!(gauges.contains_key("p95_latency_seconds"), "{gauges:?}");
    task
}

// ---------------------------------------------------------------------------------------
// a. A healthy release reaches "stable"
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_release_soaks_through_its_checkpoints_and_is_declared_stable() {
    let world = World::start(60.0).await;
    let source = Box::new(world.scrape_source());
    let mut s = Soak::open(
        &world,
        config(Some(TIMELINE), 60),
        "1.2.3",
        "emergency",
        source,
    );
    let task = deploy_to_production(&mut s).await;
    s.pump("the deploy rolls out", LIMIT, |s| s.finished(task))
        .await;
    let (ok, summary, _) = outcome(&s, task);
    assert!(ok, "{summary}");
    assert_eq!(summary, ROLLED_OUT);
    let deploy = s.release().action(task).unwrap().clone();
    let t0 = deploy.started;
    let deploy_finished = deploy.finished.as_ref().unwrap().0;

    s.pump("the soak window ends", LIMIT, |s| {
        s.logged("the soak window is over")
    })
    .await;
    let snapshots = s.release().soak.snapshots.clone();
    assert_eq!(
        snapshots.keys().copied().collect::<Vec<_>>(),
        [0, 1, 5, 10],
        "every checkpoint recorded"
    );
    for (at, snap) in &snapshots {
        assert!(snap.passed, "T+{at} failed: {:?}", snap.failures);
        let rate = snap.gauges["error_rate"].expect("error rate read at the checkpoint");
        assert!(rate < 0.005, "T+{at}: error rate {rate}");
    }
    assert_eq!(snapshots[&10].rollout.as_deref(), Some(ROLLED_OUT));
    // Each snapshot is journaled once its minute has come, not before.
    for e in s.journal() {
        if let Event::CheckpointRecorded { snapshot } = &e.event {
            let due = t0 + chrono::Duration::minutes(snapshot.at_minutes);
            assert!(
                e.at >= due,
                "T+{} journaled at {}",
                snapshot.at_minutes,
                e.at
            );
        }
    }
    assert!(s.release().soak.triggers.is_empty());
    // Closed: the gauges are judged against the normal thresholds again.
    s.pump("a poll after the window", LIMIT, |s| {
        s.gauge("error_rate").1 == Some(0.01)
    })
    .await;

    s.char('Y');
    let Some(Modal::Confirm(dialog)) = &s.app.modal else {
        panic!("Y asks to confirm: {:?}\n{}", s.app.modal, s.log_tail(5));
    };
    assert_eq!(dialog.title, "Declare the release stable?");
    s.char('y');
    assert_eq!(
        s.release().soak.verdict,
        Some(SoakVerdict::Stable { reason: None })
    );
    let (concluded, _) = journaled(&s, |e| matches!(e, Event::Concluded { .. }).then_some(()))
        .expect("the verdict is journaled");

    let lines = s.releases_log();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert_eq!(line.version, "1.2.3");
    assert_eq!(line.release_type, "emergency");
    assert_eq!(line.environment, "production");
    assert_eq!(line.outcome, "stable");
    assert_eq!(line.commit_sha.as_deref(), Some(SHA));
    assert_eq!(line.image.as_deref(), Some("deal-scout-api:1.2.3"));
    assert_eq!(line.deploy_started_at, Some(t0));
    assert_eq!(line.rollout_finished_at, Some(deploy_finished));
    assert_eq!(line.finished_at, concluded.at);
    assert_eq!(
        line.journal_head,
        Some(journal::chain::entry_hash(&concluded)),
        "the line pins the journal at its conclusion"
    );
    assert!(line.finished_at > deploy_finished && deploy_finished > t0);
    assert!(line.finished_at >= t0 + chrono::Duration::minutes(10));
    assert_eq!(line.approvers.len(), 1);
    assert_eq!(
        (
            line.approvers[0].role.as_str(),
            line.approvers[0].name.as_str()
        ),
        ("cto", "Carla CTO")
    );
    assert!(line.rollback.is_none(), "no rollback: {:?}", line.rollback);
    assert_eq!(
        world.production_images(),
        (
            "deal-scout-api:1.2.3".to_string(),
            vec!["deal-scout-api:1.2.3".to_string(); 4]
        )
    );
    s.stop();
    world.stop().await;
}

// ---------------------------------------------------------------------------------------
// b, c. An -errors release fires the trigger and is rolled back by one key
// ---------------------------------------------------------------------------------------

fn alert_open(s: &Soak) -> bool {
    matches!(&s.app.modal, Some(Modal::Confirm(c)) if c.title.starts_with("ROLLBACK TRIGGER"))
}

/// From the deploy of `1.2.3-errors` to the gauges back after the rollback: the trigger
/// fires with the measured rate, `y` on the alert rolls production back to 1.2.2, the
/// release is concluded rolled back and releases.log says how and why.
async fn errors_release_is_rolled_back(s: &mut Soak, world: &World) {
    let task = deploy_to_production(s).await;
    s.pump("the error-rate trigger alerts", LIMIT, alert_open)
        .await;
    let (fired_at, detail) = journaled(s, |e| match e {
        Event::TriggerFired { trigger, detail } => Some((*trigger, detail.clone())),
        _ => None,
    })
    .map(|(e, (kind, detail))| {
        assert_eq!(kind, TriggerKind::ErrorRate, "{detail}");
        (e.at, detail)
    })
    .expect("the trigger is journaled");
    let sustain = s.app.config.rollback_triggers.sustain_seconds;
    let measured: f64 = detail
        .split('%')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no rate in {detail:?}"));
    assert!(
        measured > 5.0 && measured < 9.0,
        "the measured rate of an -errors version (8%): {detail}"
    );
    assert!(detail.contains("% > 5.00% for "), "{detail}");
    let held: i64 = detail
        .rsplit("for ")
        .next()
        .and_then(|s| s.trim_end_matches(" s").parse().ok())
        .unwrap_or_else(|| panic!("no sustain in {detail:?}"));
    assert!(held >= sustain, "held {held} s of a {sustain} s sustain");
    assert!(s.logged(&detail), "the log says it: {}", s.log_tail(5));
    let Some(Modal::Confirm(alert)) = &s.app.modal else {
        unreachable!()
    };
    assert_eq!(
        alert.title,
        "ROLLBACK TRIGGER: error rate above the rollback line"
    );
    assert!(alert.body.contains(&detail), "{:?}", alert.body);
    assert!(
        alert
            .body
            .iter()
            .any(|l| l == "Roll production back to the previous revision now?"),
        "{:?}",
        alert.body
    );
    assert!(
        s.finished(task),
        "the trigger fired while the deploy was still running; y would be refused:\n{}",
        s.log_tail(5)
    );

    // One key: the rollback runs with the trigger as its reason.
    let rollback = s.release().next_task();
    s.char('y');
    assert!(s.app.modal.is_none());
    let reason = format!("error rate above the rollback line: {detail}");
    let started = s.release().action(rollback).map(|a| a.action.clone());
    assert_eq!(
        started,
        Some(Action::Rollback {
            method: RollbackMethod::Previous,
            reason: reason.clone(),
        }),
        "{}",
        s.log_tail(5)
    );
    s.pump("the rollback ends", LIMIT, |s| s.finished(rollback))
        .await;
    let (ok, summary, detail_json) = outcome(s, rollback);
    assert!(ok, "{summary}");
    assert_eq!(summary, ROLLED_OUT);
    assert_eq!(detail_json["image"], "deal-scout-api:1.2.2");
    s.pump("production back on 1.2.2", LIMIT, |s| {
        s.all_on("deal-scout-api:1.2.2", 4)
    })
    .await;
    assert_eq!(
        world.production_images(),
        (
            "deal-scout-api:1.2.2".to_string(),
            vec!["deal-scout-api:1.2.2".to_string(); 4]
        )
    );

    let method = "undo to the previous revision".to_string();
    assert_eq!(
        s.release().soak.verdict,
        Some(SoakVerdict::RolledBack {
            method: method.clone(),
            reason: reason.clone()
        })
    );
    let lines = s.releases_log();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert_eq!(line.outcome, "rolled_back");
    assert_eq!(line.commit_sha.as_deref(), Some(SHA));
    assert_eq!(line.image.as_deref(), Some("deal-scout-api:1.2.3-errors"));
    let rb = line.rollback.as_ref().expect("the rollback is recorded");
    assert_eq!((&rb.method, &rb.reason), (&method, &reason));
    assert!(line.finished_at >= fired_at);
    assert_eq!(s.release().soak.triggers.len(), 1, "journaled once");

    // The gauges come back: the rate window slides past the -errors traffic.
    s.pump("the error rate back under its threshold", LIMIT, |s| {
        let (v, t, status) = s.gauge("error_rate");
        v.is_some_and(|v| v < 0.005) && t.is_some() && status == GaugeStatus::Ok
    })
    .await;
    assert!(s.app.modal.is_none(), "no second alert");
    assert_eq!(s.release().soak.triggers.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_errors_release_fires_the_trigger_and_one_key_rolls_it_back() {
    let world = World::start(60.0).await;
    let source = Box::new(world.scrape_source());
    let mut s = Soak::open(
        &world,
        config(Some(TIMELINE), 60),
        "1.2.3-errors",
        "emergency",
        source,
    );
    errors_release_is_rolled_back(&mut s, &world).await;
    s.stop();
    world.stop().await;
}

// ---------------------------------------------------------------------------------------
// The trigger through a real Prometheus (common/prometheus.rs) scraping production's
// service every second on loopback; killed on drop even when the test fails.
// ---------------------------------------------------------------------------------------

/// At 1x, with the procedure's timeline (the window stays open throughout) and a sustain of
/// two poll intervals: Prometheus's 1 s scrapes and 10 s rate window in wall time are what
/// a real cockpit reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_prometheus_as_the_source_the_trigger_fires_and_the_rollback_runs() {
    let world = World::start(1.0).await;
    let target = world.services.urls["production"]
        .strip_prefix("http://")
        .expect("plain http")
        .to_string();
    let prom = Prometheus::start(&[&target]).await;
    let config = config(None, 2);
    let queries: BTreeMap<String, String> = config.metric_queries.clone();
    let source = Box::new(PrometheusSource::new(
        &prom.url,
        &queries,
        "10s",
        Duration::from_secs(2),
    ));
    let mut s = Soak::open(&world, config, "1.2.3-errors", "emergency", source);
    assert_eq!(
        s.app.boards["production"].source,
        format!("prometheus {}", prom.url)
    );
    errors_release_is_rolled_back(&mut s, &world).await;
    s.stop();
    drop(prom);
    world.stop().await;
}

// ---------------------------------------------------------------------------------------
// A trigger that fires while the deploy is still following a slow rollout
// ---------------------------------------------------------------------------------------

impl Soak {
    /// Feeds messages in for `how_long`, whatever they are.
    async fn pump_for(&mut self, how_long: Duration) {
        let deadline = tokio::time::Instant::now() + how_long;
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.send(msg);
        }
    }

    fn rollbacks(&self) -> Vec<TaskId> {
        self.release()
            .actions
            .iter()
            .filter(|a| matches!(a.action, Action::Rollback { .. }))
            .map(|a| a.task)
            .collect()
    }
}

/// `1.2.3-errors-slowstart` at 4x: each new pod takes 47 s to be ready, so for most of a
/// minute three of the four serving pods fail 8% of requests (6% overall) while the deploy
/// still follows the rollout. With a 20 s rate window and an 8 s sustain the trigger fires
/// in that minute, as it would in a real rollout of pods that start slowly.
async fn slow_errors_rollout(armed: bool) -> (World, Soak, TaskId) {
    let world = World::start(4.0).await;
    let source = Box::new(world.scrape_source());
    let mut s = Soak::open(
        &world,
        config(None, 8),
        "1.2.3-errors-slowstart",
        "emergency",
        source,
    );
    if armed {
        s.char('A');
        s.char('y');
        assert_eq!(s.release().soak.auto_rollback.as_deref(), Some("alice"));
    }
    let task = deploy_to_production(&mut s).await;
    s.pump("the trigger fires", Duration::from_secs(90), |s| {
        !s.release().soak.triggers.is_empty()
    })
    .await;
    (world, s, task)
}

/// The journal says auto-rollback went off; nothing was rolled back, and since it fires at
/// most once, nothing ever will be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn armed_auto_rollback_firing_during_a_slow_rollout_still_rolls_back() {
    let (world, mut s, task) = slow_errors_rollout(true).await;
    let running = !s.finished(task);
    s.pump("the deploy ends", Duration::from_secs(90), |s| {
        s.finished(task)
    })
    .await;
    // Time for a rollback held back until the deploy ended to start.
    s.pump_for(Duration::from_secs(3)).await;
    assert!(
        !s.rollbacks().is_empty(),
        "auto-rollback fired (journaled: {}) while #{task} deploy was still following the \
         rollout ({running}), and no rollback ran; the log ends:\n{}",
        s.release().soak.auto_rollback_fired,
        s.log_tail(8)
    );
    s.stop();
    world.stop().await;
}

/// The alert says "y rolls back"; pressed while the deploy still follows the rollout, y is
/// refused and the pre-filled rollback is gone with the alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alerts_y_during_a_slow_rollout_still_rolls_back() {
    let (world, mut s, task) = slow_errors_rollout(false).await;
    assert!(alert_open(&s), "{:?}", s.app.modal);
    let running = !s.finished(task);
    s.char('y');
    s.pump("the deploy ends", Duration::from_secs(90), |s| {
        s.finished(task)
    })
    .await;
    s.pump_for(Duration::from_secs(3)).await;
    assert!(
        !s.rollbacks().is_empty(),
        "y on the alert while #{task} deploy was still following the rollout ({running}) \
         rolled nothing back; the log ends:\n{}",
        s.log_tail(8)
    );
    s.stop();
    world.stop().await;
}

// ---------------------------------------------------------------------------------------
// T+0 of a release deployed twice
// ---------------------------------------------------------------------------------------

/// The first production deploy fails before anything reaches the cluster (its API cannot be
/// reached); three minutes later the engineer deploys again and 1.2.3 rolls out. The
/// procedure's T+0 is the deploy that started 1.2.3 in production, not the attempt that
/// changed nothing: checkpoints measured from the attempt judge 1.2.2's traffic as 1.2.3's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_opens_with_the_deploy_that_reached_production() {
    let world = World::start(60.0).await;
    let source = Box::new(world.scrape_source());
    let mut s = Soak::open(
        &world,
        config(Some(TIMELINE), 60),
        "1.2.3",
        "emergency",
        source,
    );
    // Nothing listens on port 9; the live view keeps its own watchers on the sandbox.
    s.rt.clients.insert(
        "production".into(),
        client::for_url("http://127.0.0.1:9", "production", None),
    );
    let first = deploy_to_production(&mut s).await;
    s.pump("the first deploy fails", LIMIT, |s| s.finished(first))
        .await;
    let (ok, summary, _) = outcome(&s, first);
    assert!(!ok, "{summary}");
    s.pump_for(Duration::from_secs(3)).await;

    s.rt.clients.insert(
        "production".into(),
        client::for_url(
            &world.running.url(),
            "production",
            Some(world.running.sandbox.release_engineer_token()),
        ),
    );
    let second = s.release().next_task();
    s.char('D');
    assert!(
        matches!(s.app.modal, Some(Modal::Input(_))),
        "{}",
        s.log_tail(3)
    );
    s.answer("production 1.2.3");
    s.pump("the second deploy rolls out", LIMIT, |s| s.finished(second))
        .await;
    let (ok, summary, _) = outcome(&s, second);
    assert!(ok, "{summary}");

    let started = |task: TaskId| s.release().action(task).unwrap().started;
    let window = soak::window(s.release(), &s.app.config).expect("the window is open");
    let early: Vec<i64> = s
        .journal()
        .iter()
        .filter_map(|e| match &e.event {
            Event::CheckpointRecorded { snapshot } if e.at < started(second) => {
                Some(snapshot.at_minutes)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        window.t0,
        started(second),
        "T+0 is the failed attempt #{first} ({}), {} s before 1.2.3 was deployed; \
         checkpoints T+{early:?} were recorded before it ran",
        started(first),
        (started(second) - started(first)).num_seconds()
    );
    s.stop();
    world.stop().await;
}
