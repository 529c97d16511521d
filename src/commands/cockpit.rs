//! The cockpit itself: everything that can be wrong with the input is checked before the
//! terminal is taken over, so a mistake prints a message and exits 2 with nothing written.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{CmdResult, environment, load_config, operator, state_dir, usage};
use crate::app::{App, ClusterInfo, Level, Msg};
use crate::cli::Common;
use crate::cluster::client;
use crate::config::Config;
use crate::metrics::gauges::GaugeBoard;
use crate::metrics::scrape::ScrapeSource;
use crate::metrics::source::{MetricSource, Reading};
use crate::release::clock::{Clock, SystemClock};
use crate::release::store::{StateDir, StoreError, parse_version};
use crate::runtime::Runtime;
use crate::{logging, tui, ui};

/// A cluster running in the cockpit's own process, on loopback (the demo's sandbox): its
/// API, the kubeconfig written for it, the simulated service of each environment, and how
/// to stop it.
pub struct LocalCluster {
    pub api: String,
    pub kubeconfig: std::path::PathBuf,
    /// Base URL of each environment's simulated service.
    pub services: std::collections::BTreeMap<String, String>,
    pub stop: futures_util::future::BoxFuture<'static, ()>,
}

/// Starts a local cluster on the cockpit's runtime, on the cockpit's clock, writing its
/// kubeconfig under the state dir given.
pub type StartLocalCluster = Box<
    dyn FnOnce(
            Arc<dyn Clock>,
            std::path::PathBuf,
        ) -> futures_util::future::BoxFuture<'static, Result<LocalCluster, String>>
        + Send,
>;

/// What the cockpit opens on.
pub struct Launch {
    pub config: Config,
    pub env: String,
    pub state: StateDir,
    pub operator: String,
    pub release: Option<semver::Version>,
    pub create_as: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// Start a cluster in this process and use it (the demo's sandbox).
    pub local_cluster: Option<StartLocalCluster>,
    /// How much faster than the wall clock simulated time runs (the demo's --speed).
    pub speed: f64,
}

pub fn run(common: &Common, release: Option<&str>, create_as: Option<&str>) -> CmdResult {
    let config = load_config(common)?;
    let env = environment(common, &config)?;
    let state = state_dir(common, &config);
    let version = release
        .map(parse_version)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    launch(Launch {
        config,
        env,
        state,
        operator: operator(common),
        release: version,
        create_as: create_as.map(String::from),
        clock: Arc::new(SystemClock),
        local_cluster: None,
        speed: 1.0,
    })
}

fn store_error(e: StoreError) -> Box<dyn std::error::Error + Send + Sync> {
    usage(e.to_string())
}

