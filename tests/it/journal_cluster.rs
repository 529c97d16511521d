//! The journal in the cluster, against the sandbox: the store conformance suite, writers
//! racing across segment rollovers, a follower through a dropped watch, an in-stream 410
//! and an API server restart, and an entry edited with the real kubectl.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cockpit_sandbox::server::Running;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::ListParams;
use release_cockpit::cluster::client;
use release_cockpit::cluster::journal::ClusterJournal;
use release_cockpit::cluster::journal::segments::{self, Capacity};
use release_cockpit::release::event::Event;
use release_cockpit::release::identity::Author;
use release_cockpit::release::journal::conformance::{self, StoreUnderTest};
use release_cockpit::release::journal::{AppendError, Followed, JournalError, JournalStore};
use serde_json::json;
use tokio::sync::mpsc;

const NS: &str = "production";

/// Stores on one release in one sandbox: the first as the release engineer, each second
/// writer as the next of the other sandbox users, since the cluster checks that each entry
/// is its author's.
struct InCluster<'a> {
    running: &'a Running,
    release: String,
    capacity: Capacity,
    seconds: usize,
}

/// The sandbox users the suite's names stand for, in the order second writers get them.
const USERS: [&str; 3] = ["release-engineer", "reviewer", "on-call"];

impl<'a> InCluster<'a> {
    fn new(running: &'a Running, release: &str, capacity: Capacity) -> Self {
        InCluster {
            running,
            release: release.into(),
            capacity,
            seconds: 0,
        }
    }

    fn config_as(&self, user: &str) -> kube::Config {
        client::config_for_url(
            &self.running.url(),
            NS,
            Some(self.running.sandbox.token_of(user).unwrap()),
        )
        .unwrap()
    }

    fn connect_as(&self, user: &str) -> Result<ClusterJournal, JournalError> {
        ClusterJournal::connect(self.config_as(user), NS, &self.release, self.capacity)
            .map(|(j, _)| j)
    }

    fn connect(&self) -> Result<ClusterJournal, JournalError> {
        self.connect_as(USERS[0])
    }
}

impl StoreUnderTest for InCluster<'_> {
    type Store = ClusterJournal;

    fn create(&mut self, by: &Author, at: DateTime<Utc>, first: Event) -> ClusterJournal {
        let mut journal = self.connect().expect("connect to the sandbox");
        assert_eq!(journal.next_seq(), 1, "a new release has no entries yet");
        journal.append(1, by, at, first).expect("the first entry");
        journal
    }

    fn reopen(&mut self) -> ClusterJournal {
        self.connect().expect("reconnect")
    }

    fn second_writer(&mut self) -> Result<ClusterJournal, JournalError> {
        self.seconds += 1;
        self.connect_as(USERS[self.seconds % USERS.len()])
    }

    fn shared(&self) -> bool {
        true
    }

    fn release(&self) -> String {
        self.release.clone()
    }

    fn author(&self, who: &str) -> Author {
        let user = match who {
            "alice" | "w0" => USERS[0],
            "bob" | "w1" => USERS[1],
            _ => USERS[2],
        };
        Author {
            name: user.into(),
            verified_by: Some("production".into()),
        }
    }
}

async fn segments_of(running: &Running, release: &str) -> Vec<ConfigMap> {
    let kube = client::for_url(
        &running.url(),
        NS,
        Some(running.sandbox.release_engineer_token()),
    )
    .unwrap();
    let mut items = Api::<ConfigMap>::namespaced(kube, NS)
        .list(&ListParams::default().labels(&segments::selector(release)))
        .await
        .unwrap()
        .items;
    items.sort_by_key(|cm| cm.metadata.name.clone());
    items
}

fn tick(item: &str) -> Event {
    Event::ItemTicked { item: item.into() }
}

