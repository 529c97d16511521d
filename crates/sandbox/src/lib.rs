//! The sandbox: a small Kubernetes API server with Deployment, ReplicaSet and Job
//! controllers and a simulated kubelet, close enough that kubectl and kube-rs cannot tell.
//! Four built-in users with bearer tokens, and one table of who may do what, stand in for
//! a real cluster's authentication and RBAC.
//! It is the demo's cluster and the ground truth of every rollout test.

pub mod admin;
pub mod api;
pub mod authn;
pub mod authz;
pub mod controllers;
pub mod defaults;
pub mod discovery;
pub mod errors;
pub mod events;
mod http;
pub mod kubeconfig;
pub mod logs;
pub mod naming;
pub mod output;
pub mod patch;
pub mod persist;
mod protobuf;
pub mod resources;
pub mod reviews;
pub mod scale;
pub mod scenario;
pub mod seed;
pub mod selectors;
pub mod server;
pub mod service;
pub mod store;
pub mod table;
mod target;
pub mod tls;
pub mod users;
pub mod validate;
pub mod watch;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, broadcast};

use cockpit_clock::Clock;
use store::Store;

/// A mutating request, as the request log records it for tests to count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    pub status: u16,
}

/// Faults a reliability test can inject on the admin path.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Answer this many API requests with `fail_status` instead.
    pub fail_next: u32,
    pub fail_status: u16,
    /// Added to every API request.
    pub latency_ms: u64,
    /// The next watch gets an in-stream 410 Expired.
    pub expire_next_watch: bool,
}

/// Everything the server, the controllers and the admin path share.
pub struct Sandbox {
    store: Mutex<Store>,
    controller_memory: Mutex<controllers::Memory>,
    pub clock: Arc<dyn Clock>,
    pub faults: Mutex<Faults>,
    pub requests: Mutex<Vec<RequestRecord>>,
    pub controllers_paused: AtomicBool,
    /// Wakes the controller loop after a write, so a change is acted on at once.
    pub kick: Notify,
    /// Ends every open watch stream (a fault, and part of a restart).
    pub drop_watches: broadcast::Sender<()>,
    /// Asks the server to go down for `restart_down_ms` and come back on the same port.
    pub restart: Notify,
    /// Set while the server shuts down: a watch opened then (a client re-watching on a
    /// kept-alive connection) ends at once instead of holding the shutdown up.
    pub shutting_down: std::sync::atomic::AtomicBool,
    pub restart_down_ms: AtomicU64,
    /// Made with the sandbox, so a kubeconfig written once stays good across restarts.
    users: Vec<users::SandboxUser>,
    tls: tls::ServerTls,
}

impl Sandbox {
    pub fn new(clock: Arc<dyn Clock>) -> Arc<Self> {
        Self::with_store(clock, Store::new())
    }

    /// A sandbox on objects it already has (a saved state, `persist::restore`).
    pub fn with_store(clock: Arc<dyn Clock>, store: Store) -> Arc<Self> {
        let (drop_watches, _) = broadcast::channel(16);
        Arc::new(Self {
            store: Mutex::new(store),
            controller_memory: Mutex::new(controllers::Memory::default()),
            clock,
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
            controllers_paused: AtomicBool::new(false),
            kick: Notify::new(),
            drop_watches,
            restart: Notify::new(),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            restart_down_ms: AtomicU64::new(500),
            users: users::generate(),
            tls: tls::ServerTls::generate(),
        })
    }

    /// The built-in users, each with this sandbox's token for it.
    pub fn users(&self) -> &[users::SandboxUser] {
        &self.users
    }

    /// The bearer token of the user named `user`, if there is one.
    pub fn token_of(&self, user: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|u| u.name() == user)
            .map(users::SandboxUser::token)
    }

    /// The token of the user who may do anything: what harnesses and the default
    /// contexts (`staging`, `production`) use.
    pub fn release_engineer_token(&self) -> &str {
        self.token_of(users::RELEASE_ENGINEER)
            .expect("the release engineer is a built-in user")
    }

    /// The certificate the server's https side presents, in PEM (self-signed: trust it
    /// as its own certificate authority).
    pub fn certificate_pem(&self) -> &str {
        self.tls.certificate_pem()
    }

    pub(crate) fn tls(&self) -> &tls::ServerTls {
        &self.tls
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock would be a sandbox bug; keep serving what is there.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the controllers once at the current clock (tests with a manual clock call this).
    pub fn reconcile(&self) {
        if self.controllers_paused.load(Ordering::SeqCst) {
            return;
        }
        let now = self.clock.now();
        let mut memory = self
            .controller_memory
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        controllers::reconcile(&mut self.store(), &mut memory, now);
    }

    pub fn record_request(&self, r: RequestRecord) {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(r);
    }

    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
