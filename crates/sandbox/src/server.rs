//! Serving the sandbox: HTTP and HTTPS on one loopback port (restartable on that port,
//! state kept), the controller loop that runs on every write and on a short timer, and,
//! for a sandbox whose state lives in a directory, the task that saves it (`persist`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::persist::{Durable, Persister};
use super::tls::PlainOrTls;
use super::{Sandbox, api};

/// How often the controllers run without a write to prompt them (pods age with the clock).
const CONTROLLER_PERIOD: Duration = Duration::from_millis(100);

pub struct Running {
    pub addr: SocketAddr,
    pub sandbox: Arc<Sandbox>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    persister: Option<Persister>,
}

impl Running {
    /// Plain HTTP: kube-rs clients with a token set, raw HTTP tests, the admin path.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The same port over TLS, trusting `Sandbox::certificate_pem`: what a kubeconfig
    /// names, since kubectl sends a token only to an https server.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The https side and its certificate, for `kubeconfig::write`.
    pub fn kubeconfig_server(&self) -> super::kubeconfig::Server {
        super::kubeconfig::Server {
            url: self.https_url(),
            certificate_pem: self.sandbox.certificate_pem().to_string(),
        }
    }

    /// Stops serving and the controllers; waits for both, then saves a persisted
    /// sandbox's state one last time.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.sandbox.drop_watches.send(());
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        // Saving went on meanwhile, so the writes the server drained were answered; a
        // failure of the last save has nobody left to tell.
        if let Some(p) = self.persister {
            let _ = p.finish(&self.sandbox).await;
        }
    }
}

fn router(sb: Arc<Sandbox>, durable: Option<Arc<Durable>>) -> Router {
    let api = Router::new().fallback(api::handle).with_state(sb);
    match durable {
        Some(d) => api.layer(axum::middleware::from_fn_with_state(
            d,
            super::persist::answer_once_saved,
        )),
        None => api,
    }
}

async fn bind(addr: SocketAddr) -> TcpListener {
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return l,
            // The port may linger for a moment after a restart; it is ours to take back.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A sandbox seeded with the staging and production Deployments, serving on `listen`:
/// what `sandbox`, `demo` and the tests all start.
pub async fn start_seeded(
    clock: Arc<dyn cockpit_clock::Clock>,
    listen: SocketAddr,
) -> std::io::Result<Running> {
    let sb = Sandbox::new(clock.clone());
    super::seed::populate(&mut sb.store(), clock.now());
    start(sb, listen).await
}

/// Binds `listen` (port 0 picks a free one) and serves until stopped.
pub async fn start(sb: Arc<Sandbox>, listen: SocketAddr) -> std::io::Result<Running> {
    let listener = TcpListener::bind(listen).await?;
    serve(sb, listener, None)
}

/// `start`, with the sandbox's state saved in `dir` as it changes, and a write answered
/// once it is saved: start it from `persist::load` of the same dir to go on after a stop.
/// Nothing is written when `listen` cannot be bound.
pub async fn start_persisted(
    sb: Arc<Sandbox>,
    listen: SocketAddr,
    dir: &Path,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(listen).await?;
    let persister = Persister::start(&sb, dir).await?;
    serve(sb, listener, Some(persister))
}

fn serve(
    sb: Arc<Sandbox>,
    listener: TcpListener,
    persister: Option<Persister>,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let durable = persister.as_ref().map(Persister::durable);

    let server_sb = sb.clone();
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        let mut listener = Some(listener);
        loop {
            let l = match listener.take() {
                Some(l) => l,
                None => bind(addr).await,
            };
            let sb = server_sb.clone();
            let mut stop_wait = server_stop.clone();
            let restart_sb = server_sb.clone();
            let (restarting_tx, mut restarting_rx) = watch::channel(false);
            let shutdown = async move {
                tokio::select! {
                    _ = restart_sb.restart.notified() => { let _ = restarting_tx.send(true); }
                    _ = stop_wait.wait_for(|s| *s) => {}
                }
                // Open watch streams end, so their connections can close; new ones end at once.
                restart_sb.shutting_down.store(true, Ordering::SeqCst);
                let _ = restart_sb.drop_watches.send(());
            };
            let l = PlainOrTls::new(l, addr, server_sb.tls());
            let serve =
                axum::serve(l, router(sb, durable.clone())).with_graceful_shutdown(shutdown);
            let _ = tokio::time::timeout_at(
                tokio::time::Instant::now() + Duration::from_secs(3600 * 24 * 365),
                serve,
            )
            .await;
            if *server_stop.borrow_and_update() {
                return;
            }
            server_sb.shutting_down.store(false, Ordering::SeqCst);
            if *restarting_rx.borrow_and_update() {
                let down = server_sb.restart_down_ms.load(Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(down)).await;
            }
        }
    });

    let ctl_sb = sb.clone();
    let mut ctl_stop = stop_rx;
    let controllers = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(CONTROLLER_PERIOD) => {}
                _ = ctl_sb.kick.notified() => {}
                _ = ctl_stop.wait_for(|s| *s) => return,
            }
            // A pass over thousands of pods is synchronous work: off the async workers, so
            // a cockpit sharing this runtime (the demo) keeps drawing meanwhile.
            let sb = ctl_sb.clone();
            let _ = tokio::task::spawn_blocking(move || sb.reconcile()).await;
        }
    });
    Ok(Running {
        addr,
        sandbox: sb,
        stop,
        tasks: vec![server, controllers],
        persister,
    })
}
