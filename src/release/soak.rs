//! The soak window after the production deploy: T+0 is the moment the deploy started, the
//! checkpoints fall at the configured minutes, the release-window thresholds hold until
//! T+120, and the rollback triggers watch the gauges with a sustain time. What happened is
//! in the journal (baseline, checkpoint snapshots, acknowledgments, triggers, the verdict);
//! how long a breach has lasted is the cockpit's running knowledge (`TriggerWatch`).
//!
//! This module is the window's logic, which reads a whole `ReleaseState`; the types the
//! journal records about the window live in `soak_record`, so that `event` and `state` can
//! use them without depending back on this module. They are re-exported here: this stays
//! their public home.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::action::{Action, ActionRecord};
pub use super::soak_record::{
    CheckpointSnapshot, FiredTrigger, SoakState, SoakVerdict, TriggerKind,
};
use super::state::ReleaseState;
use crate::config::{CheckpointCheck, Config, RollbackTriggers};
use crate::metrics::source::{Reading, Readings};

/// The window: from the start of the production deploy of this release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub t0: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        now >= self.t0 && now < self.end
    }

    /// Minutes since T+0 (negative before it).
    pub fn minutes(&self, now: DateTime<Utc>) -> f64 {
        (now - self.t0).num_milliseconds() as f64 / 60_000.0
    }
}

/// How long the window lasts: to the last checkpoint (T+120 in the procedure).
pub fn length(config: &Config) -> Duration {
    Duration::minutes(
        config
            .checkpoints
            .iter()
            .map(|c| c.at_minutes)
            .max()
            .unwrap_or(120),
    )
}

/// The production deploy that opened the window: the first deploy of this version to a
/// protected environment that reached the cluster (or is still under way). One that failed
/// before setting anything (the API out of reach) opens nothing.
pub fn opening_deploy<'a>(release: &'a ReleaseState, config: &Config) -> Option<&'a ActionRecord> {
    release.actions.iter().find(|a| {
        matches!(&a.action, Action::Deploy { version, .. } if *version == release.version)
            && config.environment(&a.env).is_some_and(|e| e.protected)
            && match &a.finished {
                None => true,
                Some((_, o)) => o.ok || o.detail.reached_cluster(),
            }
    })
}

