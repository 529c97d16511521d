//! Two (and three) real cockpit processes on one release, each in its own terminal (tmux)
//! with its own state dir, the journal in a sandbox's cluster: the release engineer drives,
//! the reviewer's approval appears on the driver's screen and the driver's tick on the
//! reviewer's; the observer's attempt is refused with the reason and writes nothing.

use std::path::Path;

use cockpit_sandbox::server::Running;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::ListParams;
use release_cockpit::cluster::client;

use crate::common::tmux::{BIN, Capture, Tmux};

const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;

/// A cockpit of `user`'s in a terminal of its own, on release 1.2.3 of the shared store.
fn cockpit(test: &str, kubeconfig: &Path, user: &str, extra: &str) -> Tmux {
    let t = Tmux::start(test, WIDTH, HEIGHT, Capture::Rows);
    let config = t.work_dir().join("shared.toml");
    std::fs::write(&config, "[journal]\nstore = \"cluster\"\n").unwrap();
    let contexts = if user == "release-engineer" {
        String::new()
    } else {
        format!("--context production={user}@production --context staging={user}@staging")
    };
    t.type_line(&format!(
        "{BIN} --config {} --kubeconfig {} --state-dir {} --release 1.2.3 {contexts} {extra}",
        config.display(),
        kubeconfig.display(),
        t.quoted_state_dir()
    ));
    t
}

async fn journal_entries(running: &Running) -> usize {
    let kube = client::for_url(
        &running.url(),
        "production",
        Some(running.sandbox.release_engineer_token()),
    )
    .unwrap();
    Api::<ConfigMap>::namespaced(kube, "production")
        .list(&ListParams::default().labels("release-cockpit/journal=1.2.3"))
        .await
        .unwrap()
        .items
        .iter()
        .map(|cm| cm.data.as_ref().map_or(0, |d| d.len()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_a_reviewer_and_an_observer_on_one_release_in_three_terminals() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    crate::common::cluster::write_kubeconfig(&running, &kubeconfig);

    let driver = cockpit("shared-driver", &kubeconfig, "release-engineer", "");
    driver.wait_for_text("release-engineer ✓ driving");
    let reviewer = cockpit("shared-reviewer", &kubeconfig, "reviewer", "");
    reviewer.wait_for_text("reviewing · release-engineer drives");

    // The driver's tick, on the reviewer's screen.
    driver.press("j");
    driver.press("Space");
    driver.wait_for_text("release-engineer ticked code-freeze");
    reviewer.wait_for_text("release-engineer ticked code-freeze (from another cockpit)");

    // The reviewer's approval, on the driver's screen.
    reviewer.press("a");
    reviewer.pick("Approve 1.2.3 as", "Engineer Review");
    reviewer.wait_for_text("Approve as Engineer Review?");
    reviewer.press("Enter");
    reviewer.wait_for_text("reviewer approved as Engineer Review");
    driver.wait_for_text("reviewer approved as Engineer Review (from another cockpit)");

    // Who is on the release, on both screens (the presence leases, renewed every 5 s).
    for t in [&driver, &reviewer] {
        t.wait_for_text("on it: release-engineer (driver), reviewer (reviewer)");
    }

    // The observer sees it all and may record nothing.
    let before = journal_entries(&running).await;
    let observer = cockpit("shared-observer", &kubeconfig, "observer", "");
    observer.wait_for_text("observing · release-engineer drives");
    // Opened after them, it reads both from the journal: the tick, and the approval no
    // longer missing from the production gate.
    let screen =
        observer.wait_for_text("[x] Code freeze for non-critical features release-engineer");
    assert!(
        screen.contains("approval missing: Team Lead")
            && !screen.contains("approval missing: Engineer Review"),
        "{screen}"
    );
    observer.press("j");
    observer.press("j");
    observer.press("Space");
    observer.wait_for_text("refused: you are observing this release (release-engineer drives");
    assert_eq!(
        journal_entries(&running).await,
        before,
        "the observer's attempt wrote nothing"
    );
    for t in [&driver, &reviewer, &observer] {
        t.press("q");
    }
}

/// Sends `signal` to the cockpit running in `t`'s pane.
fn signal(t: &Tmux, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(t.foreground_child() as i32);
    nix::sys::signal::kill(pid, signal).expect("signal the cockpit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_on_call_takes_over_from_a_stopped_driver_who_on_waking_sends_nothing() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    crate::common::cluster::write_kubeconfig(&running, &kubeconfig);
    let driver = cockpit("takeover-driver", &kubeconfig, "release-engineer", "");
    driver.wait_for_text("release-engineer ✓ driving");
    let on_call = cockpit("takeover-on-call", &kubeconfig, "on-call", "");
    on_call.wait_for_text("reviewing · release-engineer drives");

    // The driver's laptop sleeps: SIGSTOP, no renewal. The on-call takes over once its
    // lease lapses (15 s), and the journal says who and why.
    signal(&driver, nix::sys::signal::Signal::SIGSTOP);
    on_call.wait_until(
        std::time::Duration::from_secs(40),
        "the on-call's takeover",
        |s| s.contains("on-call took over driving from release-engineer"),
    );
    on_call.wait_for_text("on-call ✓ driving");
    let entries = journal_entries(&running).await;

    // The driver wakes: it finds it no longer drives, and what it is asked to do it does
    // not do.
    // (The pane's shell took the terminal back when the cockpit stopped: `fg` sends it
    // SIGCONT and gives it the terminal again.)
    driver.type_line("fg");
    driver.wait_until(
        std::time::Duration::from_secs(30),
        "the old driver sees it no longer drives",
        |s| s.contains("reviewing · on-call drives"),
    );
    // Repainted whole: the terminal is the cockpit's again (raw, its keys its own).
    driver.wait_until(
        std::time::Duration::from_secs(30),
        "the old driver's screen repainted",
        |s| !s.contains("Stopped"),
    );
    driver.press("j");
    driver.press("Space");
    driver.wait_for_text("refused: you are reviewing this release (on-call drives");
    assert_eq!(
        journal_entries(&running).await,
        entries,
        "the woken driver journaled nothing"
    );
    for t in [&driver, &on_call] {
        t.press("q");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_on_another_machine_reads_the_live_release_and_who_drives() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    crate::common::cluster::write_kubeconfig(&running, &kubeconfig);
    let config = dir.path().join("shared.toml");
    std::fs::write(&config, "[journal]\nstore = \"cluster\"\n").unwrap();
    let driver = cockpit("status-driver", &kubeconfig, "release-engineer", "");
    driver.wait_for_text("release-engineer ✓ driving");
    driver.press("j");
    driver.press("Space");
    driver.wait_for_text("release-engineer ticked code-freeze");

    // Another machine: an empty state dir, the kubeconfig, the on-call's context.
    let elsewhere = tempfile::tempdir().unwrap();
    let (config, kubeconfig) = (config.clone(), kubeconfig.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--state-dir")
            .arg(elsewhere.path())
            .args(["--context", "production=on-call@production"])
            .args(["--release", "1.2.3", "status", "--json"])
            .env("RELEASE_COCKPIT_USER", "on-call")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["shared"]["driver"]["name"], "release-engineer",
        "{doc:#}"
    );
    assert_eq!(doc["shared"]["driver"]["live"], true);
    let ticked = doc["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["items"].as_array().cloned().unwrap_or_default())
        .any(|i| i["id"] == "code-freeze" && i["status"] == "done");
    assert!(ticked, "the driver's tick, read from the cluster: {doc:#}");
    driver.press("q");
}
