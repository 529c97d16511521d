//! The Rollout pane with a live view, as the engineer sees it during a release: a rollout
//! under way, one that finished, one that failed in a crash loop, and one whose pod watch
//! is down. The views are folded from hand-made Kubernetes objects sent through
//! `Msg::Cluster`, exactly the path the watchers' updates take, so names and ages are fixed
//! and the snapshots are stable.

use crate::common;

use chrono::{DateTime, Duration, Utc};
use common::{Cockpit, START, at};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use release_cockpit::app::{ClusterInfo, Msg, Pane};
use release_cockpit::cluster::view::ClusterView;
use release_cockpit::cluster::{Change, ClusterMsg, ClusterUpdate, Stream, Target};
use serde_json::{Value, json};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const ENV: &str = "staging";
const DEPLOY: &str = "deal-scout-api";

/// pod-template-hash of each revision, as the Deployment controller would name them.
const HASH_121: &str = "5c8d7b9f46";
const HASH_122: &str = "6b7f9d8c54";
const HASH_123: &str = "7d4c6b9f58";

fn t(secs: i64) -> DateTime<Utc> {
    at(START) + Duration::seconds(secs)
}

fn ts(secs: i64) -> String {
    t(secs).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

const DAY: i64 = 86_400;

fn owner(kind: &str, name: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name,
            "uid": format!("uid-{name}"), "controller": true, "blockOwnerDeletion": true}])
}

fn template(version: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": DEPLOY});
    if let Some(h) = hash {
        labels["pod-template-hash"] = json!(h);
    }
    json!({"metadata": {"labels": labels},
           "spec": {"containers": [{"name": "api", "image": format!("{DEPLOY}:{version}")}]}})
}

/// The Deployment at `revision` running `version`, its spec observed.
fn deployment(revision: u64, version: &str, status: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {
            "name": DEPLOY, "namespace": ENV, "generation": revision + 4,
            "labels": {"app": DEPLOY},
            "annotations": {
                "deployment.kubernetes.io/revision": revision.to_string(),
                "kubernetes.io/change-cause": format!("release {version}"),
            },
            "creationTimestamp": ts(-15 * DAY),
        },
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": DEPLOY}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "progressDeadlineSeconds": 600,
            "template": template(version, None),
        },
        "status": status,
    }))
    .unwrap()
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, since: i64) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "lastUpdateTime": ts(since), "lastTransitionTime": ts(since)})
}

/// One revision's ReplicaSet: `desired` in its spec, `replicas`/`ready` in its status.
fn replica_set(
    revision: u64,
    version: &str,
    hash: &str,
    created: i64,
    (desired, replicas, ready): (i32, i32, i32),
) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("{DEPLOY}-{hash}"), "namespace": ENV,
            "labels": {"app": DEPLOY, "pod-template-hash": hash},
            "annotations": {
                "deployment.kubernetes.io/revision": revision.to_string(),
                "kubernetes.io/change-cause": format!("release {version}"),
            },
            "creationTimestamp": ts(created),
            "ownerReferences": owner("Deployment", DEPLOY),
        },
        "spec": {
            "replicas": desired,
            "selector": {"matchLabels": {"app": DEPLOY, "pod-template-hash": hash}},
            "template": template(version, Some(hash)),
        },
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready,
                   "observedGeneration": 1},
    }))
    .unwrap()
}

/// What the kubelet reports for the `api` container.
enum Container {
    Ready,
    /// Running, readiness probe not passed yet.
    Starting,
    CrashLoop {
        restarts: i32,
        backoff: i64,
    },
}

fn pod(hash: &str, suffix: &str, version: &str, created: i64, c: Container) -> Pod {
    let name = format!("{DEPLOY}-{hash}-{suffix}");
    let image = format!("{DEPLOY}:{version}");
    let started = ts(created + 2);
    let (ready, restarts, state, last) = match c {
        Container::Ready => (
            true,
            0,
            json!({"running": {"startedAt": started}}),
            json!({}),
        ),
        Container::Starting => (
            false,
            0,
            json!({"running": {"startedAt": started}}),
            json!({}),
        ),
        Container::CrashLoop { restarts, backoff } => (
            false,
            restarts,
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!(
                "back-off {backoff}s restarting failed container=api pod={name}")}}),
            json!({"terminated": {"exitCode": 1, "reason": "Error"}}),
        ),
    };
    let ready_text = if ready { "True" } else { "False" };
    serde_json::from_value(json!({
        "metadata": {
            "name": name, "namespace": ENV,
            "labels": {"app": DEPLOY, "pod-template-hash": hash},
            "creationTimestamp": ts(created),
            "ownerReferences": owner("ReplicaSet", &format!("{DEPLOY}-{hash}")),
        },
        "spec": {"containers": [{"name": "api", "image": image}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": ready_text}],
            "containerStatuses": [{"name": "api", "image": image, "imageID": "",
                "ready": ready, "started": !matches!(c, Container::CrashLoop { .. }),
                "restartCount": restarts, "state": state, "lastState": last}],
        },
    }))
    .unwrap()
}

