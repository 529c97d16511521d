use super::*;
use serde_json::{Value, json};

const T0: &str = "2026-11-26T11:00:00Z";

fn t(secs: i64) -> DateTime<Utc> {
    T0.parse::<DateTime<Utc>>().unwrap() + Duration::seconds(secs)
}

fn target() -> Target {
    Target {
        env: "staging".into(),
        namespace: "staging".into(),
        deployment: "web".into(),
        container: "api".into(),
        image_repository: "web".into(),
    }
}

fn update(secs: i64, msg: ClusterMsg) -> ClusterUpdate {
    ClusterUpdate {
        env: "staging".into(),
        at: t(secs),
        msg,
    }
}

fn rs(revision: u64, hash: &str, replicas: i32, owner: &str) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {
            "name": format!("web-{hash}"),
            "labels": {"app": "web", "pod-template-hash": hash},
            "annotations": {
                "deployment.kubernetes.io/revision": revision.to_string(),
                "kubernetes.io/change-cause": format!("release {revision}"),
            },
            "creationTimestamp": format!("2026-11-{:02}T10:00:00Z", 10 + revision),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner,
                                 "uid": "u1", "controller": true}],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
            "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": hash}},
                         "spec": {"containers": [
                             {"name": "sidecar", "image": "proxy:1"},
                             {"name": "api", "image": format!("web:{revision}")}]}},
        },
        "status": {"replicas": replicas, "readyReplicas": replicas},
    }))
    .unwrap()
}

fn pod(name: &str, hash: &str, status: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "web", "pod-template-hash": hash},
                     "creationTimestamp": T0},
        "spec": {"containers": [{"name": "api", "image": "web:x"}]},
        "status": status,
    }))
    .unwrap()
}

fn running() -> Value {
    json!({"phase": "Running", "containerStatuses": [{"name": "api", "image": "web:x",
        "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}]})
}

fn crashing(restarts: i32) -> Value {
    json!({"phase": "Running", "containerStatuses": [{"name": "api", "image": "web:x",
        "imageID": "", "ready": false, "restartCount": restarts,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]})
}

fn deployment(status: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "generation": 3},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "api", "image": "web:3"}]}}},
        "status": status,
    }))
    .unwrap()
}

fn event(name: &str, type_: &str, reason: &str, count: i32, last: i64) -> KubeEvent {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "name": "web-bbb-1"},
        "reason": reason,
        "message": format!("{reason} happened"),
        "type": type_,
        "count": count,
        "firstTimestamp": t(0),
        "lastTimestamp": t(last),
    }))
    .unwrap()
}

fn names(v: &ClusterView) -> Vec<(String, Option<u64>)> {
    v.pods().map(|p| (p.name.clone(), p.revision)).collect()
}

#[test]
fn pods_follow_applies_deletes_and_relists_in_revision_order() {
    let mut v = ClusterView::new(target());
    v.apply(&update(
        0,
        ClusterMsg::ReplicaSet(Change::Replaced(vec![
            rs(1, "aaa", 1, "web"),
            rs(2, "bbb", 2, "web"),
            rs(9, "zzz", 1, "other"),
        ])),
    ));
    v.apply(&update(
        1,
        ClusterMsg::Pod(Change::Replaced(vec![
            pod("web-aaa-1", "aaa", running()),
            pod("web-bbb-2", "bbb", running()),
            pod("web-bbb-1", "bbb", running()),
        ])),
    ));
    assert_eq!(
        names(&v),
        [
            ("web-bbb-1".into(), Some(2)),
            ("web-bbb-2".into(), Some(2)),
            ("web-aaa-1".into(), Some(1)),
        ]
    );
    // Only the Deployment's own ReplicaSets are revisions; the newest is current.
    let revs: Vec<(u64, &str, bool)> = v
        .revisions()
        .iter()
        .map(|r| (r.revision, r.replica_set.as_str(), r.current))
        .collect();
    assert_eq!(revs, [(2, "web-bbb", true), (1, "web-aaa", false)]);
    assert_eq!(v.revisions()[0].image, "web:2");
    assert_eq!(v.revisions()[0].change_cause.as_deref(), Some("release 2"));
    assert_eq!((v.revisions()[0].desired, v.revisions()[0].ready), (2, 2));

    v.apply(&update(
        2,
        ClusterMsg::Pod(Change::Applied(pod("web-bbb-1", "bbb", crashing(3)))),
    ));
    let p = v.pod("web-bbb-1").unwrap();
    assert_eq!(
        (p.status.as_str(), p.restarts, p.ready),
        ("CrashLoopBackOff", 3, 0)
    );
    assert_eq!(v.pod_count(), 3);

    v.apply(&update(
        3,
        ClusterMsg::Pod(Change::Deleted(pod("web-aaa-1", "aaa", running()))),
    ));
    assert_eq!(v.pod_count(), 2);
    assert!(v.pod("web-aaa-1").is_none());

    // A relist: what is not in it is gone.
    v.apply(&update(
        4,
        ClusterMsg::Pod(Change::Replaced(vec![pod("web-bbb-3", "bbb", running())])),
    ));
    assert_eq!(names(&v), [("web-bbb-3".into(), Some(2))]);
    assert_eq!(v.last_update(), Some(t(4)));
}

