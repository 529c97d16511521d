//! `status` of a release whose journal is in the cluster: read there, on any machine with
//! a kubeconfig (no state dir of the release's needed), with who drives and who is on it.

use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use crate::cli::Common;
use crate::cluster::journal::ClusterJournal;
use crate::cluster::journal::segments::Capacity;
use crate::cluster::lease::{self, Driver, Present};
use crate::config::Config;
use crate::release::store::{StateDir, Verified};
use crate::runtime::SharedJournal;

pub struct Live {
    pub verified: Verified,
    pub driving: Driving,
}

/// Who drives the release and who is on it, as its leases say.
pub struct Driving {
    pub driver: Option<Driver>,
    pub present: Vec<Present>,
}

impl Driving {
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let mut text = format!(
            "driving: {}\n",
            crate::app::shared::who_drives(self.driver.as_ref(), now)
        );
        if !self.present.is_empty() {
            text.push_str(&format!("on it: {}\n", lease::who_is_on(&self.present)));
        }
        text
    }

    pub fn to_json(&self, now: DateTime<Utc>) -> serde_json::Value {
        serde_json::json!({
            "driver": self.driver.as_ref().map(|d| serde_json::json!({
                "name": d.name,
                "since": d.since,
                "renewed": d.renewed,
                "live": d.live(now),
            })),
            "present": self.present.iter().map(|p| serde_json::json!({
                "name": p.name,
                "role": p.role,
                "seen": p.seen,
            })).collect::<Vec<_>>(),
        })
    }
}

/// `None` when the config keeps journals in files; `Err` why the cluster's could not be
/// read (the caller falls back to the mirror, and says so).
pub fn read(
    common: &Common,
    config: &Config,
    state: &StateDir,
    version: &semver::Version,
) -> Option<Result<Live, String>> {
    if config.journal == crate::config::journal::JournalPlace::File {
        return None;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Some(Err(e.to_string())),
    };
    let shared = runtime.block_on(SharedJournal::for_config(
        config,
        common.kubeconfig.as_deref(),
    ))?;
    Some(runtime.block_on(async {
        let SharedJournal {
            namespace,
            signatures_namespace,
            kube,
            ..
        } = shared?;
        let (namespace, signatures_namespace) = (&namespace, &signatures_namespace);
        let release = version.to_string();
        let (journal, contents) = ClusterJournal::connect_signed_in(
            kube.clone(),
            namespace,
            signatures_namespace,
            &release,
            Capacity::default(),
        )
        .map_err(|e| e.to_string())?;
        if contents.entries.is_empty() {
            return Err(format!(
                "release {release} has no journal in namespace {namespace}"
            ));
        }
        let location = crate::release::journal::JournalStore::location(&journal);
        let verified = state
            .verify_contents(config, version, &location, contents)
            .map_err(|e| e.to_string())?;
        let leases: Api<Lease> = Api::namespaced(
            kube::Client::try_from(kube).map_err(|e| e.to_string())?,
            namespace,
        );
        let (driver, present) = lease::survey(&leases, &release)
            .await
            .map_err(|e| format!("reading who drives: {e}"))?;
        Ok(Live {
            verified,
            driving: Driving { driver, present },
        })
    }))
}
