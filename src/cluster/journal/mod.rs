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

mod follow;
pub mod segments;
pub mod signatures;
mod view;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use tokio::sync::mpsc;

use crate::cluster::FIELD_MANAGER;
use crate::release::event::{Entry, Event};
use crate::release::identity::Author;
use crate::release::journal::{AppendError, Contents, Followed, JournalError, JournalStore};
use segments::{Capacity, Segment};
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
    pub fn reload(&self) -> Result<(), JournalError> {
        self.call(|reply| Call::Reload { reply })
            .unwrap_or_else(|| Err(self.gone()))
    }

    /// The journal as this cockpit knows it now.
    pub fn contents(&self) -> Contents {
        self.shared.view().contents()
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
        let from = self.shared.view().next_seq();
        self.shared
            .followers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((from, tx));
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
                let client = match kube::Client::try_from(config) {
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
                let watching = tokio::spawn(follow::run(api.clone(), shared.clone()));
                while let Some(call) = rx.recv().await {
                    match call {
                        Call::Append {
                            expected,
                            by,
                            at,
                            event,
                            reply,
                        } => {
                            let r = append(&api, &shared, expected, &by, at, *event).await;
                            let _ = reply.send(r);
                        }
                        Call::Reload { reply } => {
                            let _ = reply.send(reload(&api, &shared).await);
                        }
                        Call::KeepAudit { line, reply } => {
                            let _ = reply.send(keep_audit(&api, &shared, &line).await);
                        }
                        Call::Restore { reply } => {
                            let _ = reply.send(restore(&api, &shared).await);
                        }
                        Call::Vouch { reply } => {
                            let _ = reply.send(vouch_all(&shared).await);
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

/// Lists the release's segments and takes them into the view; what others appended since
/// goes to the followers.
async fn reload(api: &Api<ConfigMap>, shared: &Shared) -> Result<(), JournalError> {
    let list = api
        .list(&ListParams::default().labels(&segments::selector(&shared.release)))
        .await
        .map_err(|e| shared.error("listing the journal's ConfigMaps", e))?;
    let mut read = Vec::with_capacity(list.items.len());
    for cm in &list.items {
        let segment = Segment::from_configmap(cm).map_err(|message| JournalError::Corrupt {
            path: format!("configmap {}", shared.namespace).into(),
            line: 0,
            message,
        })?;
        read.push(segment);
    }
    let read_at = list
        .metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok());
    let taken = shared.view().take_all(&shared.namespace, read, read_at);
    match vouched(shared, taken).await {
        Ok(news) => {
            shared.tell(news);
            Ok(())
        }
        Err(e) => {
            shared.tell_broken(&e);
            Err(e)
        }
    }
}

/// Every entry of the view against its author's signatures.
async fn vouch_all(shared: &Shared) -> Result<(), JournalError> {
    let entries: Vec<(Entry, String)> = {
        let view = shared.view();
        let contents = view.contents();
        contents.entries.into_iter().zip(contents.hashes).collect()
    };
    match signatures::check(shared.signatures(), &shared.release, &entries).await {
        Ok(()) => Ok(()),
        Err(why) => {
            let e = shared.view().break_with(why);
            shared.tell_broken(&e);
            Err(e)
        }
    }
}

/// What the view took in, once every new entry's author is shown by the cluster to have
/// written it (`signatures`); an entry that is not breaks the journal.
async fn vouched(
    shared: &Shared,
    taken: Result<Vec<Followed>, JournalError>,
) -> Result<Vec<Followed>, JournalError> {
    let news = taken?;
    let entries: Vec<(Entry, String)> = {
        let view = shared.view();
        news.iter()
            .filter_map(|f| match f {
                Followed::Appended(e) => Some((e.clone(), view.hash_of(e.seq)?)),
                Followed::Broken(_) | Followed::Repaired => None,
            })
            .collect()
    };
    match signatures::check(shared.signatures(), &shared.release, &entries).await {
        Ok(()) => Ok(news),
        Err(why) => Err(shared.view().break_with(why)),
    }
}

/// How many times an append is tried again when the segment moved on without a new entry
/// (someone marked it immutable, or touched its labels): nothing for the rules to see.
const SAME_SEQ_RETRIES: usize = 5;

async fn append(
    api: &Api<ConfigMap>,
    shared: &Shared,
    expected: u64,
    by: &Author,
    at: DateTime<Utc>,
    event: Event,
) -> Result<Entry, AppendError> {
    for _ in 0..=SAME_SEQ_RETRIES {
        let prepared = shared
            .view()
            .prepare(expected, by, at, event.clone(), shared.capacity)?;
        // Signed first: once the entry is there for others to read, so is the proof.
        if let Err(e) = signatures::sign(
            shared.signatures(),
            &shared.release,
            &by.name,
            expected,
            &prepared.hash,
        )
        .await
        {
            shared.view().cancel(&prepared);
            let doing = format!(
                "signing entry {expected} in configmap {}",
                signatures::signatures_name(&by.name)
            );
            return Err(shared.error(&doing, e).into());
        }
        let unsign = || {
            signatures::unsign(
                shared.signatures(),
                &shared.release,
                &by.name,
                expected,
                &prepared.hash,
            )
        };
        let written = match &prepared.write {
            view::Write::AddTo {
                name,
                resource_version,
            } => {
                let patch = serde_json::json!({
                    "metadata": {"resourceVersion": resource_version},
                    "data": {segments::key(expected): prepared.line},
                });
                api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
            }
            view::Write::Start(segment) => {
                api.create(
                    &PostParams {
                        field_manager: Some(FIELD_MANAGER.into()),
                        ..Default::default()
                    },
                    &segment.to_configmap(&shared.release),
                )
                .await
            }
        };
        match written {
            Ok(cm) => {
                let full = shared.view().appended(&prepared, &cm);
                if let Some(full) = full {
                    seal(api, &full).await;
                }
                return Ok(prepared.entry);
            }
            // Someone wrote first (409), or the segment was sealed (422): read what is
            // there now. A new entry is a conflict for the rules; none, a plain retry.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 422 => {
                shared.view().cancel(&prepared);
                unsign().await;
                reload(api, shared).await?;
                let actual = shared.view().next_seq();
                if actual != expected {
                    return Err(AppendError::Conflict { expected, actual });
                }
            }
            Err(e) => {
                // The write may have happened though its answer was lost: read, and the
                // entry is ours if it is there.
                let error = shared.error(&format!("appending entry {expected}"), e);
                let mine = reload(api, shared).await.is_ok() && shared.view().holds(&prepared);
                shared.view().cancel(&prepared);
                if !mine {
                    unsign().await;
                }
                return if mine {
                    Ok(prepared.entry)
                } else {
                    Err(error.into())
                };
            }
        }
    }
    Err(AppendError::Journal(JournalError::Cluster {
        at: format!("namespace {}", shared.namespace),
        message: format!(
            "entry {expected}: the last segment kept changing under the write ({SAME_SEQ_RETRIES} tries)"
        ),
    }))
}

/// The release's audit ConfigMap (`release-cockpit-audit-<version>`): each releases.log
/// line written for it (a release concluded, or concluded again after a correction),
/// under the next number, as the file keeps them in order.
async fn keep_audit(api: &Api<ConfigMap>, shared: &Shared, line: &str) -> Result<(), JournalError> {
    let name = segments::audit_name(&shared.release);
    let doing = format!("copying the releases.log line into configmap {name}");
    for _ in 0..5 {
        let current = api
            .get_opt(&name)
            .await
            .map_err(|e| shared.error(&doing, e))?;
        let written = match current {
            None => {
                let cm = segments::audit_configmap(&shared.release, line);
                api.create(&PostParams::default(), &cm).await.map(|_| ())
            }
            Some(cm) => {
                let next = cm.data.as_ref().map_or(0, |d| d.len()) + 1;
                let patch = serde_json::json!({
                    "metadata": {"resourceVersion": cm.metadata.resource_version},
                    "data": {segments::key(next as u64): line},
                });
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
            }
        };
        match written {
            Ok(()) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(shared.error(&doing, e)),
        }
    }
    Err(JournalError::Cluster {
        at: format!("configmap {}/{name}", shared.namespace),
        message: "it kept changing under the write".into(),
    })
}

/// Puts every segment back as this cockpit last read it whole (each entry's line as it
/// was, nothing after its last), and segments past those go; then reads the journal again,
/// which, all being as it was, checks out.
async fn restore(api: &Api<ConfigMap>, shared: &Shared) -> Result<String, JournalError> {
    if !shared.view().is_broken() {
        return Ok("the journal checks out: nothing to restore".into());
    }
    let kept = shared.view().segments_read();
    let list = api
        .list(&ListParams::default().labels(&segments::selector(&shared.release)))
        .await
        .map_err(|e| shared.error("listing the journal's ConfigMaps", e))?;
    let mut put_back = Vec::new();
    for segment in &kept {
        let now = list
            .items
            .iter()
            .find(|cm| cm.metadata.name.as_deref() == Some(segment.name.as_str()));
        let wanted = segment.to_configmap(&shared.release);
        let written = match now {
            None => {
                let mut fresh = wanted.clone();
                fresh.metadata.resource_version = None;
                api.create(&PostParams::default(), &fresh).await.map(|_| ())
            }
            Some(cm) if cm.data == wanted.data => continue,
            Some(cm) if cm.immutable == Some(true) => {
                return Err(JournalError::Cluster {
                    at: format!("configmap {}/{}", shared.namespace, segment.name),
                    message: "it is immutable and not as it was: delete it, then restore again"
                        .into(),
                });
            }
            Some(cm) => {
                let mut back = wanted.clone();
                back.metadata.resource_version = cm.metadata.resource_version.clone();
                back.immutable = None;
                api.replace(&segment.name, &PostParams::default(), &back)
                    .await
                    .map(|_| ())
            }
        };
        written.map_err(|e| shared.error(&format!("putting back {}", segment.name), e))?;
        put_back.push(segment.name.clone());
    }
    for cm in &list.items {
        let name = cm.metadata.name.clone().unwrap_or_default();
        if !kept.iter().any(|s| s.name == name) {
            api.delete(&name, &Default::default())
                .await
                .map_err(|e| shared.error(&format!("removing {name}, which was not there"), e))?;
            put_back.push(format!("{name} (removed)"));
        }
    }
    reload(api, shared).await?;
    let entries = shared.view().next_seq() - 1;
    Ok(format!(
        "the journal's {entries} entries are back as this cockpit read them ({})",
        put_back.join(", ")
    ))
}

/// Marks a full segment immutable, so the API server itself refuses any later change. A
/// failure is harmless (the next writer to roll over, or to open, tries again).
async fn seal(api: &Api<ConfigMap>, segment: &Segment) {
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": segment.resource_version},
        "immutable": true,
    });
    if let Err(e) = api
        .patch(
            &segment.name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::info!(segment = %segment.name, "could not mark the full segment immutable: {e}");
    }
}