/// The window the opening deploy started, if one has.
pub fn window(release: &ReleaseState, config: &Config) -> Option<Window> {
    let deploy = opening_deploy(release, config)?;
    Some(Window {
        t0: deploy.started,
        end: deploy.started + length(config),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointState {
    pub at_minutes: i64,
    pub title: String,
    /// What it checks by itself at its minute (from the config).
    pub checks: Vec<CheckpointCheck>,
    pub snapshot: Option<CheckpointSnapshot>,
    /// Who acknowledged it, and when.
    pub acknowledged: Option<(String, DateTime<Utc>)>,
}

impl CheckpointState {
    pub fn due(&self, window: &Window, now: DateTime<Utc>) -> bool {
        now >= window.t0 + Duration::minutes(self.at_minutes)
    }
}

pub fn checkpoints(release: &ReleaseState, config: &Config) -> Vec<CheckpointState> {
    config
        .checkpoints
        .iter()
        .map(|c| CheckpointState {
            at_minutes: c.at_minutes,
            title: c.title.clone(),
            checks: c.checks.clone(),
            snapshot: release.soak.snapshots.get(&c.at_minutes).cloned(),
            acknowledged: release.soak.acks.get(&c.at_minutes).cloned(),
        })
        .collect()
}

/// The checkpoints whose minute has come and that have no snapshot yet.
pub fn due_snapshots(release: &ReleaseState, config: &Config, now: DateTime<Utc>) -> Vec<i64> {
    let Some(w) = window(release, config) else {
        return Vec::new();
    };
    if release.soak.verdict.is_some() {
        return Vec::new();
    }
    checkpoints(release, config)
        .into_iter()
        .filter(|c| c.snapshot.is_none() && c.due(&w, now))
        .map(|c| c.at_minutes)
        .collect()
}

/// Breaches the window has seen: checkpoints that failed and triggers that fired. A window
/// with any needs a reason to be declared stable.
pub fn breaches(release: &ReleaseState, config: &Config) -> Vec<String> {
    // The production deploy that opened the window (or a later one) must have succeeded.
    let since = window(release, config).map(|w| w.t0);
    let failed_deploy = release
        .actions
        .iter()
        .filter(|a| matches!(a.action, Action::Deploy { .. }))
        .filter(|a| since.is_some_and(|t0| a.started >= t0))
        .filter_map(|a| a.finished.as_ref().filter(|(_, o)| !o.ok))
        .map(|(_, o)| format!("the deploy failed: {}", o.summary));
    let mut out: Vec<String> = failed_deploy.collect();
    out.extend(
        release
            .soak
            .snapshots
            .values()
            .filter(|s| !s.passed)
            .map(|s| format!("T+{}: {}", s.at_minutes, s.failures.join(", "))),
    );
    out.extend(
        release
            .soak
            .triggers
            .iter()
            .map(|t| format!("{}: {}", t.kind.title(), t.detail)),
    );
    out
}

/// A trigger that has held long enough to fire.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub kind: TriggerKind,
    pub detail: String,
}

/// How long each automatic trigger's condition has held, from the readings as they come.
/// Missing data (no data, no traffic, no baseline) resets it: only evidence fires a trigger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriggerWatch {
    since: BTreeMap<TriggerKind, DateTime<Utc>>,
}

impl TriggerWatch {
    /// Takes one poll; returns the triggers whose condition has now held for the sustain
    /// time (each is reported on every poll while it holds: the caller journals it once).
    pub fn observe(
        &mut self,
        at: DateTime<Utc>,
        readings: &Readings,
        baseline_p95: Option<f64>,
        rules: &RollbackTriggers,
    ) -> Vec<Firing> {
        let value = |name: &str| match readings.get(name) {
            Some(Reading::Value { value }) if value.is_finite() => Some(*value),
            _ => None,
        };
        let error_rate = value("error_rate");
        let p95 = value("p95_latency_seconds");
        let checks = [
            (
                TriggerKind::ErrorRate,
                error_rate
                    .filter(|v| *v > rules.error_rate_above)
                    .map(|v| format!("{:.2}% > {:.2}%", v * 100.0, rules.error_rate_above * 100.0)),
            ),
            (
                TriggerKind::LatencyDegraded,
                match (p95, baseline_p95.filter(|b| *b > 0.0)) {
                    (Some(v), Some(b)) if v > b * (1.0 + rules.p95_degradation_above) => {
                        Some(format!(
                            "p95 {:.0} ms is {:.0}% above the baseline {:.0} ms",
                            v * 1000.0,
                            (v / b - 1.0) * 100.0,
                            b * 1000.0
                        ))
                    }
                    _ => None,
                },
            ),
        ];
        let sustain = Duration::seconds(rules.sustain_seconds);
        let mut fired = Vec::new();
        for (kind, breach) in checks {
            match breach {
                Some(detail) => {
                    let since = *self.since.entry(kind).or_insert(at);
                    if at - since >= sustain {
                        let held = (at - since).num_seconds();
                        fired.push(Firing {
                            kind,
                            detail: format!("{detail} for {held} s"),
                        });
                    }
                }
                None => {
                    self.since.remove(&kind);
                }
            }
        }
        fired
    }

    /// When each trigger's condition began to hold, for the alert line.
    pub fn holding(&self) -> &BTreeMap<TriggerKind, DateTime<Utc>> {
        &self.since
    }

    pub fn reset(&mut self) {
        self.since.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RollbackTriggers {
        RollbackTriggers {
            error_rate_above: 0.05,
            p95_degradation_above: 0.5,
            sustain_seconds: 60,
        }
    }

    fn readings(error_rate: Reading, p95: Reading) -> Readings {
        [
            ("error_rate".to_string(), error_rate),
            ("p95_latency_seconds".to_string(), p95),
        ]
        .into_iter()
        .collect()
    }

    fn v(value: f64) -> Reading {
        Reading::Value { value }
    }

    #[test]
    fn a_trigger_fires_only_after_its_sustain_time() {
        let t0: DateTime<Utc> = "2026-12-08T10:00:00Z".parse().unwrap();
        let mut w = TriggerWatch::default();
        for s in [0, 30, 59] {
            let fired = w.observe(
                t0 + Duration::seconds(s),
                &readings(v(0.08), v(0.4)),
                Some(0.4),
                &rules(),
            );
            assert!(fired.is_empty(), "at {s} s");
        }
        let fired = w.observe(
            t0 + Duration::seconds(60),
            &readings(v(0.08), v(0.4)),
            Some(0.4),
            &rules(),
        );
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].kind, TriggerKind::ErrorRate);
        assert_eq!(fired[0].detail, "8.00% > 5.00% for 60 s");
    }

    #[test]
    fn one_good_scrape_restarts_the_sustain_clock() {
        let t0: DateTime<Utc> = "2026-12-08T10:00:00Z".parse().unwrap();
        let mut w = TriggerWatch::default();
        w.observe(t0, &readings(v(0.08), v(0.4)), Some(0.4), &rules());
        w.observe(
            t0 + Duration::seconds(40),
            &readings(v(0.01), v(0.4)),
            Some(0.4),
            &rules(),
        );
        let fired = w.observe(
            t0 + Duration::seconds(70),
            &readings(v(0.08), v(0.4)),
            Some(0.4),
            &rules(),
        );
        assert!(fired.is_empty());
    }

    #[test]
    fn missing_data_never_fires_and_resets() {
        let t0: DateTime<Utc> = "2026-12-08T10:00:00Z".parse().unwrap();
        let mut w = TriggerWatch::default();
        w.observe(t0, &readings(v(0.08), v(0.4)), Some(0.4), &rules());
        let gone = Reading::no_data("scrape failed");
        for s in [30, 60, 90, 120] {
            let fired = w.observe(
                t0 + Duration::seconds(s),
                &readings(gone.clone(), Reading::NoTraffic),
                Some(0.4),
                &rules(),
            );
            assert!(fired.is_empty());
        }
        assert!(w.holding().is_empty());
        // Without a baseline, latency cannot be judged degraded at all.
        for s in [0, 100] {
            let fired = w.observe(
                t0 + Duration::seconds(200 + s),
                &readings(v(0.0), v(5.0)),
                None,
                &rules(),
            );
            assert!(fired.is_empty());
        }
    }

    #[test]
    fn latency_fires_against_the_baseline() {
        let t0: DateTime<Utc> = "2026-12-08T10:00:00Z".parse().unwrap();
        let mut w = TriggerWatch::default();
        w.observe(t0, &readings(v(0.0), v(0.61)), Some(0.4), &rules());
        let fired = w.observe(
            t0 + Duration::seconds(60),
            &readings(v(0.0), v(0.61)),
            Some(0.4),
            &rules(),
        );
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].kind, TriggerKind::LatencyDegraded);
        assert!(
            fired[0]
                .detail
                .starts_with("p95 610 ms is 52% above the baseline 400 ms"),
            "{}",
            fired[0].detail
        );
        // 50% exactly is not "above 50%".
        let mut w = TriggerWatch::default();
        w.observe(t0, &readings(v(0.0), v(0.6)), Some(0.4), &rules());
        assert!(
            w.observe(
                t0 + Duration::seconds(90),
                &readings(v(0.0), v(0.6)),
                Some(0.4),
                &rules()
            )
            .is_empty()
        );
    }
}
