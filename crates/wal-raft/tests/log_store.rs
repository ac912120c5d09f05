//! The raft log's contract on the walrs log, call by call: holes refused, an empty log
//! started at any index, truncations that never come back, a purge finished after a
//! crash, entries checked on every read, options a raft log cannot use refused.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, Vote};
use wal_raft::{Error, LogStore, Options};
use wal_store::faults::{Call, EIO, FaultPlan, Rule};
use wal_store::{SyncPolicy, WalOptions};

openraft::declare_raft_types!(Config: D = String, R = String);
use std::io::Cursor;

/// Segments this small hold a few entries each: the tests cross segment boundaries.
const SEGMENT_BYTES: u32 = 256;

fn options() -> Options {
    Options::default().with_segment_bytes(SEGMENT_BYTES)
}

fn open(dir: &Path) -> LogStore<Config> {
    LogStore::open(dir, options()).unwrap()
}

fn id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn entry(term: u64, index: u64) -> Entry<Config> {
    Entry {
        log_id: id(term, index),
        payload: EntryPayload::Normal(format!("entry {index} of term {term}")),
    }
}

fn entries(term: u64, indexes: std::ops::Range<u64>) -> Vec<Entry<Config>> {
    indexes.map(|index| entry(term, index)).collect()
}

async fn indexes(store: &mut LogStore<Config>) -> Vec<u64> {
    let all = store.try_get_log_entries(..).await.unwrap();
    all.iter().map(|entry| entry.log_id.index).collect()
}

#[tokio::test]
async fn an_append_that_would_leave_a_hole_or_overwrite_is_refused() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..3)).await.unwrap();
    for (batch, index) in [(entries(1, 4..6), 4), (entries(1, 1..2), 1)] {
        let refused = store.blocking_append(batch).await.unwrap_err().to_string();
        assert!(
            refused.contains(&format!(
                "an append at raft index {index} does not continue the log, whose next index is 3"
            )),
            "{refused}"
        );
    }
    // A batch with a hole inside is refused before anything is written.
    let mut gappy = entries(1, 3..5);
    gappy.push(entry(1, 6));
    store.blocking_append(gappy).await.unwrap_err();
    assert_eq!(indexes(&mut store).await, [0, 1, 2]);
    store.blocking_append(entries(1, 3..4)).await.unwrap();
    assert_eq!(indexes(&mut store).await, [0, 1, 2, 3]);
}

#[tokio::test]
async fn an_empty_log_starts_at_any_index_and_again_after_a_truncation_of_everything() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 7..10)).await.unwrap();
    assert_eq!(indexes(&mut store).await, [7, 8, 9]);
    store.truncate(id(1, 7)).await.unwrap();
    assert_eq!(indexes(&mut store).await, Vec::<u64>::new());
    store.blocking_append(entries(2, 3..5)).await.unwrap();
    assert_eq!(indexes(&mut store).await, [3, 4]);
    // From 0 too, which only a reset restarts.
    store.truncate(id(2, 0)).await.unwrap();
    store.blocking_append(entries(3, 0..2)).await.unwrap();
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(indexes(&mut store).await, [0, 1]);
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(id(3, 1)));
    assert_eq!(state.last_purged_log_id, None);
}

/// Whether any data file of `dir` holds `needle`.
fn files_hold(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|file| {
        let bytes = std::fs::read(file.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

#[tokio::test]
async fn truncated_entries_are_zeroed_across_segments_and_never_come_back() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..40)).await.unwrap();
    assert!(wal_store::list_segments(dir.path()).unwrap().len() > 5);
    store.truncate(id(1, 12)).await.unwrap();
    assert!(files_hold(dir.path(), "entry 11 of term 1"));
    for index in 12..40 {
        assert!(
            !files_hold(dir.path(), &format!("entry {index} of term 1")),
            "{index}"
        );
    }
    store.blocking_append(entries(2, 12..15)).await.unwrap();
    drop(store);
    let mut store = open(dir.path());
    let read = store.try_get_log_entries(10..100).await.unwrap();
    let ids: Vec<LogId<u64>> = read.iter().map(|e| e.log_id).collect();
    assert_eq!(ids, [id(1, 10), id(1, 11), id(2, 12), id(2, 13), id(2, 14)]);
}