#[test]
fn a_new_replica_set_re_derives_pod_revisions() {
    let mut v = ClusterView::new(target());
    v.apply(&update(
        0,
        ClusterMsg::ReplicaSet(Change::Replaced(vec![rs(1, "aaa", 1, "web")])),
    ));
    // The pod stream can run ahead of the ReplicaSet stream.
    for (name, hash) in [("web-aaa-1", "aaa"), ("web-ccc-1", "ccc")] {
        v.apply(&update(
            1,
            ClusterMsg::Pod(Change::Applied(pod(name, hash, running()))),
        ));
    }
    assert_eq!(
        names(&v),
        [("web-aaa-1".into(), Some(1)), ("web-ccc-1".into(), None)]
    );
    v.apply(&update(
        2,
        ClusterMsg::ReplicaSet(Change::Applied(rs(2, "ccc", 1, "web"))),
    ));
    assert_eq!(
        names(&v),
        [("web-ccc-1".into(), Some(2)), ("web-aaa-1".into(), Some(1))]
    );
    assert!(v.revisions()[0].current && v.revisions()[0].revision == 2);

    // A rollback revives revision 1's ReplicaSet as revision 3.
    v.apply(&update(
        3,
        ClusterMsg::ReplicaSet(Change::Applied(rs(3, "aaa", 1, "web"))),
    ));
    assert_eq!(
        names(&v),
        [("web-aaa-1".into(), Some(3)), ("web-ccc-1".into(), Some(2))]
    );
    v.apply(&update(
        4,
        ClusterMsg::ReplicaSet(Change::Deleted(rs(2, "ccc", 0, "web"))),
    ));
    assert_eq!(
        names(&v),
        [("web-aaa-1".into(), Some(3)), ("web-ccc-1".into(), None)]
    );
    assert_eq!(v.revisions().len(), 1);
}

#[test]
fn two_thousand_pods_re_key_when_revisions_change() {
    let mut v = ClusterView::new(target());
    let pods: Vec<Pod> = (0..2000)
        .map(|i| {
            let hash = if i % 2 == 0 { "aaa" } else { "bbb" };
            pod(&format!("web-{hash}-{i:04}"), hash, running())
        })
        .collect();
    v.apply(&update(0, ClusterMsg::Pod(Change::Replaced(pods))));
    assert!(v.pods().all(|p| p.revision.is_none()));
    v.apply(&update(
        1,
        ClusterMsg::ReplicaSet(Change::Replaced(vec![
            rs(1, "aaa", 1000, "web"),
            rs(2, "bbb", 1000, "web"),
        ])),
    ));
    let revisions: Vec<Option<u64>> = v.pods().map(|p| p.revision).collect();
    assert_eq!(revisions.len(), 2000);
    assert!(revisions[..1000].iter().all(|r| *r == Some(2)));
    assert!(revisions[1000..].iter().all(|r| *r == Some(1)));
}

