//! The journal in the cluster, against the sandbox on loopback:
//! (a) an entry appended by one cockpit's store, to the moment a second cockpit's store
//!     hands it to its follower (what the event loop then folds and draws, in
//!     microseconds), p50 and p99 over 500 entries;
//! (b) append latency (the merge patch with its precondition, the answer, the copy
//!     updated) with one writer, and with two writers racing for the same entry numbers
//!     (each conflict re-reads and tries again; the figure is per entry that landed);
//! (c) the whole way, cockpit to cockpit: the driver's cockpit (the real runtime and app)
//!     records a decision; the reviewer's cockpit, on a loop that does what its event loop
//!     does (fold what arrived through `update`, then draw a full 160x48 frame), draws
//!     the frame that shows it. From the record's start to the end of that draw.
//!
//! cargo bench --bench journal_cluster     (prints figures; `-- --quick` for 50 entries)

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cockpit_sandbox::server;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use release_cockpit::app::{App, Command, Msg};
use release_cockpit::cluster::client;
use release_cockpit::cluster::journal::ClusterJournal;
use release_cockpit::cluster::journal::segments::Capacity;
use release_cockpit::config::Config;
use release_cockpit::config::journal::JournalPlace;
use release_cockpit::release::clock::{Clock, SystemClock};
use release_cockpit::release::event::Event;
use release_cockpit::release::identity::Author;
use release_cockpit::release::identity::Identity;
use release_cockpit::release::journal::{AppendError, Followed, JournalStore};
use release_cockpit::release::store::StateDir;
use release_cockpit::runtime::{Runtime, SharedJournal};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(what: &str, mut d: Vec<Duration>) {
    d.sort();
    println!(
        "{what}: n={} p50={:.2?} p99={:.2?} max={:.2?}",
        d.len(),
        percentile(&d, 0.5),
        percentile(&d, 0.99),
        d.last().unwrap()
    );
}

fn tick(item: String) -> Event {
    Event::ItemTicked { item }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    let n = if quick { 50 } else { 500 };
    // The sandbox on a runtime of its own, as a cluster would be on other machines.
    let sandbox_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = sandbox_rt
        .block_on(server::start_seeded(clock, "127.0.0.1:0".parse().unwrap()))
        .unwrap();
    // Each writer as a sandbox user of its own: the cluster checks each entry is its
    // author's (the signatures ConfigMaps).
    let connect_as = |user: &str, release: &str| {
        let token = running.sandbox.token_of(user).unwrap();
        let config = client::config_for_url(&running.url(), "production", Some(token)).unwrap();
        ClusterJournal::connect(config, "production", release, Capacity::default())
            .unwrap()
            .0
    };
    let connect = |release: &str| connect_as("release-engineer", release);
    let by = Author::claimed("release-engineer");

    // (a) one writer, one follower
    let mut writer = connect("1.0.0");
    writer
        .append(1, &by, Utc::now(), tick("start".into()))
        .unwrap();
    let follower = connect("1.0.0");
    let mut followed = follower.follow();
    let mut seen = Vec::with_capacity(n);
    let mut appends = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let seq = writer.next_seq();
        writer
            .append(seq, &by, Utc::now(), tick(format!("item-{i}")))
            .unwrap();
        appends.push(start.elapsed());
        match followed.blocking_recv().unwrap() {
            Followed::Appended(e) => assert_eq!(e.seq, seq),
            other => panic!("{other:?}"),
        }
        seen.push(start.elapsed());
    }
    report("append, one writer", appends);
    report("appended in one cockpit -> followed in the other", seen);

    // (b) two writers racing
    let mut a = connect("2.0.0");
    a.append(1, &by, Utc::now(), tick("start".into())).unwrap();
    let b = connect_as("reviewer", "2.0.0");
    let race = |mut store: ClusterJournal, who: &'static str| {
        std::thread::spawn(move || {
            let by = Author::claimed(who);
            let mut landed = Vec::new();
            let mut conflicts = 0;
            while landed.len() < n / 2 {
                let start = Instant::now();
                loop {
                    let seq = store.next_seq();
                    match store.append(
                        seq,
                        &by,
                        Utc::now(),
                        tick(format!("{who}-{}", landed.len())),
                    ) {
                        Ok(_) => break,
                        Err(AppendError::Conflict { .. }) => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                landed.push(start.elapsed());
            }
            (landed, conflicts)
        })
    };
    let first = race(
        std::mem::replace(&mut a, connect("2.0.0")),
        "release-engineer",
    );
    let second = race(b, "reviewer");
    let (mut all, c1) = first.join().unwrap();
    let (more, c2) = second.join().unwrap();
    all.extend(more);
    report(
        &format!(
            "append, two writers racing ({} conflicts re-read and retried)",
            c1 + c2
        ),
        all,
    );
    drop(a);

    // (c) two cockpits, the real runtime and app each, on one runtime as in one process
    let cockpits = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let drawn = cockpits.block_on(cockpit_to_cockpit(&running, n));
    report("recorded in one cockpit -> drawn in the other", drawn);
    sandbox_rt.block_on(running.stop());
}