#[tokio::test]
async fn a_purge_is_durable_and_one_cut_short_by_a_crash_is_finished_at_open() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..30)).await.unwrap();
    store.purge(id(1, 4)).await.unwrap();
    assert_eq!(indexes(&mut store).await, (5..30).collect::<Vec<_>>());
    // The purge's record is written, then moving the log's start fails (its SEED).
    let plan = FaultPlan::install(dir.path());
    plan.fail(Rule::once(Call::Rename, 1, EIO).on_paths("SEED"));
    store.purge(id(1, 17)).await.unwrap_err();
    plan.heal();
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(store.log().first_offset(), 18);
    assert_eq!(indexes(&mut store).await, (18..30).collect::<Vec<_>>());
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(id(1, 17)));
    assert_eq!(state.last_log_id, Some(id(1, 29)));
    // Past the end: the log continues after the purged id, empty.
    store.purge(id(3, 50)).await.unwrap();
    drop(store);
    let mut store = open(dir.path());
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(id(3, 50)));
    assert_eq!(state.last_log_id, Some(id(3, 50)));
    store.blocking_append(entries(3, 51..53)).await.unwrap();
    assert_eq!(indexes(&mut store).await, [51, 52]);
}

#[tokio::test]
async fn an_append_at_or_below_the_last_purged_index_is_refused() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..3)).await.unwrap();
    // Purged past the end (a snapshot installed): the log is empty, after 5.
    store.purge(id(1, 5)).await.unwrap();
    for index in [1, 5] {
        let refused = store
            .blocking_append(entries(1, index..index + 1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains(&format!(
                "an append at raft index {index} is at or below the last purged index 5"
            )),
            "{refused}"
        );
    }
    store.blocking_append(entries(2, 6..8)).await.unwrap();
    assert_eq!(indexes(&mut store).await, [6, 7]);
}

#[tokio::test]
async fn a_truncation_of_a_committed_entry_is_refused() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..10)).await.unwrap();
    store.save_committed(Some(id(1, 6))).await.unwrap();
    for at in [0, 3, 6] {
        let refused = store.truncate(id(1, at)).await.unwrap_err().to_string();
        assert!(
            refused.contains(&format!(
                "a truncation from raft index {at} would remove committed entries (committed up to 6)"
            )),
            "{refused}"
        );
    }
    assert_eq!(indexes(&mut store).await, (0..10).collect::<Vec<_>>());
    store.truncate(id(1, 7)).await.unwrap();
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(indexes(&mut store).await, (0..7).collect::<Vec<_>>());
}

/// A committed id saved lower than before (openraft never does it; another caller might)
/// does not lower the commit offset recovery gets, so the guard holds at the higher one:
/// a truncation below it would leave a log recovery refuses.
#[tokio::test]
async fn a_truncation_below_the_recorded_commit_offset_is_refused() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..10)).await.unwrap();
    store.save_committed(Some(id(1, 8))).await.unwrap();
    store.save_committed(Some(id(1, 2))).await.unwrap();
    let refused = store.truncate(id(1, 3)).await.unwrap_err().to_string();
    assert!(refused.contains("committed up to 8"), "{refused}");
    store.truncate(id(1, 9)).await.unwrap();
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(indexes(&mut store).await, (0..9).collect::<Vec<_>>());
}

/// A reader (openraft's replication task holds a clone) reading while the log is purged
/// under it gets what the log holds, never an error for entries purged meanwhile.
#[test]
fn a_read_racing_purges_gets_what_remains() {
    let dir = wal_testkit::tempdir();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut store = open(dir.path());
    runtime
        .block_on(store.blocking_append(entries(1, 0..400)))
        .unwrap();
    let mut reader = runtime.block_on(store.get_log_reader());
    let purging = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let still_purging = std::sync::Arc::clone(&purging);
    let reads = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut reads = 0;
        while still_purging.load(std::sync::atomic::Ordering::Acquire) || reads == 0 {
            let read = runtime
                .block_on(reader.try_get_log_entries(0..400))
                .unwrap();
            let held: Vec<u64> = read.iter().map(|e| e.log_id.index).collect();
            let first = held.first().copied().unwrap_or(400);
            assert_eq!(held, (first..400).collect::<Vec<_>>());
            reads += 1;
        }
        reads
    });
    for upto in 0..390 {
        runtime.block_on(store.purge(id(1, upto))).unwrap();
    }
    purging.store(false, std::sync::atomic::Ordering::Release);
    assert!(reads.join().unwrap() > 0);
}

#[tokio::test]
async fn the_vote_and_the_committed_log_id_survive_a_restart() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    assert_eq!(store.read_vote().await.unwrap(), None);
    assert_eq!(store.read_committed().await.unwrap(), None);
    store.blocking_append(entries(1, 0..5)).await.unwrap();
    store.save_vote(&Vote::new(7, 2)).await.unwrap();
    store.save_committed(Some(id(1, 3))).await.unwrap();
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(7, 2)));
    assert_eq!(store.read_committed().await.unwrap(), Some(id(1, 3)));
}

