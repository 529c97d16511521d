//! The soak window end to end: the real binary's demo in a real terminal (a detached tmux
//! session on a private tmux server), driven by the keyboard the way the on-call engineer
//! would. An emergency release `1.2.3-errors` goes to production, its error rate fires the
//! rollback trigger, one key rolls back, and the release ends ROLLED BACK with its
//! releases.log line; then the gauges come back under the threshold.
//!
//! tmux is required: if it is not on PATH this test fails, it never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use release_cockpit::release::audit;

const BIN: &str = env!("CARGO_BIN_EXE_release-cockpit");
/// Wide and tall enough for the Rollout pane's revisions and the Timeline pane's gauges
/// side by side with the checklist.
const WIDTH: &str = "160";
const HEIGHT: &str = "45";
/// For the screen to react to a key or a start.
const DEADLINE: Duration = Duration::from_secs(15);
/// For what takes simulated minutes: at --speed 60 the trigger fires a few seconds after the
/// deploy and the rollback takes a few more; this leaves room for a loaded machine.
const SLOW_DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);
const PROMPT: &str = "$ ";
const VERSION: &str = "1.2.3-errors";
const SHA: &str = "0123abcd";
const PREVIOUS: &str = "deal-scout-api:1.2.2";
const BAD: &str = "deal-scout-api:1.2.3-errors";
const ROLLED_OUT: &str = "deployment \"deal-scout-api\" successfully rolled out";

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// One tmux server running `bash` in a single pane. Dropping it kills the server (and with it
/// the cockpit in the pane), also when the test fails half-way.
struct Tmux {
    socket: String,
    /// Kept alive until the server is gone: the state dir, the shell's cwd, XDG dirs.
    dir: tempfile::TempDir,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn require_tmux() {
    match Command::new("tmux").arg("-V").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`tmux -V` failed ({}): {}; this end-to-end test needs a working tmux",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "cannot run `tmux` ({e}): tmux must be on PATH for the end-to-end tests \
             (install it, e.g. `apt-get install tmux`, or run tests/run.sh); they do not skip \
             without it"
        ),
    }
}

