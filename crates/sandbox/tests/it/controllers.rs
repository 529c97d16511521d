//! The Deployment controller's steps against the reference's worked example, and template
//! normalisation (an undo that sends `creationTimestamp: null` reuses the old ReplicaSet).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use cockpit_clock::{Clock, ManualClock};
use cockpit_sandbox::patch::{self, PatchKind};
use cockpit_sandbox::resources::lookup;
use cockpit_sandbox::store::WriteTo;
use cockpit_sandbox::{Sandbox, defaults};
use serde_json::{Value, json};

fn t0() -> DateTime<Utc> {
    "2026-11-26T10:00:00Z".parse().unwrap()
}

fn deployment(image: &str, replicas: i64, surge: Value, unavailable: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    })
}

struct World {
    sb: Arc<Sandbox>,
    clock: ManualClock,
}

impl World {
    fn new(d: Value) -> Self {
        let clock = ManualClock::new(t0());
        let sb = Sandbox::new(Arc::new(clock.clone()));
        let ns = lookup("", "v1", "namespaces").unwrap();
        let dr = lookup("apps", "v1", "deployments").unwrap();
        let mut d = d;
        defaults::apply(dr, &mut d);
        {
            let mut store = sb.store();
            store
                .create(ns, "", json!({"metadata": {"name": "ns"}}), t0())
                .unwrap();
            store.create(dr, "ns", d, t0()).unwrap();
        }
        let w = World { sb, clock };
        w.settle();
        w
    }

    /// Runs the controllers a second at a time until nothing changes for a while.
    fn settle(&self) {
        let mut quiet = 0;
        for _ in 0..300 {
            let before = self.sb.store().resource_version();
            self.clock.advance(Duration::seconds(1));
            self.sb.reconcile();
            quiet = if self.sb.store().resource_version() == before {
                quiet + 1
            } else {
                0
            };
            if quiet > 10 {
                return;
            }
        }
        panic!("the controllers did not settle");
    }

    fn replica_sets(&self) -> Vec<Value> {
        self.sb
            .store()
            .list("replicasets", Some("ns"))
            .into_iter()
            .cloned()
            .collect()
    }

    fn deployment(&self) -> Value {
        self.sb
            .store()
            .get("deployments", "ns", "web")
            .unwrap()
            .clone()
    }

    fn write(&self, d: Value) {
        let dr = lookup("apps", "v1", "deployments").unwrap();
        let mut d = d;
        defaults::apply(dr, &mut d);
        self.sb
            .store()
            .update(dr, "ns", "web", d, WriteTo::Main)
            .unwrap();
    }

    /// (replicas wanted by the RS running `new_image`, by all others) after every change
    /// to a ReplicaSet, in order, as the clock moves a second at a time.
    fn steps(&self, new_image: &str) -> Vec<(i64, i64)> {
        let mut wanted: std::collections::BTreeMap<String, (bool, i64)> = self
            .replica_sets()
            .iter()
            .map(|rs| {
                (
                    rs["metadata"]["name"].as_str().unwrap().to_string(),
                    (false, rs["spec"]["replicas"].as_i64().unwrap()),
                )
            })
            .collect();
        let mut seen: Vec<(i64, i64)> = Vec::new();
        let mut rv = self.sb.store().resource_version();
        for _ in 0..300 {
            self.clock.advance(Duration::seconds(1));
            self.sb.reconcile();
            let changes = self.sb.store().changes_since(rv).unwrap();
            rv = self.sb.store().resource_version();
            for c in changes.iter().filter(|c| c.store == "replicasets") {
                let rs = &c.object;
                let is_new = rs["spec"]["template"]["spec"]["containers"][0]["image"] == new_image;
                wanted.insert(
                    rs["metadata"]["name"].as_str().unwrap().to_string(),
                    (is_new, rs["spec"]["replicas"].as_i64().unwrap()),
                );
                let new: i64 = wanted.values().filter(|(n, _)| *n).map(|(_, r)| r).sum();
                let old: i64 = wanted.values().filter(|(n, _)| !*n).map(|(_, r)| r).sum();
                if seen.last() != Some(&(new, old)) {
                    seen.push((new, old));
                }
            }
            let d = self.deployment();
            if seen.last() == Some(&(d["spec"]["replicas"].as_i64().unwrap(), 0))
                && d["status"]["availableReplicas"] == d["spec"]["replicas"]
            {
                break;
            }
        }
        seen
    }
}

#[test]
fn three_replicas_roll_one_at_a_time_as_the_reference_example_says() {
    // 25%/25% of 3: surge 1 (rounded up), unavailable 0 (rounded down).
    let w = World::new(deployment("web:1", 3, json!("25%"), json!("25%")));
    let mut d = w.deployment();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
    w.write(d);
    let steps = w.steps("web:2");
    assert_eq!(
        steps[1..],
        [(1, 3), (1, 2), (2, 2), (2, 1), (3, 1), (3, 0)],
        "new 1 (4 in all) → old 2 → new 2 → old 1 → new 3 → old 0"
    );
    let status = &w.deployment()["status"];
    assert_eq!(status["updatedReplicas"], 3);
    assert_eq!(status["availableReplicas"], 3);
    let progressing = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap();
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
}

