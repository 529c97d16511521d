//! The runbook's steps and states, the rules every action passes before anything is sent,
//! and the confirmation dialogs, through the keyboard. No cluster here: what reaches one is
//! tests/cockpit_deploy.rs's business.

use crate::common;

use common::Cockpit;
use release_cockpit::app::{ClusterInfo, Command, Modal, Msg};
use release_cockpit::release::action::TaskId;
use release_cockpit::release::action::{Action, MigrationDirection, RollbackMethod};
use release_cockpit::release::event::Event;
use release_cockpit::release::rules;
use release_cockpit::release::runbook::{self, Stage, StepKind, StepState};

fn states(c: &Cockpit) -> Vec<(String, StepKind, StepState)> {
    let gates = c.gates();
    runbook::steps(&c.app.config)
        .into_iter()
        .map(|s| {
            let st = runbook::state(&s, c.release(), &c.app.config, &gates);
            (s.env.clone(), s.kind, st)
        })
        .collect()
}

fn state_of(c: &Cockpit, env: &str, kind: StepKind) -> StepState {
    states(c)
        .into_iter()
        .find(|(e, k, _)| e == env && *k == kind)
        .map(|(_, _, s)| s)
        .unwrap_or_else(|| panic!("no {kind:?} step in {env}"))
}

fn next_step(c: &Cockpit) -> Option<(Stage, StepKind, String)> {
    let steps = runbook::steps(&c.app.config);
    runbook::next(&c.app.config, c.release(), &c.gates())
        .map(|i| (steps[i].stage, steps[i].kind, steps[i].env.clone()))
}

/// A cockpit with a client for every environment whose API server is down (nothing listens
/// on port 9): actions are journaled, then fail at once.
fn connected(release_type: &str) -> Cockpit {
    let mut c = Cockpit::new(release_type);
    c.app.cluster = Some(ClusterInfo {
        api: "http://127.0.0.1:9".into(),
        kubeconfig: "/nonexistent".into(),
        simulated: true,
    });
    for env in ["staging", "production"] {
        c.rt.clients.insert(
            env.into(),
            release_cockpit::cluster::client::for_url("http://127.0.0.1:9", env, None),
        );
    }
    c
}

fn open_staging_gate(c: &mut Cockpit) {
    c.tick_phase("week-before");
    assert_eq!(
        c.gates().staging.status,
        release_cockpit::release::gates::GateStatus::Open
    );
}

/// Feeds what spawned tasks send back until `done` holds (tasks here fail within ms).
async fn pump_until(c: &mut Cockpit, what: &str, done: impl Fn(&Cockpit) -> bool) {
    for _ in 0..200 {
        if done(c) {
            return;
        }
        if let Ok(Some(msg)) =
            tokio::time::timeout(std::time::Duration::from_millis(50), c.rx.recv()).await
        {
            c.send(msg);
        }
    }
    panic!(
        "{what}; log: {:?}",
        c.app.log.iter().map(|l| &l.text).collect::<Vec<_>>()
    );
}

#[test]
fn a_regular_release_walks_staging_then_production_and_production_waits_for_its_gate() {
    let c = Cockpit::new("regular");
    let s = states(&c);
    assert_eq!(
        s.len(),
        10,
        "staging 4 + validation 1 + production 4 + post-deploy 1"
    );
    // Nothing ticked yet: deploys and migrations wait for their gates and say why.
    match state_of(&c, "staging", StepKind::Deploy) {
        StepState::Blocked { why } => assert!(why.contains("open items"), "{why}"),
        other => panic!("staging deploy should wait for its gate: {other:?}"),
    }
    match state_of(&c, "production", StepKind::Deploy) {
        StepState::Blocked { why } => assert!(why.contains("staging not validated"), "{why}"),
        other => panic!("production deploy should be gated: {other:?}"),
    }
    // Probes are never gated.
    assert_eq!(state_of(&c, "staging", StepKind::Health), StepState::Ready);
    assert_eq!(
        next_step(&c),
        Some((Stage::Staging, StepKind::Deploy, "staging".into()))
    );
}

#[test]
fn an_emergency_skips_staging_and_goes_straight_to_production() {
    let c = Cockpit::new("emergency");
    for kind in [StepKind::Deploy, StepKind::Smoke, StepKind::ValidateStaging] {
        assert!(
            matches!(state_of(&c, "staging", kind), StepState::NotUsed { .. }),
            "{kind:?}"
        );
    }
    assert_eq!(
        next_step(&c),
        Some((Stage::Production, StepKind::Backup, "production".into()))
    );
}

