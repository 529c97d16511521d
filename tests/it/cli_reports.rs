//! What scripts and the audit read: `status --json` and `audit`.

use crate::common;

use std::process::{Command, Stdio};

use release_cockpit::release::audit::{self, AuditApprover, AuditRecord, AuditRollback};

const BIN: &str = env!("CARGO_BIN_EXE_release-cockpit");

fn cockpit(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .env_remove("RELEASE_COCKPIT_CONFIG")
        .env("XDG_CONFIG_HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn status_json_reports_release_checklist_and_gates_with_null_rollout_and_gauges() {
    let mut c = common::Cockpit::new("regular");
    c.tick("code-freeze");
    c.approve("team_lead", "Tess Lead");
    let out = cockpit(c.dir.path(), &["--release", "1.2.3", "status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["release"]["version"], "1.2.3");
    assert_eq!(doc["release"]["type"], "regular");
    assert_eq!(
        doc["release"]["approvals"]["team_lead"]["name"],
        "Tess Lead"
    );
    assert_eq!(
        doc["release"]["missing_approvals"],
        serde_json::json!([["engineer"]])
    );
    assert!(doc["rollout"].is_null() && doc.as_object().unwrap().contains_key("rollout"));
    assert!(doc["gauges"].is_null() && doc.as_object().unwrap().contains_key("gauges"));
    let week = &doc["checklist"][0];
    assert_eq!(week["id"], "week-before");
    assert_eq!(week["done"], 1);
    assert_eq!(week["items"][0]["status"], "done");
    assert_eq!(week["items"][0]["by"], "alice");
    assert_eq!(doc["gates"]["staging"]["status"], "blocked");
    assert_eq!(
        doc["gates"]["staging"]["blockers"][0]["message"],
        "4 open items in 1 Week Before Release"
    );
    let prod: Vec<&str> = doc["gates"]["production"]["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert!(prod.contains(&"missing_approval") && prod.contains(&"no_decision"));

    // Without --release it reports the release the cockpit had open last.
    let again = cockpit(c.dir.path(), &["status", "--json"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn status_stops_quietly_when_its_reader_goes_away() {
    let c = common::Cockpit::new("regular");
    // A pipe whose reading end is closed before the command starts: its first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .arg("--state-dir")
        .arg(c.dir.path())
        .args(["--release", "1.2.3", "status", "--json"])
        .env_remove("RELEASE_COCKPIT_CONFIG")
        .env("XDG_CONFIG_HOME", c.dir.path())
        .current_dir(c.dir.path())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn record(version: &str, rollback: Option<AuditRollback>) -> AuditRecord {
    AuditRecord {
        version: version.into(),
        release_type: "regular".into(),
        environment: "production".into(),
        commit_sha: Some("0123abcd".into()),
        image: Some(format!("deal-scout-api:{version}")),
        deploy_started_at: Some(common::at("2026-12-08T10:02:00Z")),
        rollout_finished_at: Some(common::at("2026-12-08T10:07:30Z")),
        finished_at: common::at("2026-12-08T12:05:00Z"),
        outcome: if rollback.is_some() {
            "rolled_back"
        } else {
            "stable"
        }
        .into(),
        approvers: vec![
            AuditApprover {
                role: "team_lead".into(),
                name: "Tess Lead".into(),
                at: common::at("2026-12-08T08:50:00Z"),
                entered_by: None,
                verified: true,
            },
            AuditApprover {
                role: "engineer".into(),
                name: "Eve Engineer".into(),
                at: common::at("2026-12-08T08:55:00Z"),
                entered_by: Some("alice".into()),
                verified: false,
            },
        ],
        rollback,
        journal_head: None,
    }
}

#[test]
fn audit_prints_each_release_with_sha_image_times_approvers_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("releases.log");
    audit::append(&log, &record("1.2.3", None)).unwrap();
    audit::append(
        &log,
        &record(
            "1.2.4",
            Some(AuditRollback {
                method: "undo".into(),
                reason: "error rate 8%".into(),
            }),
        ),
    )
    .unwrap();
    let out = cockpit(dir.path(), &["audit"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1.2.3 regular [production] stable"), "{text}");
    assert!(
        text.contains("commit 0123abcd  image deal-scout-api:1.2.3"),
        "{text}"
    );
    assert!(
        text.contains(
            "deployed 2026-12-08 10:02:00 UTC  rolled out 2026-12-08 10:07:30 UTC  \
             finished 2026-12-08 12:05:00 UTC"
        ),
        "{text}"
    );
    // A proxy entry names both, and a name no cluster vouched for says so.
    assert!(
        text.contains(
            "approvers: Tess Lead (team_lead), Eve Engineer (engineer, entered by alice, unverified)"
        ),
        "{text}"
    );
    assert!(text.contains("no rollback"), "{text}");
    assert!(text.contains("rollback by undo: error rate 8%"), "{text}");

    let only = cockpit(dir.path(), &["--release", "1.2.4", "audit", "--json"]);
    let records: Vec<AuditRecord> = serde_json::from_slice(&only.stdout).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].version, "1.2.4");

    let none = cockpit(dir.path(), &["--release", "9.9.9", "audit"]);
    assert!(
        String::from_utf8(none.stdout)
            .unwrap()
            .starts_with("no finished releases for 9.9.9")
    );
}
