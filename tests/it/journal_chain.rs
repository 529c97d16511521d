//! The hash chain shows an edit: real journals made through the store, then changed on disk
//! as someone covering their tracks would, must be refused by the cockpit's opening, by
//! `StateDir::verify` and by `audit --verify`, each naming the entry where the chain breaks.

use crate::common;

use std::path::{Path, PathBuf};

use release_cockpit::config::Config;
use release_cockpit::release::audit::{self, AuditRecord};
use release_cockpit::release::event::{Entry, Event};
use release_cockpit::release::journal::chain::{self, ChainStatus};
use release_cockpit::release::journal::{JournalError, JournalStore};
use release_cockpit::release::store::{StateDir, StoreError, parse_version};

fn v(s: &str) -> semver::Version {
    parse_version(s).unwrap()
}

fn open(
    dir: &Path,
    version: &str,
) -> Result<release_cockpit::release::store::OpenRelease, StoreError> {
    StateDir::new(dir).open_or_create(
        &Config::embedded(),
        &v(version),
        "regular",
        &"alice".into(),
        common::at(common::START),
    )
}

/// Release 1.2.3 with seven entries (creation, ticks, an approval), written by the store;
/// returns the journal's path and its head.
fn release(dir: &Path) -> (PathBuf, String) {
    let mut opened = open(dir, "1.2.3").unwrap();
    let events = [
        Event::ItemTicked {
            item: "code-freeze".into(),
        },
        Event::Approved {
            role: "team_lead".into(),
            name: "Tess Lead".into(),
        },
        Event::ItemTicked {
            item: "changelog".into(),
        },
        Event::ItemTicked {
            item: "merge-prs".into(),
        },
        Event::ItemTicked {
            item: "security-scan".into(),
        },
        Event::ItemUnticked {
            item: "changelog".into(),
        },
    ];
    for event in events {
        opened
            .journal
            .append(&"alice".into(), common::at(common::START), event)
            .unwrap();
    }
    let head = opened.journal.head().unwrap();
    (StateDir::new(dir).journal_path(&v("1.2.3")), head)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn entry(line: &str) -> Entry {
    serde_json::from_str(line).unwrap()
}

fn line(entry: &Entry) -> String {
    serde_json::to_string(entry).unwrap()
}

/// The pin a concluded release leaves in releases.log.
fn pin(dir: &Path, version: &str, head: &str) {
    let record = AuditRecord {
        version: version.into(),
        release_type: "regular".into(),
        environment: "production".into(),
        commit_sha: None,
        image: None,
        deploy_started_at: None,
        rollout_finished_at: None,
        finished_at: common::at(common::START),
        outcome: "stable".into(),
        approvers: Vec::new(),
        rollback: None,
        journal_head: Some(head.into()),
    };
    audit::append(&dir.join("releases.log"), &record).unwrap();
}

/// The opening, the verifier and the real `audit --verify` all refuse the journal with
/// `message`, and leave it as it was.
fn refused_everywhere(dir: &Path, path: &Path, message: &str) {
    let before = std::fs::read(path).unwrap();
    match open(dir, "1.2.3") {
        Err(e) => assert!(
            e.to_string().contains(message),
            "the opening says {e}, not {message:?}"
        ),
        Ok(_) => panic!("the cockpit opened an edited journal"),
    }
    match StateDir::new(dir).verify(&Config::embedded(), &v("1.2.3")) {
        Err(e) => assert!(e.to_string().contains(message), "verify says {e}"),
        Ok(verified) => panic!("verify passed an edited journal: {verified}"),
    }
    for args in [
        &["audit", "--verify"][..],
        &["--release", "1.2.3", "audit", "--verify"],
    ] {
        let out = common::run_binary(dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stdout.contains("1.2.3: FAILED: "), "{args:?}: {stdout}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "one line, not a report: {stderr}"
        );
    }
    assert_eq!(std::fs::read(path).unwrap(), before, "left as it is");
}

/// Opening refuses with a broken chain at entry `seq`.
fn broken_at(dir: &Path, seq: u64) {
    match open(dir, "1.2.3") {
        Err(StoreError::Journal(JournalError::Broken { broken, .. })) => {
            assert_eq!(broken.seq(), seq, "{broken}");
        }
        Err(e) => panic!("refused, but not as a broken chain: {e}"),
        Ok(_) => panic!("opened"),
    }
}

#[test]
fn an_intact_journal_verifies_and_audit_verify_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (path, head) = release(dir.path());
    let verified = StateDir::new(dir.path())
        .verify(&Config::embedded(), &v("1.2.3"))
        .unwrap();
    assert_eq!(verified.entries, 7);
    assert_eq!(verified.chain, ChainStatus::Chained { head: head.clone() });
    assert_eq!(verified.state.approvals["team_lead"].name, "Tess Lead");
    assert_eq!(verified.pinned, None);
    // The head is the last line's hash, as written.
    assert_eq!(head, chain::hash_line(lines(&path)[6].as_bytes()));
    let reopened = open(dir.path(), "1.2.3").unwrap();
    assert_eq!(reopened.chain, ChainStatus::Chained { head: head.clone() });
    assert_eq!(reopened.notice(), None);
    drop(reopened);

    let out = common::run_binary(dir.path(), &["audit", "--verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        format!(
            "1.2.3: 7 entries, chain intact, head {}, no releases.log line pins it\n",
            chain::short(&head)
        )
    );

    pin(dir.path(), "1.2.3", &head);
    let out = common::run_binary(dir.path(), &["--release", "1.2.3", "audit", "--verify"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(", pinned by releases.log\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn an_edited_line_is_refused_at_the_entry_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let mut l = lines(&path);
    assert!(l[2].contains("Tess Lead"));
    l[2] = l[2].replace("Tess Lead", "Mallory");
    write_lines(&path, &l);
    broken_at(dir.path(), 4);
    refused_everywhere(
        dir.path(),
        &path,
        "entry 4 does not follow entry 3 (it names",
    );
    refused_everywhere(
        dir.path(),
        &path,
        "the journal was edited; it was left as it is",
    );
}

#[test]
fn a_removed_line_is_refused_naming_the_entries_either_side() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let mut l = lines(&path);
    l.remove(3);
    write_lines(&path, &l);
    broken_at(dir.path(), 5);
    refused_everywhere(dir.path(), &path, "entry 5 does not follow entry 3");
}

#[test]
fn a_reordered_pair_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let mut l = lines(&path);
    l.swap(3, 4);
    write_lines(&path, &l);
    broken_at(dir.path(), 5);
    refused_everywhere(dir.path(), &path, "entry 5 does not follow entry 3");
}

#[test]
fn an_inserted_line_with_a_right_number_is_refused_though_it_names_its_predecessor() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let mut l = lines(&path);
    // An approval slipped in after entry 3, linked to it properly; the lines after it are
    // renumbered so the numbering has no gap.
    let forged = Entry {
        seq: 4,
        prev: Some(chain::hash_line(l[2].as_bytes())),
        event: Event::Approved {
            role: "engineer".into(),
            name: "Eve Engineer".into(),
        },
        ..entry(&l[2])
    };
    for later in l.iter_mut().skip(3) {
        let mut e = entry(later);
        e.seq += 1;
        *later = line(&e);
    }
    l.insert(3, line(&forged));
    write_lines(&path, &l);
    broken_at(dir.path(), 5);
    refused_everywhere(dir.path(), &path, "entry 5 does not follow entry 4");
}

