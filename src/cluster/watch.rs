//! The watchers behind the live view: the Deployment, its ReplicaSets and Pods (selected on
//! the server by the Deployment's own selector), the Events about them, and the cockpit's
//! migration Jobs. Each runs a kube-runtime watcher (list once, then watch; no polling) and
//! sends owned updates to a sink; nothing here is shared with the app.
//!
//! A relist arrives as one `Change::Replaced`. A stream error is reported once per outage
//! (`StreamDown`) and the watcher starts over with a fresh list after a short backoff, so
//! the first list that succeeds both proves the stream is back (`StreamUp`) and replaces
//! whatever the view missed meanwhile.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream as FutStream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use kube::api::Api;
use kube::core::Selector;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

mod related;

use related::Related;

use super::{
    Change, ClusterMsg, ClusterUpdate, FOR_DEPLOYMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Sink,
    Stream, Target,
};
use crate::release::clock::Clock;

/// The first retry after an error, doubled each time up to `BACKOFF_MAX`: a recovered
/// server is seen within a second, and a dead one costs a request a second per stream.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Server-side timeout of each watch request. kube-runtime also treats a stream that is
/// silent for this long (plus 5 s) as dead, so a connection that vanished without a reset
/// is noticed within about a minute rather than the default five.
const WATCH_TIMEOUT_SECS: u32 = 60;
/// Events not (yet) known to be about our objects, kept in case the object they concern
/// shows up on its own stream just after them.
const PENDING_EVENTS: usize = 256;

/// The running watchers of one environment; dropping it stops them all.
pub struct WatchHandle {
    task: JoinHandle<()>,
}

impl WatchHandle {
    /// True once the watchers have stopped: the sink refused an update (or a task panicked).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following `target`'s Deployment; every update goes to `sink`, stamped with
/// `clock` and `target.env`.
pub fn spawn(
    client: kube::Client,
    target: Target,
    clock: Arc<dyn Clock>,
    sink: Sink<ClusterUpdate>,
) -> WatchHandle {
    let out = Out {
        env: target.env.clone(),
        clock,
        sink,
    };
    WatchHandle {
        task: tokio::spawn(run(client, target, out)),
    }
}

#[derive(Clone)]
struct Out {
    env: String,
    clock: Arc<dyn Clock>,
    sink: Sink<ClusterUpdate>,
}

impl Out {
    /// False once nobody listens.
    fn send(&self, msg: ClusterMsg) -> bool {
        (self.sink)(ClusterUpdate {
            env: self.env.clone(),
            at: self.clock.now(),
            msg,
        })
    }
}

struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(BACKOFF_START)
    }

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        wait
    }

    fn reset(&mut self) {
        self.0 = BACKOFF_START;
    }
}

/// The server-side label selector equivalent to the Deployment's `spec.selector`.
fn selector_of(d: &Deployment) -> Result<String, String> {
    let name = d.metadata.name.as_deref().unwrap_or_default();
    let selector = Selector::try_from(d.spec.selector.clone())
        .map_err(|e| format!("deployment {name:?} has an invalid selector: {e}"))?;
    if selector.selects_all() {
        // Watching every pod of the namespace would be wrong, not merely slow.
        return Err(format!("deployment {name:?} has an empty selector"));
    }
    Ok(selector.to_string())
}

async fn run(client: kube::Client, target: Target, out: Out) {
    let ns = target.namespace.as_str();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let Some(selector) = first_selector(&deployments, &target, &out).await else {
        return;
    };
    let (selector_tx, selector_rx) = watch::channel(selector);
    let related = Arc::new(Related::new(&target.deployment));
    let config = || watcher::Config::default().timeout(WATCH_TIMEOUT_SECS);
    let labels = |s: &str| config().labels(s);

    let mut tasks = JoinSet::new();
    let w = Watch::new(
        deployments,
        config().fields(&format!("metadata.name={}", target.deployment)),
        Stream::Deployment,
        out.clone(),
    );
    tasks.spawn(follow_deployment(w, selector_tx));

    let w = Watch::new(
        Api::<ReplicaSet>::namespaced(client.clone(), ns),
        labels(&selector_rx.borrow()),
        Stream::ReplicaSets,
        out.clone(),
    );
    let (rel, rx) = (related.clone(), selector_rx.clone());
    tasks.spawn(follow_selected(w, rx, ClusterMsg::ReplicaSet, move |c| {
        rel.saw_replica_sets(c);
    }));

    let w = Watch::new(
        Api::<Pod>::namespaced(client.clone(), ns),
        labels(&selector_rx.borrow()),
        Stream::Pods,
        out.clone(),
    );
    let rel = related.clone();
    tasks.spawn(follow_selected(w, selector_rx, ClusterMsg::Pod, move |c| {
        rel.saw_pods(c);
    }));

    let jobs_selector = format!(
        "{MANAGED_BY_LABEL}={MANAGED_BY},{FOR_DEPLOYMENT_LABEL}={}",
        target.deployment
    );
    let w = Watch::new(
        Api::<Job>::namespaced(client.clone(), ns),
        labels(&jobs_selector),
        Stream::Jobs,
        out.clone(),
    );
    let rel = related.clone();
    tasks.spawn(follow_jobs(w, rel));

    let w = Watch::new(
        Api::<KubeEvent>::namespaced(client, ns),
        config(),
        Stream::Events,
        out,
    );
    tasks.spawn(follow_events(w, related));

    // A task ends only when the sink is closed; the others are aborted with the set.
    let _ = tasks.join_next().await;
}

