//! Authorship the cluster proves. A ConfigMap's content does not say who wrote it, so each
//! participant also writes the hash of every entry they append into a ConfigMap of their
//! own, `release-cockpit-signatures-<user>`, which only they may write (RBAC
//! `resourceNames`; the sandbox's table). Reading checks every entry against its author's
//! ConfigMap: an entry whose author never wrote its hash there was written by someone else.
//!
//! The key holds the hash's start as well as the entry's number, so of two cockpits of the
//! same person racing for one number neither overwrites the other's signature; the loser
//! takes its own back.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

use super::segments::label_value;
use crate::release::event::Entry;

pub const SIGNATURES_PREFIX: &str = "release-cockpit-signatures-";
/// On a signatures ConfigMap: the exact username it is for.
pub const SIGNATURES_OF: &str = "release-cockpit/signatures-of";

/// The user's signatures ConfigMap (the sandbox computes the same name): the name as a
/// DNS label, and, whenever that changed it (case, `:` in a service account), the start
/// of the exact name's hash, so no two users share one.
pub fn signatures_name(user: &str) -> String {
    let who: String = user
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let who = who.trim_matches('-');
    let who: String = who.chars().take(200).collect();
    if who == user {
        format!("{SIGNATURES_PREFIX}{who}")
    } else {
        let hash = crate::release::journal::chain::hash_line(user.as_bytes());
        format!("{SIGNATURES_PREFIX}{who}-{}", &hash[..8])
    }
}

/// `1.2.3.00000007.3fa2c4d5e6f70812`.
pub fn key(release: &str, seq: u64, hash: &str) -> String {
    format!(
        "{}.{seq:08}.{}",
        label_value(release),
        hash.get(..16).unwrap_or(hash)
    )
}

/// Writes `hash` as `user`'s signature of entry `seq`, creating their ConfigMap the first
/// time where the cluster lets them.
pub async fn sign(
    api: &Api<ConfigMap>,
    release: &str,
    user: &str,
    seq: u64,
    hash: &str,
) -> Result<(), kube::Error> {
    let name = signatures_name(user);
    let patch = serde_json::json!({"data": {key(release, seq, hash): hash}});
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(s)) if s.code == 404 => {
            let cm: ConfigMap = serde_json::from_value(serde_json::json!({
                "metadata": {
                    "name": name,
                    "labels": {crate::cluster::MANAGED_BY_LABEL: crate::cluster::MANAGED_BY},
                    "annotations": {SIGNATURES_OF: user},
                },
                "data": {key(release, seq, hash): hash},
            }))
            .expect("a ConfigMap's JSON reads as one");
            match api.create(&PostParams::default(), &cm).await {
                // Created meanwhile by another cockpit of theirs: add to it.
                Err(kube::Error::Api(s)) if s.code == 409 => api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ()),
                other => other.map(|_| ()),
            }
        }
        other => other.map(|_| ()),
    }
}

/// Takes back the signature of an entry that did not land (another cockpit's came first).
pub async fn unsign(api: &Api<ConfigMap>, release: &str, user: &str, seq: u64, hash: &str) {
    let patch = serde_json::json!({"data": {key(release, seq, hash): null}});
    if let Err(e) = api
        .patch(
            &signatures_name(user),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::debug!("could not take back the signature of entry {seq}: {e}");
    }
}

/// Why entries could not be shown to be their authors'.
pub enum Unproven {
    /// Entry `seq`'s author never wrote its hash: someone else wrote it.
    Forged { seq: u64, why: String },
    /// A signatures ConfigMap could not be read now; the entries wait to be checked.
    Unreadable(String),
}

/// Checks each entry against its author's signatures (the ConfigMap's annotation naming
/// them exactly, as well as its name); `Err` names the first entry the cluster cannot
/// say its author wrote.
pub async fn check(
    api: &Api<ConfigMap>,
    release: &str,
    entries: &[(Entry, String)],
) -> Result<(), Unproven> {
    let mut maps: BTreeMap<String, Option<ConfigMap>> = BTreeMap::new();
    for (entry, hash) in entries {
        let name = signatures_name(&entry.by);
        if !maps.contains_key(&name) {
            let cm = api.get_opt(&name).await.map_err(|e| {
                Unproven::Unreadable(format!(
                    "cannot read configmap {name} to check who wrote the journal: {e}"
                ))
            })?;
            maps.insert(name.clone(), cm);
        }
        let cm = maps.get(&name).and_then(Option::as_ref);
        let theirs = cm.is_some_and(|c| {
            c.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SIGNATURES_OF))
                == Some(&entry.by)
        });
        let signed = cm
            .and_then(|c| c.data.as_ref())
            .and_then(|d| d.get(&key(release, entry.seq, hash)));
        if !theirs || signed != Some(hash) {
            return Err(Unproven::Forged {
                seq: entry.seq,
                why: format!(
                    "entry {} says {} wrote it, but configmap {name}, which only {} may write, does not hold its hash: someone else wrote it",
                    entry.seq, entry.by, entry.by
                ),
            });
        }
    }
    Ok(())
}
