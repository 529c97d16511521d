//! Gauges: each reading against its threshold (the stricter release-window one while the
//! window is open), with a status, a history for sparklines, and a baseline to compare with.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::source::{Reading, Readings};
use crate::config::{Config, GAUGES};

/// How many readings a gauge keeps for its sparkline.
pub const HISTORY: usize = 10_000;
/// How far back the history reaches: the soak window's T-15..T+120 with room to spare.
pub const HISTORY_SPAN_SECS: i64 = 3 * 3600;
/// How far back before a deploy the baseline looks: the median of these minutes' readings,
/// so one bad scrape (a p95 from a handful of requests, a source just started) does not
/// become the yardstick "degraded by 50%" is measured with for two hours.
pub const BASELINE_SPAN_SECS: i64 = 5 * 60;
/// A value past this share of its threshold is a warning.
const WARN_AT: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GaugeStatus {
    Ok,
    Warn,
    Breach,
    NoData,
    NoTraffic,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    pub value: f64,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gauge {
    pub name: &'static str,
    pub unit: &'static str,
    pub reading: Reading,
    pub value: Option<f64>,
    pub normal: Option<f64>,
    pub release_window: Option<f64>,
    /// The threshold the status was judged against.
    pub threshold: Option<f64>,
    pub status: GaugeStatus,
    pub baseline: Option<Baseline>,
    #[serde(skip)]
    pub higher_is_worse: bool,
    /// Oldest first; `None` where there was no number.
    pub history: VecDeque<(DateTime<Utc>, Option<f64>)>,
    pub updated: Option<DateTime<Utc>>,
}

pub fn unit_of(name: &str) -> &'static str {
    match name {
        "error_rate" | "db_error_rate" | "celery_failure_rate" => "ratio",
        "p95_latency_seconds" | "db_p95_seconds" => "s",
        "throughput_rps" => "req/s",
        "queue_depth" => "tasks",
        _ => "",
    }
}

/// A value in the unit people read it in: 0.8% not 0.008, 412 ms not 0.412.
pub fn format_value(unit: &str, v: f64) -> String {
    match unit {
        "ratio" => format!("{:.2}%", v * 100.0),
        "s" => format!("{:.0} ms", v * 1000.0),
        "req/s" => format!("{v:.1}/s"),
        _ => format!("{v:.0}"),
    }
}

