//! The live view end to end, against the DESIGN targets "a change in the cluster is on
//! screen within 50 ms" and "a full redraw with 2,000 pods well under 2 ms".
//!
//! (a) Freshness: the sandbox's `deal-scout-api` in production scaled to 50, then 2,000
//! pods; the real watchers (`watch::spawn`) send into a channel, and a loop does what the
//! cockpit's event loop does (fold everything waiting into the App through `update`, then
//! draw a full 160x48 frame on a TestBackend). A pod's restart count is changed in the
//! sandbox's store; the latency runs from that write to the first drawn frame whose buffer
//! shows the new count on the pod's row. While the controllers scale 50 → 2,000, Warning
//! events about the Deployment are timed the same way: freshness in a storm of updates.
//! (b) Frame cost: full frames of the whole screen and of the zoomed rollout pane with
//! those 2,000 pods in the view.
//!
//! The sandbox runs on a runtime of its own, as a cluster would on other machines;
//! `--shared-runtime` puts it on the cockpit's, as the demo does.
//!
//! cargo bench --bench cluster     (prints figures; `-- --quick` for fewer changes,
//!                                  `-- --shared-runtime` for the demo's layout)

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cockpit_sandbox::resources::lookup;
use cockpit_sandbox::server;
use cockpit_sandbox::store::WriteTo;
use cockpit_sandbox::{Sandbox, events};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use release_cockpit::app::{App, ClusterInfo, Msg, Pane, update};
use release_cockpit::cluster::progress::RolloutStatus;
use release_cockpit::cluster::view::ClusterView;
use release_cockpit::cluster::{Change, ClusterMsg, ClusterUpdate, Target, client, watch};
use release_cockpit::config::Config;
use release_cockpit::release::clock::{Clock, SystemClock};
use release_cockpit::release::event::{Entry, Event};
use release_cockpit::release::state::ReleaseState;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch as tokio_watch};

const DEPLOY: &str = "deal-scout-api";
const NS: &str = "production";
const SIZES: [usize; 2] = [50, 2_000];
/// The cockpit's roomy terminal: the zoomed pane shows about thirty pod rows.
const SCREEN: (u16, u16) = (160, 48);
/// The changes go round the first pods of the table, which the zoomed pane shows.
const VISIBLE: usize = 8;
/// A change not on screen by then counts as lost (and would be a bug).
const LOST_AFTER: Duration = Duration::from_secs(2);
/// Warnings are measured this long after the PATCH to 2,000 replicas: the sandbox starts a
/// pod 2 s after creating it and readies it 3 s later, so this covers the whole storm.
const STORM: Duration = Duration::from_secs(6);

/// The change the render loop looks for in each frame: a row with all of `needles`.
#[derive(Clone)]
struct Want {
    seq: usize,
    needles: Vec<String>,
}

/// What each measured change is.
enum Marker {
    /// A kubelet's status update: the restart count of one of these pods (rows the zoomed
    /// pane shows) set to a four-digit number no other row has.
    Restarts { pods: Vec<String>, base: i64 },
    /// A Warning Event about the Deployment, as a controller emits it: the pane lists the
    /// newest four.
    Warning,
}

impl Marker {
    fn needles(&self, seq: usize) -> Vec<String> {
        match self {
            Marker::Restarts { pods, base } => vec![
                pods[seq % pods.len()].clone(),
                format!(" {} ", base + seq as i64),
            ],
            Marker::Warning => vec![format!("bench marker {seq:04}")],
        }
    }

    /// Makes the change in the sandbox's store; returns the moment of the write.
    fn write(&self, sb: &Sandbox, seq: usize) -> Instant {
        match self {
            Marker::Restarts { pods, base } => {
                restart_count(sb, &pods[seq % pods.len()], base + seq as i64)
            }
            Marker::Warning => {
                let mut store = sb.store();
                let deployment = store.get("deployments", NS, DEPLOY).unwrap().clone();
                let at = Instant::now();
                events::emit(
                    &mut store,
                    sb.clock.now(),
                    &deployment,
                    true,
                    "BenchMarker",
                    &format!("bench marker {seq:04}"),
                    events::Source { component: "bench" },
                );
                at
            }
        }
    }
}

/// How long a run of changes goes on.
enum Until {
    Changes(usize),
    /// Changes for this long (one at a time, each waited for).
    For(Duration),
}

