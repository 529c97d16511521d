//! Reading the journal in the cluster: the segments listed and taken into the view, and
//! every new entry checked against its author's signatures before anyone is told of it.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::ListParams;

use super::segments::{self, Segment};
use super::{Shared, signatures};
use crate::release::event::Entry;
use crate::release::journal::{Followed, JournalError};

/// Lists the release's segments and takes them into the view; what others appended since
/// is checked, then goes to the followers.
pub(super) async fn reload(api: &Api<ConfigMap>, shared: &Shared) -> Result<(), JournalError> {
    let list = api
        .list(&ListParams::default().labels(&segments::selector(&shared.release)))
        .await
        .map_err(|e| shared.error("listing the journal's ConfigMaps", e))?;
    let mut read = Vec::with_capacity(list.items.len());
    for cm in &list.items {
        match Segment::from_configmap(cm) {
            Ok(segment) => read.push(segment),
            Err(why) => {
                let e = shared.view().break_with(why);
                shared.tell_broken(&e);
                return Err(e);
            }
        }
    }
    // A full list: the one reading a broken journal may be found repaired by.
    let read_at = list
        .metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .or(Some(0));
    let taken = shared.view().take_all(&shared.namespace, read, read_at);
    settle(shared, taken).await
}

/// After the view took a reading in: the new entries checked, then told (with the news
/// that a broken journal checks out again, when it does); a break told once.
pub(super) async fn settle(
    shared: &Shared,
    taken: Result<bool, JournalError>,
) -> Result<(), JournalError> {
    let outcome = match taken {
        Ok(repaired) => vouch(shared).await.map(|()| repaired),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(repaired) => {
            let mut news = shared.view().news();
            if repaired {
                news.insert(0, Followed::Repaired);
            }
            shared.tell(news);
            Ok(())
        }
        Err(e) => {
            if shared.view().is_broken() {
                shared.tell_broken(&e);
            }
            Err(e)
        }
    }
}

/// Checks every entry not yet checked against its author's signatures. A forged one
/// breaks the journal (and is forgotten with all after it); signatures that cannot be
/// read now leave the entries waiting, unread and untold, for the next reading.
pub(super) async fn vouch(shared: &Shared) -> Result<(), JournalError> {
    // Broken meanwhile (the watch's check and a reading's run side by side): nothing holds.
    if let Some(e) = shared.view().broken_error_now() {
        return Err(e);
    }
    let pending: Vec<(Entry, String)> = shared.view().unchecked();
    let Some(last) = pending.last().map(|(e, _)| e.seq) else {
        return Ok(());
    };
    match signatures::check(shared.signatures(), &shared.release, &pending).await {
        Ok(()) => {
            let mut view = shared.view();
            view.mark_checked(last);
            match view.broken_error_now() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        Err(signatures::Unproven::Forged { seq, why }) => Err(shared.view().break_at(seq, why)),
        Err(signatures::Unproven::Unreadable(message)) => {
            tracing::warn!(release = %shared.release, "{message}");
            Err(JournalError::Cluster {
                at: format!("namespace {}", shared.signatures_namespace),
                message,
            })
        }
    }
}
