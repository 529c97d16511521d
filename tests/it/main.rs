//! The cockpit's integration tests, as one binary: a clean test build links once.
//! `common` holds the shared harnesses: the test cockpit, the sandbox wiring, tmux and a
//! real Prometheus on loopback.

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

mod common;

mod approvals;
mod checks;
mod cli_bad_input;
mod cli_record;
mod cli_reports;
mod cluster_actions;
mod cluster_jobs;
mod cluster_watch;
mod cockpit_deploy;
mod config_errors;
mod config_example;
mod e2e_demo_restart;
mod e2e_deploy;
mod e2e_shared;
mod e2e_soak;
mod e2e_tmux;
mod exposition;
mod identity_cluster;
mod journal;
mod journal_chain;
mod journal_cluster;
mod metrics_prometheus;
mod promql_golden;
mod robustness;
mod runbook;
mod sandbox_cli;
mod sandbox_service;
mod shared_release;
mod soak;
mod soak_sandbox;
mod ui_rollout;
mod ui_snapshots;
mod ui_timeline;
mod update;
