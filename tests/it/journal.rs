//! The journal keeps every acknowledged event through a SIGKILL, and handles a torn last
//! line by keeping the valid prefix and saying so.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use release_cockpit::config::Config;
use release_cockpit::release::event::Event;
use release_cockpit::release::journal::{self, Journal, JournalError, chain};
use release_cockpit::release::store::{StateDir, parse_version};

const BIN: &str = env!("CARGO_BIN_EXE_release-cockpit");

fn create_release(dir: &std::path::Path) -> std::path::PathBuf {
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

/// Runs `record` as a child, feeding tick/untick pairs, and SIGKILLs it after `acks` acks.
/// Returns the acknowledged entries' (seq, item, type) as the child printed them.
fn write_then_kill(dir: &std::path::Path, acks: usize) -> Vec<serde_json::Value> {
    let store = StateDir::new(dir);
    let (state, _) = store
        .read(&Config::embedded(), &parse_version("1.2.3").unwrap())
        .unwrap();
    let start_ticked = state.item("changelog").status.is_settled();
    let mut child = Command::new(BIN)
        .args(["--state-dir"])
        .arg(dir)
        .args(["--release", "1.2.3", "--user", "ci-bot", "record"])
        .env_remove("RELEASE_COCKPIT_CONFIG")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        // Alternate so every event is allowed by the rules; stop when the child dies.
        for i in 0.. {
            let line = if (i % 2 == 0) != start_ticked {
                "{\"type\":\"item_ticked\",\"item\":\"changelog\"}\n"
            } else {
                "{\"type\":\"item_unticked\",\"item\":\"changelog\"}\n"
            };
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < acks {
        let mut line = String::new();
        assert!(Instant::now() < deadline, "the writer is too slow");
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
            panic!("the writer stopped after {} acks: {err}", acked.len());
        }
        acked.push(serde_json::from_str(&line).unwrap());
    }
    child.kill().unwrap(); // SIGKILL on Unix: no chance to flush or clean up
    child.wait().unwrap();
    feeder.join().unwrap();
    acked
}

#[test]
fn every_acknowledged_event_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = create_release(dir.path());
    let mut all_acked = Vec::new();
    // Kill at several points; each restart appends after what the last run left.
    for acks in [1, 37, 150, 5] {
        all_acked.extend(write_then_kill(dir.path(), acks));
        let opened = Journal::open(&path, "1.2.3").expect("the journal opens after a kill");
        let entries = opened.contents.entries;
        drop(opened.journal);
        for ack in &all_acked {
            let seq = ack["seq"].as_u64().unwrap();
            let entry = &entries[(seq - 1) as usize];
            assert_eq!(
                serde_json::to_value(entry).unwrap(),
                *ack,
                "event {seq} differs"
            );
        }
        // Numbering stays gapless across kills and restarts.
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1);
        }
    }
    assert!(all_acked.len() >= 193);
}

#[test]
fn a_torn_last_line_is_reported_and_the_valid_prefix_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = create_release(dir.path());
    {
        let mut j = Journal::open(&path, "1.2.3").unwrap().journal;
        for item in ["code-freeze", "changelog"] {
            j.append(
                &"alice".into(),
                common::at(common::START),
                Event::ItemTicked { item: item.into() },
            )
            .unwrap();
        }
    }
    // Power loss in the middle of the fourth line.
    let torn = b"{\"seq\":4,\"at\":\"2026-11-26T11:00:00Z\",\"by\":\"alice\",\"type\":\"item_tick";
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(torn)
        .unwrap();

    let opened = Journal::open(&path, "1.2.3").unwrap();
    let recovery = opened.recovery.clone().expect("the damage is reported");
    assert_eq!(recovery.line, 4);
    assert_eq!(recovery.kept_events, 3);
    assert!(
        recovery.to_string().contains("kept the 3 events before it"),
        "{recovery}"
    );
    assert_eq!(
        std::fs::read(&recovery.saved_to).unwrap(),
        torn,
        "the torn bytes are kept aside"
    );
    assert_eq!(opened.contents.entries.len(), 3);
    // Appending goes on from the valid prefix, with the next number.
    let mut j = opened.journal;
    let e = j
        .append(
            &"alice".into(),
            common::at(common::START),
            Event::ItemTicked {
                item: "merge-prs".into(),
            },
        )
        .unwrap();
    assert_eq!(e.seq, 4);
    drop(j);
    let (contents, warning) = journal::read(&path, "1.2.3").unwrap();
    assert_eq!(contents.entries.len(), 4);
    assert_eq!(warning, None);
}

