//! Every system call of each change of the raft log that takes more than one step,
//! failed in turn: after the failure the log reopens (`LogStore::open`) in the state
//! before the change or in the state after it, never in between, and takes appends.
//!
//! The changes: a purge inside the log (the purge recorded in the metadata, then the
//! log trimmed), a purge past its end (recorded, then the log reset), the first append
//! of an empty log at another index (a reset, then the entries), a truncation from 0 (a
//! reset) and one inside the log (a cut across segments, zeroed), and a vote (the
//! metadata file replaced). For each, a run without faults counts the calls of each kind
//! (msync, fsync, rename, ...) that the change makes; then, for every kind and every
//! `n` up to that count, a fresh log is brought to the state before the change, the
//! change is made with the `n`-th call of that kind failing (EIO), the log is dropped
//! and reopened. A change that returned Ok must be whole after the reopen; one that
//! failed may be whole or absent.
//!
//! What a failed call can leave is what a crash at that call leaves, plus the calls a
//! failed step does not undo, so this covers the crash points of each change call by
//! call, without timing.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, Vote};
use wal_raft::{LogStore, Options};
use wal_store::faults::{Call, EIO, FaultPlan, Rule};

openraft::declare_raft_types!(Config: D = String, R = String);

/// Segments this small hold a few entries each: the changes cross segment boundaries.
const SEGMENT_BYTES: u32 = 256;

/// Entries of the log before a change (but the first append's, which starts empty).
const ENTRIES: u64 = 10;

fn open(dir: &Path) -> Result<LogStore<Config>, wal_raft::Error> {
    LogStore::open(dir, Options::default().with_segment_bytes(SEGMENT_BYTES))
}

fn id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn entries(term: u64, indexes: std::ops::Range<u64>) -> Vec<Entry<Config>> {
    indexes
        .map(|index| Entry {
            log_id: id(term, index),
            payload: EntryPayload::Normal(format!("entry {index} of term {term}")),
        })
        .collect()
}

/// What openraft can read of a raft log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    /// The log ids of the entries it holds.
    entries: Vec<LogId<u64>>,
    last_purged: Option<LogId<u64>>,
    last_log_id: Option<LogId<u64>>,
    vote: Option<Vote<u64>>,
}

impl State {
    async fn read(store: &mut LogStore<Config>) -> Result<State, String> {
        let failed = |e: openraft::StorageError<u64>| e.to_string();
        let held = store.try_get_log_entries(..).await.map_err(failed)?;
        let log_state = store.get_log_state().await.map_err(failed)?;
        Ok(State {
            entries: held.iter().map(|entry| entry.log_id).collect(),
            last_purged: log_state.last_purged_log_id,
            last_log_id: log_state.last_log_id,
            vote: store.read_vote().await.map_err(failed)?,
        })
    }

    /// The log before a change: `ENTRIES` entries of term 1 (none for the first
    /// append), nothing purged, a vote for term 1.
    fn before(change: Change) -> State {
        let held = match change {
            Change::FirstAppendElsewhere => 0..0,
            _ => 0..ENTRIES,
        };
        State {
            last_log_id: held.clone().last().map(|index| id(1, index)),
            entries: held.map(|index| id(1, index)).collect(),
            last_purged: None,
            vote: Some(Vote::new(1, 1)),
        }
    }

    /// Whether this is the log of a truncation cut short: the log before it, cut
    /// between the asked index and its old end.
    ///
    /// The one state between before and after that a failed change leaves: wal-store
    /// cuts a truncation from the end (the segments after the kept one are unlinked,
    /// then the kept one is cut), so a failure in the middle leaves a longer prefix
    /// than asked. Raft takes no harm: a truncation only ever drops entries that are not
    /// committed, openraft stops the node on the storage error, and the next leader
    /// finds the conflict again and truncates again.
    fn cut_short(&self, change: Change) -> bool {
        let before = State::before(change);
        let after = State::after(change);
        let kept = self.entries.len();
        kept > after.entries.len()
            && kept < before.entries.len()
            && before.entries.starts_with(&self.entries)
            && self.last_log_id == self.entries.last().copied()
            && (self.last_purged, self.vote) == (before.last_purged, before.vote)
    }

    /// The log after `change` is whole.
    fn after(change: Change) -> State {
        let before = State::before(change);
        match change {
            Change::PurgeMid => State {
                entries: (5..ENTRIES).map(|index| id(1, index)).collect(),
                last_purged: Some(id(1, 4)),
                ..before
            },
            Change::PurgePastEnd => State {
                entries: Vec::new(),
                last_purged: Some(id(2, 50)),
                last_log_id: Some(id(2, 50)),
                ..before
            },
            Change::FirstAppendElsewhere => State {
                entries: (7..10).map(|index| id(2, index)).collect(),
                last_log_id: Some(id(2, 9)),
                ..before
            },
            Change::TruncateFromZero => State {
                entries: Vec::new(),
                last_log_id: None,
                ..before
            },
            Change::TruncateMid => State {
                entries: (0..6).map(|index| id(1, index)).collect(),
                last_log_id: Some(id(1, 5)),
                ..before
            },
            Change::SaveVote => State {
                vote: Some(Vote::new(5, 1)),
                ..before
            },
        }
    }
}