/// An old pod being shut down: still listed, `Terminating` in kubectl's STATUS.
fn terminating(mut p: Pod, since: i64) -> Pod {
    p.metadata.deletion_timestamp = Some(serde_json::from_value(json!(ts(since))).unwrap());
    p
}

fn back_off(pod: &str, count: i32, first: i64, last: i64) -> KubeEvent {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{pod}.187b5a2c9d0e1f37"), "namespace": ENV,
                     "creationTimestamp": ts(first)},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": ENV, "apiVersion": "v1",
                           "fieldPath": "spec.containers{api}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container api in pod ".to_string() + pod,
        "type": "Warning",
        "count": count,
        "firstTimestamp": ts(first),
        "lastTimestamp": ts(last),
        "source": {"component": "kubelet", "host": "node-1"},
    }))
    .unwrap()
}

/// Everything the five watch streams list for one state of the cluster.
struct Cluster {
    deployment: Deployment,
    replica_sets: Vec<ReplicaSet>,
    pods: Vec<Pod>,
    events: Vec<KubeEvent>,
}

fn update(secs: i64, msg: ClusterMsg) -> Msg {
    Msg::Cluster(ClusterUpdate {
        env: ENV.into(),
        at: t(secs),
        msg,
    })
}

/// A cockpit on staging with a cluster connected, as `cockpit.rs` sets it up, and the
/// watchers' first lists of `cluster` delivered at START.
fn cockpit(cluster: Cluster) -> Cockpit {
    let mut c = Cockpit::new("regular");
    c.app.state_dir = "/home/alice/.local/state/release-cockpit".into();
    c.app.log_file = "/home/alice/.local/state/release-cockpit/logs/release-cockpit.log".into();
    c.app.cluster = Some(ClusterInfo {
        api: "kubeconfig context staging".into(),
        kubeconfig: "/home/alice/.kube/config".into(),
        simulated: false,
    });
    let env = c.app.config.environment(ENV).unwrap();
    c.app
        .views
        .insert(ENV.into(), ClusterView::new(Target::of(env)));
    let lists = [
        ClusterMsg::Deployment(Change::Replaced(vec![cluster.deployment])),
        ClusterMsg::ReplicaSet(Change::Replaced(cluster.replica_sets)),
        ClusterMsg::Pod(Change::Replaced(cluster.pods)),
        ClusterMsg::Event(Change::Replaced(cluster.events)),
        ClusterMsg::Job(Change::Replaced(Vec::<Job>::new())),
    ];
    for (msg, stream) in lists.into_iter().zip(Stream::ALL) {
        c.send(update(0, msg));
        c.send(update(0, ClusterMsg::StreamUp(stream)));
    }
    c
}

fn zoom_rollout(c: &mut Cockpit) {
    c.char('3');
    c.char('z');
    assert!(c.app.zoomed && c.app.focus == Pane::Rollout);
}

fn snap(name: &str, c: &Cockpit) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), c.render(w, h));
    }
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} on screen:\n{screen}"))
}

/// Revisions 1 (1.2.1, scaled to zero) and 2 (1.2.2) from the seeded history.
fn history(current_122: (i32, i32, i32)) -> Vec<ReplicaSet> {
    vec![
        replica_set(1, "1.2.1", HASH_121, -15 * DAY, (0, 0, 0)),
        replica_set(2, "1.2.2", HASH_122, -DAY, current_122),
    ]
}

fn old_pods() -> Vec<Pod> {
    ["b2kxq", "f8wzn", "m4r7t", "q9hvd"]
        .iter()
        .map(|s| pod(HASH_122, s, "1.2.2", -DAY, Container::Ready))
        .collect()
}

