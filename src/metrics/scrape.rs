//! The embedded source: scrape the service's `/metrics` directly, keep a sliding window of
//! samples per series, and compute the gauges the way the default PromQL queries do.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::exposition::{self, Format};
use super::promql::{self, Point, Series, Window};
use super::source::{MetricSource, PollFuture, Reading, Readings};

/// A series: its sample name and sorted labels.
type Key = (String, Vec<(String, String)>);

pub struct ScrapeSource {
    url: String,
    client: reqwest::Client,
    window_ms: i64,
    series: BTreeMap<Key, Series>,
}

fn label<'a>(key: &'a Key, name: &str) -> Option<&'a str> {
    key.1
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl ScrapeSource {
    /// `window` is the rate window: keep it at least four scrape intervals.
    pub fn new(metrics_url: &str, window: Duration, timeout: Duration) -> Self {
        let client = crate::http::client_builder()
            .timeout(timeout)
            .build()
            .expect("a plain HTTP client builds");
        Self {
            url: metrics_url.to_string(),
            client,
            window_ms: window.as_millis() as i64,
            series: BTreeMap::new(),
        }
    }

    /// Adds one scrape's samples at `t_ms`, then forgets what is older than the window needs.
    pub fn ingest(&mut self, text: &str, format: Format, t_ms: i64) -> Result<(), String> {
        let families = exposition::parse(text, format)
            .map_err(|e| format!("the scrape did not parse: {e}"))?;
        for f in families {
            for s in f.samples {
                self.series
                    .entry((s.name, s.labels))
                    .or_default()
                    .push(Point { t_ms, v: s.value });
            }
        }
        let keep = self.window_ms * 2;
        for s in self.series.values_mut() {
            s.prune(t_ms, keep);
        }
        self.series.retain(|_, s| !s.points().is_empty());
        Ok(())
    }

    /// Σ rate over the series of `name` whose labels pass `filter`; `None` if none has two
    /// samples in the window yet.
    fn sum_rate(&self, name: &str, t_ms: i64, filter: impl Fn(&Key) -> bool) -> Option<f64> {
        let rates: Vec<f64> = self
            .series
            .iter()
            .filter(|(k, _)| k.0 == name && filter(k))
            .filter_map(|(_, s)| promql::rate(s.points(), t_ms, self.window_ms, Window::Closed))
            .collect();
        (!rates.is_empty()).then(|| rates.iter().sum())
    }

    fn ratio(&self, num: Option<f64>, den: Option<f64>) -> Reading {
        match (num, den) {
            (_, None) => Reading::no_data("not enough samples in the window yet"),
            // No errors counted yet is zero errors, once there is traffic to divide by.
            (n, Some(d)) => Reading::from_f64(n.unwrap_or(0.0) / d),
        }
    }

    /// `histogram_quantile(q, sum by (le) (rate(<name>_bucket[w])))`.
    fn quantile(&self, q: f64, histogram: &str, t_ms: i64) -> Reading {
        let bucket = format!("{histogram}_bucket");
        let mut by_le: BTreeMap<String, f64> = BTreeMap::new();
        for (k, s) in self.series.iter().filter(|(k, _)| k.0 == bucket) {
            if let (Some(le), Some(r)) = (
                label(k, "le"),
                promql::rate(s.points(), t_ms, self.window_ms, Window::Closed),
            ) {
                *by_le.entry(le.to_string()).or_default() += r;
            }
        }
        if by_le.is_empty() {
            return Reading::no_data("not enough samples in the window yet");
        }
        let buckets: Vec<(f64, f64)> = by_le
            .iter()
            .filter_map(|(le, c)| le.parse::<f64>().ok().map(|le| (le, *c)))
            .collect();
        Reading::from_f64(promql::histogram_quantile(q, &buckets))
    }

    /// The gauges as of `t_ms`, from what has been ingested.
    pub fn readings(&self, t_ms: i64) -> Readings {
        let all = |_: &Key| true;
        let requests = self.sum_rate("http_requests_total", t_ms, all);
        let mut out = Readings::new();
        out.insert(
            "throughput_rps".into(),
            requests.map_or_else(
                || Reading::no_data("not enough samples in the window yet"),
                Reading::from_f64,
            ),
        );
        out.insert(
            "error_rate".into(),
            self.ratio(self.sum_rate("http_errors_total", t_ms, all), requests),
        );
        out.insert(
            "p95_latency_seconds".into(),
            self.quantile(0.95, "http_request_duration_seconds", t_ms),
        );
        out.insert(
            "db_p95_seconds".into(),
            self.quantile(0.95, "database_query_duration_seconds", t_ms),
        );
        out.insert(
            "db_error_rate".into(),
            self.ratio(
                self.sum_rate("database_errors_total", t_ms, all),
                self.sum_rate("database_query_duration_seconds_count", t_ms, all),
            ),
        );
        out.insert(
            "celery_failure_rate".into(),
            self.ratio(
                self.sum_rate("celery_tasks_total", t_ms, |k| {
                    label(k, "status") == Some("failed")
                }),
                self.sum_rate("celery_tasks_total", t_ms, all),
            ),
        );
        let depth = self
            .series
            .iter()
            .filter(|(k, _)| k.0 == "celery_queue_depth")
            .filter_map(|(_, s)| s.points().last().map(|p| p.v))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        out.insert(
            "queue_depth".into(),
            depth.map_or_else(
                || Reading::no_data("celery_queue_depth is not reported"),
                Reading::from_f64,
            ),
        );
        out
    }
}