/// What the render loop last drew, for the setup to wait on.
#[derive(Clone, Default)]
struct Shown {
    pods: usize,
    running_ready: usize,
    done: bool,
}

#[derive(Default)]
struct LoopStats {
    frames: u64,
    updates: u64,
}

struct Probe {
    want: tokio_watch::Receiver<Option<Want>>,
    seen: mpsc::UnboundedSender<(usize, Instant)>,
    shown: tokio_watch::Sender<Shown>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
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
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{cores} cores, {model}, {mem_gib:.0} GiB; {}", load())
}

/// Other work on the machine (a build next door) shows up in every wall-clock p99 here.
fn load() -> String {
    let avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let one = avg.split_whitespace().next().unwrap_or("?");
    format!("load average {one} (1 min)")
}

/// CPU time of this thread: what a frame costs without the waits for a core.
fn thread_cpu() -> Duration {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("Linux has a per-thread CPU clock");
    Duration::new(ts.tv_sec() as u64, ts.tv_nsec() as u32)
}

/// Whether some row of the frame has every needle.
fn shows(buf: &Buffer, w: &Want) -> bool {
    (0..buf.area.height).any(|y| {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        w.needles.iter().all(|n| row.contains(n.as_str()))
    })
}

fn shown(app: &App) -> Shown {
    let Some(view) = app.view() else {
        return Shown::default();
    };
    Shown {
        pods: view.pod_count(),
        running_ready: view
            .pods()
            .filter(|p| p.status == "Running" && p.ready == p.containers)
            .count(),
        done: matches!(view.progress(), Some(RolloutStatus::Done(_))),
    }
}

/// The cockpit's event loop with a TestBackend for a terminal: fold everything waiting,
/// then draw one full frame. Returns the App when told to stop.
async fn render_loop(
    mut app: App,
    mut rx: mpsc::UnboundedReceiver<ClusterUpdate>,
    mut probe: Probe,
    clock: Arc<dyn Clock>,
    mut stop: oneshot::Receiver<()>,
    stats: Arc<std::sync::Mutex<LoopStats>>,
) -> App {
    let mut terminal = Terminal::new(TestBackend::new(SCREEN.0, SCREEN.1)).unwrap();
    let mut reported = None;
    let mut last_tick = Instant::now();
    loop {
        let first = tokio::select! {
            u = rx.recv() => match u {
                Some(u) => u,
                None => break,
            },
            _ = &mut stop => break,
            // A run of changes ended: what is on screen now is what the setup waits on.
            Ok(()) = probe.want.changed() => {
                if probe.want.borrow_and_update().is_none() {
                    probe.shown.send_replace(shown(&app));
                }
                continue;
            }
        };
        let mut folded = 1;
        update(&mut app, Msg::Cluster(first));
        while let Ok(more) = rx.try_recv() {
            update(&mut app, Msg::Cluster(more));
            folded += 1;
        }
        // The cockpit's one-second tick, so ages on screen move as they would.
        if last_tick.elapsed() >= Duration::from_secs(1) {
            update(&mut app, Msg::Tick(clock.now()));
            last_tick = Instant::now();
        }
        terminal
            .draw(|f| release_cockpit::ui::draw(f, &app))
            .unwrap();
        let drawn = Instant::now();
        {
            let mut s = stats.lock().unwrap();
            s.frames += 1;
            s.updates += folded;
        }
        let want = probe.want.borrow_and_update().clone();
        match want {
            Some(w) if reported != Some(w.seq) => {
                if shows(terminal.backend().buffer(), &w) {
                    reported = Some(w.seq);
                    let _ = probe.seen.send((w.seq, drawn));
                }
            }
            Some(_) => {}
            // Counting ready pods walks them all: only while the setup waits.
            None => {
                probe.shown.send_replace(shown(&app));
            }
        }
    }
    app
}

async fn scale(api: &Api<Deployment>, replicas: usize) {
    let patch = Patch::Merge(json!({"spec": {"replicas": replicas}}));
    api.patch(DEPLOY, &PatchParams::default(), &patch)
        .await
        .expect("scale the deployment");
}

