//! Deploys driven from the keyboard, end to end: the real `update`, Runtime, TaskRunner and
//! watchers against a seeded sandbox (staging: 2 replicas, production: 4, on 1.2.2), the
//! journal in a temp state dir. What the tasks and watchers send back is pumped into the
//! cockpit as the event loop would; each test asserts what the release engineer would see
//! on screen, in the journal and in the cluster.

use crate::common;
use crate::common::cluster as cluster_common;

use std::time::Duration;

use cluster_common::{Live, action_events, sandbox};
use cockpit_sandbox::server::{self, Running};
use cockpit_sandbox::service::Services;
use common::Cockpit;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use release_cockpit::app::{Modal, Msg};
use release_cockpit::cluster::progress::RolloutStatus;
use release_cockpit::cluster::{Target, actions, client};
use release_cockpit::config::Config;
use release_cockpit::release::action::TaskId;
use release_cockpit::release::action::{Action, MigrationDirection, RollbackMethod};
use release_cockpit::release::event::Event;
use release_cockpit::release::gates::GateStatus;
use release_cockpit::release::runbook::{self, Stage, StepKind, StepState};
use release_cockpit::release::store::{StateDir, parse_version};

/// At 60x the 600 s progress deadline is 10 s of wall time and a pod is ready in 0.1 s.
const SPEED: f64 = 60.0;
/// Far longer than anything here takes; reaching it is a failure.
const LIMIT: Duration = Duration::from_secs(30);
const SHA: &str = "0123abcd";
const ROLLED_OUT: &str = "deployment \"deal-scout-api\" successfully rolled out";
const DEADLINE: &str = "deployment \"deal-scout-api\" exceeded its progress deadline";

// ---------------------------------------------------------------------------------------
// Helpers: the procedure's steps as an engineer takes them

/// The commit SHA and the week-before phase: all a regular release needs for staging.
fn open_staging(c: &mut Cockpit) {
    c.char('s');
    c.answer(SHA);
    assert_eq!(c.release().commit_sha.as_deref(), Some(SHA));
    c.tick_phase("week-before");
    assert_eq!(c.gates().staging.status, GateStatus::Open);
}

/// The rest of the checklist, both approvals, GO and staging validated.
fn open_production(c: &mut Cockpit) {
    for phase in ["three-days-before", "day-before", "release-day", "security"] {
        c.tick_phase(phase);
    }
    c.approve("team_lead", "Tess Lead");
    c.approve("engineer", "Eve Engineer");
    c.char('d');
    c.enter();
    c.char('y');
    c.char('V');
    c.char('y');
    assert_eq!(
        c.gates().production.status,
        GateStatus::Open,
        "{:?}",
        c.gates().production.blockers
    );
}

fn ctrl(c: &mut Cockpit, ch: char) {
    c.send(Msg::Key(KeyEvent::new(
        KeyCode::Char(ch),
        KeyModifiers::CONTROL,
    )));
}

/// Confirms the dialog a key opened (y on a plain confirmation).
fn confirm(c: &mut Cockpit) {
    assert!(
        matches!(c.app.modal, Some(Modal::Confirm(_))),
        "a confirmation is open: {:?}",
        c.app.modal
    );
    c.char('y');
}

fn finished(c: &Cockpit, task: TaskId) -> bool {
    c.release()
        .action(task)
        .is_some_and(|a| a.finished.is_some())
}

/// How task `task` ended, as journaled on disk.
fn outcome(live: &Live, task: TaskId) -> (bool, String, serde_json::Value) {
    let found = live.journal().into_iter().find_map(|e| match e.event {
        Event::ActionFinished { task: t, outcome } if t == task => Some((
            outcome.ok,
            outcome.summary,
            serde_json::to_value(&outcome.detail).unwrap(),
        )),
        _ => None,
    });
    found.unwrap_or_else(|| panic!("#{task} has no ActionFinished in the journal"))
}

fn finishes_of(live: &Live, task: TaskId) -> usize {
    live.journal()
        .iter()
        .filter(|e| matches!(e.event, Event::ActionFinished { task: t, .. } if t == task))
        .count()
}

