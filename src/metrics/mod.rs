//! Metrics: reading the exposition formats (`exposition`, our own parser: no crate reads
//! both formats correctly) and the maths Prometheus does on them (`promql`: rate with its
//! extrapolation and reset rules, histogram_quantile), so the embedded scrape source
//! computes the same numbers as Prometheus.

pub mod exposition;
pub mod promql;
pub mod source;