pub fn launch(l: Launch) -> CmdResult {
    if let Some(t) = &l.create_as
        && l.config.release_type(t).is_none()
    {
        return Err(usage(crate::release::rules::unknown_type(&l.config, t)));
    }
    l.state.ensure_writable().map_err(store_error)?;
    let (log_file, _log_guard) = logging::init(&l.state.log_dir()).map_err(|e| {
        usage(format!(
            "cannot write logs in {}: {e}",
            l.state.log_dir().display()
        ))
    })?;
    tracing::info!(state = %l.state.root().display(), config = %l.config.origin, "cockpit starting");
    let version = l.release.clone().or_else(|| l.state.current());
    let opened = match &version {
        Some(v) => {
            let create_as = l
                .create_as
                .clone()
                .or_else(|| l.config.release_types.first().map(|t| t.id.clone()))
                .unwrap_or_default();
            let o = l
                .state
                .open_or_create(&l.config, v, &create_as, &l.operator, l.clock.now())
                .map_err(store_error)?;
            if let Err(e) = l.state.set_current(v) {
                tracing::warn!("could not remember the current release: {e}");
            }
            Some(o)
        }
        None => None,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // The demo's cluster runs in this process, on loopback, for as long as the cockpit.
        let sandbox = match l.local_cluster {
            Some(start) => Some(start(l.clock.clone(), l.state.root().to_path_buf()).await.map_err(usage)?),
            None => None,
        };
        let mut config = l.config.clone();
        if let Some(local) = &sandbox {
            point_at_services(&mut config, &local.services);
        }
        let clients = connect_clients(&config, sandbox.as_ref().map(|local| local.kubeconfig.as_path())).await;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut app = App::new(
            config.clone(),
            l.env.clone(),
            l.operator.clone(),
            l.clock.now(),
        );
        app.log_file = log_file;
        app.cluster = match &sandbox {
            Some(local) => Some(ClusterInfo {
                api: local.api.clone(),
                kubeconfig: local.kubeconfig.clone(),
                simulated: true,
            }),
            None => clients.values().any(|c| c.is_ok()).then(|| ClusterInfo {
                api: format!("kubeconfig context {}", config.environment(&app.env).map(|e| e.kube_context.as_str()).unwrap_or("")),
                kubeconfig: std::env::var_os("KUBECONFIG").map(Into::into).unwrap_or_else(|| "~/.kube/config".into()),
                simulated: false,
            }),
        };
        app.unreachable = clients
            .iter()
            .filter_map(|(env, c)| c.as_ref().err().map(|e| (env.clone(), e.clone())))
            .collect();
        for (env, c) in &clients {
            if let Err(e) = c {
                tracing::warn!("no cluster for {env}: {e}");
                app.log(Level::Warn, format!("no cluster for {env}: {e}"));
            }
        }
        app.state_dir = l.state.root().to_path_buf();
        app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        app.panic_key = std::env::var_os("RELEASE_COCKPIT_TEST_PANIC").is_some();
        // Where gauges come from: the sandbox's services in the demo, else the config.
        let sources: Option<(String, SourceFactory)> = match &sandbox {
            Some(local) => {
                let urls = local.services.clone();
                // Five polls in every rate window, in simulated time.
                let window = Duration::from_secs_f64((5.0 * METRICS_POLL.as_secs_f64() * l.speed).max(10.0));
                let make: SourceFactory = Box::new(move |env: &str| {
                    urls.get(env).map(|u| {
                        Box::new(ScrapeSource::new(&format!("{u}/metrics"), window, Duration::from_secs(2)))
                            as Box<dyn MetricSource>
                    })
                });
                Some(("scrape of the sandbox's service".into(), make))
            }
            None if l.config.environments.values().any(|e| e.metrics.is_some()) => {
                let config = l.config.clone();
                let make: SourceFactory = Box::new(move |env: &str| {
                    config.environment(env).and_then(|e| crate::metrics::source_for(&config, e))
                });
                Some(("configured metrics source".into(), make))
            }
            None => None,
        };
        if let Some((described, make)) = sources {
            // Every environment is read all along, each by its own poller: the soak
            // window's triggers watch production while staging is on screen, and a slow
            // source for one does not delay the other.
            for env in l.config.environments.keys() {
                app.boards.insert(env.clone(), GaugeBoard::new(&l.config, described.clone()));
                tokio::spawn(poll_metrics(make(env), env.clone(), l.clock.clone(), tx.clone()));
            }
        }
        let mut rt = Runtime::new(
            config.clone(),
            l.state.clone(),
            l.operator,
            l.clock.clone(),
            tx.clone(),
        );
        rt.clients = clients;
        if app.cluster.is_some() {
            rt.watch_every_cluster(&mut app);
        }
        if let Some(o) = opened {
            let ignored_type = l
                .create_as
                .as_ref()
                .filter(|t| !o.created && **t != o.state.release_type);
            let type_notice = ignored_type.map(|t| {
                format!(
                    "release {} already exists as {}; --type {t} was not applied (t changes the type)",
                    o.state.version, o.state.release_type
                )
            });
            rt.set_journal(o.journal);
            let releases = l.state.release_names();
            rt.process(
                &mut app,
                Msg::ReleaseOpened {
                    state: o.state,
                    releases,
                    notice: o.recovery.map(|r| r.to_string()).or(type_notice),
                },
            );
            if o.created {
                app.log(Level::Info, "new release: its journal was created");
            }
        } else {
            app.releases = l.state.release_names();
        }
        let result = event_loop(app, rt, tx, rx, l.clock).await;
        if let Some(local) = sandbox {
            local.stop.await;
        }
        result
    })
}