/// A cockpit of `user`'s on release 7.0.0 of the sandbox's shared journal, its role taken.
async fn cockpit(
    running: &cockpit_sandbox::server::Running,
    user: &str,
    dir: &std::path::Path,
) -> (App, Runtime, tokio::sync::mpsc::UnboundedReceiver<Msg>) {
    let mut config = Config::embedded();
    config.journal = JournalPlace::Cluster {
        environment: "production".into(),
        namespace: "production".into(),
        signatures_namespace: "production".into(),
    };
    let token = running.sandbox.token_of(user).unwrap();
    let author = Author {
        name: user.into(),
        verified_by: Some("production".into()),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut app = App::new(
        config.clone(),
        "production".into(),
        user.into(),
        clock.now(),
    );
    app.identity = Identity {
        author: author.clone(),
        groups: vec![format!("release-cockpit:{user}s")],
    };
    let mut rt = Runtime::new(config.clone(), StateDir::new(dir), author, clock, tx);
    for (name, env) in &config.environments {
        rt.clients.insert(
            name.clone(),
            client::for_url(&running.url(), &env.namespace, Some(token)),
        );
    }
    rt.shared_journal = Some(SharedJournal {
        environment: "production".into(),
        namespace: "production".into(),
        signatures_namespace: "production".into(),
        kube: client::config_for_url(&running.url(), "production", Some(token)).unwrap(),
    });
    let v = release_cockpit::release::store::parse_version("7.0.0").unwrap();
    let opened = rt.open_journal(&v, "regular").unwrap();
    let folded = opened.state.events;
    rt.set_journal("7.0.0", opened.journal, folded);
    if let Some(role) = rt.take_role(false, false).await {
        rt.process(&mut app, role);
    }
    rt.process(
        &mut app,
        Msg::ReleaseOpened {
            state: opened.state,
            releases: vec!["7.0.0".into()],
            notice: opened.notice,
        },
    );
    (app, rt, rx)
}

async fn cockpit_to_cockpit(running: &cockpit_sandbox::server::Running, n: usize) -> Vec<Duration> {
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut d_app, mut d_rt, _d_rx) = cockpit(running, "release-engineer", dirs.0.path()).await;
    let (mut r_app, mut r_rt, mut r_rx) = cockpit(running, "reviewer", dirs.1.path()).await;
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut drawn = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        // A decision the driver may record any number of times: the commit SHA.
        d_rt.run_command(
            &mut d_app,
            Command::Record(Event::CommitSet {
                commit_sha: format!("{:040x}", i + 1),
            }),
        );
        let wanted = d_app.release.as_ref().unwrap().events;
        while r_app.release.as_ref().unwrap().events < wanted {
            let msg = r_rx.recv().await.unwrap();
            r_rt.process(&mut r_app, msg);
            while let Ok(more) = r_rx.try_recv() {
                r_rt.process(&mut r_app, more);
            }
        }
        terminal
            .draw(|f| release_cockpit::ui::draw(f, &r_app))
            .unwrap();
        drawn.push(start.elapsed());
    }
    drawn
}
