//! openraft's own storage test suite (`openraft::testing::Suite`, written by openraft's
//! authors) on `wal_raft::LogStore`: every function of it, each its own test, on logs
//! whose segments hold a few entries each, so that its appends rotate and its purges and
//! truncations cross segment boundaries.
//!
//! One function asks for what a raft log forbids. `get_initial_state_membership_from_log_and_sm`
//! applies entries 1 and 2 to the state machine with an empty log; openraft's
//! `get_initial_state` then purges the log up to 2 (it closes the gap between a log and a
//! state machine ahead of it so); and the function goes on to append index 1, below the
//! purged point, and later index 3 after it (a hole at 2). A raft log never holds an
//! entry at or below its last purged one again (the state machine has it), so the log
//! refuses that append with `BelowPurged`, nothing written; the test below checks that it
//! fails exactly there, and `the_same_states_after_the_purge` checks the states the
//! function is after on a log that continues after the purge, as a raft log does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::future::Future;

use openraft::storage::RaftLogStorageExt;
use openraft::testing::{StoreBuilder, Suite};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, Membership, StorageError, StorageHelper,
};
use support::{StateMachine, TypeConfig};
use tempfile::TempDir;
use wal_raft::{LogStore, Options};

/// Segments this small (walrs's smallest) hold a few of the suite's entries each:
/// `the_suite_s_logs_span_several_segments` checks it.
const SEGMENT_BYTES: u32 = wal_store::MIN_SEGMENT_BYTES;

/// Builds each test's log in a directory of its own, kept as long as the test runs.
struct WalBuilder;

impl StoreBuilder<TypeConfig, LogStore<TypeConfig>, StateMachine, TempDir> for WalBuilder {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore<TypeConfig>, StateMachine), StorageError<u64>> {
        let dir = wal_testkit::tempdir();
        let options = Options::default().with_segment_bytes(SEGMENT_BYTES);
        let store = LogStore::open(dir.path().join("raft-log"), options).expect("open the log");
        Ok((dir, store, StateMachine::new()))
    }
}

type WalSuite = Suite<TypeConfig, LogStore<TypeConfig>, StateMachine, WalBuilder, TempDir>;

/// Runs one suite function on a new log, in a runtime of its own (as the suite does).
#[allow(
    clippy::result_large_err,
    reason = "the suite's functions return openraft's StorageError as it is"
)]
fn run<F, Fut>(test: F) -> Result<(), StorageError<u64>>
where
    F: FnOnce(LogStore<TypeConfig>, StateMachine) -> Fut,
    Fut: Future<Output = Result<(), StorageError<u64>>>,
{
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let (_dir, store, state_machine) = WalBuilder.build().await?;
        test(store, state_machine).await
    })
}

macro_rules! suite_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(WalSuite::$name).unwrap();
            }
        )*
    };
}

// Every function `Suite::test_store` runs, in its order, but the one below the purged point.
suite_tests!(
    last_membership_in_log_initial,
    last_membership_in_log,
    last_membership_in_log_multi_step,
    get_membership_initial,
    get_membership_from_log_and_empty_sm,
    get_membership_from_empty_log_and_sm,
    get_membership_from_log_le_sm_last_applied,
    get_membership_from_log_gt_sm_last_applied_1,
    get_membership_from_log_gt_sm_last_applied_2,
    get_initial_state_without_init,
    get_initial_state_with_state,
    get_initial_state_last_log_gt_sm,
    get_initial_state_last_log_lt_sm,
    get_initial_state_log_ids,
    get_initial_state_re_apply_committed,
    save_vote,
    get_log_entries,
    limited_get_log_entries,
    try_get_log_entry,
    initial_logs,
    get_log_state,
    get_log_id,
    last_id_in_log,
    last_applied_state,
    purge_logs_upto_0,
    purge_logs_upto_5,
    purge_logs_upto_20,
    delete_logs_since_11,
    delete_logs_since_0,
    append_to_log,
    snapshot_meta,
    apply_single,
    apply_multiple,
);

#[test]
fn transfer_snapshot() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime
        .block_on(WalSuite::transfer_snapshot(&WalBuilder))
        .unwrap();
}

#[test]
fn get_initial_state_membership_from_log_and_sm_appends_below_the_purged_point_and_is_refused() {
    let refused = run(WalSuite::get_initial_state_membership_from_log_and_sm)
        .expect_err("the append below the purged point is refused")
        .to_string();
    assert!(
        refused.contains("an append at raft index 1 is at or below the last purged index 2"),
        "{refused}"
    );
}

fn membership(index: u64, members: &[u64]) -> Entry<TypeConfig> {
    let members: BTreeSet<u64> = members.iter().copied().collect();
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Membership(Membership::new(vec![members], ())),
    }
}

fn blank(index: u64) -> Entry<TypeConfig> {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
        payload: EntryPayload::Blank,
    }
}

/// The states the refused suite function checks, on a log that continues after the
/// purge: the state machine applied {3,4,5} at 2, so the log is purged up to it and a
/// membership in the log at or below it is not taken; one after it is.
#[test]
fn the_same_states_after_the_purge() {
    run(|mut store, mut sm| async move {
        use openraft::storage::{RaftLogStorage, RaftStateMachine};
        let effective =
            |members: &[u64]| Membership::new(vec![members.iter().copied().collect()], None);
        sm.apply([blank(1), membership(2, &[3, 4, 5])]).await?;
        let initial = StorageHelper::new(&mut store, &mut sm)
            .get_initial_state()
            .await?;
        assert_eq!(
            initial.membership_state.effective().membership(),
            &effective(&[3, 4, 5])
        );
        let purged = store.get_log_state().await?.last_purged_log_id;
        assert_eq!(purged.map(|id| id.index), Some(2));
        store.blocking_append([membership(3, &[1, 2, 3])]).await?;
        let initial = StorageHelper::new(&mut store, &mut sm)
            .get_initial_state()
            .await?;
        assert_eq!(
            initial.membership_state.effective().membership(),
            &effective(&[1, 2, 3])
        );
        Ok(())
    })
    .unwrap();
}

/// The log most suite functions start from (`feed_10_logs_vote_self`: entries 0 to 10)
/// spans several segments at this size, so that their purges and truncations cross
/// segment boundaries.
#[test]
fn the_suite_s_logs_span_several_segments() {
    run(|mut store, _| async move {
        WalSuite::feed_10_logs_vote_self(&mut store).await?;
        let segments = wal_store::list_segments(store.log().dir()).expect("list the segments");
        assert!(segments.len() >= 3, "{segments:?}");
        Ok(())
    })
    .unwrap();
}