impl Tmux {
    fn start(test: &str) -> Tmux {
        require_tmux();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let socket = format!(
            "rc-e2e-soak-{}-{}-{}-{nanos}",
            test,
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::SeqCst)
        );
        let dir = tempfile::tempdir().expect("create a temp dir");
        for sub in ["state", "work", "xdg-config", "tmux"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a dir in the temp dir");
        }
        // The guard exists before the server does, so a failure below still kills it.
        let tmux = Tmux { socket, dir };
        let bin_dir = Path::new(BIN)
            .parent()
            .expect("the binary has a parent dir");
        let path = match std::env::var_os("PATH") {
            Some(p) => {
                let mut dirs = vec![bin_dir.to_path_buf()];
                dirs.extend(std::env::split_paths(&p));
                std::env::join_paths(dirs).expect("PATH can be joined")
            }
            None => bin_dir.as_os_str().to_owned(),
        };
        // tmux sets the first pane's PATH from the client's environment, so PATH has to be
        // set on the tmux command itself rather than with `new-session -e`.
        let out = tmux
            .command()
            .args(["-f", "/dev/null", "-u"])
            .args(["new-session", "-d", "-s", "main", "-x", WIDTH, "-y", HEIGHT])
            .arg("-c")
            .arg(tmux.dir.path().join("work"))
            // As separate words tmux runs bash itself, not through `sh -c` (which may drop
            // PS1 from the environment).
            .args(["bash", "--norc", "--noprofile"])
            .env("PATH", path)
            .env("PS1", PROMPT)
            .env("RELEASE_COCKPIT_USER", "alice")
            .env("RELEASE_COCKPIT_CONFIG", "")
            .env("XDG_CONFIG_HOME", tmux.dir.path().join("xdg-config"))
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .env_remove("RELEASE_COCKPIT_TEST_PANIC")
            .env_remove("RELEASE_COCKPIT_LOG")
            .env_remove("NO_COLOR")
            // The demo runs its own cluster: no other may be reached by mistake.
            .env_remove("KUBECONFIG")
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux new-session");
        assert!(
            out.status.success(),
            "tmux new-session failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        // Captured rows lose their trailing blanks, the prompt's space with them.
        tmux.wait_for("the shell prompt", |s| {
            s.lines().any(|l| l.starts_with(PROMPT.trim_end()))
        });
        tmux
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// `tmux -L <socket>`, with the socket file inside the temp dir so nothing is left behind.
    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.env("TMUX_TMPDIR", self.dir.path().join("tmux"))
            .args(["-L", &self.socket]);
        cmd
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let out = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "main", "-l", text]);
    }

    fn type_line(&self, line: &str) {
        self.type_text(line);
        self.press("Enter");
    }

    /// Presses one key (a tmux key name such as `j`, `Enter`).
    fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "main", key]);
    }

    /// What the pane shows now, one screen row per line: the panes' borders line up, which
    /// `pane` needs, and a row the shell wrapped before the cockpit drew over it stays one row.
    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "main"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the pane until `ready` holds, for up to `deadline`; fails with the screen if not.
    fn wait_until(&self, deadline: Duration, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() > deadline {
                panic!(
                    "waited {deadline:?} for {what}; the pane shows:\n{}",
                    framed(&screen)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_until(DEADLINE, what, ready)
    }

    fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?} on the screen"), |s| s.contains(text))
    }

    /// In the picker titled `title`, moves the selection (`▶`) down to the option whose label
    /// starts with `label` and chooses it.
    fn pick(&self, title: &str, label: &str) {
        let mut screen = self.wait_for_text(title);
        for _ in 0..10 {
            let current = selected_option(&screen);
            if current.starts_with(label) {
                self.press("Enter");
                return;
            }
            self.press("j");
            screen = self.wait_for("the picker's selection to move", |s| {
                selected_option(s) != current
            });
        }
        panic!(
            "no option {label:?} in the picker {title:?}:\n{}",
            framed(&screen)
        );
    }

    /// Waits for the exit marker `EXITED-<run>:<code>` and returns the code.
    fn wait_for_exit(&self, run: &str) -> (i32, String) {
        let screen = self.wait_for(&format!("`EXITED-{run}:<code>`"), |s| {
            exit_code(s, run).is_some()
        });
        (exit_code(&screen, run).expect("just seen"), screen)
    }
}

