//! Metrics: the maths Prometheus does (rate with its extrapolation and reset rules,
//! histogram_quantile), so the embedded scrape source computes the same numbers.

pub mod promql;
