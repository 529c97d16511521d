//! The live view against the sandbox, fed exactly as the app feeds it (watch::spawn into a
//! sink that folds into a ClusterView): a rollout followed by watches alone, convergence
//! within 2 s of every kind of API outage, server-side selection, and a crash loop as the
//! pod table and the warnings show it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use cockpit_sandbox::server::{self, Running};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Event as KubeEvent, Pod};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use release_cockpit::cluster::progress::RolloutStatus;
use release_cockpit::cluster::view::{ClusterView, PodRow, REVISION_ANNOTATION};
use release_cockpit::cluster::watch::{self, WatchHandle};
use release_cockpit::cluster::{Change, ClusterMsg, ClusterUpdate, Target, client};
use release_cockpit::release::clock::{Clock, ScaledClock};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DEPLOY: &str = "deal-scout-api";
const WAIT: Duration = Duration::from_secs(30);
/// The acceptance criterion: the view matches the API this soon after the API recovers.
const CONVERGE: Duration = Duration::from_secs(2);

struct Harness {
    running: Running,
    /// The relay the watchers talk through, when the test counts their requests.
    proxy: Option<Proxy>,
    clock: Arc<dyn Clock>,
    /// A client straight at the sandbox, for the test's own writes and ground truth.
    api: Client,
    ns: &'static str,
    view: Arc<Mutex<ClusterView>>,
    log: Arc<Mutex<Vec<ClusterUpdate>>>,
    watchers: WatchHandle,
}

impl Harness {
    /// A sandbox at `speed`, and watchers on `ns`, through a `proxied` relay or straight.
    async fn start(speed: f64, ns: &'static str, proxied: bool) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), speed));
        let running = server::start_seeded(clock.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("sandbox starts");
        let token = running.sandbox.release_engineer_token();
        let api = client::for_url(&running.url(), ns, Some(token)).unwrap();
        let proxy = if proxied {
            Some(Proxy::start(running.addr).await)
        } else {
            None
        };
        let url = proxy
            .as_ref()
            .map_or(running.url(), |p| format!("http://{}", p.addr));
        let target = Target {
            env: ns.into(),
            namespace: ns.into(),
            deployment: DEPLOY.into(),
            container: "api".into(),
            image_repository: DEPLOY.into(),
        };
        let view = Arc::new(Mutex::new(ClusterView::new(target.clone())));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (v, l) = (view.clone(), log.clone());
        let sink = Arc::new(move |u: ClusterUpdate| {
            // A failed assertion poisons the locks; the watchers need not panic too.
            v.lock().unwrap_or_else(|p| p.into_inner()).apply(&u);
            l.lock().unwrap_or_else(|p| p.into_inner()).push(u);
            true
        });
        let watchers = watch::spawn(
            client::for_url(&url, ns, Some(token)).unwrap(),
            target,
            clock.clone(),
            sink,
        );
        Self {
            running,
            proxy,
            clock,
            api,
            ns,
            view,
            log,
            watchers,
        }
    }

    fn view(&self) -> std::sync::MutexGuard<'_, ClusterView> {
        self.view.lock().unwrap()
    }