/// The live view shows every pod of the Deployment on its newest revision, ready, with
/// that revision running `image`, and kubectl's verdict done.
fn all_on(c: &Cockpit, image: &str, replicas: usize) -> bool {
    let Some(view) = c.app.view() else {
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

fn step_state(c: &Cockpit, stage: Stage, kind: StepKind) -> StepState {
    let steps = runbook::steps(&c.app.config);
    let step = steps
        .iter()
        .find(|s| s.stage == stage && s.kind == kind)
        .expect("the runbook has the step");
    runbook::state(step, c.release(), &c.app.config, &c.gates())
}

/// Deploys the release in the current (unprotected) environment and waits for its end.
async fn deploy_staging(live: &mut Live) -> TaskId {
    let task = live.release().next_task();
    live.char('D');
    confirm(live);
    assert!(live.app.tasks.contains_key(&task), "{}", live.log_tail(3));
    live.pump("the staging deploy ends", LIMIT, |c| finished(c, task))
        .await;
    task
}

// ---------------------------------------------------------------------------------------
// 1. staging then production, by keys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_goes_to_staging_then_production_by_keys() {
    let running = sandbox(SPEED).await;
    let mut live = Live::new(&running, Config::embedded(), "1.2.3", "regular");

    // Without a SHA the deploy is refused before any dialog: its change-cause carries it.
    live.char('D');
    assert!(live.app.modal.is_none());
    assert_eq!(
        live.last_log(),
        "set the commit SHA first (s): the deploy's change-cause carries it"
    );
    open_staging(&mut live);

    live.char('D');
    let Some(Modal::Confirm(dialog)) = &live.app.modal else {
        panic!("D opened no confirmation: {:?}", live.app.modal);
    };
    assert_eq!(dialog.title, "Deploy deal-scout-api:1.2.3?");
    assert!(
        dialog
            .body
            .iter()
            .any(|l| l == "Change-cause: release-cockpit: release 1.2.3, commit 0123abcd."),
        "{:?}",
        dialog.body
    );
    live.char('y');
    live.pump("staging rolls out", LIMIT, |c| finished(c, TaskId(1)))
        .await;

    let (ok, summary, detail) = outcome(&live, TaskId(1));
    assert!(ok, "{summary}");
    assert_eq!(summary, ROLLED_OUT);
    assert_eq!(detail["patched"], true);
    assert_eq!(detail["previous_image"], "deal-scout-api:1.2.2");
    let actions = action_events(&live.journal());
    assert_eq!(actions.len(), 2, "{actions:#?}");
    assert_eq!(actions[0], staging_deploy_started());
    assert!(
        live.logged_result(
            "#1 deploy deal-scout-api:1.2.3 in staging",
            false,
            ROLLED_OUT
        ),
        "{}",
        live.log_tail(10)
    );
    assert!(
        live.progress(TaskId(1))
            .iter()
            .any(|p| p.starts_with("Waiting for deployment \"deal-scout-api\" rollout")),
        "the rollout's steps were shown: {:?}",
        live.progress(TaskId(1))
    );
    live.pump("staging's pods all on 1.2.3", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.3", 2)
    })
    .await;
    assert!(step_state(&live, Stage::Staging, StepKind::Deploy).is_done());
    assert_eq!(live.patches("production").await.len(), 0);

    // Production: every gate, then the typed confirmation.
    open_production(&mut live);
    live.switch_env("production");
    live.pump("the production view is live", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.2", 4)
    })
    .await;
    live.char('D');
    let Some(Modal::Input(prompt)) = &live.app.modal else {
        panic!(
            "a protected deploy needs a typed confirmation: {:?}",
            live.app.modal
        );
    };
    assert!(
        prompt
            .prompt
            .contains("production is protected: type \"production 1.2.3\" to confirm."),
        "{}",
        prompt.prompt
    );
    assert!(
        prompt
            .prompt
            .contains("Now running: revision 2 (deal-scout-api:1.2.2)."),
        "{}",
        prompt.prompt
    );
    let events_before = live.journal().len();
    live.answer("staging 1.2.3");
    assert_eq!(
        live.modal_error().as_deref(),
        Some("type \"production 1.2.3\" exactly, or Esc to cancel")
    );
    assert!(live.app.tasks.is_empty(), "nothing started");
    assert_eq!(live.journal().len(), events_before, "nothing journaled");
    assert_eq!(live.patches("production").await.len(), 0, "nothing sent");

    ctrl(&mut live, 'u');
    live.answer("production 1.2.3");
    assert!(live.app.modal.is_none());
    assert!(live.app.tasks.contains_key(&TaskId(2)));
    live.pump("production rolls out", LIMIT, |c| finished(c, TaskId(2)))
        .await;
    let (ok, summary, _) = outcome(&live, TaskId(2));
    assert!(ok, "{summary}");
    assert_eq!(summary, ROLLED_OUT);
    live.pump("production's pods all on 1.2.3", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.3", 4)
    })
    .await;
    let view = live.app.view().unwrap();
    assert_eq!(view.target.env, "production");
    let current = view.revisions().iter().find(|r| r.current).unwrap();
    assert_eq!(current.revision, 3);
    assert_eq!(
        current.change_cause.as_deref(),
        Some("release-cockpit: release 1.2.3, commit 0123abcd")
    );

    assert!(step_state(&live, Stage::Staging, StepKind::Deploy).is_done());
    assert!(step_state(&live, Stage::Production, StepKind::Deploy).is_done());
    assert_eq!(live.patches("staging").await.len(), 1);
    assert_eq!(live.patches("production").await.len(), 1);
    // The journal on disk folds to what the screen shows.
    assert_eq!(&live.reread(), live.release());
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 2. a crashing version, and the rollback it asks for

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashlooping_release_fails_its_deadline_and_rolls_back_by_keys() {
    // 600x: the 600 s progress deadline passes in one second.
    let running = sandbox(600.0).await;
    let mut live = Live::new(&running, Config::embedded(), "1.2.3-crashloop", "regular");
    open_staging(&mut live);
    live.pump("the view is live", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.2", 2)
    })
    .await;
    let task = deploy_staging(&mut live).await;

    let (ok, summary, _) = outcome(&live, task);
    assert!(!ok);
    assert_eq!(summary, DEADLINE);
    assert!(
        live.logged_result(
            "#1 deploy deal-scout-api:1.2.3-crashloop in staging",
            true,
            DEADLINE
        ),
        "{}",
        live.log_tail(10)
    );
    assert!(
        live.logged(
            "the deploy did not roll out: U rolls back (previous revision, a chosen one, or \
             the previous tag)"
        ),
        "{}",
        live.log_tail(5)
    );
    assert!(matches!(
        step_state(&live, Stage::Staging, StepKind::Deploy),
        StepState::Failed { .. }
    ));
    // The rollout pane shows why: the new pod crashing beside the old ones still serving.
    live.pump("the view shows the crash loop", LIMIT, |c| {
        let view = c.app.view().unwrap();
        let crashing = view.pods().any(|p| {
            p.image == "deal-scout-api:1.2.3-crashloop"
                && (p.status == "CrashLoopBackOff" || p.status == "Error")
        });
        let serving = view
            .pods()
            .filter(|p| p.image == "deal-scout-api:1.2.2" && p.ready == 1)
            .count();
        crashing && serving == 2
    })
    .await;

    live.char('U');
    let Some(Modal::Pick(menu)) = &live.app.modal else {
        panic!("U opened no menu: {:?}", live.app.modal);
    };
    assert_eq!(menu.options[menu.selected].id, "previous");
    assert_eq!(
        menu.options[menu.selected].label,
        "undo to the previous revision (2: deal-scout-api:1.2.2)"
    );
    live.enter();
    // A rollback without a reason is refused in the prompt.
    live.enter();
    assert_eq!(
        live.modal_error().as_deref(),
        Some("a rollback needs a reason")
    );
    live.answer("crash loop on startup: KeyError DEAL_SCOUT_SECRET_KEY");
    let Some(Modal::Confirm(dialog)) = &live.app.modal else {
        panic!("no confirmation: {:?}", live.app.modal);
    };
    assert!(
        dialog
            .body
            .iter()
            .any(|l| l == "Reason: crash loop on startup: KeyError DEAL_SCOUT_SECRET_KEY."),
        "{:?}",
        dialog.body
    );
    live.char('y');
    live.pump("the rollback ends", LIMIT, |c| finished(c, TaskId(2)))
        .await;
    let (ok, summary, detail) = outcome(&live, TaskId(2));
    assert!(ok, "{summary}");
    assert_eq!(summary, ROLLED_OUT);
    assert_eq!(detail["image"], "deal-scout-api:1.2.2");
    assert!(
        live.output(TaskId(2))
            .contains(&"deployment.apps/deal-scout-api rolled back".to_string()),
        "{:?}",
        live.output(TaskId(2))
    );
    live.pump("staging back on 1.2.2", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.2", 2)
    })
    .await;

    let actions = action_events(&live.journal());
    assert_eq!(
        actions[2],
        Event::ActionStarted {
            task: TaskId(2),
            env: "staging".into(),
            action: Action::Rollback {
                method: RollbackMethod::Previous,
                reason: "crash loop on startup: KeyError DEAL_SCOUT_SECRET_KEY".into(),
            },
        }
    );
    assert_eq!(actions.len(), 4, "{actions:#?}");
    assert_eq!(
        step_state(&live, Stage::Staging, StepKind::Deploy),
        StepState::Failed {
            task: TaskId(2),
            summary: "rolled back: rollback (undo to the previous revision)".into()
        }
    );
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 3. D pressed twice

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_pressed_again_sends_no_second_patch() {
    let running = sandbox(SPEED).await;
    let mut live = Live::new(&running, Config::embedded(), "1.2.3", "regular");
    open_staging(&mut live);
    live.char('D');
    live.char('y');
    live.pump("the rollout is under way", LIMIT, |c| {
        c.app.tasks.get(&TaskId(1)).is_some_and(|t| {
            t.progress
                .as_deref()
                .is_some_and(|p| p.starts_with("Waiting for deployment"))
        })
    })
    .await;
    let events = live.journal().len();
    live.char('D');
    assert!(live.app.modal.is_none(), "no dialog for a refused deploy");
    assert_eq!(
        live.last_log(),
        "refused: #1 deploy deal-scout-api:1.2.3 is running in staging; one change to an \
         environment at a time (wait, or X to cancel it)"
    );
    assert_eq!(live.journal().len(), events, "a refusal is not journaled");
    live.pump("the first deploy ends", LIMIT, |c| finished(c, TaskId(1)))
        .await;
    assert!(outcome(&live, TaskId(1)).0);

    // Once it is done, D again asks, and finds nothing to send.
    live.char('D');
    live.char('y');
    live.pump("the second deploy ends", LIMIT, |c| finished(c, TaskId(2)))
        .await;
    let (ok, _, detail) = outcome(&live, TaskId(2));
    assert!(ok);
    assert_eq!(detail["patched"], false);
    assert!(
        live.output(TaskId(2))
            .contains(&"deal-scout-api:1.2.3 was already set; nothing sent".to_string()),
        "{:?}",
        live.output(TaskId(2))
    );
    let patches = live.patches("staging").await;
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(patches[0].status, 200);
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 4. one change per environment; probes alongside

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_waits_for_the_deploy_but_a_health_check_runs_alongside() {
    let running = sandbox(30.0).await;
    let services = Services::start(running.sandbox.clone())
        .await
        .expect("the simulated services start");
    let mut config = Config::embedded();
    for (name, env) in &mut config.environments {
        let url = &services.urls[name];
        env.health_url = format!("{url}/health");
        env.detailed_health_url = format!("{url}/api/v1/monitoring/health/detailed");
    }
    // Slow pods keep the deploy running while the other keys are pressed.
    let mut live = Live::new(&running, config, "1.2.3-slowstart", "regular");
    open_staging(&mut live);
    live.char('D');
    live.char('y');
    live.pump("the rollout is under way", LIMIT, |c| {
        c.app
            .tasks
            .get(&TaskId(1))
            .is_some_and(|t| t.progress.is_some())
    })
    .await;

    live.char('M');
    let Some(Modal::Pick(menu)) = &live.app.modal else {
        panic!("M opened no menu: {:?}", live.app.modal);
    };
    assert_eq!(menu.options[menu.selected].id, "up");
    live.enter();
    assert!(live.app.modal.is_none());
    assert_eq!(
        live.last_log(),
        "refused: #1 deploy deal-scout-api:1.2.3-slowstart is running in staging; one change \
         to an environment at a time (wait, or X to cancel it)"
    );

    live.char('H');
    confirm(&mut live);
    assert_eq!(
        live.app.tasks.keys().copied().collect::<Vec<_>>(),
        [TaskId(1), TaskId(2)],
        "the health check runs beside the deploy"
    );
    live.pump("the health check ends", LIMIT, |c| finished(c, TaskId(2)))
        .await;
    assert!(
        live.app.tasks.contains_key(&TaskId(1)),
        "the deploy was still running when the health check ended"
    );
    let (ok, summary, _) = outcome(&live, TaskId(2));
    assert!(ok, "{summary}");
    assert_eq!(summary, "2 of 2 health URLs healthy");
    live.until_idle("the deploy ends", LIMIT).await;
    assert!(outcome(&live, TaskId(1)).0);

    let started: Vec<&'static str> = live
        .release()
        .actions
        .iter()
        .map(|a| a.action.name())
        .collect();
    assert_eq!(started, ["deploy", "health"], "no migration was started");
    services.stop().await;
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 5. a crash mid-rollout, and a start the cluster never saw

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_in_flight_at_a_crash_is_followed_not_sent_again() {
    // 45 s to ready per pod: about three seconds of rollout at 30x.
    let running = sandbox(30.0).await;
    let config = Config::embedded();
    let version = "1.2.3-slowstart";
    let mut live = Live::new(&running, config.clone(), version, "regular");
    open_staging(&mut live);
    live.char('D');
    live.char('y');
    live.pump("the rollout is under way", LIMIT, |c| {
        c.app.tasks.get(&TaskId(1)).is_some_and(|t| {
            t.progress
                .as_deref()
                .is_some_and(|p| p.starts_with("Waiting for deployment \"deal-scout-api\""))
        })
    })
    .await;
    assert_eq!(live.patches("staging").await.len(), 1);
    let (url, token) = (live.url.clone(), live.token.clone());
    let dir = live.crash();

    let mut live = Live::reopen(dir, &url, &token, config, version, "regular");
    assert!(
        live.logged(
            "#1 deploy deal-scout-api:1.2.3-slowstart in staging was in flight when the \
             cockpit stopped; reconciling with the cluster"
        ),
        "{}",
        live.log_tail(5)
    );
    assert!(live.app.tasks.get(&TaskId(1)).is_some_and(|t| t.resumed));
    live.pump("the resumed deploy ends", LIMIT, |c| finished(c, TaskId(1)))
        .await;
    let (ok, summary, detail) = outcome(&live, TaskId(1));
    assert!(ok, "{summary}");
    assert_eq!(summary, ROLLED_OUT);
    assert_eq!(detail["resumed"], true);
    assert!(
        live.output(TaskId(1)).contains(
            &"deal-scout-api:1.2.3-slowstart was set before the restart; following the rollout"
                .to_string()
        ),
        "{:?}",
        live.output(TaskId(1))
    );
    assert!(
        live.progress(TaskId(1))
            .iter()
            .any(|p| p.starts_with("Waiting for deployment \"deal-scout-api\" rollout")),
        "the restarted cockpit followed a rollout still under way: {:?}",
        live.progress(TaskId(1))
    );
    live.pump("staging on the new version", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.3-slowstart", 2)
    })
    .await;
    assert_eq!(finishes_of(&live, TaskId(1)), 1);
    assert_eq!(live.patches("staging").await.len(), 1, "nothing sent again");
    assert!(step_state(&live, Stage::Staging, StepKind::Deploy).is_done());
    running.stop().await;
}

/// The deploy of 1.2.3 to staging as the cockpit journals it before sending anything.
fn staging_deploy_started() -> Event {
    Event::ActionStarted {
        task: TaskId(1),
        env: "staging".into(),
        action: Action::Deploy {
            version: "1.2.3".into(),
            image: "deal-scout-api:1.2.3".into(),
            change_cause: "release-cockpit: release 1.2.3, commit 0123abcd".into(),
            commit_sha: Some(SHA.into()),
        },
    }
}

/// A state dir whose journal of release 1.2.3 ends with the deploy started and never
/// finished: what a cockpit killed mid-deploy leaves.
fn journal_in_flight(config: &Config) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = StateDir::new(dir.path());
    let v = parse_version("1.2.3").unwrap();
    let at = common::at(common::START);
    let mut journal = store
        .open_or_create(config, &v, "regular", &"alice".into(), at)
        .unwrap()
        .journal;
    let commit = Event::CommitSet {
        commit_sha: SHA.into(),
    };
    // What opened the staging gate: opening re-checks every entry against the rules.
    let week_before = config
        .procedure
        .phases
        .iter()
        .find(|p| p.id == "week-before")
        .unwrap();
    let ticks = week_before
        .items
        .iter()
        .map(|i| Event::ItemTicked { item: i.id.clone() });
    for event in std::iter::once(commit)
        .chain(ticks)
        .chain([staging_deploy_started()])
    {
        journal.append(&"alice".into(), at, event).unwrap();
    }
    dir
}

