//! How long a bad release serves errors before the error-rate trigger fires: from the moment
//! the production service's error rate steps from 0.2% to 8% (every pod's image switched to an
//! `-errors` one in the sandbox store, which the simulated service reads at its next 250 ms
//! step) to the first poll whose reading fires the trigger, for the embedded scrape source
//! and for a real Prometheus, each polled every second as the cockpit polls.
//!
//! The trigger is the cockpit's own `TriggerWatch`, fed each poll as `soak::on_readings`
//! feeds it. The sustain time is set to 0 for the main figure, so what is measured is the
//! detection itself; the default sustain (60 s) is measured in the demo's configuration,
//! where it is one poll, and added up for 1x.
//!
//! cargo bench --bench soak            (prints figures; `-- --quick` for one round)

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

#[path = "../tests/it/common/prometheus.rs"]
mod prometheus;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cockpit_sandbox::resources::lookup;
use cockpit_sandbox::service::Services;
use cockpit_sandbox::store::WriteTo;
use cockpit_sandbox::{Sandbox, server};
use release_cockpit::config::{Config, RollbackTriggers};
use release_cockpit::metrics::prometheus::PrometheusSource;
use release_cockpit::metrics::scrape::ScrapeSource;
use release_cockpit::metrics::source::{MetricSource, Readings};
use release_cockpit::release::clock::{Clock, ScaledClock};
use release_cockpit::release::soak::{TriggerKind, TriggerWatch};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The cockpit's metrics poll (wall time).
const POLL: Duration = Duration::from_secs(1);
/// The rate window at 1x, for both sources: ten scrapes (Prometheus) or ten polls.
const WINDOW_1X: Duration = Duration::from_secs(10);
const HEALTHY: &str = "deal-scout-api:1.2.2";
const ERRORS: &str = "deal-scout-api:1.2.2-errors";

struct Poll {
    source: &'static str,
    arrived: Instant,
    at: DateTime<Utc>,
    readings: Readings,
}

/// The cockpit's poller: `at` is taken before the poll, the readings sent once it is done.
async fn poller(
    source: &'static str,
    mut metrics: Box<dyn MetricSource>,
    clock: Arc<dyn Clock>,
    tx: mpsc::UnboundedSender<Poll>,
) {
    let mut interval = tokio::time::interval(POLL);
    loop {
        interval.tick().await;
        let at = clock.now();
        let readings = metrics.poll(at).await;
        let poll = Poll {
            source,
            arrived: Instant::now(),
            at,
            readings,
        };
        if tx.send(poll).is_err() {
            return;
        }
    }
}

fn error_rate(r: &Readings) -> Option<f64> {
    r.get("error_rate").and_then(|r| r.value())
}