/// 1.2.3 rolling out: its ReplicaSet has all four pods, three ready; the old ReplicaSet
/// is scaled to zero and two of its pods are still shutting down.
fn in_progress() -> Cluster {
    let status = json!({
        "observedGeneration": 7, "replicas": 4, "updatedReplicas": 4, "readyReplicas": 3,
        "availableReplicas": 3, "unavailableReplicas": 1,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", -DAY),
            condition("Progressing", "True", "ReplicaSetUpdated",
                      "ReplicaSet \"deal-scout-api-7d4c6b9f58\" is progressing.", -4),
        ],
    });
    let old = old_pods();
    let mut pods = vec![
        pod(HASH_123, "x7k2p", "1.2.3", -38, Container::Ready),
        pod(HASH_123, "j5n8w", "1.2.3", -38, Container::Ready),
        pod(HASH_123, "t4c9m", "1.2.3", -21, Container::Ready),
        pod(HASH_123, "z6p2r", "1.2.3", -9, Container::Starting),
    ];
    pods.extend(old.into_iter().take(2).map(|p| terminating(p, -4)));
    let mut replica_sets = history((0, 0, 0));
    replica_sets.push(replica_set(3, "1.2.3", HASH_123, -38, (4, 4, 3)));
    Cluster {
        deployment: deployment(3, "1.2.3", status),
        replica_sets,
        pods,
        events: Vec::new(),
    }
}

/// 1.2.3 fully rolled out: four ready pods of revision 3, 1.2.2 kept for a rollback.
fn complete() -> Cluster {
    let status = json!({
        "observedGeneration": 7, "replicas": 4, "updatedReplicas": 4, "readyReplicas": 4,
        "availableReplicas": 4,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", -DAY),
            condition("Progressing", "True", "NewReplicaSetAvailable",
                      "ReplicaSet \"deal-scout-api-7d4c6b9f58\" has successfully progressed.", -30),
        ],
    });
    let mut replica_sets = history((0, 0, 0));
    replica_sets.push(replica_set(3, "1.2.3", HASH_123, -95, (4, 4, 4)));
    Cluster {
        deployment: deployment(3, "1.2.3", status),
        replica_sets,
        pods: vec![
            pod(HASH_123, "x7k2p", "1.2.3", -95, Container::Ready),
            pod(HASH_123, "j5n8w", "1.2.3", -95, Container::Ready),
            pod(HASH_123, "t4c9m", "1.2.3", -78, Container::Ready),
            pod(HASH_123, "z6p2r", "1.2.3", -66, Container::Ready),
        ],
        events: Vec::new(),
    }
}

/// 1.2.3-crashloop, ten minutes on: the two surge pods crash, the deadline has passed, and
/// three 1.2.2 pods keep serving.
fn failed() -> Cluster {
    let status = json!({
        "observedGeneration": 7, "replicas": 5, "updatedReplicas": 2, "readyReplicas": 3,
        "availableReplicas": 3, "unavailableReplicas": 2,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", -DAY),
            condition("Progressing", "False", "ProgressDeadlineExceeded",
                      "ReplicaSet \"deal-scout-api-7d4c6b9f58\" has timed out progressing.", -5),
        ],
    });
    let crashing = [("x7k2p", 8, 300), ("j5n8w", 7, 160)];
    let mut pods: Vec<Pod> = crashing
        .iter()
        .map(|(s, restarts, backoff)| {
            let c = Container::CrashLoop {
                restarts: *restarts,
                backoff: *backoff,
            };
            pod(HASH_123, s, "1.2.3-crashloop", -605, c)
        })
        .collect();
    pods.extend(old_pods().into_iter().skip(1));
    let mut replica_sets = history((3, 3, 3));
    replica_sets.push(replica_set(3, "1.2.3-crashloop", HASH_123, -605, (2, 2, 0)));
    let events = crashing
        .iter()
        .map(|(s, restarts, _)| {
            let name = format!("{DEPLOY}-{HASH_123}-{s}");
            back_off(&name, restarts * 3 + 2, -597, -12 - i64::from(*restarts))
        })
        .collect();
    Cluster {
        deployment: deployment(3, "1.2.3-crashloop", status),
        replica_sets,
        pods,
        events,
    }
}