    fn downs(&self) -> usize {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|u| matches!(u.msg, ClusterMsg::StreamDown { .. }))
            .count()
    }

    async fn admin(&self, action: &str, body: Value) {
        let resp = release_cockpit::http::client()
            .post(format!("{}/_sandbox/{action}", self.running.url()))
            .json(&body)
            .send()
            .await
            .expect("admin request");
        assert_eq!(resp.status(), 200, "admin {action}");
    }

    async fn set_image(&self, image: &str) {
        let patch = Patch::Strategic(json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "api"}],
            "containers": [{"name": "api", "image": image}]}}}}));
        Api::<Deployment>::namespaced(self.api.clone(), self.ns)
            .patch(DEPLOY, &PatchParams::default(), &patch)
            .await
            .expect("set image");
    }

    /// Waits (up to `WAIT`) until `check` holds for the view.
    async fn until(&self, what: &str, check: impl Fn(&ClusterView) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !check(&self.view()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The same projection of the API's current state and of the view.
    async fn truth(&self) -> Result<Snapshot, kube::Error> {
        let lp = ListParams::default().labels(&format!("app={DEPLOY}"));
        let d = Api::<Deployment>::namespaced(self.api.clone(), self.ns)
            .get(DEPLOY)
            .await?;
        let rss = Api::<ReplicaSet>::namespaced(self.api.clone(), self.ns)
            .list(&lp)
            .await?;
        let pods = Api::<Pod>::namespaced(self.api.clone(), self.ns)
            .list(&lp)
            .await?;
        Ok(Snapshot {
            deployment: Some(deployment_summary(&d)),
            replica_sets: rss
                .items
                .iter()
                .map(|rs| {
                    let rev = rs.metadata.annotations.as_ref().unwrap()[REVISION_ANNOTATION]
                        .parse()
                        .unwrap();
                    let replicas = rs.status.as_ref().map_or(0, |s| s.replicas);
                    (rs.metadata.name.clone().unwrap(), rev, replicas)
                })
                .collect(),
            pods: pods
                .items
                .iter()
                .map(|p| pod_summary(&PodRow::of(p, "api")))
                .collect(),
        })
    }

    fn seen(&self) -> Snapshot {
        let v = self.view();
        Snapshot {
            deployment: v.deployment.as_ref().map(deployment_summary),
            replica_sets: v
                .revisions()
                .iter()
                .map(|r| (r.replica_set.clone(), r.revision, r.replicas))
                .collect(),
            pods: v.pods().map(pod_summary).collect(),
        }
    }

    /// How long after `since` the view first matched the API (fails after `WAIT`).
    async fn converged(&self, since: Instant) -> Duration {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(truth) = self.truth().await
                && truth == self.seen()
            {
                let took = since.elapsed();
                eprintln!("converged in {took:?}");
                return took;
            }
            assert!(
                Instant::now() < deadline,
                "the view never matched the API:\n{:?}\n{:?}",
                self.seen(),
                self.truth().await
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The view reports what is stale while the API is down.
    async fn until_stale(&self) {
        self.until("a StreamDown and staleness", |v| {
            v.staleness(self.clock.now()).is_some()
        })
        .await;
        assert!(self.downs() > 0);
    }

    async fn stop(self) {
        assert!(!self.watchers.is_finished(), "the watchers stopped early");
        drop(self.watchers);
        self.running.stop().await;
    }
}

type DeploymentSummary = (Option<i64>, Option<i64>, Vec<Option<i32>>, Option<String>);

#[derive(Debug, PartialEq)]
struct Snapshot {
    deployment: Option<DeploymentSummary>,
    replica_sets: BTreeSet<(String, u64, i32)>,
    pods: BTreeSet<(String, String, u32, String, i32)>,
}

fn deployment_summary(d: &Deployment) -> DeploymentSummary {
    let s = d.status.clone().unwrap_or_default();
    let image = d.spec.template.spec.as_ref().unwrap().containers[0]
        .image
        .clone();
    let counts = vec![
        s.replicas,
        s.updated_replicas,
        s.ready_replicas,
        s.available_replicas,
    ];
    (d.metadata.generation, s.observed_generation, counts, image)
}

fn pod_summary(p: &PodRow) -> (String, String, u32, String, i32) {
    (
        p.name.clone(),
        p.image.clone(),
        p.ready,
        p.status.clone(),
        p.restarts,
    )
}

fn rolled_out_to(image: &str) -> impl Fn(&ClusterView) -> bool + '_ {
    move |v| {
        let Some(current) = v.revisions().first().map(|r| r.revision) else {
            return false;
        };
        matches!(v.progress(), Some(RolloutStatus::Done(_)))
            && v.counts()
                .is_some_and(|c| v.pod_count() == c.desired as usize)
            && v.pods()
                .all(|p| p.image == image && p.revision == Some(current) && p.status == "Running")
    }
}

/// A TCP relay in front of the sandbox that notes every request line the client sends: the
/// sandbox's own request log keeps only writes.
struct Proxy {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut ri, mut wi) = inbound.into_split();
                    let (mut ro, mut wo) = outbound.into_split();
                    let up = async move {
                        let (mut buf, mut head) = (vec![0u8; 16384], Vec::new());
                        while let Ok(n @ 1..) = ri.read(&mut buf).await {
                            head.extend_from_slice(&buf[..n]);
                            // The watch client only sends GETs: no bodies between heads.
                            while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                                let block: Vec<u8> = head.drain(..end + 4).collect();
                                let text = String::from_utf8_lossy(&block);
                                let line = text.lines().next().unwrap_or_default();
                                log.lock().unwrap().push(line.to_string());
                            }
                            if wo.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::select! {
                        _ = up => {}
                        _ = tokio::io::copy(&mut ro, &mut wi) => {}
                    }
                });
            }
        });
        Self { addr, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A rollout followed to the end by watches alone: one list per stream, then watch requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_is_followed_by_watches_without_polling() {
    let h = Harness::start(20.0, "staging", true).await;
    h.until("the seeded rollout", rolled_out_to("deal-scout-api:1.2.2"))
        .await;
    assert_eq!(h.view().revisions().len(), 2);
    assert_eq!(
        h.view().revisions()[0].change_cause.as_deref(),
        Some("release 1.2.2")
    );

    let image = "deal-scout-api:1.2.3";
    h.set_image(image).await;
    h.until("a third revision", |v| v.revisions().len() == 3)
        .await;
    h.until("the rollout to 1.2.3", rolled_out_to(image)).await;
    {
        let v = h.view();
        assert_eq!(v.revisions()[0].image, image);
        assert!(v.revisions()[0].current && v.revisions()[0].revision == 3);
        assert_eq!(v.pod_count(), 2);
        assert!(v.staleness(h.clock.now()).is_none());
    }
    let since = Instant::now();
    assert!(h.converged(since).await < CONVERGE);

    let requests = h.proxy.as_ref().unwrap().requests();
    let (watches, lists): (Vec<&String>, Vec<&String>) =
        requests.iter().partition(|r| r.contains("watch=true"));
    // One GET of the Deployment for its selector, then one list per stream; nothing again.
    assert_eq!(lists.len(), 6, "{lists:#?}");
    for resource in ["deployments?", "replicasets?", "pods?", "events?", "jobs?"] {
        assert_eq!(
            lists.iter().filter(|r| r.contains(resource)).count(),
            1,
            "{resource}: {lists:#?}"
        );
    }
    assert!(watches.len() >= 5, "{watches:#?}");
    h.stop().await;
}

/// Dropped watch streams resume from their resourceVersion: no outage, nothing missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_watches_resume_without_an_outage() {
    let h = Harness::start(20.0, "staging", false).await;
    h.until("the first lists", |v| v.pod_count() == 2).await;
    h.admin("faults/drop-watches", json!({})).await;
    let since = Instant::now();
    h.set_image("deal-scout-api:1.2.3").await;
    assert!(h.converged(since).await < CONVERGE);
    h.until("the rollout", rolled_out_to("deal-scout-api:1.2.3"))
        .await;
    assert!(h.converged(Instant::now()).await < CONVERGE);
    assert_eq!(
        h.downs(),
        0,
        "a stream that ends cleanly is resumed, not down"
    );
    h.stop().await;
}

