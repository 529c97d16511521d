//! The demo killed with SIGKILL mid-rollout and started again: its in-process sandbox
//! comes back from the state it saved, on the same port, so the restarted cockpit finds
//! the same release (its journal is in the sandbox's ConfigMaps) and the same rollout under
//! way, follows it to its end without a second PATCH of the Deployment, and simulated time
//! goes on from where it was: every entry after the restart is later than every one before.
//! And a demo whose port another program took while it was down says so and moves.
//!
//! tmux is required: if it is not on PATH these tests fail, they never skip.

use crate::common::tmux;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cockpit_sandbox::RequestRecord;
use tmux::{Capture, Tmux, exit_marker, framed, pane};

const WIDTH: u16 = 160;
const HEIGHT: u16 = 45;
/// A `-slowstart` pod is ready 45 s (simulated) after it starts: at `--speed 10` the
/// two-pod staging rollout takes ~10 s, long enough to be killed in the middle.
const VERSION: &str = "1.2.3-slowstart";
const IMAGE: &str = "deal-scout-api:1.2.3-slowstart";
const SPEED: &str = "10";
const ROLLOUT_DEADLINE: Duration = Duration::from_secs(60);
const SHA: &str = "0123abcd";
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/staging/deployments/deal-scout-api";
const ROLLED_OUT: &str = "deployment \"deal-scout-api\" successfully rolled out";

fn rolled_out_to(screen: &str, image: &str) -> bool {
    let rollout = pane(screen, "3 Rollout");
    let current = format!(" {image} ");
    rollout.lines().any(|l| l.trim_end() == ROLLED_OUT)
        && rollout
            .lines()
            .any(|l| l.starts_with("▶ rev") && l.contains(&current))
}

fn rollout_under_way(screen: &str) -> bool {
    pane(screen, "3 Rollout")
        .lines()
        .any(|l| l.starts_with("Waiting for deployment"))
}

fn staging_deploy_done(screen: &str) -> bool {
    pane(screen, "2 Runbook")
        .lines()
        .any(|l| l.contains("✓ staging deploy + rollout status"))
}

/// The port the demo's sandbox serves on, as the demo remembers it.
fn sandbox_port(state: &Path) -> u16 {
    let path = state.join("sandbox").join("port");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{} is not a port: {e}", path.display()))
}

