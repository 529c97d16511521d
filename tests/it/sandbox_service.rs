//! The simulated service: `/metrics` in both formats, health that follows the pods, and
//! behaviour that follows the image versions actually running.
//!
//! Time is a manual clock moved by the test (the controllers run and the services serve
//! the traffic of each step), so the traffic is the same on any machine; only the test of
//! the real binary's `status --json`, which scrapes twice two wall seconds apart, runs on a
//! clock that moves by itself.

use std::sync::Arc;

use cockpit_sandbox::resources::lookup;
use cockpit_sandbox::service::Services;
use cockpit_sandbox::store::WriteTo;
use cockpit_sandbox::{Sandbox, seed, server};
use release_cockpit::release::clock::{Clock, ManualClock, ScaledClock};
use serde_json::{Value, json};

const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The longest step of simulated time: a service serves at most 60 s of traffic a step.
const STEP_SECS: i64 = 5;

struct Env {
    sb: Arc<Sandbox>,
    /// The API server and its controller loop, on a clock that moves by itself.
    running: Option<server::Running>,
    /// Or the manual clock the test moves, with the controllers run by `run`.
    clock: Option<ManualClock>,
    services: Services,
    http: reqwest::Client,
}

impl Env {
    /// The seeded sandbox's services on a clock `speed` times the wall clock.
    async fn start(speed: f64) -> Env {
        let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(chrono::Utc::now(), speed));
        let running = server::start_seeded(clock, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let sb = running.sandbox.clone();
        let services = Services::start(sb.clone()).await.unwrap();
        Env {
            sb,
            running: Some(running),
            clock: None,
            services,
            http: release_cockpit::http::client(),
        }
    }

    /// The seeded sandbox's services on a manual clock: nothing moves until `run`. No API
    /// server (these tests write to the store), so no controller loop either.
    async fn manual() -> Env {
        let clock = ManualClock::new("2026-11-26T11:00:00Z".parse().unwrap());
        let sb = Sandbox::new(Arc::new(clock.clone()));
        seed::populate(&mut sb.store(), clock.now());
        let services = Services::start(sb.clone()).await.unwrap();
        Env {
            sb,
            running: None,
            clock: Some(clock),
            services,
            http: release_cockpit::http::client(),
        }
    }

    /// Moves the manual clock on by `secs` of simulated time, `STEP_SECS` at a time: at
    /// each step the controllers run, then every service serves the traffic since its last
    /// step with the pods ready then. All of it synchronous: on the tests' single-threaded
    /// runtime the services' own stepper cannot slip in between (and with the clock still
    /// it serves nothing).
    fn run(&self, secs: i64) {
        let clock = self.clock.as_ref().expect("a manual clock");
        let mut left = secs;
        while left > 0 {
            let step = left.min(STEP_SECS);
            left -= step;
            clock.advance(chrono::Duration::seconds(step));
            self.sb.reconcile();
            for env in &self.services.envs {
                env.advance_to(clock.now());
            }
        }
    }

    /// Runs the manual clock `STEP_SECS` at a time until `done` holds for the detailed
    /// health of `env`, for at most `limit_secs` of simulated time; returns the last answer.
    async fn run_until(
        &self,
        env: &str,
        limit_secs: i64,
        what: &str,
        done: impl Fn(u16, &Value) -> bool,
    ) -> (u16, Value) {
        let mut waited = 0;
        loop {
            let (code, d) = self.detailed(env).await;
            if done(code, &d) {
                return (code, d);
            }
            assert!(
                waited < limit_secs,
                "{what}: not in {limit_secs} simulated seconds: {code} {d}"
            );
            self.run(STEP_SECS);
            waited += STEP_SECS;
        }
    }

    fn url(&self, env: &str) -> String {
        self.services.urls[env].clone()
    }

    async fn scrape(&self, env: &str, accept: &str) -> (String, String) {
        let r = self
            .http
            .get(format!("{}/metrics", self.url(env)))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        (ct, r.text().await.unwrap())
    }

