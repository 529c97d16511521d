//! What every `JournalStore` must do, as a suite any store runs: the file journal in
//! `tests/it/journal.rs`, and every store after it.

use chrono::{DateTime, TimeZone, Utc};

use super::chain::{entry_hash, genesis};
use super::{AppendError, JournalError, JournalStore};
use crate::release::event::{Entry, Event};
use crate::release::identity::Author;

/// Makes stores on one release for the suite.
pub trait StoreUnderTest {
    type Store: JournalStore;
    /// A new release's journal with its first entry.
    fn create(&mut self, by: &Author, at: DateTime<Utc>, first: Event) -> Self::Store;
    /// The same release opened again, after `store` was dropped (a restart).
    fn reopen(&mut self) -> Self::Store;
    /// A second writer on the same release while the first is open: a shared store
    /// gives one; a store with a single writer refuses it.
    fn second_writer(&mut self) -> Result<Self::Store, JournalError>;
    /// Whether several writers may hold the release at once.
    fn shared(&self) -> bool;
    /// The release the stores are for: its id is what the chain starts from.
    fn release(&self) -> String;
    /// Who the suite's `who` ("alice", "bob"; "w0", "w1", … racing) is in this store. A
    /// store that checks authorship (the cluster's) maps them to users it knows, and the
    /// nth `second_writer` writes as the nth other. Default: the name, claimed.
    fn author(&self, who: &str) -> Author {
        Author::claimed(who)
    }
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, minute, 0)
        .single()
        .expect("a valid time")
}

fn tick(item: &str) -> Event {
    Event::ItemTicked { item: item.into() }
}

fn seqs(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.seq).collect()
}

/// Every entry names the one before it, the first names the release, and the store's head
/// is the last entry's hash.
fn assert_chained(release: &str, store: &impl JournalStore, entries: &[Entry]) {
    let mut expected = genesis(release);
    for e in entries {
        assert_eq!(
            e.prev.as_deref(),
            Some(expected.as_str()),
            "entry {} must name the hash of the entry before it (the release id for the first)",
            e.seq
        );
        expected = entry_hash(e);
    }
    assert_eq!(
        store.head(),
        entries.last().map(entry_hash),
        "the head is the hash of the last entry"
    );
}

/// Runs every check; panics naming the first that fails.
pub async fn run<S: StoreUnderTest>(mut under_test: S) {
    let first = tick("code-review");
    let alice = under_test.author("alice");
    let bob = under_test.author("bob");
    let mut store = under_test.create(&alice, at(0), first.clone());
    assert_eq!(store.next_seq(), 2, "the first entry is number 1");
    let read = store.read_from(1).expect("read the new journal");
    assert_eq!(seqs(&read), [1]);
    assert_eq!(read[0].event, first);
    assert_eq!(read[0].by, alice.name);
    let release = under_test.release();
    assert_chained(&release, &store, &read);

    let second = store
        .append(2, &alice, at(1), tick("tests-pass"))
        .expect("append with the right number");
    assert_eq!(second.seq, 2);
    assert_eq!(store.next_seq(), 3);

    match store.append(2, &bob, at(2), tick("docs")) {
        Err(AppendError::Conflict { expected, actual }) => {
            assert_eq!(
                (expected, actual),
                (2, 3),
                "the conflict says where things are"
            );
        }
        other => panic!("a stale number must be a conflict, got {other:?}"),
    }
    assert_eq!(
        seqs(&store.read_from(1).expect("read")),
        [1, 2],
        "a conflict writes nothing"
    );
    store
        .append(3, &alice, at(3), tick("docs"))
        .expect("append after the conflict");
    assert_eq!(seqs(&store.read_from(2).expect("read from 2")), [2, 3]);
    assert!(store.read_from(4).expect("read past the end").is_empty());
    assert_chained(&release, &store, &store.read_from(1).expect("read"));

    if under_test.shared() {
        let mut other = under_test.second_writer().expect("a second writer");
        let mut followed = store.follow();
        let theirs = other
            .append(4, &bob, at(4), tick("security-scan"))
            .expect("the second writer appends");
        let seen = tokio::time::timeout(std::time::Duration::from_secs(10), followed.recv())
            .await
            .expect("the entry reaches the first writer in time")
            .expect("the follow stream is open");
        assert_eq!(seen, super::Followed::Appended(theirs));
        assert!(matches!(
            store.append(4, &alice, at(5), tick("x")),
            Err(AppendError::Conflict { actual: 5, .. })
        ));
        drop(other);
    } else {
        assert!(
            under_test.second_writer().is_err(),
            "a single-writer store must refuse a second writer while one is open"
        );
    }

    let expected = store.read_from(1).expect("read before the restart");
    assert_chained(&release, &store, &expected);
    drop(store);
    let mut reopened = under_test.reopen();
    assert_eq!(
        reopened.read_from(1).expect("read after the restart"),
        expected,
        "every entry survives a restart"
    );
    assert_eq!(reopened.next_seq(), expected.len() as u64 + 1);
    assert_chained(&release, &reopened, &expected);
    let next = reopened.next_seq();
    reopened
        .append(next, &alice, at(6), tick("after-restart"))
        .expect("append after the restart");
    assert_chained(
        &release,
        &reopened,
        &reopened.read_from(1).expect("read after appending"),
    );
}