/// The sandbox's log of mutating requests, as the running demo's sandbox has it (its
/// admin path needs no token; it serves on loopback only).
fn request_log(port: u16) -> Vec<RequestRecord> {
    let url = format!("http://127.0.0.1:{port}/_sandbox/requests");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for one request");
    runtime.block_on(async {
        release_cockpit::http::client()
            .get(&url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not a request log: {e}"))
    })
}

fn deployment_patches(log: &[RequestRecord]) -> Vec<RequestRecord> {
    log.iter()
        .filter(|r| r.method == "PATCH" && r.path == DEPLOYMENT_PATH)
        .cloned()
        .collect()
}

/// The journal's entries, from the mirror the demo keeps of it in its state dir.
fn journal(state: &Path) -> Vec<serde_json::Value> {
    let path = state.join("releases").join(format!("{VERSION}.jsonl"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read the journal's mirror {}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Waits until the journal's mirror holds `n` entries.
fn wait_for_entries(state: &Path, n: usize) {
    let deadline = std::time::Instant::now() + tmux::DEADLINE;
    while journal(state).len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the journal did not reach {n} entries: {:#?}",
            journal(state)
        );
        std::thread::sleep(tmux::POLL);
    }
}

fn at(entry: &serde_json::Value) -> DateTime<Utc> {
    entry["at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an entry without a time: {entry}"))
}

fn of_type<'a>(entries: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    entries.iter().filter(|e| e["type"] == kind).collect()
}

#[test]
fn the_demo_killed_mid_rollout_resumes_it_without_a_second_patch_and_time_goes_on() {
    let tmux = Tmux::start("demo-restart", WIDTH, HEIGHT, Capture::Joined);
    let state = tmux.state_dir();
    let demo = |run: &str, flags: &str| {
        format!(
            "release-cockpit --state-dir '{}' demo {flags} --speed {SPEED}; {}",
            state.display(),
            exit_marker(run)
        )
    };

    // A release whose image starts slowly, walked to its staging deploy with the keys.
    tmux.type_line(&demo("killed", &format!("--release {VERSION} --fresh")));
    tmux.wait_for("the demo's release and its sandbox rollout", |s| {
        s.contains(&format!("release {VERSION} regular"))
            && rolled_out_to(s, "deal-scout-api:1.2.2")
    });
    tmux.wait_for_text("as the reviewer: release-cockpit --config");
    let port = sandbox_port(&state);
    // Simulated time runs ahead of the wall clock meanwhile, 9 s a second: far enough for
    // a restart whose clock started afresh from the wall clock to show as time going back.
    std::thread::sleep(Duration::from_secs(3));
    for _ in 0..5 {
        tmux.press("j");
        tmux.press("Space");
    }
    tmux.wait_for_text("staging OPEN");
    tmux.press("s");
    tmux.wait_for_text("Commit SHA");
    tmux.type_text(SHA);
    tmux.press("Enter");
    tmux.wait_for_text(&format!("set the commit to {SHA}"));
    tmux.press("D");
    tmux.wait_for_text(&format!("Deploy {IMAGE}?"));
    tmux.press("y");
    let screen = tmux.wait_for("the rollout under way", rollout_under_way);
    assert!(
        !staging_deploy_done(&screen),
        "the rollout finished before the demo could be killed mid-way:\n{}",
        framed(&screen)
    );
    let sent = deployment_patches(&request_log(port));
    assert_eq!(sent.len(), 1, "the deploy sent one PATCH: {sent:?}");

    let pid = tmux.foreground_child();
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -KILL {pid} failed");
    let (code, screen) = tmux.wait_for_exit("killed");
    assert_eq!(code, 137, "killed by SIGKILL:\n{}", framed(&screen));
    tmux.type_line("stty sane; printf '\\033[H\\033[2J'; echo ALIVE-$((6*7))");
    tmux.wait_for_text("ALIVE-42");
    let before = journal(&state);
    assert_eq!(
        of_type(&before, "action_started").len(),
        1,
        "the deploy's start is in the journal before the kill: {before:#?}"
    );
    let last_before = before.iter().map(at).max().expect("entries");

    // Without --release: the demo opens the release it was on.
    tmux.type_line(&demo("restarted", ""));
    tmux.wait_for_text("the demo's cluster goes on from where it was saved");
    tmux.wait_for_text("was in flight when the cockpit stopped; reconciling with the cluster");
    // An entry made at once, while the rollout goes on: simulated time must have gone on
    // from where it was. (The deploy's end alone would not tell: at this speed a clock
    // started afresh from the wall clock would catch up within the rest of the rollout.)
    // Down past the first phase's header and its five items to the second's first item.
    for _ in 0..7 {
        tmux.press("j");
    }
    tmux.press("Space");
    wait_for_entries(&state, before.len() + 1);
    let screen = tmux.wait_until(
        ROLLOUT_DEADLINE,
        "the restarted demo to follow the rollout to its end",
        |s| rolled_out_to(s, IMAGE) && staging_deploy_done(s),
    );
    assert_eq!(
        sandbox_port(&state),
        port,
        "the restarted sandbox serves on the port it had, for whoever joined"
    );

    // The sandbox's request log is part of its saved state, and a write is answered only
    // once it is saved: the PATCH sent before the kill is in the restarted sandbox's log
    // for certain. The Deployment's generation or revision could not tell: `set image` is
    // idempotent, so a second, identical PATCH would change neither. Only the log can
    // show that nothing was sent a second time, and it holds that one PATCH alone.
    let patches = deployment_patches(&request_log(port));
    assert_eq!(
        patches,
        sent,
        "the restart must reconcile, not deploy again; the pane shows:\n{}",
        framed(&screen)
    );

    let after = journal(&state);
    let started = of_type(&after, "action_started");
    let finished = of_type(&after, "action_finished");
    assert_eq!(started.len(), 1, "one deploy: {started:#?}");
    assert_eq!(finished.len(), 1, "one finish: {finished:#?}");
    assert_eq!(finished[0]["task"], started[0]["task"]);
    assert_eq!(finished[0]["ok"], true, "{:#}", finished[0]);
    let new: Vec<&serde_json::Value> = after.iter().skip(before.len()).collect();
    assert_eq!(new[0]["type"], "item_ticked", "{:#}", new[0]);
    for e in new {
        assert!(
            at(e) > last_before,
            "an entry after the restart ({}) is not later than the last before it \
             ({last_before}): simulated time went back",
            at(e)
        );
    }

    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("restarted");
    assert_eq!(code, 0, "{}", framed(&screen));
}

#[test]
fn a_demo_whose_port_was_taken_says_so_and_serves_on_another() {
    let tmux = Tmux::start("demo-port", WIDTH, HEIGHT, Capture::Joined);
    let state = tmux.state_dir();
    let demo = |run: &str, flags: &str| {
        format!(
            "release-cockpit --state-dir '{}' demo {flags}; {}",
            state.display(),
            exit_marker(run)
        )
    };
    tmux.type_line(&demo("first", "--fresh"));
    tmux.wait_for_text("as the reviewer: release-cockpit --config");
    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("first");
    assert_eq!(code, 0, "{}", framed(&screen));
    let port = sandbox_port(&state);
    // Another program on loopback holds the port while the demo is down.
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port} as another program would: {e}"));

    tmux.type_line(&demo("moved", ""));
    tmux.wait_for_text(&format!(
        "the demo's cluster port {port} is taken; it listens on"
    ));
    tmux.wait_for_text("the demo's cluster goes on from where it was saved");
    let moved = sandbox_port(&state);
    assert_ne!(moved, port);
    let kubeconfig = std::fs::read_to_string(state.join("sandbox.kubeconfig")).unwrap();
    assert!(
        kubeconfig.contains(&format!("https://127.0.0.1:{moved}")),
        "the kubeconfig names the new port:\n(server lines) {:?}",
        kubeconfig
            .lines()
            .filter(|l| l.contains("server:"))
            .collect::<Vec<_>>()
    );
    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("moved");
    assert_eq!(code, 0, "{}", framed(&screen));
}
