//! The rules' own unit tests; the integration tests drive them through the cockpit.
use super::*;
use crate::release::action::{ActionOutcome, RollbackMethod};
use crate::release::event::Entry;

fn entry(seq: u64, event: Event) -> Entry {
    Entry {
        seq,
        prev: None,
        at: "2026-11-26T10:00:00Z".parse().unwrap(),
        by: "alice".into(),
        verified_by: None,
        event,
    }
}

fn health() -> Action {
    Action::Health { urls: Vec::new() }
}

fn rollback() -> Action {
    Action::Rollback {
        method: RollbackMethod::Previous,
        reason: "crash loop".into(),
    }
}

fn caller() -> Caller<'static> {
    static ALICE: std::sync::LazyLock<Author> = std::sync::LazyLock::new(|| "alice".into());
    Caller {
        author: &ALICE,
        groups: None,
        at: "2026-11-26T10:00:00Z".parse().unwrap(),
    }
}

fn start(task: u64, env: &str, action: Action) -> Event {
    Event::ActionStarted {
        task: TaskId(task),
        env: env.into(),
        action,
    }
}

/// The one place that holds an environment to one change at a time: what the journal
/// shows in flight, whatever is running in this process.
#[test]
fn one_change_per_environment_from_the_journals_actions_in_flight() {
    let config = Config::embedded();
    let mut entries = vec![
        entry(
            1,
            Event::ReleaseCreated {
                version: "1.2.3".into(),
                release_type: "regular".into(),
                commit_sha: None,
            },
        ),
        entry(2, start(1, "staging", rollback())),
    ];
    let release = ReleaseState::from_entries(&entries).unwrap();
    let refused = check(
        &release,
        &config,
        &caller(),
        &start(2, "staging", rollback()),
    )
    .unwrap_err();
    assert_eq!(
        refused,
        "#1 rollback (undo to the previous revision) is running in staging; one change to \
         an environment at a time (wait, or X to cancel it)"
    );
    // Another environment, or a read-only action, may run alongside.
    check(
        &release,
        &config,
        &caller(),
        &start(2, "production", rollback()),
    )
    .unwrap();
    check(&release, &config, &caller(), &start(2, "staging", health())).unwrap();
    // Once its end is journaled, the environment takes the next change.
    entries.push(entry(
        3,
        Event::ActionFinished {
            task: TaskId(1),
            outcome: ActionOutcome {
                ok: true,
                summary: "rolled back".into(),
                detail: Default::default(),
                duration_ms: 1,
            },
        },
    ));
    let release = ReleaseState::from_entries(&entries).unwrap();
    check(
        &release,
        &config,
        &caller(),
        &start(2, "staging", rollback()),
    )
    .unwrap();
}
