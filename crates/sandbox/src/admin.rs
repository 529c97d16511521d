//! Fault injection and inspection, on a path no Kubernetes client uses (`/_sandbox/`):
//! drop every watch, expire the next one, fail or slow requests, pause the controllers,
//! restart the server keeping its state, and read the log of mutating requests.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};

use super::Sandbox;
use super::http::json_response;

fn number(body: &Bytes, key: &str, default: u64) -> u64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v[key].as_u64())
        .unwrap_or(default)
}

pub async fn handle(sb: Arc<Sandbox>, method: &Method, path: &str, body: &Bytes) -> Response {
    let ok = || json_response(200, &json!({"ok": true}));
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/_sandbox/requests") => json_response(200, &json!(sb.request_log())),
        ("DELETE", "/_sandbox/requests") => {
            sb.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            ok()
        }
        ("POST", "/_sandbox/faults/drop-watches") => {
            let _ = sb.drop_watches.send(());
            ok()
        }
        ("POST", "/_sandbox/faults/expire-next-watch") => {
            sb.faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .expire_next_watch = true;
            ok()
        }
        ("POST", "/_sandbox/faults/fail") => {
            let mut f = sb.faults.lock().unwrap_or_else(|p| p.into_inner());
            f.fail_next = number(body, "count", 1) as u32;
            f.fail_status = number(body, "status", 500) as u16;
            ok()
        }
        ("POST", "/_sandbox/faults/latency") => {
            sb.faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .latency_ms = number(body, "ms", 0);
            ok()
        }
        ("POST", "/_sandbox/faults/clear") => {
            *sb.faults.lock().unwrap_or_else(|p| p.into_inner()) = Default::default();
            ok()
        }
        ("POST", "/_sandbox/controllers/pause") => {
            sb.controllers_paused.store(true, Ordering::SeqCst);
            ok()
        }
        ("POST", "/_sandbox/controllers/resume") => {
            sb.controllers_paused.store(false, Ordering::SeqCst);
            sb.kick.notify_one();
            ok()
        }
        ("POST", "/_sandbox/reconcile") => {
            sb.reconcile();
            ok()
        }
        ("POST", "/_sandbox/compact") => {
            sb.store().compact();
            ok()
        }
        ("POST", "/_sandbox/restart") => {
            sb.restart_down_ms
                .store(number(body, "down_ms", 500), Ordering::SeqCst);
            sb.restart.notify_one();
            ok()
        }
        _ => json_response(
            404,
            &json!({"error": format!("no admin action {method} {path}")}),
        ),
    }
}
