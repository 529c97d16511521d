//! The migration Job's manifest: its name, and the Job built from the Deployment's pod
//! template.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use crate::cluster::{FOR_DEPLOYMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL};
use crate::release::action::MigrationDirection;

/// Kubernetes names that end up in label values (`job-name`) must fit a DNS-1123 label.
const MAX_NAME: usize = 63;

/// Lowercase alphanumerics with single dashes between them.
fn dns_part(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `deal-scout-api-migrate-up-<stamp>`, a valid DNS-1123 label of at most 63 characters.
/// The stamp must name the release action (the version, the journal's task), not the wall
/// clock: a restarted cockpit finds the Job it already started by this name and adopts it.
/// The deployment part is shortened first; a stamp too long to fit is replaced by a digest
/// of it, so two stamps never collapse to one name.
pub fn job_name(deployment: &str, direction: MigrationDirection, stamp: &str) -> String {
    let dir = match direction {
        MigrationDirection::Up => "up",
        MigrationDirection::Down => "down",
    };
    let mut stamp = dns_part(stamp);
    if stamp.len() > 24 {
        let digest = Sha256::digest(stamp.as_bytes());
        stamp = hex::encode(&digest[..6]);
    }
    let suffix = if stamp.is_empty() {
        format!("migrate-{dir}")
    } else {
        format!("migrate-{dir}-{stamp}")
    };
    let room = MAX_NAME - suffix.len() - 1;
    let mut prefix = dns_part(deployment);
    prefix.truncate(room);
    let prefix = prefix.trim_end_matches('-');
    if prefix.is_empty() {
        suffix
    } else {
        format!("{prefix}-{suffix}")
    }
}

/// The Job that runs `argv` in `container` of the Deployment's pod template.
///
/// What a migration needs from the template is what the app needs to reach its database:
/// image, env, envFrom, volumes and mounts, service account, pull secrets, init containers
/// (a native sidecar such as a database proxy stops by itself when the migration ends).
/// Other regular containers are dropped: a Job completes only when every regular container
/// has exited, and a proxy or log shipper never does. Probes, lifecycle hooks and ports go
/// too: a liveness probe would kill the migration, which serves nothing.
///
/// Pod labels are the template's minus `pod-template-hash` and minus the keys the
/// Deployment's selector uses, so the migration pod is never counted as one of the
/// Deployment's pods (by the cockpit's pod watch, a PodDisruptionBudget, `kubectl get -l`)
/// nor, Ready without probes, sent a Service's traffic. Other labels (network policy,
/// team) stay. A `container` that is not in the template leaves the Job without containers,
/// which the API server refuses; `run` checks first.
pub fn migration_job(
    deployment: &Deployment,
    container: &str,
    argv: &[String],
    name: &str,
    backoff_limit: i32,
    deadline_secs: i64,
) -> Job {
    let deploy_name = deployment.name_any();
    let ours = || {
        BTreeMap::from([
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
            (FOR_DEPLOYMENT_LABEL.to_string(), deploy_name.clone()),
        ])
    };
    let template = &deployment.spec.template;
    let selector = &deployment.spec.selector;
    let selector_keys: Vec<&String> = selector
        .match_labels
        .iter()
        .flat_map(|m| m.keys())
        .chain(selector.match_expressions.iter().flatten().map(|e| &e.key))
        .collect();
    let mut labels: BTreeMap<String, String> = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.retain(|k, _| k != "pod-template-hash" && !selector_keys.contains(&k));
    labels.extend(ours());
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone());

    let mut spec = template.spec.clone().unwrap_or_default();
    spec.containers.retain(|c| c.name == container);
    for c in &mut spec.containers {
        c.command = Some(argv.to_vec());
        c.args = None;
        c.liveness_probe = None;
        c.readiness_probe = None;
        c.startup_probe = None;
        c.lifecycle = None;
        c.ports = None;
    }
    spec.restart_policy = Some("Never".to_string());
    // Debug containers added to a running pod cannot be part of a new pod's spec.
    spec.ephemeral_containers = None;

    Job {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: deployment.metadata.namespace.clone(),
            labels: Some(ours()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(backoff_limit),
            active_deadline_seconds: (deadline_secs > 0).then_some(deadline_secs),
            completions: Some(1),
            parallelism: Some(1),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations,
                    ..Default::default()
                }),
                spec: Some(spec),
            },
            ..Default::default()
        }),
        status: None,
    }
}
