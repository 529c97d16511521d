//! What the cockpit connects to before it opens: a kube client per environment, where the
//! gauges come from, and (in the demo) the sandbox's services in place of the config's URLs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::LocalCluster;
use crate::app::{ClusterInfo, Msg};
use crate::cluster::client;
use crate::config::Config;
use crate::metrics::gauges::GaugeBoard;
use crate::metrics::poll::{METRICS_POLL, poll_metrics};
use crate::metrics::scrape::ScrapeSource;
use crate::metrics::source::MetricSource;
use crate::release::clock::Clock;

/// A client per environment (its kubeconfig context), or why there is none.
pub type Clients = BTreeMap<String, Result<kube::Client, String>>;

pub async fn connect_clients(config: &Config, kubeconfig: Option<&Path>) -> Clients {
    let mut out = BTreeMap::new();
    for (name, env) in &config.environments {
        out.insert(
            name.clone(),
            client::connect(kubeconfig, &env.kube_context).await,
        );
    }
    out
}

/// Where the cluster is, as the status bar shows it.
pub fn cluster_info(
    config: &Config,
    env: &str,
    local: Option<&LocalCluster>,
    clients: &Clients,
) -> Option<ClusterInfo> {
    match local {
        Some(local) => Some(ClusterInfo {
            api: local.api.clone(),
            kubeconfig: local.kubeconfig.clone(),
            simulated: true,
        }),
        None => clients.values().any(|c| c.is_ok()).then(|| ClusterInfo {
            api: format!(
                "kubeconfig context {}",
                config
                    .environment(env)
                    .map(|e| e.kube_context.as_str())
                    .unwrap_or("")
            ),
            kubeconfig: std::env::var_os("KUBECONFIG")
                .map(Into::into)
                .unwrap_or_else(|| "~/.kube/config".into()),
            simulated: false,
        }),
    }
}

/// The demo's environments probe the sandbox's simulated services: health URLs, and the
/// cockpit's own `probe` as the smoke test (the demo has no database: its backup step keeps
/// the detailed health JSON, a stand-in for pg_dump's output).
pub fn point_at_services(config: &mut Config, urls: &BTreeMap<String, String>) {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "release-cockpit".into());
    for (name, env) in &mut config.environments {
        let Some(url) = urls.get(name) else { continue };
        env.health_url = format!("{url}/health");
        env.detailed_health_url = format!("{url}/api/v1/monitoring/health/detailed");
        env.smoke_command = Some(vec![
            exe.clone(),
            "probe".into(),
            env.health_url.clone(),
            env.detailed_health_url.clone(),
        ]);
        if env.backup_command.is_some() {
            env.backup_command = Some(vec![
                exe.clone(),
                "probe".into(),
                env.detailed_health_url.clone(),
            ]);
        }
    }
}

/// Makes the metrics source of an environment, if it has one.
type SourceFactory = Box<dyn Fn(&str) -> Option<Box<dyn MetricSource>> + Send>;

/// Starts a metrics poller for every environment, and returns a board for each; none when
/// nothing provides gauges. Every environment is read all along, each by its own poller:
/// the soak window's triggers watch production while staging is on screen.
pub fn start_pollers(
    config: &Config,
    local: Option<&LocalCluster>,
    speed: f64,
    clock: &Arc<dyn Clock>,
    tx: &mpsc::UnboundedSender<Msg>,
) -> BTreeMap<String, GaugeBoard> {
    // Where gauges come from: the sandbox's services in the demo, else the config.
    let sources: Option<(String, SourceFactory)> = match local {
        Some(local) => {
            let urls = local.services.clone();
            // Five polls in every rate window, in simulated time.
            let window =
                Duration::from_secs_f64((5.0 * METRICS_POLL.as_secs_f64() * speed).max(10.0));
            let make: SourceFactory = Box::new(move |env: &str| {
                urls.get(env).map(|u| {
                    Box::new(ScrapeSource::new(
                        &format!("{u}/metrics"),
                        window,
                        Duration::from_secs(2),
                    )) as Box<dyn MetricSource>
                })
            });
            Some(("scrape of the sandbox's service".into(), make))
        }
        None if config.environments.values().any(|e| e.metrics.is_some()) => {
            let config = config.clone();
            let make: SourceFactory = Box::new(move |env: &str| {
                config
                    .environment(env)
                    .and_then(|e| crate::metrics::source_for(&config, e))
            });
            Some(("configured metrics source".into(), make))
        }
        None => None,
    };
    let mut boards = BTreeMap::new();
    let Some((described, make)) = sources else {
        return boards;
    };
    for env in config.environments.keys() {
        boards.insert(env.clone(), GaugeBoard::new(config, described.clone()));
        let (tx, name) = (tx.clone(), env.clone());
        let sink = Arc::new(move |(at, readings)| {
            tx.send(Msg::Readings {
                env: name.clone(),
                at,
                readings,
            })
            .is_ok()
        });
        tokio::spawn(poll_metrics(make(env), env.clone(), clock.clone(), sink));
    }
    boards
}