/// Waits until the view has `pods` pods, all running and ready, and kubectl's verdict is
/// "successfully rolled out".
async fn settled(shown: &mut tokio_watch::Receiver<Shown>, pods: usize) {
    let wait = shown.wait_for(|s| s.pods == pods && s.running_ready == pods && s.done);
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(90), wait).await,
        Ok(Ok(_))
    );
    if !ok {
        let s = shown.borrow().clone();
        panic!(
            "the view did not settle at {pods} pods: {} pods, {} running and ready, done {}",
            s.pods, s.running_ready, s.done
        );
    }
}

/// Waits until no update has reached the loop for half a second: after a scale-up the
/// pods' Events keep streaming in for a while after the pods are ready, and the
/// measurement should not share the loop with that backlog. Returns how long it took.
async fn quiet(stats: &std::sync::Mutex<LoopStats>) -> Duration {
    let start = Instant::now();
    let mut last = stats.lock().unwrap().updates;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = stats.lock().unwrap().updates;
        if now == last || start.elapsed() > Duration::from_secs(30) {
            return start.elapsed();
        }
        last = now;
    }
}

/// Sets a pod's restart count straight in the sandbox's store, as a kubelet's status
/// update would land; returns the moment of the write.
fn restart_count(sb: &Sandbox, pod: &str, restarts: i64) -> Instant {
    let pods_r = lookup("", "v1", "pods").unwrap();
    let mut store = sb.store();
    let mut p = store.get("pods", NS, pod).expect("the pod").clone();
    p["status"]["containerStatuses"][0]["restartCount"] = json!(restarts);
    p["metadata"]["resourceVersion"] = json!("");
    let at = Instant::now();
    store.update(pods_r, NS, pod, p, WriteTo::Status).unwrap();
    at
}

/// The pods the zoomed pane shows first: one revision, so in name order.
fn first_pods(sb: &Sandbox, n: usize) -> Vec<String> {
    let store = sb.store();
    let mut names: Vec<String> = store
        .list("pods", Some(NS))
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .filter(|n| n.starts_with(DEPLOY))
        .collect();
    names.sort();
    names.truncate(n);
    names
}

struct Round {
    latencies: Vec<f64>,
    lost: usize,
    frames: u64,
    updates: u64,
    took: Duration,
}

async fn changes(
    sb: &Sandbox,
    marker: &Marker,
    until: Until,
    want: &tokio_watch::Sender<Option<Want>>,
    seen: &mut mpsc::UnboundedReceiver<(usize, Instant)>,
    stats: &std::sync::Mutex<LoopStats>,
) -> Round {
    *stats.lock().unwrap() = LoopStats::default();
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut lost = 0;
    for seq in 0.. {
        let more = match until {
            Until::Changes(n) => seq < n,
            Until::For(d) => start.elapsed() < d,
        };
        if !more {
            break;
        }
        want.send_replace(Some(Want {
            seq,
            needles: marker.needles(seq),
        }));
        let at = marker.write(sb, seq);
        loop {
            match tokio::time::timeout(LOST_AFTER, seen.recv()).await {
                Ok(Some((s, drawn))) if s == seq => {
                    let ms = (drawn - at).as_secs_f64() * 1e3;
                    if ms > 50.0 {
                        eprintln!(
                            "slow: seq {seq} at +{:.2} s: {ms:.1} ms",
                            (at - start).as_secs_f64()
                        );
                    }
                    latencies.push(ms);
                    break;
                }
                Ok(Some(_)) => continue,
                _ => {
                    lost += 1;
                    break;
                }
            }
        }
        // Changes a few milliseconds apart, unaligned with anything periodic.
        tokio::time::sleep(Duration::from_millis(2 + (seq * 7 % 11) as u64)).await;
    }
    want.send_replace(None);
    let took = start.elapsed();
    let s = std::mem::take(&mut *stats.lock().unwrap());
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Round {
        latencies,
        lost,
        frames: s.frames,
        updates: s.updates,
        took,
    }
}

fn print_round(what: &str, r: &Round) {
    let l = &r.latencies;
    if l.is_empty() {
        println!("  {what}: nothing measured ({} lost)", r.lost);
        return;
    }
    println!(
        "  {what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} changes \
         ({} over 50 ms, {} lost; {} frames for {} updates in {:.1} s)",
        percentile(l, 0.5),
        percentile(l, 0.99),
        l.last().copied().unwrap_or(0.0),
        l.len(),
        l.iter().filter(|ms| **ms > 50.0).count(),
        r.lost,
        r.frames,
        r.updates,
        r.took.as_secs_f64(),
    );
}

