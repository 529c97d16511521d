//! What the journal in the cluster keeps besides its entries, and the driver's repair: the
//! releases.log lines beside it, and a broken journal put back as this cockpit read it.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};

use super::Shared;
use super::reading::reload;
use super::segments;
use crate::release::journal::JournalError;

/// The release's audit ConfigMap (`release-cockpit-audit-<version>`): each releases.log
/// line written for it (a release concluded, or concluded again after a correction),
/// under the next number, as the file keeps them in order.
pub(super) async fn keep_audit(
    api: &Api<ConfigMap>,
    shared: &Shared,
    line: &str,
) -> Result<(), JournalError> {
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
pub(super) async fn restore(api: &Api<ConfigMap>, shared: &Shared) -> Result<String, JournalError> {
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
