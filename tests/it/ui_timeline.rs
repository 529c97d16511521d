//! The Timeline pane through the soak window, as the on-call engineer sees it: at T+3 (the
//! window just open), at T+47 after a breach (a failed checkpoint and a fired trigger whose
//! alert was dismissed) and at T+120 declared stable. A manual clock and hand-fed readings
//! make every frame the same on every run; each test also says in plain asserts what a
//! user must be able to read, so a snapshot accepted by mistake cannot hide it.

use crate::common;

use chrono::{DateTime, Duration, Utc};
use common::Cockpit;
use release_cockpit::app::{ClusterInfo, Modal, Msg};
use release_cockpit::metrics::gauges::GaugeBoard;
use release_cockpit::metrics::source::{Reading, Readings};
use release_cockpit::release::action::ActionDetail;
use release_cockpit::release::audit;
use release_cockpit::release::soak::SoakVerdict;
use release_cockpit::tasks::runner::{TaskEvent, TaskMsg, TaskResult};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
/// Seconds between polls: every slice of time a sparkline draws holds a reading.
const POLL: i64 = 20;

/// A healthy service: every gauge under its release-window threshold.
const HEALTHY: Service = Service {
    error_rate: 0.002,
    p95: 0.41,
};

#[derive(Clone, Copy)]
struct Service {
    error_rate: f64,
    p95: f64,
}

fn readings(s: Service, secs: i64) -> Readings {
    // The p95 wobbles a little so its sparkline has a shape, the same on every run.
    let wobble = [0.0, 0.02, -0.01, 0.03, 0.01][(secs / 60).rem_euclid(5) as usize];
    // Throughput is higher in the first minutes before the deploy: the left end of its
    // sparkline shows whether the sparkline really starts at T-15.
    let rps = if secs < -13 * 60 { 55.0 } else { 40.0 };
    [
        (
            "error_rate",
            Reading::Value {
                value: s.error_rate,
            },
        ),
        (
            "p95_latency_seconds",
            Reading::Value {
                value: s.p95 + wobble,
            },
        ),
        ("throughput_rps", Reading::Value { value: rps }),
        ("queue_depth", Reading::Value { value: 12.0 }),
        ("db_error_rate", Reading::Value { value: 0.0004 }),
        ("db_p95_seconds", Reading::Value { value: 0.018 }),
        ("celery_failure_rate", Reading::NoTraffic),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// How the production deploy ends.
#[derive(Clone, Copy, PartialEq)]
enum Deploy {
    /// As kubectl would report a finished rollout.
    RolledOut,
    /// As it really ends against an API server that is down.
    Failed,
}

/// An emergency release (one approval, straight to production) whose production deploy
/// starts at `common::START` after fifteen healthy minutes of gauges, a poll every `POLL` s (the
/// sparklines start at T-15, and the baseline is what they read just before the deploy).
/// With `Deploy::RolledOut` the deploy's end is faked (see `finish_tasks`), so the screens
/// show the window of a deploy that worked without a cluster whose names and ages would
/// change on every run.
async fn deployed(deploy: Deploy) -> (Cockpit, DateTime<Utc>) {
    let mut c = Cockpit::new("emergency");
    c.app.state_dir = "/home/alice/.local/state/release-cockpit".into();
    c.app.log_file = "/home/alice/.local/state/release-cockpit/logs/release-cockpit.log".into();
    c.app.cluster = Some(ClusterInfo {
        api: "http://127.0.0.1:9".into(),
        kubeconfig: "/nonexistent".into(),
        simulated: true,
    });
    c.rt.clients.insert(
        "production".into(),
        release_cockpit::cluster::client::for_url("http://127.0.0.1:9", "production", None),
    );
    c.app.boards.insert(
        "production".into(),
        GaugeBoard::new(&c.app.config, "scrape of the sandbox's service".into()),
    );
    c.approve("cto", "Carla CTO");
    c.char('s');
    c.answer("0123abcd");
    c.app.env = "production".into();
    let t0 = c.now();
    for secs in (-15 * 60..=0).step_by(POLL as usize) {
        feed(&mut c, t0, secs, HEALTHY);
    }
    c.char('D');
    c.answer("production 1.2.3");
    assert_eq!(
        c.release().actions.last().map(|a| a.started),
        Some(t0),
        "the production deploy opens the window at T+0"
    );
    finish_tasks(&mut c, deploy == Deploy::RolledOut).await;
    let ok = c
        .release()
        .actions
        .last()
        .and_then(|a| a.finished.as_ref())
        .map(|(_, o)| o.ok);
    assert_eq!(ok, Some(deploy == Deploy::RolledOut), "the deploy's end");
    (c, t0)
}

/// Feeds the running tasks' messages back until none runs. Nothing answers on port 9, so
/// each fails at once; with `succeed` its end is replaced by kubectl's "successfully rolled
/// out".
async fn finish_tasks(c: &mut Cockpit, succeed: bool) {
    for _ in 0..100 {
        if c.app.tasks.is_empty() {
            break;
        }
        let Ok(Some(mut m)) =
            tokio::time::timeout(std::time::Duration::from_millis(50), c.rx.recv()).await
        else {
            continue;
        };
        if succeed
            && let Msg::Task(TaskMsg {
                task,
                event: TaskEvent::Done(_),
            }) = m
        {
            m = Msg::Task(TaskMsg {
                task,
                event: TaskEvent::Done(TaskResult::ok(
                    "deployment \"deal-scout-api\" successfully rolled out",
                    ActionDetail::None,
                )),
            });
        }
        c.send(m);
    }
    assert!(c.app.tasks.is_empty(), "a task is still running");
}

/// One poll at T+`secs` (the clock does not move: readings come with their own time).
fn feed(c: &mut Cockpit, t0: DateTime<Utc>, secs: i64, s: Service) {
    c.send(Msg::Readings {
        env: "production".into(),
        at: t0 + Duration::seconds(secs),
        readings: readings(s, secs),
    });
}

/// Moves the clock to T+`secs` and lets the cockpit see it.
fn at_second(c: &mut Cockpit, t0: DateTime<Utc>, secs: i64) {
    let t = t0 + Duration::seconds(secs);
    c.clock.set(t);
    c.send(Msg::Tick(t));
}

/// After minute T+`from` up to minute T+`to`, a poll every `POLL` seconds with the clock
/// moved to it first: the service `s` as the cockpit would see it.
fn run(c: &mut Cockpit, t0: DateTime<Utc>, from: i64, to: i64, s: Service) {
    for secs in (from * 60 + POLL..=to * 60).step_by(POLL as usize) {
        at_second(c, t0, secs);
        feed(c, t0, secs, s);
    }
}

/// Zooms the Timeline pane and takes its snapshots, then the whole screen's. Returns the
/// zoomed pane at both sizes, for the plain asserts.
fn snap(name: &str, c: &mut Cockpit) -> Vec<String> {
    c.char('4');
    c.char('z');
    let mut zoomed = Vec::new();
    for (w, h) in SIZES {
        let screen = c.render(w, h);
        insta::assert_snapshot!(format!("{name}_timeline_{w}x{h}"), screen);
        zoomed.push(screen);
    }
    c.char('z');
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_whole_screen_{w}x{h}"), c.render(w, h));
    }
    zoomed
}

/// The status bar's second row (the first is where and who).
fn status_row(screen: &str) -> &str {
    screen.lines().nth(1).unwrap_or_default()
}

/// The row of the pane that starts with `start` (after the pane's border).
fn row<'a>(screen: &'a str, start: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.trim_start_matches(['┃', '│']).starts_with(start))
}

