//! `releases.log`: one JSON line per finished release, the audit trail the procedure asks
//! for (commit SHA, image tag, deploy time, approvers, rollback used).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditApprover {
    pub role: String,
    pub name: String,
    pub at: DateTime<Utc>,
    /// Who entered it, when that was someone else (a proxy entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered_by: Option<String>,
    /// Whether a cluster vouched for the name that recorded it.
    #[serde(default)]
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub version: String,
    pub release_type: String,
    pub environment: String,
    pub commit_sha: Option<String>,
    pub image: Option<String>,
    pub deploy_started_at: Option<DateTime<Utc>>,
    /// When the deploy's rollout finished ("successfully rolled out"); `None` when it never
    /// did (deadline exceeded, rolled back mid-rollout). Older lines do not have it.
    #[serde(default)]
    pub rollout_finished_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
    /// "stable", "rolled_back", or "abandoned".
    pub outcome: String,
    pub approvers: Vec<AuditApprover>,
    /// `None` means no rollback; otherwise the method and the reason.
    pub rollback: Option<AuditRollback>,
    /// The sha256 of the journal's last entry when this line was written: it pins the
    /// journal's whole history (`audit --verify` checks it). Older lines do not have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_head: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRollback {
    pub method: String,
    pub reason: String,
}

pub fn append(path: &Path, record: &AuditRecord) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut line = serde_json::to_vec(record).expect("audit records serialise");
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()
}

/// Every readable record, and a message per line that is not one.
pub fn read(path: &Path) -> std::io::Result<(Vec<AuditRecord>, Vec<String>)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(r) => records.push(r),
            Err(e) => problems.push(format!(
                "{}:{}: not an audit record: {e}",
                path.display(),
                i + 1
            )),
        }
    }
    Ok((records, problems))
}

/// The human table `audit` prints.
pub fn render(records: &[AuditRecord]) -> String {
    let mut out = String::new();
    for r in records {
        let approvers: Vec<String> = r
            .approvers
            .iter()
            .map(|a| {
                let unverified = if a.verified { "" } else { ", unverified" };
                match &a.entered_by {
                    Some(by) => format!("{} ({}, entered by {by}{unverified})", a.name, a.role),
                    None => format!("{} ({}{unverified})", a.name, a.role),
                }
            })
            .collect();
        let rollback = match &r.rollback {
            None => "no rollback".to_string(),
            Some(rb) => format!("rollback by {}: {}", rb.method, rb.reason),
        };
        out.push_str(&format!(
            "{} {} [{}] {} -> {}\n  commit {}  image {}\n  deployed {}  rolled out {}  finished {}\n  approvers: {}\n  {}\n",
            r.version,
            r.release_type,
            r.environment,
            r.outcome,
            r.finished_at.format("%Y-%m-%d %H:%M:%S UTC"),
            r.commit_sha.as_deref().unwrap_or("-"),
            r.image.as_deref().unwrap_or("-"),
            r.deploy_started_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "-".into()),
            r.rollout_finished_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "-".into()),
            r.finished_at.format("%Y-%m-%d %H:%M:%S UTC"),
            if approvers.is_empty() { "-".to_string() } else { approvers.join(", ") },
            rollback,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// releases.log is append-only and outlives versions of the cockpit: a line written
    /// before the rollout time was recorded still reads, with that time unknown.
    #[test]
    fn a_line_without_the_rollout_time_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("releases.log");
        std::fs::write(
            &path,
            r#"{"version":"1.2.2","release_type":"regular","environment":"production","commit_sha":"abc","image":"deal-scout-api:1.2.2","deploy_started_at":"2026-11-10T10:02:00Z","finished_at":"2026-11-10T12:05:00Z","outcome":"stable","approvers":[],"rollback":null}
"#,
        )
        .unwrap();
        let (records, problems) = read(&path).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(records[0].rollout_finished_at, None);
        assert!(render(&records).contains("rolled out -  finished 2026-11-10 12:05:00 UTC"));
    }
}
