//! `release-cockpit sandbox` as a user runs it: one JSON line when ready, a kubeconfig whose
//! contexts default to their namespaces, loopback only, and an orderly stop on SIGTERM. Also
//! the one event store behind both event APIs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cockpit_sandbox::server;
use release_cockpit::release::clock::{Clock, SystemClock};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_release-cockpit");

fn kubectl(
    kubeconfig: &std::path::Path,
    cache: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .arg("--request-timeout=20s")
        .args(args)
        .output()
        .expect("kubectl is on PATH (the machine image has it)")
}

/// A client that sends `token` as the bearer (marked sensitive: Debug never shows it).
fn client_as(token: &str) -> reqwest::Client {
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    value.set_sensitive(true);
    release_cockpit::http::client_builder()
        .default_headers(
            [(reqwest::header::AUTHORIZATION, value)]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap()
}

#[test]
fn the_sandbox_command_prints_where_it_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc.yaml");
    let mut child = Command::new(BIN)
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--speed",
            "10",
            "--kubeconfig-out",
        ])
        .arg(&kc)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let ready: Value = serde_json::from_str(&first).expect("one JSON line");
    assert!(
        ready["api"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{ready}"
    );
    assert_eq!(ready["kubeconfig"], kc.display().to_string());
    // Each environment's simulated service, on loopback.
    for env in ["staging", "production"] {
        assert!(
            ready["services"][env]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:"),
            "{ready}"
        );
    }

    // Each context defaults to its own namespace.
    let cache = dir.path().join("cache");
    for (context, replicas) in [("staging", "2/2"), ("production", "4/4")] {
        let out = kubectl(&kc, &cache, &["--context", context, "get", "deployments"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("deal-scout-api") && text.contains(replicas),
            "{context}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The line names every context, and no credential: those are in the kubeconfig,
    // which only its owner may read.
    let contexts = ready["contexts"].as_array().expect("contexts listed");
    assert_eq!(contexts.len(), 2 + 4 * 2, "{ready}");
    assert!(contexts.contains(&json!("reviewer@production")), "{ready}");
    let written = std::fs::read_to_string(&kc).unwrap();
    for token in written
        .lines()
        .filter_map(|l| l.trim().strip_prefix("token: "))
    {
        assert!(
            !first.contains(token.trim_matches('"')),
            "a token in the ready line"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kc).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the kubeconfig holds tokens");
    let out = kubectl(
        &kc,
        &cache,
        &["auth", "whoami", "--context", "reviewer@production"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("reviewer") && text.contains("release-cockpit:reviewers"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sandbox did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_sandbox_refuses_to_listen_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["sandbox", "--listen", "0.0.0.0:0", "--kubeconfig-out"])
        .arg(dir.path().join("kc"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"));
    assert!(!dir.path().join("kc").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_and_events_k8s_io_events_are_one_store() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = running.url();
    let http = client_as(running.sandbox.release_engineer_token());
    // What kube-runtime's Recorder posts.
    let posted = http
        .post(format!("{url}/apis/events.k8s.io/v1/namespaces/staging/events"))
        .json(&json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "release-cockpit.deploy-1", "namespace": "staging"},
            "eventTime": "2026-11-26T12:00:00.000000Z",
            "reportingController": "release-cockpit", "reportingInstance": "alice",
            "action": "Deploy", "reason": "DeployStarted", "type": "Normal",
            "note": "deploying 1.2.3",
            "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "deal-scout-api", "namespace": "staging"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    let core: Value = http
        .get(format!(
            "{url}/api/v1/namespaces/staging/events/release-cockpit.deploy-1"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "deploying 1.2.3");
    assert_eq!(core["involvedObject"]["name"], "deal-scout-api");
    assert_eq!(core["source"]["component"], "release-cockpit");
    // The Recorder counts repeats with a merge patch of `series`.
    let patched = http
        .patch(format!(
            "{url}/apis/events.k8s.io/v1/namespaces/staging/events/release-cockpit.deploy-1"
        ))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"series":{"count":2,"lastObservedTime":"2026-11-26T12:01:00.000000Z"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let v1: Value = patched.json().await.unwrap();
    assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
    assert_eq!(v1["series"]["count"], 2);
    assert_eq!(v1["note"], "deploying 1.2.3");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scale_subresource_reads_and_sets_replicas() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!(
        "{}/apis/apps/v1/namespaces/staging/deployments/deal-scout-api",
        running.url()
    );
    let http = client_as(running.sandbox.release_engineer_token());
    let scale: Value = http
        .get(format!("{url}/scale"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 2);
    assert_eq!(scale["status"]["selector"], "app=deal-scout-api");
    let patched = http
        .patch(format!("{url}/scale"))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"spec":{"replicas":3}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let d: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["spec"]["replicas"], 3);
    let too_many = http
        .patch(format!("{url}/scale"))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"spec":{"replicas":99999999999}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status(), 422);
    let deleted = http.delete(format!("{url}/scale")).send().await.unwrap();
    assert_eq!(
        deleted.status(),
        405,
        "DELETE on a subresource must not delete the object"
    );
    running.stop().await;
}
