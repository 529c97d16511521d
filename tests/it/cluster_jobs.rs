//! Migration Jobs and health checks: what a Job keeps of the Deployment's template and its
//! name; against the sandbox, a Job that completes or fails by the image's scenario with its
//! alembic log, adoption of an existing Job by a restarted cockpit, refusal of a foreign one;
//! health verdicts from the simulated service and from servers that refuse, never answer, or
//! answer in plain text.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use cockpit_sandbox::server::{self, Running};
use cockpit_sandbox::service::Services;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use release_cockpit::cluster::migrate::{self, MigrationOutcome};
use release_cockpit::cluster::{FOR_DEPLOYMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Sink, Target};
use release_cockpit::cluster::{client, health};
use release_cockpit::release::action::MigrationDirection;
use release_cockpit::release::clock::{Clock, ScaledClock};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NS: &str = "staging";
const DEPLOY: &str = "deal-scout-api";
const WAIT: Duration = Duration::from_secs(30);

/// 20x: a migration pod's 5 simulated seconds take a quarter of a wall second.
async fn start(speed: f64) -> (Running, Client) {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), speed));
    let running = server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts");
    let token = running.sandbox.release_engineer_token();
    let client = client::for_url(&running.url(), NS, Some(token)).expect("client");
    (running, client)
}

fn target() -> Target {
    Target {
        env: NS.into(),
        namespace: NS.into(),
        deployment: DEPLOY.into(),
        container: "api".into(),
        image_repository: "deal-scout-api".into(),
    }
}

fn recorder() -> (Sink<String>, Arc<Mutex<Vec<String>>>) {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink_lines = lines.clone();
    let sink: Sink<String> = Arc::new(move |l| {
        sink_lines.lock().unwrap().push(l);
        true
    });
    (sink, lines)
}

async fn admin(running: &Running, action: &str) {
    let resp = release_cockpit::http::client()
        .post(format!("{}/_sandbox/{action}", running.url()))
        .send()
        .await
        .expect("admin request");
    assert_eq!(resp.status(), 200, "admin {action}");
}

/// The POSTs that created Jobs, from the sandbox's log of mutating requests.
async fn job_creates(running: &Running) -> usize {
    let log: Vec<Value> = release_cockpit::http::client()
        .get(format!("{}/_sandbox/requests", running.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap_or("").ends_with("/jobs"))
        .count()
}

async fn set_image(client: &Client, image: &str) {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "api"}],
        "containers": [{"name": "api", "image": image}],
    }}}});
    Api::<Deployment>::namespaced(client.clone(), NS)
        .patch(
            DEPLOY,
            &PatchParams::apply("test"),
            &Patch::Strategic(patch),
        )
        .await
        .expect("image set");
}

/// The cockpit runs actions on a multi-threaded runtime's tasks.
fn assert_send<T: Send>(t: T) -> T {
    t
}

async fn migrate(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> (MigrationOutcome, Vec<String>) {
    let (sink, lines) = recorder();
    let argv = migrate::argv(MigrationDirection::Up);
    let outcome = assert_send(migrate::run(client, &target(), &argv, name, timeout, sink))
        .await
        .expect("migration runs");
    let lines = lines.lock().unwrap().clone();
    (outcome, lines)
}

/// A template with what a real service has: a sidecar, a native-sidecar proxy, probes.
fn rich_deployment() -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "deal-scout-api", "namespace": "staging"},
        "spec": {
            "selector": {"matchLabels": {"app": "deal-scout-api"}},
            "template": {
                "metadata": {
                    "labels": {"app": "deal-scout-api", "team": "deals", "pod-template-hash": "abc"},
                    "annotations": {"vault.example/role": "api"},
                },
                "spec": {
                    "serviceAccountName": "api",
                    "initContainers": [{"name": "db-proxy", "image": "proxy:1", "restartPolicy": "Always"}],
                    "containers": [
                        {"name": "api", "image": "deal-scout-api:1.2.3", "args": ["serve"],
                         "env": [{"name": "DATABASE_URL", "value": "postgres://db"}],
                         "volumeMounts": [{"name": "secrets", "mountPath": "/secrets"}],
                         "ports": [{"containerPort": 8000}],
                         "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                         "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}}},
                        {"name": "log-shipper", "image": "fluent-bit:3"},
                    ],
                    "volumes": [{"name": "secrets", "secret": {"secretName": "api"}}],
                },
            },
        },
    }))
    .unwrap()
}

