//! The release journal in the cluster: a `JournalStore` whose entries live in ConfigMaps
//! (`segments`), so every cockpit on a release reads, appends to and follows one journal.
//!
//! Appends are merge patches with a `resourceVersion` precondition on the last segment (or
//! the creation of the next one), so of two writers that both think entry 7 is next,
//! exactly one succeeds; the other gets 409, re-reads and is told `Conflict`, which sends
//! it back to the rules with the new entries folded in. A watch (`follow`) keeps the copy
//! here current and notices an edit to an entry already read.
//!
//! `JournalStore` is synchronous (the runtime records between two frames). The kube calls
//! run on a thread of their own with its own client, so a call blocks only its caller,
//! whatever runtime (or none) that caller is on.

mod appending;
mod follow;
mod reading;
pub mod segments;
pub mod signatures;
mod upkeep;
mod view;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use tokio::sync::mpsc;

use crate::release::event::{Entry, Event};
use crate::release::identity::Author;
use crate::release::journal::{AppendError, Contents, Followed, JournalError, JournalStore};
use segments::Capacity;
use view::View;

/// A release's journal in one namespace of one cluster.
pub struct ClusterJournal {
    location: String,
    shared: Arc<Shared>,
    calls: mpsc::UnboundedSender<Call>,
}

/// What the caller's thread and the journal's thread both see.
struct Shared {
    release: String,
    namespace: String,
    capacity: Capacity,
    view: Mutex<View>,
    /// Each follower with the first entry it is to be told of: what the view held when
    /// it started following was not news to it, though a check may still have been
    /// under way.
    followers: Mutex<Vec<(u64, mpsc::UnboundedSender<Followed>)>>,
    /// Where the signatures are kept, and the API to them (set once the journal's thread
    /// has its client).
    signatures_namespace: String,
    signatures: std::sync::OnceLock<Api<ConfigMap>>,
    /// Whether the followers were told of a break (once is enough: nothing follows it).
    told_broken: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn view(&self) -> std::sync::MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends what the view learnt to every follower still listening.
    fn tell(&self, news: Vec<Followed>) {
        if news.is_empty() {
            return;
        }
        if news.contains(&Followed::Repaired) {
            self.told_broken
                .store(false, std::sync::atomic::Ordering::SeqCst);
        }
        let mut followers = self.followers.lock().unwrap_or_else(|p| p.into_inner());
        followers.retain(|(from, f)| {
            news.iter()
                .filter(|n| !matches!(n, Followed::Appended(e) if e.seq < *from))
                .all(|n| f.send(n.clone()).is_ok())
        });
    }

    /// Tells the followers the journal broke, the first time only.
    fn tell_broken(&self, e: &JournalError) {
        if !self
            .told_broken
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.tell(vec![Followed::Broken(e.to_string())]);
        }
    }

    fn signatures(&self) -> &Api<ConfigMap> {
        self.signatures
            .get()
            .expect("the journal's thread sets the signatures' API before any call")
    }

    fn error(&self, doing: &str, e: kube::Error) -> JournalError {
        let message = match e {
            kube::Error::Api(s) => format!("{doing}: {} ({})", s.message, s.code),
            other => format!("{doing}: {other}"),
        };
        JournalError::Cluster {
            at: format!("namespace {}", self.namespace),
            message,
        }
    }
}

/// How long one call to the API server may take before the journal says it failed.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

enum Call {
    Append {
        expected: u64,
        by: Author,
        at: DateTime<Utc>,
        event: Box<Event>,
        reply: std::sync::mpsc::SyncSender<Result<Entry, AppendError>>,
    },
    Reload {
        reply: std::sync::mpsc::SyncSender<Result<(), JournalError>>,
    },
    /// Writes the release's releases.log line into the cluster, beside the journal.
    KeepAudit {
        line: String,
        reply: std::sync::mpsc::SyncSender<Result<(), JournalError>>,
    },
    /// Puts the segments back as this cockpit last read them whole.
    Restore {
        reply: std::sync::mpsc::SyncSender<Result<String, JournalError>>,
    },
    /// Checks every entry's author against the signatures (at opening: the watch may have
    /// taken the entries in before the first reading, so they were nobody's news).
    Vouch {
        reply: std::sync::mpsc::SyncSender<Result<(), JournalError>>,
    },
}

impl ClusterJournal {
    /// Connects to release `release`'s journal in `namespace` and reads it whole (it may
    /// not exist yet: then its contents are empty, and the first append creates it).
    pub fn connect(
        config: kube::Config,
        namespace: &str,
        release: &str,
        capacity: Capacity,
    ) -> Result<(ClusterJournal, Contents), JournalError> {
        Self::connect_signed_in(config, namespace, namespace, release, capacity)
    }

    /// Like `connect`, with the signatures in a namespace of their own (where RBAC grants
    /// each participant their one ConfigMap by `resourceNames`, and nothing broader).
    pub fn connect_signed_in(
        config: kube::Config,
        namespace: &str,
        signatures_namespace: &str,
        release: &str,
        capacity: Capacity,
    ) -> Result<(ClusterJournal, Contents), JournalError> {
        let shared = Arc::new(Shared {
            release: release.to_string(),
            namespace: namespace.to_string(),
            capacity,
            view: Mutex::new(View::new(release)),
            followers: Mutex::new(Vec::new()),
            signatures_namespace: signatures_namespace.to_string(),
            signatures: std::sync::OnceLock::new(),
            told_broken: Default::default(),
        });
        let calls = spawn_worker(config, shared.clone())?;
        let journal = ClusterJournal {
            location: format!(
                "configmaps -l {} in namespace {namespace}",
                segments::selector(release)
            ),
            shared,
            calls,
        };
        journal.reload()?;
        journal
            .call(|reply| Call::Vouch { reply })
            .unwrap_or_else(|| Err(journal.gone()))?;
        let contents = journal.shared.view().contents();
        Ok((journal, contents))
    }

