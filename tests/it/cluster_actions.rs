//! The cockpit's writes against the sandbox: deploying a version end to end, a crashing
//! version failing its progress deadline, undo leaving the very state the real
//! `kubectl rollout undo` leaves in a twin sandbox, a second deploy press sending nothing,
//! and a rollout followed through dropped watches.
//!
//! Each test starts its own seeded sandbox (staging: 2 replicas, production: 4, revisions
//! 1.2.1 and 1.2.2) with simulated time running faster than the wall clock.

use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use cockpit_sandbox::server::{self, Running};
use cockpit_sandbox::{RequestRecord, kubeconfig};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use release_cockpit::cluster::actions::{self, RolloutEnd, UndoOutcome};
use release_cockpit::cluster::history;
use release_cockpit::cluster::{Sink, Target};
use release_cockpit::release::clock::{Clock, ScaledClock};
use serde_json::{Value, json};

const DEPLOY: &str = "deal-scout-api";
const IMAGE_123: &str = "deal-scout-api:1.2.3";
const DONE: &str = "deployment \"deal-scout-api\" successfully rolled out";
/// Longer than any rollout here takes; reaching it is a failure.
const ROLLOUT_LIMIT: Duration = Duration::from_secs(30);
/// At 60x the 600 s progress deadline is 10 s and a pod is ready in about 0.1 s.
const SPEED: f64 = 60.0;

const NO_KUBECTL: &str = "`kubectl` is not on PATH: the undo test compares the cockpit with \
     the real kubectl (CI has it; install kubectl or put it on PATH)";

async fn start(speed: f64) -> Running {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), speed));
    server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

fn client(running: &Running) -> Client {
    let token = running.sandbox.release_engineer_token();
    release_cockpit::cluster::client::for_url(&running.url(), "staging", Some(token))
        .expect("client")
}

fn target(ns: &str) -> Target {
    Target {
        env: ns.to_string(),
        namespace: ns.to_string(),
        deployment: DEPLOY.to_string(),
        container: "api".to_string(),
        image_repository: "deal-scout-api".to_string(),
    }
}

/// A progress sink that keeps every message.
fn recorder() -> (Sink<String>, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink_seen = seen.clone();
    let sink: Sink<String> = Arc::new(move |m: String| {
        sink_seen.lock().unwrap().push(m);
        true
    });
    (sink, seen)
}

/// `follow_rollout` to its end: how it ended and every message it reported.
async fn follow(client: &Client, t: &Target, limit: Duration) -> (RolloutEnd, Vec<String>) {
    let (sink, seen) = recorder();
    let end = actions::follow_rollout(client, t, limit, sink)
        .await
        .expect("follow the rollout");
    let seen = seen.lock().unwrap().clone();
    (end, seen)
}

async fn follow_to_done(client: &Client, t: &Target) -> Vec<String> {
    let (end, seen) = follow(client, t, ROLLOUT_LIMIT).await;
    assert_eq!(end, RolloutEnd::Done(DONE.into()), "messages: {seen:#?}");
    seen
}

async fn admin(running: &Running, action: &str) {
    let resp = release_cockpit::http::client()
        .post(format!("{}/_sandbox/{action}", running.url()))
        .send()
        .await
        .expect("admin request");
    assert_eq!(resp.status(), 200, "admin {action}");
}

/// The PATCH requests the sandbox received for the Deployment in `ns`.
async fn deployment_patches(running: &Running, ns: &str) -> Vec<RequestRecord> {
    let log: Vec<RequestRecord> = release_cockpit::http::client()
        .get(format!("{}/_sandbox/requests", running.url()))
        .send()
        .await
        .expect("request log")
        .json()
        .await
        .expect("request log JSON");
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{DEPLOY}");
    log.into_iter()
        .filter(|r| r.method == "PATCH" && r.path == path)
        .collect()
}

async fn deployment(client: &Client, ns: &str) -> Deployment {
    Api::<Deployment>::namespaced(client.clone(), ns)
        .get(DEPLOY)
        .await
        .expect("get the Deployment")
}

