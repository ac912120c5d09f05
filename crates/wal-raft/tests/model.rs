//! `LogStore` against a model: random sequences of what openraft does to a log (appends,
//! an empty log started at some index, truncations, purges up to and past the end, votes,
//! restarts), the same calls made on the in-memory log of the test support, and after
//! each call the two compared: log state, every entry, a random range, the vote and the
//! committed id. Segments of 256 bytes, so that every call crosses segment boundaries.
//!
//! The sequences are seeded: `WAL_RAFT_MODEL_SEEDS=n` runs seeds 0..n (16 by default),
//! and a failure names its seed and step.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

#[path = "support/mod.rs"]
mod support;

use std::path::Path;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, Vote};
use support::{MemLogStore, Request, TypeConfig};
use wal_raft::{LogStore, Options};

const SEGMENT_BYTES: u32 = 256;
const STEPS: usize = 150;

/// A small xorshift: the sequences are reproducible from their seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn open(dir: &Path) -> LogStore<TypeConfig> {
    LogStore::open(dir, Options::default().with_segment_bytes(SEGMENT_BYTES)).unwrap()
}

fn entry(term: u64, index: u64, rng: &mut Rng) -> Entry<TypeConfig> {
    let payload = match rng.below(4) {
        0 => EntryPayload::Blank,
        _ => EntryPayload::Normal(vec![Request {
            client: rng.below(3),
            seq: index,
            payload: vec![7; usize::try_from(rng.below(90)).unwrap()],
        }]),
    };
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
        payload,
    }
}

/// One random sequence, checked after every step.
async fn run(seed: u64) {
    let dir = wal_testkit::tempdir();
    let mut rng = Rng::new(seed);
    let mut store = open(dir.path());
    let mut model = MemLogStore::new();
    let mut term = 1;
    for step in 0..STEPS {
        let state = model.get_log_state().await.unwrap();
        let last = state.last_log_id.map(|id| id.index);
        let purged = state.last_purged_log_id.map(|id| id.index);
        let committed = model.read_committed().await.unwrap().map(|id| id.index);
        let held = model.try_get_log_entries(..).await.unwrap();
        let first = held.first().map(|entry| entry.log_id.index);
        let what = rng.below(100);
        let op = if what < 45 || first.is_none() && what < 70 {
            // An append continues the log; an empty one starts after the last purged
            // entry, or anywhere when nothing was ever purged.
            let start = match (first, purged) {
                (Some(_), _) => last.map_or(0, |l| l + 1),
                (None, Some(p)) => p + 1,
                (None, None) => last.map_or(0, |l| l + 1) + rng.below(4),
            };
            let batch: Vec<_> = (start..start + 1 + rng.below(6))
                .map(|index| entry(term, index, &mut rng))
                .collect();
            store.blocking_append(batch.clone()).await.unwrap();
            model.blocking_append(batch).await.unwrap();
            format!("append from {start}")
        } else if what < 60
            && let (Some(first), Some(last)) = (first, last)
            && committed.is_none_or(|c| c < last)
        {
            // Raft never truncates a committed entry (the store refuses to).
            let lowest = committed.map_or(first, |c| first.max(c + 1));
            let at = lowest + rng.below(last - lowest + 2);
            let id = LogId::new(CommittedLeaderId::new(term, 1), at);
            term += 1;
            store.truncate(id).await.unwrap();
            model.truncate(id).await.unwrap();
            format!("truncate from {at}")
        } else if what < 75 {
            let from = purged.map_or(0, |p| p);
            let upto = from + rng.below(last.map_or(3, |l| l + 3 - from.min(l)));
            // The id of the entry purged up to, or past the end, a snapshot's.
            let held = model.try_get_log_entries(upto..=upto).await.unwrap();
            let id = held
                .first()
                .map_or(LogId::new(CommittedLeaderId::new(term, 1), upto), |e| {
                    e.log_id
                });
            store.purge(id).await.unwrap();
            model.purge(id).await.unwrap();
            format!("purge up to {upto}")
        } else if what < 85 {
            let vote = Vote::new(term, rng.below(3));
            store.save_vote(&vote).await.unwrap();
            model.save_vote(&vote).await.unwrap();
            let committed = last.map(|l| LogId::new(CommittedLeaderId::new(term, 1), l));
            store.save_committed(committed).await.unwrap();
            model.save_committed(committed).await.unwrap();
            "vote and commit".to_owned()
        } else {
            drop(store);
            store = open(dir.path());
            "reopen".to_owned()
        };
        let context = format!("seed {seed}, step {step}: {op}");
        compare(&mut store, &mut model, &mut rng, &context).await;
    }
}

async fn compare(
    store: &mut LogStore<TypeConfig>,
    model: &mut MemLogStore,
    rng: &mut Rng,
    context: &str,
) {
    assert_eq!(
        store.get_log_state().await.unwrap(),
        model.get_log_state().await.unwrap(),
        "{context}"
    );
    assert_eq!(
        store.try_get_log_entries(..).await.unwrap(),
        model.try_get_log_entries(..).await.unwrap(),
        "{context}"
    );
    let from = rng.below(80);
    let to = from + rng.below(20);
    assert_eq!(
        store.try_get_log_entries(from..to).await.unwrap(),
        model.try_get_log_entries(from..to).await.unwrap(),
        "{context}: {from}..{to}"
    );
    assert_eq!(
        store.read_vote().await.unwrap(),
        model.read_vote().await.unwrap(),
        "{context}"
    );
    assert_eq!(
        store.read_committed().await.unwrap(),
        model.read_committed().await.unwrap(),
        "{context}"
    );
}

#[test]
fn the_log_store_does_what_an_in_memory_raft_log_does() {
    let seeds =
        std::env::var("WAL_RAFT_MODEL_SEEDS").map_or(16, |n| n.parse().expect("a number of seeds"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for seed in 0..seeds {
        runtime.block_on(run(seed));
    }
}
