//! Watch streams: one JSON event per line, flushed at once, as kube-rs' and client-go's
//! line decoders expect. A resourceVersion resumes from history; one that is too old gets the
//! in-stream 410 Expired event (never an HTTP 410, which kube-rs would retry forever).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::Sandbox;
use super::errors::ApiError;
use super::output::Shape;
use super::resources::Resource;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{Change, ChangeType};

/// How often an idle watch with bookmarks enabled gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(20);

pub struct WatchRequest {
    pub resource: &'static Resource,
    pub namespace: Option<String>,
    /// `None` or 0: start with the current state as synthetic ADDED events.
    pub resource_version: Option<u64>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub bookmarks: bool,
    pub timeout: Option<Duration>,
    /// `sendInitialEvents=true`: the streaming-list protocol's end-of-initial-events bookmark.
    pub send_initial_events: bool,
    pub shape: Shape,
}

impl WatchRequest {
    fn matches(&self, store: &str, ns: &str, obj: &Value) -> bool {
        store == self.resource.store
            && self.namespace.as_deref().is_none_or(|n| n == ns)
            && self.labels.matches(obj["metadata"]["labels"].as_object())
            && self.fields.matches(obj)
    }

    /// One event line. Table rows carry ages, so they are printed at the event's time.
    fn line(&self, kind: &str, obj: &Value, now: chrono::DateTime<chrono::Utc>) -> Bytes {
        let mut line = serde_json::to_vec(&json!({
            "type": kind,
            "object": self.shape.at(now).one(self.resource, obj),
        }))
        .expect("json");
        line.push(b'\n');
        Bytes::from(line)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let mut line = serde_json::to_vec(&json!({
            "type": "BOOKMARK",
            "object": {
                "kind": self.resource.kind,
                "apiVersion": self.resource.api_version(),
                "metadata": meta,
            },
        }))
        .expect("json");
        line.push(b'\n');
        Bytes::from(line)
    }
}

fn expired_line(message: String) -> Bytes {
    let mut line = serde_json::to_vec(&json!({
        "type": "ERROR",
        "object": ApiError::expired(message).status(),
    }))
    .expect("json");
    line.push(b'\n');
    Bytes::from(line)
}

/// The body of a watch response: a stream that ends on timeout, on a dropped-watches fault,
/// on an expired resourceVersion, or when the client goes away.
pub fn stream(sandbox: Arc<Sandbox>, req: WatchRequest) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::convert::Infallible>>(256);
    let expire_now = {
        let mut faults = sandbox.faults.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut faults.expire_next_watch)
    };
    let mut dropped = sandbox.drop_watches.subscribe();
    // Subscribed first, so a shutdown that begins after this check still ends the stream.
    if sandbox
        .shutting_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        drop(tx);
        return Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    }
    // Under the store's lock: what to replay, and the subscription for what follows, so no
    // change falls between the two.
    let (initial, mut changes, mut last_rv) = {
        let store = sandbox.store();
        let changes = store.subscribe();
        let current = store.resource_version();
        let initial: Result<Vec<Bytes>, Bytes> = match req.resource_version {
            _ if expire_now => Err(expired_line(format!(
                "too old resource version: {} ({})",
                req.resource_version.unwrap_or(0),
                current
            ))),
            None | Some(0) => Ok(store
                .list(req.resource.store, req.namespace.as_deref())
                .into_iter()
                .filter(|o| {
                    let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
                    req.matches(req.resource.store, ns, o)
                })
                .map(|o| req.line("ADDED", o, sandbox.clock.now()))
                .collect()),
            Some(rv) => match store.changes_since(rv) {
                None => Err(expired_line(format!(
                    "too old resource version: {rv} ({})",
                    store.compacted_to()
                ))),
                Some(list) => Ok(list
                    .iter()
                    .filter(|c| req.matches(c.store, &c.namespace, &c.object))
                    .map(|c| req.line(c.kind.as_str(), &c.object, sandbox.clock.now()))
                    .collect()),
            },
        };
        (
            initial,
            changes,
            req.resource_version.unwrap_or(0).max(current),
        )
    };
    tokio::spawn(async move {
        let lines = match initial {
            Ok(lines) => lines,
            Err(expired) => {
                let _ = tx.send(Ok(expired)).await;
                return;
            }
        };
        for line in lines {
            if tx.send(Ok(line)).await.is_err() {
                return;
            }
        }
        if req.send_initial_events && tx.send(Ok(req.bookmark(last_rv, true))).await.is_err() {
            return;
        }
        let timeout = tokio::time::sleep(req.timeout.unwrap_or(Duration::from_secs(3600 * 24)));
        tokio::pin!(timeout);
        let mut bookmark = tokio::time::interval(BOOKMARK_EVERY);
        bookmark.tick().await;
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(c) => {
                        let c: Arc<Change> = c;
                        last_rv = c.rv;
                        if req.matches(c.store, &c.namespace, &c.object) {
                            let kind = match c.kind {
                                ChangeType::Added => "ADDED",
                                ChangeType::Modified => "MODIFIED",
                                ChangeType::Deleted => "DELETED",
                            };
                            let line = if req.shape == Shape::Object && req.resource.group != "events.k8s.io" {
                                // The common case: the stored object as it is, encoded once.
                                let mut l = Vec::with_capacity(c.encoded().len() + 40);
                                l.extend_from_slice(b"{\"type\":\"");
                                l.extend_from_slice(kind.as_bytes());
                                l.extend_from_slice(b"\",\"object\":");
                                l.extend_from_slice(c.encoded());
                                l.extend_from_slice(b"}\n");
                                Bytes::from(l)
                            } else {
                                req.line(kind, &c.object, sandbox.clock.now())
                            };
                            if tx.send(Ok(line)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to keep up: say so the way the API server does, and end.
                        let _ = tx.send(Ok(expired_line(format!(
                            "too old resource version: {last_rv} (the watch fell behind)"
                        )))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = bookmark.tick(), if req.bookmarks => {
                    if tx.send(Ok(req.bookmark(last_rv, false))).await.is_err() {
                        return;
                    }
                }
                _ = dropped.recv() => return,
                _ = &mut timeout => {
                    if req.bookmarks {
                        let _ = tx.send(Ok(req.bookmark(last_rv, false))).await;
                    }
                    return;
                }
                _ = tx.closed() => return,
            }
        }
    });
    Body::from_stream(ReceiverStream::new(rx))
}