/// A value judged against a threshold; `higher_is_worse` false means the threshold is a floor.
pub fn judge(value: f64, threshold: Option<f64>, higher_is_worse: bool) -> GaugeStatus {
    let Some(t) = threshold else {
        return GaugeStatus::Ok;
    };
    let (breach, warn) = if higher_is_worse {
        (value > t, value > t * WARN_AT)
    } else {
        (value < t, value < t / WARN_AT)
    };
    if breach {
        GaugeStatus::Breach
    } else if warn {
        GaugeStatus::Warn
    } else {
        GaugeStatus::Ok
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GaugeBoard {
    pub gauges: BTreeMap<&'static str, Gauge>,
    /// Where the readings come from, for the screen.
    pub source: String,
}

impl GaugeBoard {
    pub fn new(config: &Config, source: String) -> Self {
        let gauges = GAUGES
            .iter()
            .map(|g| {
                let t = config.thresholds.get(g.name);
                (
                    g.name,
                    Gauge {
                        name: g.name,
                        unit: unit_of(g.name),
                        reading: Reading::no_data("not read yet"),
                        value: None,
                        normal: t.map(|t| t.normal),
                        release_window: t.map(|t| t.release_window),
                        threshold: t.map(|t| t.normal),
                        status: GaugeStatus::NoData,
                        baseline: None,
                        higher_is_worse: g.higher_is_worse,
                        history: VecDeque::new(),
                        updated: None,
                    },
                )
            })
            .collect();
        Self { gauges, source }
    }

    /// Takes one poll's readings; `window_open` picks the release-window thresholds.
    pub fn record(&mut self, at: DateTime<Utc>, readings: &Readings, window_open: bool) {
        for g in self.gauges.values_mut() {
            let reading = readings
                .get(g.name)
                .cloned()
                .unwrap_or_else(|| Reading::no_data("the source did not report it"));
            g.threshold = if window_open {
                g.release_window
            } else {
                g.normal
            };
            g.value = reading.value();
            g.status = match &reading {
                Reading::Value { value } => judge(*value, g.threshold, g.higher_is_worse),
                Reading::NoTraffic => GaugeStatus::NoTraffic,
                Reading::NoData { .. } => GaugeStatus::NoData,
            };
            g.reading = reading;
            g.updated = Some(at);
            g.history.push_back((at, g.value));
            let oldest = at - chrono::Duration::seconds(HISTORY_SPAN_SECS);
            while g.history.len() > HISTORY || g.history.front().is_some_and(|(t, _)| *t < oldest) {
                g.history.pop_front();
            }
        }
    }

    /// Takes the baseline just before a deploy: each gauge's median over the last
    /// `BASELINE_SPAN_SECS` of readings (the current value when there are none). A gauge
    /// without a number then has no baseline.
    pub fn capture_baseline(&mut self, at: DateTime<Utc>) {
        let since = at - chrono::Duration::seconds(BASELINE_SPAN_SECS);
        for g in self.gauges.values_mut() {
            let mut recent: Vec<f64> = g
                .history
                .iter()
                .filter(|(t, _)| *t >= since && *t <= at)
                .filter_map(|(_, v)| *v)
                .collect();
            recent.sort_by(f64::total_cmp);
            let median = match recent.len() {
                0 => g.value,
                n if n % 2 == 1 => Some(recent[n / 2]),
                n => Some((recent[n / 2 - 1] + recent[n / 2]) / 2.0),
            };
            g.baseline = median.map(|value| Baseline { value, at });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(pairs: &[(&str, Reading)]) -> Readings {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn thresholds_tighten_while_the_release_window_is_open() {
        let mut b = GaugeBoard::new(&Config::embedded(), "test".into());
        let at = Utc::now();
        let r = readings(&[("error_rate", Reading::Value { value: 0.009 })]);
        b.record(at, &r, false);
        assert_eq!(
            b.gauges["error_rate"].status,
            GaugeStatus::Warn,
            "0.9% against 1%"
        );
        b.record(at, &r, true);
        assert_eq!(
            b.gauges["error_rate"].status,
            GaugeStatus::Breach,
            "0.9% against 0.5%"
        );
        assert_eq!(b.gauges["error_rate"].threshold, Some(0.005));
    }

    #[test]
    fn no_data_and_no_traffic_are_neither_zero_nor_ok() {
        let mut b = GaugeBoard::new(&Config::embedded(), "test".into());
        let r = readings(&[
            ("error_rate", Reading::NoTraffic),
            (
                "p95_latency_seconds",
                Reading::no_data("Prometheus is down"),
            ),
            ("queue_depth", Reading::Value { value: 0.0 }),
        ]);
        b.record(Utc::now(), &r, true);
        assert_eq!(b.gauges["error_rate"].status, GaugeStatus::NoTraffic);
        assert_eq!(b.gauges["error_rate"].value, None);
        assert_eq!(b.gauges["p95_latency_seconds"].status, GaugeStatus::NoData);
        assert_eq!(b.gauges["queue_depth"].status, GaugeStatus::Ok);
        assert_eq!(b.gauges["queue_depth"].value, Some(0.0));
        // Gauges the source did not report at all.
        assert_eq!(b.gauges["db_p95_seconds"].status, GaugeStatus::NoData);
    }

    #[test]
    fn history_is_bounded_and_the_baseline_is_kept() {
        let mut b = GaugeBoard::new(&Config::embedded(), "test".into());
        let t0 = Utc::now();
        for i in 0..(HISTORY + 10) {
            let r = readings(&[("throughput_rps", Reading::Value { value: i as f64 })]);
            b.record(t0 + chrono::Duration::seconds(i as i64), &r, false);
        }
        assert_eq!(b.gauges["throughput_rps"].history.len(), HISTORY);
        b.capture_baseline(t0);
        assert_eq!(
            b.gauges["throughput_rps"].baseline.as_ref().unwrap().value,
            (HISTORY + 9) as f64
        );
        assert_eq!(
            b.gauges["error_rate"].baseline, None,
            "no value, no baseline"
        );
    }

    /// The baseline is the last five minutes' median: one odd reading just before the
    /// deploy (or long before it) does not become the yardstick.
    #[test]
    fn the_baseline_is_the_median_of_the_last_five_minutes() {
        let mut b = GaugeBoard::new(&Config::embedded(), "test".into());
        let t0 = Utc::now();
        let p95 = |v: f64| readings(&[("p95_latency_seconds", Reading::Value { value: v })]);
        // Ten minutes ago, a slow spell that is no longer "before the deploy".
        b.record(t0 - chrono::Duration::seconds(600), &p95(2.0), false);
        b.record(t0 - chrono::Duration::seconds(590), &p95(2.0), false);
        for (secs, v) in [(240, 0.40), (180, 0.38), (120, 0.41), (60, 0.39), (0, 0.24)] {
            b.record(t0 - chrono::Duration::seconds(secs), &p95(v), false);
        }
        b.record(
            t0,
            &readings(&[("p95_latency_seconds", Reading::no_data("scrape failed"))]),
            false,
        );
        b.capture_baseline(t0);
        let base = b.gauges["p95_latency_seconds"].baseline.as_ref().unwrap();
        assert_eq!((base.value, base.at), (0.39, t0));
    }

    #[test]
    fn a_floor_threshold_breaches_below() {
        assert_eq!(judge(5.0, Some(10.0), false), GaugeStatus::Breach);
        assert_eq!(judge(11.0, Some(10.0), false), GaugeStatus::Warn);
        assert_eq!(judge(20.0, Some(10.0), false), GaugeStatus::Ok);
    }
}
