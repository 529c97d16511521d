//! End-to-end deploys with the keyboard: the real binary in a real terminal (a detached tmux
//! session, one private tmux server per test) against a real sandbox cluster, all on
//! 127.0.0.1. One deploy walks the demo from a fresh release to a finished rollout; the
//! other kills the cockpit with SIGKILL mid-rollout and checks that the restart follows the
//! rollout without sending the deploy a second time. A third checks that a restart after
//! such a kill repaints the whole screen.
//!
//! tmux is required: if it is not on PATH these tests fail, they never skip.

use crate::common::tmux;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cockpit_sandbox::RequestRecord;
use release_cockpit::release::store::{StateDir, parse_version};
use tmux::{BIN, Capture, DEADLINE, Tmux, exit_marker, framed, pane};

/// Wide and tall enough that the Rollout pane shows kubectl's whole sentence and the
/// Runbook pane its staging steps, side by side.
const WIDTH: u16 = 160;
const HEIGHT: u16 = 45;
/// For a rollout to finish (a `-slowstart` one takes ~10 s at the speed used here).
const ROLLOUT_DEADLINE: Duration = Duration::from_secs(60);
const SHA: &str = "0123abcd";
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/staging/deployments/deal-scout-api";
const ROLLED_OUT: &str = "deployment \"deal-scout-api\" successfully rolled out";

fn rollout_pane(screen: &str) -> String {
    pane(screen, "3 Rollout")
}

fn runbook_pane(screen: &str) -> String {
    pane(screen, "2 Runbook")
}

/// The Rollout pane's status line is kubectl's "successfully rolled out" and the
/// revision running `image` is the current one (`▶`).
fn rolled_out_to(screen: &str, image: &str) -> bool {
    let rollout = rollout_pane(screen);
    let current = format!(" {image} ");
    rollout.lines().any(|l| l.trim_end() == ROLLED_OUT)
        && rollout
            .lines()
            .any(|l| l.starts_with("▶ rev") && l.contains(&current))
}

/// The Rollout pane shows one of kubectl's "Waiting for deployment ..." lines.
fn rollout_under_way(screen: &str) -> bool {
    rollout_pane(screen)
        .lines()
        .any(|l| l.starts_with("Waiting for deployment"))
}

/// The runbook's staging deploy step is done (`✓`).
fn staging_deploy_done(screen: &str) -> bool {
    runbook_pane(screen)
        .lines()
        .any(|l| l.contains("✓ staging deploy + rollout status"))
}

/// `release-cockpit ... <args>` run as a plain child process with the test's state dir.
fn cockpit_cli(tmux: &Tmux, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--state-dir")
        .arg(tmux.state_dir())
        .args(args)
        .current_dir(tmux.work_dir())
        .env("RELEASE_COCKPIT_USER", "alice")
        .env("RELEASE_COCKPIT_CONFIG", "")
        .env("XDG_CONFIG_HOME", tmux.xdg_dir())
        .env_remove("KUBECONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run release-cockpit {args:?}: {e}"));
    // A command that refuses its input exits before reading it all; its status and stderr
    // below say why, which a broken pipe here would hide.
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes());
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for release-cockpit {args:?}: {e}"));
    assert!(
        out.status.success(),
        "release-cockpit {args:?} exited {}; stdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `release-cockpit sandbox` as its own process. Dropping it kills the process.
struct Sandbox {
    child: Child,
    api: String,
    kubeconfig: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    fn start(speed: &str) -> Sandbox {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let kubeconfig = dir.path().join("sandbox.kubeconfig");
        let stderr = dir.path().join("sandbox.stderr");
        // A file, not a pipe: nobody reads the sandbox's stderr while it runs, and a full
        // pipe would stall it.
        let err_file = std::fs::File::create(&stderr).expect("create the sandbox's stderr file");
        let mut child = Command::new(BIN)
            .args(["sandbox", "--listen", "127.0.0.1:0", "--speed", speed])
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err_file)
            .spawn()
            .expect("start release-cockpit sandbox");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut sandbox = Sandbox {
            child,
            api: String::new(),
            kubeconfig,
            stderr,
            _dir: dir,
        };
        // Read on a thread so a sandbox that never gets ready fails the test instead of
        // hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let first = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            panic!(
                "the sandbox printed no ready line within {DEADLINE:?}; stderr:\n{}",
                sandbox.stderr_text()
            )
        });
        let ready: serde_json::Value = serde_json::from_str(&first).unwrap_or_else(|e| {
            panic!(
                "the sandbox's first line is not JSON ({e}): {first:?}; stderr:\n{}",
                sandbox.stderr_text()
            )
        });
        sandbox.api = ready["api"]
            .as_str()
            .unwrap_or_else(|| panic!("no `api` in the sandbox's ready line: {ready}"))
            .to_string();
        assert!(
            sandbox.kubeconfig.is_file(),
            "the sandbox said it was ready but wrote no kubeconfig at {}",
            sandbox.kubeconfig.display()
        );
        sandbox
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The mutating requests the sandbox's API served, oldest first.
    fn request_log(&self) -> Vec<RequestRecord> {
        let url = format!("{}/_sandbox/requests", self.api);
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

    fn deployment_patches(&self) -> Vec<RequestRecord> {
        self.request_log()
            .into_iter()
            .filter(|r| r.method == "PATCH" && r.path.starts_with(DEPLOYMENT_PATH))
            .collect()
    }
}

