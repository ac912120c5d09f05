//! Recovery, verify and migration keep the log's logical start (the `SEED` file): after a
//! trim and a restart the log starts where it was trimmed, the segments wholly below the
//! start are neither scanned nor repaired (their damage does not matter), a seed that
//! disagrees with the record it names is reported, a start past every record is the
//! empty log continuing there, and a reset under way reads as the new empty log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod support;

use std::path::Path;

use support::{
    all_entries, append_range, assert_verified, data_path, expected, index_path, open, options,
    payload, replayed, segment_bases, tempdir, write_log,
};
use wal_format::Codec;
use wal_recovery::{Action, ProblemKind, RecoveryError, RecoveryMode};
use wal_store::internal::seed::{LogStart, read_seed, write_seed};
use wal_store::{StoreError, Wal};

/// Entries 0..36 fill segments 0, 10, 20 (sealed, 10 entries each) and 30 (active).
const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 36;

/// The crc entry `offset` chains from, read through a plain open.
fn link_of(dir: &Path, offset: u64) -> u32 {
    let wal = Wal::open(dir, support::wal_options(SEGMENT_BYTES)).unwrap();
    wal.read(offset).unwrap().prev_crc.unwrap()
}

#[test]
fn trim_then_restart_keeps_the_logical_start_for_recovery_and_verify() {
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.log.trim_before(14).unwrap(), 1);
    assert_eq!(recovered.log.first_offset(), 14);
    drop(recovered);

    let verification = assert_verified(dir.path());
    assert_eq!(verification.first_offset, Some(14));
    assert_eq!(verification.last_valid_offset, Some(ENTRIES - 1));
    let recovered = open(
        dir.path(),
        &options(SEGMENT_BYTES).with_mode(RecoveryMode::AbsoluteConsistency),
    );
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 14);
    assert_eq!(recovered.report.replay_from, 14);
    assert_eq!(replayed(&recovered), expected(14..ENTRIES));
    assert_eq!(all_entries(&recovered.log), expected(14..ENTRIES));
    assert!(matches!(
        recovered.log.read(13),
        Err(RecoveryError::Store(StoreError::OffsetOutOfRange {
            first: 14,
            ..
        }))
    ));
    // After a clean close too (the restart through the close record).
    recovered.log.close().unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.from_close_record);
    assert_eq!(recovered.report.first_offset, 14);
    assert_eq!(all_entries(&recovered.log), expected(14..ENTRIES));
}

#[test]
fn damage_below_the_logical_start_does_not_fail_the_open() {
    // A trim that crashed after recording its start, before removing segments 0 and 10;
    // then both were damaged. Nothing below the start is read.
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    write_seed(dir.path(), LogStart::at(20, link_of(dir.path(), 20))).unwrap();
    wal_testkit::damage::flip_byte(&data_path(dir.path(), 0), 30);
    std::fs::remove_file(index_path(dir.path(), 10)).unwrap();

    let verification = assert_verified(dir.path());
    assert_eq!(verification.first_offset, Some(20));
    assert!(verification.problems.is_empty(), "{verification:#?}");
    let recovered = open(
        dir.path(),
        &options(SEGMENT_BYTES).with_mode(RecoveryMode::AbsoluteConsistency),
    );
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 20);
    assert_eq!(all_entries(&recovered.log), expected(20..ENTRIES));
    append_range(&recovered.log, ENTRIES..ENTRIES + 2);
    // The next trim removes them.
    assert_eq!(recovered.log.trim_before(20).unwrap(), 2);
    drop(recovered);
    assert_eq!(segment_bases(dir.path()), [20, 30]);
}

