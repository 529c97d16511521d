//! The journal in the cluster, against the sandbox on loopback:
//! (a) an entry appended by one cockpit's store, to the moment a second cockpit's store
//!     hands it to its follower (what the event loop then folds and draws, in
//!     microseconds), p50 and p99 over 500 entries;
//! (b) append latency (the merge patch with its precondition, the answer, the copy
//!     updated) with one writer, and with two writers racing for the same entry numbers
//!     (each conflict re-reads and tries again; the figure is per entry that landed).
//!
//! cargo bench --bench journal_cluster     (prints figures; `-- --quick` for 50 entries)

// Tests and benches stop at the first surprise: unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cockpit_sandbox::server;
use release_cockpit::cluster::client;
use release_cockpit::cluster::journal::ClusterJournal;
use release_cockpit::cluster::journal::segments::Capacity;
use release_cockpit::release::clock::{Clock, SystemClock};
use release_cockpit::release::event::Event;
use release_cockpit::release::identity::Author;
use release_cockpit::release::journal::{AppendError, Followed, JournalStore};

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
    sandbox_rt.block_on(running.stop());
}
