//! The demo's cluster: the sandbox and its simulated services, in this process, on
//! loopback, for as long as the cockpit runs. Its state is saved under the state dir and
//! its port is kept there too, so a second terminal finds it again after a restart.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cockpit_sandbox::persist::{self, Snapshot};
use cockpit_sandbox::service::Services;
use cockpit_sandbox::{kubeconfig, seed, server};

use super::join;
use crate::app::Level;
use crate::commands::cockpit::{LocalCluster, StartLocalCluster};
use crate::release::clock::Clock;

const SANDBOX_DIR: &str = "sandbox";
/// The port the sandbox listened on last, as a number.
const PORT_FILE: &str = "port";
pub const KUBECONFIG: &str = "sandbox.kubeconfig";

pub fn sandbox_dir(root: &Path) -> PathBuf {
    root.join(SANDBOX_DIR)
}

/// Starts the sandbox from `saved` (else a newly seeded one) on the cockpit's clock, which
/// must go on from the saved time.
pub fn starter(saved: Option<Snapshot>, release: semver::Version) -> StartLocalCluster {
    Box::new(move |clock, root| Box::pin(start(clock, root, saved, release)))
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

async fn start(
    clock: Arc<dyn Clock>,
    root: PathBuf,
    saved: Option<Snapshot>,
    release: semver::Version,
) -> Result<LocalCluster, String> {
    let dir = sandbox_dir(&root);
    let mut notices = Vec::new();
    if let Some(s) = &saved {
        notices.push((
            Level::Info,
            format!(
                "the demo's cluster goes on from where it was saved ({} objects, simulated time {})",
                s.len(),
                s.simulated_time().format("%Y-%m-%d %H:%M:%S UTC")
            ),
        ));
    }
    let sb = persist::restore_or_seed(clock, saved);
    let cannot = |e: std::io::Error| format!("cannot start the sandbox cluster: {e}");
    let running = match remembered_port(&dir) {
        Some(port) => match server::start_persisted(sb.clone(), loopback(port), &dir).await {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let r = server::start_persisted(sb, loopback(0), &dir)
                    .await
                    .map_err(cannot)?;
                notices.push((
                    Level::Warn,
                    format!(
                        "the demo's cluster port {port} is taken; it listens on {} now \
                         (a cockpit that had joined must join again)",
                        r.addr.port()
                    ),
                ));
                r
            }
            Err(e) => return Err(cannot(e)),
        },
        None => server::start_persisted(sb, loopback(0), &dir)
            .await
            .map_err(cannot)?,
    };
    if let Err(e) = std::fs::write(dir.join(PORT_FILE), running.addr.port().to_string()) {
        notices.push((
            Level::Warn,
            format!("cannot remember the demo's cluster port: {e}"),
        ));
    }
    let services = Services::start(running.sandbox.clone())
        .await
        .map_err(|e| format!("cannot start the simulated services: {e}"))?;
    let kubeconfig_path = root.join(KUBECONFIG);
    let contexts: Vec<(&str, &str)> = seed::ENVIRONMENTS
        .iter()
        .map(|(ns, _)| (*ns, *ns))
        .collect();
    // The users' tokens are new at each start: a cockpit that had joined joins again.
    kubeconfig::write(
        &kubeconfig_path,
        &running.kubeconfig_server(),
        &contexts,
        running.sandbox.users(),
    )
    .map_err(|e| format!("cannot write {}: {e}", kubeconfig_path.display()))?;
    match join::announce(&root, &kubeconfig_path, &release) {
        Ok(lines) => {
            for line in lines {
                tracing::info!("{line}");
                notices.push((Level::Info, line));
            }
        }
        Err(e) => notices.push((
            Level::Warn,
            format!("cannot write how to join the demo: {e}"),
        )),
    }
    tracing::info!(api = %running.url(), dir = %dir.display(), "sandbox cluster started");
    Ok(LocalCluster {
        api: running.url(),
        kubeconfig: kubeconfig_path,
        services: services.urls.clone(),
        notices,
        stop: Box::pin(async move {
            services.stop().await;
            running.stop().await;
        }),
    })
}

/// The port saved by the last start, if it is one.
fn remembered_port(dir: &Path) -> Option<u16> {
    std::fs::read_to_string(dir.join(PORT_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p| *p != 0)
}
