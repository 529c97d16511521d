//! Logs go to a file in the state dir, never to the terminal the cockpit draws on.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts file logging; keep the guard alive until exit so the last lines are flushed.
pub fn init(dir: &Path) -> std::io::Result<(PathBuf, WorkerGuard)> {
    std::fs::create_dir_all(dir)?;
    let file_name = "release-cockpit.log";
    let appender = tracing_appender::rolling::never(dir, file_name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter =
        EnvFilter::try_from_env("RELEASE_COCKPIT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests that run the cockpit twice) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok((dir.join(file_name), guard))
}