#[tokio::test]
async fn an_entry_that_does_not_decode_or_names_another_index_is_an_error_naming_its_offset() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..3)).await.unwrap();
    drop(store);
    // Another program appends to the walrs log: bytes that are no raft entry, then a
    // raft entry for another index.
    let log = wal_recovery::open(dir.path(), wal_recovery::RecoveryOptions::default())
        .unwrap()
        .log;
    log.append(&[0xff; 9]).unwrap();
    log.append(&postcard::to_allocvec(&entry(1, 9)).unwrap())
        .unwrap();
    log.close().unwrap();
    let mut store = open(dir.path());
    assert_eq!(indexes_up_to(&mut store, 3).await, [0, 1, 2]);
    let undecodable = store
        .try_get_log_entries(0..4)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        undecodable.contains("the entry at offset 3 is not a raft entry"),
        "{undecodable}"
    );
    let elsewhere = store
        .try_get_log_entries(4..5)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        elsewhere.contains("the entry at offset 4 says it is raft index 9"),
        "{elsewhere}"
    );
    let state = store.get_log_state().await.unwrap_err().to_string();
    assert!(state.contains("offset 4"), "{state}");
}

async fn indexes_up_to(store: &mut LogStore<Config>, end: u64) -> Vec<u64> {
    let read = store.try_get_log_entries(..end).await.unwrap();
    read.iter().map(|entry| entry.log_id.index).collect()
}

#[test]
fn a_sync_policy_that_never_syncs_on_its_own_is_refused() {
    let dir = wal_testkit::tempdir();
    let manual =
        Options::default().with_wal(WalOptions::default().with_sync_policy(SyncPolicy::Manual));
    assert!(matches!(
        LogStore::<Config>::open(dir.path(), manual),
        Err(Error::ManualSyncPolicy)
    ));
}

#[test]
fn damaged_raft_state_beside_the_log_is_refused_not_taken_for_a_new_node() {
    let dir = wal_testkit::tempdir();
    let log = wal_recovery::open(dir.path(), wal_recovery::RecoveryOptions::default())
        .unwrap()
        .log;
    log.write_meta(b"\x09not a raft record").unwrap();
    log.close().unwrap();
    assert!(matches!(
        LogStore::<Config>::open(dir.path(), options()),
        Err(Error::MetaVersion {
            found: Some(9),
            supported: 1
        })
    ));
}

#[tokio::test]
async fn a_shut_down_log_refuses_every_call_and_reopens_whole() {
    let dir = wal_testkit::tempdir();
    let mut store = open(dir.path());
    store.blocking_append(entries(1, 0..4)).await.unwrap();
    let mut reader = store.get_log_reader().await;
    store.shutdown().unwrap();
    assert!(store.save_vote(&Vote::new(2, 1)).await.is_err());
    assert!(store.read_vote().await.is_err());
    assert!(store.read_committed().await.is_err());
    assert!(reader.try_get_log_entries(..).await.is_err());
    assert!(store.blocking_append(entries(1, 4..5)).await.is_err());
    assert!(matches!(store.shutdown(), Err(Error::Log(_))));
    drop((store, reader));
    let mut store = open(dir.path());
    assert_eq!(indexes(&mut store).await, [0, 1, 2, 3]);
}

/// A crash test cannot see a flush reported before its sync (a killed process leaves its
/// writes in the page cache); the fault seam can: with the sync held, the append's flush
/// is not reported; with it failed, the flush reports the failure, never success.
#[test]
fn a_flush_is_reported_only_after_its_sync_and_a_failed_sync_is_reported_failed() {
    let dir = wal_testkit::tempdir();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut store = open(dir.path());
    let plan = FaultPlan::install(dir.path());
    let gate = plan.hold(Call::Msync, 1);
    let mut appender = store.clone();
    let append = runtime.spawn(async move { appender.blocking_append(entries(1, 0..3)).await });
    gate.wait_reached();
    // Readable at once (openraft replicates before the flush), not reported flushed.
    let read = runtime.block_on(store.try_get_log_entries(0..3)).unwrap();
    assert_eq!(read.len(), 3);
    assert!(
        !append.is_finished(),
        "a flush reported while its sync is held"
    );
    gate.open();
    runtime.block_on(append).unwrap().unwrap();

    plan.fail(Rule::once(Call::Msync, 1, EIO));
    let failed = runtime
        .block_on(store.blocking_append(entries(1, 3..4)))
        .unwrap_err();
    // The flush callback carries the failed sync to openraft as an I/O error.
    let failed = failed.to_string();
    assert!(
        failed.contains("failed sync") && failed.contains("os error 5"),
        "{failed}"
    );
}
