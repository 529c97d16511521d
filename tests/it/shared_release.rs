//! Several cockpits on one release, its journal in the sandbox's cluster: what one
//! records reaches the other's screen; two deciding at once both land, each checked by
//! the rules against the other's entry; the observer's attempt writes nothing; the local
//! mirror keeps the release readable offline.

use std::time::Duration;

use cockpit_sandbox::server::Running;
use release_cockpit::cluster::client;
use release_cockpit::config::Config;
use release_cockpit::config::journal::JournalPlace;
use release_cockpit::release::identity::{Author, Identity};
use release_cockpit::release::journal;
use release_cockpit::release::state::ItemStatus;
use release_cockpit::runtime::SharedJournal;

use crate::common::Cockpit;

fn shared_config() -> Config {
    let mut config = Config::embedded();
    config.journal = JournalPlace::Cluster {
        environment: "production".into(),
        namespace: "production".into(),
    };
    config
}

/// A cockpit of `user`'s on release 1.2.3, its journal in `running`'s production.
fn cockpit_of(running: &Running, user: &str) -> Cockpit {
    let token = running.sandbox.token_of(user).unwrap().to_string();
    let url = running.url();
    let identity = Identity {
        author: Author {
            name: user.into(),
            verified_by: Some("production".into()),
        },
        groups: vec![format!("release-cockpit:{user}s")],
    };
    let user = user.to_string();
    let mut c = Cockpit::open_in_with(
        tempfile::tempdir().unwrap(),
        shared_config(),
        "1.2.3",
        "regular",
        move |rt, app| {
            rt.shared_journal = Some(SharedJournal {
                environment: "production".into(),
                namespace: "production".into(),
                kube: client::config_for_url(&url, "production", Some(&token)).unwrap(),
            });
            rt.operator = identity.author.clone();
            app.identity = identity;
            let _ = user;
        },
    );
    c.app.env = "production".into();
    c
}

/// Feeds what the cockpit's follower received until `done` holds (deadline 20 s).
async fn until(c: &mut Cockpit, what: &str, done: impl Fn(&Cockpit) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(c) {
        let msg = tokio::time::timeout_at(deadline, c.rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: not within 20 s; log: {:?}",
                    c.app.log.iter().rev().take(5).collect::<Vec<_>>()
                )
            })
            .expect("the cockpit's channel is open");
        c.send(msg);
    }
}

fn ticked(c: &Cockpit, item: &str) -> bool {
    c.release()
        .items
        .get(item)
        .is_some_and(|i| matches!(i.status, ItemStatus::Done { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_cockpit_records_reaches_the_others_screen() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let mut driver = cockpit_of(&running, "release-engineer");
    let mut reviewer = cockpit_of(&running, "reviewer");
    assert_eq!(
        reviewer.release().created.by,
        "release-engineer",
        "the reviewer opened the driver's release, not a new one"
    );

    driver.tick("code-freeze");
    until(
        &mut reviewer,
        "the driver's tick on the reviewer's screen",
        |c| ticked(c, "code-freeze"),
    )
    .await;

    reviewer.approve_entering("engineer", None);
    until(
        &mut driver,
        "the reviewer's approval on the driver's screen",
        |c| c.release().approvals.values().any(|a| a.name == "reviewer"),
    )
    .await;
    assert!(
        driver
            .app
            .log
            .iter()
            .any(|l| l.text.contains("reviewer") && l.text.contains("from another cockpit")),
        "the driver's log says who: {:?}",
        driver.app.log.iter().rev().take(3).collect::<Vec<_>>()
    );

    // Both decide at once: the second to reach the cluster is sent back to the rules with
    // the first's entry folded in, and lands after it.
    driver.tick("automated-tests");
    reviewer.tick("changelog");
    until(&mut driver, "both ticks on the driver's screen", |c| {
        ticked(c, "automated-tests") && ticked(c, "changelog")
    })
    .await;
    until(&mut reviewer, "both ticks on the reviewer's screen", |c| {
        ticked(c, "automated-tests") && ticked(c, "changelog")
    })
    .await;

    // The mirror in each state dir holds the same journal, entry for entry.
    let path = driver.dir.path().join("releases/1.2.3.jsonl");
    let (mine, _) = journal::read(&path, "1.2.3").unwrap();
    let (theirs, _) =
        journal::read(&reviewer.dir.path().join("releases/1.2.3.jsonl"), "1.2.3").unwrap();
    assert_eq!(mine.hashes, theirs.hashes);
    assert_eq!(mine.entries.len(), 5, "creation, three ticks, one approval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observers_attempt_is_refused_by_the_cluster_and_writes_nothing() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let mut driver = cockpit_of(&running, "release-engineer");
    driver.tick("code-freeze");
    let mut observer = cockpit_of(&running, "observer");
    assert!(
        ticked(&observer, "code-freeze"),
        "the observer sees the release"
    );
    let before = observer.rt.journal_head();
    observer.tick("automated-tests");
    assert!(!ticked(&observer, "automated-tests"));
    let said = observer
        .app
        .log
        .iter()
        .rev()
        .take(3)
        .map(|l| l.text.clone())
        .collect::<Vec<_>>();
    assert!(
        said.iter()
            .any(|t| t.contains("NOT SAVED") && t.contains("forbidden")),
        "{said:?}"
    );
    assert_eq!(observer.rt.journal_head(), before, "nothing was written");
}
