//! The command line (DESIGN.md's contract).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "release-cockpit",
    version,
    about = "A terminal cockpit for driving a production release of a Kubernetes service",
    after_help = "With no subcommand, opens the cockpit. Config is looked for in --config, \
$RELEASE_COCKPIT_CONFIG, ./release-cockpit.toml, then the XDG config dir; without one the \
embedded default procedure is used."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    /// The release to open (semver, such as 1.2.3); created if it does not exist yet.
    #[arg(long, global = true)]
    pub release: Option<String>,
    /// The type of a release being created (regular, hotfix, emergency by default).
    #[arg(long = "type", value_name = "TYPE")]
    pub release_type: Option<String>,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Config file (TOML); see config.example.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The environment the cockpit looks at (staging, production, ...).
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Where journals, releases.log and logs live (overrides the config's state_dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Who is at the keyboard, when no cluster can say (the API server's SelfSubjectReview
    /// wins whenever one answers); recorded as unverified. Default: $RELEASE_COCKPIT_USER,
    /// $USER.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// The kubeconfig to read (default: $KUBECONFIG, then ~/.kube/config, as kubectl).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context of one environment, over the config's kube_context
    /// (repeatable): --context production=alice@prod-cluster.
    #[arg(long = "context", global = true, value_name = "ENV=NAME", value_parser = parse_context)]
    pub contexts: Vec<(String, String)>,
    /// Open the release only to watch it, as its observer: nothing is recorded, and the
    /// driver's lease is not claimed (a release whose journal is in the cluster).
    #[arg(long, global = true)]
    pub observe: bool,
}

fn parse_context(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((env, ctx)) if !env.trim().is_empty() && !ctx.trim().is_empty() => {
            Ok((env.trim().to_string(), ctx.trim().to_string()))
        }
        _ => Err(format!(
            "{s:?} is not ENV=CONTEXT (for example production=alice@prod-cluster)"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// The cockpit on the embedded default procedure, with a state dir of its own.
    #[cfg(feature = "sandbox")]
    Demo {
        /// Run simulated time N times faster than the wall clock.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Start over: remove the demo's state dir first.
        #[arg(long)]
        fresh: bool,
    },
    /// The simulated Kubernetes cluster alone, for kubectl and other tools.
    #[cfg(feature = "sandbox")]
    Sandbox {
        /// Loopback address to serve on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Where to write a kubeconfig with contexts staging and production.
        #[arg(long, value_name = "FILE")]
        kubeconfig_out: PathBuf,
        /// Run simulated time N times faster than the wall clock.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
    /// One snapshot of the release: checklist, approvals, decision, gates.
    Status {
        /// Print JSON (the format scripts rely on).
        #[arg(long)]
        json: bool,
    },
    /// The audit trail (releases.log).
    Audit {
        #[arg(long)]
        json: bool,
        /// Check each release's journal end to end (its hash chain, the creation's version,
        /// every entry against the procedure's rules, the head hash releases.log pinned);
        /// exit 1 naming the first broken entry.
        #[arg(long, conflicts_with = "json")]
        verify: bool,
    },
    /// Append events to a release's journal from stdin (JSON Lines), for scripts and CI;
    /// each is checked by the cockpit's rules and echoed once it is on disk.
    Record,
    /// Probe health URLs (the runbook's health step, usable as a smoke test): each must
    /// answer 2xx with a healthy `status`; exit 0 when all do, 1 otherwise.
    Probe {
        /// http(s) URLs to GET.
        #[arg(required = true)]
        urls: Vec<String>,
        /// Seconds to wait for each answer.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Validate a config file; exit 0, or 2 with one message per problem.
    CheckConfig {
        /// The file to check (default: the config the cockpit would use).
        file: Option<PathBuf>,
    },
}