/// A cockpit restarted on a journal whose deploy never reached the cluster, once the
/// reconciliation has ended.
async fn reconciled_never_sent(running: &Running) -> Live {
    let config = Config::embedded();
    let dir = journal_in_flight(&config);
    let token = running.sandbox.release_engineer_token();
    let mut live = Live::reopen(dir, &running.url(), token, config, "1.2.3", "regular");
    live.pump("the reconciliation ends", LIMIT, |c| finished(c, TaskId(1)))
        .await;
    live
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_journaled_but_never_sent_is_finished_as_interrupted() {
    let running = sandbox(SPEED).await;
    let config = Config::embedded();
    // The cockpit journaled the start and died before its patch left.
    let dir = journal_in_flight(&config);
    let token = running.sandbox.release_engineer_token();
    let mut live = Live::reopen(dir, &running.url(), token, config, "1.2.3", "regular");
    assert!(live.logged("was in flight when the cockpit stopped"));
    live.pump("the reconciliation ends", LIMIT, |c| finished(c, TaskId(1)))
        .await;
    let (ok, summary, detail) = outcome(&live, TaskId(1));
    assert!(!ok);
    assert_eq!(
        summary,
        "interrupted before deal-scout-api:1.2.3 was set (the deployment runs \
         deal-scout-api:1.2.2); nothing was sent again"
    );
    assert_eq!(detail["patched"], false);
    assert!(
        live.logged_result("#1 deploy deal-scout-api:1.2.3 in staging", true, &summary),
        "{}",
        live.log_tail(5)
    );
    assert_eq!(finishes_of(&live, TaskId(1)), 1);
    assert!(live.patches("staging").await.is_empty(), "nothing sent");
    live.pump("the view is live", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.2", 2)
    })
    .await;
    // The engineer can simply deploy again.
    live.tick_phase("week-before");
    let task = deploy_staging(&mut live).await;
    assert_eq!(task, TaskId(2));
    assert!(outcome(&live, TaskId(2)).0);
    assert_eq!(live.patches("staging").await.len(), 1);
    running.stop().await;
}

