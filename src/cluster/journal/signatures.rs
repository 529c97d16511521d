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

/// The user's signatures ConfigMap (the sandbox computes the same name).
pub fn signatures_name(user: &str) -> String {
    let who: String = user
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{SIGNATURES_PREFIX}{}", who.trim_matches('-'))
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
                    "annotations": {"release-cockpit/signatures-of": user},
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

/// Checks each entry against its author's signatures; `Err` names the first entry the
/// cluster cannot say its author wrote.
pub async fn check(
    api: &Api<ConfigMap>,
    release: &str,
    entries: &[(Entry, String)],
) -> Result<(), String> {
    let mut maps: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (entry, hash) in entries {
        let name = signatures_name(&entry.by);
        if !maps.contains_key(&name) {
            let data = match api.get_opt(&name).await {
                Ok(cm) => cm.and_then(|c| c.data).unwrap_or_default(),
                Err(e) => {
                    return Err(format!(
                        "cannot read {name} to check who wrote the journal: {e}"
                    ));
                }
            };
            maps.insert(name.clone(), data);
        }
        let signed = maps
            .get(&name)
            .and_then(|m| m.get(&key(release, entry.seq, hash)));
        if signed != Some(hash) {
            return Err(format!(
                "entry {} says {} wrote it, but configmap {name}, which only {} may write, does not hold its hash: someone else wrote it",
                entry.seq, entry.by, entry.by
            ));
        }
    }
    Ok(())
}
