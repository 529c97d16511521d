//! Metrics: reading the exposition formats (`exposition`, our own parser: no crate reads
//! both formats correctly) and the maths Prometheus does on them (`promql`: rate with its
//! extrapolation and reset rules, histogram_quantile), so the embedded scrape source
//! computes the same numbers as Prometheus.

pub mod exposition;
pub mod gauges;
pub mod prometheus;
pub mod promql;
pub mod scrape;
pub mod source;

/// The gauge names every source reports.
pub fn config_gauges() -> impl Iterator<Item = &'static str> {
    crate::config::GAUGES.iter().map(|g| g.name)
}