#[test]
fn the_job_keeps_what_reaches_the_database_and_drops_what_serves() {
    let argv = migrate::argv(MigrationDirection::Up);
    let job = migrate::migration_job(&rich_deployment(), "api", &argv, "m-1", 0, 600);
    assert_eq!(job.metadata.namespace.as_deref(), Some("staging"));
    assert_eq!(job.labels()[MANAGED_BY_LABEL], MANAGED_BY);
    assert_eq!(job.labels()[FOR_DEPLOYMENT_LABEL], "deal-scout-api");
    let spec = job.spec.unwrap();
    assert_eq!(spec.backoff_limit, Some(0));
    assert_eq!(spec.active_deadline_seconds, Some(600));
    assert!(spec.selector.is_none(), "the Job controller picks its own");
    let meta = spec.template.metadata.unwrap();
    let labels = meta.labels.unwrap();
    assert_eq!(labels.get("team").map(String::as_str), Some("deals"));
    assert!(!labels.contains_key("app"), "{labels:?}");
    assert!(!labels.contains_key("pod-template-hash"));
    assert_eq!(labels[FOR_DEPLOYMENT_LABEL], "deal-scout-api");
    assert!(meta.annotations.unwrap().contains_key("vault.example/role"));
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    assert_eq!(pod.service_account_name.as_deref(), Some("api"));
    assert_eq!(pod.volumes.unwrap().len(), 1);
    assert_eq!(pod.init_containers.unwrap()[0].name, "db-proxy");
    assert_eq!(pod.containers.len(), 1);
    let c = &pod.containers[0];
    assert_eq!(c.image.as_deref(), Some("deal-scout-api:1.2.3"));
    assert_eq!(c.command.as_deref(), Some(argv.as_slice()));
    assert!(c.args.is_none() && c.ports.is_none());
    assert!(c.liveness_probe.is_none() && c.readiness_probe.is_none());
    assert_eq!(c.env.as_ref().unwrap()[0].name, "DATABASE_URL");
    assert_eq!(c.volume_mounts.as_ref().unwrap()[0].mount_path, "/secrets");
}

