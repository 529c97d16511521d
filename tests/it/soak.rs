//! The soak window through the real `update` and journal with a manual clock: checkpoints
//! at their minute, thresholds that switch when the window closes, triggers that honour
//! their sustain time and never fire on missing data, auto-rollback that fires once, and
//! the stable verdict with its releases.log line.

use crate::common;

use chrono::{DateTime, Duration, Utc};
use common::Cockpit;
use release_cockpit::app::{ClusterInfo, Command, Modal, Msg};
use release_cockpit::config::{CheckpointCheck, Config};
use release_cockpit::metrics::gauges::{GaugeBoard, GaugeStatus};
use release_cockpit::metrics::source::{Reading, Readings};
use release_cockpit::release::action::Action;
use release_cockpit::release::action::ActionDetail;
use release_cockpit::release::audit;
use release_cockpit::release::soak::{self, SoakVerdict, TriggerKind};
use release_cockpit::tasks::runner::{TaskEvent, TaskMsg, TaskResult};

/// An emergency release (approval only; straight to production) whose production deploy
/// has just started and rolled out: the soak window's T+0 is now.
async fn deployed(release_type: &str) -> (Cockpit, DateTime<Utc>) {
    deployed_with(Config::embedded(), release_type).await
}

async fn deployed_with(config: Config, release_type: &str) -> (Cockpit, DateTime<Utc>) {
    let mut c = Cockpit::with_config(config, release_type);
    c.app.cluster = Some(ClusterInfo {
        api: "http://127.0.0.1:9".into(),
        kubeconfig: "/nonexistent".into(),
        simulated: true,
    });
    // Nothing listens on port 9: the deploy is journaled, then fails to reach the cluster.
    c.rt.clients.insert(
        "production".into(),
        release_cockpit::cluster::client::for_url("http://127.0.0.1:9", "production", None),
    );
    c.app.boards.insert(
        "production".into(),
        GaugeBoard::new(&c.app.config, "test source".into()),
    );
    c.approve("cto", "Carla CTO");
    c.char('s');
    c.answer("0123abcd");
    c.app.env = "production".into();
    // A healthy baseline before the deploy.
    let t = c.now();
    c.send(readings_at(t, 0.002, 0.400));
    c.char('D');
    c.answer("production 1.2.3");
    let t0 = c
        .release()
        .actions
        .last()
        .expect("deploy journaled")
        .started;
    assert!(
        c.release().soak.baseline.is_some(),
        "baseline journaled before the deploy"
    );
    // Nothing answers on port 9, so the deploy task fails at once; its end is replaced by
    // kubectl's success, as a cluster would have said: the window is about the gauges.
    for _ in 0..100 {
        if c.app.tasks.is_empty() {
            break;
        }
        let Ok(Some(mut m)) =
            tokio::time::timeout(std::time::Duration::from_millis(50), c.rx.recv()).await
        else {
            continue;
        };
        if let Msg::Task(TaskMsg {
            task,
            event: TaskEvent::Done(_),
        }) = m
        {
            m = Msg::Task(TaskMsg {
                task,
                event: TaskEvent::Done(TaskResult::ok(
                    "deployment \"deal-scout-api\" successfully rolled out",
                    ActionDetail::ImageSet {
                        patched: true,
                        previous_image: None,
                        previous_revision: None,
                        generation: 2,
                    },
                )),
            });
        }
        c.send(m);
    }
    (c, t0)
}

fn readings_at(at: DateTime<Utc>, error_rate: f64, p95: f64) -> Msg {
    readings_with(
        at,
        Reading::Value { value: error_rate },
        Reading::Value { value: p95 },
    )
}

fn readings_with(at: DateTime<Utc>, error_rate: Reading, p95: Reading) -> Msg {
    readings_in("production", at, error_rate, p95)
}

