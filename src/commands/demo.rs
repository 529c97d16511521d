//! `demo`: the cockpit on the embedded default procedure, in a state dir of its own, with
//! release 1.2.3 ready to walk through.

use std::sync::Arc;

use super::cockpit::{Launch, launch};
use super::{CmdResult, environment, operator, usage};
use crate::cli::Common;
use crate::config::Config;
use crate::release::clock::ScaledClock;
use crate::release::store::{StateDir, default_root};

pub const DEMO_RELEASE: &str = "1.2.3";
const DEMO_MARKER: &str = ".release-cockpit-demo";

pub fn run(common: &Common, speed: f64, fresh: bool) -> CmdResult {
    if !(speed.is_finite() && speed > 0.0 && speed <= 10_000.0) {
        return Err(usage(format!(
            "--speed {speed} is out of range (above 0, at most 10000)"
        )));
    }
    let config = Config::embedded();
    let env = environment(common, &config)?;
    let root = common
        .state_dir
        .clone()
        .unwrap_or_else(|| default_root().join("demo"));
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
        .map_err(|e| {
            usage(format!(
                "the demo state dir {} is not writable: {e}",
                root.display()
            ))
        })?;
    let state = StateDir::new(root);
    let release = state
        .current()
        .unwrap_or_else(|| semver::Version::parse(DEMO_RELEASE).expect("valid"));
    launch(Launch {
        config,
        env,
        state,
        operator: operator(common),
        release: Some(release),
        create_as: None,
        clock: Arc::new(ScaledClock::new(chrono::Utc::now(), speed)),
        sandbox: true,
        speed,
    })
}