#[test]
fn a_hotfix_may_skip_staging_unless_staging_was_begun() {
    let mut c = Cockpit::new("hotfix");
    assert_eq!(
        next_step(&c).map(|(stage, ..)| stage),
        Some(Stage::Production)
    );
    // Once a staging step has run, "next" finishes staging first.
    let task = c.release().next_task();
    c.rt.run_command(
        &mut c.app,
        Command::Record(Event::ActionStarted {
            task,
            env: "staging".into(),
            action: Action::Health { urls: vec![] },
        }),
    );
    assert_eq!(next_step(&c).map(|(stage, ..)| stage), Some(Stage::Staging));
}

#[test]
fn actions_are_checked_before_anything_is_journaled_or_sent() {
    let c = Cockpit::new("regular");
    let r = c.release();
    let deploy = |version: &str| Event::ActionStarted {
        task: TaskId(1),
        env: "staging".into(),
        action: Action::Deploy {
            version: version.into(),
            image: format!("deal-scout-api:{version}"),
            change_cause: "x".into(),
            commit_sha: None,
        },
    };
    let why = rules::check(r, &c.app.config, &c.app.caller(), &deploy("9.9.9")).unwrap_err();
    assert!(why.contains("cannot deploy 9.9.9"), "{why}");
    let why = rules::check(r, &c.app.config, &c.app.caller(), &deploy("1.2.3")).unwrap_err();
    assert!(why.starts_with("staging is gated"), "{why}");
    let rollback = |reason: &str| Event::ActionStarted {
        task: TaskId(1),
        env: "production".into(),
        action: Action::Rollback {
            method: RollbackMethod::Previous,
            reason: reason.into(),
        },
    };
    assert_eq!(
        rules::check(r, &c.app.config, &c.app.caller(), &rollback("  ")).unwrap_err(),
        "a rollback needs a reason"
    );
    // A rollback is never gated: the on-call must always be able to undo.
    rules::check(
        r,
        &c.app.config,
        &c.app.caller(),
        &rollback("error rate 7%"),
    )
    .unwrap();
    let nowhere = Event::ActionStarted {
        task: TaskId(1),
        env: "qa".into(),
        action: Action::Health { urls: vec![] },
    };
    assert!(
        rules::check(r, &c.app.config, &c.app.caller(), &nowhere)
            .unwrap_err()
            .contains("no environment \"qa\"")
    );
    let finish_unknown = Event::ActionFinished {
        task: TaskId(42),
        outcome: release_cockpit::release::action::ActionOutcome {
            ok: true,
            summary: String::new(),
            detail: release_cockpit::release::action::ActionDetail::None,
            duration_ms: 0,
        },
    };
    assert!(rules::check(r, &c.app.config, &c.app.caller(), &finish_unknown).is_err());
}

#[tokio::test]
async fn deploy_needs_the_commit_sha_for_its_change_cause() {
    let mut c = connected("regular");
    open_staging_gate(&mut c);
    c.char('D');
    assert!(c.app.modal.is_none());
    assert!(
        c.last_log().contains("set the commit SHA first"),
        "{}",
        c.last_log()
    );
}

#[tokio::test]
async fn a_confirmed_deploy_is_journaled_before_it_runs_and_its_failure_is_journaled_too() {
    let mut c = connected("regular");
    open_staging_gate(&mut c);
    c.char('s');
    c.answer("0123abcd");
    c.char('D');
    let Some(Modal::Confirm(confirm)) = &c.app.modal else {
        panic!("D should ask to confirm: {:?}", c.app.modal);
    };
    assert_eq!(confirm.title, "Deploy deal-scout-api:1.2.3?");
    assert!(confirm.body.iter().any(|l| l.contains("commit 0123abcd")));
    c.char('y');
    let started = c
        .release()
        .actions
        .last()
        .cloned()
        .expect("journaled start");
    assert_eq!(started.env, "staging");
    assert!(started.finished.is_none());
    assert_eq!(
        state_of(&c, "staging", StepKind::Deploy),
        StepState::Running { task: started.task }
    );
    // The API server is down: the task fails, and that is journaled as well.
    pump_until(&mut c, "the failed deploy is journaled", |c| {
        c.release()
            .actions
            .last()
            .is_some_and(|a| a.finished.is_some())
    })
    .await;
    let done = c.release().actions.last().unwrap();
    let (_, outcome) = done.finished.as_ref().unwrap();
    assert!(!outcome.ok);
    assert!(
        outcome.summary.contains("cannot reach the API server"),
        "{}",
        outcome.summary
    );
    assert!(matches!(
        state_of(&c, "staging", StepKind::Deploy),
        StepState::Failed { .. }
    ));
    assert!(c.app.tasks.is_empty());
}