#[test]
fn deployment_presence_progress_and_counts() {
    let mut v = ClusterView::new(target());
    v.apply(&update(
        0,
        ClusterMsg::Missing {
            error: "deployments.apps \"web\" not found".into(),
        },
    ));
    assert!(v.deployment.is_none() && v.missing.is_some() && v.progress().is_none());

    let status = json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 1,
        "readyReplicas": 2, "availableReplicas": 2, "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability."},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
             "message": "ReplicaSet \"web-ccc\" is progressing."}]});
    v.apply(&update(
        1,
        ClusterMsg::Deployment(Change::Replaced(vec![deployment(status)])),
    ));
    assert!(v.missing.is_none());
    assert!(matches!(v.progress(), Some(RolloutStatus::Waiting(_))));
    assert_eq!(
        v.counts(),
        Some(Counts {
            desired: 2,
            current: 3,
            updated: 1,
            ready: 2,
            available: 2
        })
    );
    let conditions = v.conditions();
    assert_eq!(conditions.len(), 2);
    assert_eq!(conditions[1].type_, "Progressing");
    assert_eq!(conditions[1].reason.as_deref(), Some("ReplicaSetUpdated"));

    let done = json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2,
        "readyReplicas": 2, "availableReplicas": 2});
    v.apply(&update(
        2,
        ClusterMsg::Deployment(Change::Applied(deployment(done.clone()))),
    ));
    assert!(matches!(v.progress(), Some(RolloutStatus::Done(_))));

    v.apply(&update(
        3,
        ClusterMsg::Deployment(Change::Deleted(deployment(done))),
    ));
    assert!(v.deployment.is_none());
    assert!(v.missing.as_deref().unwrap().contains("deleted"));

    v.apply(&update(4, ClusterMsg::Deployment(Change::Replaced(vec![]))));
    assert!(v.missing.as_deref().unwrap().contains("not found"));
}

#[test]
fn other_environments_are_ignored() {
    let mut v = ClusterView::new(target());
    let mut u = update(
        0,
        ClusterMsg::Pod(Change::Applied(pod("web-aaa-1", "aaa", running()))),
    );
    u.env = "production".into();
    v.apply(&u);
    assert_eq!(v.pod_count(), 0);
    assert_eq!(v.last_update(), None);
}

#[test]
fn warnings_are_deduped_by_name_newest_last_and_capped() {
    let mut v = ClusterView::new(target());
    let apply = |v: &mut ClusterView, e: KubeEvent| {
        v.apply(&update(0, ClusterMsg::Event(Change::Applied(e))));
    };
    apply(&mut v, event("a", "Warning", "BackOff", 1, 1));
    apply(&mut v, event("n", "Normal", "Pulled", 1, 2));
    apply(&mut v, event("b", "Warning", "Failed", 1, 3));
    apply(&mut v, event("a", "Warning", "BackOff", 4, 9));
    let seen: Vec<(&str, i32)> = v.warnings().map(|w| (w.name.as_str(), w.count)).collect();
    assert_eq!(seen, [("b", 1), ("a", 4)]);
    let a = v.warnings().last().unwrap();
    assert_eq!((a.kind.as_str(), a.object.as_str()), ("Pod", "web-bbb-1"));
    assert_eq!(a.last, Some(t(9)));

    v.apply(&update(
        1,
        ClusterMsg::Event(Change::Deleted(event("b", "Warning", "Failed", 1, 3))),
    ));
    assert_eq!(v.warnings().count(), 1);

    for i in 0..60 {
        apply(
            &mut v,
            event(&format!("e{i}"), "Warning", "BackOff", 1, 10 + i),
        );
    }
    assert_eq!(v.warnings().count(), MAX_WARNINGS);
    assert_eq!(v.warnings().last().unwrap().name, "e59");

    // A relist keeps the newest, in time order.
    let relist: Vec<KubeEvent> = (0..70)
        .rev()
        .map(|i| event(&format!("r{i}"), "Warning", "BackOff", 1, i))
        .chain([event("n2", "Normal", "Pulled", 1, 100)])
        .collect();
    v.apply(&update(2, ClusterMsg::Event(Change::Replaced(relist))));
    let kept: Vec<String> = v.warnings().map(|w| w.name.clone()).collect();
    assert_eq!(kept.len(), MAX_WARNINGS);
    assert_eq!(kept.first().unwrap(), "r20");
    assert_eq!(kept.last().unwrap(), "r69");
}