    /// Reads the journal from the cluster again.
    fn reload(&self) -> Result<(), JournalError> {
        self.call(|reply| Call::Reload { reply })
            .unwrap_or_else(|| Err(self.gone()))
    }

    fn gone(&self) -> JournalError {
        JournalError::Cluster {
            at: self.location.clone(),
            message: "the journal's connection thread ended".into(),
        }
    }

    /// Hands a call to the journal's thread and waits for its answer.
    fn call<T>(&self, make: impl FnOnce(std::sync::mpsc::SyncSender<T>) -> Call) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.calls.send(make(tx)).ok()?;
        // On a multi-threaded runtime, let its other tasks move off this worker while
        // it waits; elsewhere (a test's runtime, plain threads) a plain wait is fine,
        // since the answer comes from a thread of its own.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| rx.recv().ok())
            }
            _ => rx.recv().ok(),
        }
    }
}

impl JournalStore for ClusterJournal {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn next_seq(&self) -> u64 {
        self.shared.view().next_seq()
    }

    fn head(&self) -> Option<String> {
        self.shared.view().head()
    }

    fn append(
        &mut self,
        expected_seq: u64,
        by: &Author,
        at: DateTime<Utc>,
        event: Event,
    ) -> Result<Entry, AppendError> {
        let by = by.clone();
        self.call(|reply| Call::Append {
            expected: expected_seq,
            by,
            at,
            event: Box::new(event),
            reply,
        })
        .unwrap_or_else(|| Err(self.gone().into()))
    }

    fn read_from(&self, seq: u64) -> Result<Vec<Entry>, JournalError> {
        self.reload()?;
        Ok(self.shared.view().entries_from(seq))
    }

    fn keep_audit(&mut self, line: &str) -> Result<(), JournalError> {
        let line = line.to_string();
        self.call(|reply| Call::KeepAudit { line, reply })
            .unwrap_or_else(|| Err(self.gone()))
    }

    fn restore(&mut self) -> Result<String, JournalError> {
        self.call(|reply| Call::Restore { reply })
            .unwrap_or_else(|| Err(self.gone()))
    }

    fn follow(&self) -> mpsc::UnboundedReceiver<Followed> {
        let (tx, rx) = mpsc::unbounded_channel();
        // Under the followers' lock, so nothing is told between reading the cursor and
        // joining: the follower hears of every entry not yet told to anyone.
        let mut followers = self
            .shared
            .followers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let from = self.shared.view().told() as u64 + 1;
        followers.push((from, tx));
        rx
    }
}

/// Starts the journal's thread: its own runtime and client, the calls one at a time, and
/// the watch that follows the journal beside them. It ends when the journal is dropped.
fn spawn_worker(
    config: kube::Config,
    shared: Arc<Shared>,
) -> Result<mpsc::UnboundedSender<Call>, JournalError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Call>();
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
    let at = format!("namespace {}", shared.namespace);
    std::thread::Builder::new()
        .name("cluster-journal".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start its runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                // The calls with short timeouts: a cockpit waits on them between two
                // frames. The watch without: it waits for news by design.
                let mut calls_config = config.clone();
                calls_config.connect_timeout = Some(CALL_TIMEOUT);
                calls_config.read_timeout = Some(CALL_TIMEOUT);
                calls_config.write_timeout = Some(CALL_TIMEOUT);
                let clients = kube::Client::try_from(calls_config)
                    .and_then(|calls| Ok((calls, kube::Client::try_from(config)?)));
                let (client, watch_client) = match clients {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot build a client: {e}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let _ = shared.signatures.set(Api::namespaced(
                    client.clone(),
                    &shared.signatures_namespace,
                ));
                let api: Api<ConfigMap> = Api::namespaced(client, &shared.namespace);
                let watch_api: Api<ConfigMap> = Api::namespaced(watch_client, &shared.namespace);
                let watching = tokio::spawn(follow::run(watch_api, shared.clone()));
                while let Some(call) = rx.recv().await {
                    match call {
                        Call::Append {
                            expected,
                            by,
                            at,
                            event,
                            reply,
                        } => {
                            let r =
                                appending::append(&api, &shared, expected, &by, at, *event).await;
                            let _ = reply.send(r);
                        }
                        Call::Reload { reply } => {
                            let _ = reply.send(reading::reload(&api, &shared).await);
                        }
                        Call::KeepAudit { line, reply } => {
                            let _ = reply.send(upkeep::keep_audit(&api, &shared, &line).await);
                        }
                        Call::Restore { reply } => {
                            let _ = reply.send(upkeep::restore(&api, &shared).await);
                        }
                        Call::Vouch { reply } => {
                            let _ = reply.send(reading::settle(&shared, Ok(false)).await);
                        }
                    }
                }
                watching.abort();
            });
        })
        .map_err(|e| JournalError::Cluster {
            at: at.clone(),
            message: format!("cannot start the journal's thread: {e}"),
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(tx),
        Ok(Err(message)) => Err(JournalError::Cluster { at, message }),
        Err(_) => Err(JournalError::Cluster {
            at,
            message: "the journal's thread ended before it started".into(),
        }),
    }
}
