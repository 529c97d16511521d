//! `sandbox --listen ADDR --kubeconfig-out FILE [--speed N]`: the simulated cluster alone,
//! for kubectl and other tools. Prints one JSON line once it serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::{CmdResult, usage};
use crate::release::clock::{Clock, ScaledClock};
use cockpit_sandbox::service::Services;
use cockpit_sandbox::{kubeconfig, seed, server};

pub fn check_speed(speed: f64) -> CmdResult {
    if speed.is_finite() && speed > 0.0 && speed <= 10_000.0 {
        Ok(())
    } else {
        Err(usage(format!(
            "--speed {speed} is out of range (above 0, at most 10000)"
        )))
    }
}

pub fn run(listen: &str, kubeconfig_out: PathBuf, speed: f64) -> CmdResult {
    check_speed(speed)?;
    let addr: SocketAddr = listen.parse().map_err(|e| {
        usage(format!(
            "--listen {listen:?} is not an address such as 127.0.0.1:0 ({e})"
        ))
    })?;
    if !addr.ip().is_loopback() {
        return Err(usage(format!(
            "--listen {listen}: the sandbox serves loopback only (127.0.0.1 or ::1)"
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(chrono::Utc::now(), speed));
        let running = server::start_seeded(clock, addr)
            .await
            .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
        let services = Services::start(running.sandbox.clone())
            .await
            .map_err(|e| usage(format!("cannot start the simulated services: {e}")))?;
        let contexts: Vec<(&str, &str)> = seed::ENVIRONMENTS
            .iter()
            .map(|(ns, _)| (*ns, *ns))
            .collect();
        let users = running.sandbox.users();
        kubeconfig::write(
            &kubeconfig_out,
            &running.kubeconfig_server(),
            &contexts,
            users,
        )
        .map_err(|e| {
            usage(format!(
                "cannot write the kubeconfig to {}: {e}",
                kubeconfig_out.display()
            ))
        })?;
        // The context names only: the tokens stay in the kubeconfig, readable by its owner.
        let ready = serde_json::json!({
            "api": running.url(),
            "kubeconfig": kubeconfig_out.display().to_string(),
            "contexts": kubeconfig::context_names(&contexts, users),
            "services": services.urls,
        });
        super::emit(&format!("{ready}\n"))?;
        wait_for_signal().await;
        services.stop().await;
        running.stop().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
