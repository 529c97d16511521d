//! `record`, the scripts' way in: each event stamped with the caller's identity and held to
//! the cockpit's rules, and none of what a person must do at the cockpit while it watches
//! the release (concluding it, acknowledging a checkpoint, arming auto-rollback).

use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use release_cockpit::config::Config;
use release_cockpit::release::journal;
use release_cockpit::release::store::{StateDir, parse_version};

const BIN: &str = env!("CARGO_BIN_EXE_release-cockpit");

fn new_release(dir: &std::path::Path) -> std::path::PathBuf {
    let store = StateDir::new(dir);
    let v = parse_version("1.2.3").unwrap();
    store
        .open_or_create(
            &Config::embedded(),
            &v,
            "regular",
            &"alice".into(),
            common::at(common::START),
        )
        .unwrap();
    store.journal_path(&v)
}

/// `record` as `user`, with no cluster to ask (a kubeconfig that does not exist).
fn record(dir: &std::path::Path, extra: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("--state-dir")
        .arg(dir)
        .args(["--release", "1.2.3", "--user", "ci-bot"])
        .args(extra)
        .arg("record")
        .env_remove("RELEASE_COCKPIT_CONFIG")
        .env("KUBECONFIG", dir.join("no-such-kubeconfig"))
        .env("XDG_CONFIG_HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_script_records_as_its_claimed_name_marked_unverified() {
    let dir = tempfile::tempdir().unwrap();
    let path = new_release(dir.path());
    let out = record(
        dir.path(),
        &[],
        "{\"type\":\"item_ticked\",\"item\":\"changelog\"}\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no cluster said who you are; recording as ci-bot (unverified)"),
        "{stderr}"
    );
    let (contents, _) = journal::read(&path, "1.2.3").unwrap();
    let last = contents.entries.last().unwrap();
    assert_eq!(last.by, "ci-bot");
    assert_eq!(last.verified_by, None);
}

#[test]
fn a_script_cannot_conclude_acknowledge_arm_or_approve_for_someone_else() {
    let dir = tempfile::tempdir().unwrap();
    let path = new_release(dir.path());
    let refused = [
        (
            "{\"type\":\"concluded\",\"verdict\":\"stable\"}",
            "a release is concluded in the cockpit, which stops the soak window's checks, \
             triggers and auto-rollback with it",
        ),
        (
            "{\"type\":\"checkpoint_acknowledged\",\"at_minutes\":5}",
            "a checkpoint is acknowledged by a person looking at it in the cockpit",
        ),
        (
            "{\"type\":\"auto_rollback_set\",\"armed\":true}",
            "auto-rollback is armed or disarmed in the cockpit that would carry it out",
        ),
        (
            "{\"type\":\"approved\",\"role\":\"team_lead\",\"name\":\"Tess Lead\"}",
            "you are ci-bot (unverified): an approval is recorded by the approver, so Tess \
             Lead must record it as themselves",
        ),
    ];
    for (line, why) in refused {
        let out = record(dir.path(), &[], &format!("{line}\n"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        assert!(
            stderr.contains(&format!("stdin:1: refused: {why}")),
            "{line}: {stderr}"
        );
    }
    let (contents, _) = journal::read(&path, "1.2.3").unwrap();
    assert_eq!(
        contents.entries.len(),
        1,
        "nothing but the creation was written"
    );
}

#[test]
fn a_context_override_must_name_an_environment() {
    let dir = tempfile::tempdir().unwrap();
    new_release(dir.path());
    let out = record(dir.path(), &["--context", "prod=x"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "--context prod=x: there is no environment \"prod\" (the config has: production, staging)"
        ),
        "{stderr}"
    );
    let out = record(dir.path(), &["--context", "production"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not ENV=CONTEXT"));
}

/// Against a cluster, the entry is the API server's user, whatever `--user` says: the
/// context chosen for production (`--context`) in the kubeconfig given (`--kubeconfig`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_cluster_a_script_records_as_the_user_its_api_server_says() {
    let running = crate::common::cluster::sandbox(1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let path = new_release(dir.path());
    let kubeconfig = dir.path().join("sandbox.kubeconfig");
    cockpit_sandbox::kubeconfig::write(
        &kubeconfig,
        &running.kubeconfig_server(),
        &[("staging", "staging"), ("production", "production")],
        running.sandbox.users(),
    )
    .unwrap();
    let root = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        record(
            &root,
            &[
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "--context",
                "production=reviewer@production",
                "--context",
                "staging=reviewer@staging",
            ],
            "{\"type\":\"item_ticked\",\"item\":\"changelog\"}\n",
        )
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("unverified"), "{stderr}");
    let (contents, _) = journal::read(&path, "1.2.3").unwrap();
    let last = contents.entries.last().unwrap();
    assert_eq!(last.by, "reviewer");
    assert_eq!(last.verified_by.as_deref(), Some("production"));
}
