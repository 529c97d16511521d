//! `demo`: the cockpit on the embedded default procedure, in a state dir of its own, with
//! release 1.2.3 ready to walk through.

use std::path::PathBuf;
use std::sync::Arc;

use cockpit_sandbox::service::Services;
use cockpit_sandbox::{kubeconfig, seed, server};

use super::cockpit::{Launch, LocalCluster, launch};
use super::{CmdResult, apply_contexts, environment, operator, usage};
use crate::cli::Common;
use crate::config::Config;
use crate::release::clock::{Clock, ScaledClock};
use crate::release::store::{StateDir, default_root};

pub const DEMO_RELEASE: &str = "1.2.3";
const DEMO_MARKER: &str = ".release-cockpit-demo";

pub fn run(common: &Common, speed: f64, fresh: bool) -> CmdResult {
    if !(speed.is_finite() && speed > 0.0 && speed <= 10_000.0) {
        return Err(usage(format!(
            "--speed {speed} is out of range (above 0, at most 10000)"
        )));
    }
    let mut config = Config::embedded();
    apply_contexts(common, &mut config)?;
    demo_access(&mut config);
    let env = environment(common, &config)?;
    let root = common
        .state_dir
        .clone()
        .unwrap_or_else(|| default_root().join("demo"));
    // The demo marks its state dir, so it never writes into (or wipes) a real one.
    let marker = root.join(DEMO_MARKER);
    let has_content = std::fs::read_dir(&root).is_ok_and(|mut d| d.next().is_some());
    if has_content && !marker.exists() {
        return Err(usage(format!(
            "{} holds state that is not the demo's; give the demo an empty or demo --state-dir",
            root.display()
        )));
    }
    if fresh && root.exists() {
        std::fs::remove_dir_all(&root)
            .map_err(|e| usage(format!("cannot remove {} for --fresh: {e}", root.display())))?;
    }
    std::fs::create_dir_all(&root)
        .and_then(|_| std::fs::write(&marker, b"release-cockpit demo state\n"))
        .map_err(|e| {
            usage(format!(
                "the demo state dir {} is not writable: {e}",
                root.display()
            ))
        })?;
    let state = StateDir::new(root);
    let release = state
        .current()
        .unwrap_or_else(|| semver::Version::parse(DEMO_RELEASE).expect("valid"));
    launch(Launch {
        config,
        env,
        state,
        operator: operator(common),
        kubeconfig: None,
        release: Some(release),
        create_as: None,
        clock: Arc::new(ScaledClock::new(chrono::Utc::now(), speed)),
        local_cluster: Some(Box::new(start_sandbox)),
        speed,
        observe: common.observe,
    })
}

/// Who may approve in the demo: the sandbox's users, by their groups. Proxy entries are on,
/// so one person can walk a release alone (each such approval says who entered it).
fn demo_access(config: &mut Config) {
    use crate::config::access::Principal;
    let group = |g: &str| vec![Principal::Group(format!("release-cockpit:{g}"))];
    config.access.proxy_approvals = true;
    config.access.approvers = [
        ("team_lead", group("release-engineers")),
        ("engineer", group("reviewers")),
        ("on_call", group("on-call")),
        ("engineering_manager", group("release-engineers")),
        ("cto", group("release-engineers")),
    ]
    .into_iter()
    .map(|(role, who)| (role.to_string(), who))
    .collect();
}

/// The demo's cluster: the sandbox and its simulated services, on loopback, for as long as
/// the cockpit runs.
fn start_sandbox(
    clock: Arc<dyn Clock>,
    state_root: PathBuf,
) -> futures_util::future::BoxFuture<'static, Result<LocalCluster, String>> {
    Box::pin(async move {
        let running = server::start_seeded(clock, "127.0.0.1:0".parse().expect("loopback"))
            .await
            .map_err(|e| format!("cannot start the sandbox cluster: {e}"))?;
        let services = Services::start(running.sandbox.clone())
            .await
            .map_err(|e| format!("cannot start the simulated services: {e}"))?;
        let kubeconfig_path = state_root.join("sandbox.kubeconfig");
        let contexts: Vec<(&str, &str)> = seed::ENVIRONMENTS
            .iter()
            .map(|(ns, _)| (*ns, *ns))
            .collect();
        kubeconfig::write(
            &kubeconfig_path,
            &running.kubeconfig_server(),
            &contexts,
            running.sandbox.users(),
        )
        .map_err(|e| format!("cannot write {}: {e}", kubeconfig_path.display()))?;
        tracing::info!(api = %running.url(), "sandbox cluster started");
        Ok(LocalCluster {
            api: running.url(),
            kubeconfig: kubeconfig_path,
            services: services.urls.clone(),
            stop: Box::pin(async move {
                services.stop().await;
                running.stop().await;
            }),
        })
    })
}
