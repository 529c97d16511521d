//! The cockpit itself: everything that can be wrong with the input is checked before the
//! terminal is taken over, so a mistake prints a message and exits 2 with nothing written.

mod event_loop;
pub mod setup;

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{CmdResult, environment, load_config, operator, state_dir, usage};
use crate::app::{App, AppInit, Level, Msg};
use crate::cli::Common;
use crate::cluster::identity;
use crate::config::Config;
use crate::logging;
use crate::release::clock::{Clock, SystemClock};
use crate::release::store::{StateDir, StoreError, parse_version};
use crate::runtime::{Opened, Runtime, SharedJournal};

/// A cluster running in the cockpit's own process, on loopback (the demo's sandbox): its
/// API, the kubeconfig written for it, the simulated service of each environment, and how
/// to stop it.
pub struct LocalCluster {
    pub api: String,
    pub kubeconfig: std::path::PathBuf,
    /// Base URL of each environment's simulated service.
    pub services: std::collections::BTreeMap<String, String>,
    /// What the cluster has to tell once the cockpit is open (the demo: how to join it).
    pub notices: Vec<(Level, String)>,
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
    /// The name to record under when no cluster says who we are (unverified).
    pub operator: String,
    /// `--kubeconfig`: else `$KUBECONFIG`, `~/.kube/config`; the demo's is its sandbox's.
    pub kubeconfig: Option<std::path::PathBuf>,
    pub release: Option<semver::Version>,
    pub create_as: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// Start a cluster in this process and use it (the demo's sandbox).
    pub local_cluster: Option<StartLocalCluster>,
    /// How much faster than the wall clock simulated time runs (the demo's --speed).
    pub speed: f64,
    /// `--observe`: watch a shared release without claiming the driver's lease.
    pub observe: bool,
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
        kubeconfig: common.kubeconfig.clone(),
        release: version,
        create_as: create_as.map(String::from),
        clock: Arc::new(SystemClock),
        local_cluster: None,
        speed: 1.0,
        observe: common.observe,
    })
}

fn store_error(e: StoreError) -> color_eyre::Report {
    usage(e.to_string())
}

/// Opens (or creates, as the runtime's operator) the release the cockpit starts on, if
/// there is one, where the config keeps journals.
fn open_release(l: &Launch, rt: &Runtime) -> color_eyre::Result<Option<Opened>> {
    let version = l.release.clone().or_else(|| l.state.current());
    Ok(match &version {
        Some(v) => {
            let create_as = l
                .create_as
                .clone()
                .or_else(|| l.config.release_types.first().map(|t| t.id.clone()))
                .unwrap_or_default();
            let o = rt.open_journal(v, &create_as).map_err(usage)?;
            if let Err(e) = l.state.set_current(v) {
                tracing::warn!("could not remember the current release: {e}");
            }
            Some(o)
        }
        None => None,
    })
}

/// Where the shared journal is, when the config keeps journals in the cluster. Without
/// its cluster the cockpit cannot journal at all.
async fn shared_journal(
    config: &crate::config::Config,
    kubeconfig: Option<&std::path::Path>,
) -> color_eyre::Result<Option<SharedJournal>> {
    SharedJournal::for_config(config, kubeconfig)
        .await
        .transpose()
        .map_err(usage)
}

pub fn launch(mut l: Launch) -> CmdResult {
    let start_local = l.local_cluster.take();
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // The demo's cluster runs in this process, on loopback, for as long as the cockpit.
        let mut local = match start_local {
            Some(start) => Some(
                start(l.clock.clone(), l.state.root().to_path_buf())
                    .await
                    .map_err(usage)?,
            ),
            None => None,
        };
        let mut config = l.config.clone();
        if let Some(local) = &local {
            setup::point_at_services(&mut config, &local.services);
        }
        let kubeconfig = local
            .as_ref()
            .map(|c| c.kubeconfig.clone())
            .or(l.kubeconfig.clone());
        let clients = setup::connect_clients(&config, kubeconfig.as_deref()).await;
        // Who we are comes before anything is written: even the creation is theirs.
        let identified =
            identity::identify(&config, &clients, &l.operator, super::IDENTIFY_TIMEOUT).await;
        let (tx, rx) = mpsc::unbounded_channel();
        let boards = setup::start_pollers(&l.config, local.as_ref(), l.speed, &l.clock, &tx);
        let mut app = App::from_init(AppInit {
            cluster: setup::cluster_info(&config, &l.env, local.as_ref(), &clients),
            log_file,
            state_dir: l.state.root().to_path_buf(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            panic_key: std::env::var_os("RELEASE_COCKPIT_TEST_PANIC").is_some(),
            boards,
            identity: identified.identity.clone(),
            ..AppInit::new(config.clone(), l.env.clone(), l.operator.clone(), l.clock.now())
        });
        for note in identified.notes {
            app.log(Level::Warn, note);
        }
        let mut rt = Runtime::new(
            config.clone(),
            l.state.clone(),
            identified.identity.author,
            l.clock.clone(),
            tx.clone(),
        );
        rt.shared_journal = shared_journal(&config, kubeconfig.as_deref()).await?;
        let opened = open_release(&l, &rt)?;
        for (env, client) in clients {
            rt.set_client(&mut app, &env, client);
        }
        if app.cluster.is_some() {
            rt.watch_every_cluster(&mut app);
        }
        let releases = l.state.release_names();
        match opened {
            Some(o) => {
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
                let notice = [o.notice.clone(), type_notice]
                    .into_iter()
                    .flatten()
                    .reduce(|a, b| format!("{a}; {b}"));
                rt.set_journal(&o.state.version.clone(), o.journal, o.state.events);
                // The role before the release: a reviewer's cockpit must not resume the
                // driver's action in flight.
                let may_take_over = crate::app::shared::may_take_over(&app);
                if let Some(role) = rt.take_role(l.observe, may_take_over).await {
                    rt.process(&mut app, role);
                }
                rt.process(
                    &mut app,
                    Msg::ReleaseOpened {
                        state: o.state,
                        releases,
                        notice,
                    },
                );
                if o.created {
                    rt.process(
                        &mut app,
                        Msg::Notice {
                            level: Level::Info,
                            text: "new release: its journal was created".into(),
                        },
                    );
                }
            }
            None => rt.process(&mut app, Msg::NoRelease { releases }),
        }
        let notices = local.as_mut().map(|c| std::mem::take(&mut c.notices));
        for (level, text) in notices.into_iter().flatten() {
            rt.process(&mut app, Msg::Notice { level, text });
        }
        let result = event_loop::run(app, rt, tx, rx, l.clock).await;
        if let Some(local) = local {
            local.stop.await;
        }
        result
    })
}
