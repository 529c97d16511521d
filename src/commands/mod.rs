//! One file per subcommand. Each returns `Err(UsageError)` for bad input, which `main`
//! turns into a message and exit status 2 before anything is written.

pub mod audit;
pub mod check_config;
pub mod cockpit;
#[cfg(feature = "sandbox")]
pub mod demo;
mod live_status;
pub mod probe;
pub mod record;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod status;

use std::path::PathBuf;

use crate::cli::Common;
use crate::cluster::identity::Identified;
use crate::config::{self, Config};
use crate::release::store::StateDir;

/// Bad input: a config, a flag or a file the user gave. Exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The command ran and its answer is no (a probe found a URL unhealthy). Exit status 1,
/// its message alone: nothing went wrong that a report would explain.
#[derive(Debug)]
pub struct NegativeAnswer(pub String);

impl std::fmt::Display for NegativeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NegativeAnswer {}

/// A command's end: bad input is a `UsageError` inside the report (exit 2, its message
/// alone); anything else is reported by color-eyre with its chain of causes (exit 1).
pub type CmdResult = color_eyre::Result<()>;

pub fn usage(msg: impl Into<String>) -> color_eyre::Report {
    color_eyre::Report::new(UsageError(msg.into()))
}

/// The config the cockpit would use, or every problem with it, with the command line's
/// `--context` overrides applied.
pub fn load_config(common: &Common) -> color_eyre::Result<Config> {
    let mut config = match config::locate(common.config.as_deref()) {
        None => Config::embedded(),
        Some(path) => Config::from_file(&path)
            .map_err(|problems| usage(config::describe_problems(&problems)))?,
    };
    apply_contexts(common, &mut config)?;
    Ok(config)
}

/// `--context ENV=NAME`: each names an environment of the config.
pub fn apply_contexts(common: &Common, config: &mut Config) -> color_eyre::Result<()> {
    for (env, context) in &common.contexts {
        let known: Vec<String> = config.environments.keys().cloned().collect();
        let Some(e) = config.environments.get_mut(env) else {
            return Err(usage(format!(
                "--context {env}={context}: there is no environment {env:?} (the config has: {})",
                known.join(", ")
            )));
        };
        e.kube_context = context.clone();
    }
    Ok(())
}

/// Who is asking, as the clusters tell (`--kubeconfig`, the contexts), else the claimed
/// `operator` name; for the commands that write (`record`).
pub fn identify(common: &Common, config: &Config) -> color_eyre::Result<Identified> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(async {
        let clients = cockpit::setup::connect_clients(config, common.kubeconfig.as_deref()).await;
        crate::cluster::identity::identify(config, &clients, &operator(common), IDENTIFY_TIMEOUT)
            .await
    }))
}

/// How long a cluster has to say who we are before the claimed name is used.
pub const IDENTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

pub fn state_dir(common: &Common, config: &Config) -> StateDir {
    match &common.state_dir {
        Some(dir) => StateDir::new(dir.clone()),
        None => StateDir::for_config(config),
    }
}

/// The environment named on the command line, checked against the config.
pub fn environment(common: &Common, config: &Config) -> color_eyre::Result<String> {
    let name = common.env.clone().unwrap_or_else(|| "staging".to_string());
    if config.environment(&name).is_some() {
        Ok(name)
    } else {
        let known: Vec<&str> = config.environments.keys().map(String::as_str).collect();
        Err(usage(format!(
            "unknown environment {name:?} (the config has: {})",
            known.join(", ")
        )))
    }
}

pub fn operator(common: &Common) -> String {
    common
        .user
        .clone()
        .or_else(|| std::env::var("RELEASE_COCKPIT_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "operator".to_string())
}

pub fn log_dir(state: &StateDir) -> PathBuf {
    state.log_dir()
}

/// Prints a command's output. A reader that stops early (`status --json | head`) is not an
/// error: like any Unix tool, stop quietly.
pub fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}