#[tokio::test]
async fn a_protected_environment_wants_its_name_and_the_version_typed() {
    let mut c = connected("emergency");
    c.approve("cto", "Carla CTO");
    c.char('s');
    c.answer("0123abcd");
    c.app.env = "production".into();
    c.char('D');
    assert!(
        matches!(&c.app.modal, Some(Modal::Input(_))),
        "{:?}",
        c.app.modal
    );
    c.answer("production");
    assert_eq!(
        c.modal_error().as_deref(),
        Some("type \"production 1.2.3\" exactly, or Esc to cancel")
    );
    assert!(c.release().actions.is_empty(), "nothing journaled");
    // Ctrl-U clears the line; then the right words confirm.
    c.send(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('u'),
        crossterm::event::KeyModifiers::CONTROL,
    )));
    c.answer("production 1.2.3");
    assert!(c.app.modal.is_none());
    assert_eq!(c.release().actions.len(), 1);
}

#[tokio::test]
async fn a_second_change_to_an_environment_is_refused_while_one_runs() {
    let mut c = connected("regular");
    open_staging_gate(&mut c);
    c.char('s');
    c.answer("0123abcd");
    c.char('D');
    c.char('y');
    assert_eq!(c.app.tasks.len(), 1);
    c.char('D');
    assert!(c.app.modal.is_none(), "no dialog for a refused deploy");
    assert!(
        c.last_log()
            .contains("#1 deploy deal-scout-api:1.2.3 is running in staging"),
        "{}",
        c.last_log()
    );
    c.char('M');
    c.enter();
    assert!(
        c.last_log().contains("is running in staging"),
        "{}",
        c.last_log()
    );
    // A probe changes nothing and may run alongside.
    c.char('H');
    assert!(matches!(c.app.modal, Some(Modal::Confirm(_))));
    assert_eq!(c.release().actions.len(), 1);
}

#[tokio::test]
async fn the_rollback_menu_offers_the_database_downgrade_and_asks_for_a_reason() {
    let mut c = connected("regular");
    c.char('U');
    let Some(Modal::Pick(p)) = &c.app.modal else {
        panic!("U opens the rollback menu: {:?}", c.app.modal);
    };
    let ids: Vec<&str> = p.options.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["previous", "revision", "image", "downgrade"]);
    assert!(p.options[3].label.contains("alembic downgrade -1"));
    c.enter();
    assert!(matches!(c.app.modal, Some(Modal::Input(_))));
    c.answer("   ");
    assert_eq!(
        c.modal_error().as_deref(),
        Some("a rollback needs a reason")
    );
    c.answer("error rate above 5%");
    let Some(Modal::Confirm(confirm)) = &c.app.modal else {
        panic!(
            "staging is not protected: a y/n confirmation {:?}",
            c.app.modal
        );
    };
    assert!(
        confirm
            .body
            .iter()
            .any(|l| l.contains("error rate above 5%"))
    );
}

#[tokio::test]
async fn an_action_in_flight_at_startup_is_reconciled_not_started_again() {
    let mut c = connected("regular");
    open_staging_gate(&mut c);
    let task = c.release().next_task();
    let action = Action::Migrate {
        direction: MigrationDirection::Up,
        argv: vec!["alembic".into(), "upgrade".into(), "head".into()],
        job: "deal-scout-api-migrate-up-1-2-3-1".into(),
    };
    let started = Event::ActionStarted {
        task,
        env: "staging".into(),
        action: action.clone(),
    };
    c.rt.run_command(&mut c.app, Command::Record(started));
    let state = c.release().clone();
    let commands = release_cockpit::app::update(
        &mut c.app,
        Msg::ReleaseOpened {
            state,
            releases: vec!["1.2.3".into()],
            notice: None,
        },
    );
    assert_eq!(
        commands,
        vec![Command::StartAction {
            task,
            env: "staging".into(),
            action,
            resume: true,
        }]
    );
    assert!(
        c.app
            .log
            .iter()
            .any(|l| l.text.contains("was in flight when the cockpit stopped")),
    );
}