/// Every production pod of the service switched to `image` at once: a step in the error
/// rate, not the gradual mix a rollout gives.
fn set_pod_images(sb: &Sandbox, image: &str) {
    let r = lookup("", "v1", "pods").expect("pods");
    let mut store = sb.store();
    let pods: Vec<Value> = store
        .list("pods", Some("production"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "deal-scout-api")
        .cloned()
        .collect();
    assert_eq!(pods.len(), 4, "production runs four pods");
    for mut p in pods {
        let name = p["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        p["spec"]["containers"][0]["image"] = json!(image);
        store
            .update(r, "production", &name, p, WriteTo::Main)
            .expect("the pod is updated");
    }
}

fn rules(sustain_seconds: i64) -> RollbackTriggers {
    RollbackTriggers {
        sustain_seconds,
        ..Config::embedded().rollback_triggers
    }
}

/// One source's detection of one step.
#[derive(Debug, Clone)]
struct Detection {
    after: Duration,
    /// Polls taken at or after the step, the firing one included.
    polls: u32,
    rate: f64,
}

struct Bench {
    label: &'static str,
    sb: Arc<Sandbox>,
    clock: Arc<dyn Clock>,
    rx: mpsc::UnboundedReceiver<Poll>,
    sources: Vec<&'static str>,
    /// The sustain times measured, each with its own watch per source.
    sustains: Vec<i64>,
    /// Source, sustain → one detection per round.
    results: Vec<(&'static str, i64, Vec<Detection>)>,
}

impl Bench {
    async fn next(&mut self) -> Poll {
        tokio::time::timeout(Duration::from_secs(30), self.rx.recv())
            .await
            .expect("a poll within 30 s")
            .expect("the pollers run")
    }

    /// Drains polls until a whole window (and a poll) has passed, then until every source
    /// reads a healthy rate: the next step starts from a window without -errors traffic.
    async fn settle(&mut self, window: Duration) {
        let until = Instant::now() + window + POLL;
        let mut last: Vec<Option<f64>> = vec![None; self.sources.len()];
        loop {
            let p = self.next().await;
            let i = self.sources.iter().position(|s| *s == p.source).unwrap();
            last[i] = error_rate(&p.readings);
            if Instant::now() >= until && last.iter().all(|r| r.is_some_and(|r| r < 0.01)) {
                return;
            }
        }
    }

    /// Steps the error rate up `phase` of a poll interval after a poll, and returns when
    /// every source has fired at every sustain.
    async fn round(&mut self, phase: f64) {
        let mut watches: Vec<(&'static str, i64, TriggerWatch, u32, Option<Detection>)> = self
            .sources
            .iter()
            .flat_map(|s| {
                self.sustains
                    .iter()
                    .map(move |t| (*s, *t, TriggerWatch::default(), 0, None))
            })
            .collect();
        tokio::time::sleep(POLL.mul_f64(phase)).await;
        set_pod_images(&self.sb, ERRORS);
        let step = Instant::now();
        let step_sim = self.clock.now();
        while watches.iter().any(|w| w.4.is_none()) {
            let p = self.next().await;
            for (source, sustain, watch, polls, found) in &mut watches {
                if *source != p.source || found.is_some() {
                    continue;
                }
                if p.at >= step_sim {
                    *polls += 1;
                }
                let fired = watch.observe(p.at, &p.readings, None, &rules(*sustain));
                if fired.iter().any(|f| f.kind == TriggerKind::ErrorRate) {
                    *found = Some(Detection {
                        after: p.arrived - step,
                        polls: *polls,
                        rate: error_rate(&p.readings).unwrap_or(f64::NAN),
                    });
                }
            }
        }
        for (source, sustain, _, _, found) in watches {
            let d = found.expect("fired");
            match self
                .results
                .iter_mut()
                .find(|r| r.0 == source && r.1 == sustain)
            {
                Some(r) => r.2.push(d),
                None => self.results.push((source, sustain, vec![d])),
            }
        }
        set_pod_images(&self.sb, HEALTHY);
    }

    fn report(&self, speed: f64) {
        println!("\n{}", self.label);
        for (source, sustain, ds) in &self.results {
            let mut secs: Vec<f64> = ds.iter().map(|d| d.after.as_secs_f64()).collect();
            secs.sort_by(f64::total_cmp);
            let median = secs[secs.len() / 2];
            let (min, max) = (secs[0], secs[secs.len() - 1]);
            let each: Vec<String> = ds
                .iter()
                .map(|d| {
                    format!(
                        "{:.2} s ({} polls, {:.2}%)",
                        d.after.as_secs_f64(),
                        d.polls,
                        d.rate * 100.0
                    )
                })
                .collect();
            println!(
                "  {source:<8} sustain {sustain:>2} s: median {median:.2} s wall ({min:.2}-{max:.2}) \
                 = {:.1} poll intervals = {:.0} s simulated; rounds: {}",
                median / POLL.as_secs_f64(),
                median * speed,
                each.join(", ")
            );
        }
    }
}

/// Where in the poll interval round `i` steps: spread evenly, since a real release's errors
/// start at no particular moment of the poller's cycle.
fn phase(i: usize, rounds: usize) -> f64 {
    (i as f64 + 0.5) / rounds as f64
}

async fn world(speed: f64) -> (server::Running, Services, Arc<dyn Clock>) {
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(Utc::now(), speed));
    let running = server::start_seeded(clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the sandbox starts");
    let services = Services::start(running.sandbox.clone())
        .await
        .expect("the services start");
    (running, services, clock)
}

/// 1x, as a cockpit runs against a real cluster: both sources with a 10 s rate window.
async fn production(rounds: usize) -> Bench {
    let (running, services, clock) = world(1.0).await;
    let target = services.urls["production"]
        .strip_prefix("http://")
        .unwrap()
        .to_string();
    let prom = prometheus::Prometheus::start(&[&target]).await;
    let (tx, rx) = mpsc::unbounded_channel();
    let scrape = ScrapeSource::new(
        &format!("{}/metrics", services.urls["production"]),
        WINDOW_1X,
        Duration::from_secs(2),
    );
    let queries = Config::embedded().metric_queries;
    let window = format!("{}s", WINDOW_1X.as_secs());
    let promsrc = PrometheusSource::new(&prom.url, &queries, &window, Duration::from_secs(2));
    let tasks = [
        tokio::spawn(poller(
            "scrape",
            Box::new(scrape),
            clock.clone(),
            tx.clone(),
        )),
        tokio::spawn(poller("prom", Box::new(promsrc), clock.clone(), tx)),
    ];
    let mut b = Bench {
        label: "1x: rate window 10 s, poll 1 s (Prometheus scrapes every 1 s)",
        sb: running.sandbox.clone(),
        clock,
        rx,
        sources: vec!["scrape", "prom"],
        sustains: vec![0],
        results: Vec::new(),
    };
    for i in 0..rounds {
        b.settle(WINDOW_1X).await;
        b.round(phase(i, rounds)).await;
    }
    for t in tasks {
        t.abort();
    }
    drop(prom);
    services.stop().await;
    running.stop().await;
    b
}

/// The demo at --speed 60: the scrape source with five polls in its window (300 s of
/// simulated time), the default sustain (60 s simulated: one poll) beside 0.
async fn demo(rounds: usize) -> Bench {
    let speed = 60.0;
    let (running, services, clock) = world(speed).await;
    let (tx, rx) = mpsc::unbounded_channel();
    let window = Duration::from_secs_f64(5.0 * POLL.as_secs_f64() * speed);
    let scrape = ScrapeSource::new(
        &format!("{}/metrics", services.urls["production"]),
        window,
        Duration::from_secs(2),
    );
    let task = tokio::spawn(poller("scrape", Box::new(scrape), clock.clone(), tx));
    let mut b = Bench {
        label: "demo --speed 60: rate window 300 s simulated (5 polls), poll 1 s = 60 s simulated",
        sb: running.sandbox.clone(),
        clock,
        rx,
        sources: vec!["scrape"],
        sustains: vec![0, Config::embedded().rollback_triggers.sustain_seconds],
        results: Vec::new(),
    };
    for i in 0..rounds {
        b.settle(Duration::from_secs_f64(window.as_secs_f64() / speed))
            .await;
        b.round(phase(i, rounds)).await;
    }
    task.abort();
    services.stop().await;
    running.stop().await;
    b
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --all-targets` runs this without `--bench`: one round, as a smoke test.
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { 3 };
    let wall = Instant::now();
    println!("machine: {}", machine());
    println!(
        "error rate stepped 0.2% -> 8% (all four production pods switched at once); trigger \
         at {:.0}%; {rounds} round(s)",
        Config::embedded().rollback_triggers.error_rate_above * 100.0
    );
    // The two run side by side: each spends most of its time waiting for windows to slide.
    let (p, d) = tokio::join!(production(rounds), demo(rounds));
    p.report(1.0);
    d.report(60.0);
    println!("\ntotal {:.0} s", wall.elapsed().as_secs_f64());
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_string();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let one = load.split_whitespace().next().unwrap_or("?").to_string();
    format!("{cores} cores, {model}; load average {one} (1 min)")
}
