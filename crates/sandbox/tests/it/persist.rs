//! The sandbox's state on disk: what a stop and a start from the snapshot keep (objects,
//! resourceVersions, uids, a rollout under way, the request log, simulated time), that a
//! write is on disk before it is answered, that a torn temp file never replaces a good
//! snapshot, and that numbers handed out after the last snapshot are never handed out again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use cockpit_clock::{Clock, ManualClock, ScaledClock};
use cockpit_sandbox::persist::{self, Snapshot};
use cockpit_sandbox::resources::lookup;
use cockpit_sandbox::server::{self, Running};
use cockpit_sandbox::store::{WriteTo, rv_of};
use cockpit_sandbox::{Sandbox, seed};
use serde_json::{Value, json};

const SPEED: f64 = 60.0;
const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/staging/deployments/deal-scout-api";
const CONFIGMAPS: &str = "/api/v1/namespaces/staging/configmaps";

async fn start_in(dir: &Path, speed: f64) -> (Running, Arc<dyn Clock>) {
    let saved = persist::load(dir).expect("the snapshot reads");
    let clock: Arc<dyn Clock> = match &saved {
        Some(s) => Arc::new(s.resumed_clock(speed)),
        None => Arc::new(ScaledClock::new(Utc::now(), speed)),
    };
    let sb = persist::restore_or_seed(clock.clone(), saved);
    let running = server::start_persisted(sb, "127.0.0.1:0".parse().unwrap(), dir)
        .await
        .expect("the sandbox starts");
    (running, clock)
}

