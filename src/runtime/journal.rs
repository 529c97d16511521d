//! The open release's journal as the runtime holds it: opening it in the store the config
//! names (the state dir, or the cluster with a mirror here), appending (and what another
//! cockpit's entry first means), and passing on what the other writers append.

use std::collections::VecDeque;

use super::Runtime;
use crate::app::Msg;
use crate::cluster::journal::ClusterJournal;
use crate::cluster::journal::segments::Capacity;
use crate::release::event::{Entry, Event};
use crate::release::journal::{AppendError, Followed, JournalStore};
use crate::release::state::ReleaseState;

/// Where the shared journal is: the cluster of one environment, one namespace.
#[derive(Clone)]
pub struct SharedJournal {
    pub environment: String,
    pub namespace: String,
    pub signatures_namespace: String,
    pub kube: kube::Config,
}

impl SharedJournal {
    /// Where the config keeps journals in the cluster (`None`: in files), with the
    /// kubeconfig context of that environment read; `Err` why it could not be.
    pub async fn for_config(
        config: &crate::config::Config,
        kubeconfig: Option<&std::path::Path>,
    ) -> Option<Result<SharedJournal, String>> {
        let crate::config::journal::JournalPlace::Cluster {
            environment,
            namespace,
            signatures_namespace,
        } = &config.journal
        else {
            return None;
        };
        let context = config
            .environment(environment)
            .map(|e| e.kube_context.clone())
            .unwrap_or_default();
        Some(
            crate::cluster::client::config(kubeconfig, &context)
                .await
                .map(|kube| SharedJournal {
                    environment: environment.clone(),
                    namespace: namespace.clone(),
                    signatures_namespace: signatures_namespace.clone(),
                    kube,
                })
                .map_err(|e| format!("the journal is kept in {environment}'s cluster: {e}")),
        )
    }
}

/// A release opened, not yet handed to the runtime.
pub struct Opened {
    pub journal: Box<dyn JournalStore>,
    pub state: ReleaseState,
    pub created: bool,
    pub notice: Option<String>,
}

/// Why a record did not happen.
pub enum NotRecorded {
    /// Another cockpit appended first; its entries were folded in.
    Conflict,
    Failed(String),
}

impl Runtime {
    /// Opens (or creates) release `version` where the config keeps journals.
    pub fn open_journal(
        &self,
        version: &semver::Version,
        create_as: &str,
    ) -> Result<Opened, String> {
        let now = self.clock.now();
        match &self.shared_journal {
            None => {
                let o = self
                    .store
                    .open_or_create(&self.config, version, create_as, &self.operator, now)
                    .map_err(|e| e.to_string())?;
                Ok(Opened {
                    notice: o.notice(),
                    journal: Box::new(o.journal),
                    state: o.state,
                    created: o.created,
                })
            }
            Some(s) => {
                let (journal, contents) = ClusterJournal::connect_signed_in(
                    s.kube.clone(),
                    &s.namespace,
                    &s.signatures_namespace,
                    &version.to_string(),
                    Capacity::default(),
                )
                .map_err(|e| format!("the journal in {}'s cluster: {e}", s.environment))?;
                let o = self
                    .store
                    .open_shared(
                        &self.config,
                        version,
                        create_as,
                        &self.operator,
                        now,
                        Box::new(journal),
                        contents,
                    )
                    .map_err(|e| e.to_string())?;
                Ok(Opened {
                    journal: Box::new(o.journal),
                    state: o.state,
                    created: o.created,
                    notice: o.notice,
                })
            }
        }
    }

    /// The open journal's head (its last entry's hash): what changes when anything is
    /// written.
    pub fn journal_head(&self) -> Option<String> {
        self.journal.as_ref().and_then(|j| j.head())
    }

    /// Makes `journal` the open release's, and passes on what other writers append to it.
    /// `folded`: how many entries the state given to the app holds; what others appended
    /// since it was read is caught up with the next message.
    pub fn set_journal(&mut self, version: &str, journal: Box<dyn JournalStore>, folded: u64) {
        self.delivered = folded;
        self.catch_up_due = journal.next_seq() > folded + 1 || self.shared_journal.is_some();
        let mut followed = journal.follow();
        self.journal = Some(journal);
        self.release = Some(version.to_string());
        if let Some(old) = self.following.take() {
            old.abort();
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let tx = self.tx.clone();
            self.following = Some(handle.spawn(async move {
                while let Some(f) = followed.recv().await {
                    if tx.send(Msg::Followed(f)).is_err() {
                        break;
                    }
                }
            }));
        }
    }

    /// Appends to the open release's journal: the only place the cockpit writes it.
    pub(super) fn append(&mut self, event: Event) -> Result<Entry, NotRecorded> {
        if let Some(why) = self.stale_lease() {
            return Err(NotRecorded::Failed(why));
        }
        let operator = self.operator.clone();
        let now = self.clock.now();
        let journal = self
            .journal
            .as_mut()
            .ok_or_else(|| NotRecorded::Failed("no release journal is open".to_string()))?;
        // The rules were asked against what the app has folded, so that is what the entry
        // must follow: if the store knows of more, the rules must see it first.
        let expected = self.delivered + 1;
        match journal.append(expected, &operator, now, event) {
            Ok(entry) => {
                self.delivered = entry.seq;
                Ok(entry)
            }
            Err(AppendError::Journal(e)) => Err(NotRecorded::Failed(e.to_string())),
            Err(AppendError::Conflict { .. }) => Err(NotRecorded::Conflict),
        }
    }

    /// Folds in, in order, what other writers appended that this cockpit has not shown.
    pub(super) fn catch_up(&mut self, queue: &mut VecDeque<Msg>) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        match journal.read_from(self.delivered + 1) {
            Ok(entries) => {
                for e in entries {
                    journal.seen(&e);
                    self.delivered = e.seq;
                    queue.push_back(Msg::Followed(Followed::Appended(e)));
                }
            }
            Err(e) => queue.push_back(Msg::Notice {
                level: crate::app::Level::Error,
                text: format!("could not read what other cockpits appended: {e}"),
            }),
        }
    }

    /// Whether a followed message is news: an entry already folded (caught up after a
    /// conflict) is dropped; one after a gap catches up first.
    pub(super) fn followed_news(&mut self, f: &Followed, queue: &mut VecDeque<Msg>) -> bool {
        let Followed::Appended(e) = f else {
            return true;
        };
        if e.seq <= self.delivered {
            return false;
        }
        if e.seq > self.delivered + 1 {
            self.catch_up(queue);
            return false;
        }
        if let Some(journal) = self.journal.as_mut() {
            journal.seen(e);
        }
        self.delivered = e.seq;
        true
    }
}
