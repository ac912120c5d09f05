//! Helpers shared by the crash-point, cursor, anchor and exhaustive-damage tests: payloads
//! derived from offsets, small multi-segment logs, snapshots of a directory's bytes (to
//! damage a copy and restore the pristine files), and the parsing of segment files.
//!
//! Directories are made by `wal_testkit::tempdir`, on tmpfs (`/dev/shm`) when there is
//! one: these tests check what recovery does with the files it finds, not what the medium
//! keeps after a power loss, and an fsync of ext4 on the development machine costs
//! milliseconds, which thousands of recoveries cannot afford. Set `WAL_TEST_TMPDIR` to run
//! them in another directory.
#![allow(dead_code, reason = "each test file uses only some of the helpers")]
// Test helpers: a panic here is a failed test, never a crash in a user's process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wal_format::{Codec, Decoded, FileOffset, IndexView};
use wal_recovery::{Log, Recovered, RecoveryOptions, Verification};
use wal_store::internal::naming::{self, FileName};
use wal_store::{SyncPolicy, WalOptions};

// Scratch directories and payloads come from the workspace's test-support crate: the
// payload of entry `offset` is 5 to 20 bytes that name it, so that an entry read at the
// wrong offset, or resurrected from an older history, never passes for the right one;
// `other_payload` differs from it (appended after a truncation).
#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::{
    payload::{short as payload, short_again as other_payload},
    tempdir,
};

/// Recovery options with tiny segments, default mode, no commit offset.
pub fn options(segment_bytes: u32) -> RecoveryOptions {
    RecoveryOptions::default().with_wal(wal_options(segment_bytes))
}

/// Store options with tiny segments; every append durable before it returns.
pub fn wal_options(segment_bytes: u32) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(segment_bytes)
        .with_sync_policy(SyncPolicy::GroupCommit)
}

/// Opens `dir` through recovery, panicking with the error if it refuses.
pub fn open(dir: &Path, options: &RecoveryOptions) -> Recovered {
    match wal_recovery::open(dir, options.clone()) {
        Ok(recovered) => recovered,
        Err(e) => panic!("recovery of {} failed: {e:?}", dir.display()),
    }
}

/// Creates a log of `count` entries ([`payload`]) in `dir`, every one durable, and leaves
/// it as a crash then would: with no close record, so that the next open through
/// recovery checks every record (after a clean close it would trust the log, see
/// tests/close_record_and_recovery.rs). The damage tests start from it.
pub fn write_log(dir: &Path, count: u64, segment_bytes: u32) {
    let recovered = open(dir, &options(segment_bytes));
    append_range(&recovered.log, 0..count);
    recovered.log.sync().unwrap();
    drop(recovered);
    assert!(
        !dir.join(wal_store::internal::closed::CLOSED_FILE_NAME)
            .exists(),
        "a crashed log has no close record"
    );
}

/// Appends [`payload`]`(o)` for every `o` in `range`, checking each offset given.
pub fn append_range(log: &Log, range: std::ops::Range<u64>) {
    for offset in range {
        let appended = log.append(&payload(offset)).unwrap();
        assert_eq!(appended.offset, offset, "offset given to an append");
    }
}

/// `(offset, payload)` for every offset in `range`, as [`payload`] makes them.
pub fn expected(range: std::ops::Range<u64>) -> Vec<(u64, Vec<u8>)> {
    range.map(|o| (o, payload(o))).collect()
}

/// Every entry replay yields (panics on a read error).
pub fn replayed(recovered: &Recovered) -> Vec<(u64, Vec<u8>)> {
    recovered
        .replay()
        .unwrap()
        .map(|e| e.map(|e| (e.offset, e.payload)).unwrap())
        .collect()
}

/// Every entry of the log, oldest first (panics on a read error).
pub fn all_entries(log: &Log) -> Vec<(u64, Vec<u8>)> {
    log.iter()
        .map(|e| e.map(|e| (e.offset, e.payload)).unwrap())
        .collect()
}

