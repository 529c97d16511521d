//! The sandbox's state on disk, so that a sandbox stopped or killed (`kill -9` included)
//! starts again with its cluster as it was: every object, the resourceVersion and uid
//! counters, the simulated time it had reached, and the log of mutating requests.
//!
//! A snapshot is one JSON file, replaced whole (temp file, fsync, rename, fsync of the
//! directory), so a kill at any moment leaves the old snapshot or the new one, never a mix.
//! A write through the API is answered only once a snapshot holding it is on disk, as a
//! real API server answers once etcd has it: a journal entry the cockpit was told is saved
//! cannot be lost by a kill. The controllers' own writes are saved within `SAVE_PERIOD`;
//! losing the last of them to a kill only puts the cluster a moment back, and the
//! controllers redo them.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use cockpit_clock::{Clock, ScaledClock};

use super::errors::ApiError;
use super::resources::by_store;
use super::store::{Key, Store, name_of, rv_of};
use super::{RequestRecord, Sandbox};

pub const STATE_FILE: &str = "state.json";
/// Where a snapshot is written before it replaces `STATE_FILE`. A torn one (a kill while
/// writing) is never read, and the next save overwrites it.
pub const TEMP_FILE: &str = "state.json.tmp";
const FORMAT: u32 = 1;

/// How soon the controllers' writes are saved when no request waits on them.
pub const SAVE_PERIOD: Duration = Duration::from_millis(200);
/// How often a sandbox that does not change still saves, for its clock: after a kill,
/// simulated time resumes at most this much wall time before where it had reached.
pub const CLOCK_PERIOD: Duration = Duration::from_secs(1);
/// ResourceVersions (and uids) a sandbox may hand out between two snapshots, far more than
/// it does in `SAVE_PERIOD`. A restored sandbox counts on from above them, so a number
/// handed out after the last snapshot and lost with the process is never handed out again
/// for something else; and a watch from such a number is older than the restart, so it
/// gets 410 and relists.
pub const HEADROOM: u64 = 1_000_000;
/// The newest mutating requests a snapshot keeps (the log is for tests and inspection).
pub const KEPT_REQUESTS: usize = 10_000;

pub fn state_file(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    format: u32,
    simulated_time: DateTime<Utc>,
    resource_version: u64,
    uids: u64,
    objects: Vec<ObjectOut<'a>>,
    requests: &'a [RequestRecord],
}

#[derive(Serialize)]
struct ObjectOut<'a> {
    store: &'a str,
    namespace: &'a str,
    object: &'a Value,
}

#[derive(Deserialize)]
struct SnapshotIn {
    format: u32,
    simulated_time: DateTime<Utc>,
    resource_version: u64,
    uids: u64,
    objects: Vec<ObjectIn>,
    #[serde(default)]
    requests: Vec<RequestRecord>,
}

#[derive(Deserialize)]
struct ObjectIn {
    store: String,
    namespace: String,
    object: Value,
}

/// A snapshot read back, checked, ready to start a sandbox from.
pub struct Snapshot {
    simulated_time: DateTime<Utc>,
    resource_version: u64,
    uids: u64,
    objects: BTreeMap<Key, Value>,
    requests: Vec<RequestRecord>,
}

impl Snapshot {
    /// The simulated time the sandbox had reached when this was saved.
    pub fn simulated_time(&self) -> DateTime<Utc> {
        self.simulated_time
    }

    /// The resourceVersion counter as saved (a restored sandbox counts on from above it).
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The clock to give the restored sandbox (and whoever shares its time): simulated
    /// time goes on from where it was saved, at `speed`, or from the wall clock's now if
    /// that is later (at speed 1, after the demo was down a while): never back, and at
    /// speed 1 in step with the wall-clock cockpits that joined the release.
    pub fn resumed_clock(&self, speed: f64) -> ScaledClock {
        ScaledClock::new(self.simulated_time.max(Utc::now()), speed)
    }
}

/// What one save wrote.
#[derive(Debug, Clone, Copy)]
pub struct Saved {
    pub bytes: usize,
    pub resource_version: u64,
    pub simulated_time: DateTime<Utc>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} is not a sandbox snapshot: {why}", path.display()),
    )
}