/// A change of the raft log made of more than one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    PurgeMid,
    PurgePastEnd,
    FirstAppendElsewhere,
    TruncateFromZero,
    TruncateMid,
    SaveVote,
}

impl Change {
    const ALL: [Change; 6] = [
        Change::PurgeMid,
        Change::PurgePastEnd,
        Change::FirstAppendElsewhere,
        Change::TruncateFromZero,
        Change::TruncateMid,
        Change::SaveVote,
    ];

    /// Brings a new log to [`State::before`] the change.
    async fn prepare(self, store: &mut LogStore<Config>) {
        store.save_vote(&Vote::new(1, 1)).await.unwrap();
        if self != Change::FirstAppendElsewhere {
            store.blocking_append(entries(1, 0..ENTRIES)).await.unwrap();
        }
    }

    /// Makes the change; its error, as text.
    async fn make(self, store: &mut LogStore<Config>) -> Result<(), String> {
        let made = match self {
            Change::PurgeMid => store.purge(id(1, 4)).await,
            Change::PurgePastEnd => store.purge(id(2, 50)).await,
            Change::FirstAppendElsewhere => store.blocking_append(entries(2, 7..10)).await,
            Change::TruncateFromZero => store.truncate(id(1, 0)).await,
            Change::TruncateMid => store.truncate(id(1, 6)).await,
            Change::SaveVote => store.save_vote(&Vote::new(5, 1)).await,
        };
        made.map_err(|e| e.to_string())
    }
}

/// How many calls of each kind `change` makes, in a run without faults; checks that
/// the run leaves the state after it.
async fn count_calls(change: Change) -> BTreeMap<Call, usize> {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path()).unwrap();
    change.prepare(&mut store).await;
    let plan = FaultPlan::install(dir.path());
    change.make(&mut store).await.unwrap();
    let counts = plan.counts();
    drop((plan, store));
    let mut store = open(dir.path()).unwrap();
    assert_eq!(
        State::read(&mut store).await.unwrap(),
        State::after(change),
        "{change:?} without faults"
    );
    counts
}

/// Makes `change` with the `nth` call of kind `call` failing; returns what is wrong
/// after the reopen, if anything.
async fn fail_one(change: Change, call: Call, nth: usize) -> Option<String> {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path()).unwrap();
    change.prepare(&mut store).await;
    let plan = FaultPlan::install(dir.path());
    plan.fail(Rule::once(call, nth, EIO));
    let made = change.make(&mut store).await;
    let injected = plan.injected();
    drop((plan, store));
    let context = format!("{change:?}, {call:?} #{nth} failed ({made:?})");
    if injected != 1 {
        return Some(format!("{context}: {injected} faults injected, not 1"));
    }
    let mut store = match open(dir.path()) {
        Ok(store) => store,
        Err(e) => return Some(format!("{context}: the log does not reopen: {e}")),
    };
    let state = match State::read(&mut store).await {
        Ok(state) => state,
        Err(e) => return Some(format!("{context}: the reopened log does not read: {e}")),
    };
    let whole = state == State::after(change);
    let absent = state == State::before(change);
    let cut_short = change == Change::TruncateMid && state.cut_short(change);
    if !(whole || made.is_err() && (absent || cut_short)) {
        return Some(format!("{context}: left {state:?}"));
    }
    goes_on(&mut store, state)
        .await
        .err()
        .map(|e| format!("{context}: {e}"))
}

/// Appends two entries of a new term after the log's last one; they read back.
async fn goes_on(store: &mut LogStore<Config>, state: State) -> Result<(), String> {
    let next = state.last_log_id.map_or(0, |last| last.index + 1);
    let more = entries(3, next..next + 2);
    let ids: Vec<LogId<u64>> = more.iter().map(|entry| entry.log_id).collect();
    store
        .blocking_append(more)
        .await
        .map_err(|e| format!("an append after the reopen failed: {e}"))?;
    let now = State::read(store).await?;
    let expected = [state.entries, ids].concat();
    if now.entries != expected {
        return Err(format!(
            "after an append, entries {:?}, not {expected:?}",
            now.entries
        ));
    }
    Ok(())
}

#[tokio::test]
async fn a_failed_call_leaves_each_change_whole_or_absent_never_between() {
    let mut wrong = Vec::new();
    let mut failed_calls = 0;
    for change in Change::ALL {
        let counts = count_calls(change).await;
        assert!(
            counts.values().sum::<usize>() > 0,
            "{change:?} makes no call"
        );
        for (&call, &count) in &counts {
            for nth in 1..=count {
                failed_calls += 1;
                wrong.extend(fail_one(change, call, nth).await);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {failed_calls} failed calls left a wrong log:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
