//! `[journal]`: where a release's journal is kept. On this machine only (`file`), or in
//! the cluster (`cluster`: ConfigMaps every cockpit on the release reads, appends to and
//! follows), with the state dir keeping a mirror for `status` and `audit` offline.

use std::collections::BTreeMap;

use super::Environment;
use super::reader::Cursor;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "store", rename_all = "snake_case")]
pub enum JournalPlace {
    File,
    Cluster {
        /// The environment whose cluster (kubeconfig context) holds the journal.
        environment: String,
        namespace: String,
        /// Where each participant's signatures ConfigMap is (RBAC `resourceNames`).
        signatures_namespace: String,
    },
}

pub fn read_journal(
    c: &Cursor,
    environments: Option<&BTreeMap<String, Environment>>,
) -> Option<JournalPlace> {
    let store = c.opt_str("store").unwrap_or_else(|| "file".into());
    let environment = c.opt_str("environment");
    let namespace = c.opt_str("namespace");
    let signatures_namespace = c.opt_str("signatures_namespace");
    let place = match store.as_str() {
        "file" => Some(JournalPlace::File),
        "cluster" => environments.and_then(|envs| {
            let name = environment.or_else(|| {
                envs.iter()
                    .find(|(_, e)| e.protected)
                    .or_else(|| envs.iter().next_back())
                    .map(|(n, _)| n.clone())
            })?;
            let Some(env) = envs.get(&name) else {
                c.report(
                    "environment",
                    format!(
                        "unknown environment {name:?} (environments are: {})",
                        envs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
                return None;
            };
            let namespace = namespace.unwrap_or_else(|| env.namespace.clone());
            Some(JournalPlace::Cluster {
                environment: name,
                signatures_namespace: signatures_namespace.unwrap_or_else(|| namespace.clone()),
                namespace,
            })
        }),
        other => {
            c.report(
                "store",
                format!("unknown journal store {other:?} (it is \"file\" or \"cluster\")"),
            );
            None
        }
    };
    c.finish();
    place
}