/// In-stream 410s: first one expired watch, then history compacted away under every
/// stream. Each time the streams that got it are down, relist, and the view converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_watches_relist_and_converge() {
    let h = Harness::start(20.0, "staging", false).await;
    h.until("the first lists", |v| v.pod_count() == 2).await;
    h.set_image("deal-scout-api:1.2.3").await;
    h.admin("faults/expire-next-watch", json!({})).await;
    h.admin("faults/drop-watches", json!({})).await;
    let since = Instant::now();
    h.until("the 410 reported", |_| h.downs() > 0).await;
    assert!(h.converged(since).await < CONVERGE);
    h.until("every stream up again", |v| {
        v.staleness(h.clock.now()).is_none()
    })
    .await;

    // Writes none of our streams sees, then history is forgotten.
    let (downs, cms) = (
        h.downs(),
        Api::<ConfigMap>::namespaced(h.api.clone(), "production"),
    );
    for i in 0..3 {
        let cm = serde_json::from_value(json!({"metadata": {"name": format!("cm-{i}")}}));
        cms.create(&PostParams::default(), &cm.unwrap())
            .await
            .unwrap();
    }
    h.set_image("deal-scout-api:1.2.4").await;
    h.admin("compact", json!({})).await;
    h.admin("faults/drop-watches", json!({})).await;
    let since = Instant::now();
    h.until("the 410s reported", |_| h.downs() > downs).await;
    assert!(h.converged(since).await < CONVERGE);
    h.until("the rollout", rolled_out_to("deal-scout-api:1.2.4"))
        .await;
    h.stop().await;
}

