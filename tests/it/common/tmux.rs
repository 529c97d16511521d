//! The real binary in a real terminal: a detached tmux session with a fixed size, one
//! private tmux server (`-L`) per test, and a temp dir for the state dir, the shell's cwd,
//! the XDG dirs and tmux's socket. Shared by the end-to-end tests (`e2e_*.rs`).
//!
//! tmux is required: if it is not on PATH these tests fail, they never skip.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BIN: &str = env!("CARGO_BIN_EXE_release-cockpit");
/// The prompt of the shell in the pane (set through the environment, so it is short and
/// the same whatever bash version CI has).
pub const PROMPT: &str = "$ ";
/// For the screen to react to a key or a start.
pub const DEADLINE: Duration = Duration::from_secs(15);
pub const POLL: Duration = Duration::from_millis(50);

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// How `screen` reads the pane.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// Lines the shell wrapped are joined back into one: text printed by a command is found
    /// whole whatever the width.
    Joined,
    /// One screen row per line: the panes' borders line up, which `pane` needs.
    Rows,
}

/// One tmux server running `bash` in a single pane. Dropping it kills the server (and with it
/// whatever still runs in the pane), also when the test fails half-way.
pub struct Tmux {
    socket: String,
    capture: Capture,
    /// Kept alive until the server is gone: holds the state dir, the shell's cwd, XDG dirs.
    pub dir: tempfile::TempDir,
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
            "`tmux -V` failed ({}): {}; the end-to-end tests need a working tmux",
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
    /// Starts a private tmux server with `bash --norc --noprofile` in a `width`x`height`
    /// pane, the binary's dir first on PATH, and waits for the prompt.
    pub fn start(test: &str, width: u16, height: u16, capture: Capture) -> Tmux {
        require_tmux();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let socket = format!(
            "rc-e2e-{}-{}-{}-{nanos}",
            test,
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::SeqCst)
        );
        let dir = tempfile::tempdir().expect("create a temp dir");
        for sub in ["state", "work", "xdg-config", "tmux"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a dir in the temp dir");
        }
        // The guard exists before the server does, so a failure below still kills it.
        let tmux = Tmux {
            socket,
            capture,
            dir,
        };

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
        // A fresh tmux server copies its environment from this process, and the pane's shell
        // gets it from the server. (tmux sets the first pane's PATH from the client, so PATH
        // in particular has to be set here rather than with `new-session -e`.)
        let out = tmux
            .command()
            .args(["-f", "/dev/null", "-u"])
            .args(["new-session", "-d", "-s", "main"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg("-c")
            .arg(tmux.work_dir())
            // As separate words tmux runs bash itself, not through `sh -c` (which may drop
            // PS1 from the environment).
            .args(["bash", "--norc", "--noprofile"])
            .env("PATH", path)
            .env("PS1", PROMPT)
            .env("RELEASE_COCKPIT_USER", "alice")
            .env("RELEASE_COCKPIT_CONFIG", "")
            .env("XDG_CONFIG_HOME", tmux.xdg_dir())
            // A short panic report that fits on the screen.
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .env_remove("RELEASE_COCKPIT_TEST_PANIC")
            .env_remove("RELEASE_COCKPIT_LOG")
            .env_remove("NO_COLOR")
            // Only the test decides which cluster the cockpit talks to.
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

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn xdg_dir(&self) -> PathBuf {
        self.dir.path().join("xdg-config")
    }

    /// The state dir quoted for the shell in the pane.
    pub fn quoted_state_dir(&self) -> String {
        let s = self.state_dir().display().to_string();
        assert!(!s.contains('\''), "temp dir path {s:?} has a quote");
        format!("'{s}'")
    }

    /// `tmux -L <socket>`, with the socket file inside the temp dir so nothing is left behind.
    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.env("TMUX_TMPDIR", self.dir.path().join("tmux"))
            .args(["-L", &self.socket]);
        cmd
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
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

    /// Types a command line into the pane's shell and presses Enter.
    pub fn type_line(&self, line: &str) {
        self.type_text(line);
        self.press("Enter");
    }

    /// Types text literally (no key names).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "main", "-l", text]);
    }

    /// Presses one key (a tmux key name such as `j`, `Space`, `Enter`, `F12`).
    pub fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "main", key]);
    }

    /// What the pane shows now, read the way this session was started with.
    pub fn screen(&self) -> String {
        match self.capture {
            Capture::Joined => self.capture(&["-J"]),
            Capture::Rows => self.rows(),
        }
    }

    /// What the pane shows now, one screen row per line.
    pub fn rows(&self) -> String {
        self.capture(&[])
    }

    fn capture(&self, extra: &[&str]) -> String {
        let mut args = vec!["capture-pane", "-p"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-t", "main"]);
        String::from_utf8_lossy(&self.tmux(&args).stdout).into_owned()
    }

    /// Polls the pane until `ready` holds, for up to `deadline`; fails with the screen if not.
    pub fn wait_until(
        &self,
        deadline: Duration,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() > deadline {
                // Row by row, unjoined: a line the shell wrapped keeps its wrap flag after the
                // cockpit draws over it, and would otherwise show as one endless row.
                panic!(
                    "waited {deadline:?} for {what}; the pane shows:\n{}",
                    framed(&self.rows())
                );
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_until(DEADLINE, what, ready)
    }

    pub fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?} on the screen"), |s| s.contains(text))
    }

    /// Waits for the exit marker `EXITED-<run>:<code>` a command line typed with
    /// `exit_marker(run)` prints, and returns the code. Each run has its own marker: what a
    /// program killed in the alternate screen leaves there is not on the normal screen.
    pub fn wait_for_exit(&self, run: &str) -> (i32, String) {
        let screen = self.wait_for(&format!("`EXITED-{run}:<code>`"), |s| {
            exit_code(s, run).is_some()
        });
        (exit_code(&screen, run).expect("just seen"), screen)
    }

    /// In the picker titled `title`, moves the selection (`▶`) down to the option whose label
    /// starts with `label` and chooses it.
    pub fn pick(&self, title: &str, label: &str) {
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

    /// The pid of the program the pane's shell runs in the foreground (its only child).
    pub fn foreground_child(&self) -> u32 {
        let out = self.tmux(&["list-panes", "-t", "main", "-F", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children = Command::new("pgrep")
            .args(["-P", &shell])
            .output()
            .expect("pgrep runs (tests/run.sh installs procps)");
        let pids: Vec<u32> = String::from_utf8_lossy(&children.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        assert_eq!(
            pids.len(),
            1,
            "the pane's shell (pid {shell}) should run exactly one child, the cockpit; \
             it runs {pids:?}"
        );
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", pids[0])).unwrap_or_default();
        assert_eq!(
            comm.trim(),
            "release-cockpit",
            "the shell's child {} is not the cockpit",
            pids[0]
        );
        pids[0]
    }

    /// Whether tmux still has the pane and the shell in it is running.
    pub fn pane_alive(&self) -> bool {
        let out = self.tmux(&["list-panes", "-t", "main", "-F", "#{pane_dead}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    }
}

/// What a command line ending in `exit_marker(run)` prints once the command is done.
pub fn exit_marker(run: &str) -> String {
    format!("echo EXITED-{run}:$?")
}

/// The code in `EXITED-<run>:<digits>` on the screen. The typed command line holds
/// `EXITED-<run>:$?`, which has no digit and is not counted.
pub fn exit_code(screen: &str, run: &str) -> Option<i32> {
    let marker = format!("EXITED-{run}:");
    screen.match_indices(&marker).find_map(|(at, _)| {
        let digits: String = screen[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    })
}

/// The screen between rules, each row behind a `|`, for a failure message.
pub fn framed(screen: &str) -> String {
    let mut out = String::from("+----\n");
    for line in screen.lines() {
        out.push('|');
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("+----");
    out
}

/// The label of the picker option under `▶` (a modal's rows are framed by `║`).
pub fn selected_option(screen: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.split_once("║▶ "))
        .map(|(_, rest)| rest.split('║').next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

/// The inside of the pane whose top border carries `title`, so what the Rollout or
/// Timeline pane says is not confused with the same words in the log or the runbook. Empty
/// when it is not on the screen (a modal over its title, say).
pub fn pane(screen: &str, title: &str) -> String {
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