/// GETs the Deployment until it is there, sending `Missing` after every failed attempt.
async fn first_selector(api: &Api<Deployment>, target: &Target, out: &Out) -> Option<String> {
    let mut backoff = Backoff::new();
    loop {
        let error = match api.get_opt(&target.deployment).await {
            Ok(Some(d)) => match selector_of(&d) {
                Ok(selector) => return Some(selector),
                Err(e) => e,
            },
            Ok(None) => format!(
                "deployments.apps {:?} not found in namespace {:?}",
                target.deployment, target.namespace
            ),
            Err(e) => format!("cannot read deployment {:?}: {e}", target.deployment),
        };
        if !out.send(ClusterMsg::Missing { error }) {
            return None;
        }
        tokio::time::sleep(backoff.next()).await;
    }
}

type WatchStream<K> = Pin<Box<dyn FutStream<Item = watcher::Result<Event<K>>> + Send>>;

/// One kube-runtime watcher with the view's protocol on top: relists folded into
/// `Replaced`, errors reported once per outage, backoff, and `StreamUp` when it delivers.
struct Watch<K> {
    api: Api<K>,
    config: watcher::Config,
    stream: Stream,
    out: Out,
    inner: WatchStream<K>,
    listing: Vec<K>,
    up: bool,
    down: bool,
    backoff: Backoff,
    retry_at: Option<Instant>,
}

impl<K> Watch<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    fn new(api: Api<K>, config: watcher::Config, stream: Stream, out: Out) -> Self {
        let inner = watcher::watcher(api.clone(), config.clone()).boxed();
        Self {
            api,
            config,
            stream,
            out,
            inner,
            listing: Vec::new(),
            up: false,
            down: false,
            backoff: Backoff::new(),
            retry_at: None,
        }
    }

    /// Starts over with a fresh list (after an error, or with another selector).
    fn restart(&mut self, config: Option<watcher::Config>) {
        if let Some(c) = config {
            self.config = c;
        }
        self.inner = watcher::watcher(self.api.clone(), self.config.clone()).boxed();
        self.listing.clear();
    }

    /// The next change; `None` once the sink is closed. Cancel-safe: a pending backoff and a
    /// half-received list survive being dropped in a `select!`.
    async fn next(&mut self) -> Option<Change<K>> {
        loop {
            if let Some(at) = self.retry_at {
                tokio::time::sleep_until(at).await;
                self.retry_at = None;
            }
            let change = match self.inner.next().await {
                Some(Ok(Event::Init)) => {
                    self.listing.clear();
                    None
                }
                Some(Ok(Event::InitApply(k))) => {
                    self.listing.push(k);
                    None
                }
                Some(Ok(Event::InitDone)) => {
                    Some(Change::Replaced(std::mem::take(&mut self.listing)))
                }
                Some(Ok(Event::Apply(k))) => Some(Change::Applied(k)),
                Some(Ok(Event::Delete(k))) => Some(Change::Deleted(k)),
                Some(Err(e)) => {
                    if !self.down {
                        self.down = true;
                        self.up = false;
                        let msg = ClusterMsg::StreamDown {
                            stream: self.stream,
                            error: e.to_string(),
                        };
                        if !self.out.send(msg) {
                            return None;
                        }
                    }
                    // A fresh watcher relists, which both proves the server is back and
                    // replaces whatever happened while it was not.
                    self.restart(None);
                    self.retry_at = Some(Instant::now() + self.backoff.next());
                    None
                }
                // A watcher never ends; if it did, start over.
                None => {
                    self.restart(None);
                    None
                }
            };
            if let Some(change) = change {
                self.backoff.reset();
                return Some(change);
            }
        }
    }

    /// After a change was delivered: `StreamUp` at the first list and after each outage.
    /// False once the sink is closed.
    fn delivered(&mut self) -> bool {
        if self.up {
            return true;
        }
        self.up = true;
        self.down = false;
        self.out.send(ClusterMsg::StreamUp(self.stream))
    }

    fn deliver(&mut self, msg: ClusterMsg) -> bool {
        self.out.send(msg) && self.delivered()
    }
}