#[test]
fn jobs_newest_first_with_state() {
    let job = |name: &str, created: &str, status: Value| -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"template": {"spec": {"containers": [
                {"name": "migrate", "image": "web:3", "command": ["migrate"]}]}}},
            "status": status,
        }))
        .unwrap()
    };
    let mut v = ClusterView::new(target());
    v.apply(&update(
        0,
        ClusterMsg::Job(Change::Replaced(vec![
            job(
                "m-old",
                "2026-11-20T10:00:00Z",
                json!({"succeeded": 1,
                "conditions": [{"type": "Complete", "status": "True"}]}),
            ),
            job("m-new", "2026-11-26T10:00:00Z", json!({"active": 1})),
        ])),
    ));
    let states: Vec<(&str, &JobState)> = v
        .jobs()
        .iter()
        .map(|j| (j.name.as_str(), &j.state))
        .collect();
    assert_eq!(
        states,
        [
            ("m-new", &JobState::Running),
            ("m-old", &JobState::Complete)
        ]
    );
    v.apply(&update(
        1,
        ClusterMsg::Job(Change::Applied(job(
            "m-new",
            "2026-11-26T10:00:00Z",
            json!({
            "failed": 7, "conditions": [{"type": "Failed", "status": "True",
                                          "reason": "BackoffLimitExceeded"}]}),
        ))),
    ));
    assert_eq!(
        v.jobs()[0].state,
        JobState::Failed("BackoffLimitExceeded".into())
    );
    assert_eq!(v.jobs()[0].command, ["migrate"]);
    v.apply(&update(
        2,
        ClusterMsg::Job(Change::Deleted(job(
            "m-old",
            "2026-11-20T10:00:00Z",
            json!({}),
        ))),
    ));
    assert_eq!(v.jobs().len(), 1);
}

#[test]
fn staleness_while_a_stream_is_down() {
    let mut v = ClusterView::new(target());
    assert_eq!(v.stream_health(Stream::Pods), &StreamHealth::Connecting);
    v.apply(&update(
        0,
        ClusterMsg::Pod(Change::Replaced(vec![pod("web-aaa-1", "aaa", running())])),
    ));
    v.apply(&update(0, ClusterMsg::StreamUp(Stream::Pods)));
    assert_eq!(v.staleness(t(1)), None);

    let down = |error: &str| ClusterMsg::StreamDown {
        stream: Stream::Pods,
        error: error.into(),
    };
    v.apply(&update(2, down("connection refused")));
    v.apply(&update(5, down("HTTP 500")));
    // The outage began at the first error; the text is the latest.
    assert_eq!(
        v.stream_health(Stream::Pods),
        &StreamHealth::Down {
            since: t(2),
            error: "HTTP 500".into()
        }
    );
    // The pods were known current until the stream dropped at t2, however quiet it was.
    let s = v.staleness(t(12)).expect("stale");
    assert_eq!(s.down.len(), 1);
    assert_eq!(s.down[0].stream, Stream::Pods);
    assert_eq!(s.last_update, Some(t(2)));
    assert_eq!(s.age, Some(Duration::seconds(10)));
    assert_eq!(
        s.to_string(),
        "pods stream down: HTTP 500 — last update 10 s ago"
    );
    // The Deployment's stream still delivering does not make the pods any fresher.
    v.apply(&update(
        11,
        ClusterMsg::Deployment(Change::Replaced(vec![])),
    ));
    assert_eq!(v.staleness(t(12)).unwrap().age, Some(Duration::seconds(10)));
    // The pods are still shown meanwhile.
    assert_eq!(v.pod_count(), 1);

    v.apply(&update(
        13,
        ClusterMsg::StreamDown {
            stream: Stream::Events,
            error: "timeout".into(),
        },
    ));
    assert!(
        v.staleness(t(13))
            .unwrap()
            .to_string()
            .starts_with("pods, events streams down")
    );

    v.apply(&update(14, ClusterMsg::Pod(Change::Replaced(vec![]))));
    v.apply(&update(14, ClusterMsg::StreamUp(Stream::Pods)));
    v.apply(&update(14, ClusterMsg::StreamUp(Stream::Events)));
    assert_eq!(v.staleness(t(15)), None);
    assert_eq!(
        v.stream_health(Stream::Pods),
        &StreamHealth::Up { since: t(14) }
    );
}