/// Nothing rolled out, so there is nothing to roll back: U from here would undo the
/// running 1.2.2 to 1.2.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_that_never_reached_the_cluster_does_not_offer_a_rollback() {
    let running = sandbox(SPEED).await;
    let mut live = reconciled_never_sent(&running).await;
    live.pump("the view is live", LIMIT, |c| {
        all_on(c, "deal-scout-api:1.2.2", 2)
    })
    .await;
    live.char('U');
    let offered = match &live.app.modal {
        Some(Modal::Pick(p)) => p.options[p.selected].label.clone(),
        other => format!("{other:?}"),
    };
    assert!(
        !live.logged("U rolls back"),
        "the log offers a rollback after a deploy that sent nothing; U would offer \
         \"{offered}\":\n{}",
        live.log_tail(5)
    );
    running.stop().await;
}

/// One result, one line: the same result twice pushes the lines that follow it (the
/// rollback offer) up and off a small screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_result_is_logged_once() {
    let running = sandbox(SPEED).await;
    let live = reconciled_never_sent(&running).await;
    let lines: Vec<String> = live
        .log_lines()
        .into_iter()
        .filter(|l| l.contains("interrupted before deal-scout-api:1.2.3 was set"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    running.stop().await;
}

/// A restart while the cluster cannot be reached (VPN down, API server restarting) is not
/// a failed deploy: the journal must not record one, and once the cluster answers the
/// rollout is followed to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_the_cluster_is_unreachable_does_not_fail_the_deploy() {
    let running = sandbox(SPEED).await;
    let config = Config::embedded();
    let dir = journal_in_flight(&config);
    // Its patch had reached the cluster before the crash.
    let token = running.sandbox.release_engineer_token().to_string();
    let client = client::for_url(&running.url(), "staging", Some(&token)).unwrap();
    let target = Target::of(config.environment("staging").unwrap());
    actions::set_image(
        &client,
        &target,
        "deal-scout-api:1.2.3",
        "release-cockpit: release 1.2.3, commit 0123abcd",
    )
    .await
    .expect("set the image");
    let (sb, addr, url) = (running.sandbox.clone(), running.addr, running.url());
    running.stop().await;

    let mut live = Live::reopen(dir, &url, &token, config, "1.2.3", "regular");
    live.pump_for(Duration::from_secs(1)).await;
    assert_eq!(
        finishes_of(&live, TaskId(1)),
        0,
        "the journal records the deploy as finished while the cluster was unreachable: \
         {:?}\nthe log ends:\n{}",
        live.reread()
            .action(TaskId(1))
            .and_then(|a| a.finished.clone()),
        live.log_tail(6)
    );
    let running = server::start(sb, addr)
        .await
        .expect("the sandbox serves again");
    live.pump("the deploy is reconciled", LIMIT, |c| {
        finished(c, TaskId(1))
    })
    .await;
    let (ok, summary, _) = outcome(&live, TaskId(1));
    assert!(ok, "{summary}");
    assert_eq!(summary, ROLLED_OUT);
    assert_eq!(live.patches("staging").await.len(), 1, "nothing sent again");
    running.stop().await;
}