async fn follow_deployment(mut w: Watch<Deployment>, selector: watch::Sender<String>) {
    while let Some(change) = w.next().await {
        let latest = match &change {
            Change::Applied(d) => Some(d),
            Change::Replaced(all) => all.first(),
            Change::Deleted(_) => None,
        };
        // Recreated with another selector: the ReplicaSet and Pod watchers follow it.
        if let Some(Ok(s)) = latest.map(selector_of) {
            selector.send_if_modified(|current| {
                let changed = *current != s;
                *current = s;
                changed
            });
        }
        if !w.deliver(ClusterMsg::Deployment(change)) {
            return;
        }
    }
}

/// ReplicaSets or Pods: selected by the Deployment's selector, restarted when it changes.
async fn follow_selected<K>(
    mut w: Watch<K>,
    mut selector: watch::Receiver<String>,
    wrap: fn(Change<K>) -> ClusterMsg,
    saw: impl Fn(&Change<K>) + Send,
) where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    loop {
        tokio::select! {
            change = w.next() => {
                let Some(change) = change else { return };
                saw(&change);
                if !w.deliver(wrap(change)) {
                    return;
                }
            }
            changed = selector.changed() => {
                if changed.is_err() {
                    // The Deployment watcher is gone: so is the whole set.
                    return;
                }
                let s = selector.borrow_and_update().clone();
                w.restart(Some(w.config.clone().labels(&s)));
            }
        }
    }
}

async fn follow_jobs(mut w: Watch<Job>, related: Arc<Related>) {
    while let Some(change) = w.next().await {
        related.saw_jobs(&change);
        if !w.deliver(ClusterMsg::Job(change)) {
            return;
        }
    }
}

/// Events of the whole namespace, passed on only when they concern our objects.
async fn follow_events(mut w: Watch<KubeEvent>, related: Arc<Related>) {
    let mut pending: VecDeque<KubeEvent> = VecDeque::new();
    loop {
        tokio::select! {
            change = w.next() => {
                let Some(change) = change else { return };
                let change = match change {
                    Change::Replaced(all) => {
                        pending.clear();
                        let (ours, others): (Vec<_>, Vec<_>) =
                            all.into_iter().partition(|e| related.about(e));
                        for e in others {
                            hold(&mut pending, e);
                        }
                        Some(Change::Replaced(ours))
                    }
                    Change::Applied(e) if related.about(&e) => Some(Change::Applied(e)),
                    Change::Applied(e) => {
                        hold(&mut pending, e);
                        None
                    }
                    Change::Deleted(e) => {
                        pending.retain(|p| p.metadata.name != e.metadata.name);
                        related.about(&e).then_some(Change::Deleted(e))
                    }
                };
                let open = match change {
                    Some(c) => w.deliver(ClusterMsg::Event(c)),
                    // A stream that only saw others' events is delivering all the same.
                    None => w.delivered(),
                };
                if !open {
                    return;
                }
            }
            () = related.changed.notified() => {
                let (ours, others): (Vec<_>, Vec<_>) =
                    pending.drain(..).partition(|e| related.about(e));
                pending = others.into();
                for e in ours {
                    if !w.deliver(ClusterMsg::Event(Change::Applied(e))) {
                        return;
                    }
                }
            }
        }
    }
}

/// Keeps the newest `PENDING_EVENTS`, one per name (a repeat replaces its older count).
fn hold(pending: &mut VecDeque<KubeEvent>, e: KubeEvent) {
    pending.retain(|p| p.metadata.name != e.metadata.name);
    pending.push_back(e);
    while pending.len() > PENDING_EVENTS {
        pending.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_from_the_deployment() {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["api"]},
                {"key": "canary", "operator": "DoesNotExist"}]},
                     "template": {}},
        }))
        .unwrap();
        assert_eq!(selector_of(&d).unwrap(), "app=web,tier in (api),!canary");
        let empty: Deployment = serde_json::from_value(
            json!({"metadata": {"name": "web"}, "spec": {"selector": {}, "template": {}}}),
        )
        .unwrap();
        assert!(selector_of(&empty).unwrap_err().contains("empty selector"));
    }

    #[test]
    fn backoff_doubles_to_a_second() {
        let mut b = Backoff::new();
        let waits: Vec<u128> = (0..6).map(|_| b.next().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.next(), BACKOFF_START);
    }
}