#[test]
fn job_names_are_dns_labels_that_keep_the_stamp() {
    assert_eq!(
        migrate::job_name("deal-scout-api", MigrationDirection::Up, "1.2.3-t7"),
        "deal-scout-api-migrate-up-1-2-3-t7"
    );
    assert_eq!(
        migrate::job_name("Deal_Scout", MigrationDirection::Down, ""),
        "deal-scout-migrate-down"
    );
    let long = migrate::job_name(&"x".repeat(80), MigrationDirection::Down, "20250101-100000");
    assert!(long.len() <= 63, "{long}");
    assert!(long.ends_with("-migrate-down-20250101-100000"), "{long}");
    let a = migrate::job_name("api", MigrationDirection::Up, &"a".repeat(40));
    let b = migrate::job_name(
        "api",
        MigrationDirection::Up,
        &format!("{}b", "a".repeat(39)),
    );
    assert_ne!(a, b);
    for n in [&long, &a, &b] {
        assert!(n.len() <= 63);
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(!n.starts_with('-') && !n.ends_with('-'), "{n}");
    }
    assert_eq!(
        migrate::job_name("--", MigrationDirection::Up, "--"),
        "migrate-up",
        "nothing usable left of either part"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_runs_as_a_job_built_from_the_deployments_template() {
    let (running, client) = start(20.0).await;
    let name = migrate::job_name(DEPLOY, MigrationDirection::Up, "1.2.2-t1");
    let (outcome, progress) = migrate(&client, &name, WAIT).await;
    assert!(outcome.succeeded, "{outcome:?}");
    assert!(!outcome.adopted);
    assert_eq!(outcome.job, name);
    assert_eq!(outcome.reason, "Complete");
    assert!(
        outcome
            .logs
            .iter()
            .any(|l| l.contains("Running upgrade 9c3d1e2f4a5b -> 4f1a9c2e7b10")),
        "{:#?}",
        outcome.logs
    );
    // By the Job's status, in simulated seconds (2 to start the container, 3 to run, and
    // the controller's passes): far more than the wall time this test takes.
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(120)).contains(&outcome.duration),
        "{:?}",
        outcome.duration
    );
    let text = progress.join("\n");
    assert!(text.contains(&format!("creating Job {name}")), "{text}");
    assert!(text.contains("Succeeded (exit code 0 Completed)"), "{text}");
    assert!(text.ends_with(&format!("Job {name}: Complete")), "{text}");

    let job = Api::<Job>::namespaced(client.clone(), NS)
        .get(&name)
        .await
        .unwrap();
    assert_eq!(job.labels()[MANAGED_BY_LABEL], MANAGED_BY);
    assert_eq!(job.labels()[FOR_DEPLOYMENT_LABEL], DEPLOY);
    let spec = job.spec.unwrap();
    assert_eq!(spec.backoff_limit, Some(migrate::BACKOFF_LIMIT));
    let meta = spec.template.metadata.unwrap();
    let labels = meta.labels.unwrap();
    assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY);
    assert_eq!(labels[FOR_DEPLOYMENT_LABEL], DEPLOY);
    assert!(!labels.contains_key("pod-template-hash"), "{labels:?}");
    assert!(
        !labels.contains_key("app"),
        "the Deployment's selector must not match"
    );
    let pod_spec = spec.template.spec.unwrap();
    assert_eq!(pod_spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(pod_spec.containers.len(), 1);
    let c = &pod_spec.containers[0];
    assert_eq!(c.name, "api");
    assert_eq!(c.image.as_deref(), Some("deal-scout-api:1.2.2"));
    assert_eq!(
        c.command.clone().unwrap(),
        ["alembic", "upgrade", "head"].map(String::from)
    );
    let pods = Api::<Pod>::namespaced(client.clone(), NS)
        .list(&ListParams::default().labels(&format!("job-name={name}")))
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 1);
    assert_eq!(
        pods.items[0].owner_references()[0].uid,
        job.metadata.uid.unwrap()
    );
    assert_eq!(job_creates(&running).await, 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migfail_image_fails_with_the_backoff_reason_and_its_log() {
    let (running, client) = start(20.0).await;
    set_image(&client, "deal-scout-api:1.2.3-migfail").await;
    let name = migrate::job_name(DEPLOY, MigrationDirection::Up, "1.2.3-t2");
    let (outcome, progress) = migrate(&client, &name, WAIT).await;
    assert!(!outcome.succeeded, "{outcome:?}");
    assert_eq!(outcome.reason, "BackoffLimitExceeded");
    assert!(outcome.message.contains("backoff limit"), "{outcome:?}");
    assert!(
        outcome
            .logs
            .iter()
            .any(|l| l.contains("FAILED: Can't locate revision identified by 'b7e2c1f0a9d3'")),
        "{:#?}",
        outcome.logs
    );
    let text = progress.join("\n");
    assert!(text.contains("Failed (exit code 1 Error)"), "{text}");
    let job = Api::<Job>::namespaced(client.clone(), NS)
        .get(&name)
        .await
        .unwrap();
    let image = job.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone();
    assert_eq!(image.as_deref(), Some("deal-scout-api:1.2.3-migfail"));
    running.stop().await;
}

/// A migration that never ends (waiting on a lock, say) is stopped by the Job's own
/// deadline, which is the cockpit's step timeout: Failed with DeadlineExceeded and its pod
/// deleted, a verdict from the cluster rather than the cockpit giving up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_migration_fails_at_the_jobs_deadline() {
    let (running, client) = start(20.0).await;
    set_image(&client, "deal-scout-api:1.2.3-mighang").await;
    let name = migrate::job_name(DEPLOY, MigrationDirection::Up, "1.2.3-t3");
    let (outcome, progress) = migrate(&client, &name, Duration::from_secs(10)).await;
    assert!(!outcome.succeeded, "{outcome:?}");
    assert_eq!(outcome.reason, "DeadlineExceeded", "{outcome:?}");
    assert!(
        outcome
            .message
            .contains("active longer than specified deadline"),
        "{outcome:?}"
    );
    let text = progress.join("\n");
    assert!(text.contains("DeadlineExceeded"), "{text}");
    let job = Api::<Job>::namespaced(client.clone(), NS)
        .get(&name)
        .await
        .unwrap();
    assert_eq!(job.spec.unwrap().active_deadline_seconds, Some(10));
    let pods = Api::<Pod>::namespaced(client.clone(), NS)
        .list(&ListParams::default().labels(&format!("job-name={name}")))
        .await
        .unwrap();
    assert!(
        pods.items.is_empty(),
        "the running pod is deleted at the deadline: {:?}",
        pods.items.iter().map(|p| p.name_any()).collect::<Vec<_>>()
    );
    running.stop().await;
}

