//! Harnesses the tests share.
#![allow(dead_code)]

pub mod cluster;
mod cockpit;
pub mod prometheus;
pub mod tmux;

pub use cockpit::*;

/// Runs the real binary on the state dir `dir` with `args` (no config of the user's, no
/// stdin), as a script would, and waits for it.
pub fn run_binary(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_release-cockpit"))
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .env_remove("RELEASE_COCKPIT_CONFIG")
        .env("XDG_CONFIG_HOME", dir)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}
