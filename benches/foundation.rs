//! The costs the foundation adds to every key press: drawing a full frame, folding a long
//! journal on open, reading (and checking the chain of) a long journal, and appending one
//! event durably (write + fsync).
//!
//! cargo bench --bench foundation

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use release_cockpit::app::{App, Msg};
use release_cockpit::config::Config;
use release_cockpit::release::event::{Entry, Event};
use release_cockpit::release::journal::{self, Journal};
use release_cockpit::release::state::ReleaseState;

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-26T11:00:00Z".parse().unwrap()
}

/// A journal of `n` events: creation, then tick/untick pairs with an approval now and then.
fn entries(n: u64) -> Vec<Entry> {
    let items = [
        "code-freeze",
        "changelog",
        "merge-prs",
        "security-scan",
        "db-backup",
    ];
    (1..=n)
        .map(|seq| {
            let event = if seq == 1 {
                Event::ReleaseCreated {
                    version: "1.2.3".into(),
                    release_type: "regular".into(),
                    commit_sha: None,
                }
            } else if seq % 2 == 0 {
                Event::ItemTicked {
                    item: items[(seq as usize / 2) % items.len()].into(),
                }
            } else {
                Event::ItemUnticked {
                    item: items[(seq as usize / 2) % items.len()].into(),
                }
            };
            Entry {
                seq,
                prev: None,
                at: now(),
                by: "alice".into(),
                verified_by: None,
                event,
            }
        })
        .collect()
}

fn render(c: &mut Criterion) {
    let config = Config::embedded();
    let mut app = App::new(config, "staging".into(), "alice".into(), now());
    let release = ReleaseState::from_entries(&entries(400)).unwrap();
    release_cockpit::app::update(
        &mut app,
        Msg::ReleaseOpened {
            state: release,
            releases: vec!["1.2.3".into()],
            notice: None,
        },
    );
    for i in 0..200 {
        app.log(release_cockpit::app::Level::Info, format!("log line {i}"));
    }
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("draw full frame {w}x{h}"), |b| {
            b.iter(|| {
                terminal
                    .draw(|f| release_cockpit::ui::draw(f, black_box(&app)))
                    .unwrap();
            });
        });
    }
}

fn fold(c: &mut Criterion) {
    let e = entries(10_000);
    c.bench_function("fold 10k journal events", |b| {
        b.iter(|| ReleaseState::from_entries(black_box(&e)).unwrap());
    });
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("releases/1.2.3.jsonl");
    let first = Event::ReleaseCreated {
        version: "1.2.3".into(),
        release_type: "regular".into(),
        commit_sha: None,
    };
    let (mut journal, _) = Journal::create(&path, "1.2.3", &"alice".into(), now(), first).unwrap();
    let mut tick = false;
    c.bench_function("journal append + fsync", |b| {
        b.iter(|| {
            tick = !tick;
            let event = if tick {
                Event::ItemTicked {
                    item: "changelog".into(),
                }
            } else {
                Event::ItemUnticked {
                    item: "changelog".into(),
                }
            };
            journal.append(&"alice".into(), now(), event).unwrap()
        });
    });
}

/// What `status`, `audit --verify` and the cockpit's opening do with a long journal before
/// the fold: parse every line, hash it and check that it names the line before it.
fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("releases/1.2.3.jsonl");
    let mut all = entries(10_000).into_iter();
    let first = all.next().unwrap().event;
    let (mut journal, _) = Journal::create(&path, "1.2.3", &"alice".into(), now(), first).unwrap();
    for e in all {
        journal.append(&"alice".into(), now(), e.event).unwrap();
    }
    drop(journal);
    c.bench_function("journal read 10k entries", |b| {
        b.iter(|| journal::read(black_box(&path), "1.2.3").unwrap());
    });
    // Of that, the sha256 of each line alone.
    let text = std::fs::read_to_string(&path).unwrap();
    c.bench_function("journal hash 10k lines", |b| {
        b.iter(|| {
            for line in black_box(&text).lines() {
                black_box(journal::chain::hash_line(line.as_bytes()));
            }
        });
    });
}

criterion_group!(benches, render, fold, read, append);
criterion_main!(benches);