/// The column of the now marker on the axis, counted from the axis's `T+0`; and the
/// axis's length up to its `T+120` label.
fn now_marker(screen: &str) -> (usize, usize) {
    let axis = row(screen, "T+0 ")
        .unwrap_or_else(|| panic!("no axis on the screen:\n{screen}"))
        .trim_matches(['┃', '│']);
    let cells: Vec<char> = axis.chars().collect();
    let start = "T+0 ".len();
    let now = cells
        .iter()
        .position(|c| *c == '▼')
        .unwrap_or_else(|| panic!("no now marker on the axis: {axis}"));
    let end = axis
        .rfind(" T+120")
        .map(|b| axis[..b].chars().count())
        .unwrap_or_else(|| panic!("no T+120 at the axis's end: {axis}"));
    (now - start, end - start)
}

fn assert_has(screen: &str, text: &str) {
    assert!(
        screen.contains(text),
        "{text:?} is not on the screen:\n{screen}"
    );
}

#[tokio::test]
async fn t_plus_3_the_window_has_just_opened() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 3, HEALTHY);
    let zoomed = snap("t_plus_3", &mut c);
    for screen in &zoomed {
        assert_has(status_row(screen), "SOAK T+3m/120");
        assert_has(screen, "Soak window T+3m of 120");
        assert_has(screen, "release-window thresholds in force");
        assert_has(screen, "✓ T+0   Deploy starts");
        assert_has(screen, "baseline captured 11:00:00");
        for (at, title, due) in [
            (5, "First health checks", "in 2m"),
            (10, "All pods rolled out", "in 7m"),
            (60, "Full system check", "in 57m"),
            (120, "Release declared stable", "in 1h 57m"),
        ] {
            let line = row(screen, &format!(" ○ T+{at} "))
                .unwrap_or_else(|| panic!("T+{at} is not pending:\n{screen}"));
            assert!(line.contains(title) && line.contains(due), "{line}");
        }
        assert!(!screen.contains("TRIGGER"), "{screen}");
        let (now, len) = now_marker(screen);
        assert!(now > 0 && now * 120 <= len * 4, "▼ at {now} of {len}");
    }
    // At 160 columns every gauge fits on its line, against its release-window threshold.
    let wide = &zoomed[1];
    for (gauge, limit) in [
        ("error_rate", "0.20% (≤0.50%)"),
        ("p95_latency_seconds", "(≤800 ms)"),
        ("queue_depth", "12 (≤500)"),
    ] {
        let line = row(wide, gauge).unwrap_or_else(|| panic!("no {gauge}:\n{wide}"));
        assert!(line.contains(limit) && line.contains(" ok "), "{line}");
        assert!(line.contains(" base "), "{line}");
    }
    // The sparklines start at T-15: the busier first minutes are at the left end.
    let throughput = row(wide, "throughput_rps").expect("the throughput gauge");
    assert!(throughput.contains("40.0/s"), "{throughput}");
    assert!(
        throughput.contains(" ok        █"),
        "the sparkline does not start at T-15: {throughput}"
    );
}