/// A kubeconfig without a production context: the cockpit starts (staging works) and logs
/// that production has no cluster. A deploy there must be refused before its dialog, as
/// one without any cluster is, not journaled as started and then failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_to_an_environment_without_a_cluster_is_refused_before_anything_is_journaled() {
    let running = sandbox(SPEED).await;
    let mut live = Live::new(&running, Config::embedded(), "1.2.3", "regular");
    // What `connect_clients` in commands/cockpit.rs makes of a missing context.
    let c = &mut live.c;
    c.rt.set_client(
        &mut c.app,
        "production",
        Err("kubeconfig context \"production\": context not found".into()),
    );
    open_staging(&mut live);
    open_production(&mut live);
    live.switch_env("production");
    let events = live.journal().len();
    live.char('D');
    if matches!(live.app.modal, Some(Modal::Input(_))) {
        live.answer("production 1.2.3");
        live.until_idle("the deploy ends", LIMIT).await;
    }
    let actions = action_events(&live.journal()[events..]);
    assert!(
        actions.is_empty(),
        "a deploy that could not reach production was journaled: {actions:#?}\nthe log ends:\n{}",
        live.log_tail(6)
    );
    assert!(
        live.last_log().contains("production"),
        "the refusal names the environment: {}",
        live.last_log()
    );
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 6. migrations as Jobs

