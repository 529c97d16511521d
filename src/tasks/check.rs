//! Running an item's check command: argv (never a shell), output streamed line by line,
//! a timeout, cancellation, and the whole output kept on disk with its digest.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::runner::{TaskCtx, TaskResult, describe_timeout};
use crate::release::event::CheckOutcome;

/// How much of the output the journal keeps; the rest is in the saved file.
const TAIL_BYTES: usize = 4096;
/// How much output is kept at all, so a runaway command cannot fill memory.
const MAX_OUTPUT: usize = 8 * 1024 * 1024;
/// After the command exits, how long its output may still arrive (a grandchild may hold
/// the pipe open; it is not waited for).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);

pub struct CheckRequest {
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// Where to save the full output, and how the journal names it (relative to the state dir).
    pub output_file: Option<(PathBuf, String)>,
}

fn spawn_reader<R: AsyncRead + Unpin + Send + 'static>(
    reader: R,
    lines: mpsc::UnboundedSender<String>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    // Output need not be UTF-8; keep reading either way.
                    let line = String::from_utf8_lossy(&buf)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

fn tail(s: &str) -> String {
    if s.len() <= TAIL_BYTES {
        return s.to_string();
    }
    let mut start = s.len() - TAIL_BYTES;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

/// Kills the command and everything it started (it runs in a process group of its own).
async fn kill_all(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill().await;
}

/// Runs the check to its end (or timeout, or cancel) as work for the TaskRunner: each
/// output line is reported as it comes, and the outcome is the result's detail.
pub async fn run(req: CheckRequest, ctx: TaskCtx<CheckOutcome>) -> TaskResult<CheckOutcome> {
    let line_ctx = ctx.clone();
    let outcome = run_argv(
        &req.argv,
        req.timeout,
        req.output_file.as_ref(),
        move |line| line_ctx.output(line),
        ctx.cancelled(),
    )
    .await;
    let summary = outcome.verdict();
    if outcome.passed() {
        TaskResult::ok(summary, outcome)
    } else {
        TaskResult::failed(summary, outcome)
    }
}

/// Runs `argv` (never through a shell) to its end, its timeout, or `cancel`, handing each
/// output line to `on_line`; the whole output is saved to `output_file` and digested.
pub async fn run_argv(
    argv: &[String],
    timeout: Duration,
    output_file: Option<&(PathBuf, String)>,
    on_line: impl Fn(String),
    cancel: impl std::future::Future<Output = ()>,
) -> CheckOutcome {
    let started = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return CheckOutcome {
            argv: Vec::new(),
            exit_code: None,
            error: Some("no command to run".into()),
            duration_ms: 0,
            output_sha256: hex::encode(Sha256::digest(b"")),
            output_tail: String::new(),
            output_file: None,
        };
    };
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut output = String::new();
    let mut error = None;
    let mut exit_code = None;
    let keep = |line: String, output: &mut String| {
        if output.len() < MAX_OUTPUT {
            output.push_str(&line);
            output.push('\n');
        }
        on_line(line);
    };
    match child {
        Err(e) => error = Some(format!("could not start {program}: {e}")),
        Ok(mut child) => {
            let (line_tx, mut line_rx) = mpsc::unbounded_channel();
            if let Some(out) = child.stdout.take() {
                spawn_reader(out, line_tx.clone());
            }
            if let Some(err) = child.stderr.take() {
                spawn_reader(err, line_tx.clone());
            }
            drop(line_tx);
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            tokio::pin!(cancel);
            loop {
                tokio::select! {
                    Some(line) = line_rx.recv() => keep(line, &mut output),
                    status = child.wait() => {
                        match status {
                            Ok(s) => {
                                exit_code = s.code();
                                if exit_code.is_none() {
                                    error = Some(format!("ended by a signal ({s})"));
                                }
                            }
                            Err(e) => error = Some(format!("could not wait for it: {e}")),
                        }
                        let drain = tokio::time::sleep(DRAIN_AFTER_EXIT);
                        tokio::pin!(drain);
                        loop {
                            tokio::select! {
                                line = line_rx.recv() => match line {
                                    Some(line) => keep(line, &mut output),
                                    None => break,
                                },
                                _ = &mut drain => break,
                            }
                        }
                        break;
                    }
                    _ = &mut deadline => {
                        kill_all(&mut child).await;
                        error = Some(format!("timed out after {}", describe_timeout(timeout)));
                        break;
                    }
                    _ = &mut cancel => {
                        kill_all(&mut child).await;
                        error = Some("cancelled".into());
                        break;
                    }
                }
            }
        }
    }
    let digest = Sha256::digest(output.as_bytes());
    let mut saved_as = None;
    if let Some((path, shown)) = output_file {
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(path, output.as_bytes()));
        match saved {
            Ok(()) => saved_as = Some(shown.clone()),
            Err(e) => tracing::warn!("could not save check output to {}: {e}", path.display()),
        }
    }
    CheckOutcome {
        argv: argv.to_vec(),
        exit_code,
        error,
        duration_ms: started.elapsed().as_millis() as u64,
        output_sha256: hex::encode(digest),
        output_tail: tail(&output),
        output_file: saved_as,
    }
}