#[test]
fn a_the_demo_deploys_to_staging_with_the_keyboard() {
    let tmux = Tmux::start("demo", WIDTH, HEIGHT, Capture::Joined);
    tmux.type_line(&format!(
        "release-cockpit --state-dir '{}' demo --fresh --speed 20; {}",
        tmux.state_dir().display(),
        exit_marker("demo")
    ));
    let screen = tmux.wait_for("the demo's release and its sandbox rollout", |s| {
        s.contains("release 1.2.3 regular") && rolled_out_to(s, "deal-scout-api:1.2.2")
    });
    assert!(
        screen.contains("staging BLOCKED"),
        "a fresh demo release should start with the staging gate closed:\n{}",
        framed(&screen)
    );

    // The staging gate waits on the five items of "1 Week Before Release", the first
    // phase, whose header the selection starts on: down and tick, five times.
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
    tmux.wait_for_text("Deploy deal-scout-api:1.2.3?");
    tmux.press("y");
    tmux.wait_until(
        ROLLOUT_DEADLINE,
        "the Rollout pane to show 1.2.3 rolled out and the runbook's staging deploy done",
        |s| rolled_out_to(s, "deal-scout-api:1.2.3") && staging_deploy_done(s),
    );

    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("demo");
    assert_eq!(
        code,
        0,
        "quitting after the deploy should exit 0:\n{}",
        framed(&screen)
    );
}

/// The events of one kind in the journal, as JSON.
fn journal_events(journal: &Path, kind: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(journal)
        .unwrap_or_else(|e| panic!("read the journal {}: {e}", journal.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("journal line is not JSON ({e}): {l}"))
        })
        .filter(|e| e["type"] == kind)
        .collect()
}