/// M, upgrade, confirmed; waits for the Job's verdict.
async fn migrate_up(live: &mut Live) -> TaskId {
    let task = live.release().next_task();
    live.char('M');
    live.enter();
    let Some(Modal::Confirm(dialog)) = &live.app.modal else {
        panic!("no confirmation: {:?}", live.app.modal);
    };
    assert!(
        dialog
            .body
            .iter()
            .any(|l| l.starts_with("Runs `alembic upgrade head` in Job deal-scout-api-migrate-up-")),
        "{:?}",
        dialog.body
    );
    live.char('y');
    live.pump("the migration ends", LIMIT, |c| finished(c, task))
        .await;
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_job_after_the_deploy_succeeds_with_its_log() {
    let running = sandbox(SPEED).await;
    let mut live = Live::new(&running, Config::embedded(), "1.2.3", "regular");
    open_staging(&mut live);
    deploy_staging(&mut live).await;
    let task = migrate_up(&mut live).await;
    let (ok, summary, detail) = outcome(&live, task);
    let job = "deal-scout-api-migrate-up-1-2-3-2";
    assert!(ok, "{summary}");
    assert!(
        summary.starts_with(&format!("Job {job}: Complete")),
        "{summary}"
    );
    assert_eq!(detail["job"], job);
    let upgrade = "Running upgrade 9c3d1e2f4a5b -> 4f1a9c2e7b10, add user preferences";
    assert!(
        live.output(task).iter().any(|l| l.contains(upgrade)),
        "the Job's log is the task's output: {:?}",
        live.output(task)
    );
    assert!(
        detail["log_tail"]
            .as_array()
            .is_some_and(|t| t.iter().any(|l| l.as_str().unwrap_or("").contains(upgrade))),
        "{detail:#}"
    );
    assert!(
        live.logged_result(
            "#2 migration `alembic upgrade head` in staging",
            false,
            &format!("Job {job}: Complete")
        ),
        "{}",
        live.log_tail(5)
    );
    assert_eq!(
        live.release().action(task).map(|a| a.action.clone()),
        Some(Action::Migrate {
            direction: MigrationDirection::Up,
            argv: vec!["alembic".into(), "upgrade".into(), "head".into()],
            job: job.into(),
        })
    );
    assert!(step_state(&live, Stage::Staging, StepKind::Migrate).is_done());
    live.pump("the rollout pane lists the Job", LIMIT, |c| {
        c.app
            .view()
            .is_some_and(|v| v.jobs().iter().any(|j| j.name == job))
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_migration_says_why_in_the_log() {
    let running = sandbox(SPEED).await;
    let mut live = Live::new(&running, Config::embedded(), "1.2.3-migfail", "regular");
    open_staging(&mut live);
    deploy_staging(&mut live).await;
    assert!(
        outcome(&live, TaskId(1)).0,
        "a -migfail image serves; only its migration fails"
    );
    let task = migrate_up(&mut live).await;
    let (ok, summary, detail) = outcome(&live, task);
    assert!(!ok);
    assert!(
        summary.contains("BackoffLimitExceeded"),
        "the Job's reason: {summary}"
    );
    let why = "FAILED: Can't locate revision identified by 'b7e2c1f0a9d3'";
    assert!(
        live.output(task).iter().any(|l| l == why),
        "{:?}",
        live.output(task)
    );
    assert!(
        detail["log_tail"]
            .as_array()
            .is_some_and(|t| t.iter().any(|l| l == why)),
        "{detail:#}"
    );
    assert!(
        live.logged_result(
            "#2 migration `alembic upgrade head` in staging",
            true,
            &summary
        ),
        "{}",
        live.log_tail(5)
    );
    assert!(matches!(
        step_state(&live, Stage::Staging, StepKind::Migrate),
        StepState::Failed { .. }
    ));
    // The engineer must be able to read why without opening the journal: the Job's error
    // is in the log pane once the task is gone from the running list.
    assert!(
        live.logged(why),
        "the Job's failure never reaches the log; it ends:\n{}",
        live.log_tail(10)
    );
    running.stop().await;
}