/// The images of the pods that are not being deleted.
async fn pod_images(client: &Client, ns: &str) -> Vec<String> {
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("app=deal-scout-api"))
        .await
        .expect("list pods");
    let mut images: Vec<String> = pods
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.clone());
            let image = p.spec.as_ref().and_then(|s| s.containers[0].image.clone());
            format!(
                "{} {}",
                image.unwrap_or_default(),
                phase.unwrap_or_default()
            )
        })
        .collect();
    images.sort();
    images
}

// ---------------------------------------------------------------------------------------
// 1. a release, staging then production

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_to_staging_then_production() {
    let running = start(SPEED).await;
    let client = client(&running);
    for (ns, replicas) in [("staging", 2), ("production", 4)] {
        let t = target(ns);
        let out = actions::set_image(&client, &t, IMAGE_123, "release 1.2.3")
            .await
            .expect("set the image");
        let before = (out.previous_image.as_deref(), out.previous_revision);
        assert_eq!(before, (Some("deal-scout-api:1.2.2"), Some(2)), "{out:?}");
        assert!(
            out.patched && out.generation > out.observed_generation,
            "{out:?}"
        );

        let seen = follow_to_done(&client, &t).await;
        assert!(
            seen.iter()
                .any(|m| m.starts_with("Waiting for deployment \"deal-scout-api\" rollout")),
            "the steps of the rollout were reported: {seen:#?}"
        );
        assert_eq!(seen.last().map(String::as_str), Some(DONE));

        let want = vec![format!("{IMAGE_123} Running"); replicas];
        let deadline = Instant::now() + ROLLOUT_LIMIT;
        // Old pods may still be on their way out when the Deployment reports done.
        while pod_images(&client, ns).await != want {
            assert!(
                Instant::now() < deadline,
                "{ns}: pods {:?}",
                pod_images(&client, ns).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let h = history::fetch(&client, &t).await.expect("history");
        let newest = h.revisions.last().expect("a revision");
        assert_eq!(newest.revision, 3, "{:#?}", h.revisions);
        assert_eq!(newest.image.as_deref(), Some(IMAGE_123));
        assert_eq!(newest.change_cause.as_deref(), Some("release 1.2.3"));
        assert_eq!(newest.replicas, replicas as i32);
        assert!(newest.current);
        let older: Vec<(i64, i32)> = h.revisions[..h.revisions.len() - 1]
            .iter()
            .map(|r| (r.revision, r.replicas))
            .collect();
        assert_eq!(older, [(1, 0), (2, 0)], "{ns}");

        if ns == "staging" {
            let prod = deployment(&client, "production").await;
            assert_eq!(
                history::container_image(&prod.spec.template, "api"),
                Some("deal-scout-api:1.2.2"),
                "staging's deploy left production alone"
            );
        }
    }
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 2. a crashing version

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashloop_fails_its_progress_deadline() {
    // The seeded progress deadline is 600 s: one second at 600x.
    let running = start(600.0).await;
    let client = client(&running);
    let t = target("staging");
    actions::set_image(
        &client,
        &t,
        "deal-scout-api:1.2.3-crashloop",
        "release 1.2.3",
    )
    .await
    .expect("set the image");
    let started = Instant::now();
    let (end, seen) = follow(&client, &t, ROLLOUT_LIMIT).await;
    let failed = "deployment \"deal-scout-api\" exceeded its progress deadline";
    assert_eq!(end, RolloutEnd::Failed(failed.into()), "{seen:#?}");
    assert_eq!(seen.last().map(String::as_str), Some(failed));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The old version keeps serving: the rollout never took its pods away.
    let images = pod_images(&client, "staging").await;
    assert!(
        images.iter().any(|p| p == "deal-scout-api:1.2.2 Running"),
        "{images:?}"
    );
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 3. undo, against the real kubectl in a twin sandbox

/// A sandbox that the real kubectl drives.
struct Twin {
    running: Running,
    dir: tempfile::TempDir,
}

impl Twin {
    async fn start() -> Self {
        let running = start(SPEED).await;
        let dir = tempfile::tempdir().expect("temp dir");
        kubeconfig::write(
            &dir.path().join("kubeconfig"),
            &running.kubeconfig_server(),
            &[("staging", "staging")],
            running.sandbox.users(),
        )
        .expect("write the kubeconfig");
        Self { running, dir }
    }

    /// Runs `kubectl <args>` in the staging context; fails the test after a minute.
    async fn kubectl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .arg("--request-timeout=20s")
            .args(args)
            .stdin(Stdio::null());
        let line = format!("kubectl {}", args.join(" "));
        let run = tokio::task::spawn_blocking(move || match cmd.output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{NO_KUBECTL}"),
            Err(e) => panic!("cannot run kubectl: {e}"),
        });
        match tokio::time::timeout(Duration::from_secs(60), run).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            Err(_) => panic!("{line} hung for a minute"),
        }
    }

    /// `kubectl rollout undo` of the Deployment, with `--to-revision` when `to` is given.
    async fn undo(&self, to: Option<i64>) -> Output {
        let to = to.map(|n| format!("--to-revision={n}"));
        let mut args = vec!["rollout", "undo", "deployment/deal-scout-api"];
        args.extend(to.as_deref());
        self.kubectl(&args).await
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// What an undo changes, minus what differs between two sandboxes anyway (uids, times,
/// resource versions).
async fn undo_state(client: &Client) -> Value {
    let d = deployment(client, "staging").await;
    let rs = Api::<ReplicaSet>::namespaced(client.clone(), "staging")
        .list(&ListParams::default())
        .await
        .expect("list ReplicaSets");
    let mut replica_sets: Vec<Value> = rs
        .items
        .iter()
        .map(|r| {
            json!({
                "name": r.metadata.name,
                "annotations": r.metadata.annotations,
                "replicas": r.spec.replicas,
                "ready": r.status.as_ref().and_then(|s| s.ready_replicas),
                "template": r.spec.template,
            })
        })
        .collect();
    replica_sets.sort_by_key(|r| r["name"].as_str().unwrap_or_default().to_string());
    json!({
        "generation": d.metadata.generation,
        "annotations": d.metadata.annotations,
        "template": d.spec.template,
        "replicaSets": replica_sets,
    })
}

async fn assert_same_state(ours: &Client, kubectls: &Client, step: &str) {
    let (ours, kubectls) = (&undo_state(ours).await, &undo_state(kubectls).await);
    assert_eq!(
        ours,
        kubectls,
        "{step}: the cockpit's undo (left) and kubectl's (right) leave different states\n{}\n---\n{}",
        serde_json::to_string_pretty(ours).unwrap(),
        serde_json::to_string_pretty(kubectls).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_leaves_the_state_kubectl_rollout_undo_leaves() {
    let t = target("staging");
    let ours = start(SPEED).await;
    let ours_client = client(&ours);
    let twin = Twin::start().await;
    let twin_client = client(&twin.running);
    for c in [&ours_client, &twin_client] {
        actions::set_image(c, &t, IMAGE_123, "release 1.2.3")
            .await
            .expect("set the image");
        follow_to_done(c, &t).await;
    }
    assert_same_state(&ours_client, &twin_client, "before any undo").await;

    // Back to the previous revision, then to revision 1 by number.
    for (to, image) in [
        (None, "deal-scout-api:1.2.2"),
        (Some(1), "deal-scout-api:1.2.1"),
    ] {
        let step = format!("undo to {to:?}");
        let out = actions::undo(&ours_client, &t, to).await.expect(&step);
        let k = twin.undo(to).await;
        assert!(k.status.success(), "{step}: {}", text(&k.stderr));
        let UndoOutcome::RolledBack { image: got, .. } = &out else {
            panic!("{step}: {out:?}");
        };
        assert_eq!(got.as_deref(), Some(image), "{step}");
        assert_eq!(out.message(), text(&k.stdout), "{step}");
        follow_to_done(&ours_client, &t).await;
        follow_to_done(&twin_client, &t).await;
        assert_same_state(&ours_client, &twin_client, &step).await;
    }
    let revisions: Vec<(i64, Option<String>)> = history::fetch(&ours_client, &t)
        .await
        .expect("history")
        .revisions
        .into_iter()
        .map(|r| (r.revision, r.image))
        .collect();
    assert_eq!(
        revisions,
        [
            (3, Some(IMAGE_123.to_string())),
            (4, Some("deal-scout-api:1.2.2".to_string())),
            (5, Some("deal-scout-api:1.2.1".to_string()))
        ],
        "old ReplicaSets revived and renumbered, none created"
    );

    // Undo to the revision already running: kubectl's message and no write.
    let patches = deployment_patches(&ours, "staging").await.len();
    let out = actions::undo(&ours_client, &t, Some(5))
        .await
        .expect("undo to 5");
    let k = twin.undo(Some(5)).await;
    assert!(k.status.success(), "{}", text(&k.stderr));
    assert!(
        matches!(out, UndoOutcome::Skipped { revision: 5, .. }),
        "{out:?}"
    );
    assert_eq!(out.message(), text(&k.stdout));
    assert_eq!(
        out.message(),
        "deployment.apps/deal-scout-api skipped rollback (current template already matches revision 5)"
    );
    assert_eq!(deployment_patches(&ours, "staging").await.len(), patches);

    // A revision that is not in the history: kubectl's error.
    let err = actions::undo(&ours_client, &t, Some(99))
        .await
        .expect_err("revision 99 does not exist");
    let k = twin.undo(Some(99)).await;
    assert!(!k.status.success());
    assert_eq!(format!("error: {}", err.reason), text(&k.stderr));
    assert!(err.to_string().contains("namespace \"staging\""), "{err}");
    assert_same_state(
        &ours_client,
        &twin_client,
        "after the skipped and refused undos",
    )
    .await;
    ours.stop().await;
    twin.running.stop().await;
}

/// kubectl's quirk kept: when the previous revision is already what the Deployment asks for
/// (set back by hand before the controller caught up), its message names revision 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_skips_like_kubectl_when_the_previous_revision_is_already_asked_for() {
    let t = target("staging");
    let twin = Twin::start().await;
    let c = client(&twin.running);
    admin(&twin.running, "controllers/pause").await;
    actions::set_image(&c, &t, "deal-scout-api:1.2.1", "release 1.2.1")
        .await
        .expect("set the image back");
    let patches = deployment_patches(&twin.running, "staging").await.len();
    let ours = actions::undo(&c, &t, None).await.expect("undo");
    assert_eq!(
        deployment_patches(&twin.running, "staging").await.len(),
        patches
    );
    let k = twin.undo(None).await;
    assert!(k.status.success(), "{}", text(&k.stderr));
    assert!(
        matches!(ours, UndoOutcome::Skipped { revision: 1, .. }),
        "{ours:?}"
    );
    assert_eq!(ours.message(), text(&k.stdout));
    assert!(
        ours.message()
            .ends_with("(current template already matches revision 0)")
    );
    twin.running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 4. deploy pressed twice

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploying_the_same_version_twice_sends_one_patch() {
    let running = start(SPEED).await;
    let t = target("production");
    let first = actions::set_image(&client(&running), &t, IMAGE_123, "release 1.2.3")
        .await
        .expect("first press");
    assert!(first.patched);
    // Pressed again while the rollout runs, then again from a restarted cockpit (a new
    // client) once it is done.
    let again = actions::set_image(&client(&running), &t, IMAGE_123, "release 1.2.3")
        .await
        .expect("second press");
    assert!(!again.patched, "{again:?}");
    assert_eq!(again.image, IMAGE_123);
    follow_to_done(&client(&running), &t).await;
    let restarted = actions::set_image(&client(&running), &t, IMAGE_123, "release 1.2.3")
        .await
        .expect("after a restart");
    assert!(!restarted.patched, "{restarted:?}");
    assert_eq!(restarted.previous_revision, Some(3));

    let patches = deployment_patches(&running, "production").await;
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(
        patches[0].patch_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
    assert_eq!(patches[0].status, 200);
    assert!(
        deployment_patches(&running, "staging").await.is_empty(),
        "staging untouched"
    );
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 5. watches dropped mid-rollout

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_rollout_survives_dropped_watches() {
    let running = start(SPEED).await;
    let client = client(&running);
    let t = target("production");
    // Slow-starting pods (45 s each, under a second here) keep the rollout going a while.
    actions::set_image(
        &client,
        &t,
        "deal-scout-api:1.2.3-slowstart",
        "release 1.2.3",
    )
    .await
    .expect("set the image");
    let (sink, seen) = recorder();
    let follow = {
        let (client, t) = (client.clone(), t.clone());
        tokio::spawn(async move { actions::follow_rollout(&client, &t, ROLLOUT_LIMIT, sink).await })
    };
    let deadline = Instant::now() + ROLLOUT_LIMIT;
    while seen.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no progress reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut drops = 0;
    let mut after_first_drop = 0;
    while !follow.is_finished() && drops < 5 {
        admin(&running, "faults/drop-watches").await;
        if drops == 0 {
            after_first_drop = seen.lock().unwrap().len();
        }
        drops += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let end = follow.await.expect("join").expect("follow the rollout");
    let seen = seen.lock().unwrap().clone();
    assert!(drops > 0, "the rollout ended before any watch was dropped");
    assert_eq!(end, RolloutEnd::Done(DONE.into()), "{seen:#?}");
    assert!(
        seen.len() > after_first_drop,
        "progress kept coming after the watch dropped: {seen:#?}"
    );
    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// The other ends of a rollout, and errors that say what failed

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_deletion_and_refusals() {
    let running = start(SPEED).await;
    let client = client(&running);
    let t = target("staging");
    admin(&running, "controllers/pause").await;
    actions::set_image(&client, &t, IMAGE_123, "release 1.2.3")
        .await
        .expect("set the image");
    let (end, seen) = follow(&client, &t, Duration::from_millis(500)).await;
    assert_eq!(
        end,
        RolloutEnd::TimedOut {
            message: "timed out waiting for the condition".into(),
            last_error: None
        }
    );
    assert_eq!(
        seen,
        ["Waiting for deployment spec update to be observed..."]
    );

    // A container the Deployment does not have is refused before anything is written (a
    // strategic merge would add it).
    let web = Target {
        container: "web".into(),
        ..t.clone()
    };
    let err = actions::set_image(&client, &web, IMAGE_123, "release 1.2.3")
        .await
        .expect_err("no container web");
    assert_eq!(
        err.to_string(),
        "setting the image of deployment \"deal-scout-api\" in namespace \"staging\" to \
         deal-scout-api:1.2.3: unable to find container named \"web\" (the Deployment has api)"
    );
    assert_eq!(deployment_patches(&running, "staging").await.len(), 1);

    let (sink, progress) = recorder();
    let follow = {
        let (client, t) = (client.clone(), t.clone());
        tokio::spawn(async move { actions::follow_rollout(&client, &t, ROLLOUT_LIMIT, sink).await })
    };
    // Deleted only once the follow has read the Deployment and said where the rollout stands
    // (the controllers are paused, so it waits there): the deletion reaches its watch.
    let deadline = Instant::now() + ROLLOUT_LIMIT;
    while progress.lock().unwrap().is_empty() {
        assert!(
            !follow.is_finished(),
            "the follow ended before reporting progress"
        );
        assert!(
            Instant::now() < deadline,
            "the follow reported no progress in {ROLLOUT_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        *progress.lock().unwrap(),
        ["Waiting for deployment spec update to be observed..."]
    );
    Api::<Deployment>::namespaced(client.clone(), "staging")
        .delete(DEPLOY, &DeleteParams::default())
        .await
        .expect("delete the Deployment");
    let end = tokio::time::timeout(Duration::from_secs(5), follow)
        .await
        .expect("follow ends on deletion")
        .expect("join");
    assert_eq!(
        end,
        Ok(RolloutEnd::Deleted("object has been deleted".into()))
    );

    // Following, deploying or undoing a Deployment that is not there says so.
    let gone = actions::follow_rollout(&client, &t, ROLLOUT_LIMIT, recorder().0)
        .await
        .expect_err("no Deployment");
    assert_eq!(gone.code, Some(404));
    assert_eq!(gone.reason, "deployments.apps \"deal-scout-api\" not found");
    let gone = actions::undo(&client, &t, None)
        .await
        .expect_err("no Deployment");
    assert_eq!(gone.reason, "deployments.apps \"deal-scout-api\" not found");
    running.stop().await;
}