/// A follower that gets no verdict within its timeout says so; the Job it leaves behind
/// stops at its own deadline (the same timeout), so nobody's migration runs on unwatched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_times_out_leaves_a_job_that_stops_at_its_deadline() {
    let (running, client) = start(20.0).await;
    let name = migrate::job_name(DEPLOY, MigrationDirection::Down, "1.2.2-t2");
    // No controller: the Job is created but never runs, so the follower gives up.
    admin(&running, "controllers/pause").await;
    let (first, _) = migrate(&client, &name, Duration::from_millis(400)).await;
    assert!(!first.succeeded);
    assert!(!first.adopted);
    assert_eq!(first.reason, "Timeout", "{first:?}");
    assert!(first.logs.is_empty(), "{:?}", first.logs);

    // Once the cluster runs it, its one-second deadline (simulated) passes before the
    // migration's five: a cockpit that looks again finds it failed, not succeeded.
    admin(&running, "controllers/resume").await;
    let (again, _) = migrate(&client, &name, WAIT).await;
    assert!(again.adopted && !again.succeeded, "{again:?}");
    assert_eq!(again.reason, "DeadlineExceeded", "{again:?}");
    assert_eq!(job_creates(&running).await, 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_cockpit_adopts_the_job_instead_of_running_it_again() {
    let (running, client) = start(20.0).await;
    let name = migrate::job_name(DEPLOY, MigrationDirection::Down, "1.2.2-t3");
    // No controller, so the Job waits; the cockpit following it is killed (its future
    // dropped) once the Job exists, as a `kill -9` would.
    admin(&running, "controllers/pause").await;
    let follower = tokio::spawn({
        let client = client.clone();
        let name = name.clone();
        async move { migrate(&client, &name, WAIT).await }
    });
    let jobs = Api::<Job>::namespaced(client.clone(), NS);
    for _ in 0..200 {
        if jobs.get_opt(&name).await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    follower.abort();
    assert!(
        follower.await.is_err_and(|e| e.is_cancelled()),
        "the follower was still running when killed"
    );
    assert!(
        jobs.get_opt(&name).await.unwrap().is_some(),
        "no Job created"
    );

    admin(&running, "controllers/resume").await;
    let (second, progress) = migrate(&client, &name, WAIT).await;
    assert!(second.adopted, "{second:?}");
    assert!(second.succeeded, "{second:?}");
    assert!(
        progress[0].contains("following it instead of running the migration again"),
        "{progress:?}"
    );
    // A finished Job is adopted too, and its verdict and log read back at once.
    let (third, _) = migrate(&client, &name, WAIT).await;
    assert!(third.adopted && third.succeeded, "{third:?}");
    assert_eq!(third.logs, second.logs);
    assert!(!third.logs.is_empty());
    assert_eq!(job_creates(&running).await, 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_that_name_that_is_not_ours_or_runs_something_else_is_refused() {
    let (running, client) = start(20.0).await;
    let jobs = Api::<Job>::namespaced(client.clone(), NS);
    let foreign: Job = serde_json::from_value(json!({
        "metadata": {"name": "someone-elses"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "api", "image": "busybox", "command": ["true"]}],
        }}},
    }))
    .unwrap();
    jobs.create(&PostParams::default(), &foreign).await.unwrap();
    let argv = migrate::argv(MigrationDirection::Up);
    let (sink, _) = recorder();
    let err = migrate::run(
        &client,
        &target(),
        &argv,
        "someone-elses",
        WAIT,
        sink.clone(),
    )
    .await
    .unwrap_err();
    assert!(err.contains("not release-cockpit's migration"), "{err}");

    let name = migrate::job_name(DEPLOY, MigrationDirection::Up, "t4");
    migrate::run(&client, &target(), &argv, &name, WAIT, sink.clone())
        .await
        .unwrap();
    let down = migrate::argv(MigrationDirection::Down);
    let err = migrate::run(&client, &target(), &down, &name, WAIT, sink.clone())
        .await
        .unwrap_err();
    assert!(err.contains("runs `alembic upgrade head`"), "{err}");

    let mut missing = target();
    missing.deployment = "nope".into();
    let err = migrate::run(
        &client,
        &missing,
        &argv,
        "nope-migrate-up",
        WAIT,
        sink.clone(),
    )
    .await
    .unwrap_err();
    assert!(err.contains("cannot read deployment nope"), "{err}");
    let mut no_container = target();
    no_container.container = "worker".into();
    let err = migrate::run(&client, &no_container, &argv, "x-migrate-up", WAIT, sink)
        .await
        .unwrap_err();
    assert!(err.contains("has no container \"worker\""), "{err}");
    running.stop().await;
}

async fn with_services(speed: f64) -> (Running, Client, Services) {
    let (running, client) = start(speed).await;
    let services = Services::start(running.sandbox.clone()).await.unwrap();
    (running, client, services)
}