#[test]
fn a_seed_that_disagrees_with_its_record_is_reported() {
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    let link = link_of(dir.path(), 23);
    write_seed(dir.path(), LogStart::at(23, link ^ 0x10)).unwrap();

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok, "{verification:#?}");
    assert!(
        verification
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::SeedCorrupt && p.detail.contains("starts at 23")),
        "{verification:#?}"
    );
    let refused = wal_recovery::open(
        dir.path(),
        options(SEGMENT_BYTES).with_mode(RecoveryMode::AbsoluteConsistency),
    );
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        read_seed(dir.path()).unwrap(),
        Some(LogStart::at(23, link ^ 0x10))
    );
    // The default mode moves the file to quarantine and says so: the log then starts at
    // its first record again, never silently.
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(
        recovered
            .report
            .actions
            .iter()
            .any(|a| matches!(a, Action::FileQuarantined { from, .. } if from.ends_with("SEED"))),
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.report.first_offset, 0);
}

#[test]
fn a_start_past_every_record_is_the_empty_log_continuing_there() {
    // Even with a torn tail in the old records: they are all trimmed.
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    write_seed(dir.path(), LogStart::at(100, 0xC0FFEE)).unwrap();
    let active = data_path(dir.path(), 30);
    let written = support::written_len(&std::fs::read(&active).unwrap());
    wal_testkit::damage::overwrite(&active, written, &[0, 0, 0, 9, 1, 2, 3]);

    let verification = assert_verified(dir.path());
    assert_eq!(verification.first_offset, Some(100));
    assert_eq!(verification.last_valid_offset, None);
    assert!(verification.segments.is_empty());
    let recovered = open(
        dir.path(),
        &options(SEGMENT_BYTES).with_mode(RecoveryMode::AbsoluteConsistency),
    );
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 100);
    assert_eq!(recovered.report.last_offset, None);
    assert_eq!(recovered.log.last_crc(), Some(0xC0FFEE));
    assert_eq!(recovered.log.append(&payload(100)).unwrap().offset, 100);
    assert_eq!(recovered.log.read(100).unwrap().prev_crc, Some(0xC0FFEE));
    drop(recovered);
    assert_eq!(segment_bases(dir.path()), [100]);
    assert_verified(dir.path());
}

#[test]
fn a_reset_under_way_reads_as_the_new_empty_log() {
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    let resetting = LogStart {
        resetting: true,
        ..LogStart::at(3, 77)
    };
    write_seed(dir.path(), resetting).unwrap();
    let verification = assert_verified(dir.path());
    assert_eq!(verification.first_offset, Some(3));
    assert!(verification.segments.is_empty());
    // Verify changed nothing; the open finishes the reset.
    assert_eq!(read_seed(dir.path()).unwrap(), Some(resetting));
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.first_offset, 3);
    assert_eq!(recovered.log.next_offset(), 3);
    assert_eq!(recovered.log.last_crc(), Some(77));
    drop(recovered);
    assert_eq!(segment_bases(dir.path()), [3]);
    assert_eq!(read_seed(dir.path()).unwrap(), Some(LogStart::at(3, 77)));
}

#[test]
fn reset_through_the_front_door_survives_recovery() {
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.reset_to(1000, 0xABCD).unwrap();
    assert_eq!(recovered.log.next_offset(), 1000);
    append_range(&recovered.log, 1000..1003);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 1000);
    assert_eq!(all_entries(&recovered.log), expected(1000..1003));
    assert_eq!(recovered.log.read(1000).unwrap().prev_crc, Some(0xABCD));
    // Backward, below every offset the log had.
    recovered.log.reset_to(0, 5).unwrap();
    append_range(&recovered.log, 0..2);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(all_entries(&recovered.log), expected(0..2));
    assert_eq!(recovered.log.read(0).unwrap().prev_crc, Some(5));
    drop(recovered);
    assert_verified(dir.path());
}

#[test]
fn migration_keeps_the_logical_start_and_relinks_its_seed() {
    let dir = tempdir();
    let v1 = support::wal_options(SEGMENT_BYTES).with_codec(Codec::V1);
    let wal = Wal::open(dir.path(), v1.clone()).unwrap();
    for offset in 0..ENTRIES {
        wal.append(&payload(offset)).unwrap();
    }
    // Inside the first segment kept, and not at a segment's start.
    wal.trim_before(13).unwrap();
    wal.close().unwrap();
    let migration = wal_recovery::migrate(dir.path(), Codec::V2).unwrap();
    assert!(!migration.converted.is_empty());

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 13);
    assert_eq!(all_entries(&recovered.log), expected(13..ENTRIES));
    let seed = read_seed(dir.path()).unwrap().unwrap();
    assert_eq!(seed.offset, 13);
    assert_eq!(recovered.log.read(13).unwrap().prev_crc, Some(seed.crc));
    drop(recovered);
    let verification = assert_verified(dir.path());
    assert_eq!(verification.first_offset, Some(13));
    let wal = Wal::open(dir.path(), support::wal_options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), 13);
    wal.close().unwrap();
}