/// The snapshot in `dir`, or `None` when there is none yet. One that cannot be read is an
/// error, never a reason to start over silently: it is someone's cluster.
pub fn load(dir: &Path) -> io::Result<Option<Snapshot>> {
    let path = state_file(dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let saved: SnapshotIn = serde_json::from_slice(&bytes).map_err(|e| invalid(&path, e))?;
    if saved.format != FORMAT {
        return Err(invalid(
            &path,
            format!("format {} (this sandbox reads {FORMAT})", saved.format),
        ));
    }
    let mut objects = BTreeMap::new();
    for o in saved.objects {
        let Some(resource) = by_store(&o.store) else {
            return Err(invalid(
                &path,
                format!("unknown kind of object {:?}", o.store),
            ));
        };
        let name = name_of(&o.object).to_string();
        if name.is_empty() {
            return Err(invalid(&path, format!("a {} without a name", o.store)));
        }
        if rv_of(&o.object) > saved.resource_version {
            return Err(invalid(
                &path,
                format!(
                    "{} {name} is newer than the snapshot's resourceVersion {}",
                    o.store, saved.resource_version
                ),
            ));
        }
        let key = (resource.store, o.namespace, name);
        if objects.insert(key.clone(), o.object).is_some() {
            return Err(invalid(&path, format!("{key:?} twice")));
        }
    }
    Ok(Some(Snapshot {
        simulated_time: saved.simulated_time,
        resource_version: saved.resource_version,
        uids: saved.uids,
        objects,
        requests: saved.requests,
    }))
}

/// A sandbox on `clock` with the snapshot's objects; `clock` should go on from
/// `Snapshot::simulated_time` (`Snapshot::resumed_clock`).
pub fn restore(clock: Arc<dyn Clock>, saved: Snapshot) -> Arc<Sandbox> {
    let store = Store::restored(
        saved.resource_version + HEADROOM,
        saved.uids + HEADROOM,
        saved.objects,
    );
    let sb = Sandbox::with_store(clock, store);
    *sb.requests.lock().unwrap_or_else(|p| p.into_inner()) = saved.requests;
    sb
}

/// The sandbox a state dir holds: restored from its snapshot, else newly seeded.
pub fn restore_or_seed(clock: Arc<dyn Clock>, saved: Option<Snapshot>) -> Arc<Sandbox> {
    match saved {
        Some(s) => restore(clock, s),
        None => {
            let sb = Sandbox::new(clock.clone());
            super::seed::populate(&mut sb.store(), clock.now());
            sb
        }
    }
}

/// Writes the sandbox's state to `dir` (made if missing), replacing the snapshot there
/// atomically. One save at a time per dir: they share the temp file.
pub fn save(sb: &Sandbox, dir: &Path) -> io::Result<Saved> {
    std::fs::create_dir_all(dir)?;
    let (bytes, resource_version, simulated_time) = encode(sb)?;
    let temp = dir.join(TEMP_FILE);
    {
        let mut f = private_file(&temp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&temp, state_file(dir))?;
    // The rename itself survives a crash of the machine only once the directory is synced.
    std::fs::File::open(dir)?.sync_all()?;
    Ok(Saved {
        bytes: bytes.len(),
        resource_version,
        simulated_time,
    })
}

/// The snapshot's bytes, encoded under the store's lock (no copy of the objects is made),
/// with the time read under it too, so it is no earlier than anything the objects hold.
fn encode(sb: &Sandbox) -> io::Result<(Vec<u8>, u64, DateTime<Utc>)> {
    let store = sb.store();
    let requests = sb.requests.lock().unwrap_or_else(|p| p.into_inner());
    let simulated_time = sb.clock.now();
    let kept = &requests[requests.len().saturating_sub(KEPT_REQUESTS)..];
    let snapshot = SnapshotOut {
        format: FORMAT,
        simulated_time,
        resource_version: store.resource_version(),
        uids: store.uids_issued(),
        objects: store
            .objects()
            .map(|((s, ns, _), object)| ObjectOut {
                store: s,
                namespace: ns,
                object,
            })
            .collect(),
        requests: kept,
    };
    let bytes = serde_json::to_vec(&snapshot).map_err(io::Error::other)?;
    Ok((bytes, store.resource_version(), simulated_time))
}

fn private_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // The ConfigMaps hold the release's journal: for the owner's eyes, like the kubeconfig.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// How a finished save is told to the requests waiting on it.
#[derive(Debug, Clone, Default)]
struct Outcome {
    /// Every ticket up to this one had its change in the snapshot this save wrote.
    covers: u64,
    error: Option<String>,
}

/// Group commit: each write asks for a ticket and waits for a save that began after it;
/// one save answers every write made before it began.
pub(crate) struct Durable {
    asked: AtomicU64,
    done: watch::Sender<Outcome>,
    wake: Notify,
}

impl Durable {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            asked: AtomicU64::new(0),
            done: watch::Sender::new(Outcome::default()),
            wake: Notify::new(),
        })
    }

    async fn until_saved(&self) -> Result<(), String> {
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut done = self.done.subscribe();
        self.wake.notify_one();
        match done.wait_for(|o| o.covers >= ticket).await {
            Ok(o) => o.error.clone().map_or(Ok(()), Err),
            Err(_) => Err("the sandbox stopped before saving it".into()),
        }
    }

    fn waiting(&self) -> bool {
        self.asked.load(Ordering::SeqCst) > self.done.borrow().covers
    }

    async fn save_now(&self, sb: &Arc<Sandbox>, dir: &Path) -> io::Result<Saved> {
        // Read before the snapshot is taken: every ticket up to here is a finished write.
        let covers = self.asked.load(Ordering::SeqCst);
        let (sb, dir) = (sb.clone(), dir.to_path_buf());
        let saved = tokio::task::spawn_blocking(move || save(&sb, &dir))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)));
        self.done.send_replace(Outcome {
            covers,
            error: saved.as_ref().err().map(|e| e.to_string()),
        });
        saved
    }
}