fn readings_in(env: &str, at: DateTime<Utc>, error_rate: Reading, p95: Reading) -> Msg {
    let readings: Readings = [
        ("error_rate".to_string(), error_rate),
        ("p95_latency_seconds".to_string(), p95),
        ("throughput_rps".to_string(), Reading::Value { value: 40.0 }),
    ]
    .into_iter()
    .collect();
    Msg::Readings {
        env: env.into(),
        at,
        readings,
    }
}

/// Moves the clock to T+`secs` and lets the cockpit see it.
fn at_second(c: &mut Cockpit, t0: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    let t = t0 + Duration::seconds(secs);
    c.clock.set(t);
    c.send(Msg::Tick(t));
    t
}

fn snapshots(c: &Cockpit) -> Vec<i64> {
    c.release().soak.snapshots.keys().copied().collect()
}

#[tokio::test]
async fn checkpoints_are_recorded_at_their_minute_with_the_gauges_then() {
    let (mut c, t0) = deployed("emergency").await;
    at_second(&mut c, t0, 1);
    assert_eq!(snapshots(&c), [0], "T+0 as the deploy starts");
    at_second(&mut c, t0, 4 * 60 + 59);
    assert_eq!(snapshots(&c), [0]);
    let t = at_second(&mut c, t0, 5 * 60);
    c.send(readings_at(t, 0.003, 0.41));
    assert_eq!(snapshots(&c), [0, 5]);
    // T+15 with the error rate over the release-window threshold (0.5%): recorded failed.
    let t = at_second(&mut c, t0, 14 * 60 + 50);
    c.send(readings_at(t, 0.008, 0.41));
    at_second(&mut c, t0, 15 * 60);
    let t15 = &c.release().soak.snapshots[&15];
    assert!(!t15.passed);
    assert_eq!(t15.failures, ["error_rate 0.80% past 0.50%"]);
    assert_eq!(t15.gauges["error_rate"], Some(0.008));
    // A restart loses none of it: the snapshots are in the journal.
    let reopened = release_cockpit::release::state::ReleaseState::from_entries(
        &release_cockpit::release::journal::read(
            &c.dir.path().join("releases/1.2.3.jsonl"),
            "1.2.3",
        )
        .unwrap()
        .0
        .entries,
    )
    .unwrap();
    assert_eq!(reopened.soak.snapshots, c.release().soak.snapshots);
    // Acknowledging takes the latest due checkpoint, once.
    c.char('K');
    assert_eq!(c.release().soak.acks[&15].0, "alice");
    assert!(
        c.last_log().contains("acknowledged T+15"),
        "{}",
        c.last_log()
    );
    // The handoff: what the on-call taking over reads in `status`.
    let summary = release_cockpit::report::soak_summary(&c.app.config, c.release(), c.now());
    assert!(
        summary.starts_with("soak window: T+15m of 120"),
        "{summary}"
    );
    assert!(summary.contains("T+5   First health checks"), "{summary}");
    assert!(
        summary.contains("FAILED: error_rate 0.80% past 0.50% (ack alice)"),
        "{summary}"
    );
    assert!(
        summary.contains("T+30  Extended metrics review     pending"),
        "{summary}"
    );
}

/// A checkpoint checks what its config lists: the same breach at T+15 fails it by default
/// and passes one that checks only health; the gauges are recorded either way.
#[tokio::test]
async fn a_checkpoint_checks_what_its_config_lists() {
    let mut config = Config::embedded();
    let t15 = config
        .checkpoints
        .iter_mut()
        .find(|c| c.at_minutes == 15)
        .expect("the default timeline has T+15");
    assert_eq!(
        t15.checks,
        [
            CheckpointCheck::Gauges,
            CheckpointCheck::Health,
            CheckpointCheck::Rollout
        ]
    );
    t15.checks = vec![CheckpointCheck::Health];
    let (mut c, t0) = deployed_with(config, "emergency").await;
    let t = at_second(&mut c, t0, 14 * 60 + 50);
    c.send(readings_at(t, 0.008, 0.41));
    at_second(&mut c, t0, 15 * 60);
    let snap = &c.release().soak.snapshots[&15];
    assert!(snap.passed, "{:?}", snap.failures);
    assert_eq!(snap.gauges["error_rate"], Some(0.008));
}