/// Checks `url` until `done` holds, or panics after `WAIT`.
async fn check_until(
    url: &str,
    done: impl Fn(&health::HealthOutcome) -> bool,
) -> health::HealthOutcome {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let o = assert_send(health::check(url, Duration::from_secs(2))).await;
        if done(&o) {
            return o;
        }
        assert!(tokio::time::Instant::now() < deadline, "last: {o:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeded_version_is_healthy_and_an_errors_release_is_degraded() {
    let (running, client, services) = with_services(60.0).await;
    let base = services.urls[NS].clone();
    let detailed = format!("{base}/api/v1/monitoring/health/detailed");
    // The service's first step sees the seeded pods.
    let o = check_until(&format!("{base}/health"), |o| o.healthy).await;
    assert_eq!(o.http_status, Some(200));
    assert_eq!(o.status_field.as_deref(), Some("ok"));
    assert!(o.error.is_none());
    let o = health::check(&detailed, Duration::from_secs(2)).await;
    assert!(o.healthy, "{o:?}");
    assert_eq!(o.status_field.as_deref(), Some("healthy"));
    assert!(
        o.body.contains("\"versions\": {\n    \"1.2.2\": 2"),
        "{}",
        o.body
    );
    assert!(
        o.summary().starts_with("healthy: HTTP 200 in "),
        "{}",
        o.summary()
    );

    set_image(&client, "deal-scout-api:1.2.3-errors").await;
    let o = check_until(&detailed, |o| !o.healthy).await;
    assert_eq!(o.http_status, Some(200), "a 200 that says degraded: {o:?}");
    assert_eq!(o.status_field.as_deref(), Some("degraded"));
    assert!(
        o.summary().contains("UNHEALTHY: HTTP 200"),
        "{}",
        o.summary()
    );
    services.stop().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ready_pod_is_503_and_unhealthy() {
    let (running, client, services) = with_services(60.0).await;
    let base = services.urls[NS].clone();
    Api::<Deployment>::namespaced(client.clone(), NS)
        .patch(
            DEPLOY,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await
        .unwrap();
    let o = check_until(&format!("{base}/health"), |o| o.http_status == Some(503)).await;
    assert!(!o.healthy);
    assert_eq!(o.status_field.as_deref(), Some("unavailable"));
    let o = health::check(
        &format!("{base}/api/v1/monitoring/health/detailed"),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!((o.http_status, o.healthy), (Some(503), false));
    assert_eq!(o.status_field.as_deref(), Some("unhealthy"));
    services.stop().await;
    running.stop().await;
}

#[tokio::test]
async fn a_listener_that_never_answers_times_out() {
    // Connections queue in the backlog and are never accepted, let alone answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/health", silent.local_addr().unwrap());
    let o = health::check(&url, Duration::from_millis(300)).await;
    assert!(!o.healthy);
    assert_eq!(o.http_status, None);
    assert_eq!(o.error.as_deref(), Some("no answer within 300 ms"), "{o:?}");
    assert!((300..3000).contains(&o.elapsed_ms), "{}", o.elapsed_ms);
    drop(silent);
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = health::check(
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(2),
    )
    .await;
    assert!(!o.healthy);
    assert_eq!(o.http_status, None);
    let error = o.error.clone().unwrap();
    assert!(error.contains("connection refused"), "{o:?}");
    assert!(
        o.summary().starts_with("UNHEALTHY: connection refused"),
        "{}",
        o.summary()
    );
}

/// A one-shot HTTP server answering every connection with `response` as written.
async fn raw_server(response: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn.write_all(response.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });
    url
}

#[tokio::test]
async fn plain_text_is_shown_as_is_and_a_json_down_is_unhealthy() {
    let url = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nOK\n",
    )
    .await;
    let o = health::check(&url, Duration::from_secs(2)).await;
    assert!(o.healthy, "{o:?}");
    assert_eq!(o.body, "OK");
    assert_eq!(o.status_field, None);

    let url = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"status\":\"DOWN\"}",
    )
    .await;
    let o = health::check(&url, Duration::from_secs(2)).await;
    assert!(!o.healthy, "{o:?}");
    assert_eq!(o.status_field.as_deref(), Some("DOWN"));
    assert_eq!(o.body, "{\n  \"status\": \"DOWN\"\n}");

    let url = raw_server(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!",
    )
    .await;
    let o = health::check(&url, Duration::from_secs(2)).await;
    assert_eq!((o.http_status, o.healthy), (Some(500), false));
    assert_eq!(o.body, "oops!");
}