#[test]
fn the_cockpit_shows_the_recovery_when_it_opens_a_torn_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = create_release(dir.path());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"{\"seq\":2,\"at\":")
        .unwrap();
    let c = common::Cockpit::open_in(dir, Config::embedded(), "1.2.3", "regular");
    let warnings: Vec<&str> = c
        .app
        .log
        .iter()
        .filter(|l| l.level == release_cockpit::app::Level::Warn)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("the journal's last line (2) was cut short"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_whole_last_event_missing_only_its_line_end_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = create_release(dir.path());
    // Written as the journal writes it, naming the creation line: whole, but for its end.
    let text = std::fs::read_to_string(&path).unwrap();
    let prev = chain::hash_line(text.trim_end_matches('\n').as_bytes());
    let line = format!(
        "{{\"seq\":2,\"prev\":\"{prev}\",\"at\":\"2026-11-26T11:00:00Z\",\"by\":\"alice\",\"type\":\"item_ticked\",\"item\":\"changelog\"}}"
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let opened = Journal::open(&path, "1.2.3").unwrap();
    assert!(opened.recovery.is_none());
    assert_eq!(opened.contents.entries.len(), 2);
    drop(opened);
    assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
}

#[test]
fn damage_before_the_last_line_is_refused_with_its_line_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = create_release(dir.path());
    {
        let mut j = Journal::open(&path, "1.2.3").unwrap().journal;
        j.append(
            &"alice".into(),
            common::at(common::START),
            Event::ItemTicked {
                item: "changelog".into(),
            },
        )
        .unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let damaged = text.replacen("\"seq\":1", "\"seq\":X", 1);
    std::fs::write(&path, &damaged).unwrap();
    match Journal::open(&path, "1.2.3") {
        Err(JournalError::Corrupt { line, .. }) => assert_eq!(line, 1),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a damaged journal was opened"),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), damaged);
}

#[test]
fn a_release_open_in_one_cockpit_cannot_be_opened_for_writing_in_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = create_release(dir.path());
    let first = Journal::open(&path, "1.2.3").unwrap();
    match Journal::open(&path, "1.2.3") {
        Err(JournalError::Locked { .. }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened twice"),
    }
    // Readers (status, a pair reviewer's view) are not locked out.
    assert_eq!(journal::read(&path, "1.2.3").unwrap().0.entries.len(), 1);
    drop(first);
    assert!(Journal::open(&path, "1.2.3").is_ok());
}

/// The file journal through the suite every journal store must pass.
struct FileUnderTest {
    dir: tempfile::TempDir,
}

impl release_cockpit::release::journal::conformance::StoreUnderTest for FileUnderTest {
    type Store = Journal;

    fn create(
        &mut self,
        by: &release_cockpit::release::identity::Author,
        at: chrono::DateTime<chrono::Utc>,
        first: Event,
    ) -> Journal {
        Journal::create(&self.dir.path().join("1.2.3.jsonl"), "1.2.3", by, at, first)
            .unwrap()
            .0
    }

    fn reopen(&mut self) -> Journal {
        Journal::open(&self.dir.path().join("1.2.3.jsonl"), "1.2.3")
            .unwrap()
            .journal
    }

    fn second_writer(&mut self) -> Result<Journal, JournalError> {
        Journal::open(&self.dir.path().join("1.2.3.jsonl"), "1.2.3").map(|o| o.journal)
    }

    fn shared(&self) -> bool {
        false
    }

    fn release(&self) -> String {
        "1.2.3".into()
    }
}

#[tokio::test]
async fn the_file_journal_passes_the_store_conformance_suite() {
    release_cockpit::release::journal::conformance::run(FileUnderTest {
        dir: tempfile::tempdir().unwrap(),
    })
    .await;
}