#[test]
fn a_creation_line_naming_another_version_is_refused_at_entry_1() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let mut l = lines(&path);
    assert!(l[0].contains("\"version\":\"1.2.3\""), "{}", l[0]);
    l[0] = l[0].replace("\"version\":\"1.2.3\"", "\"version\":\"1.2.4\"");
    write_lines(&path, &l);
    broken_at(dir.path(), 1);
    refused_everywhere(
        dir.path(),
        &path,
        "entry 1 creates release 1.2.4, but this is the journal of 1.2.3",
    );
}

#[test]
fn another_releases_journal_under_this_name_is_refused_at_entry_1() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let other = open(dir.path(), "1.2.4").unwrap();
    let other_path = other.journal.path().to_path_buf();
    drop(other);
    std::fs::copy(&other_path, &path).unwrap();
    broken_at(dir.path(), 1);
    refused_everywhere(dir.path(), &path, "entry 1 creates release 1.2.4");
}

/// A power loss leaves a last line that does not parse, and that is recovered; a whole
/// last line that parses but names the wrong entry was written by someone, not cut short.
#[test]
fn a_whole_last_line_that_breaks_the_chain_is_refused_not_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let mut l = lines(&path);
    let mut last = entry(&l[6]);
    last.prev = Some(chain::genesis("something else"));
    l[6] = line(&last);
    write_lines(&path, &l);
    broken_at(dir.path(), 7);
    refused_everywhere(dir.path(), &path, "entry 7 does not follow entry 6");
    assert!(
        !std::fs::read_dir(path.parent().unwrap()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".torn-")),
        "nothing was cut off as torn"
    );
}

