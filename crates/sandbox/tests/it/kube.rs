//! kube-rs against the sandbox: watcher and reflector convergence (through a rollout, an
//! in-stream 410 and a server restart), the Lease lock protocol, ConfigMap update conflicts,
//! and injected request failures, all as a real API server would answer them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use cockpit_clock::{Clock, ScaledClock};
use cockpit_sandbox::server::{self, Running};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

const NS: &str = "staging";
const DEPLOY: &str = "deal-scout-api";
const OLD_IMAGE: &str = "deal-scout-api:1.2.2";
const WAIT: Duration = Duration::from_secs(30);

/// A sandbox on a free port with a clock running `speed` times the wall clock.
async fn start_sandbox(speed: f64) -> Running {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), speed));
    server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

fn client_for(running: &Running, default_retry: bool) -> Client {
    let mut config = kube::Config::new(running.url().parse().unwrap());
    config.default_namespace = NS.to_string();
    config.default_retry = default_retry;
    config.auth_info.token = Some(running.sandbox.release_engineer_token().into());
    Client::try_from(config).expect("client")
}

/// A sandbox at `speed` and a kube client for it (default namespace `staging`).
async fn start(speed: f64) -> (Running, Client) {
    let running = start_sandbox(speed).await;
    let client = client_for(&running, true);
    (running, client)
}

async fn admin(running: &Running, action: &str, body: Value) {
    let resp = crate::http_client()
        .post(format!("{}/_sandbox/{action}", running.url()))
        .json(&body)
        .send()
        .await
        .expect("admin request");
    assert_eq!(resp.status(), 200, "admin {action}");
}

/// Polls `check` every 50 ms until it holds, or panics after `WAIT` with `what`.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a driven watcher stream has seen, for the tests to wait on.
#[derive(Default)]
struct Seen {
    inits: usize,
    init_dones: usize,
    errors: Vec<String>,
}

type SeenLog = Arc<Mutex<Seen>>;

fn seen(log: &SeenLog) -> std::sync::MutexGuard<'_, Seen> {
    log.lock().unwrap()
}

/// Runs a reflector over `api` (default backoff) in the background: its store and a log.
fn reflect<K>(api: Api<K>) -> (Store<K>, SeenLog, JoinHandle<()>)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    let log: SeenLog = Arc::default();
    let task_log = log.clone();
    let stream = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    );
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            let mut s = task_log.lock().unwrap();
            match event {
                Ok(watcher::Event::Init) => s.inits += 1,
                Ok(watcher::Event::InitDone) => s.init_dones += 1,
                Ok(_) => {}
                Err(e) => s.errors.push(e.to_string()),
            }
        }
    });
    (reader, log, task)
}

fn image_of(p: &Pod) -> String {
    p.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn pod_images(store: &Store<Pod>) -> Vec<String> {
    let mut images: Vec<String> = store.state().iter().map(|p| image_of(p)).collect();
    images.sort();
    images
}

fn deployment_image(store: &Store<Deployment>) -> Option<String> {
    store
        .state()
        .iter()
        .find(|d| d.name_any() == DEPLOY)
        .and_then(|d| d.spec.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
}

fn image_patch(image: &str) -> Patch<Value> {
    Patch::Strategic(json!({
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "api"}],
            "containers": [{"name": "api", "image": image}],
        }}}
    }))
}

async fn set_image(client: &Client, image: &str) {
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let patched = deploys
        .patch(
            DEPLOY,
            &PatchParams {
                field_manager: Some("kubectl-set".into()),
                ..Default::default()
            },
            &image_patch(image),
        )
        .await
        .expect("patch image");
    let spec = patched.spec.template.spec.unwrap();
    assert_eq!(spec.containers[0].image.as_deref(), Some(image));
}

fn status_of(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(s) => s,
        other => panic!("expected a Status error, got {other:?}"),
    }
}

