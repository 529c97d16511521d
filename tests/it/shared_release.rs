//! Several cockpits on one release, its journal in the sandbox's cluster: what one
//! records reaches the other's screen; two deciding at once both land, each checked by
//! the rules against the other's entry; the observer's attempt writes nothing; the local
//! mirror keeps the release readable offline.

use std::time::Duration;

use cockpit_sandbox::server::Running;
use kube::Api;
use release_cockpit::cluster::client;
use release_cockpit::cluster::lease::Role;
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
        signatures_namespace: "production".into(),
    };
    config
}

/// A cockpit of `user`'s on release 1.2.3, its journal in `running`'s production, with
/// its role taken as the cockpit takes it at start (the driver's lease, else reviewer or
/// observer).
async fn cockpit_of(running: &Running, user: &str) -> Cockpit {
    joined(running, user, false).await
}

async fn joined(running: &Running, user: &str, observe: bool) -> Cockpit {
    let mut c = opened(running, user);
    let may_take_over = release_cockpit::app::shared::may_take_over(&c.app);
    let role =
        c.rt.take_role(observe, may_take_over)
            .await
            .expect("a shared release has roles");
    c.send(role);
    c
}

fn opened(running: &Running, user: &str) -> Cockpit {
    opened_in(running, user, tempfile::tempdir().unwrap())
}