/// Base offsets of the segments in `dir` (v2 data files), in order.
pub fn segment_bases(dir: &Path) -> Vec<u64> {
    wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|(base, _)| base)
        .collect()
}

/// The v2 data file of the segment at `base`.
pub fn data_path(dir: &Path, base: u64) -> PathBuf {
    naming::data_path(dir, base, Codec::V2)
}

/// The v2 index file of the segment at `base`.
pub fn index_path(dir: &Path, base: u64) -> PathBuf {
    naming::index_path(dir, base, Codec::V2)
}

/// Names of every entry of `dir` (files and folders), sorted.
#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::snapshot::entry_names as file_names;

/// Names of the leftover temporary files of `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    file_names(dir)
        .into_iter()
        .filter(|n| n.ends_with(naming::TEMP_SUFFIX))
        .collect()
}

/// The bytes of every regular file of a directory (the lock file aside), by name.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Reads every regular file of `dir` but the lock file and the close record.
pub fn snapshot(dir: &Path) -> Files {
    let mut files = wal_testkit::snapshot(dir);
    // The store's close record is left out: recovery neither reads nor changes it, and
    // whether a test's log was closed or dropped decides only whether it exists.
    files.remove(naming::LOCK_FILE_NAME);
    files.remove(wal_store::internal::closed::CLOSED_FILE_NAME);
    files
}

/// Makes `dir` hold exactly `files` again (plus its lock file): removes everything else,
/// folders included, and writes back every file whose bytes differ.
pub fn restore(dir: &Path, files: &Files) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == naming::LOCK_FILE_NAME || files.contains_key(&name) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            std::fs::remove_dir_all(entry.path()).unwrap();
        } else {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_ref() != Some(bytes) {
            std::fs::write(&path, bytes).unwrap();
        }
    }
}

/// Writes `files` into `dir` as its whole content (see [`restore`]).
pub fn write_files(dir: &Path, files: &Files) {
    std::fs::create_dir_all(dir).unwrap();
    restore(dir, files);
}

/// Position of the last non-zero byte, plus one.
pub fn written_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// The records of a v2 data file's valid prefix: `(start, end)` file offsets of each.
pub fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut at = 0u32;
    while let Ok(Decoded::Record { next, .. }) = Codec::V2.decode_record(bytes, FileOffset(at)) {
        found.push((at as usize, next.as_usize()));
        at = next.0;
    }
    found
}

/// The file offsets a v2 index file lists.
pub fn index_offsets(bytes: &[u8]) -> Vec<u32> {
    IndexView::parse(Codec::V2, bytes)
        .unwrap()
        .iter()
        .map(|o| o.0)
        .collect()
}

/// The v2 record for `payload` seeded with `prev_crc`, and its crc.
pub fn encode_record(prev_crc: u32, payload: &[u8]) -> (Vec<u8>, u32) {
    let (record, crc) = wal_testkit::segment::encode_record(Codec::V2, prev_crc, payload);
    (record, crc.unwrap())
}

/// `verify` of `dir`, asserting that it found nothing wrong.
pub fn assert_verified(dir: &Path) -> Verification {
    let verification = wal_recovery::verify(dir, None).unwrap();
    assert!(verification.ok, "verify after recovery: {verification:#?}");
    verification
}

/// Whether a name is a segment file (data or index) of some codec.
pub fn is_segment_file(name: &str) -> bool {
    matches!(
        naming::parse_file_name(name),
        FileName::Data { .. } | FileName::Index { .. }
    )
}

/// The copy of the file `name` in one of the quarantine folders of `dir`.
pub fn find_in_quarantine(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(wal_recovery::QUARANTINE_DIR_NAME);
    for run in std::fs::read_dir(&root).unwrap() {
        let candidate = run.unwrap().path().join(name);
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("{name} is not in {}", root.display());
}