/// Every request fails with 500 for a while (the rollout goes on unseen): every stream
/// keeps retrying, backing off rather than spinning; after the fault is cleared the view
/// catches up within 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_for_a_while_then_convergence() {
    let h = Harness::start(10.0, "production", true).await;
    h.until("the first lists", |v| v.pod_count() == 4).await;
    h.set_image("deal-scout-api:1.2.3").await;
    let proxy = h.proxy.as_ref().unwrap();
    let before = proxy.requests().len();
    let faults_on = Instant::now();
    h.admin("faults/fail", json!({"count": 1_000_000, "status": 500}))
        .await;
    h.admin("faults/drop-watches", json!({})).await;
    h.until_stale().await;
    let stale = h.view().staleness(h.clock.now()).unwrap();
    assert!(stale.to_string().contains("stream"), "{stale}");
    assert!(
        stale.down.iter().any(|d| d.error.contains("500")),
        "{stale:?}"
    );
    // The watchers keep retrying while every request fails: each stream sends its request
    // again and again (with a 100 ms first wait doubling to 1 s, the 5th retry comes about
    // 2.5 s in; what is waited for is the retries, however long load makes them take).
    const RETRIES: usize = 5;
    let streams = ["deployments?", "replicasets?", "pods?", "events?", "jobs?"];
    let since_faults = || proxy.requests()[before..].to_vec();
    let per_stream = |requests: &[String]| -> Vec<usize> {
        streams
            .iter()
            .map(|s| requests.iter().filter(|r| r.contains(s)).count())
            .collect()
    };
    let deadline = Instant::now() + WAIT;
    loop {
        let counts = per_stream(&since_faults());
        if counts.iter().all(|&n| n > RETRIES) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watchers stopped retrying during the faults: {streams:?} sent {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // And they back off rather than spin: a stream re-watches once when its watch is
    // dropped, then waits at least the first backoff (100 ms) before each new attempt, so it
    // sends at most one request per 100 ms of the faults, plus two. The bound allows twice
    // that; load only stretches the waits, and a watcher retrying at once sends hundreds.
    let (requests, elapsed) = (since_faults(), faults_on.elapsed());
    let bound = streams.len() * 2 * (elapsed.as_millis() as usize / 100 + 2);
    assert!(
        requests.len() <= bound,
        "{} requests in {elapsed:?} of faults (at most {bound} with any backoff): {:?}",
        requests.len(),
        per_stream(&requests)
    );
    assert!(h.view().staleness(h.clock.now()).is_some());

    h.admin("faults/clear", json!({})).await;
    let took = h.converged(Instant::now()).await;
    assert!(
        took < CONVERGE,
        "converged {took:?} after the fault cleared"
    );
    h.until("every stream up again", |v| {
        v.staleness(h.clock.now()).is_none()
    })
    .await;
    h.until("the rollout", rolled_out_to("deal-scout-api:1.2.3"))
        .await;
    assert!(h.converged(Instant::now()).await < CONVERGE);
    h.stop().await;
}

/// The server goes away mid-rollout and comes back with its state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_rollout() {
    let h = Harness::start(5.0, "production", false).await;
    h.until("the first lists", |v| v.pod_count() == 4).await;
    let image = "deal-scout-api:1.2.3";
    h.set_image(image).await;
    h.until("the rollout under way", |v| {
        v.counts().is_some_and(|c| c.updated >= 1)
            && matches!(v.progress(), Some(RolloutStatus::Waiting(_)))
    })
    .await;
    h.admin("restart", json!({"down_ms": 1000})).await;
    h.until_stale().await;

    // Recovery is the moment the server answers again.
    let deployments = Api::<Deployment>::namespaced(h.api.clone(), h.ns);
    let deadline = Instant::now() + WAIT;
    while deployments.get(DEPLOY).await.is_err() {
        // The sandbox's graceful shutdown waits for open watches, and one re-opened on a
        // kept-alive connection just after the restart dropped them would hold it up (see
        // the report); a real server going away ends them all, as this does.
        let _ = h.running.sandbox.drop_watches.send(());
        assert!(Instant::now() < deadline, "the server did not come back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = h.converged(Instant::now()).await;
    assert!(
        took < CONVERGE,
        "converged {took:?} after the server came back"
    );
    h.until("the rollout", rolled_out_to(image)).await;
    h.until("every stream up again", |v| {
        v.staleness(h.clock.now()).is_none()
    })
    .await;
    assert!(h.converged(Instant::now()).await < CONVERGE);
    h.stop().await;
}

/// Another Deployment's pods (other labels, same namespace) never reach the view; the
/// selectors are sent to the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_deployments_are_filtered_on_the_server() {
    let h = Harness::start(20.0, "staging", true).await;
    h.until("the first lists", |v| v.pod_count() == 2).await;

    let other: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "other-svc", "labels": {"app": "other-svc"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "other-svc"}},
                 "template": {"metadata": {"labels": {"app": "other-svc"}},
                              "spec": {"containers": [{"name": "web", "image": "other-svc:1.0.0"}]}}},
    }))
    .unwrap();
    Api::<Deployment>::namespaced(h.api.clone(), "staging")
        .create(&PostParams::default(), &other)
        .await
        .unwrap();
    h.set_image("deal-scout-api:1.2.3").await;
    h.until("our rollout", rolled_out_to("deal-scout-api:1.2.3"))
        .await;
    let pods = Api::<Pod>::namespaced(h.api.clone(), "staging");
    let theirs = pods
        .list(&ListParams::default().labels("app=other-svc"))
        .await
        .unwrap();
    assert_eq!(theirs.items.len(), 2, "the other deployment's pods exist");

    let log = h.log.lock().unwrap().clone();
    let mut our_events = 0;
    for u in &log {
        let names: Vec<String> = match &u.msg {
            ClusterMsg::Pod(c) => names(c, |p: &Pod| p.metadata.name.clone()),
            ClusterMsg::ReplicaSet(c) => names(c, |r: &ReplicaSet| r.metadata.name.clone()),
            ClusterMsg::Event(c) => names(c, |e: &KubeEvent| e.involved_object.name.clone()),
            _ => vec![],
        };
        assert!(
            names.iter().all(|n| !n.starts_with("other-svc")),
            "{names:?}"
        );
        if matches!(u.msg, ClusterMsg::Event(_)) {
            our_events += names.iter().filter(|n| n.starts_with(DEPLOY)).count();
        }
    }
    assert!(our_events > 0, "events about our own objects do arrive");
    assert!(h.view().pods().all(|p| p.name.starts_with(DEPLOY)));

    let requests = h.proxy.as_ref().unwrap().requests();
    let selected = |resource: &str| {
        requests
            .iter()
            .filter(|r| r.contains(resource))
            .all(|r| r.contains("labelSelector=app%3Ddeal-scout-api"))
    };
    let both = selected("/pods?") && selected("/replicasets?");
    assert!(both, "{requests:#?}");
    h.stop().await;
}