/// Answers a successful write through the API only once it is saved; a write that was made
/// but could not be saved is answered 500, as an API server whose storage failed.
pub(crate) async fn answer_once_saved(
    State(durable): State<Arc<Durable>>,
    request: Request,
    next: Next,
) -> Response {
    let writes = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && !request.uri().path().starts_with("/_sandbox/");
    let response = next.run(request).await;
    if !writes || !response.status().is_success() {
        return response;
    }
    match durable.until_saved().await {
        Ok(()) => response,
        Err(e) => super::http::error_response(&ApiError::new(
            500,
            "InternalError",
            format!("the change was made but the sandbox could not save it: {e}"),
        )),
    }
}

/// The task that keeps a running sandbox's snapshot current. It has a stop of its own:
/// it must go on answering the writes in flight while the server drains them.
pub(crate) struct Persister {
    dir: PathBuf,
    durable: Arc<Durable>,
    task: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl Persister {
    /// Saves once before anything is served (a restored sandbox's new counters must be
    /// on disk before it hands out a number), then keeps saving until `finish`.
    pub(crate) async fn start(sb: &Arc<Sandbox>, dir: &Path) -> io::Result<Self> {
        let durable = Durable::new();
        let first = durable.save_now(sb, dir).await?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(keep_saving(
            sb.clone(),
            dir.to_path_buf(),
            durable.clone(),
            stop_rx,
            first.resource_version,
        ));
        Ok(Self {
            dir: dir.to_path_buf(),
            durable,
            task,
            stop,
        })
    }

    pub(crate) fn durable(&self) -> Arc<Durable> {
        self.durable.clone()
    }

    /// Once the server and the controllers have stopped: the last save, with everything.
    pub(crate) async fn finish(self, sb: &Arc<Sandbox>) -> io::Result<Saved> {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        self.durable.save_now(sb, &self.dir).await
    }
}

async fn keep_saving(
    sb: Arc<Sandbox>,
    dir: PathBuf,
    durable: Arc<Durable>,
    mut stop: watch::Receiver<bool>,
    mut saved_rv: u64,
) {
    let mut saved_at = Instant::now();
    loop {
        tokio::select! {
            _ = durable.wake.notified() => {}
            _ = tokio::time::sleep(SAVE_PERIOD) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let changed = sb.store().resource_version() != saved_rv;
        if !(durable.waiting() || changed || saved_at.elapsed() >= CLOCK_PERIOD) {
            continue;
        }
        // A failed save is told to the writes waiting on it; the next tick tries again.
        if let Ok(saved) = durable.save_now(&sb, &dir).await {
            saved_rv = saved.resource_version;
            saved_at = Instant::now();
        }
    }
}
