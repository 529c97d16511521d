//! The Prometheus source: one instant query per gauge against Prometheus' HTTP API
//! (`/api/v1/query`), run concurrently, each answer classified into a `Reading`. An empty
//! result is "no data", NaN is "no traffic", and a Prometheus that is down, slow, overloaded
//! or hidden behind a proxy's error page is "no data" with the reason: never a zero.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::Deserialize;

use super::source::{MetricSource, PollFuture, Reading, Readings};

/// What an empty vector means; a `NoData` reason callers may match on.
pub const NO_SERIES: &str = "no series: the metric is missing or too young";

pub struct PrometheusSource {
    /// Without a trailing slash, e.g. `http://127.0.0.1:9090`.
    base_url: String,
    /// Gauge name → PromQL, with `$w` already replaced by the window.
    queries: BTreeMap<String, String>,
    timeout: Duration,
    client: reqwest::Client,
}

impl PrometheusSource {
    /// `queries` come from `Config::metric_queries`; every `$w` in them becomes `window`
    /// (a PromQL duration such as "1m", at least four scrape intervals). `timeout` bounds each
    /// query, connection included, and is passed on to Prometheus as its own query timeout.
    pub fn new(
        base_url: &str,
        queries: &BTreeMap<String, String>,
        window: &str,
        timeout: Duration,
    ) -> Self {
        let client = crate::http::client_builder()
            .connect_timeout(timeout)
            .build()
            .expect("a plain HTTP client builds");
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            queries: queries
                .iter()
                .map(|(gauge, q)| (gauge.clone(), q.replace("$w", window)))
                .collect(),
            timeout,
            client,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The queries as sent, keyed by gauge name.
    pub fn queries(&self) -> &BTreeMap<String, String> {
        &self.queries
    }

    /// One instant query evaluated at `at_unix` (seconds since the epoch). For a baseline,
    /// `@ <unix>` or `offset 1h` inside the selector is just PromQL.
    pub async fn query_at(&self, query: &str, at_unix: f64) -> Reading {
        let url = match self.query_url(query, at_unix) {
            Ok(url) => url,
            Err(why) => return Reading::no_data(why),
        };
        match tokio::time::timeout(self.timeout, self.fetch(url)).await {
            Err(_) => Reading::no_data(self.too_slow()),
            Ok(Err(e)) => Reading::no_data(self.transport_error(&e)),
            Ok(Ok((status, content_type, body))) => {
                classify(&self.base_url, status, &content_type, &body)
            }
        }
    }

    fn query_url(&self, query: &str, at_unix: f64) -> Result<url::Url, String> {
        let mut url = url::Url::parse(&format!("{}/api/v1/query", self.base_url))
            .map_err(|e| format!("the Prometheus URL {} is not valid: {e}", self.base_url))?;
        url.query_pairs_mut()
            .append_pair("query", query)
            .append_pair("time", &format!("{at_unix:.3}"))
            .append_pair("timeout", &format!("{}ms", self.timeout.as_millis().max(1)));
        Ok(url)
    }

    async fn fetch(&self, url: url::Url) -> Result<(u16, String, Vec<u8>), reqwest::Error> {
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response.bytes().await?;
        Ok((status, content_type, body.to_vec()))
    }

    fn too_slow(&self) -> String {
        format!(
            "Prometheus at {} did not answer within {}",
            self.base_url,
            human(self.timeout)
        )
    }

    fn transport_error(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            self.too_slow()
        } else if e.is_connect() {
            format!(
                "cannot connect to Prometheus at {}: {}",
                self.base_url,
                root_cause(e)
            )
        } else {
            format!("Prometheus at {} failed: {}", self.base_url, root_cause(e))
        }
    }
}

impl MetricSource for PrometheusSource {
    fn poll(&mut self, now: DateTime<Utc>) -> PollFuture<'_> {
        let at = now.timestamp_millis() as f64 / 1000.0;
        let this = &*self;
        Box::pin(async move {
            join_all(this.queries.iter().map(|(gauge, query)| async move {
                (gauge.clone(), this.query_at(query, at).await)
            }))
            .await
            .into_iter()
            .collect::<Readings>()
        })
    }

    fn describe(&self) -> String {
        format!("prometheus {}", self.base_url)
    }
}

/// `{"status":"success","data":{..}}` or `{"status":"error","errorType":..,"error":..}`.
#[derive(Debug, Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    /// Prometheus 3.x only.
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: serde_json::Value,
}

