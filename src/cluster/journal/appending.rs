//! Appending to the journal in the cluster: the author's signature first, then the entry
//! as a merge patch carrying the last segment's resourceVersion (or the next segment's
//! creation), so of two writers on one number exactly one lands; a full segment sealed.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

use super::reading::reload;
use super::segments::{self, Segment};
use super::{Shared, signatures, view};
use crate::cluster::FIELD_MANAGER;
use crate::release::event::{Entry, Event};
use crate::release::identity::Author;
use crate::release::journal::{AppendError, JournalError};

/// How many times an append is tried again when the segment moved on without a new entry
/// (someone marked it immutable, or touched its labels): nothing for the rules to see.
const SAME_SEQ_RETRIES: usize = 5;

pub(super) async fn append(
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
                resource_version: None,
                ..
            } => {
                // No version to hold the write to (never one read from the cluster): a
                // patch without its precondition could land beside another's. Read again.
                shared.view().cancel(&prepared);
                unsign().await;
                reload(api, shared).await?;
                continue;
            }
            view::Write::AddTo {
                name,
                resource_version: Some(resource_version),
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
                // entry is ours if it is there. Its signature is taken back only when a
                // reading shows another entry in its place; unsure, it stays (a signature
                // of an entry that never landed proves nothing; one taken from an entry
                // that did would look like a forgery).
                let error = shared.error(&format!("appending entry {expected}"), e);
                let read = reload(api, shared).await.is_ok();
                let mine = read && shared.view().holds(&prepared);
                let another = read && !mine && shared.view().next_seq() > expected;
                shared.view().cancel(&prepared);
                if another {
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
