//! `SkipCorrupted`: damaged records whose boundaries are known become holes; everything
//! else is kept, and the holes survive reopening, truncation and trimming.

// Helpers outside #[test] functions panic on failure too: in a test, a panic is a failed
// test, not a crash in a user's process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::Path;

use wal_recovery::{Action, RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::{StoreError, WalOptions};
use wal_testkit::damage::{xor_byte, zero_range};

const SEGMENT_BYTES: u32 = 512;

fn options(mode: RecoveryMode) -> RecoveryOptions {
    RecoveryOptions::default()
        .with_mode(mode)
        .with_wal(WalOptions::default().with_segment_bytes(SEGMENT_BYTES))
}

fn payload(o: u64) -> Vec<u8> {
    wal_testkit::payload::labelled(o, 4)
}

/// 100 entries of 10 bytes (22-byte records): about 23 per segment, all durable, left as
/// a crash would leave them (no close record, so that recovery checks every record).
fn write_log(dir: &Path) -> Vec<(u64, wal_format::Codec)> {
    let recovered = wal_recovery::open(dir, options(RecoveryMode::TolerateCorruptTail)).unwrap();
    for o in 0..100 {
        recovered.log.append(&payload(o)).unwrap();
    }
    recovered.log.sync().unwrap();
    drop(recovered);
    wal_store::list_segments(dir).unwrap()
}

/// Flips a payload byte of the record at `position` of the segment at `base`.
fn damage_record(dir: &Path, base: u64, position: usize) {
    let path = dir.join(format!("{base}.txnx"));
    xor_byte(&path, position * 22 + 12 + 3, 0x40);
}

fn offsets_read(recovered: &wal_recovery::Recovered) -> Vec<u64> {
    recovered
        .log
        .iter()
        .map(|e| {
            let e = e.unwrap();
            assert_eq!(e.payload, payload(e.offset));
            e.offset
        })
        .collect()
}

fn all_but(skipped: &[u64], end: u64) -> Vec<u64> {
    (0..end).filter(|o| !skipped.contains(o)).collect()
}

#[test]
fn a_damaged_record_in_a_sealed_segment_becomes_a_hole() {
    let dir = wal_testkit::tempdir();
    let segments = write_log(dir.path());
    let (base, _) = segments[1];
    damage_record(dir.path(), base, 3);
    let hole = base + 3;

    // The default mode refuses: the damage is committed.
    assert!(matches!(
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)),
        Err(RecoveryError::CommittedCorruption { .. })
    ));
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert!(
        recovered.report.actions.contains(&Action::HoleLeft {
            offsets: hole..hole + 1
        }),
        "{:#?}",
        recovered.report.actions
    );
    assert_eq!(offsets_read(&recovered), all_but(&[hole], 100));
    assert!(matches!(
        recovered.log.read(hole),
        Err(RecoveryError::Store(StoreError::OffsetOutOfRange { .. }))
    ));
    let reversed: Vec<u64> = recovered
        .log
        .iter_rev()
        .map(|e| e.unwrap().offset)
        .collect();
    assert_eq!(
        reversed,
        all_but(&[hole], 100).into_iter().rev().collect::<Vec<_>>()
    );
    recovered.log.append(&payload(100)).unwrap();
    recovered.log.close().unwrap();

    // The hole is known from now on: the default mode opens cleanly.
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(offsets_read(&recovered), all_but(&[hole], 101));
}

#[test]
fn a_damaged_record_in_the_active_segment_is_skipped_by_its_own_size() {
    let dir = wal_testkit::tempdir();
    let segments = write_log(dir.path());
    let (base, _) = *segments.last().unwrap();
    damage_record(dir.path(), base, 2);
    let hole = base + 2;
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert!(recovered.report.actions.contains(&Action::HoleLeft {
        offsets: hole..hole + 1
    }));
    assert_eq!(offsets_read(&recovered), all_but(&[hole], 100));
    // Appends go on after the last entry, chained from it.
    let last = recovered.log.read(99).unwrap();
    let appended = recovered.log.append(&payload(100)).unwrap();
    assert_eq!(appended.offset, 100);
    assert_eq!(recovered.log.read(100).unwrap().prev_crc, last.crc);
    recovered.log.close().unwrap();
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(offsets_read(&recovered), all_but(&[hole], 101));
}

#[test]
fn a_lost_page_in_the_active_segment_is_cut_where_boundaries_are_unknown() {
    let dir = wal_testkit::tempdir();
    let segments = write_log(dir.path());
    let (base, _) = *segments.last().unwrap();
    let path = dir.path().join(format!("{base}.txnx"));
    zero_range(&path, 2 * 22..2 * 22 + 4); // record 2's size reads 0
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(offsets_read(&recovered), (0..base + 2).collect::<Vec<_>>());
    let cut = recovered.report.cut.clone().unwrap();
    assert_eq!(cut.offsets.start, base + 2);
    assert!(cut.quarantine.exists());
}

#[test]
fn a_missing_sealed_segment_becomes_a_hole() {
    let dir = wal_testkit::tempdir();
    let segments = write_log(dir.path());
    let (base, _) = segments[1];
    let (next, _) = segments[2];
    fs::remove_file(dir.path().join(format!("{base}.txnx"))).unwrap();
    fs::remove_file(dir.path().join(format!("{base}.idxx"))).unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert!(recovered.report.actions.contains(&Action::HoleLeft {
        offsets: base..next
    }));
    let skipped: Vec<u64> = (base..next).collect();
    assert_eq!(offsets_read(&recovered), all_but(&skipped, 100));
}

#[test]
fn truncating_into_a_hole_and_trimming_past_it() {
    let dir = wal_testkit::tempdir();
    let segments = write_log(dir.path());
    let (base, _) = segments[1];
    damage_record(dir.path(), base, 3);
    let hole = base + 3;
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    // Truncating after an offset inside the hole keeps what precedes it.
    recovered.log.truncate_after(hole).unwrap();
    assert_eq!(recovered.log.next_offset(), hole);
    assert_eq!(offsets_read(&recovered), (0..hole).collect::<Vec<_>>());
    for o in hole..hole + 30 {
        recovered.log.append(&payload(o)).unwrap();
    }
    recovered.log.close().unwrap();
    assert!(
        !dir.path()
            .join(wal_store::internal::holes::HOLES_FILE_NAME)
            .exists()
    );
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(offsets_read(&recovered), (0..hole + 30).collect::<Vec<_>>());
}

#[test]
fn trimming_past_a_hole_forgets_it() {
    let dir = wal_testkit::tempdir();
    let segments = write_log(dir.path());
    let (base, _) = segments[0];
    damage_record(dir.path(), base, 5);
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    let removed = recovered.log.trim_before(segments[2].0).unwrap();
    assert!(removed >= 2);
    recovered.log.close().unwrap();
    assert!(
        !dir.path()
            .join(wal_store::internal::holes::HOLES_FILE_NAME)
            .exists()
    );
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(
        offsets_read(&recovered),
        (recovered.log.first_offset()..100).collect::<Vec<_>>()
    );
}