/// One element of a `vector` result. A native histogram sample has `histogram`, not `value`.
#[derive(Debug, Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// Reads one answer of `/api/v1/query` (any HTTP status) into a reading.
fn classify(base_url: &str, status: u16, content_type: &str, body: &[u8]) -> Reading {
    let api: ApiResponse = match serde_json::from_slice(body) {
        Ok(api) => api,
        Err(_) => return Reading::no_data(not_json(base_url, status, content_type, body)),
    };
    if api.status != "success" {
        return Reading::no_data(format!(
            "Prometheus at {base_url} answered an error (HTTP {status}, {}): {}",
            api.error_type.as_deref().unwrap_or("no errorType"),
            api.error.as_deref().unwrap_or("no message"),
        ));
    }
    if !api.warnings.is_empty() || !api.infos.is_empty() {
        tracing::debug!(warnings = ?api.warnings, infos = ?api.infos, "Prometheus annotations");
    }
    let Some(data) = api.data else {
        return Reading::no_data(format!(
            "Prometheus at {base_url} answered success without data"
        ));
    };
    match data.result_type.as_str() {
        "vector" => {
            let samples: Vec<VectorSample> = match serde_json::from_value(data.result) {
                Ok(s) => s,
                Err(e) => return Reading::no_data(format!("an unreadable vector result: {e}")),
            };
            match samples.as_slice() {
                [] => Reading::no_data(NO_SERIES),
                [one] => match &one.value {
                    Some((_, v)) => number(v),
                    None => Reading::no_data("a histogram sample where a number was expected"),
                },
                many => Reading::no_data(format!(
                    "{} series where one was expected (e.g. {}): the query must aggregate, \
                     with sum(...) or max(...)",
                    many.len(),
                    labels(&many[0].metric),
                )),
            }
        }
        "scalar" => match serde_json::from_value::<(f64, String)>(data.result) {
            Ok((_, v)) => number(&v),
            Err(e) => Reading::no_data(format!("an unreadable scalar result: {e}")),
        },
        other => Reading::no_data(format!(
            "a {other} result where an instant vector or scalar was expected"
        )),
    }
}

/// Prometheus writes values as strings: "0.25", "NaN", "+Inf".
fn number(v: &str) -> Reading {
    match v.parse::<f64>() {
        Ok(v) => Reading::from_f64(v),
        Err(_) => Reading::no_data(format!("an unreadable value {v:?}")),
    }
}

fn labels(metric: &BTreeMap<String, String>) -> String {
    let inner = metric
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(",");
    format!("{{{inner}}}")
}

fn not_json(base_url: &str, status: u16, content_type: &str, body: &[u8]) -> String {
    let what = if content_type.is_empty() {
        "no content type".to_string()
    } else {
        content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let snippet = snippet(body);
    let reason = if status == 503 {
        " Service Unavailable"
    } else {
        ""
    };
    if (200..300).contains(&status) {
        format!(
            "Prometheus at {base_url} answered HTTP {status} with {what}, not the API's JSON \
             (a proxy or login page?): {snippet}"
        )
    } else {
        format!(
            "Prometheus at {base_url} answered HTTP {status}{reason} with {what}, not the API's \
             JSON: {snippet}"
        )
    }
}

/// The start of a body on one line, for messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty body)".to_string();
    }
    let mut out: String = one_line.chars().take(120).collect();
    if one_line.chars().count() > 120 {
        out.push('…');
    }
    out
}