/// Deployment and Pod reflectors over `staging` hold the seeded state, then follow a
/// strategic-merge image change through the rollout to two pods of the new image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflectors_converge_through_a_rollout() {
    let (running, client) = start(60.0).await;
    let (deploys, deploy_log, deploy_task) =
        reflect(Api::<Deployment>::namespaced(client.clone(), NS));
    let (pods, _pod_log, pod_task) = reflect(Api::<Pod>::namespaced(client.clone(), NS));
    deploys.wait_until_ready().await.unwrap();
    pods.wait_until_ready().await.unwrap();
    eventually("the seeded deployment and pods", || {
        deploys.state().len() == 1 && pod_images(&pods) == [OLD_IMAGE, OLD_IMAGE]
    })
    .await;
    assert_eq!(deployment_image(&deploys).as_deref(), Some(OLD_IMAGE));

    let new_image = "deal-scout-api:1.2.3";
    set_image(&client, new_image).await;
    eventually("the deployment store to see the new image", || {
        deployment_image(&deploys).as_deref() == Some(new_image)
    })
    .await;
    eventually("two pods of the new image", || {
        pod_images(&pods) == [new_image, new_image]
    })
    .await;
    // The Deployment's status follows: the reflector sees the rollout complete.
    eventually(
        "the deployment status to report 2 updated, available replicas",
        || {
            deploys.state().iter().any(|d| {
                let s = d.status.clone().unwrap_or_default();
                s.updated_replicas == Some(2)
                    && s.available_replicas == Some(2)
                    && s.observed_generation == d.metadata.generation
            })
        },
    )
    .await;
    assert!(
        seen(&deploy_log).errors.is_empty(),
        "{:?}",
        seen(&deploy_log).errors
    );
    deploy_task.abort();
    pod_task.abort();
    running.stop().await;
}

/// An in-stream 410 Expired on the re-watch sends the watcher back to a full relist, after
/// which it sees a change made after the fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_relists_after_in_stream_410() {
    let (running, client) = start(60.0).await;
    let (deploys, log, task) = reflect(Api::<Deployment>::namespaced(client.clone(), NS));
    deploys.wait_until_ready().await.unwrap();
    // The watch request is open once its stream subscribes to the drop-watches signal.
    let sb = running.sandbox.clone();
    eventually("the watch stream to open", || {
        sb.drop_watches.receiver_count() >= 1
    })
    .await;
    assert_eq!(seen(&log).inits, 1);

    admin(&running, "faults/expire-next-watch", json!({})).await;
    admin(&running, "faults/drop-watches", json!({})).await;
    eventually("a relist (a second Init and InitDone)", || {
        let s = seen(&log);
        s.inits >= 2 && s.init_dones >= 2
    })
    .await;
    {
        let s = seen(&log);
        assert!(
            s.errors
                .iter()
                .any(|e| e.contains("410") || e.contains("too old")),
            "the watcher reported the 410: {:?}",
            s.errors
        );
    }
    assert_eq!(deploys.state().len(), 1);

    let image = "deal-scout-api:1.2.4";
    set_image(&client, image).await;
    eventually("the change made after the 410", || {
        deployment_image(&deploys).as_deref() == Some(image)
    })
    .await;
    task.abort();
    running.stop().await;
}

/// A watch compacted away (resourceVersion older than the history) is expired in-stream too,
/// and the watcher recovers the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_relists_after_compaction() {
    let (running, client) = start(60.0).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let (store, log, task) = reflect(cms.clone());
    store.wait_until_ready().await.unwrap();
    let sb = running.sandbox.clone();
    eventually("the watch stream to open", || {
        sb.drop_watches.receiver_count() >= 1
    })
    .await;
    // Writes the watcher does not see (other namespace), then history is forgotten.
    let other: Api<ConfigMap> = Api::namespaced(client.clone(), "production");
    for i in 0..3 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("noise-{i}")}})).unwrap();
        other.create(&PostParams::default(), &cm).await.unwrap();
    }
    admin(&running, "compact", json!({})).await;
    admin(&running, "faults/drop-watches", json!({})).await;
    eventually("a relist after the compaction", || {
        seen(&log).init_dones >= 2
    })
    .await;
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "after-compact"}, "data": {"k": "v"}}))
            .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    eventually("the configmap created after the relist", || {
        store
            .state()
            .iter()
            .any(|c| c.name_any() == "after-compact")
    })
    .await;
    task.abort();
    running.stop().await;
}

/// The server goes down for 500 ms and comes back on the same port with its state: the
/// watcher (default backoff) reconnects and sees a change made after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reconnects_after_restart() {
    let (running, client) = start(60.0).await;
    let (deploys, log, task) = reflect(Api::<Deployment>::namespaced(client.clone(), NS));
    deploys.wait_until_ready().await.unwrap();
    let sb = running.sandbox.clone();
    eventually("the watch stream to open", || {
        sb.drop_watches.receiver_count() >= 1
    })
    .await;

    admin(&running, "restart", json!({"down_ms": 500})).await;
    // Wait until the server answers again (state kept: the deployment is still there).
    let api: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let deadline = tokio::time::Instant::now() + WAIT;
    tokio::time::sleep(Duration::from_millis(100)).await;
    loop {
        match api.get(DEPLOY).await {
            Ok(d) => {
                assert_eq!(d.name_any(), DEPLOY);
                break;
            }
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "server did not come back: {e}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let image = "deal-scout-api:1.2.5";
    set_image(&client, image).await;
    eventually("the change made after the restart", || {
        deployment_image(&deploys).as_deref() == Some(image)
    })
    .await;
    // It resumed from its resourceVersion: history was kept, so no relist was needed.
    assert_eq!(seen(&log).inits, 1, "errors: {:?}", seen(&log).errors);
    task.abort();
    running.stop().await;
}

fn lease(name: &str, holder: &str, rv: Option<&str>) -> Lease {
    let mut v = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 30,
            "acquireTime": "2026-11-26T11:00:00.000000Z",
            "renewTime": "2026-11-26T11:00:00.000000Z",
            "leaseTransitions": 0,
        },
    });
    if let Some(rv) = rv {
        v["metadata"]["resourceVersion"] = json!(rv);
    }
    serde_json::from_value(v).unwrap()
}

