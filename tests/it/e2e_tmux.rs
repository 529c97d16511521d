//! End-to-end tests that drive the real binary in a real terminal: a detached tmux session
//! with a fixed size, one private tmux server (`-L`) per test, and a temp dir as the state dir.
//!
//! tmux is required: if it is not on PATH these tests fail, they never skip.

use crate::common::tmux;

use std::path::Path;
use std::process::{Command, Stdio};

use tmux::{BIN, Capture, Tmux, framed};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;

/// Waits until the pane shows `n` exit markers (`EXITED:<code>`), and returns their codes.
fn wait_for_exits(tmux: &Tmux, n: usize) -> (Vec<i32>, String) {
    let screen = tmux.wait_for(&format!("{n} `EXITED:<code>` line(s)"), |s| {
        exit_codes(s).len() >= n
    });
    (exit_codes(&screen), screen)
}

/// Every `EXITED:<digits>` on the screen, top to bottom. The typed command line holds
/// `EXITED:$?`, which has no digit and is not counted.
fn exit_codes(screen: &str) -> Vec<i32> {
    let mut codes = Vec::new();
    let mut rest = screen;
    while let Some(at) = rest.find("EXITED:") {
        rest = &rest[at + "EXITED:".len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(code) = digits.parse() {
            codes.push(code);
        }
    }
    codes
}

/// `release-cockpit ... status --json`, run as a plain child process.
fn status_json(state_dir: &Path, work_dir: &Path, xdg: &Path) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("--state-dir")
        .arg(state_dir)
        .args(["--release", "1.2.3", "status", "--json"])
        .current_dir(work_dir)
        .env("RELEASE_COCKPIT_USER", "alice")
        .env("RELEASE_COCKPIT_CONFIG", "")
        .env("XDG_CONFIG_HOME", xdg)
        .stdin(Stdio::null())
        .output()
        .expect("run release-cockpit status --json");
    assert!(
        out.status.success(),
        "status --json exited {}; stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json did not print JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn checklist_item<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["checklist"]
        .as_array()
        .expect("status --json has a `checklist` array")
        .iter()
        .flat_map(|phase| phase["items"].as_array().into_iter().flatten())
        .find(|item| item["id"] == id)
        .unwrap_or_else(|| panic!("no checklist item {id:?} in status --json:\n{doc:#}"))
}

#[test]
fn a_tick_made_with_the_keyboard_survives_quit_and_reopen() {
    let tmux = Tmux::start("tick", WIDTH, HEIGHT, Capture::Joined);
    let cmd = format!(
        "release-cockpit --state-dir {} --release 1.2.3; echo EXITED:$?",
        tmux.quoted_state_dir()
    );

    // First run: tick the first item of the first phase.
    tmux.type_line(&cmd);
    tmux.wait_for_text("Checklist");
    let screen = tmux.wait_for_text("[ ] Code freeze for non-critical features");
    assert!(
        !screen.contains("[x] Code freeze"),
        "a brand-new release already shows Code freeze ticked:\n{}",
        framed(&screen)
    );
    // The selection starts on the phase header; `j` moves to the first item.
    tmux.press("j");
    tmux.press("Space");
    tmux.wait_for_text("alice (unverified) ticked code-freeze");
    tmux.press("q");
    let (codes, screen) = wait_for_exits(&tmux, 1);
    assert_eq!(
        codes,
        vec![0],
        "quitting with `q` should exit 0; the pane shows:\n{}",
        framed(&screen)
    );

    // What scripts see on disk.
    let journal = tmux.state_dir().join("releases").join("1.2.3.jsonl");
    assert!(
        journal.is_file(),
        "no journal at {} after ticking an item",
        journal.display()
    );
    let doc = status_json(&tmux.state_dir(), &tmux.work_dir(), &tmux.xdg_dir());
    let item = checklist_item(&doc, "code-freeze");
    assert_eq!(
        item["status"], "done",
        "code-freeze in status --json: {item:#}"
    );
    assert_eq!(
        item["by"], "alice",
        "code-freeze in status --json: {item:#}"
    );
    let other = checklist_item(&doc, "automated-tests");
    assert_eq!(
        other["status"], "open",
        "only the item ticked should be done: {other:#}"
    );

    // Second run, same pane: the tick is still there.
    tmux.type_line(&cmd);
    let screen = tmux.wait_for_text("[x] Code freeze");
    let row = screen
        .lines()
        .find(|l| l.contains("[x] Code freeze"))
        .expect("the row was just seen");
    assert!(
        row.contains("alice"),
        "the ticked row should say who ticked it: {row:?}"
    );
    assert!(
        screen.contains("[ ] Complete all automated tests"),
        "the next item should still be open after reopening:\n{}",
        framed(&screen)
    );
    tmux.press("q");
    let (codes, screen) = wait_for_exits(&tmux, 2);
    assert_eq!(
        codes,
        vec![0, 0],
        "both runs should exit 0; the pane shows:\n{}",
        framed(&screen)
    );
}

/// Starts the cockpit with the test-only panic key, presses it and waits for the shell.
/// Returns the exit code and the screen at that moment.
fn crash_the_cockpit(tmux: &Tmux) -> (i32, String) {
    tmux.type_line(&format!(
        "RELEASE_COCKPIT_TEST_PANIC=1 release-cockpit --state-dir {} --release 1.2.3; \
         echo EXITED:$?",
        tmux.quoted_state_dir()
    ));
    tmux.wait_for_text("Checklist");
    tmux.press("F12");
    let (codes, screen) = wait_for_exits(tmux, 1);
    (codes[0], screen)
}

#[test]
fn b_forced_panic_gives_the_terminal_back_in_cooked_mode() {
    let tmux = Tmux::start("panic", WIDTH, HEIGHT, Capture::Joined);
    let (code, screen) = crash_the_cockpit(&tmux);
    assert_ne!(
        code,
        0,
        "a panic should end the cockpit with a non-zero status; the pane shows:\n{}",
        framed(&screen)
    );
    assert!(
        screen.contains("forced panic"),
        "the panic message should be visible once the shell is back; the pane shows:\n{}",
        framed(&screen)
    );

    assert_cooked(&tmux, "the panic");
}

/// The panic report is printed once the terminal is restored; restoring a second time while
/// unwinding would leave the alternate screen again and move the cursor back over it.
#[test]
fn c_the_panic_report_is_not_overwritten_by_the_shell() {
    let tmux = Tmux::start("report", WIDTH, HEIGHT, Capture::Joined);
    let (code, screen) = crash_the_cockpit(&tmux);
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let exited = lines
        .iter()
        .position(|l| l.contains(&format!("EXITED:{code}")))
        .expect("just seen");
    assert_eq!(
        lines[exited],
        format!("EXITED:{code}"),
        "the shell's output was written over the panic report:\n{}",
        framed(&screen)
    );
    let message = lines.iter().position(|l| l.contains("forced panic"));
    assert!(
        message.is_some_and(|m| m < exited),
        "the panic message should stay above what the shell prints next:\n{}",
        framed(&screen)
    );
}

/// Asks the terminal itself, with `stty -a`, whether it is in cooked mode again.
fn assert_cooked(tmux: &Tmux, after: &str) {
    // Is the terminal cooked again? Ask the terminal itself.
    // The marker is looked for as output (its second appearance, after the typed line),
    // not at a line start: on a terminal left raw, output has no carriage returns.
    let command = "stty -a; echo STTY-DONE";
    tmux.type_line(command);
    let screen = tmux.wait_for("the output of `stty -a`", |s| {
        s.matches("STTY-DONE").count() >= 2
    });
    // What `stty -a` printed: after the cockpit's exit marker, up to the marker echoed last,
    // without the typed line itself (a raw terminal does not even echo it).
    let end = screen.rfind("STTY-DONE").expect("just seen");
    let start = screen[..end]
        .rfind("EXITED:")
        .map_or(0, |i| i + "EXITED:".len());
    let stty = screen[start..end].replace(command, "");
    let flags: Vec<&str> = stty.split_whitespace().collect();
    for flag in ["icanon", "echo"] {
        assert!(
            flags.contains(&flag),
            "after {after} the terminal should be in cooked mode (` {flag}`), \
             `stty -a` says:\n{stty}"
        );
        let off = format!("-{flag}");
        assert!(
            !flags.contains(&off.as_str()),
            "after {after} the terminal is still raw (`{off}`), `stty -a` says:\n{stty}"
        );
    }
}

#[test]
fn d_sigterm_closes_the_cockpit_and_gives_the_terminal_back() {
    let tmux = Tmux::start("sigterm", WIDTH, HEIGHT, Capture::Joined);
    tmux.type_line(&format!(
        "release-cockpit --state-dir {} --release 1.2.3; echo EXITED:$?",
        tmux.quoted_state_dir()
    ));
    tmux.wait_for_text("Checklist");
    // Find the cockpit by its state dir, which no other process on the machine names.
    let pgrep = std::process::Command::new("pgrep")
        .args([
            "-f",
            &format!("release-cockpit --state-dir {}", tmux.state_dir().display()),
        ])
        .output()
        .expect("pgrep runs");
    let pid = String::from_utf8_lossy(&pgrep.stdout)
        .split_whitespace()
        .next()
        .expect("the cockpit is running")
        .to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let (codes, screen) = wait_for_exits(&tmux, 1);
    assert_eq!(
        codes[0],
        0,
        "SIGTERM is an orderly close:\n{}",
        framed(&screen)
    );
    assert_cooked(&tmux, "SIGTERM");
}

#[test]
fn e_the_demo_opens_release_1_2_3_with_its_sandbox_cluster() {
    let tmux = Tmux::start("demo", WIDTH, HEIGHT, Capture::Joined);
    tmux.type_line(&format!(
        "release-cockpit --state-dir {} demo --fresh; echo EXITED:$?",
        tmux.quoted_state_dir()
    ));
    // The rollout pane shows the seeded Deployment live from the demo's own cluster.
    let screen = tmux.wait_for_text("deployment/deal-scout-api  staging");
    tmux.wait_for_text("successfully ro");
    assert!(
        screen.contains("release 1.2.3 regular"),
        "{}",
        framed(&screen)
    );
    // The demo's cluster is real enough for kubectl, from a second terminal.
    let kubeconfig = tmux.state_dir().join("sandbox.kubeconfig");
    assert!(kubeconfig.is_file());
    let cache = tmux.state_dir().join("kubectl-cache");
    let get = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--request-timeout=20s", "get", "deployments"])
        .output()
        .expect("kubectl runs");
    let out = String::from_utf8_lossy(&get.stdout);
    assert!(
        out.contains("deal-scout-api"),
        "{out}{}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert!(
        screen.contains("staging gauges, from the scrape of the"),
        "{}",
        framed(&screen)
    );
    tmux.press("q");
    let (codes, screen) = wait_for_exits(&tmux, 1);
    assert_eq!(codes[0], 0, "{}", framed(&screen));
    assert!(tmux.state_dir().join(".release-cockpit-demo").is_file());
}