/// From T+25 the error rate is over the release-window threshold (0.5%), so the T+30
/// checkpoint fails; after T+39 it jumps past the 5% rollback line and the trigger fires a
/// minute later; the engineer keeps watching (n), and at T+47 the error rate is still over
/// the release-window threshold.
#[tokio::test]
async fn t_plus_47_after_a_breach_and_a_dismissed_trigger() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 3, HEALTHY);
    c.char('4');
    c.char('z');
    let at_3 = now_marker(&c.render(160, 48));
    c.char('z');
    run(&mut c, t0, 3, 5, HEALTHY);
    c.char('K');
    run(&mut c, t0, 5, 25, HEALTHY);
    let breach = Service {
        error_rate: 0.008,
        p95: 0.45,
    };
    run(&mut c, t0, 25, 32, breach);
    run(&mut c, t0, 32, 39, HEALTHY);
    let bad = Service {
        error_rate: 0.08,
        p95: 0.5,
    };
    run(&mut c, t0, 39, 41, bad);
    let Some(Modal::Confirm(alert)) = &c.app.modal else {
        panic!("the trigger opens its alert: {:?}", c.app.modal);
    };
    assert!(
        alert.title.starts_with("ROLLBACK TRIGGER"),
        "{}",
        alert.title
    );
    c.char('n');
    assert!(c.app.modal.is_none(), "n dismisses the alert");
    run(
        &mut c,
        t0,
        41,
        47,
        Service {
            error_rate: 0.009,
            p95: 0.45,
        },
    );
    let zoomed = snap("t_plus_47", &mut c);
    for screen in &zoomed {
        assert_has(screen, "Soak window T+47m of 120");
        assert_has(status_row(screen), "T+47m/120 TRIGGER FIRED (U)");
        let failed =
            row(screen, " ✗ T+30 ").unwrap_or_else(|| panic!("T+30 is not failed:\n{screen}"));
        assert!(failed.contains("error_rate 0.80% past 0.50%"), "{failed}");
        assert_has(
            screen,
            "⚠ TRIGGER error rate above the rollback line (8.00% > 5.00% for 60 s)",
        );
        assert_has(
            screen,
            "✓ T+5   First health checks       passed · ack alice",
        );
        assert_has(screen, "○ T+60  Full system check         in 13m");
    }
    let wide = &zoomed[1];
    let error_rate = row(wide, "error_rate").expect("the error rate gauge");
    assert!(
        error_rate.contains("0.90% (≤0.50%)    BREACH"),
        "{error_rate}"
    );
    let at_47 = now_marker(wide);
    assert_eq!(at_3.1, at_47.1, "the same axis");
    assert!(
        at_47.0 > at_3.0,
        "▼ moves right from T+3 ({at_3:?}) to T+47 ({at_47:?})"
    );
    // 47/120 of the way, give or take a cell of rounding.
    let expected = 47.0 / 120.0 * (at_47.1 - 1) as f64;
    assert!(
        (at_47.0 as f64 - expected).abs() <= 1.0,
        "▼ at {} of {}, expected near {expected:.1}",
        at_47.0,
        at_47.1
    );
}