#[tokio::test]
async fn thresholds_are_the_release_windows_until_the_window_closes() {
    let (mut c, t0) = deployed("emergency").await;
    let t = at_second(&mut c, t0, 47 * 60);
    c.send(readings_at(t, 0.009, 0.41));
    let g = &c.app.gauges().unwrap().gauges["error_rate"];
    assert_eq!((g.threshold, g.status), (Some(0.005), GaugeStatus::Breach));
    let t = at_second(&mut c, t0, 121 * 60);
    c.send(readings_at(t, 0.009, 0.41));
    let g = &c.app.gauges().unwrap().gauges["error_rate"];
    assert_eq!((g.threshold, g.status), (Some(0.01), GaugeStatus::Warn));
}

#[tokio::test]
async fn the_error_rate_trigger_waits_for_its_sustain_time_then_alerts_with_the_rollback() {
    let (mut c, t0) = deployed("emergency").await;
    for s in [600, 630, 659] {
        let t = at_second(&mut c, t0, s);
        c.send(readings_at(t, 0.08, 0.41));
    }
    assert!(c.release().soak.triggers.is_empty(), "59 s is not 60");
    let t = at_second(&mut c, t0, 660);
    c.send(readings_at(t, 0.08, 0.41));
    let fired = &c.release().soak.triggers;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].kind, TriggerKind::ErrorRate);
    assert_eq!(fired[0].detail, "8.00% > 5.00% for 60 s");
    let Some(Modal::Confirm(alert)) = &c.app.modal else {
        panic!("a trigger opens the alert: {:?}", c.app.modal);
    };
    assert!(
        alert.title.starts_with("ROLLBACK TRIGGER"),
        "{}",
        alert.title
    );
    // Still breaching on the next poll: journaled once, not on every poll.
    let t = at_second(&mut c, t0, 661);
    c.send(readings_at(t, 0.09, 0.41));
    assert_eq!(c.release().soak.triggers.len(), 1);
    // One key rolls back, with the trigger as the reason (no typing, even in production).
    c.char('y');
    let rollback = c.release().actions.last().unwrap();
    match &rollback.action {
        Action::Rollback { reason, .. } => {
            assert!(reason.contains("8.00% > 5.00% for 60 s"), "{reason}");
        }
        other => panic!("expected the rollback, got {other:?}"),
    }
}

/// The on-call engineer looks at staging in the middle of the window: production is still
/// read, its trigger still fires and offers production's rollback, and its checkpoint
/// records production's numbers, while the screen shows staging's.
#[tokio::test]
async fn production_is_watched_while_staging_is_on_screen() {
    let (mut c, t0) = deployed("emergency").await;
    c.app.boards.insert(
        "staging".into(),
        GaugeBoard::new(&c.app.config, "test source".into()),
    );
    c.switch_env("staging");
    let healthy = |t| {
        readings_in(
            "staging",
            t,
            Reading::Value { value: 0.001 },
            Reading::Value { value: 0.3 },
        )
    };
    for s in [600, 630, 659] {
        let t = at_second(&mut c, t0, s);
        c.send(healthy(t));
        c.send(readings_at(t, 0.08, 0.41));
    }
    assert!(c.release().soak.triggers.is_empty(), "59 s is not 60");
    let t = at_second(&mut c, t0, 660);
    c.send(healthy(t));
    c.send(readings_at(t, 0.08, 0.41));
    let fired = &c.release().soak.triggers;
    assert_eq!(
        fired.len(),
        1,
        "production's trigger fired with staging on screen"
    );
    assert_eq!(fired[0].kind, TriggerKind::ErrorRate);
    let Some(Modal::Confirm(alert)) = &c.app.modal else {
        panic!("a trigger opens the alert: {:?}", c.app.modal);
    };
    assert!(
        alert
            .body
            .iter()
            .any(|l| l.contains("Roll production back")),
        "{:?}",
        alert.body
    );
    c.char('n');
    // What is on screen is staging's.
    let g = &c.app.gauges().unwrap().gauges["error_rate"];
    assert_eq!(g.value, Some(0.001));
    // T+15 records production's numbers, not the screen's.
    let t = at_second(&mut c, t0, 14 * 60 + 50);
    c.send(healthy(t));
    c.send(readings_at(t, 0.08, 0.41));
    at_second(&mut c, t0, 15 * 60);
    let t15 = &c.release().soak.snapshots[&15];
    assert_eq!(t15.gauges["error_rate"], Some(0.08));
    assert!(!t15.passed, "{:?}", t15.failures);
}