/// Full draws of one layout, in µs: (median, p99) of wall time, then of this thread's CPU
/// time. `scroll` moves the pod table one row a frame, so every one of its rows is redrawn
/// and sent to the backend.
fn frame_times(
    app: &mut App,
    size: (u16, u16),
    zoomed: bool,
    scroll: bool,
) -> ((f64, f64), (f64, f64)) {
    const FRAMES: usize = 2_000;
    app.focus = Pane::Rollout;
    app.zoomed = zoomed;
    app.pod_scroll = 0;
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    let mut wall = Vec::with_capacity(FRAMES);
    let mut cpu = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES + 200 {
        if scroll {
            app.pod_scroll = i % 1_000;
        }
        let (start, start_cpu) = (Instant::now(), thread_cpu());
        terminal
            .draw(|f| release_cockpit::ui::draw(f, app))
            .unwrap();
        if i >= 200 {
            wall.push(start.elapsed().as_secs_f64() * 1e6);
            cpu.push((thread_cpu() - start_cpu).as_secs_f64() * 1e6);
        }
    }
    let stats = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (percentile(&v, 0.5), percentile(&v, 0.99))
    };
    (stats(wall), stats(cpu))
}

/// A relist after an outage: every pod folded in at once, between two frames.
fn relist_fold(sb: &Sandbox, view: &mut ClusterView, env: &str) -> (usize, f64) {
    let pods: Vec<Pod> = sb
        .store()
        .list("pods", Some(NS))
        .into_iter()
        .map(|p| serde_json::from_value(p.clone()).unwrap())
        .collect();
    let n = pods.len();
    let mut times = Vec::new();
    for _ in 0..10 {
        let u = ClusterUpdate {
            env: env.to_string(),
            at: chrono::Utc::now(),
            msg: ClusterMsg::Pod(Change::Replaced(pods.clone())),
        };
        let start = Instant::now();
        view.apply(&u);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (n, percentile(&times, 0.5))
}

fn app_on(config: Config, url: &str, clock: &dyn Clock) -> App {
    let mut app = App::new(config, NS.into(), "bench".into(), clock.now());
    let release = ReleaseState::from_entries(&[Entry {
        seq: 1,
        prev: None,
        at: clock.now(),
        by: "bench".into(),
        verified_by: None,
        event: Event::ReleaseCreated {
            version: "1.2.3".into(),
            release_type: "regular".into(),
            commit_sha: None,
        },
    }])
    .unwrap();
    update(
        &mut app,
        Msg::ReleaseOpened {
            state: release,
            releases: vec!["1.2.3".into()],
            notice: None,
        },
    );
    app.cluster = Some(ClusterInfo {
        api: url.to_string(),
        kubeconfig: "sandbox.kubeconfig".into(),
        simulated: true,
    });
    let env = app
        .config
        .environment(NS)
        .expect("production in the config");
    app.views
        .insert(NS.into(), ClusterView::new(Target::of(env)));
    app.focus = Pane::Rollout;
    app.zoomed = true;
    app
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let per_size = if quick { 50 } else { 200 };
    let wall = Instant::now();
    println!("machine: {}", machine());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let shared = std::env::args().any(|a| a == "--shared-runtime");
    // The controllers' pass is synchronous and takes hundreds of ms with 2,000 pods
    // changing; on the cockpit's two workers it would stall the loop being measured.
    let sandbox_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = server::start_seeded(clock.clone(), "127.0.0.1:0".parse().unwrap());
    let running = if shared {
        start.await
    } else {
        sandbox_rt.spawn(start).await.unwrap()
    }
    .expect("the sandbox starts");
    println!(
        "sandbox: {}",
        if shared {
            "on the cockpit's runtime (the demo's layout)"
        } else {
            "on a runtime of its own (a cluster elsewhere)"
        }
    );
    let sb = running.sandbox.clone();
    let url = running.url();
    let kube = client::for_url(&url, NS, Some(sb.release_engineer_token())).unwrap();
    let deployments: Api<Deployment> = Api::namespaced(kube.clone(), NS);

    let app = app_on(Config::embedded(), &url, clock.as_ref());
    let target = app.view().unwrap().target.clone();
    let (tx, rx) = mpsc::unbounded_channel();
    let watchers = watch::spawn(
        kube,
        target,
        clock.clone(),
        Arc::new(move |u| tx.send(u).is_ok()),
    );
    let (want_tx, want_rx) = tokio_watch::channel(None);
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let (shown_tx, mut shown_rx) = tokio_watch::channel(Shown::default());
    let (stop_tx, stop_rx) = oneshot::channel();
    let stats = Arc::new(std::sync::Mutex::new(LoopStats::default()));
    let probe = Probe {
        want: want_rx,
        seen: seen_tx,
        shown: shown_tx,
    };
    let screen = tokio::spawn(render_loop(
        app,
        rx,
        probe,
        clock.clone(),
        stop_rx,
        stats.clone(),
    ));

    println!(
        "(a) change in the sandbox → first {}x{} frame that shows it (watchers, fold, full draw):",
        SCREEN.0, SCREEN.1
    );
    for (round, pods) in SIZES.into_iter().enumerate() {
        sb.controllers_paused.store(false, Ordering::SeqCst);
        *stats.lock().unwrap() = LoopStats::default();
        let patched = Instant::now();
        scale(&deployments, pods).await;
        let storm = if pods == 2_000 {
            // Warnings while the controllers create, start and ready 1,950 pods: the loop
            // folds thousands of pod and Event updates meanwhile.
            let r = changes(
                &sb,
                &Marker::Warning,
                Until::For(STORM),
                &want_tx,
                &mut seen_rx,
                &stats,
            )
            .await;
            Some(r)
        } else {
            None
        };
        settled(&mut shown_rx, pods).await;
        let settle = patched.elapsed();
        // Only the bench's writes from here: a running kubelet would put the counts back.
        sb.controllers_paused.store(true, Ordering::SeqCst);
        let drain = quiet(&stats).await;
        let mut scaled = std::mem::take(&mut *stats.lock().unwrap());
        if let Some(r) = &storm {
            scaled.updates += r.updates;
            scaled.frames += r.frames;
        }
        let marker = Marker::Restarts {
            pods: first_pods(&sb, VISIBLE),
            base: 1_000 + round as i64 * 1_000,
        };
        let r = changes(
            &sb,
            &marker,
            Until::Changes(per_size),
            &want_tx,
            &mut seen_rx,
            &stats,
        )
        .await;
        print_round(&format!("{pods:>5} pods, a pod's restarts"), &r);
        if let Some(storm) = storm {
            print_round(
                &format!("{pods:>5} pods, a Warning event during the scale-up"),
                &storm,
            );
        }
        println!(
            "         (the scale-up to {pods}: view settled {:.1} s after the PATCH, streams \
             quiet {:.1} s later; {} updates folded into {} frames)",
            settle.as_secs_f64(),
            drain.as_secs_f64(),
            scaled.updates,
            scaled.frames,
        );
    }

    drop(watchers);
    let _ = stop_tx.send(());
    let mut app = screen.await.expect("the render loop ends");
    let pods = app.view().map_or(0, |v| v.pod_count());
    println!("(b) full frames with {pods} pods in the view (2,000 draws each):");
    for size in [(80u16, 24u16), SCREEN] {
        for (what, zoomed, scroll) in [
            ("whole screen", false, false),
            ("rollout pane zoomed", true, false),
            ("rollout pane zoomed, scrolling a row a frame", true, true),
        ] {
            let ((p50, p99), (cpu50, cpu99)) = frame_times(&mut app, size, zoomed, scroll);
            println!(
                "  {}x{} {what}: median {p50:.0} µs, p99 {p99:.0} µs \
                 (CPU time: median {cpu50:.0} µs, p99 {cpu99:.0} µs)",
                size.0, size.1
            );
        }
    }
    let env = app.env.clone();
    if let Some(view) = app.views.get_mut(&env) {
        let (n, ms) = relist_fold(&sb, view, &env);
        println!("  fold a relist of {n} pods into the view (after an outage): median {ms:.1} ms");
    }
    running.stop().await;
    sandbox_rt.shutdown_background();
    println!("total {:.1} s; {}", wall.elapsed().as_secs_f64(), load());
}