fn names<K>(c: &Change<K>, name: impl Fn(&K) -> Option<String>) -> Vec<String> {
    match c {
        Change::Applied(k) | Change::Deleted(k) => name(k).into_iter().collect(),
        Change::Replaced(all) => all.iter().filter_map(name).collect(),
    }
}

/// A crash-looping image: the pod table shows CrashLoopBackOff with rising restarts, and
/// the warnings carry the kubelet's BackOff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_in_the_pod_table_and_the_warnings() {
    let h = Harness::start(60.0, "staging", false).await;
    h.until("the first lists", |v| v.pod_count() == 2).await;
    h.set_image("deal-scout-api:1.2.3-crashloop").await;
    let crashing = |v: &ClusterView| {
        let current = v.revisions().first().map(|r| r.revision);
        v.pods()
            .find(|p| p.revision == current && p.status == "CrashLoopBackOff")
            .map(|p| p.restarts)
    };
    h.until("a pod in CrashLoopBackOff", |v| crashing(v).is_some())
        .await;
    let first = crashing(&h.view()).unwrap();
    h.until("its restarts to rise", |v| {
        crashing(v).is_some_and(|r| r > first)
    })
    .await;
    h.until("a Warning BackOff", |v| {
        v.warnings()
            .any(|w| w.reason == "BackOff" && w.kind == "Pod")
    })
    .await;
    h.until("the back-off message", |v| {
        v.pods().next().is_some_and(|p| {
            p.status == "CrashLoopBackOff"
                && p.message
                    .as_deref()
                    .unwrap_or_default()
                    .contains("back-off")
        })
    })
    .await;
    {
        let v = h.view();
        let row = v.pods().next().unwrap();
        assert_eq!(row.image, "deal-scout-api:1.2.3-crashloop");
        assert_eq!(row.ready_text(), "0/1");
        // The old revision keeps serving; the rollout waits.
        assert!(
            v.pods()
                .skip(1)
                .all(|p| p.status == "Running" && p.ready == 1)
        );
        assert!(matches!(v.progress(), Some(RolloutStatus::Waiting(_))));
    }
    h.stop().await;
}