async fn request_log(running: &Running) -> Vec<Value> {
    crate::http_client()
        .get(format!("{}/_sandbox/requests", running.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// client-go LeaseLock semantics: create (409 AlreadyExists on a second create), renew by
/// replace with the current resourceVersion, 409 Conflict on a stale one, 422 on an empty
/// one, and create-on-update for a missing Lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_acquire_renew_and_conflict() {
    let (running, client) = start(1.0).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    let pp = PostParams::default();

    let created = leases
        .create(&pp, &lease("release-lock", "alice", None))
        .await
        .expect("acquire by create");
    let rv1 = created.resource_version().expect("rv");
    assert!(!rv1.is_empty());
    assert_eq!(
        created.spec.as_ref().unwrap().holder_identity.as_deref(),
        Some("alice")
    );

    let lost = status_of(
        leases
            .create(&pp, &lease("release-lock", "bob", None))
            .await
            .unwrap_err(),
    );
    assert_eq!(lost.code, 409);
    assert_eq!(lost.reason, "AlreadyExists");
    assert_eq!(
        lost.message,
        r#"leases.coordination.k8s.io "release-lock" already exists"#
    );

    // Renew with the observed resourceVersion.
    let mut renew = lease("release-lock", "alice", Some(&rv1));
    renew.spec.as_mut().unwrap().renew_time =
        serde_json::from_value(json!("2026-11-26T11:00:10.000000Z")).unwrap();
    let renewed = leases
        .replace("release-lock", &pp, &renew)
        .await
        .expect("renew");
    let rv2 = renewed.resource_version().unwrap();
    assert_ne!(rv1, rv2, "a renewal is a new resourceVersion");
    assert_eq!(
        renewed.spec.as_ref().unwrap().renew_time,
        renew.spec.unwrap().renew_time
    );

    // Someone racing with the old resourceVersion loses.
    let conflict = status_of(
        leases
            .replace(
                "release-lock",
                &pp,
                &lease("release-lock", "bob", Some(&rv1)),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(conflict.code, 409);
    assert_eq!(conflict.reason, "Conflict");
    assert_eq!(
        conflict.message,
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"release-lock\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // Leases never update unconditionally: an empty (or missing) resourceVersion is 422.
    for rv in [Some(""), None] {
        let invalid = status_of(
            leases
                .replace("release-lock", &pp, &lease("release-lock", "bob", rv))
                .await
                .unwrap_err(),
        );
        assert_eq!(invalid.code, 422, "rv {rv:?}");
        assert_eq!(invalid.reason, "Invalid");
        assert!(
            invalid.message.contains(
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
            ),
            "{}",
            invalid.message
        );
    }
    // Nothing of that changed the holder.
    let current = leases.get("release-lock").await.unwrap();
    assert_eq!(current.resource_version().as_deref(), Some(rv2.as_str()));
    assert_eq!(
        current.spec.unwrap().holder_identity.as_deref(),
        Some("alice")
    );

    // Release (empty holder) with the current resourceVersion, then take over.
    let mut release = lease("release-lock", "", Some(&rv2));
    release.spec.as_mut().unwrap().holder_identity = None;
    let released = leases.replace("release-lock", &pp, &release).await.unwrap();
    assert_eq!(released.spec.as_ref().unwrap().holder_identity, None);
    let taken = leases
        .replace(
            "release-lock",
            &pp,
            &lease(
                "release-lock",
                "bob",
                released.resource_version().as_deref(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(taken.spec.unwrap().holder_identity.as_deref(), Some("bob"));

    // PUT of a missing Lease creates it (AllowCreateOnUpdate).
    let made = leases
        .replace("other-lock", &pp, &lease("other-lock", "carol", None))
        .await
        .expect("create on update");
    assert_eq!(made.name_any(), "other-lock");
    assert!(made.metadata.uid.is_some());
    assert!(leases.get("other-lock").await.is_ok());
    let log = request_log(&running).await;
    let put = log
        .iter()
        .rfind(|r| {
            r["method"] == "PUT" && r["path"].as_str().unwrap().ends_with("/leases/other-lock")
        })
        .expect("the PUT is logged");
    assert_eq!(put["status"], 201);
    running.stop().await;
}

/// Two operators read the same ConfigMap; the first replace wins, the second (stale
/// resourceVersion) gets 409 Conflict and succeeds after re-reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_update_conflict() {
    let (running, client_a) = start(1.0).await;
    let client_b = client_for(&running, true);
    let a: Api<ConfigMap> = Api::default_namespaced(client_a);
    let b: Api<ConfigMap> = Api::default_namespaced(client_b);
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "release-state"},
        "data": {"step": "1"},
    }))
    .unwrap();
    a.create(&PostParams::default(), &cm).await.unwrap();

    let mut seen_a = a.get("release-state").await.unwrap();
    let mut seen_b = b.get("release-state").await.unwrap();
    assert_eq!(seen_a.resource_version(), seen_b.resource_version());

    seen_a
        .data
        .as_mut()
        .unwrap()
        .insert("step".into(), "2".into());
    let written = a
        .replace("release-state", &PostParams::default(), &seen_a)
        .await
        .expect("first writer wins");
    assert_ne!(written.resource_version(), seen_a.resource_version());

    seen_b
        .data
        .as_mut()
        .unwrap()
        .insert("step".into(), "3".into());
    let err = status_of(
        b.replace("release-state", &PostParams::default(), &seen_b)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);
    assert_eq!(err.reason, "Conflict");
    assert!(err.is_conflict());
    assert_eq!(
        err.message,
        "Operation cannot be fulfilled on configmaps \"release-state\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // The loser's write did not land.
    let now = a.get("release-state").await.unwrap();
    assert_eq!(now.data.as_ref().unwrap()["step"], "2");

    // Retry on 409: re-read and write again.
    let mut fresh = b.get("release-state").await.unwrap();
    fresh
        .data
        .as_mut()
        .unwrap()
        .insert("step".into(), "3".into());
    let ok = b
        .replace("release-state", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(ok.data.unwrap()["step"], "3");

    // A patch carrying a stale resourceVersion is a precondition failure too.
    let stale = Patch::Merge(json!({
        "metadata": {"resourceVersion": seen_b.resource_version()},
        "data": {"step": "4"},
    }));
    let err = status_of(
        b.patch("release-state", &PatchParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);
    running.stop().await;
}

/// `faults/fail`: the next N requests get the injected status, then all is well again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_request_failures() {
    let (running, client) = start(1.0).await;
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());

    admin(&running, "faults/fail", json!({"count": 2, "status": 500})).await;
    for i in 0..2 {
        let err = status_of(deploys.get(DEPLOY).await.unwrap_err());
        assert_eq!(err.code, 500, "call {i}");
        assert_eq!(err.reason, "InternalError");
    }
    assert_eq!(deploys.get(DEPLOY).await.unwrap().name_any(), DEPLOY);

    // 429 straight through when the client does not retry.
    let no_retry: Api<Deployment> = Api::default_namespaced(client_for(&running, false));
    admin(&running, "faults/fail", json!({"count": 1, "status": 429})).await;
    let err = status_of(no_retry.get(DEPLOY).await.unwrap_err());
    assert_eq!(err.code, 429);
    assert_eq!(err.reason, "TooManyRequests");
    assert!(no_retry.get(DEPLOY).await.is_ok());

    // kube's default client retries a 429 (honouring Retry-After) and succeeds.
    admin(&running, "faults/fail", json!({"count": 1, "status": 429})).await;
    let started = std::time::Instant::now();
    assert_eq!(deploys.get(DEPLOY).await.unwrap().name_any(), DEPLOY);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited Retry-After"
    );

    // A 500 on a write is not retried and writes nothing.
    admin(&running, "faults/fail", json!({"count": 1, "status": 500})).await;
    let err = status_of(
        deploys
            .patch(DEPLOY, &PatchParams::default(), &image_patch("x:1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 500);
    let d = deploys.get(DEPLOY).await.unwrap();
    assert_eq!(
        d.spec.template.spec.unwrap().containers[0].image.as_deref(),
        Some(OLD_IMAGE)
    );

    admin(&running, "faults/fail", json!({"count": 5, "status": 500})).await;
    admin(&running, "faults/clear", json!({})).await;
    assert!(deploys.get(DEPLOY).await.is_ok());
    running.stop().await;
}