#[tokio::test]
async fn t_plus_120_declared_stable() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    let mut last = 0;
    for m in [5, 10, 15, 30, 60, 120] {
        run(&mut c, t0, last, m, HEALTHY);
        c.char('K');
        last = m;
    }
    c.char('Y');
    let Some(Modal::Confirm(confirm)) = &c.app.modal else {
        panic!("a clean window asks to confirm: {:?}", c.app.modal);
    };
    assert_eq!(confirm.title, "Declare the release stable?");
    c.char('y');
    assert_eq!(
        c.release().soak.verdict,
        Some(SoakVerdict::Stable { reason: None })
    );
    at_second(&mut c, t0, 120 * 60 + 30);
    let zoomed = snap("t_plus_120", &mut c);
    for screen in &zoomed {
        assert_has(status_row(screen), "RELEASE STABLE");
        assert_has(screen, "Release 1.2.3 declared STABLE.");
        for at in [0, 5, 10, 15, 30, 60, 120] {
            assert!(
                row(screen, &format!(" ✓ T+{at} ")).is_some(),
                "T+{at} passed:\n{screen}"
            );
        }
        assert_has(
            screen,
            "✓ T+120 Release declared stable   passed · ack alice",
        );
        let (now, len) = now_marker(screen);
        assert_eq!(now, len - 1, "▼ at the axis's end");
    }
    // The window closed: the gauges are judged against the normal thresholds again.
    let error_rate = row(&zoomed[1], "error_rate").expect("the error rate gauge");
    assert!(error_rate.contains("0.20% (≤1.00%)"), "{error_rate}");
    let dir = c.dir.path().to_path_buf();
    let (records, problems) = audit::read(&dir.join("releases.log")).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, "stable");
}

/// Staging on screen in the middle of production's window: the pane still shows the
/// window, and says that the gauges under it are not the ones it judges.
#[tokio::test]
async fn staging_on_screen_mid_window_says_which_gauges_the_window_judges() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 3, HEALTHY);
    let warning = "The soak window judges production's gauges, not these (e switches).";
    assert!(!c.render(160, 48).contains(warning));
    c.app.boards.insert(
        "staging".into(),
        GaugeBoard::new(&c.app.config, "scrape of the sandbox's service".into()),
    );
    c.switch_env("staging");
    c.char('4');
    c.char('z');
    let screen = c.render(160, 48);
    assert_has(&screen, "Soak window T+3m of 120");
    assert_has(&screen, "staging gauges, from the scrape");
    assert_has(&screen, warning);
}

// Bugs in src/ found by these screens: each test fails until its bug is fixed.

/// src/ui/gauges.rs `lines`: the sparkline is sized as if nothing followed it, so once the
/// baseline is captured (" base 0.04%") every gauge line is wider than an 80-column pane
/// and wraps, pushing half the gauges out of the zoomed pane.
#[tokio::test]
async fn bug_gauge_lines_wrap_at_80_columns_once_the_baseline_is_captured() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 3, HEALTHY);
    c.char('4');
    c.char('z');
    // Tall enough for every gauge: only the width is at stake.
    let screen = c.render(80, 40);
    for (gauge, base) in [
        ("db_error_rate", "base 0.04%"),
        ("db_p95_seconds", "base 18 ms"),
        ("error_rate", "base 0.20%"),
        ("p95_latency_seconds", "base 420 ms"),
        ("queue_depth", "base 12"),
        ("throughput_rps", "base 40.0/s"),
    ] {
        let line = row(&screen, gauge).unwrap_or_else(|| panic!("no {gauge}:\n{screen}"));
        assert!(
            line.contains(base),
            "{gauge}'s line wraps before its baseline at 80 columns:\n{screen}"
        );
    }
}

/// src/ui/status_bar.rs `soak_span`: once a trigger has fired, the status bar says only
/// "ROLLBACK TRIGGER FIRED: <the trigger's whole title> (U rolls back)" for the rest of the
/// window, even after the alert was dismissed: at 80 columns that pushes the production
/// gate off the bar, and the minute of the window is gone from it.
#[tokio::test]
async fn bug_a_fired_trigger_pushes_the_minute_and_the_gate_off_the_status_bar() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 39, HEALTHY);
    run(
        &mut c,
        t0,
        39,
        41,
        Service {
            error_rate: 0.08,
            p95: 0.5,
        },
    );
    c.char('n');
    run(&mut c, t0, 41, 47, HEALTHY);
    let screen = c.render(80, 24);
    let status = status_row(&screen);
    assert!(status.contains("TRIGGER"), "{status}");
    assert!(
        status.contains("T+47m"),
        "the minute of the window is gone from the status bar: {status:?}"
    );
    assert!(
        status.contains("prod OPEN"),
        "the production gate is cut off the status bar: {status:?}"
    );
}