#[test]
fn rolling_steps_follow_surge_and_unavailability() {
    // (replicas, maxSurge, maxUnavailable) → the first two steps: how far the new RS may
    // grow, then how far the old ones may shrink before anything new is available.
    let cases = [
        (4, json!("25%"), json!("25%"), [(1, 4), (1, 3)]),
        (10, json!("25%"), json!("25%"), [(3, 10), (3, 8)]),
        (2, json!(0), json!(1), [(0, 1), (1, 1)]),
        (4, json!(2), json!(0), [(2, 4), (2, 2)]),
    ];
    for (replicas, surge, unavailable, first) in cases {
        let w = World::new(deployment(
            "web:1",
            replicas,
            surge.clone(),
            unavailable.clone(),
        ));
        let mut d = w.deployment();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
        w.write(d);
        let steps = w.steps("web:2");
        // Leave out the new ReplicaSet's creation at 0.
        let moves: Vec<(i64, i64)> = steps
            .iter()
            .copied()
            .filter(|s| *s != (0, replicas))
            .collect();
        assert_eq!(
            moves[..2],
            first,
            "{replicas} replicas, surge {surge}, unavailable {unavailable}: {steps:?}"
        );
        assert_eq!(*steps.last().unwrap(), (replicas, 0), "{steps:?}");
        // Never more than replicas + surge pods wanted at once.
        let surge_n = cockpit_sandbox::controllers::deployment::fenceposts(&w.deployment()).0;
        assert!(
            steps.iter().all(|(n, o)| n + o <= replicas + surge_n),
            "{steps:?}"
        );
    }
}

#[test]
fn an_undo_template_with_nulls_and_empty_maps_revives_the_old_replica_set() {
    let w = World::new(deployment("web:1", 2, json!("25%"), json!("25%")));
    let old_rs = w.replica_sets()[0].clone();
    let mut d = w.deployment();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
    w.write(d);
    w.settle();
    assert_eq!(w.replica_sets().len(), 2);
    // What `kubectl rollout undo` sends: the old RS's template without its hash label,
    // with the empty fields kubectl's typed structs add.
    let mut template = old_rs["spec"]["template"].clone();
    template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    template["metadata"]["creationTimestamp"] = Value::Null;
    template["spec"]["containers"][0]["resources"] = json!({});
    let body = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
    let current = w.deployment();
    let patched = patch::apply(
        PatchKind::Json,
        &current,
        &serde_json::to_vec(&body).unwrap(),
    )
    .unwrap();
    w.write(patched);
    w.settle();
    let rss = w.replica_sets();
    assert_eq!(rss.len(), 2, "no new ReplicaSet: {rss:#?}");
    let revived = rss
        .iter()
        .find(|r| r["metadata"]["name"] == old_rs["metadata"]["name"])
        .unwrap();
    assert_eq!(revived["spec"]["replicas"], 2);
    assert_eq!(
        revived["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(
        revived["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"],
        "1"
    );
}

#[test]
fn a_paused_deployment_makes_no_new_replica_set_until_resumed() {
    let w = World::new(deployment("web:1", 2, json!("25%"), json!("25%")));
    let mut d = w.deployment();
    d["spec"]["paused"] = json!(true);
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
    w.write(d);
    w.settle();
    assert_eq!(w.replica_sets().len(), 1);
    let progressing = w.deployment()["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap()
        .clone();
    assert_eq!(progressing["reason"], "DeploymentPaused");
    let mut d = w.deployment();
    d["spec"]["paused"] = json!(false);
    w.write(d);
    w.settle();
    assert_eq!(w.replica_sets().len(), 2);
    assert_eq!(w.deployment()["status"]["updatedReplicas"], 2);
}

#[test]
fn old_replica_sets_beyond_the_history_limit_are_cleaned_up() {
    let mut d = deployment("web:0", 1, json!(1), json!(0));
    d["spec"]["revisionHistoryLimit"] = json!(2);
    let w = World::new(d);
    for v in 1..=4 {
        let mut d = w.deployment();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(format!("web:{v}"));
        w.write(d);
        w.settle();
    }
    let mut images: Vec<String> = w
        .replica_sets()
        .iter()
        .map(|r| {
            r["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    images.sort();
    assert_eq!(
        images,
        vec!["web:2", "web:3", "web:4"],
        "the current one and the last two"
    );
}

#[test]
fn a_crashlooping_rollout_exceeds_its_progress_deadline() {
    let w = World::new(deployment("web:1", 2, json!("25%"), json!("25%")));
    let mut d = w.deployment();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2-crashloop");
    w.write(d);
    let deadline_passed = |w: &World| {
        w.deployment()["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason"] == "ProgressDeadlineExceeded")
    };
    let start = w.clock.now();
    while !deadline_passed(&w) {
        w.clock.advance(Duration::seconds(5));
        w.sb.reconcile();
        assert!(
            w.clock.now() - start < Duration::seconds(700),
            "no deadline after 700 s"
        );
    }
    let took = (w.clock.now() - start).num_seconds();
    assert!(
        (600..=620).contains(&took),
        "deadline after {took} s, not 600"
    );
    // The old pods kept serving: availability held.
    assert_eq!(w.deployment()["status"]["availableReplicas"], 2);
}
