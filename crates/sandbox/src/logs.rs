//! `pods/{name}/log`: what the simulated containers print, derived from the pod's scenario
//! and age, with `tailLines`, `sinceSeconds`, `previous` and `follow`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::Sandbox;
use super::errors::ApiError;
use super::http::json_response;
use super::resources::lookup;
use super::scenario::Scenario;

/// Lines with their simulated time, oldest first.
fn lines(pod: &Value, now: DateTime<Utc>, previous: bool) -> Vec<(DateTime<Utc>, String)> {
    let started = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
        .as_str()
        .or_else(|| {
            pod["status"]["containerStatuses"][0]["state"]["terminated"]["startedAt"].as_str()
        })
        .or_else(|| {
            pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["startedAt"].as_str()
        })
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let Some(started) = started else {
        return Vec::new();
    };
    let image = pod["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    let s = Scenario::from_image(image);
    let at = |secs: i64| started + chrono::Duration::seconds(secs);
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S,%3f").to_string();
    let mut out = Vec::new();
    if pod["spec"]["restartPolicy"] != "Always" {
        let rev = if s.migfail {
            "b7e2c1f0a9d3"
        } else {
            "4f1a9c2e7b10"
        };
        out.push((
            at(0),
            format!(
                "{} INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
                stamp(at(0))
            ),
        ));
        out.push((
            at(0),
            format!(
                "{} INFO  [alembic.runtime.migration] Will assume transactional DDL.",
                stamp(at(0))
            ),
        ));
        out.push((at(1), format!("{} INFO  [alembic.runtime.migration] Running upgrade 9c3d1e2f4a5b -> {rev}, add user preferences", stamp(at(1)))));
        if s.migfail {
            out.push((
                at(2),
                format!(
                    "{} ERROR [alembic.util.messaging] Can't locate revision identified by '{rev}'",
                    stamp(at(2))
                ),
            ));
            out.push((
                at(2),
                "FAILED: Can't locate revision identified by 'b7e2c1f0a9d3'".to_string(),
            ));
        }
        return out.into_iter().filter(|(t, _)| *t <= now).collect();
    }
    out.push((
        at(0),
        format!("{} INFO  Starting deal-scout-api ({image})", stamp(at(0))),
    ));
    out.push((
        at(0),
        format!(
            "{} INFO  Connecting to database production-db:5432",
            stamp(at(0))
        ),
    ));
    if s.crashloop || previous {
        out.push((
            at(1),
            format!("{} ERROR Application startup failed", stamp(at(1))),
        ));
        out.push((at(1), "Traceback (most recent call last):".into()));
        out.push((
            at(1),
            "  File \"/app/app/main.py\", line 42, in startup".into(),
        ));
        out.push((at(1), "    settings = load_settings()".into()));
        out.push((at(1), "KeyError: 'DEAL_SCOUT_SECRET_KEY'".into()));
        return out.into_iter().filter(|(t, _)| *t <= now).collect();
    }
    let ready = s.ready_after_secs();
    out.push((
        at(ready),
        format!(
            "{} INFO  Uvicorn running on http://0.0.0.0:8000",
            stamp(at(ready))
        ),
    ));
    // A request line every 5 s of simulated time since it became ready (the last 200).
    let alive = (now - at(ready)).num_seconds();
    let first = (alive / 5 - 200).max(0);
    for i in first..=alive / 5 {
        let t = at(ready + i * 5);
        out.push((
            t,
            format!(
                "{} INFO  \"GET /api/v1/deals?page={} HTTP/1.1\" 200",
                stamp(t),
                i % 7 + 1
            ),
        ));
    }
    out.into_iter().filter(|(t, _)| *t <= now).collect()
}

fn select(
    all: Vec<(DateTime<Utc>, String)>,
    q: &[(String, String)],
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, String)> {
    let param = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let mut out = all;
    if let Some(since) = param("sinceSeconds").and_then(|s| s.parse::<i64>().ok()) {
        let from = now - chrono::Duration::seconds(since);
        out.retain(|(t, _)| *t >= from);
    }
    if let Some(n) = param("tailLines").and_then(|s| s.parse::<usize>().ok()) {
        let skip = out.len().saturating_sub(n);
        out.drain(..skip);
    }
    out
}

pub async fn respond(sb: &Arc<Sandbox>, ns: &str, name: &str, q: &[(String, String)]) -> Response {
    let pods = lookup("", "v1", "pods").expect("pods");
    let Some(pod) = sb.store().get("pods", ns, name).cloned() else {
        let e = ApiError::not_found(pods, name);
        return json_response(e.code, &e.status());
    };
    let now = sb.clock.now();
    let previous = q.iter().any(|(k, v)| k == "previous" && v == "true");
    let initial = select(lines(&pod, now, previous), q, now);
    let follow = q.iter().any(|(k, v)| k == "follow" && v == "true");
    let text: String = initial.iter().map(|(_, l)| format!("{l}\n")).collect();
    if !follow {
        return Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(text))
            .expect("response");
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::convert::Infallible>>(64);
    let sb = sb.clone();
    let (ns, name) = (ns.to_string(), name.to_string());
    let mut last = initial.last().map(|(t, _)| *t);
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(text))).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let Some(pod) = sb.store().get("pods", &ns, &name).cloned() else {
                return;
            };
            let now = sb.clock.now();
            let since = last;
            let new_lines: Vec<(DateTime<Utc>, String)> = lines(&pod, now, false)
                .into_iter()
                .filter(|(t, _)| since.is_none_or(|l| *t > l))
                .collect();
            if let Some((t, _)) = new_lines.last() {
                last = Some(*t);
            }
            let fresh: String = new_lines.iter().map(|(_, l)| format!("{l}\n")).collect();
            if !fresh.is_empty() && tx.send(Ok(Bytes::from(fresh))).await.is_err() {
                return;
            }
            if pod["status"]["phase"] == "Succeeded" || pod["status"]["phase"] == "Failed" {
                return;
            }
        }
    });
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .expect("response")
}