/// src/app/soak.rs `snapshot` (and `release::soak::breaches`): a production deploy that
/// failed (here: the API server is down, nothing was changed) still opens the window, every
/// checkpoint passes on healthy gauges (the old version's), and Y offers "the soak window
/// passed with no breach": releases.log would say the release is stable in production.
#[tokio::test]
async fn bug_a_failed_production_deploy_passes_the_window_with_no_breach() {
    // The deploy never reached the cluster (nothing listens): no soak window opens, no
    // checkpoint can pass, and nothing can be declared stable.
    let (mut c, t0) = deployed(Deploy::Failed).await;
    run(&mut c, t0, 0, 120, HEALTHY);
    assert!(
        c.release().soak.snapshots.is_empty(),
        "{:?}",
        c.release().soak.snapshots
    );
    c.char('Y');
    assert!(c.app.modal.is_none(), "{:?}", c.app.modal);
    assert!(
        c.last_log().contains("production was not deployed"),
        "{}",
        c.last_log()
    );
}

/// src/ui/gauges.rs `lines`: the threshold column is 10 wide, and " (≤1000 ms)" (the p95's
/// normal threshold, in force after the window) is 11: the status word and the sparkline
/// of that line are shifted one column right of every other gauge's.
#[tokio::test]
async fn bug_a_four_digit_threshold_shifts_its_gauge_line() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 121, HEALTHY);
    c.char('4');
    c.char('z');
    let screen = c.render(160, 48);
    let column = |gauge: &str| {
        let line = row(&screen, gauge).unwrap_or_else(|| panic!("no {gauge}:\n{screen}"));
        let at = line.find(" ok ").expect("the gauge is ok");
        line[..at].chars().count()
    };
    assert_eq!(
        column("p95_latency_seconds"),
        column("error_rate"),
        "the status words are not in one column:\n{screen}"
    );
}

/// src/ui/timeline.rs `soak_lines`: the "building" line of a trigger is drawn from the
/// trigger watch, which keeps counting after the trigger fired; right under "⚠ TRIGGER" the
/// pane says "… error rate above the rollback line for 40 s (fires at 60 s)", as if it had
/// not fired yet, and keeps counting for as long as the breach lasts.
#[tokio::test]
async fn bug_a_trigger_that_fired_still_says_when_it_will_fire() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 39, HEALTHY);
    let bad = Service {
        error_rate: 0.08,
        p95: 0.5,
    };
    run(&mut c, t0, 39, 41, bad);
    c.char('n');
    run(&mut c, t0, 41, 42, bad);
    c.char('4');
    c.char('z');
    let screen = c.render(160, 48);
    assert_has(&screen, "⚠ TRIGGER error rate above the rollback line");
    assert!(
        !screen.contains("(fires at 60 s)"),
        "a trigger that fired is still shown as building:\n{screen}"
    );
}

/// src/ui/timeline.rs `soak_lines`: once the release is rolled back no checkpoint will be
/// taken any more (`due_snapshots` stops at the verdict), yet the pending ones still count
/// down ("in 15m") as if the window went on.
#[tokio::test]
async fn bug_checkpoints_still_count_down_after_the_rollback() {
    let (mut c, t0) = deployed(Deploy::RolledOut).await;
    run(&mut c, t0, 0, 39, HEALTHY);
    run(
        &mut c,
        t0,
        39,
        41,
        Service {
            error_rate: 0.08,
            p95: 0.5,
        },
    );
    c.char('y');
    finish_tasks(&mut c, true).await;
    assert!(
        matches!(
            c.release().soak.verdict,
            Some(SoakVerdict::RolledBack { .. })
        ),
        "{:?}",
        c.release().soak.verdict
    );
    run(&mut c, t0, 41, 45, HEALTHY);
    c.char('4');
    c.char('z');
    let screen = c.render(160, 48);
    assert_has(
        &screen,
        "Release 1.2.3 ROLLED BACK (undo to the previous revision)",
    );
    let t60 = row(&screen, " - T+60 ").unwrap_or_else(|| panic!("no T+60:\n{screen}"));
    assert!(
        !t60.contains("in 15m") && t60.contains("not reached"),
        "a checkpoint that will never be taken counts down: {t60}"
    );
}