fn opened_in(running: &Running, user: &str, dir: tempfile::TempDir) -> Cockpit {
    let token = running.sandbox.token_of(user).unwrap().to_string();
    let url = running.url();
    let identity = Identity {
        author: Author {
            name: user.into(),
            verified_by: Some("production".into()),
        },
        groups: vec![format!("release-cockpit:{user}s")],
    };
    let mut c = Cockpit::open_in_with(dir, shared_config(), "1.2.3", "regular", move |rt, app| {
        rt.shared_journal = Some(SharedJournal {
            environment: "production".into(),
            namespace: "production".into(),
            signatures_namespace: "production".into(),
            kube: client::config_for_url(&url, "production", Some(&token)).unwrap(),
        });
        rt.operator = identity.author.clone();
        app.identity = identity;
        connect(rt, app, &url, &token);
    });
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

/// Each environment's client as the user's, as the cockpit connects them at start.
fn connect(
    rt: &mut release_cockpit::runtime::Runtime,
    app: &mut release_cockpit::app::App,
    url: &str,
    token: &str,
) {
    for (name, env) in &app.config.environments.clone() {
        rt.set_client(app, name, client::for_url(url, &env.namespace, Some(token)));
    }
    app.cluster = Some(release_cockpit::app::ClusterInfo {
        api: url.to_string(),
        kubeconfig: app.state_dir.join("sandbox.kubeconfig"),
        simulated: true,
    });
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
    let mut driver = cockpit_of(&running, "release-engineer").await;
    let mut reviewer = cockpit_of(&running, "reviewer").await;
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

    // A reviewer records approvals; the checklist is the driver's.
    reviewer.tick("changelog");
    assert!(!ticked(&reviewer, "changelog"));
    assert!(
        reviewer.app.log.iter().rev().take(2).any(|l| l
            .text
            .contains("you are reviewing this release (release-engineer drives (since")),
        "{:?}",
        reviewer.app.log.iter().rev().take(2).collect::<Vec<_>>()
    );

    // Both decide at once: the second to reach the cluster is sent back to the rules with
    // the first's entry folded in, and lands after it.
    driver.tick("automated-tests");
    reviewer.approve_entering("engineer", None);
    let both = |c: &Cockpit| {
        ticked(c, "automated-tests") && c.release().approvals.values().any(|a| a.name == "reviewer")
    };
    until(
        &mut driver,
        "the tick and the approval on the driver's screen",
        both,
    )
    .await;
    until(
        &mut reviewer,
        "the tick and the approval on the reviewer's screen",
        both,
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

    // Who is on the release, from the presence leases, on both screens.
    for c in [&mut driver, &mut reviewer] {
        until(c, "both participants present", |c| {
            let names: Vec<&str> = c.app.present.iter().map(|p| p.name.as_str()).collect();
            names == ["release-engineer", "reviewer"]
        })
        .await;
    }
    assert_eq!(reviewer.app.role, Role::Reviewer);
    assert_eq!(driver.app.role, Role::Driver);
    assert_eq!(
        reviewer.app.driver.as_ref().map(|d| d.name.as_str()),
        Some("release-engineer")
    );

    // The mirror in each state dir holds the same journal, entry for entry.
    let path = driver.dir.path().join("releases/1.2.3.jsonl");
    let (mine, _) = journal::read(&path, "1.2.3").unwrap();
    let (theirs, _) =
        journal::read(&reviewer.dir.path().join("releases/1.2.3.jsonl"), "1.2.3").unwrap();
    assert_eq!(mine.hashes, theirs.hashes);
    assert_eq!(mine.entries.len(), 4, "creation, two ticks, one approval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observers_attempt_is_refused_with_the_reason_and_writes_nothing() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let mut driver = cockpit_of(&running, "release-engineer").await;
    driver.tick("code-freeze");
    let mut observer = cockpit_of(&running, "observer").await;
    assert!(
        ticked(&observer, "code-freeze"),
        "the observer sees the release"
    );
    assert_eq!(
        observer.app.role,
        Role::Observer,
        "the cluster lets it write nothing"
    );
    let before = observer.rt.journal_head();
    observer.tick("automated-tests");
    assert!(!ticked(&observer, "automated-tests"));
    let said = last_lines(&observer);
    assert!(
        said.iter()
            .any(|t| t.contains("refused: you are observing this release (release-engineer drives")),
        "{said:?}"
    );
    assert_eq!(observer.rt.journal_head(), before, "nothing was written");

    // Had it been let through, the cluster itself would have refused it.
    let mut forced = opened(&running, "observer");
    forced.tick("automated-tests");
    let said = last_lines(&forced);
    assert!(
        said.iter()
            .any(|t| t.contains("NOT SAVED") && t.contains("forbidden")),
        "{said:?}"
    );
    assert_eq!(forced.rt.journal_head(), before, "nothing was written");
}

fn last_lines(c: &Cockpit) -> Vec<String> {
    c.app
        .log
        .iter()
        .rev()
        .take(3)
        .map(|l| l.text.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_who_leaves_frees_the_lease_and_observe_never_claims_it() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let mut first = cockpit_of(&running, "release-engineer").await;
    assert_eq!(first.app.role, Role::Driver);
    let watcher = joined(&running, "on-call", true).await;
    assert_eq!(
        watcher.app.role,
        Role::Observer,
        "--observe does not claim the lease"
    );
    first.rt.leave().await;
    drop(first);
    let next = cockpit_of(&running, "on-call").await;
    assert_eq!(
        next.app.role,
        Role::Driver,
        "the lease the driver gave up is free at once"
    );
    assert!(
        next.app
            .log
            .iter()
            .any(|l| l.text.contains("you drive this release")),
        "{:?}",
        next.app.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_entry_makes_every_cockpit_read_only_until_the_driver_restores_it() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Patch, PatchParams};

    let running = crate::common::cluster::sandbox(1.0).await;
    let mut driver = cockpit_of(&running, "release-engineer").await;
    let mut reviewer = cockpit_of(&running, "reviewer").await;
    driver.tick("code-freeze");
    driver.tick("automated-tests");
    until(&mut reviewer, "the driver's ticks", |c| {
        ticked(c, "automated-tests")
    })
    .await;

    // Someone with write access to ConfigMaps rewrites entry 2 (whose tick it was).
    let kube = client::for_url(
        &running.url(),
        "production",
        Some(running.sandbox.release_engineer_token()),
    )
    .unwrap();
    let api = Api::<ConfigMap>::namespaced(kube, "production");
    let name = release_cockpit::cluster::journal::segments::segment_name("1.2.3", 1);
    let cm = api.get(&name).await.unwrap();
    let line = cm.data.as_ref().unwrap()["00000002"].replace("release-engineer", "mallory");
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"00000002": line}})),
    )
    .await
    .unwrap();

    for (who, c) in [("driver", &mut driver), ("reviewer", &mut reviewer)] {
        until(c, &format!("the {who}'s cockpit sees the break"), |c| {
            c.app.journal_broken.is_some()
        })
        .await;
        let why = c.app.journal_broken.clone().unwrap();
        assert!(
            why.contains("entry 2") || why.contains("entry 3"),
            "{who}: {why}"
        );
    }
    let before = driver.rt.journal_head();
    driver.tick("changelog");
    assert!(!ticked(&driver, "changelog"));
    let said = last_lines(&driver);
    assert!(
        said.iter()
            .any(|t| t.contains("refused: the shared journal no longer checks out")),
        "{said:?}"
    );
    assert_eq!(driver.rt.journal_head(), before, "nothing more was written");

    // The driver decides; the reviewer may not.
    reviewer.char('J');
    assert!(
        last_lines(&reviewer)
            .iter()
            .any(|t| t.contains("refused: the driver decides what becomes of a broken journal")),
        "{:?}",
        last_lines(&reviewer)
    );
    driver.char('J');
    assert!(
        matches!(
            &driver.app.modal,
            Some(release_cockpit::app::Modal::Confirm(_))
        ),
        "J asks first: {:?}",
        driver.app.modal
    );
    driver.char('y');
    assert!(
        last_lines(&driver)
            .iter()
            .any(|t| t.contains("entries are back as this cockpit read them")),
        "{:?}",
        last_lines(&driver)
    );
    for (who, c) in [("driver", &mut driver), ("reviewer", &mut reviewer)] {
        until(
            c,
            &format!("the {who}'s cockpit sees the journal restored"),
            |c| c.app.journal_broken.is_none(),
        )
        .await;
    }
    driver.tick("changelog");
    assert!(
        ticked(&driver, "changelog"),
        "{:?} {:?}",
        last_lines(&driver),
        driver.app.modal
    );
    until(&mut reviewer, "recording resumes", |c| {
        ticked(c, "changelog")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_holding_what_the_cluster_does_not_is_set_aside_never_uploaded() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let mut driver = cockpit_of(&running, "release-engineer").await;
    driver.tick("code-freeze");
    // The reviewer's state dir holds a journal of 1.2.3 of its own (made offline).
    let dir = tempfile::tempdir().unwrap();
    let store = release_cockpit::release::store::StateDir::new(dir.path());
    let v = release_cockpit::release::store::parse_version("1.2.3").unwrap();
    let mut local = store
        .open_or_create(
            &shared_config(),
            &v,
            "regular",
            &"reviewer".into(),
            chrono::Utc::now(),
        )
        .unwrap();
    for item in ["changelog", "merge-prs", "release-branch"] {
        local
            .journal
            .append(
                &"reviewer".into(),
                chrono::Utc::now(),
                release_cockpit::release::event::Event::ItemTicked { item: item.into() },
            )
            .unwrap();
    }
    drop(local);
    let cluster_head = driver.rt.journal_head();

    let reviewer = opened_in(&running, "reviewer", dir);
    assert!(
        reviewer
            .app
            .log
            .iter()
            .any(|l| l.text.contains("the shared journal wins")
                && l.text.contains("set aside")
                && l.text.contains("not uploaded")),
        "{:?}",
        reviewer.app.log
    );
    assert!(
        ticked(&reviewer, "code-freeze"),
        "the cluster's journal is the release"
    );
    assert!(
        !ticked(&reviewer, "changelog"),
        "the local entries are not in it"
    );
    assert_eq!(
        driver.rt.journal_head(),
        cluster_head,
        "nothing was uploaded"
    );
    let aside: Vec<String> = std::fs::read_dir(reviewer.dir.path().join("releases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".set-aside-"))
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "the local journal is kept, under another name"
    );
    let (mirror, _) =
        journal::read(&reviewer.dir.path().join("releases/1.2.3.jsonl"), "1.2.3").unwrap();
    assert_eq!(
        mirror.entries.len(),
        2,
        "the mirror is the cluster's journal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_on_call_takes_over_when_the_drivers_cockpit_stops_renewing() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let mut driver = cockpit_of(&running, "release-engineer").await;
    driver.tick("code-freeze");
    let mut on_call = cockpit_of(&running, "on-call").await;
    assert_eq!(on_call.app.role, Role::Reviewer);
    // The driver's cockpit dies: its lease is no longer renewed (nothing gives it up).
    driver.rt.abandon_leases();
    until(
        &mut on_call,
        "the on-call takes the lapsed lease over",
        |c| c.app.role == Role::Driver,
    )
    .await;
    until(&mut on_call, "the takeover in the journal", |c| {
        !c.release().drivers.is_empty()
    })
    .await;
    assert_eq!(on_call.release().drivers[0].by, "on-call");
    assert!(
        on_call.app.log.iter().any(|l| l.text.contains(
            "on-call took over driving from release-engineer: release-engineer's lease lapsed"
        )),
        "{:?}",
        last_lines(&on_call)
    );
    // The old driver, were it to wake, does not act: its lease is stale.
    let before = on_call.rt.journal_head();
    driver.tick("automated-tests");
    assert!(!ticked(&driver, "automated-tests"));
    assert!(
        last_lines(&driver)
            .iter()
            .any(|t| t.contains("lease as the driver was last renewed")),
        "{:?}",
        last_lines(&driver)
    );
    // And the new driver does.
    on_call.tick("automated-tests");
    assert!(ticked(&on_call, "automated-tests"));
    assert_ne!(on_call.rt.journal_head(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_on_call_follows_a_dead_drivers_deploy_to_its_end_with_no_second_patch() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let url = running.url();
    let mut driver = cockpit_of(&running, "release-engineer").await;
    let mut on_call = cockpit_of(&running, "on-call").await;
    driver.app.env = "staging".into();
    driver.char('s');
    driver.answer("0123abcd");
    driver.tick_phase("week-before");
    let task = driver.release().next_task();
    driver.char('D');
    assert!(
        matches!(
            driver.app.modal,
            Some(release_cockpit::app::Modal::Confirm(_))
        ),
        "D asks first: {:?} {:?}",
        driver.app.modal,
        last_lines(&driver)
    );
    driver.char('y');
    // The PATCH is on its way, then the driver's cockpit dies (kill -9: nothing more it
    // runs is heard, its lease is not renewed).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while crate::common::cluster::patches(&url, "staging")
        .await
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no PATCH within 20 s"
        );
        while let Ok(m) = driver.rx.try_recv() {
            driver.send(m);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    driver.rt.abandon_leases();
    drop(driver);

    until(&mut on_call, "the on-call takes over", |c| {
        c.app.role == Role::Driver
    })
    .await;
    until(&mut on_call, "the deploy followed to its end", |c| {
        c.release()
            .action(task)
            .is_some_and(|a| a.finished.is_some())
    })
    .await;
    assert_eq!(
        crate::common::cluster::patches(&url, "staging").await.len(),
        1,
        "the deploy in flight was followed, not sent again"
    );
}
