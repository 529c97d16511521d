//! What every metrics source gives: a reading per gauge, where "no traffic" and "no data"
//! are not numbers, so they can never pass for zero or fire a rollback.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reading {
    Value {
        value: f64,
    },
    /// The series exist but nothing happened (a ratio of zero requests, a flat histogram).
    NoTraffic,
    /// Nothing to compute from: the source is down, the series are missing or too young.
    NoData {
        why: String,
    },
}

impl Reading {
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value { value } => Some(*value),
            _ => None,
        }
    }

    pub fn no_data(why: impl Into<String>) -> Self {
        Reading::NoData { why: why.into() }
    }

    /// A computed number, classified: NaN is "no traffic" (0/0), infinities are no data.
    pub fn from_f64(v: f64) -> Self {
        if v.is_nan() {
            Reading::NoTraffic
        } else if v.is_infinite() {
            Reading::no_data("the value is infinite")
        } else {
            Reading::Value { value: v }
        }
    }
}

/// One poll: a reading for each gauge name (see `config::GAUGES`).
pub type Readings = BTreeMap<String, Reading>;

pub type PollFuture<'a> = Pin<Box<dyn Future<Output = Readings> + Send + 'a>>;

/// A source of gauge readings: Prometheus' HTTP API, or the service's `/metrics` scraped
/// directly.
pub trait MetricSource: Send {
    /// Reads every gauge as of `now`. Never fails: trouble is a `NoData` with the reason.
    fn poll(&mut self, now: DateTime<Utc>) -> PollFuture<'_>;

    /// How the source is named on screen ("prometheus http://…", "scrape http://…").
    fn describe(&self) -> String;
}