#[tokio::test]
async fn missing_data_never_fires_a_trigger() {
    let (mut c, t0) = deployed("emergency").await;
    let t = at_second(&mut c, t0, 600);
    c.send(readings_at(t, 0.08, 0.41));
    for s in (610..=900).step_by(10) {
        let t = at_second(&mut c, t0, s);
        c.send(readings_with(
            t,
            Reading::no_data("the scrape failed"),
            Reading::NoTraffic,
        ));
    }
    assert!(c.release().soak.triggers.is_empty());
    assert!(c.app.modal.is_none());
}

#[tokio::test]
async fn armed_auto_rollback_fires_once_and_only_on_evidence() {
    let (mut c, t0) = deployed("emergency").await;
    c.char('A');
    c.char('y');
    assert_eq!(c.release().soak.auto_rollback.as_deref(), Some("alice"));
    // p95 60% above the 400 ms baseline, held for the sustain time.
    for s in [300, 330, 360] {
        let t = at_second(&mut c, t0, s);
        c.send(readings_at(t, 0.002, 0.64));
    }
    let r = c.release();
    assert_eq!(r.soak.triggers[0].kind, TriggerKind::LatencyDegraded);
    assert!(r.soak.auto_rollback_fired);
    assert!(c.app.modal.is_none(), "auto-rollback does not ask");
    let rollbacks = |c: &Cockpit| {
        c.release()
            .actions
            .iter()
            .filter(|a| matches!(a.action, Action::Rollback { .. }))
            .count()
    };
    assert_eq!(rollbacks(&c), 1);
    // A second trigger later asks instead: auto-rollback fires at most once.
    for s in [400, 430, 460] {
        let t = at_second(&mut c, t0, s);
        c.send(readings_at(t, 0.09, 0.64));
    }
    assert_eq!(c.release().soak.triggers.len(), 2);
    assert_eq!(rollbacks(&c), 1);
    assert!(matches!(c.app.modal, Some(Modal::Confirm(_))));
}

#[tokio::test]
async fn a_clean_window_is_declared_stable_at_t120_and_written_to_releases_log() {
    let (mut c, t0) = deployed("emergency").await;
    for m in [5, 10, 15, 30, 60] {
        let t = at_second(&mut c, t0, m * 60);
        c.send(readings_at(t, 0.002, 0.41));
    }
    // Stable cannot be declared early.
    c.char('Y');
    assert!(c.app.modal.is_none());
    assert!(c.last_log().contains("runs"), "{}", c.last_log());
    at_second(&mut c, t0, 120 * 60);
    assert!(
        c.app
            .log
            .iter()
            .any(|l| l.text.contains("the soak window is over"))
    );
    c.char('Y');
    let Some(Modal::Confirm(_)) = &c.app.modal else {
        panic!("Y asks to confirm: {:?}", c.app.modal);
    };
    c.char('y');
    assert_eq!(
        c.release().soak.verdict,
        Some(SoakVerdict::Stable { reason: None })
    );
    let (records, problems) = audit::read(&c.dir.path().join("releases.log")).unwrap();
    assert!(problems.is_empty());
    let line = &records[0];
    assert_eq!(line.outcome, "stable");
    assert_eq!(line.commit_sha.as_deref(), Some("0123abcd"));
    assert_eq!(line.image.as_deref(), Some("deal-scout-api:1.2.3"));
    assert_eq!(line.deploy_started_at, Some(t0));
    assert!(
        line.rollout_finished_at.is_some_and(|t| t >= t0),
        "{:?}",
        line.rollout_finished_at
    );
    assert_eq!(line.approvers[0].name, "Carla CTO");
    assert!(line.rollback.is_none(), "no rollback");
    // The line pins the journal as it stood after the conclusion.
    let store = release_cockpit::release::store::StateDir::new(c.dir.path());
    let verified = store
        .verify(
            &c.app.config,
            &release_cockpit::release::store::parse_version("1.2.3").unwrap(),
        )
        .unwrap();
    let release_cockpit::release::journal::ChainStatus::Chained { head } = &verified.chain else {
        panic!("a new release's journal is chained: {:?}", verified.chain);
    };
    assert_eq!(line.journal_head.as_ref(), Some(head));
    assert_eq!(verified.pinned, Some(verified.entries as u64));
}