#[test]
fn rollout_in_progress() {
    let mut c = cockpit(in_progress());
    zoomed(&mut c, "rollout_in_progress", |screen, w| {
        let waiting = "Waiting for deployment \"deal-scout-api\" rollout to finish: \
                       3 of 4 updated replicas are available...";
        // 80 columns cut kubectl's line short, but not before the counts.
        let shown = if w >= 120 { waiting } else { &waiting[..74] };
        assert!(screen.contains(shown), "{screen}");
        assert!(line_with(screen, "deal-scout-api-7d4c6b9f58-z6p2r").contains("0/1"));
        assert!(line_with(screen, "deal-scout-api-6b7f9d8c54-b2kxq").contains("Terminating"));
        assert!(line_with(screen, "▶ rev 3").contains("deal-scout-api:1.2.3"));
    });
}

#[test]
fn rollout_complete() {
    let mut c = cockpit(complete());
    zoomed(&mut c, "rollout_complete", |screen, _| {
        assert!(
            screen.contains("deployment \"deal-scout-api\" successfully rolled out"),
            "{screen}"
        );
        let current = line_with(screen, "▶ rev 3");
        assert!(current.contains("deal-scout-api:1.2.3"), "{current}");
        assert!(current.contains("4/4"), "{current}");
        assert!(current.contains("release 1.2.3"), "{current}");
        assert!(line_with(screen, "  rev 2").contains("release 1.2.2"));
        let pods = screen.matches("Running").count();
        assert_eq!(pods, 4, "{screen}");
    });
}

#[test]
fn rollout_failed_in_a_crash_loop() {
    let mut c = cockpit(failed());
    zoomed(&mut c, "rollout_failed", |screen, _| {
        assert!(
            screen.contains("deployment \"deal-scout-api\" exceeded its progress deadline"),
            "{screen}"
        );
        let pod = line_with(screen, "deal-scout-api-7d4c6b9f58-x7k2p ");
        assert!(pod.contains("CrashLoopBackOff"), "{pod}");
        let restarts = pod
            .split_whitespace()
            .skip_while(|w| *w != "CrashLoopBackOff")
            .nth(1);
        assert_eq!(restarts, Some("8"), "{pod}");
        assert!(line_with(screen, "▶ rev 3").contains("1.2.3-crashloop"));
        let warning = line_with(screen, "⚠ BackOff");
        assert!(warning.contains("deal-scout-api-7d4c6b9f58-"), "{warning}");
    });
    // Unzoomed, the pane is a quarter of the screen: the verdict and the warnings come
    // before the pod table, so they are what stays in view.
    c.char('z');
    assert!(!c.app.zoomed);
    let wide = c.render(160, 48);
    assert!(
        wide.contains("deployment \"deal-scout-api\" exceeded its progress deadline"),
        "{wide}"
    );
    assert!(
        wide.contains("⚠ BackOff deal-scout-api-7d4c6b9f58-x7k2p"),
        "{wide}"
    );
    // At 80x24 the pane has two rows and a 34-column line: only the verdict's start fits.
    let narrow = c.render(80, 24);
    assert!(
        narrow.contains("deployment \"deal-scout-api\" exceed"),
        "{narrow}"
    );
    snap("rollout_failed_whole_screen", &c);
}

#[test]
fn pods_stream_down_shows_how_stale_the_view_is() {
    let mut c = cockpit(complete());
    let error = "failed to perform initial object list: ServiceError: client error (Connect)";
    c.send(update(
        3,
        ClusterMsg::StreamDown {
            stream: Stream::Pods,
            error: error.into(),
        },
    ));
    c.clock.set(t(40));
    c.send(Msg::Tick(t(40)));
    zoom_rollout(&mut c);
    for (w, h) in SIZES {
        let screen = c.render(w, h);
        let line = line_with(&screen, "⚠ pods stream down: failed to perform initial");
        // The age comes after the error, so only a wide pane has room for it.
        if w >= 120 {
            // Known current until the stream dropped at t3.
            assert!(line.contains("— last update 37 s ago"), "{line}");
        }
        // What the view last knew stays on screen, under the warning.
        assert!(screen.contains("successfully rolled out"), "{screen}");
    }
    snap("rollout_stream_down", &c);
    // The first list after the outage clears the warning.
    c.send(update(
        41,
        ClusterMsg::Pod(Change::Replaced(complete().pods)),
    ));
    c.send(update(41, ClusterMsg::StreamUp(Stream::Pods)));
    assert!(!c.render(160, 48).contains("stream down"));
}

/// The pane zoomed, at both sizes, with `check` on each.
fn zoomed(c: &mut Cockpit, name: &str, check: impl Fn(&str, u16)) {
    zoom_rollout(c);
    for (w, h) in SIZES {
        check(&c.render(w, h), w);
    }
    snap(name, c);
}
