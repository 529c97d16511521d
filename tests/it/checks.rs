//! An item's check command ticks it when it exits 0, keeps its output, and is journaled
//! whether it passes, fails, times out or is cancelled.

use crate::common;

use std::time::Duration;

use common::Cockpit;
use release_cockpit::app::Msg;
use release_cockpit::config::Config;
use release_cockpit::release::state::ItemStatus;

const CONFIG: &str = r#"
[[procedure.phases]]
id = "week-before"
title = "1 Week Before Release"
due_days_before = 7
blocks = "staging"
items = [
  { id = "passes", text = "A passing check", check = ["sh", "-c", "echo building; echo 'tests: 42 passed' >&2; exit 0"] },
  { id = "fails", text = "A failing check", check = ["sh", "-c", "echo 'tests: 1 failed'; exit 3"] },
  { id = "slow", text = "A slow check", check = ["sleep", "30"], check_timeout_secs = 1 },
  { id = "literal", text = "Arguments are not shell", check = ["echo", "$HOME", ";", "rm", "-rf", "/"] },
  { id = "missing", text = "No such program", check = ["no-such-program-xyz"] },
  { id = "manual", text = "Ticked by hand" },
]

[release_types.regular]
title = "Regular"
approvals = [["team_lead"]]
staging = "optional"
gating_phases = ["week-before"]
"#;

fn cockpit() -> Cockpit {
    Cockpit::with_config(Config::from_str("test", CONFIG).unwrap(), "regular")
}

/// Runs the selected item's check and feeds its messages back until it is journaled.
async fn run_check(c: &mut Cockpit, item: &str) {
    c.select(item);
    c.char('c');
    pump_until_done(c, item).await;
}

async fn pump_until_done(c: &mut Cockpit, item: &str) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), c.rx.recv())
            .await
            .expect("the check reports back")
            .expect("channel open");
        let done = matches!(&msg, Msg::CheckDone { item: i, .. } if i == item);
        c.send(msg);
        if done {
            return;
        }
    }
}

#[tokio::test]
async fn a_passing_check_ticks_the_item_and_keeps_its_output() {
    let mut c = cockpit();
    run_check(&mut c, "passes").await;
    let state = c.release().item("passes");
    assert!(
        matches!(state.status, ItemStatus::Done { by_check: true, .. }),
        "{state:?}"
    );
    let check = state.last_check.expect("the run is recorded");
    assert_eq!(check.outcome.exit_code, Some(0));
    assert!(check.outcome.output_tail.contains("building"));
    assert!(
        check.outcome.output_tail.contains("tests: 42 passed"),
        "stderr is kept too"
    );
    let file = c
        .dir
        .path()
        .join(check.outcome.output_file.expect("output saved"));
    let saved = std::fs::read_to_string(file).unwrap();
    assert!(saved.contains("tests: 42 passed"));
    assert_eq!(check.outcome.output_sha256.len(), 64);
    // The journal holds the start and the finish; a restart sees the same.
    assert_eq!(&c.reread(), c.release());
    assert!(c.app.log.iter().any(|l| l.text == "check passes passed"));
}

#[tokio::test]
async fn a_failing_check_does_not_tick_and_says_why() {
    let mut c = cockpit();
    run_check(&mut c, "fails").await;
    let state = c.release().item("fails");
    assert_eq!(state.status, ItemStatus::Open);
    let outcome = state.last_check.unwrap().outcome;
    assert_eq!(outcome.exit_code, Some(3));
    assert!(outcome.output_tail.contains("tests: 1 failed"));
    assert!(
        c.app
            .log
            .iter()
            .any(|l| l.text == "check fails failed with exit status 3")
    );
    let screen = c.render(100, 30);
    assert!(screen.contains("[!] A failing check"), "{screen}");
}

#[tokio::test]
async fn a_check_that_overruns_its_timeout_is_stopped_and_not_ticked() {
    let mut c = cockpit();
    run_check(&mut c, "slow").await;
    let outcome = c.release().item("slow").last_check.unwrap().outcome;
    assert_eq!(outcome.exit_code, None);
    assert_eq!(outcome.error.as_deref(), Some("timed out after 1 s"));
    assert!(outcome.duration_ms < 10_000);
    assert_eq!(c.release().item("slow").status, ItemStatus::Open);
}

#[tokio::test]
async fn a_running_check_can_be_cancelled() {
    let mut c = cockpit();
    c.select("slow");
    c.char('c');
    assert!(c.app.running_checks.contains_key("slow"));
    assert!(c.render(100, 30).contains("checking…"));
    c.char('x');
    pump_until_done(&mut c, "slow").await;
    let outcome = c.release().item("slow").last_check.unwrap().outcome;
    assert_eq!(outcome.error.as_deref(), Some("cancelled"));
    assert!(c.app.running_checks.is_empty());
}

#[tokio::test]
async fn arguments_go_to_the_program_as_they_are_never_through_a_shell() {
    let mut c = cockpit();
    run_check(&mut c, "literal").await;
    let outcome = c.release().item("literal").last_check.unwrap().outcome;
    assert_eq!(outcome.output_tail, "$HOME ; rm -rf /\n");
}

#[tokio::test]
async fn a_program_that_cannot_start_is_reported() {
    let mut c = cockpit();
    run_check(&mut c, "missing").await;
    let outcome = c.release().item("missing").last_check.unwrap().outcome;
    assert!(
        outcome
            .error
            .unwrap()
            .starts_with("could not start no-such-program-xyz")
    );
}

#[test]
fn an_item_without_a_check_says_how_to_add_one() {
    let mut c = cockpit();
    c.select("manual");
    c.char('c');
    assert_eq!(
        c.last_log(),
        "manual has no check command; add `check = [...]` to it in the config"
    );
}

#[test]
fn a_check_cut_off_by_a_restart_shows_as_interrupted() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let mut c = cockpit();
    c.select("slow");
    c.char('c');
    // The cockpit dies here: the journal has the start and no finish.
    let state = c.reread();
    assert!(state.item("slow").check_running);
    let dir = std::mem::replace(&mut c.dir, tempfile::tempdir().unwrap());
    drop(c);
    let reopened = Cockpit::open_in(
        dir,
        Config::from_str("test", CONFIG).unwrap(),
        "1.2.3",
        "regular",
    );
    let screen = reopened.render(120, 30);
    assert!(screen.contains("check interrupted"), "{screen}");
    // It can be run again.
    let mut reopened = reopened;
    reopened.select("slow");
    reopened.char('c');
    assert!(
        reopened.app.running_checks.contains_key("slow"),
        "{}",
        reopened.last_log()
    );
}