impl MetricSource for ScrapeSource {
    fn poll(&mut self, now: DateTime<Utc>) -> PollFuture<'_> {
        Box::pin(async move {
            let t_ms = now.timestamp_millis();
            let answer = self
                .client
                .get(&self.url)
                .header(reqwest::header::ACCEPT, exposition::ACCEPT)
                .send()
                .await;
            let failure = match answer {
                Err(e) if e.is_timeout() => Some(format!("{} did not answer in time", self.url)),
                Err(e) => Some(format!("cannot scrape {}: {e}", self.url)),
                Ok(r) if !r.status().is_success() => {
                    Some(format!("{} answered {}", self.url, r.status()))
                }
                Ok(r) => {
                    let format = r
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map_or(Format::Text004, Format::from_content_type);
                    match r.text().await {
                        Ok(body) => self.ingest(&body, format, t_ms).err(),
                        Err(e) => Some(format!("cannot read {}: {e}", self.url)),
                    }
                }
            };
            match failure {
                // A failed scrape says so for every gauge rather than reusing stale numbers.
                Some(why) => super::config_gauges()
                    .map(|g| (g.to_string(), Reading::no_data(why.clone())))
                    .collect(),
                None => self.readings(t_ms),
            }
        })
    }

    fn describe(&self) -> String {
        format!("scrape {}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(requests: f64, errors: f64, fast: f64, slow: f64) -> String {
        format!(
            "# TYPE http_requests_total counter\nhttp_requests_total{{path=\"/a\",status=\"200\"}} {}\nhttp_requests_total{{path=\"/a\",status=\"500\"}} {errors}\n\
             # TYPE http_errors_total counter\nhttp_errors_total{{path=\"/a\"}} {errors}\n\
             # TYPE http_request_duration_seconds histogram\n\
             http_request_duration_seconds_bucket{{le=\"0.5\"}} {fast}\nhttp_request_duration_seconds_bucket{{le=\"0.8\"}} {}\n\
             http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\nhttp_request_duration_seconds_count {}\nhttp_request_duration_seconds_sum 1\n\
             # TYPE celery_queue_depth gauge\ncelery_queue_depth 42\n",
            requests - errors,
            fast + slow,
            fast + slow,
            fast + slow
        )
    }

    #[test]
    fn rates_ratios_and_quantiles_follow_the_counters() {
        let mut s = ScrapeSource::new(
            "http://unused",
            Duration::from_secs(10),
            Duration::from_secs(1),
        );
        // 10 requests/s, 1 error/s; 9 of 10 under 0.5 s, the rest under 0.8 s.
        for i in 0..=10 {
            let t = i as f64;
            s.ingest(&body(10.0 * t, t, 9.0 * t, t), Format::Text004, i * 1000)
                .unwrap();
        }
        let r = s.readings(10_000);
        let v = |n: &str| r[n].value().unwrap();
        assert!((v("throughput_rps") - 10.0).abs() < 1e-9, "{r:?}");
        assert!((v("error_rate") - 0.1).abs() < 1e-9, "{r:?}");
        // rank 0.95 of 10 falls in (0.5, 0.8]: 0.5 + 0.3 * (9.5 - 9) / 1.
        assert!((v("p95_latency_seconds") - 0.65).abs() < 1e-9, "{r:?}");
        assert_eq!(v("queue_depth"), 42.0);
    }

    #[test]
    fn one_scrape_is_no_data_and_flat_counters_are_no_traffic() {
        let mut s = ScrapeSource::new(
            "http://unused",
            Duration::from_secs(10),
            Duration::from_secs(1),
        );
        s.ingest(&body(100.0, 0.0, 90.0, 10.0), Format::Text004, 0)
            .unwrap();
        assert!(matches!(
            s.readings(0)["error_rate"],
            Reading::NoData { .. }
        ));
        s.ingest(&body(100.0, 0.0, 90.0, 10.0), Format::Text004, 5000)
            .unwrap();
        let r = s.readings(5000);
        assert_eq!(
            r["error_rate"],
            Reading::NoTraffic,
            "0 requests: not 0% errors"
        );
        assert_eq!(r["p95_latency_seconds"], Reading::NoTraffic);
        assert_eq!(
            r["throughput_rps"],
            Reading::Value { value: 0.0 },
            "throughput really is 0"
        );
    }

    #[test]
    fn a_scrape_that_does_not_parse_names_its_line() {
        let mut s = ScrapeSource::new(
            "http://unused",
            Duration::from_secs(10),
            Duration::from_secs(1),
        );
        let err = s.ingest("x 1\ny{ 2\n", Format::Text004, 0).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}