#[test]
fn a_line_without_a_link_after_chained_ones_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = release(dir.path());
    let mut l = lines(&path);
    let unlinked = Entry {
        seq: 8,
        prev: None,
        ..entry(&l[6])
    };
    l.push(line(&unlinked));
    write_lines(&path, &l);
    broken_at(dir.path(), 8);
    refused_everywhere(
        dir.path(),
        &path,
        "entry 8 does not name entry 7, though every entry from 1 on names the one before it",
    );
}

#[test]
fn a_journal_rewritten_with_a_fresh_chain_fails_against_the_head_releases_log_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let (path, head) = release(dir.path());
    pin(dir.path(), "1.2.3", &head);
    // The approver changed, and every link after it recomputed: the chain holds.
    let mut prev = chain::genesis("1.2.3");
    let rewritten: Vec<String> = lines(&path)
        .iter()
        .map(|l| {
            let mut e = entry(&l.replace("Tess Lead", "Mallory"));
            e.prev = Some(prev.clone());
            let text = line(&e);
            prev = chain::hash_line(text.as_bytes());
            text
        })
        .collect();
    write_lines(&path, &rewritten);
    assert!(release_cockpit::release::journal::read(&path, "1.2.3").is_ok());
    let message = format!(
        "releases.log pins head {head} for 1.2.3, which no entry of its journal hashes to: the journal was rewritten"
    );
    refused_everywhere(dir.path(), &path, &message);
}

#[test]
fn entries_appended_after_the_pin_still_verify_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (_, head) = release(dir.path());
    pin(dir.path(), "1.2.3", &head);
    let mut opened = open(dir.path(), "1.2.3").unwrap();
    opened
        .journal
        .append(
            &"alice".into(),
            common::at(common::START),
            Event::ItemTicked {
                item: "db-backup".into(),
            },
        )
        .unwrap();
    drop(opened);
    let verified = StateDir::new(dir.path())
        .verify(&Config::embedded(), &v("1.2.3"))
        .unwrap();
    assert_eq!(verified.pinned, Some(7));
    assert!(
        verified
            .to_string()
            .ends_with("pinned by releases.log at entry 7 (1 entries after it)"),
        "{verified}"
    );
}

/// 1.2.2 as a cockpit before the chain wrote it: no entry has `prev`.
fn unchained_fixture(dir: &Path) -> PathBuf {
    let path = dir.join("releases").join("1.2.2.jsonl");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        concat!(
            r#"{"seq":1,"at":"2026-11-10T09:00:00Z","by":"alice","type":"release_created","version":"1.2.2","release_type":"regular"}"#,
            "\n",
            r#"{"seq":2,"at":"2026-11-10T09:05:00Z","by":"alice","type":"item_ticked","item":"code-freeze"}"#,
            "\n",
            r#"{"seq":3,"at":"2026-11-10T09:10:00Z","by":"alice","type":"approved","role":"team_lead","name":"Tess Lead"}"#,
            "\n",
        ),
    )
    .unwrap();
    path
}

