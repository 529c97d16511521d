//! Metrics: reading the exposition formats (`exposition`, our own parser: no crate reads
//! both formats correctly) and the maths Prometheus does on them (`promql`: rate with its
//! extrapolation and reset rules, histogram_quantile), so the embedded scrape source
//! computes the same numbers as Prometheus.

pub mod exposition;
pub mod gauges;
pub mod poll;
pub mod prometheus;
pub use cockpit_promql as promql;
pub mod scrape;
pub mod source;

/// The gauge names every source reports.
pub fn config_gauges() -> impl Iterator<Item = &'static str> {
    crate::config::GAUGES.iter().map(|g| g.name)
}

/// The metrics source an environment's config names, if any.
pub fn source_for(
    config: &crate::config::Config,
    env: &crate::config::Environment,
) -> Option<Box<dyn source::MetricSource>> {
    use crate::config::MetricsSourceKind;
    let m = env.metrics.as_ref()?;
    let timeout = std::time::Duration::from_secs(2);
    Some(match m.kind {
        MetricsSourceKind::Prometheus => Box::new(prometheus::PrometheusSource::new(
            &m.url,
            &config.metric_queries,
            &format!("{}s", m.window_secs),
            timeout,
        )),
        MetricsSourceKind::Scrape => Box::new(scrape::ScrapeSource::new(
            &m.url,
            std::time::Duration::from_secs(m.window_secs),
            timeout,
        )),
    })
}