#[test]
fn b_sigkill_mid_rollout_resumes_without_a_second_patch() {
    const VERSION: &str = "1.2.3-slowstart";
    const IMAGE: &str = "deal-scout-api:1.2.3-slowstart";
    // Slow enough that the cockpit can be killed mid-rollout (each new pod takes ~4.7 s),
    // quick enough that the whole rollout takes ~10 s.
    let sandbox = Sandbox::start("10");
    let tmux = Tmux::start("sigkill", WIDTH, HEIGHT, Capture::Joined);
    let cockpit = |run: &str| {
        format!(
            "KUBECONFIG='{}' release-cockpit --state-dir '{}' --release {VERSION}; {}",
            sandbox.kubeconfig.display(),
            tmux.state_dir().display(),
            exit_marker(run)
        )
    };

    // `record` appends to an existing release only: the cockpit creates it.
    tmux.type_line(&cockpit("create"));
    tmux.wait_for("the new release, connected to the sandbox", |s| {
        s.contains(&format!("release {VERSION} regular"))
            && rolled_out_to(s, "deal-scout-api:1.2.2")
    });
    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("create");
    assert_eq!(code, 0, "{}", framed(&screen));
    let ticks: String = [
        "code-freeze",
        "automated-tests",
        "changelog",
        "merge-prs",
        "release-branch",
    ]
    .iter()
    .map(|item| format!("{{\"type\":\"item_ticked\",\"item\":\"{item}\"}}\n"))
    .collect();
    cockpit_cli(
        &tmux,
        &["--release", VERSION, "record"],
        &format!("{{\"type\":\"commit_set\",\"commit_sha\":\"{SHA}\"}}\n{ticks}"),
    );
    let before = sandbox.deployment_patches();
    assert!(
        before.is_empty(),
        "nothing should have patched the deployment yet: {before:?}"
    );

    tmux.type_line(&cockpit("killed"));
    tmux.wait_for("the prepared release with its staging gate open", |s| {
        s.contains("staging OPEN") && rolled_out_to(s, "deal-scout-api:1.2.2")
    });
    tmux.press("D");
    tmux.wait_for_text(&format!("Deploy {IMAGE}?"));
    tmux.press("y");
    let screen = tmux.wait_for(
        "the Rollout pane to show the rollout under way",
        rollout_under_way,
    );
    assert!(
        !staging_deploy_done(&screen),
        "the slow rollout finished before the cockpit could be killed mid-way; the test \
         needs a slower --speed:\n{}",
        framed(&screen)
    );

    let pid = tmux.foreground_child();
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -KILL {pid} failed");
    let (code, screen) = tmux.wait_for_exit("killed");
    assert_eq!(
        code,
        137,
        "the cockpit should end by SIGKILL (128 + 9):\n{}",
        framed(&screen)
    );
    assert!(
        tmux.pane_alive(),
        "the pane died with the cockpit:\n{}",
        framed(&screen)
    );
    // SIGKILL leaves the terminal raw and on the alternate screen: what an operator types
    // to get it back (stty sane; clear), and proof that the shell still reads and runs what
    // is typed. The clear keeps this test apart from the repaint bug of the next one.
    tmux.type_line("stty sane; printf '\\033[H\\033[2J'; echo ALIVE-$((6*7))");
    tmux.wait_for_text("ALIVE-42");
    let sent = sandbox.deployment_patches();
    assert_eq!(
        sent.len(),
        1,
        "the deploy should have sent exactly one PATCH before the kill: {sent:?}"
    );

    tmux.type_line(&cockpit("restarted"));
    tmux.wait_for_text("was in flight when the cockpit stopped; reconciling with the cluster");
    // The rollout outlives the kill by several seconds: the restart picks it up under way.
    tmux.wait_for(
        "the restarted cockpit to follow the rollout under way",
        |s| {
            rollout_under_way(s)
                && runbook_pane(s)
                    .lines()
                    .any(|l| l.contains("⟳ staging deploy + rollout status"))
        },
    );
    let screen = tmux.wait_until(
        ROLLOUT_DEADLINE,
        "the restarted cockpit to follow the rollout to its end",
        |s| rolled_out_to(s, IMAGE) && staging_deploy_done(s),
    );
    let patches = sandbox.deployment_patches();
    assert_eq!(
        patches.len(),
        1,
        "the restart must reconcile, not deploy again: the sandbox saw these PATCHes of the \
         deployment: {patches:?}\nthe pane shows:\n{}",
        framed(&screen)
    );

    let journal = StateDir::new(tmux.state_dir())
        .journal_path(&parse_version(VERSION).expect("a valid version"));
    let started = journal_events(&journal, "action_started");
    let finished = journal_events(&journal, "action_finished");
    assert_eq!(
        started.len(),
        1,
        "one deploy, one ActionStarted: {started:#?}"
    );
    assert_eq!(
        finished.len(),
        1,
        "one deploy, one ActionFinished: {finished:#?}"
    );
    assert_eq!(
        finished[0]["task"], started[0]["task"],
        "the finish belongs to the deploy that started"
    );
    assert_eq!(
        finished[0]["ok"], true,
        "the resumed deploy should finish well: {:#}",
        finished[0]
    );
    assert_eq!(started[0]["action"]["image"], IMAGE, "{:#}", started[0]);

    let status = cockpit_cli(&tmux, &["--release", VERSION, "status", "--json"], "");
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json did not print JSON ({e}):\n{}",
            String::from_utf8_lossy(&status.stdout)
        )
    });
    let lines = std::fs::read_to_string(&journal)
        .expect("the journal was just read")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(
        doc["release"]["events"], lines,
        "status --json should count every journal line: {doc:#}"
    );
    assert!(
        doc["journal_warning"].is_null(),
        "the kill should not have torn the journal: {doc:#}"
    );
    assert_eq!(doc["release"]["commit_sha"], SHA, "{doc:#}");

    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("restarted");
    assert_eq!(
        code,
        0,
        "the restarted cockpit should quit cleanly:\n{}",
        framed(&screen)
    );
}

/// A cockpit killed by SIGKILL leaves the terminal on the alternate screen, where the shell
/// then prints; the next start enters the alternate screen again (which then does not clear
/// it) and must still own every cell, or stale text shows through wherever its frame is
/// blank.
#[test]
fn c_a_restart_after_sigkill_paints_over_what_the_terminal_showed() {
    let tmux = Tmux::start("repaint", WIDTH, HEIGHT, Capture::Joined);
    let cockpit = |run: &str| {
        format!(
            "release-cockpit --state-dir '{}' --release 1.2.3; {}",
            tmux.state_dir().display(),
            exit_marker(run)
        )
    };
    tmux.type_line(&cockpit("killed"));
    tmux.wait_for_text("release 1.2.3 regular");
    let pid = tmux.foreground_child();
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -KILL {pid} failed");
    let (code, screen) = tmux.wait_for_exit("killed");
    assert_eq!(code, 137, "{}", framed(&screen));

    // Every cell of the screen holds part of a marker the cockpit never draws.
    tmux.type_line("stty sane; printf 'STALE%.0s' $(seq 1 2000); echo");
    tmux.wait_for("the screen full of the marker", |s| {
        s.matches("STALE").count() > 1000
    });
    tmux.type_line(&cockpit("restarted"));
    // A word without spaces: where the frame has a space, the marker may still show.
    tmux.wait_for_text("(regular)");
    tmux.wait_until(
        Duration::from_secs(3),
        "the restarted cockpit to paint over the whole screen (`tui::enter` has to \
         clear it)",
        |s| !s.contains("STALE"),
    );
    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("restarted");
    assert_eq!(code, 0, "{}", framed(&screen));
}
