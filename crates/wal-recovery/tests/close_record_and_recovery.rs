//! Recovery and the store's close record (`CLOSED`): recovery never relies on it, leaves
//! it alone when it changes nothing, and removes it before a cut changes the active
//! segment, so that the record never outlives the segment it describes.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod support;

use std::fs;

use support::{append_range, expected, open, options, replayed};
use wal_store::internal::closed::CLOSED_FILE_NAME;

const SEGMENT_BYTES: u32 = 1024;

#[test]
fn recovery_of_a_clean_log_leaves_the_close_record() {
    let dir = wal_testkit::tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    append_range(&recovered.log, 0..50);
    recovered.log.close().unwrap();
    let record = fs::read(dir.path().join(CLOSED_FILE_NAME)).unwrap();

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(replayed(&recovered), expected(0..50));
    assert_eq!(fs::read(dir.path().join(CLOSED_FILE_NAME)).unwrap(), record);
}

#[test]
fn a_cut_of_the_active_segment_removes_the_close_record_first() {
    let dir = wal_testkit::tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    append_range(&recovered.log, 0..50);
    let active_base = active_base_of(&recovered.log);
    assert!(active_base > 0, "the log spans segments");
    recovered.log.close().unwrap();
    assert!(dir.path().join(CLOSED_FILE_NAME).exists());

    // The last byte of the last record flipped: with no commit point, a torn tail.
    let path = wal_store::internal::naming::data_path(
        dir.path(),
        active_base,
        wal_store::format::Codec::V2,
    );
    let end = support::written_len(&fs::read(&path).unwrap());
    wal_testkit::damage::xor_byte(&path, end - 1, 0x01);

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(!recovered.report.is_clean());
    assert_eq!(replayed(&recovered), expected(0..49));
    assert!(
        !dir.path().join(CLOSED_FILE_NAME).exists(),
        "the record outlived the cut"
    );
    drop(recovered);
    // A plain open afterwards scans the cut segment and agrees.
    let wal = wal_store::Wal::open(dir.path(), options(SEGMENT_BYTES).wal).unwrap();
    assert_eq!(wal.next_offset(), 49);
}

/// Base of the log's last segment.
fn active_base_of(log: &wal_recovery::Log) -> u64 {
    wal_store::list_segments(log.dir())
        .unwrap()
        .last()
        .unwrap()
        .0
}