#[test]
fn compare_sees_the_logical_start() {
    let a = tempdir();
    let b = tempdir();
    for dir in [a.path(), b.path()] {
        write_log(dir, ENTRIES, SEGMENT_BYTES);
    }
    assert!(wal_recovery::compare(a.path(), b.path()).unwrap().identical);
    let trim = |dir: &Path, offset: u64| {
        let recovered = open(dir, &options(SEGMENT_BYTES));
        recovered.log.trim_before(offset).unwrap();
    };
    // Both keep segments 10, 20 and 30 on disk; a starts at 14, b at 10.
    trim(a.path(), 14);
    trim(b.path(), 10);
    assert_eq!(segment_bases(a.path()), segment_bases(b.path()));
    let divergence = wal_recovery::compare(a.path(), b.path()).unwrap();
    assert!(!divergence.identical, "{divergence:?}");
    trim(b.path(), 14);
    let divergence = wal_recovery::compare(a.path(), b.path()).unwrap();
    assert!(divergence.identical, "{divergence:?}");
    assert_eq!(divergence.common_last_offset, Some(ENTRIES - 1));
}

#[test]
fn a_v1_log_trimmed_to_its_end_reopens_empty_there() {
    // Found by the `model` fuzz target: the start sat at the end of the only v1 segment,
    // and the open read the entry there as the start's record (no record, no crc) instead
    // of taking the log as the empty one continuing at the start.
    let dir = tempdir();
    let wal_options = support::wal_options(SEGMENT_BYTES).with_codec(Codec::V1);
    let wal = Wal::open(dir.path(), wal_options.clone()).unwrap();
    assert_eq!(wal.append(&payload(0)).unwrap().offset, 0);
    wal.trim_before(1).unwrap();
    assert_eq!(wal.first_offset(), 1);
    drop(wal);
    let wal = Wal::open(dir.path(), wal_options.clone()).unwrap();
    assert_eq!((wal.first_offset(), wal.next_offset()), (1, 1));
    drop(wal);

    let recovered = open(
        dir.path(),
        &options(SEGMENT_BYTES).with_wal(wal_options.clone()),
    );
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.log.first_offset(), 1);
    assert_eq!(recovered.log.next_offset(), 1);
    assert_eq!(all_entries(&recovered.log), expected(1..1));
    assert_eq!(recovered.log.append(&payload(1)).unwrap().offset, 1);
    assert_eq!(all_entries(&recovered.log), expected(1..2));
    recovered.log.close().unwrap();

    let wal = Wal::open(dir.path(), wal_options).unwrap();
    assert_eq!(wal.first_offset(), 1);
    assert_eq!(wal.read(1).unwrap().payload, payload(1));
    wal.close().unwrap();
    assert_verified(dir.path());
}

#[test]
fn repair_of_a_log_trimmed_to_its_end_reports_no_last_crc() {
    // Found by the `model` fuzz target: the trimmed record still on disk below the start
    // gave `repair`'s report a last crc, though the log holds no entry.
    let dir = tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    append_range(&recovered.log, 0..1);
    recovered.log.trim_before(1).unwrap();
    assert_eq!(recovered.log.first_offset(), 1);
    recovered.log.close().unwrap();
    assert_eq!(segment_bases(dir.path()), vec![0]);

    let report = wal_recovery::repair(dir.path(), RecoveryMode::TolerateCorruptTail, None).unwrap();
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(report.first_offset, 1);
    assert_eq!(report.last_offset, None);
    assert_eq!(report.last_crc, None);
}
