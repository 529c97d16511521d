//! The simulated service each environment runs: `/metrics` (OpenMetrics, or 0.0.4 text when
//! asked for), `/health` and `/api/v1/monitoring/health/detailed`, on a loopback port of its
//! own. What it reports follows the pods that are ready and the images they run.

pub mod exposition;
pub mod model;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Sandbox;
use super::controllers::pods::ready_since;
use super::seed::{DEPLOYMENT, ENVIRONMENTS};
use model::{Behaviour, ServiceModel};

/// How often the traffic model moves (wall time); simulated time may move faster.
const STEP: Duration = Duration::from_millis(250);

/// One environment's service: its model and what its pods are.
pub struct EnvService {
    pub namespace: String,
    model: Mutex<ServiceModel>,
    /// The behaviours of the ready pods at the last step (for the health answers).
    ready: Mutex<Vec<(String, Behaviour)>>,
    last: Mutex<Option<DateTime<Utc>>>,
    sandbox: Arc<Sandbox>,
}

impl EnvService {
    fn new(sandbox: Arc<Sandbox>, namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            model: Mutex::new(ServiceModel::new(namespace)),
            ready: Mutex::new(Vec::new()),
            last: Mutex::new(None),
            sandbox,
        }
    }

    /// The images of the Deployment's pods that are ready now.
    fn ready_images(&self) -> Vec<String> {
        let store = self.sandbox.store();
        store
            .list("pods", Some(&self.namespace))
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == DEPLOYMENT && ready_since(p).is_some())
            .filter_map(|p| {
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .map(String::from)
            })
            .collect()
    }

    /// Serves the traffic from the last step to `now` (simulated time).
    pub fn advance_to(&self, now: DateTime<Utc>) {
        let images = self.ready_images();
        let pods: Vec<Behaviour> = images.iter().map(|i| Behaviour::of_image(i)).collect();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let dt = last.map_or(0.0, |l| (now - l).num_milliseconds() as f64 / 1000.0);
        *last = Some(now);
        let sim_secs = now.timestamp_millis() as f64 / 1000.0;
        self.model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .advance(sim_secs, dt.min(60.0), &pods);
        *self.ready.lock().unwrap_or_else(|p| p.into_inner()) =
            images.into_iter().zip(pods).collect();
    }

    fn metrics(&self, accept: &str) -> Response {
        let mut text = String::new();
        let model = self.model.lock().unwrap_or_else(|p| p.into_inner());
        if prometheus_client::encoding::text::encode(&mut text, &model.registry).is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        if accept.contains("application/openmetrics-text") {
            (
                [(
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                text,
            )
                .into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                exposition::to_text_004(&text),
            )
                .into_response()
        }
    }

    fn health(&self) -> Response {
        if self
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable"})),
            )
                .into_response()
        } else {
            axum::Json(json!({"status": "ok"})).into_response()
        }
    }

    fn detailed(&self) -> Response {
        let ready = self.ready.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let queue = self
            .model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queue_depth();
        let mut versions: BTreeMap<String, usize> = BTreeMap::new();
        for (image, _) in &ready {
            *versions
                .entry(image.rsplit(':').next().unwrap_or(image).to_string())
                .or_default() += 1;
        }
        let worst_errors = ready.iter().map(|(_, b)| b.error_ratio).fold(0.0, f64::max);
        let database = if worst_errors > 0.05 {
            "degraded"
        } else {
            "ok"
        };
        let queue_status = if queue > 1000.0 { "degraded" } else { "ok" };
        let overall = if ready.is_empty() {
            "unhealthy"
        } else if database == "ok" && queue_status == "ok" {
            "healthy"
        } else {
            "degraded"
        };
        let code = if ready.is_empty() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        (
            code,
            axum::Json(json!({
                "status": overall,
                "ready_pods": ready.len(),
                "versions": versions,
                "checks": {
                    "database": {"status": database},
                    "queue": {"status": queue_status, "depth": queue.round()},
                    "scrapers": {"status": if ready.is_empty() { "down" } else { "ok" }},
                },
            })),
        )
            .into_response()
    }
}

async fn metrics(State(s): State<Arc<EnvService>>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    s.metrics(accept)
}

async fn health(State(s): State<Arc<EnvService>>) -> Response {
    s.health()
}

async fn detailed(State(s): State<Arc<EnvService>>) -> Response {
    s.detailed()
}

/// The running services, one per environment.
pub struct Services {
    pub urls: BTreeMap<String, String>,
    pub envs: Vec<Arc<EnvService>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Services {
    /// Starts a service per seeded environment on loopback, and the model's clock.
    pub async fn start(sandbox: Arc<Sandbox>) -> std::io::Result<Self> {
        let (stop, stop_rx) = watch::channel(false);
        let mut urls = BTreeMap::new();
        let mut envs = Vec::new();
        let mut tasks = Vec::new();
        for (ns, _) in ENVIRONMENTS {
            let env = Arc::new(EnvService::new(sandbox.clone(), ns));
            env.advance_to(sandbox.clock.now());
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            urls.insert(ns.to_string(), format!("http://{}", listener.local_addr()?));
            let app = Router::new()
                .route("/metrics", get(metrics))
                .route("/health", get(health))
                .route("/api/v1/monitoring/health/detailed", get(detailed))
                .with_state(env.clone());
            let mut stop_wait = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop_wait.wait_for(|s| *s).await;
                    })
                    .await;
            }));
            envs.push(env);
        }
        let stepped = envs.clone();
        let mut stop_wait = stop_rx;
        let clock = sandbox.clock.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(STEP) => {}
                    _ = stop_wait.wait_for(|s| *s) => return,
                }
                let now = clock.now();
                for env in &stepped {
                    env.advance_to(now);
                }
            }
        }));
        Ok(Services {
            urls,
            envs,
            stop,
            tasks,
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}