/// For a shared store: `writers` writers on one release append as fast as they can for
/// `how_long`, each retrying after a conflict as the cockpit does (the number moved on:
/// read, decide again). Nothing is lost, nothing is written twice, the numbers run 1, 2,
/// … with no gap, and the chain holds over all of it. Returns how many entries were
/// appended in all, for the caller's own checks (a segment rollover, say).
pub fn run_contention<S: StoreUnderTest>(
    under_test: &mut S,
    writers: usize,
    how_long: std::time::Duration,
) -> usize
where
    S::Store: 'static,
{
    let release = under_test.release();
    let mut first = under_test.create(&under_test.author("w0"), at(0), tick("start"));
    let mut stores = vec![];
    for _ in 1..writers {
        stores.push(under_test.second_writer().expect("another writer"));
    }
    let deadline = std::time::Instant::now() + how_long;
    let handles: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(i, store)| {
            let who = format!("w{}", i + 1);
            let by = under_test.author(&who);
            std::thread::spawn(move || append_until(store, &who, by, deadline))
        })
        .collect();
    let by = under_test.author("w0");
    let mut written = vec![append_until_ref(&mut first, "w0", by, deadline)];
    for h in handles {
        written.push(h.join().expect("a writer thread"));
    }
    drop(first);
    let reopened = under_test.reopen();
    let entries = reopened.read_from(1).expect("read after the contention");
    assert_eq!(
        seqs(&entries),
        (1..=entries.len() as u64).collect::<Vec<_>>(),
        "entries are numbered 1, 2, … with no gap and no repeat"
    );
    assert_chained(&release, &reopened, &entries);
    let mut items: Vec<String> = entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::ItemTicked { item } if item != "start" => Some(item.clone()),
            _ => None,
        })
        .collect();
    let total = items.len();
    items.sort();
    items.dedup();
    assert_eq!(items.len(), total, "no entry was written twice");
    let mut expected: Vec<String> = written.into_iter().flatten().collect();
    expected.sort();
    assert_eq!(
        items, expected,
        "every append that was answered Ok is in the journal, and nothing else is"
    );
    entries.len()
}

fn append_until<St: JournalStore>(
    mut store: St,
    who: &str,
    by: Author,
    deadline: std::time::Instant,
) -> Vec<String> {
    append_until_ref(&mut store, who, by, deadline)
}

/// Appends `who-1`, `who-2`, … until `deadline`; the items that were answered Ok.
fn append_until_ref<St: JournalStore>(
    store: &mut St,
    who: &str,
    by: Author,
    deadline: std::time::Instant,
) -> Vec<String> {
    let mut done = Vec::new();
    let mut conflicts = 0;
    while std::time::Instant::now() < deadline {
        let item = format!("{who}-{}", done.len() + 1);
        match store.append(store.next_seq(), &by, at(1), tick(&item)) {
            Ok(entry) => {
                assert_eq!(entry.event, tick(&item));
                done.push(item);
            }
            Err(AppendError::Conflict { .. }) => conflicts += 1,
            Err(e) => panic!("{who}: an append failed: {e}"),
        }
    }
    tracing::info!(%who, appended = done.len(), conflicts, "contention");
    done
}
