//! `demo`: the cockpit on the embedded default procedure, in a state dir of its own, with
//! release 1.2.3 ready to walk through. Its cluster is a sandbox in this process whose
//! state is saved in the state dir, so a restart (or a `kill -9`) goes on where it was;
//! the release's journal lives in that cluster, where a second cockpit can join it.

mod cluster;
mod join;

use std::sync::Arc;

use cockpit_sandbox::persist;

use super::cockpit::{Launch, launch};
use super::{CmdResult, apply_contexts, environment, operator, usage};
use crate::cli::Common;
use crate::config::Config;
use crate::config::journal::JournalPlace;
use crate::release::clock::{Clock, ScaledClock};
use crate::release::store::{StateDir, default_root, parse_version};

pub const DEMO_RELEASE: &str = "1.2.3";
const DEMO_MARKER: &str = ".release-cockpit-demo";
/// Where the journal is kept: production's cluster, as a team would keep it.
const JOURNAL_ENVIRONMENT: &str = "production";

/// Who may approve in the demo, by the sandbox's groups: (role, group). The demo's own
/// config and the one written for cockpits that join it both come from here, so every
/// cockpit on the release asks the same rules.
const APPROVERS: &[(&str, &str)] = &[
    ("team_lead", "release-engineers"),
    ("engineer", "reviewers"),
    ("on_call", "on-call"),
    ("engineering_manager", "release-engineers"),
    ("cto", "release-engineers"),
];

/// `release`, `create_as`: `--release` and `--type`. A cockpit on a shared journal opens
/// one release for as long as it runs (its roles are taken for it), so another release
/// of the demo is opened by starting the demo on it.
pub fn run(
    common: &Common,
    release: Option<&str>,
    create_as: Option<&str>,
    speed: f64,
    fresh: bool,
) -> CmdResult {
    if !(speed.is_finite() && speed > 0.0 && speed <= 10_000.0) {
        return Err(usage(format!(
            "--speed {speed} is out of range (above 0, at most 10000)"
        )));
    }
    let asked = release
        .map(parse_version)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    let mut config = Config::embedded();
    apply_contexts(common, &mut config)?;
    demo_access(&mut config);
    config.journal = JournalPlace::Cluster {
        environment: JOURNAL_ENVIRONMENT.into(),
        namespace: JOURNAL_ENVIRONMENT.into(),
        signatures_namespace: JOURNAL_ENVIRONMENT.into(),
    };
    let env = environment(common, &config)?;
    let root = common
        .state_dir
        .clone()
        .unwrap_or_else(|| default_root().join("demo"));
    // The join commands name it from any directory.
    let root = std::path::absolute(&root).unwrap_or(root);
    // The demo marks its state dir, so it never writes into (or wipes) a real one.
    let marker = root.join(DEMO_MARKER);
    let has_content = std::fs::read_dir(&root).is_ok_and(|mut d| d.next().is_some());
    if has_content && !marker.exists() {
        return Err(usage(format!(
            "{} holds state that is not the demo's; give the demo an empty or demo --state-dir",
            root.display()
        )));
    }
    if fresh && root.exists() {
        std::fs::remove_dir_all(&root)
            .map_err(|e| usage(format!("cannot remove {} for --fresh: {e}", root.display())))?;
    }
    std::fs::create_dir_all(&root)
        .and_then(|_| std::fs::write(&marker, b"release-cockpit demo state\n"))
        .and_then(|_| join::write_shared_config(&root, APPROVERS).map(drop))
        .map_err(|e| {
            usage(format!(
                "the demo state dir {} is not writable: {e}",
                root.display()
            ))
        })?;
    // A saved cluster that cannot be read is someone's work: say so, never reseed over it.
    let saved = persist::load(&cluster::sandbox_dir(&root)).map_err(|e| {
        usage(format!(
            "the demo's cluster cannot be restored: {e} (demo --fresh starts over)"
        ))
    })?;
    // The cockpit and its sandbox run on one clock; after a restart it goes on from the
    // time the sandbox saved, so journal times never go back.
    let clock: Arc<dyn Clock> = match &saved {
        Some(s) => Arc::new(s.resumed_clock(speed)),
        None => Arc::new(ScaledClock::new(chrono::Utc::now(), speed)),
    };
    let state = StateDir::new(root);
    let release = asked
        .or_else(|| state.current())
        .unwrap_or_else(|| semver::Version::parse(DEMO_RELEASE).expect("valid"));
    launch(Launch {
        config,
        env,
        state,
        operator: operator(common),
        kubeconfig: None,
        release: Some(release.clone()),
        create_as: create_as.map(String::from),
        clock,
        local_cluster: Some(cluster::starter(saved, release)),
        speed,
        observe: common.observe,
    })
}

/// Who may approve in the demo: the sandbox's users, by their groups. Proxy entries are on,
/// so one person can walk a release alone (each such approval says who entered it).
fn demo_access(config: &mut Config) {
    use crate::config::access::Principal;
    config.access.proxy_approvals = true;
    config.access.approvers = APPROVERS
        .iter()
        .map(|(role, group)| {
            (
                role.to_string(),
                vec![Principal::Group(join::group_name(group))],
            )
        })
        .collect();
}
