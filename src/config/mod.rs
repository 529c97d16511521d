//! Typed configuration. A user's file overrides the embedded default table by table: any
//! top-level table the file leaves out comes from `assets/default.toml`.

pub mod access;
pub mod journal;
mod load;
mod names;
mod procedure;
pub mod procedure_spec;
pub mod reader;
mod soak;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::procedure_spec::{Procedure, ReleaseTypeSpec, Roles};
pub use load::known_key_paths;
pub use reader::{Problem, describe_problems};

pub const DEFAULT_TOML: &str = include_str!("../../assets/default.toml");
/// How problems in the embedded default are attributed.
pub(crate) const DEFAULT_ORIGIN: &str = "embedded default";

/// Gauges the cockpit knows; thresholds and queries are keyed by these names.
pub const GAUGES: &[GaugeKind] = &[
    GaugeKind::new("error_rate", true, true),
    GaugeKind::new("p95_latency_seconds", false, true),
    GaugeKind::new("throughput_rps", false, false),
    GaugeKind::new("queue_depth", false, true),
    GaugeKind::new("db_error_rate", true, true),
    GaugeKind::new("db_p95_seconds", false, true),
    GaugeKind::new("celery_failure_rate", true, true),
];

#[derive(Debug, Clone, Copy)]
pub struct GaugeKind {
    pub name: &'static str,
    /// A ratio lives in 0..=1.
    pub ratio: bool,
    /// Error rates and latencies breach above their threshold; throughput breaches below.
    pub higher_is_worse: bool,
}

impl GaugeKind {
    const fn new(name: &'static str, ratio: bool, higher_is_worse: bool) -> Self {
        Self {
            name,
            ratio,
            higher_is_worse,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environment {
    pub name: String,
    pub kube_context: String,
    pub namespace: String,
    pub deployment: String,
    pub container: String,
    pub image_repository: String,
    pub health_url: String,
    pub detailed_health_url: String,
    /// Production-like: destructive actions need the environment and version typed out.
    pub protected: bool,
    /// Where this environment's gauges come from; `None` shows no gauges.
    pub metrics: Option<MetricsSourceConfig>,
    /// The database backup before a deploy (argv; its output is kept with its digest).
    pub backup_command: Option<Vec<String>>,
    /// The smoke tests after a deploy (argv).
    pub smoke_command: Option<Vec<String>>,
    /// Run in a Job built from the Deployment's pod template.
    pub migrate_up: Vec<String>,
    pub migrate_down: Vec<String>,
    /// How long a rollout may take before the cockpit stops following it.
    pub rollout_timeout_secs: u64,
    /// How long a migration, backup, health check or smoke test may take.
    pub step_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsSourceKind {
    /// Prometheus' HTTP API, running the `[metrics.queries]`.
    Prometheus,
    /// The service's own `/metrics`, scraped and computed in the cockpit.
    Scrape,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsSourceConfig {
    pub kind: MetricsSourceKind,
    /// Prometheus' base URL, or the service's `/metrics` URL.
    pub url: String,
    /// The rate window (`$w` in the queries): at least four scrape intervals.
    pub window_secs: u64,
}

/// The fortnightly release calendar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub cadence_days: i64,
    /// Any one release window; the others are whole cadences before and after it.
    pub anchor: DateTime<Utc>,
    /// How long before the window the go/no-go decision is due.
    pub go_no_go_before_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    pub at_minutes: i64,
    pub title: String,
    /// What the cockpit checks by itself when the minute comes. (A production deploy that
    /// failed fails every checkpoint, whatever is listed.)
    pub checks: Vec<CheckpointCheck>,
}

/// An automatic check a checkpoint runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointCheck {
    /// Every gauge within its release-window threshold.
    Gauges,
    /// The last health check of the environment passed.
    Health,
    /// The rollout is complete ("successfully rolled out").
    Rollout,
}

impl CheckpointCheck {
    pub const ALL: [CheckpointCheck; 3] = [
        CheckpointCheck::Gauges,
        CheckpointCheck::Health,
        CheckpointCheck::Rollout,
    ];
    /// What a checkpoint that lists nothing checks: what holds at any minute.
    pub const DEFAULT: [CheckpointCheck; 2] = [CheckpointCheck::Gauges, CheckpointCheck::Health];

    pub fn name(self) -> &'static str {
        match self {
            CheckpointCheck::Gauges => "gauges",
            CheckpointCheck::Health => "health",
            CheckpointCheck::Rollout => "rollout",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    pub normal: f64,
    pub release_window: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackTriggers {
    pub error_rate_above: f64,
    pub p95_degradation_above: f64,
    pub sustain_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Where the config came from, for messages.
    pub origin: String,
    pub service_name: String,
    pub state_dir: Option<PathBuf>,
    pub schedule: Schedule,
    pub environments: BTreeMap<String, Environment>,
    pub roles: Roles,
    /// Who may approve as which role, and how approvals may be entered.
    pub access: access::Access,
    /// Where a release's journal is kept.
    pub journal: journal::JournalPlace,
    /// In the order the file lists them.
    pub release_types: Vec<ReleaseTypeSpec>,
    pub procedure: Procedure,
    pub checkpoints: Vec<Checkpoint>,
    pub thresholds: BTreeMap<String, Threshold>,
    pub rollback_triggers: RollbackTriggers,
    pub metric_queries: BTreeMap<String, String>,
}

impl Config {
    /// The embedded default, which is tested to be valid.
    pub fn embedded() -> Self {
        Self::from_str(DEFAULT_ORIGIN, DEFAULT_TOML).expect("the embedded default config is valid")
    }

    /// Reads a user config over the embedded default; every problem is returned at once.
    pub fn from_str(origin: &str, text: &str) -> Result<Self, Vec<Problem>> {
        load::load(origin, text)
    }

    pub fn from_file(path: &Path) -> Result<Self, Vec<Problem>> {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_str(&origin, &text),
            Err(e) => Err(vec![Problem {
                file: origin,
                line: None,
                path: String::new(),
                message: format!("cannot read the file: {e}"),
            }]),
        }
    }

    /// "regular, hotfix, emergency": for messages naming what may be chosen.
    pub fn release_type_ids(&self) -> String {
        self.release_types
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn release_type(&self, id: &str) -> Option<&ReleaseTypeSpec> {
        self.release_types.iter().find(|t| t.id == id)
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.get(name)
    }
}

/// Where the config is looked for, in order: `--config`, `$RELEASE_COCKPIT_CONFIG`,
/// `./release-cockpit.toml`, then the XDG config dir. `None` means the embedded default.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("RELEASE_COCKPIT_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let local = PathBuf::from("release-cockpit.toml");
    if local.is_file() {
        return Some(local);
    }
    let xdg = dirs::config_dir()?
        .join("release-cockpit")
        .join("config.toml");
    xdg.is_file().then_some(xdg)
}
