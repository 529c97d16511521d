//! release-cockpit: a terminal cockpit for driving a production release of a Kubernetes
//! service through the team's procedure. See DESIGN.md in the shared folder and README.md.

pub mod app;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod http;
mod logging;
pub mod metrics;
pub mod release;
pub mod report;
pub mod runtime;
pub mod sink;
pub mod tasks;
pub mod tui;
pub mod ui;