/// Waits for the next thing the follower is told.
async fn next(rx: &mut mpsc::UnboundedReceiver<Followed>, what: &str) -> Followed {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing arrived within 20 s"))
        .expect("the follow stream is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_journal_passes_the_store_conformance_suite() {
    let running = crate::common::cluster::sandbox(1.0).await;
    conformance::run(InCluster::new(&running, "1.2.3", Capacity::default())).await;
    // What `kubectl get configmaps -l release-cockpit/journal=1.2.3` lists.
    let segments = segments_of(&running, "1.2.3").await;
    assert_eq!(segments.len(), 1);
    assert_eq!(
        segments[0].metadata.name.as_deref(),
        Some("release-cockpit-journal-1.2.3-0001")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_racing_across_segment_rollovers_lose_nothing_and_repeat_nothing() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let capacity = Capacity {
        entries: 16,
        bytes: 256 * 1024,
    };
    let mut under_test = InCluster::new(&running, "2.0.0", capacity);
    let total = tokio::task::block_in_place(|| {
        conformance::run_contention(&mut under_test, 3, Duration::from_secs(3))
    });
    let segments = segments_of(&running, "2.0.0").await;
    assert!(
        segments.len() >= 3,
        "{total} entries in segments of 16 roll over at least twice; got {} segments",
        segments.len()
    );
    let (last, full) = segments.split_last().unwrap();
    for s in full {
        assert_eq!(s.data.as_ref().map(|d| d.len()), Some(16), "a full segment");
        assert_eq!(
            s.immutable,
            Some(true),
            "a full segment is made immutable: {:?}",
            s.metadata.name
        );
    }
    assert_ne!(
        last.immutable,
        Some(true),
        "the last segment is still written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_converges_through_a_dropped_watch_a_410_and_a_server_restart() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let under_test = InCluster::new(
        &running,
        "3.0.0",
        Capacity {
            entries: 8,
            bytes: 256 * 1024,
        },
    );
    let mut writer = under_test.connect().unwrap();
    let by = Author::claimed("release-engineer");
    writer.append(1, &by, Utc::now(), tick("start")).unwrap();
    let follower = under_test.connect().unwrap();
    let mut followed = follower.follow();
    let admin = |action: &'static str, body: serde_json::Value| {
        let url = format!("{}/_sandbox/{action}", running.url());
        async move {
            let resp = release_cockpit::http::client()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{action}");
        }
    };
    let wanted = 40u64;
    let mut appended = 1;
    let writes = |writer: &mut ClusterJournal, n: u64, appended: &mut u64| {
        tokio::task::block_in_place(|| {
            let target = *appended + n;
            let deadline = Instant::now() + Duration::from_secs(30);
            while *appended < target {
                assert!(Instant::now() < deadline, "the writer got nowhere in 30 s");
                let seq = writer.next_seq();
                match writer.append(seq, &by, Utc::now(), tick(&format!("item-{seq}"))) {
                    Ok(_) => *appended += 1,
                    // The server is down for a moment: the cockpit would say so; try again.
                    Err(AppendError::Journal(_)) => std::thread::sleep(Duration::from_millis(50)),
                    Err(e) => panic!("{e}"),
                }
            }
        });
    };
    writes(&mut writer, 10, &mut appended);
    admin("faults/drop-watches", json!({})).await;
    writes(&mut writer, 10, &mut appended);
    admin("faults/expire-next-watch", json!({})).await;
    admin("faults/drop-watches", json!({})).await;
    writes(&mut writer, 10, &mut appended);
    admin("restart", json!({"down_ms": 500})).await;
    writes(&mut writer, wanted - 1 - 30, &mut appended);
    let mut seen = Vec::new();
    while seen.len() < wanted as usize - 1 {
        match next(&mut followed, "the writer's entries").await {
            Followed::Appended(e) => seen.push(e.seq),
            other => panic!("the journal is not broken: {other:?}"),
        }
    }
    assert_eq!(
        seen,
        (2..=wanted).collect::<Vec<_>>(),
        "every entry reaches the follower once, in order"
    );
    assert_eq!(follower.next_seq(), wanted + 1);
    assert_eq!(follower.head(), writer.head());
}

fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(kubeconfig.with_extension("cache"))
        .arg("--request-timeout=20s")
        .args(args)
        .output()
        .expect("kubectl is on PATH (the machine image has it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_edited_with_kubectl_breaks_the_journal_for_every_cockpit_naming_it() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    crate::common::cluster::write_kubeconfig(&running, &kubeconfig);
    let under_test = InCluster::new(
        &running,
        "4.0.0",
        Capacity {
            entries: 3,
            bytes: 256 * 1024,
        },
    );
    let mut driver = under_test.connect().unwrap();
    let by = Author::claimed("release-engineer");
    for (seq, item) in [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")] {
        driver.append(seq, &by, Utc::now(), tick(item)).unwrap();
    }
    let reviewer = under_test.connect().unwrap();
    let mut followed = reviewer.follow();
    let mut driver_followed = driver.follow();

    // The full first segment is sealed: the API server itself refuses to change it.
    let sealed = segments::segment_name("4.0.0", 1);
    let out = kubectl(
        &kubeconfig,
        &[
            "patch",
            "configmap",
            &sealed,
            "--type=merge",
            "-p",
            r#"{"data":{"00000002":"{}"}}"#,
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("field is immutable when `immutable` is set"),
        "{stderr}"
    );

    // The open segment is not: an edit of entry 4 there is seen, and named, by both.
    let open = segments::segment_name("4.0.0", 2);
    let line = driver.read_from(4).unwrap()[0].clone();
    let edited = serde_json::to_string(&release_cockpit::release::event::Entry {
        by: "mallory".into(),
        ..line
    })
    .unwrap();
    let patch = json!({"data": {"00000004": edited}}).to_string();
    let out = kubectl(
        &kubeconfig,
        &["patch", "configmap", &open, "--type=merge", "-p", &patch],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (who, rx) in [
        ("reviewer", &mut followed),
        ("driver", &mut driver_followed),
    ] {
        match next(rx, who).await {
            Followed::Broken(why) => assert!(why.contains("entry 4"), "{who}: {why}"),
            other => panic!("{who}: expected the break, got {other:?}"),
        }
    }
    assert!(
        driver.append(6, &by, Utc::now(), tick("f")).is_err(),
        "nothing is appended to a broken journal"
    );
    match under_test.connect() {
        Err(e) => assert!(e.to_string().contains("entry 4"), "{e}"),
        Ok(_) => panic!("an edited journal must not open"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_in_someone_elses_name_is_refused_by_the_cluster_or_caught_on_reading() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    crate::common::cluster::write_kubeconfig(&running, &kubeconfig);
    let under_test = InCluster::new(&running, "5.0.0", Capacity::default());
    let mut driver = under_test.connect().unwrap();
    let me = Author {
        name: "release-engineer".into(),
        verified_by: Some("production".into()),
    };
    driver.append(1, &me, Utc::now(), tick("a")).unwrap();

    // Through the cockpit: its signature in the reviewer's ConfigMap is refused.
    let reviewer = Author {
        name: "reviewer".into(),
        verified_by: Some("production".into()),
    };
    let refused = driver
        .append(2, &reviewer, Utc::now(), tick("forged"))
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("release-cockpit-signatures-reviewer") && refused.contains("forbidden"),
        "{refused}"
    );
    assert_eq!(driver.read_from(1).unwrap().len(), 1, "nothing was written");

    // Around it, with kubectl: a well-chained entry in the reviewer's name, which the
    // reviewer never signed. Every cockpit on the release catches it.
    let watching = under_test.connect_as("reviewer").unwrap();
    let mut followed = watching.follow();
    let forged = release_cockpit::release::event::Entry {
        seq: 2,
        prev: driver.head(),
        at: Utc::now(),
        by: "reviewer".into(),
        verified_by: Some("production".into()),
        event: Event::Approved {
            role: "engineer".into(),
            name: "reviewer".into(),
        },
    };
    let patch = json!({"data": {"00000002": serde_json::to_string(&forged).unwrap()}}).to_string();
    let out = kubectl(
        &kubeconfig,
        &[
            "patch",
            "configmap",
            &segments::segment_name("5.0.0", 1),
            "--type=merge",
            "-p",
            &patch,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match next(&mut followed, "the forgery").await {
        Followed::Broken(why) => assert!(
            why.contains("entry 2 says reviewer wrote it")
                && why.contains("release-cockpit-signatures-reviewer"),
            "{why}"
        ),
        other => panic!("expected the forgery to break the journal, got {other:?}"),
    }
    match under_test.connect() {
        Err(e) => assert!(
            e.to_string().contains("entry 2 says reviewer wrote it"),
            "{e}"
        ),
        Ok(_) => panic!("a forged journal must not open"),
    }
    // Touching the segment again (a label) does not pass for a repair: the forged entry is
    // checked again, and still is not the reviewer's.
    let out = kubectl(
        &kubeconfig,
        &[
            "label",
            "configmap",
            &segments::segment_name("5.0.0", 1),
            "touched=yes",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let quiet = tokio::time::timeout(Duration::from_secs(2), followed.recv()).await;
    assert!(
        !matches!(quiet, Ok(Some(Followed::Repaired))),
        "a journal still holding the forgery is not repaired: {quiet:?}"
    );
    let read = watching.read_from(1);
    assert!(read.is_err(), "and reads nothing from it: {read:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_may_live_in_a_namespace_of_their_own() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let under_test = InCluster::new(&running, "6.0.0", Capacity::default());
    let connect = || {
        ClusterJournal::connect_signed_in(
            under_test.config_as("release-engineer"),
            NS,
            "staging",
            "6.0.0",
            Capacity::default(),
        )
        .unwrap()
        .0
    };
    let mut journal = connect();
    let me = under_test.author("alice");
    journal.append(1, &me, Utc::now(), tick("a")).unwrap();
    let kube = client::for_url(
        &running.url(),
        "staging",
        Some(running.sandbox.release_engineer_token()),
    )
    .unwrap();
    let signatures = Api::<ConfigMap>::namespaced(kube, "staging")
        .get("release-cockpit-signatures-release-engineer")
        .await
        .unwrap();
    assert_eq!(
        signatures.data.unwrap().values().next(),
        journal.head().as_ref(),
        "the entry's hash is in the signatures' own namespace"
    );
    drop(journal);
    assert_eq!(connect().next_seq(), 2, "and read back from there");
    assert!(
        under_test.connect().is_err(),
        "looked for in the journal's namespace, the signature is missing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_releases_log_line_is_kept_beside_the_journal_and_is_not_a_segment() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let under_test = InCluster::new(&running, "8.0.0", Capacity::default());
    let mut journal = under_test.connect().unwrap();
    let me = under_test.author("alice");
    journal.append(1, &me, Utc::now(), tick("a")).unwrap();
    journal
        .keep_audit(r#"{"version":"8.0.0","outcome":"stable"}"#)
        .unwrap();
    journal
        .keep_audit(r#"{"version":"8.0.0","outcome":"rolled_back"}"#)
        .unwrap();
    let kube = client::for_url(
        &running.url(),
        NS,
        Some(running.sandbox.release_engineer_token()),
    )
    .unwrap();
    let audit = Api::<ConfigMap>::namespaced(kube, NS)
        .get(&segments::audit_name("8.0.0"))
        .await
        .unwrap();
    let lines: Vec<String> = audit.data.unwrap().into_values().collect();
    assert_eq!(
        lines,
        [
            r#"{"version":"8.0.0","outcome":"stable"}"#,
            r#"{"version":"8.0.0","outcome":"rolled_back"}"#
        ],
        "each line, in order"
    );
    drop(journal);
    assert_eq!(
        under_test.connect().unwrap().next_seq(),
        2,
        "the journal still reads: the audit ConfigMap is not one of its segments"
    );
}