    async fn detailed(&self, env: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!(
                "{}/api/v1/monitoring/health/detailed",
                self.url(env)
            ))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    fn set_image(&self, ns: &str, image: &str) {
        let r = lookup("apps", "v1", "deployments").unwrap();
        let mut store = self.sb.store();
        let mut d = store
            .get("deployments", ns, "deal-scout-api")
            .unwrap()
            .clone();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        store
            .update(r, ns, "deal-scout-api", d, WriteTo::Main)
            .unwrap();
    }

    async fn stop(self) {
        self.services.stop().await;
        if let Some(running) = self.running {
            running.stop().await;
        }
    }
}

/// Sums the samples of a metric whose line contains `filter`.
fn total(text: &str, metric: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.starts_with(metric) && l[metric.len()..].starts_with(['{', ' ']) && l.contains(filter)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_come_in_openmetrics_or_0_0_4_text_as_asked() {
    let env = Env::manual().await;
    env.run(60);
    let (ct, om) = env.scrape("production", OPENMETRICS).await;
    assert!(
        ct.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ct}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE http_requests counter"), "{om}");
    for name in [
        "http_requests_total{",
        "http_request_duration_seconds_bucket{",
        "le=\"0.5\"",
        "le=\"0.8\"",
        "http_errors_total",
        "database_connections_total",
        "database_query_duration_seconds_bucket",
        "database_errors_total",
        "celery_tasks_total{status=\"success\"}",
        "celery_queue_depth",
    ] {
        assert!(om.contains(name), "{name} missing from:\n{om}");
    }
    let (ct, text) = env.scrape("production", "text/plain").await;
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    // Both formats read back through our own parser to the same counters.
    use release_cockpit::metrics::exposition::{Format, MetricType, parse};
    let from_om = parse(
        &om,
        Format::from_content_type("application/openmetrics-text; version=1.0.0"),
    )
    .unwrap();
    let from_text = parse(&text, Format::Text004).unwrap();
    let kind = |fams: &[release_cockpit::metrics::exposition::Family], name: &str| {
        fams.iter().find(|f| f.name == name).map(|f| f.kind)
    };
    assert_eq!(kind(&from_om, "http_requests"), Some(MetricType::Counter));
    assert_eq!(
        kind(&from_text, "http_requests_total"),
        Some(MetricType::Counter)
    );
    assert_eq!(
        kind(&from_om, "http_request_duration_seconds"),
        Some(MetricType::Histogram)
    );
    assert_eq!(
        kind(&from_text, "http_request_duration_seconds"),
        Some(MetricType::Histogram)
    );
    assert_eq!(
        kind(&from_text, "celery_queue_depth"),
        Some(MetricType::Gauge)
    );
    assert!(!text.contains("# EOF"));
    assert!(
        text.contains("# TYPE http_requests_total counter"),
        "{text}"
    );
    assert!(total(&text, "http_requests_total", "") > 0.0);
    env.stop().await;
}

#[tokio::test]
async fn an_errors_release_raises_the_error_ratio_as_its_pods_take_over() {
    // A minute and a half of healthy traffic, then the rollout of 4 pods step by step.
    let env = Env::manual().await;
    env.run(90);
    let (_, before) = env.scrape("production", "text/plain").await;
    let (code, healthy) = env.detailed("production").await;
    assert_eq!(code, 200);
    assert_eq!(healthy["status"], "healthy", "{healthy}");
    assert_eq!(healthy["versions"]["1.2.2"], 4, "{healthy}");

    env.set_image("production", "deal-scout-api:1.2.3-errors");
    let (_, d) = env
        .run_until("production", 30 * 60, "the rollout to finish", |_, d| {
            d["versions"]["1.2.3-errors"] == 4
        })
        .await;
    assert_eq!(d["status"], "degraded", "{d}");
    let (_, mid) = env.scrape("production", "text/plain").await;
    env.run(3 * 60);
    let (_, after) = env.scrape("production", "text/plain").await;
    // The error ratio of the traffic served since every pod ran the new version.
    let errors = total(&after, "http_requests_total", "status=\"500\"")
        - total(&mid, "http_requests_total", "status=\"500\"");
    let all = total(&after, "http_requests_total", "") - total(&mid, "http_requests_total", "");
    assert!(
        all > 1000.0,
        "{all} requests in 3 minutes of production traffic"
    );
    let ratio = errors / all;
    assert!(
        (0.06..0.10).contains(&ratio),
        "error ratio {ratio} with every pod on -errors"
    );
    let before_ratio = total(&before, "http_requests_total", "status=\"500\"")
        / total(&before, "http_requests_total", "");
    assert!(before_ratio < 0.01, "healthy ratio {before_ratio}");
    env.stop().await;
}

#[tokio::test]
async fn health_is_503_when_no_pod_is_ready() {
    let env = Env::manual().await;
    env.run(30);
    let ok = env
        .http
        .get(format!("{}/health", env.url("staging")))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // A bad image and no surge room for the old pods: scale to zero instead, the clearest case.
    let r = lookup("apps", "v1", "deployments").unwrap();
    {
        let mut store = env.sb.store();
        let mut d = store
            .get("deployments", "staging", "deal-scout-api")
            .unwrap()
            .clone();
        d["spec"]["replicas"] = json!(0);
        store
            .update(r, "staging", "deal-scout-api", d, WriteTo::Main)
            .unwrap();
    }
    let limit_secs = 20 * 60;
    let mut waited = 0;
    loop {
        let r = env
            .http
            .get(format!("{}/health", env.url("staging")))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            break;
        }
        assert!(
            waited < limit_secs,
            "health stayed {} for {limit_secs} simulated seconds",
            r.status()
        );
        env.run(STEP_SECS);
        waited += STEP_SECS;
    }
    let (code, d) = env.detailed("staging").await;
    assert_eq!(code, 503);
    assert_eq!(d["status"], "unhealthy");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_reports_gauges_from_the_configured_source() {
    let env = Env::start(20.0).await;
    let dir = tempfile::tempdir().unwrap();
    let env_block = |name: &str, url: &str| {
        format!(
            "[environments.{name}]\nkube_context = \"{name}\"\nnamespace = \"{name}\"\ndeployment = \"deal-scout-api\"\n\
             container = \"api\"\nimage_repository = \"deal-scout-api\"\nhealth_url = \"{url}/health\"\n\
             detailed_health_url = \"{url}/api/v1/monitoring/health/detailed\"\n\
             metrics_source = \"scrape\"\nmetrics_url = \"{url}/metrics\"\nmetrics_window = \"30s\"\n"
        )
    };
    let config = format!(
        "{}\n{}",
        env_block("staging", &env.url("staging")),
        env_block("production", &env.url("production"))
    );
    let config_path = dir.path().join("cockpit.toml");
    std::fs::write(&config_path, config).unwrap();
    let state = dir.path().join("state");
    let bin = env!("CARGO_BIN_EXE_release-cockpit");
    let run = move |args: Vec<String>| {
        std::process::Command::new(bin)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let base = vec![
        "--config".to_string(),
        config_path.display().to_string(),
        "--state-dir".into(),
        state.display().to_string(),
        "--env".into(),
        "production".into(),
        "--release".into(),
        "1.2.3".into(),
    ];
    // Create the release (as the cockpit would) with a scripted tick, then read the status.
    let store = release_cockpit::release::store::StateDir::new(&state);
    let cfg = release_cockpit::config::Config::from_file(&config_path).unwrap();
    drop(
        store
            .open_or_create(
                &cfg,
                &release_cockpit::release::store::parse_version("1.2.3").unwrap(),
                "regular",
                &"alice".into(),
                chrono::Utc::now(),
            )
            .unwrap(),
    );
    let mut args = base.clone();
    args.extend(["status".into(), "--json".into()]);
    let out = tokio::task::spawn_blocking(move || run(args))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = &doc["gauges"];
    assert!(g.is_object(), "{doc}");
    let rps = &g["throughput_rps"];
    assert_eq!(rps["unit"], "req/s");
    assert!(rps["value"].as_f64().unwrap() > 0.0, "{rps}");
    assert_eq!(rps["status"], "ok");
    let err = &g["error_rate"];
    assert_eq!(err["normal"], 0.01);
    assert_eq!(err["release_window"], 0.005);
    assert!(
        ["ok", "warn", "no_traffic"].contains(&err["status"].as_str().unwrap()),
        "{err}"
    );
    assert!(
        err["history"].as_array().is_some_and(|h| !h.is_empty()),
        "{err}"
    );
    env.stop().await;
}
