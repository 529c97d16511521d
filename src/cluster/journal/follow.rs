//! Following the journal in the cluster: a kube-runtime watcher on the release's segments,
//! which resumes a dropped watch from its resourceVersion and relists after a 410, as the
//! live view's watchers do. Each segment it sees goes through the view, which tells the
//! followers what is new and notices an entry that changed.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;

use super::segments::{self, Segment};
use super::{Shared, reading};
use crate::cluster::actions::RetryBackoff;
use crate::release::journal::JournalError;

pub async fn run(api: Api<ConfigMap>, shared: Arc<Shared>) {
    let config = watcher::Config::default().labels(&segments::selector(&shared.release));
    let mut events = std::pin::pin!(watcher(api.clone(), config).backoff(RetryBackoff::default()));
    // The segments a relist has shown so far: one missing at its end was deleted.
    let mut relisted: Option<BTreeSet<String>> = None;
    while let Some(event) = events.next().await {
        if shared.view().is_broken()
            && matches!(event, Ok(ref e) if !matches!(e, watcher::Event::Init | watcher::Event::InitApply(_)))
        {
            // Nothing after a break is believed, but the watch goes on: any change may be
            // the driver's restore, which only a full reading can tell.
            let _ = reading::reload(&api, &shared).await;
            continue;
        }
        let taken = match event {
            Ok(watcher::Event::Init) => {
                relisted = Some(BTreeSet::new());
                continue;
            }
            Ok(watcher::Event::InitApply(cm)) => {
                if let (Some(seen), Some(name)) = (relisted.as_mut(), cm.metadata.name.clone()) {
                    seen.insert(name);
                }
                take(&shared, &cm)
            }
            Ok(watcher::Event::Apply(cm)) => take(&shared, &cm),
            Ok(watcher::Event::InitDone) => {
                let seen = relisted.take().unwrap_or_default();
                let missing: Vec<String> = shared
                    .view()
                    .segment_names()
                    .into_iter()
                    .filter(|n| !seen.contains(n))
                    .collect();
                deleted_while_away(&api, &shared, missing).await
            }
            Ok(watcher::Event::Delete(cm)) => {
                let name = cm.metadata.name.unwrap_or_default();
                match shared.view().segment_deleted(&name) {
                    Some(e) => Err(e),
                    None => continue,
                }
            }
            Err(e) => {
                tracing::debug!(release = %shared.release, "the journal's watch failed; resuming: {e}");
                continue;
            }
        };
        // Checked and told, or the break told once.
        let _ = reading::settle(&shared, taken).await;
    }
}

fn take(shared: &Shared, cm: &ConfigMap) -> Result<bool, JournalError> {
    match Segment::from_configmap(cm) {
        Ok(segment) => shared.view().take_segment(&shared.namespace, segment),
        Err(why) => Err(shared.view().break_with(why)),
    }
}

/// A relist that lacks a segment this cockpit knows may have been answered just before
/// this cockpit created it; only the API server's 404 says it was deleted.
async fn deleted_while_away(
    api: &Api<ConfigMap>,
    shared: &Shared,
    missing: Vec<String>,
) -> Result<bool, JournalError> {
    for name in missing {
        if let Ok(None) = api.get_opt(&name).await
            && let Some(e) = shared.view().segment_deleted(&name)
        {
            return Err(e);
        }
    }
    Ok(false)
}