#[test]
fn an_old_unchained_journal_opens_and_is_reported_unchained() {
    let dir = tempfile::tempdir().unwrap();
    let path = unchained_fixture(dir.path());
    let verified = StateDir::new(dir.path())
        .verify(&Config::embedded(), &v("1.2.2"))
        .unwrap();
    assert_eq!(verified.chain, ChainStatus::Unchained);
    assert_eq!(verified.state.approvals["team_lead"].name, "Tess Lead");

    let out = common::run_binary(dir.path(), &["audit", "--verify"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1.2.2: unchained (written before the hash chain); not verifiable\n"
    );
    let out = common::run_binary(dir.path(), &["--release", "1.2.2", "status"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("journal: unchained (written before the hash chain); not verifiable"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = common::run_binary(dir.path(), &["--release", "1.2.2", "status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["journal_chain"]["chain"], "unchained");

    // The cockpit opens it (through the runtime, as the release menu does) and says so.
    let mut c = common::Cockpit::open_in(dir, Config::embedded(), "1.2.3", "regular");
    c.rt.run_command(
        &mut c.app,
        release_cockpit::app::Command::OpenRelease {
            version: "1.2.2".into(),
            release_type: String::new(),
        },
    );
    assert_eq!(c.app.release.as_ref().unwrap().version, "1.2.2");
    assert!(
        c.app
            .log
            .iter()
            .any(|l| l.level == release_cockpit::app::Level::Warn
                && l.text.contains("written before the hash chain")),
        "{:?}",
        c.app.log.iter().map(|l| &l.text).collect::<Vec<_>>()
    );
    assert!(path.is_file());
}

#[test]
fn appending_to_an_old_journal_starts_the_chain_there_and_it_must_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = unchained_fixture(dir.path());
    let mut opened = open(dir.path(), "1.2.2").unwrap();
    assert_eq!(opened.chain, ChainStatus::Unchained);
    assert!(opened.notice().unwrap().contains("before the hash chain"));
    let appended = opened
        .journal
        .append(
            &"alice".into(),
            common::at(common::START),
            Event::ItemTicked {
                item: "changelog".into(),
            },
        )
        .unwrap();
    // The first link names the unchained line before it.
    assert_eq!(
        appended.prev,
        Some(chain::hash_line(lines(&path)[2].as_bytes()))
    );
    drop(opened);
    let verified = StateDir::new(dir.path())
        .verify(&Config::embedded(), &v("1.2.2"))
        .unwrap();
    assert!(
        matches!(verified.chain, ChainStatus::ChainedFrom { seq: 4, .. }),
        "{:?}",
        verified.chain
    );
    assert!(
        verified.to_string().contains("chain intact from entry 4"),
        "{verified}"
    );
    let reopened = open(dir.path(), "1.2.2").unwrap();
    assert!(reopened.notice().unwrap().contains("entries before 4"));
    drop(reopened);

    // From there on every entry names the one before it.
    let mut l = lines(&path);
    l.push(line(&Entry {
        seq: 5,
        prev: None,
        ..entry(&l[3])
    }));
    write_lines(&path, &l);
    match StateDir::new(dir.path()).verify(&Config::embedded(), &v("1.2.2")) {
        Err(e) => assert!(
            e.to_string()
                .contains("entry 5 does not name entry 4, though every entry from 4 on"),
            "{e}"
        ),
        Ok(_) => panic!("a dropped link passed"),
    }
}

/// Lines the cockpit would have refused, appended with a correct chain (as someone who can
/// write the file and recompute the hashes would): the re-check against the rules names
/// them.
fn forged(dir: &Path, events: Vec<Event>) -> PathBuf {
    let mut opened = open(dir, "1.2.3").unwrap();
    for event in events {
        opened
            .journal
            .append(&"mallory".into(), common::at(common::START), event)
            .unwrap();
    }
    StateDir::new(dir).journal_path(&v("1.2.3"))
}

#[test]
fn a_go_with_no_approvals_is_refused_even_with_its_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = forged(
        dir.path(),
        vec![Event::Decision {
            verdict: release_cockpit::release::event::GoNoGo::Go,
            reason: None,
        }],
    );
    refused_everywhere(
        dir.path(),
        &path,
        "entry 2 breaks the procedure's rules: a go needs the required approvals first; \
         missing: Team Lead, Engineer Review",
    );
}

#[test]
fn one_person_in_two_roles_is_refused_even_with_its_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let approve = |role: &str, name: &str| Event::Approved {
        role: role.into(),
        name: name.into(),
    };
    let path = forged(
        dir.path(),
        vec![
            approve("team_lead", "Tess Lead"),
            approve("engineer", "tess lead"),
        ],
    );
    refused_everywhere(
        dir.path(),
        &path,
        "entry 3 breaks the procedure's rules: tess lead already approved as Team Lead; one \
         person cannot fill two required roles",
    );
}

#[test]
fn a_conclusion_with_no_deploy_is_refused_even_with_its_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = forged(
        dir.path(),
        vec![Event::Concluded {
            verdict: release_cockpit::release::soak::SoakVerdict::Stable { reason: None },
        }],
    );
    refused_everywhere(
        dir.path(),
        &path,
        "entry 2 breaks the procedure's rules: nothing to conclude: production was not deployed",
    );
}
