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
/// goes to the followers.
pub(super) async fn reload(api: &Api<ConfigMap>, shared: &Shared) -> Result<(), JournalError> {
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
pub(super) async fn vouch_all(shared: &Shared) -> Result<(), JournalError> {
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
pub(super) async fn vouched(
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