/// The innermost error, where the useful words are ("Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// "2 s", "500 ms", "1.5 s".
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9090";

    fn json(body: &str) -> Reading {
        classify(URL, 200, "application/json", body.as_bytes())
    }

    fn why(r: &Reading) -> &str {
        match r {
            Reading::NoData { why } => why,
            other => panic!("expected NoData, got {other:?}"),
        }
    }

    #[test]
    fn one_sample_is_a_value_and_nan_is_no_traffic() {
        let r = json(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795689644.847,"20.5"]}]}}"#,
        );
        assert_eq!(r, Reading::Value { value: 20.5 });
        let r = json(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795689644.847,"NaN"]}]}}"#,
        );
        assert_eq!(r, Reading::NoTraffic);
        let r = json(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795689644.847,"0"]}]}}"#,
        );
        assert_eq!(r, Reading::Value { value: 0.0 });
        let r = json(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795689644.847,"+Inf"]}]}}"#,
        );
        assert!(why(&r).contains("infinite"), "{r:?}");
    }

    #[test]
    fn a_scalar_is_read_too() {
        let r = json(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1795689644.8,"42"]}}"#,
        );
        assert_eq!(r, Reading::Value { value: 42.0 });
    }

    #[test]
    fn an_empty_vector_is_no_data_not_zero() {
        let r = json(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
        assert_eq!(why(&r), NO_SERIES);
    }

    #[test]
    fn several_series_are_no_data_naming_the_count() {
        let r = json(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"path":"/a"},"value":[1,"1"]},
                {"metric":{"path":"/b"},"value":[1,"2"]},
                {"metric":{"path":"/c"},"value":[1,"3"]}]}}"#,
        );
        let w = why(&r);
        assert!(w.starts_with("3 series where one was expected"), "{w}");
        assert!(w.contains(r#"path="/a""#), "{w}");
    }

    #[test]
    fn an_api_error_names_its_type_and_message() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"1:28: parse error: unclosed left parenthesis"}"#;
        let r = classify(URL, 400, "application/json", body.as_bytes());
        let w = why(&r);
        assert!(w.contains("HTTP 400, bad_data"), "{w}");
        assert!(w.contains("unclosed left parenthesis"), "{w}");
        let body = r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
        let r = classify(URL, 503, "application/json", body.as_bytes());
        assert!(why(&r).contains("HTTP 503, timeout"), "{r:?}");
    }

    #[test]
    fn warnings_and_infos_and_unknown_fields_are_accepted() {
        let r = json(
            r#"{"status":"success","warnings":["w"],"infos":["PromQL info: metric might not be a counter"],
                "data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.25"]}],"stats":{}}}"#,
        );
        assert_eq!(r, Reading::Value { value: 0.25 });
    }

    #[test]
    fn html_and_plain_error_pages_are_no_data_saying_what_came() {
        let html = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>please log in</body></html>";
        let r = classify(URL, 200, "text/html; charset=utf-8", html);
        let w = why(&r);
        assert!(
            w.contains("HTTP 200 with text/html, not the API's JSON"),
            "{w}"
        );
        assert!(w.contains("<title>Sign in</title>"), "{w}");
        assert!(w.contains(URL), "{w}");
        let r = classify(URL, 503, "text/plain", b"upstream connect error");
        let w = why(&r);
        assert!(w.contains("HTTP 503 Service Unavailable"), "{w}");
        assert!(w.contains("upstream connect error"), "{w}");
        let r = classify(URL, 502, "", b"");
        assert!(why(&r).contains("HTTP 502 with no content type"), "{r:?}");
    }

    #[test]
    fn other_shapes_are_no_data() {
        let r = json(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
        assert!(why(&r).contains("a matrix result"), "{r:?}");
        let r = json(r#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#);
        assert!(why(&r).contains("a string result"), "{r:?}");
        let r = json(r#"{"status":"success"}"#);
        assert!(why(&r).contains("without data"), "{r:?}");
        let r = json(r#"{"hello":"world"}"#);
        assert!(why(&r).contains("not the API's JSON"), "{r:?}");
        let r = json(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}"#,
        );
        assert!(why(&r).contains("histogram"), "{r:?}");
        let r = json(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"many"]}]}}"#,
        );
        assert!(why(&r).contains("unreadable value"), "{r:?}");
        let r = json(r#"{"status":"success","data":{"resultType":"vector","result":{"x":1}}}"#);
        assert!(why(&r).contains("unreadable vector"), "{r:?}");
    }

    #[test]
    fn the_window_is_substituted_and_the_url_trimmed() {
        let mut q = BTreeMap::new();
        q.insert(
            "error_rate".to_string(),
            "sum(rate(a[$w])) / sum(rate(b[$w]))".to_string(),
        );
        let s = PrometheusSource::new(
            "http://127.0.0.1:9090/",
            &q,
            "10s",
            Duration::from_millis(1500),
        );
        assert_eq!(
            s.queries()["error_rate"],
            "sum(rate(a[10s])) / sum(rate(b[10s]))"
        );
        assert_eq!(s.describe(), "prometheus http://127.0.0.1:9090");
        let url = s.query_url("up{job=\"app\"}", 1795689644.5).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22app%22%7D&time=1795689644.500&timeout=1500ms"
        );
        assert_eq!(
            s.too_slow(),
            "Prometheus at http://127.0.0.1:9090 did not answer within 1.5 s"
        );
        assert_eq!(human(Duration::from_secs(2)), "2 s");
        assert_eq!(human(Duration::from_millis(500)), "500 ms");
    }
}