#[tokio::test]
async fn a_window_with_breaches_needs_a_reason_to_be_stable() {
    let (mut c, t0) = deployed("emergency").await;
    let t = at_second(&mut c, t0, 14 * 60);
    c.send(readings_at(t, 0.008, 0.41));
    at_second(&mut c, t0, 15 * 60);
    let t = at_second(&mut c, t0, 16 * 60);
    c.send(readings_at(t, 0.002, 0.41));
    at_second(&mut c, t0, 120 * 60);
    c.char('Y');
    let Some(Modal::Input(prompt)) = &c.app.modal else {
        panic!("breaches ask for a reason: {:?}", c.app.modal);
    };
    assert!(
        prompt.prompt.contains("T+15: error_rate"),
        "{}",
        prompt.prompt
    );
    c.enter();
    assert!(c.modal_error().unwrap().contains("needs a reason"));
    c.answer("a 1-minute blip during the cache warm-up; recovered");
    assert!(matches!(
        c.release().soak.verdict,
        Some(SoakVerdict::Stable { reason: Some(_) })
    ));
    assert_eq!(soak::breaches(c.release(), &c.app.config).len(), 1);
}

/// Breaching readings with no production deploy: no window, so nothing is recorded or
/// fired. The control at the end sends the very same readings at the same offsets after a
/// production deploy and sees a checkpoint and a trigger, so the silence before it is the
/// missing deploy's doing, not a soak path that records nothing at all.
#[tokio::test]
async fn no_checkpoint_and_no_trigger_before_the_production_deploy() {
    let mut c = Cockpit::new("regular");
    c.app.boards.insert(
        "production".into(),
        GaugeBoard::new(&c.app.config, "test source".into()),
    );
    c.app.env = "production".into();
    let t0 = c.now();
    for s in [0, 60, 120, 180] {
        let t = at_second(&mut c, t0, s);
        c.send(readings_at(t, 0.2, 3.0));
    }
    assert!(c.release().soak.snapshots.is_empty());
    assert!(c.release().soak.triggers.is_empty());
    let cmds = release_cockpit::app::update(&mut c.app, Msg::Tick(t0 + Duration::hours(3)));
    assert!(cmds.iter().all(|c| !matches!(c, Command::Record(_))));

    // The control. `deployed` opens an emergency release (its only production gate is the
    // approval the helper records); the window does not depend on the release type.
    let (mut c, t0) = deployed("emergency").await;
    for s in [0, 60, 120, 180] {
        let t = at_second(&mut c, t0, s);
        c.send(readings_at(t, 0.2, 3.0));
    }
    assert_eq!(snapshots(&c), [0], "T+0 recorded after the deploy");
    let fired: Vec<TriggerKind> = c.release().soak.triggers.iter().map(|t| t.kind).collect();
    assert!(
        fired.contains(&TriggerKind::ErrorRate),
        "the same readings fire after the deploy: {fired:?}"
    );
    let cmds = release_cockpit::app::update(&mut c.app, Msg::Tick(t0 + Duration::hours(3)));
    assert!(
        cmds.iter().any(|c| matches!(c, Command::Record(_))),
        "three hours after the deploy the window's checkpoints are recorded"
    );
}