/// The demo's environments probe the sandbox's simulated services: health URLs, and the
/// cockpit's own `probe` as the smoke test (the demo has no database: its backup step keeps
/// the detailed health JSON, a stand-in for pg_dump's output).
fn point_at_services(config: &mut Config, urls: &std::collections::BTreeMap<String, String>) {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "release-cockpit".into());
    for (name, env) in config.environments.iter_mut() {
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

/// A client per environment (its kubeconfig context), or why there is none.
async fn connect_clients(
    config: &Config,
    kubeconfig: Option<&std::path::Path>,
) -> std::collections::BTreeMap<String, Result<kube::Client, String>> {
    let mut out = std::collections::BTreeMap::new();
    for (name, env) in &config.environments {
        out.insert(
            name.clone(),
            client::connect(kubeconfig, &env.kube_context).await,
        );
    }
    out
}

/// How often the metrics source is read (wall time).
const METRICS_POLL: Duration = Duration::from_secs(1);

/// Makes the metrics source of an environment, if it has one.
type SourceFactory = Box<dyn Fn(&str) -> Option<Box<dyn MetricSource>> + Send>;

/// Reads one environment's metrics every `METRICS_POLL` until the cockpit stops listening.
async fn poll_metrics(
    mut source: Option<Box<dyn MetricSource>>,
    env: String,
    clock: Arc<dyn Clock>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let mut interval = tokio::time::interval(METRICS_POLL);
    // A poll that overran (a source timing out) is not made up for with a burst.
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let at = clock.now();
        let readings = match &mut source {
            Some(s) => s.poll(at).await,
            None => crate::metrics::config_gauges()
                .map(|g| {
                    (
                        g.to_string(),
                        Reading::no_data(format!("no metrics source for {env}")),
                    )
                })
                .collect(),
        };
        if tx
            .send(Msg::Readings {
                env: env.clone(),
                at,
                readings,
            })
            .is_err()
        {
            return;
        }
    }
}

async fn event_loop(
    mut app: App,
    mut rt: Runtime,
    tx: mpsc::UnboundedSender<Msg>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    clock: Arc<dyn Clock>,
) -> CmdResult {
    let mut guard = tui::enter()?;
    let size = guard.terminal.size()?;
    app.size = (size.width, size.height);

    let input_tx = tx.clone();
    tokio::spawn(async move {
        let mut events = crossterm::event::EventStream::new();
        let why = loop {
            let msg = match events.next().await {
                Some(Ok(crossterm::event::Event::Key(k))) => Msg::Key(k),
                Some(Ok(crossterm::event::Event::Mouse(m))) => Msg::Mouse(m),
                Some(Ok(crossterm::event::Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => break format!("the terminal's input failed: {e}"),
                None => break "the terminal's input ended".to_string(),
            };
            if input_tx.send(msg).is_err() {
                return;
            }
        };
        let _ = input_tx.send(Msg::Shutdown(why));
    });
    let signal_tx = tx.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
            _ = int.recv() => "SIGINT",
        };
        let _ = signal_tx.send(Msg::Shutdown(format!("received {name}")));
    });
    let tick_tx = tx.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            if tick_tx.send(Msg::Tick(clock.now())).is_err() {
                break;
            }
        }
    });
    drop(tx);

    guard.terminal.draw(|f| ui::draw(f, &app))?;
    while let Some(msg) = rx.recv().await {
        rt.process(&mut app, msg);
        // Fold in everything already waiting before paying for a frame.
        while let Ok(more) = rx.try_recv() {
            rt.process(&mut app, more);
            if app.quit {
                break;
            }
        }
        if app.quit {
            break;
        }
        guard.terminal.draw(|f| ui::draw(f, &app))?;
    }
    tracing::info!("cockpit closed");
    drop(guard);
    Ok(())
}
