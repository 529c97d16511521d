//! The procedure's `curl …/health` and `curl …/api/v1/monitoring/health/detailed`: one GET
//! with a deadline, judged the way an engineer reads it (2xx, and a JSON `status` that says
//! healthy), with the body kept for the screen.

use std::error::Error as _;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Top-level `status` values that mean healthy (compared case-insensitively); anything else
/// (`degraded`, `unhealthy`, `unavailable`, `down`, `fail`) does not.
pub const HEALTHY_STATUSES: [&str; 4] = ["healthy", "ok", "pass", "up"];
/// More than a health answer ever needs; a misrouted URL may stream far more.
const READ_LIMIT: usize = 64 * 1024;
const SHOWN_LINES: usize = 60;
const SHOWN_CHARS: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthOutcome {
    pub url: String,
    /// `None` when no HTTP answer came.
    pub http_status: Option<u16>,
    /// Why no (complete) answer came, in plain words.
    pub error: Option<String>,
    pub elapsed_ms: u64,
    /// Pretty-printed when JSON, else the text; truncated for the screen.
    pub body: String,
    /// The JSON body's top-level `status`, as text.
    pub status_field: Option<String>,
    pub healthy: bool,
}

impl HealthOutcome {
    /// One line: `HTTP 200 in 12 ms, status "ok"`, or the error.
    pub fn summary(&self) -> String {
        let verdict = if self.healthy { "healthy" } else { "UNHEALTHY" };
        match (self.http_status, &self.error) {
            (_, Some(e)) => format!("{verdict}: {e} ({} ms)", self.elapsed_ms),
            (Some(code), None) => {
                let status = self
                    .status_field
                    .as_ref()
                    .map(|s| format!(", status {s:?}"))
                    .unwrap_or_default();
                format!("{verdict}: HTTP {code} in {} ms{status}", self.elapsed_ms)
            }
            (None, None) => format!("{verdict}: no answer"),
        }
    }
}

/// `(healthy, top-level status, body for the screen)` of an answer.
pub fn judge(code: u16, body: &[u8]) -> (bool, Option<String>, String) {
    let ok_code = (200..300).contains(&code);
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => {
            let status = json.get("status").map(|s| match s {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let status_ok = match json.get("status") {
                None => true,
                Some(Value::String(s)) => HEALTHY_STATUSES
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(s.trim())),
                Some(_) => false,
            };
            let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
            (ok_code && status_ok, status, truncate(&pretty))
        }
        Err(_) => (
            ok_code,
            None,
            truncate(String::from_utf8_lossy(body).trim_end()),
        ),
    }
}

/// At most `SHOWN_LINES` lines and about `SHOWN_CHARS` characters, saying what was cut.
fn truncate(text: &str) -> String {
    let total = text.lines().count();
    let mut out = String::new();
    let mut shown = 0;
    for line in text.lines().take(SHOWN_LINES) {
        if out.len() + line.len() > SHOWN_CHARS {
            let room = SHOWN_CHARS.saturating_sub(out.len());
            let cut = (0..=room.min(line.len()))
                .rev()
                .find(|i| line.is_char_boundary(*i))
                .unwrap_or(0);
            out.push_str(&line[..cut]);
            out.push_str(" …");
            shown += 1;
            break;
        }
        out.push_str(line);
        out.push('\n');
        shown += 1;
    }
    let out = out.trim_end_matches('\n').to_string();
    if shown < total {
        format!("{out}\n… ({} more lines)", total - shown)
    } else {
        out
    }
}

/// A reqwest error as an engineer would say it.
fn plain(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return "connection refused (nothing listens there)".into(),
                ConnectionReset => return "connection reset by the server".into(),
                ConnectionAborted => return "connection aborted".into(),
                UnexpectedEof => return "the server closed the connection mid-answer".into(),
                _ => {}
            }
        }
        causes.push(s.to_string());
        source = s.source();
    }
    let host = e
        .url()
        .and_then(|u| u.host_str())
        .unwrap_or("the host")
        .to_string();
    let innermost = causes.last().cloned().unwrap_or_default();
    if causes.iter().any(|c| c.contains("dns error")) {
        return format!("cannot resolve {host} ({innermost})");
    }
    if causes.iter().any(|c| c.contains("scheme is not http")) {
        return format!("the URL is not http(s) ({innermost})");
    }
    if e.is_builder() {
        return format!("not a usable URL ({innermost})");
    }
    std::iter::once(e.to_string())
        .chain(causes)
        .collect::<Vec<_>>()
        .join(": ")
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| plain(&e, timeout))?;
    let code = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < READ_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(plain(&e, timeout)),
        }
    }
    body.truncate(READ_LIMIT);
    Ok((code, body))
}

/// GETs `url`, giving up after `timeout` (connecting and reading the body included).
pub async fn check(url: &str, timeout: Duration) -> HealthOutcome {
    let started = Instant::now();
    let mut outcome = HealthOutcome {
        url: url.to_string(),
        http_status: None,
        error: None,
        elapsed_ms: 0,
        body: String::new(),
        status_field: None,
        healthy: false,
    };
    let client = match crate::http::client_builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            outcome.error = Some(format!("cannot make an HTTP client: {e}"));
            return outcome;
        }
    };
    // reqwest's own timeout covers the request; this one the body too, whatever the server
    // trickles.
    let result = tokio::time::timeout(timeout, fetch(&client, url, timeout))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())));
    outcome.elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok((code, body)) => {
            let (healthy, status, shown) = judge(code, &body);
            outcome.http_status = Some(code);
            outcome.healthy = healthy;
            outcome.status_field = status;
            outcome.body = shown;
        }
        Err(e) => outcome.error = Some(e),
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2xx_with_a_healthy_status_or_none_is_healthy() {
        assert!(judge(200, br#"{"status":"ok"}"#).0);
        assert!(judge(200, br#"{"status":"Healthy","checks":{}}"#).0);
        assert!(judge(204, b"").0);
        assert!(judge(200, br#"{"version":"1.2.3"}"#).0);
        assert!(judge(200, b"OK").0);
        let (healthy, status, body) = judge(200, br#"{"status":"degraded","ready_pods":2}"#);
        assert!(!healthy);
        assert_eq!(status.as_deref(), Some("degraded"));
        assert!(body.contains("\n  \"ready_pods\": 2"), "{body}");
        assert!(!judge(503, br#"{"status":"ok"}"#).0);
        assert!(!judge(200, br#"{"status":false}"#).0);
        assert!(!judge(301, b"moved").0);
    }

    #[test]
    fn long_bodies_are_cut_with_a_note() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let shown = truncate(&text);
        assert!(shown.ends_with(&format!("… ({} more lines)", 100 - SHOWN_LINES)));
        let wide = "é".repeat(5000);
        let shown = truncate(&wide);
        assert!(shown.len() <= SHOWN_CHARS + 4, "{}", shown.len());
        assert!(shown.ends_with(" …"));
    }
}