fn client(running: &Running) -> reqwest::Client {
    crate::http_client_builder_as(running.sandbox.release_engineer_token())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn get(http: &reqwest::Client, running: &Running, path: &str) -> Value {
    let resp = http
        .get(format!("{}{path}", running.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.unwrap()
}

async fn create_configmap(http: &reqwest::Client, running: &Running, name: &str) -> Value {
    let resp = http
        .post(format!("{}{CONFIGMAPS}", running.url()))
        .json(&json!({"metadata": {"name": name}, "data": {"00000001": "{\"seq\":1}"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    resp.json().await.unwrap()
}

async fn set_image(http: &reqwest::Client, running: &Running, image: &str) -> Value {
    let body =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "api", "image": image}]}}}});
    let resp = http
        .patch(format!("{}{DEPLOYMENT}", running.url()))
        .header("content-type", "application/strategic-merge-patch+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    resp.json().await.unwrap()
}

fn rv(obj: &Value) -> u64 {
    rv_of(obj)
}

/// The first line of a watch from `from`.
async fn first_watch_event(http: &reqwest::Client, running: &Running, from: u64) -> Value {
    let mut resp = http
        .get(format!(
            "{}/api/v1/namespaces/staging/configmaps?watch=true&resourceVersion={from}",
            running.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut buf = Vec::new();
    while !buf.contains(&b'\n') {
        let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk())
            .await
            .expect("a watch event within 5 s")
            .unwrap()
            .expect("the stream is open");
        buf.extend_from_slice(&chunk);
    }
    let line = buf.split(|b| *b == b'\n').next().unwrap();
    serde_json::from_slice(line).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_resource_versions_and_the_clock_survive_a_stop_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (running, clock) = start_in(dir.path(), SPEED).await;
    let http = client(&running);
    let journal = create_configmap(&http, &running, "journal-0001").await;
    let patched = set_image(&http, &running, "deal-scout-api:1.2.3").await;
    // Long enough, at this speed, for the controllers to begin the rollout.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = get(&http, &running, DEPLOYMENT).await;
    let old_rv = running.sandbox.store().resource_version();
    let reached = clock.now();
    running.stop().await;

    let saved = persist::load(dir.path())
        .unwrap()
        .expect("a snapshot on disk");
    assert!(
        saved.simulated_time() >= reached,
        "the last save, at stop, holds the time reached: {} < {reached}",
        saved.simulated_time()
    );
    assert!(saved.resource_version() >= old_rv);

    let (running, clock) = start_in(dir.path(), SPEED).await;
    assert!(
        clock.now() >= reached,
        "simulated time never goes back across a restart"
    );
    let http = client(&running);
    let cm = get(&http, &running, &format!("{CONFIGMAPS}/journal-0001")).await;
    assert_eq!(cm["data"], journal["data"]);
    assert_eq!(cm["metadata"]["uid"], journal["metadata"]["uid"]);
    assert_eq!(
        rv(&cm),
        rv(&journal),
        "an unchanged object keeps its resourceVersion"
    );
    let after = get(&http, &running, DEPLOYMENT).await;
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["image"],
        "deal-scout-api:1.2.3"
    );
    assert_eq!(
        after["metadata"]["generation"], patched["metadata"]["generation"],
        "the restart changed no spec"
    );
    assert!(rv(&after) >= rv(&before));

    // A watch from before the restart is too old: it gets the in-stream 410 and relists.
    let event = first_watch_event(&http, &running, rv(&journal)).await;
    assert_eq!(event["type"], "ERROR", "{event}");
    assert_eq!(event["object"]["code"], 410, "{event}");

    let newer = create_configmap(&http, &running, "journal-0002").await;
    assert!(rv(&newer) > old_rv, "{} <= {old_rv}", rv(&newer));
    assert_ne!(newer["metadata"]["uid"], journal["metadata"]["uid"]);

    // The rollout that was under way goes on to its end.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let d = get(&http, &running, DEPLOYMENT).await;
        let s = &d["status"];
        if s["updatedReplicas"] == 2 && s["availableReplicas"] == 2 && s["replicas"] == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rollout did not finish after the restart: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The request log is part of the state: the PATCH before the restart is still in it.
    let patches = running
        .sandbox
        .request_log()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path == DEPLOYMENT)
        .count();
    assert_eq!(patches, 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_is_on_disk_before_it_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (running, _) = start_in(dir.path(), SPEED).await;
    let http = client(&running);
    for i in 0..5 {
        let name = format!("journal-{i:04}");
        let created = create_configmap(&http, &running, &name).await;
        // As a kill right after the answer would leave it: only what is in the file.
        let on_disk = persist::load(dir.path()).unwrap().expect("a snapshot");
        let restored = persist::restore(
            Arc::new(ManualClock::new(on_disk.simulated_time())),
            on_disk,
        );
        let store = restored.store();
        let kept = store
            .get("configmaps", "staging", &name)
            .unwrap_or_else(|| panic!("{name} was answered 201 but is not on disk"));
        assert_eq!(kept["metadata"]["uid"], created["metadata"]["uid"]);
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_flight_at_stop_is_saved_and_answered_without_holding_the_stop_up() {
    let dir = tempfile::tempdir().unwrap();
    let (running, _) = start_in(dir.path(), SPEED).await;
    let http = client(&running);
    let slow = http
        .post(format!("{}/_sandbox/faults/latency", running.url()))
        .json(&json!({"ms": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    let url = format!("{}{CONFIGMAPS}", running.url());
    let write = tokio::spawn(async move {
        http.post(url)
            .json(&json!({"metadata": {"name": "in-flight"}}))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = std::time::Instant::now();
    running.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "the stop waited {:?} on a write that waited on a save",
        stopping.elapsed()
    );
    assert_eq!(write.await.unwrap().unwrap(), 201);
    let saved = reload(dir.path());
    let restored = persist::restore(Arc::new(ManualClock::new(saved.simulated_time())), saved);
    assert!(
        restored
            .store()
            .get("configmaps", "staging", "in-flight")
            .is_some()
    );
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn seeded(clock: &ManualClock) -> Arc<Sandbox> {
    let sb = Sandbox::new(Arc::new(clock.clone()));
    seed::populate(&mut sb.store(), clock.now());
    sb
}

fn reload(dir: &Path) -> Snapshot {
    persist::load(dir).unwrap().expect("a snapshot")
}

#[test]
fn a_torn_temp_file_never_replaces_the_good_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let sb = seeded(&clock);
    let good = persist::save(&sb, dir.path()).unwrap();
    let full = std::fs::read(persist::state_file(dir.path())).unwrap();

    // A kill half-way through the next save leaves the temp file torn, the snapshot whole.
    clock.advance(chrono::Duration::minutes(5));
    let cm = lookup("", "v1", "configmaps").unwrap();
    sb.store()
        .create(
            cm,
            "staging",
            json!({"metadata": {"name": "after"}}),
            clock.now(),
        )
        .unwrap();
    std::fs::write(dir.path().join(persist::TEMP_FILE), &full[..full.len() / 2]).unwrap();
    let read = reload(dir.path());
    assert_eq!(read.resource_version(), good.resource_version);
    assert_eq!(read.simulated_time(), t0());
    assert_eq!(
        std::fs::read(persist::state_file(dir.path())).unwrap(),
        full
    );

    // The next save writes over the torn temp file and replaces the snapshot whole.
    let next = persist::save(&sb, dir.path()).unwrap();
    assert!(!dir.path().join(persist::TEMP_FILE).exists());
    let read = reload(dir.path());
    assert_eq!(read.resource_version(), next.resource_version);
    assert!(next.resource_version > good.resource_version);
    assert_eq!(read.simulated_time(), clock.now());

    // A damaged snapshot (not ours to have torn) is an error naming it, never a new cluster.
    std::fs::write(persist::state_file(dir.path()), &full[..full.len() / 2]).unwrap();
    let err = persist::load(dir.path())
        .err()
        .expect("a torn snapshot is refused");
    assert!(
        err.to_string().contains(persist::STATE_FILE),
        "the error names the file: {err}"
    );
}

#[test]
fn numbers_handed_out_after_the_last_snapshot_are_never_handed_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let sb = seeded(&clock);
    persist::save(&sb, dir.path()).unwrap();
    // Written after the snapshot, then lost with the process (a kill before the next save).
    let cm = lookup("", "v1", "configmaps").unwrap();
    let mut lost = Vec::new();
    for i in 0..50 {
        let obj = json!({"metadata": {"name": format!("lost-{i}")}});
        lost.push(sb.store().create(cm, "staging", obj, clock.now()).unwrap());
    }
    let every_old_rv = sb.store().resource_version();

    let saved = reload(dir.path());
    assert!(saved.resource_version() < every_old_rv);
    let restored = persist::restore(Arc::new(ManualClock::new(saved.simulated_time())), saved);
    assert!(
        restored
            .store()
            .get("configmaps", "staging", "lost-0")
            .is_none(),
        "what was never saved is gone"
    );
    let obj = json!({"metadata": {"name": "lost-0"}});
    let new = restored
        .store()
        .create(cm, "staging", obj, clock.now())
        .unwrap();
    assert!(
        rv_of(&new) > every_old_rv,
        "a resourceVersion after the restart ({}) must be above every one before it ({every_old_rv})",
        rv_of(&new)
    );
    assert!(
        lost.iter()
            .all(|o| o["metadata"]["uid"] != new["metadata"]["uid"]),
        "a uid handed out before the restart was handed out again"
    );
    let store = restored.store();
    assert_eq!(
        store.compacted_to(),
        store.resource_version() - 1,
        "the history starts at the restart"
    );
}

#[test]
fn a_rollout_under_way_goes_on_from_the_saved_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let sb = seeded(&clock);
    let deploy = lookup("apps", "v1", "deployments").unwrap();
    let mut d = sb
        .store()
        .get("deployments", "production", seed::DEPLOYMENT)
        .unwrap()
        .clone();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("deal-scout-api:1.2.3");
    sb.store()
        .update(deploy, "production", seed::DEPLOYMENT, d, WriteTo::Main)
        .unwrap();
    clock.advance(chrono::Duration::seconds(1));
    sb.reconcile();
    let mid = sb
        .store()
        .get("deployments", "production", seed::DEPLOYMENT)
        .unwrap()
        .clone();
    assert_ne!(
        mid["status"]["updatedReplicas"], 4,
        "still under way: {}",
        mid["status"]
    );
    let saved_at = clock.now();
    persist::save(&sb, dir.path()).unwrap();

    let saved = reload(dir.path());
    assert_eq!(saved.simulated_time(), saved_at);
    let resumed = ManualClock::new(saved.simulated_time());
    let restored = persist::restore(Arc::new(resumed.clone()), saved);
    for _ in 0..120 {
        resumed.advance(chrono::Duration::seconds(1));
        restored.reconcile();
    }
    let done = restored
        .store()
        .get("deployments", "production", seed::DEPLOYMENT)
        .unwrap()
        .clone();
    let s = &done["status"];
    assert_eq!(s["updatedReplicas"], 4, "{s}");
    assert_eq!(s["availableReplicas"], 4, "{s}");
    assert_eq!(
        done["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        mid["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "the same rollout, not a new revision"
    );
    let replicasets = restored
        .store()
        .list("replicasets", Some("production"))
        .len();
    assert_eq!(replicasets, 3, "1.2.1, 1.2.2 and 1.2.3, none made twice");
}
