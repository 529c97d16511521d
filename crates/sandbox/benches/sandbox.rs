//! The sandbox under load: watch fan-out latency and throughput with 2,000 pods and five
//! watchers, one controller pass over 2,000 pods, the memory 2,000 pods take, and what
//! saving and restoring its state costs (the demo's seeded cluster, and 2,000 pods).
//!
//! cargo bench --bench sandbox            (prints figures; `-- --quick` for fewer rounds)

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cockpit_clock::{Clock, SystemClock};
use cockpit_sandbox::resources::lookup;
use cockpit_sandbox::store::WriteTo;
use cockpit_sandbox::{Sandbox, controllers, persist, seed, server};
use serde_json::json;

const PODS: usize = 2_000;
const WATCHERS: usize = 5;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn pod(i: usize) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("load-{i:05}"), "namespace": "staging", "labels": {"app": "load"}},
        "spec": {"restartPolicy": "Always", "containers": [{"name": "app", "image": "load:1"}]},
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let rounds = if quick { 1 } else { 3 };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    snapshots_of_the_seeded_cluster(&clock, if quick { 5 } else { 50 });
    let rss_before = rss_kib();
    let sb = Sandbox::new(clock.clone());
    seed::populate(&mut sb.store(), clock.now());
    let pods_r = lookup("", "v1", "pods").unwrap();
    {
        let mut store = sb.store();
        for i in 0..PODS {
            store
                .create(pods_r, "staging", pod(i), clock.now())
                .unwrap();
        }
    }
    // One controller pass brings 2,000 new pods their status.
    let pass = Instant::now();
    let mut memory = controllers::Memory::default();
    controllers::reconcile(
        &mut sb.store(),
        &mut memory,
        clock.now() + chrono::Duration::seconds(10),
    );
    let first_pass = pass.elapsed();
    let pass = Instant::now();
    controllers::reconcile(
        &mut sb.store(),
        &mut memory,
        clock.now() + chrono::Duration::seconds(11),
    );
    let idle_pass = pass.elapsed();
    let rss_loaded = rss_kib();
    println!("sandbox with {PODS} pods (+ the seeded deployments):");
    println!(
        "  memory: {} MiB RSS for the whole process ({} MiB more than before the sandbox)",
        rss_loaded / 1024,
        (rss_loaded.saturating_sub(rss_before)) / 1024
    );
    println!(
        "  controller pass: {:.1} ms when every pod changes, {:.1} ms when none does",
        first_pass.as_secs_f64() * 1e3,
        idle_pass.as_secs_f64() * 1e3
    );
    let dir = tempfile::tempdir().unwrap();
    let save = Instant::now();
    let saved = persist::save(&sb, dir.path()).unwrap();
    let save = save.elapsed();
    let load = Instant::now();
    let restored = persist::restore(clock.clone(), persist::load(dir.path()).unwrap().unwrap());
    let load = load.elapsed();
    println!(
        "  snapshot: {} KiB saved in {:.1} ms (fsync included), loaded and restored in {:.1} ms ({} objects)",
        saved.bytes / 1024,
        save.as_secs_f64() * 1e3,
        load.as_secs_f64() * 1e3,
        restored.store().len()
    );
    drop(restored);

    // The fan-out is measured without the controllers' own writes in between.
    sb.controllers_paused.store(true, Ordering::SeqCst);
    let running = server::start(sb.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = running.url();
    let client = http_client();
    for round in 0..rounds {
        let rv = sb.store().resource_version();
        let start = Instant::now();
        let mut watchers = Vec::new();
        for _ in 0..WATCHERS {
            let resp = client
                .get(format!("{url}/api/v1/namespaces/staging/pods?watch=true&labelSelector=app%3Dload&resourceVersion={rv}"))
                .bearer_auth(sb.release_engineer_token())
                .send()
                .await
                .unwrap();
            watchers.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(PODS);
                let mut resp = resp;
                let mut buf = Vec::new();
                while latencies.len() < PODS {
                    let Ok(Some(chunk)) = resp.chunk().await else {
                        break;
                    };
                    buf.extend_from_slice(&chunk);
                    while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=nl).collect();
                        let ev: serde_json::Value = serde_json::from_slice(&line).unwrap();
                        if let Some(sent) =
                            ev["object"]["metadata"]["annotations"]["bench/sent-us"].as_str()
                        {
                            let sent: u128 = sent.parse().unwrap();
                            let now = start.elapsed().as_micros();
                            latencies.push((now - sent) as f64 / 1000.0);
                        }
                    }
                }
                latencies
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let write_start = Instant::now();
        for i in 0..PODS {
            let name = format!("load-{i:05}");
            let mut store = sb.store();
            let mut p = store.get("pods", "staging", &name).unwrap().clone();
            p["metadata"]["annotations"] =
                json!({"bench/sent-us": start.elapsed().as_micros().to_string(), "round": round});
            store
                .update(pods_r, "staging", &name, p, WriteTo::Main)
                .unwrap();
        }
        let writes = write_start.elapsed();
        let mut all = Vec::new();
        for w in watchers {
            all.extend(w.await.unwrap());
        }
        let delivered = write_start.elapsed();
        all.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "  round {}: {} changes to {WATCHERS} watchers: latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
             {:.0} events/s delivered ({} events in {:.0} ms; the writes alone took {:.0} ms)",
            round + 1,
            PODS,
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(0.0),
            all.len() as f64 / delivered.as_secs_f64(),
            all.len(),
            delivered.as_secs_f64() * 1e3,
            writes.as_secs_f64() * 1e3
        );
    }
    running.stop().await;
}

/// What the demo pays to save its cluster after a write, and to start from the save.
fn snapshots_of_the_seeded_cluster(clock: &Arc<dyn Clock>, rounds: usize) {
    let sb = Sandbox::new(clock.clone());
    seed::populate(&mut sb.store(), clock.now());
    let dir = tempfile::tempdir().unwrap();
    let mut times = Vec::with_capacity(rounds);
    let mut bytes = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        bytes = persist::save(&sb, dir.path()).unwrap().bytes;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let load = Instant::now();
    let restored = persist::restore(clock.clone(), persist::load(dir.path()).unwrap().unwrap());
    let load = load.elapsed();
    println!(
        "the demo's seeded cluster ({} objects): snapshot {} KiB, saved in p50 {:.2} ms, max {:.2} ms \
         ({rounds} saves, fsync included); loaded and restored in {:.2} ms",
        restored.store().len(),
        bytes / 1024,
        percentile(&times, 0.5),
        times.last().copied().unwrap_or(0.0),
        load.as_secs_f64() * 1e3
    );
}

/// An HTTP client with rustls' ring provider in place (reqwest is built without one).
fn http_client() -> reqwest::Client {
    // Fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