/// The label of the picker option under `▶` (a modal's rows are framed by `║`).
fn selected_option(screen: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.split_once("║▶ "))
        .map(|(_, rest)| rest.split('║').next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

/// The code in `EXITED-<run>:<digits>` on the screen. The typed command line holds
/// `EXITED-<run>:$?`, which has no digit and is not counted.
fn exit_code(screen: &str, run: &str) -> Option<i32> {
    let marker = format!("EXITED-{run}:");
    screen.match_indices(&marker).find_map(|(at, _)| {
        let digits: String = screen[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    })
}

fn framed(screen: &str) -> String {
    let mut out = String::from("+----\n");
    for line in screen.lines() {
        out.push('|');
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("+----");
    out
}

/// The inside of the pane whose top border carries `title`, so what the Rollout or
/// Timeline pane says is not confused with the same words in the log. Empty when it is not
/// on the screen (a modal over its title, say).
fn pane(screen: &str, title: &str) -> String {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let title: Vec<char> = title.chars().collect();
    let found = lines.iter().enumerate().find_map(|(row, line)| {
        line.windows(title.len())
            .position(|w| w == title.as_slice())
            .map(|col| (row, col))
    });
    let Some((row, col)) = found else {
        return String::new();
    };
    let top = &lines[row];
    let Some(left) = top[..col].iter().rposition(|c| matches!(c, '┌' | '┏')) else {
        return String::new();
    };
    let right = top[col..]
        .iter()
        .position(|c| matches!(c, '┐' | '┓'))
        .map_or(top.len(), |i| col + i);
    let mut out = String::new();
    for line in &lines[row + 1..] {
        if line.get(left).is_none_or(|c| matches!(c, '└' | '┗')) {
            break;
        }
        let end = right.min(line.len());
        if left + 1 < end {
            out.extend(&line[left + 1..end]);
        }
        out.push('\n');
    }
    out
}

fn rollout_pane(screen: &str) -> String {
    pane(screen, "3 Rollout")
}

fn timeline_pane(screen: &str) -> String {
    pane(screen, "4 Timeline")
}

/// The status bar's second row: the window's minute, a fired trigger, the verdict.
fn status_row(screen: &str) -> &str {
    screen.lines().nth(1).unwrap_or_default()
}

/// The revision the Rollout pane marks current (`▶ rev N image ...`), when it runs `image`.
fn current_revision(screen: &str, image: &str) -> Option<u64> {
    let rollout = rollout_pane(screen);
    let current = rollout.lines().find(|l| l.starts_with("▶ rev"))?;
    let mut words = current.split_whitespace().skip(2);
    let revision = words.next()?.parse().ok()?;
    (words.next()? == image).then_some(revision)
}

/// The revision running `image` in the Rollout pane's list, current or not.
fn revision(screen: &str, image: &str) -> Option<u64> {
    rollout_pane(screen).lines().find_map(|l| {
        let mut words = l.trim_start_matches('▶').split_whitespace();
        if words.next()? != "rev" {
            return None;
        }
        let revision = words.next()?.parse().ok()?;
        (words.next()? == image).then_some(revision)
    })
}

/// kubectl says the rollout of `namespace` is done and the revision running `image` is the
/// current one.
fn rolled_out_to(screen: &str, namespace: &str, image: &str) -> bool {
    let rollout = rollout_pane(screen);
    rollout
        .lines()
        .any(|l| l.starts_with(&format!("deployment/deal-scout-api  {namespace}")))
        && rollout.lines().any(|l| l.trim_end() == ROLLED_OUT)
        && current_revision(screen, image).is_some()
}

/// The error rate gauge's value in percent and its status word, from the Timeline pane.
fn error_rate(screen: &str) -> Option<(f64, String)> {
    let timeline = timeline_pane(screen);
    let line = timeline.lines().find(|l| l.starts_with("error_rate "))?;
    let mut words = line.split_whitespace().skip(1);
    let value = words.next()?.strip_suffix('%')?.parse().ok()?;
    let status = words.find(|w| !w.starts_with('('))?.to_string();
    Some((value, status))
}

#[test]
fn the_errors_release_fires_the_trigger_and_one_key_rolls_it_back() {
    let started = Instant::now();
    let tmux = Tmux::start("errors");
    tmux.type_line(&format!(
        "release-cockpit demo --fresh --speed 60 --state-dir '{}'; echo EXITED-demo:$?",
        tmux.state_dir().display()
    ));
    tmux.wait_for("the demo's release and its staging rollout", |s| {
        s.contains("release 1.2.3 regular") && rolled_out_to(s, "staging", PREVIOUS)
    });

    // A new emergency release: one approval, no staging, straight to production.
    tmux.press("n");
    tmux.wait_for_text("Version (semver");
    tmux.type_line(VERSION);
    tmux.pick(&format!("Release type of {VERSION}"), "Emergency Release");
    tmux.wait_for_text(&format!("release {VERSION} emergency"));
    tmux.press("a");
    tmux.pick(&format!("Approve {VERSION} as"), "CTO (cto)");
    tmux.wait_for_text("Approver's name");
    tmux.type_line("Carla CTO");
    tmux.wait_for_text("Carla CTO approved as CTO");
    tmux.press("s");
    tmux.wait_for_text("Commit SHA");
    tmux.type_line(SHA);
    tmux.wait_for_text(&format!("set the commit to {SHA}"));
    tmux.press("e");
    tmux.pick("Environment", "production");
    // The baseline is taken from the gauges as the deploy starts: wait for production's.
    let screen = tmux.wait_for(
        "production's rollout and gauges, with the production gate open",
        |s| {
            s.contains("env production (protected)")
                && s.contains("prod OPEN")
                && rolled_out_to(s, "production", PREVIOUS)
                && timeline_pane(s).contains("production gauges")
                && error_rate(s).is_some()
        },
    );
    let before = current_revision(&screen, PREVIOUS).expect("just seen");

    tmux.press("D");
    tmux.wait_for_text(&format!("type \"production {VERSION}\" to confirm"));
    tmux.type_line(&format!("production {VERSION}"));
    let deployed = Instant::now();
    let screen = tmux.wait_until(
        SLOW_DEADLINE,
        "the error-rate trigger to fire, with its alert",
        |s| {
            s.contains("ROLLBACK TRIGGER: error rate above the rollback line")
                && status_row(s).contains("TRIGGER FIRED (U)")
        },
    );
    let to_trigger = deployed.elapsed();
    assert!(
        screen.contains("> 5.00% for ")
            && screen.contains("Roll production back to the previous revision now?"),
        "the alert should say what fired and offer the rollback:\n{}",
        framed(&screen)
    );

    // One key: the rollback is pre-filled with the trigger as its reason.
    tmux.press("y");
    let pressed = Instant::now();
    let screen = tmux.wait_until(
        SLOW_DEADLINE,
        "the rollback to bring 1.2.2 back as the current revision and end the release ROLLED \
         BACK",
        |s| {
            rolled_out_to(s, "production", PREVIOUS)
                && status_row(s).contains("ROLLED BACK")
                && timeline_pane(s).contains(&format!("Release {VERSION} ROLLED BACK"))
        },
    );
    let to_rolled_back = pressed.elapsed();
    let after = current_revision(&screen, PREVIOUS).expect("just seen");
    let bad = revision(&screen, BAD).unwrap_or_else(|| {
        panic!(
            "the Rollout pane should list {BAD}'s revision:\n{}",
            framed(&screen)
        )
    });
    assert!(
        before < bad && bad < after,
        "{PREVIOUS} (rev {before}), then {BAD} (rev {bad}), then the undo's new revision of \
         {PREVIOUS} (rev {after}):\n{}",
        framed(&screen)
    );

    // releases.log is appended once the conclusion is journaled, just after the screen says so.
    let log = tmux.state_dir().join("releases.log");
    let start = Instant::now();
    let records = loop {
        let (records, problems) = audit::read(&log).unwrap_or_default();
        assert!(
            problems.is_empty(),
            "releases.log has bad lines: {problems:?}"
        );
        if !records.is_empty() || start.elapsed() > DEADLINE {
            break records;
        }
        std::thread::sleep(POLL);
    };
    assert_eq!(
        records.len(),
        1,
        "releases.log should hold one line: {records:#?}\nthe pane shows:\n{}",
        framed(&screen)
    );
    let line = &records[0];
    assert_eq!(line.version, VERSION);
    assert_eq!(line.release_type, "emergency");
    assert_eq!(line.environment, "production");
    assert_eq!(line.outcome, "rolled_back", "{line:#?}");
    assert_eq!(line.commit_sha.as_deref(), Some(SHA), "{line:#?}");
    assert_eq!(line.image.as_deref(), Some(BAD), "{line:#?}");
    assert_eq!(line.approvers.len(), 1, "{line:#?}");
    assert_eq!(line.approvers[0].name, "Carla CTO", "{line:#?}");
    let rollback = line
        .rollback
        .as_ref()
        .unwrap_or_else(|| panic!("no rollback in the releases.log line: {line:#?}"));
    assert_eq!(
        rollback.method, "undo to the previous revision",
        "{line:#?}"
    );
    assert!(
        rollback
            .reason
            .starts_with("error rate above the rollback line: ")
            && rollback.reason.contains("> 5.00% for "),
        "the reason should be the trigger's: {:?}",
        rollback.reason
    );

    // With 1.2.2 serving again the error rate falls back under the threshold (the rate's
    // window is five polls, so it takes a few seconds).
    tmux.press("4");
    tmux.press("z");
    let recovered = Instant::now();
    let screen = tmux.wait_until(
        SLOW_DEADLINE,
        "the error rate gauge back under its threshold",
        |s| error_rate(s).is_some_and(|(v, status)| v < 1.0 && status == "ok"),
    );
    let to_recovered = recovered.elapsed();
    assert!(
        !timeline_pane(&screen).contains("BREACH"),
        "no gauge should breach once 1.2.2 serves again:\n{}",
        framed(&screen)
    );

    tmux.press("q");
    let (code, screen) = tmux.wait_for_exit("demo");
    assert_eq!(code, 0, "quitting should exit 0:\n{}", framed(&screen));
    eprintln!(
        "deploy to trigger {to_trigger:.1?}, y to ROLLED BACK {to_rolled_back:.1?}, gauges back \
         {to_recovered:.1?}, whole test {:.1?}",
        started.elapsed()
    );
}
