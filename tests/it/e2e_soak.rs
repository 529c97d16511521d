//! The soak window end to end: the real binary's demo in a real terminal (a detached tmux
//! session on a private tmux server), driven by the keyboard the way the on-call engineer
//! would. An emergency release `1.2.3-errors` goes to production, its error rate fires the
//! rollback trigger, one key rolls back, and the release ends ROLLED BACK with its
//! releases.log line; then the gauges come back under the threshold.
//!
//! tmux is required: if it is not on PATH this test fails, it never skips.

use crate::common::tmux;

use std::time::{Duration, Instant};

use release_cockpit::release::audit;
use tmux::{Capture, DEADLINE, POLL, Tmux, framed, pane};

/// Wide and tall enough for the Rollout pane's revisions and the Timeline pane's gauges
/// side by side with the checklist.
const WIDTH: u16 = 160;
const HEIGHT: u16 = 45;
/// For what takes simulated minutes: at --speed 60 the trigger fires a few seconds after the
/// deploy and the rollback takes a few more; this leaves room for a loaded machine.
const SLOW_DEADLINE: Duration = Duration::from_secs(60);
const VERSION: &str = "1.2.3-errors";
const SHA: &str = "0123abcd";
const PREVIOUS: &str = "deal-scout-api:1.2.2";
const BAD: &str = "deal-scout-api:1.2.3-errors";
const ROLLED_OUT: &str = "deployment \"deal-scout-api\" successfully rolled out";

fn rollout_pane(screen: &str) -> String {
    pane(screen, "3 Rollout")
}

fn timeline_pane(screen: &str) -> String {
    pane(screen, "4 Timeline")
}

/// The status bar's second row: the window's minute, a fired trigger, the verdict.
fn status_row(screen: &str) -> &str {
    screen.lines().nth(1).unwrap_or_default()
}

/// The revision the Rollout pane marks current (`▶ rev N image ...`), when it runs `image`.
fn current_revision(screen: &str, image: &str) -> Option<u64> {
    let rollout = rollout_pane(screen);
    let current = rollout.lines().find(|l| l.starts_with("▶ rev"))?;
    let mut words = current.split_whitespace().skip(2);
    let revision = words.next()?.parse().ok()?;
    (words.next()? == image).then_some(revision)
}

/// The revision running `image` in the Rollout pane's list, current or not.
fn revision(screen: &str, image: &str) -> Option<u64> {
    rollout_pane(screen).lines().find_map(|l| {
        let mut words = l.trim_start_matches('▶').split_whitespace();
        if words.next()? != "rev" {
            return None;
        }
        let revision = words.next()?.parse().ok()?;
        (words.next()? == image).then_some(revision)
    })
}

/// kubectl says the rollout of `namespace` is done and the revision running `image` is the
/// current one.
fn rolled_out_to(screen: &str, namespace: &str, image: &str) -> bool {
    let rollout = rollout_pane(screen);
    rollout
        .lines()
        .any(|l| l.starts_with(&format!("deployment/deal-scout-api  {namespace}")))
        && rollout.lines().any(|l| l.trim_end() == ROLLED_OUT)
        && current_revision(screen, image).is_some()
}

/// The error rate gauge's value in percent and its status word, from the Timeline pane.
fn error_rate(screen: &str) -> Option<(f64, String)> {
    let timeline = timeline_pane(screen);
    let line = timeline.lines().find(|l| l.starts_with("error_rate "))?;
    let mut words = line.split_whitespace().skip(1);
    let value = words.next()?.strip_suffix('%')?.parse().ok()?;
    let status = words.find(|w| !w.starts_with('('))?.to_string();
    Some((value, status))
}

#[test]
fn the_errors_release_fires_the_trigger_and_one_key_rolls_it_back() {
    let started = Instant::now();
    let tmux = Tmux::start("errors", WIDTH, HEIGHT, Capture::Rows);
    // A new emergency release: one approval, no staging, straight to production. The demo
    // keeps its journal in the cluster, where a cockpit stays on the release it opened:
    // the demo starts on this one.
    tmux.type_line(&format!(
        "release-cockpit --type emergency --release {VERSION} demo --fresh --speed 60 \
         --state-dir '{}'; echo EXITED-demo:$?",
        tmux.state_dir().display()
    ));
    tmux.wait_for("the demo's release and its staging rollout", |s| {
        s.contains(&format!("release {VERSION} emergency")) && rolled_out_to(s, "staging", PREVIOUS)
    });
    tmux.press("a");
    tmux.pick(&format!("Approve {VERSION} as"), "CTO (cto)");
    // The demo's cockpit is the sandbox's release engineer, as its API server says, whose
    // group the demo maps to CTO; the name asked (proxy entries are on) starts as theirs.
    tmux.wait_for_text("Approver: you (release-engineer)");
    tmux.press("Enter");
    tmux.wait_for_text("release-engineer approved as CTO");
    tmux.press("s");
    tmux.wait_for_text("Commit SHA");
    tmux.type_line(SHA);
    tmux.wait_for_text(&format!("set the commit to {SHA}"));
    tmux.press("e");
    tmux.pick("Environment", "production");
    // The baseline is taken from the gauges as the deploy starts: wait for production's.
    let screen = tmux.wait_for(
        "production's rollout and gauges, with the production gate open",
        |s| {
            s.contains("env production (protected)")
                && s.contains("prod OPEN")
                && rolled_out_to(s, "production", PREVIOUS)
                && timeline_pane(s).contains("production gauges")
                && error_rate(s).is_some()
        },
    );
    let before = current_revision(&screen, PREVIOUS).expect("just seen");

    tmux.press("D");
    tmux.wait_for_text(&format!("type \"production {VERSION}\" to confirm"));
    tmux.type_line(&format!("production {VERSION}"));
    let deployed = Instant::now();
    let screen = tmux.wait_until(
        SLOW_DEADLINE,
        "the error-rate trigger to fire, with its alert",
        |s| {
            s.contains("ROLLBACK TRIGGER: error rate above the rollback line")
                && status_row(s).contains("TRIGGER FIRED (U)")
        },
    );
    let to_trigger = deployed.elapsed();
    assert!(
        screen.contains("> 5.00% for ")
            && screen.contains("Roll production back to the previous revision now?"),
        "the alert should say what fired and offer the rollback:\n{}",
        framed(&screen)
    );

    // One key: the rollback is pre-filled with the trigger as its reason.
    tmux.press("y");
    let pressed = Instant::now();
    let screen = tmux.wait_until(
        SLOW_DEADLINE,
        "the rollback to bring 1.2.2 back as the current revision and end the release ROLLED \
         BACK",
        |s| {
            rolled_out_to(s, "production", PREVIOUS)
                && status_row(s).contains("ROLLED BACK")
                && timeline_pane(s).contains(&format!("Release {VERSION} ROLLED BACK"))
        },
    );
    let to_rolled_back = pressed.elapsed();
    let after = current_revision(&screen, PREVIOUS).expect("just seen");
    let bad = revision(&screen, BAD).unwrap_or_else(|| {
        panic!(
            "the Rollout pane should list {BAD}'s revision:\n{}",
            framed(&screen)
        )
    });
    assert!(
        before < bad && bad < after,
        "{PREVIOUS} (rev {before}), then {BAD} (rev {bad}), then the undo's new revision of \
         {PREVIOUS} (rev {after}):\n{}",
        framed(&screen)
    );

    // releases.log is appended once the conclusion is journaled, just after the screen says so.
    let log = tmux.state_dir().join("releases.log");
    let start = Instant::now();
    let records = loop {
        let (records, problems) = audit::read(&log).unwrap_or_default();
        assert!(
            problems.is_empty(),
            "releases.log has bad lines: {problems:?}"
        );
        if !records.is_empty() || start.elapsed() > DEADLINE {
            break records;
        }
        std::thread::sleep(POLL);
    };
    assert_eq!(
        records.len(),
        1,
        "releases.log should hold one line: {records:#?}\nthe pane shows:\n{}",
        framed(&screen)
    );
    let line = &records[0];
    assert_eq!(line.version, VERSION);
    assert_eq!(line.release_type, "emergency");
    assert_eq!(line.environment, "production");
    assert_eq!(line.outcome, "rolled_back", "{line:#?}");
    assert_eq!(line.commit_sha.as_deref(), Some(SHA), "{line:#?}");
    assert_eq!(line.image.as_deref(), Some(BAD), "{line:#?}");
    assert_eq!(line.approvers.len(), 1, "{line:#?}");
    assert_eq!(line.approvers[0].name, "release-engineer", "{line:#?}");
    assert!(
        line.approvers[0].verified,
        "the sandbox vouched for it: {line:#?}"
    );
    assert_eq!(line.approvers[0].entered_by, None, "{line:#?}");
    let rollback = line
        .rollback
        .as_ref()
        .unwrap_or_else(|| panic!("no rollback in the releases.log line: {line:#?}"));
    assert_eq!(
        rollback.method, "undo to the previous revision",
        "{line:#?}"
    );
    assert!(
        rollback
            .reason
            .starts_with("error rate above the rollback line: ")
            && rollback.reason.contains("> 5.00% for "),
        "the reason should be the trigger's: {:?}",
        rollback.reason
    );

    // With 1.2.2 serving again the error rate falls back under the threshold (the rate's
    // window is five polls, so it takes a few seconds).
    tmux.press("4");
    tmux.press("z");
    let recovered = Instant::now();
    let screen = tmux.wait_until(
        SLOW_DEADLINE,
        "the error rate gauge back under its threshold",
        |s| error_rate(s).is_some_and(|(v, status)| v < 1.0 && status == "ok"),
    );
    let to_recovered = recovered.elapsed();
    assert!(
        !timeline_pane(&screen).contains("BREACH"),
        "no gauge should breach once 1.2.2 serves again:\n{}",
        framed(&screen)
    );

    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("demo");
    assert_eq!(code, 0, "quitting should exit 0:\n{}", framed(&screen));
    eprintln!(
        "deploy to trigger {to_trigger:.1?}, y to ROLLED BACK {to_rolled_back:.1?}, gauges back \
         {to_recovered:.1?}, whole test {:.1?}",
        started.elapsed()
    );
}
