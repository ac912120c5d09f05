//! Recovery, verify and migration keep the log's logical start (the `SEED` file): after a
//! trim and a restart the log starts where it was trimmed, the segments wholly below the
//! start are neither scanned nor repaired (their damage does not matter), a seed that
//! disagrees with the record it names is reported, a plain start past every record is
//! lost entries (refused by default, a reset to the start under an explicit mode), and a
//! reset under way reads as the new empty log.

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
    // The default mode moves the file to quarantine and says so, after the segments
    // wholly below the start (trimmed entries never come back as part of the log): the
    // log then starts at the first record of the segment that held the start, never
    // silently.
    let start_segment = wal_store::list_segments(dir.path())
        .unwrap()
        .into_iter()
        .map(|(base, _)| base)
        .filter(|&base| base <= 23)
        .max()
        .unwrap();
    assert!(start_segment > 0);
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
    let trimmed_away = recovered
        .report
        .actions
        .iter()
        .filter(|a| matches!(a, Action::FileQuarantined { from, .. } if from.extension().is_some_and(|e| e == "txnx")))
        .count();
    assert!(trimmed_away > 0, "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, start_segment);
}

/// A log of `ENTRIES` entries with a torn tail, and a plain (unflagged) start past every
/// record: entries `ENTRIES..100` were durable when the start was written, and are gone.
fn log_with_a_start_past_its_records(dir: &Path) {
    write_log(dir, ENTRIES, SEGMENT_BYTES);
    write_seed(dir, LogStart::at(100, 0xC0FFEE)).unwrap();
    let active = data_path(dir, 30);
    let written = support::written_len(&std::fs::read(&active).unwrap());
    wal_testkit::damage::overwrite(&active, written, &[0, 0, 0, 9, 1, 2, 3]);
}

#[test]
fn a_plain_start_past_every_record_is_lost_entries_that_nothing_deletes() {
    let dir = tempdir();
    log_with_a_start_past_its_records(dir.path());
    let before = support::snapshot(dir.path());

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok, "{verification:#?}");
    let lost = verification
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::MissingEntries)
        .unwrap_or_else(|| panic!("{verification:#?}"));
    assert!(lost.committed);
    assert_eq!(lost.offset, Some(ENTRIES));
    // The records read as they are, from the first (as walctl's read-only commands show
    // them).
    assert_eq!(verification.first_offset, Some(0));
    assert_eq!(verification.last_valid_offset, Some(ENTRIES - 1));

    // The default mode refuses, and so does `AbsoluteConsistency`; the store's own open
    // refuses too. Nothing on disk changes.
    let refused = wal_recovery::open(dir.path(), options(SEGMENT_BYTES));
    assert!(
        matches!(refused, Err(RecoveryError::CommittedCorruption { ref problem, .. })
            if problem.kind == ProblemKind::MissingEntries),
        "{refused:?}"
    );
    // The advice counts what a point-in-time recovery, a reset to the start, would
    // drop: every record (there is no cursor), not none.
    if let Err(RecoveryError::CommittedCorruption { advice, .. }) = &refused {
        assert_eq!(advice.point_in_time_drops_unread.start, 0);
        assert!(advice.unread_dropped() >= ENTRIES, "{advice:?}");
    }
    let refused = wal_recovery::open(
        dir.path(),
        options(SEGMENT_BYTES).with_mode(RecoveryMode::AbsoluteConsistency),
    );
    assert!(
        matches!(refused, Err(RecoveryError::Inconsistent { .. })),
        "{refused:?}"
    );
    let refused = Wal::open(dir.path(), support::wal_options(SEGMENT_BYTES));
    assert!(
        matches!(
            refused,
            Err(StoreError::Layout { .. } | StoreError::NeedsRecovery { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(support::snapshot(dir.path()), before);
}

#[test]
fn point_in_time_resets_to_a_start_past_every_record_reporting_what_was_lost() {
    for mode in [RecoveryMode::PointInTime, RecoveryMode::SkipCorrupted] {
        let dir = tempdir();
        log_with_a_start_past_its_records(dir.path());
        let recovered = open(dir.path(), &options(SEGMENT_BYTES).with_mode(mode));
        assert!(
            recovered.report.actions.contains(&Action::LogReset {
                offset: 100,
                lost: ENTRIES..100
            }),
            "{mode:?}: {:#?}",
            recovered.report
        );
        assert_eq!(recovered.report.first_offset, 100);
        assert_eq!(recovered.report.last_offset, None);
        assert_eq!(recovered.log.last_crc(), Some(0xC0FFEE));
        assert_eq!(recovered.log.append(&payload(100)).unwrap().offset, 100);
        assert_eq!(recovered.log.read(100).unwrap().prev_crc, Some(0xC0FFEE));
        drop(recovered);
        assert_eq!(segment_bases(dir.path()), [100]);
        assert_verified(dir.path());
    }
}

#[test]
fn repair_resets_to_a_start_past_every_record_and_the_store_finishes_it() {
    let dir = tempdir();
    log_with_a_start_past_its_records(dir.path());
    let refused = wal_recovery::repair(dir.path(), RecoveryMode::TolerateCorruptTail, None);
    assert!(
        matches!(refused, Err(RecoveryError::CommittedCorruption { .. })),
        "{refused:?}"
    );
    let report = wal_recovery::repair(dir.path(), RecoveryMode::PointInTime, None).unwrap();
    assert!(
        report.actions.contains(&Action::LogReset {
            offset: 100,
            lost: ENTRIES..100
        }),
        "{report:#?}"
    );
    assert_eq!(report.first_offset, 100);
    assert_eq!(report.last_offset, None);
    let wal = Wal::open(dir.path(), support::wal_options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), 100);
    assert_eq!(wal.next_offset(), 100);
    assert_eq!(wal.last_crc(), Some(0xC0FFEE));
    drop(wal);
    assert_eq!(segment_bases(dir.path()), [100]);
}

#[test]
fn a_lost_last_segment_holding_the_start_is_refused_not_reset() {
    // A start inside the active segment (as a trim leaves it before it removes the
    // segments below), then that segment's file lost: the start lies past what the sealed
    // segments hold. The intact sealed entries are below the start, but
    // the start's own entries are gone: reported, never a silent empty log.
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    write_seed(dir.path(), LogStart::at(33, link_of(dir.path(), 33))).unwrap();
    std::fs::remove_file(data_path(dir.path(), 30)).unwrap();
    let before = support::snapshot(dir.path());
    let refused = wal_recovery::open(dir.path(), options(SEGMENT_BYTES));
    assert!(
        matches!(refused, Err(RecoveryError::CommittedCorruption { .. })),
        "{refused:?}"
    );
    assert_eq!(support::snapshot(dir.path()), before);
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

#[test]
fn a_crash_inside_a_reset_compares_commit_offset_and_cursor_with_its_start() {
    // A snapshot installed at 1000, `reset_to(1001)`, a crash after the flag: the commit
    // offset and the cursor (1000) are judged against the log the finished reset leaves,
    // which ends at 1001, as they would be after it.
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    // The consumer applied the snapshot: it finalized everything up to 1000.
    std::fs::write(
        dir.path().join(wal_recovery::cursor::CURSOR_FILE_NAME),
        wal_recovery::cursor::encode_cursor(1000),
    )
    .unwrap();
    let resetting = LogStart {
        resetting: true,
        ..LogStart::at(1001, 0xBEEF)
    };
    write_seed(dir.path(), resetting).unwrap();
    let recovered = open(
        dir.path(),
        &options(SEGMENT_BYTES).with_commit_offset(Some(1000)),
    );
    assert!(
        !recovered
            .report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::MissingEntries),
        "{:#?}",
        recovered.report
    );
    assert!(
        recovered.report.actions.is_empty(),
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.report.first_offset, 1001);
    assert_eq!(recovered.report.replay_from, 1001);
    assert_eq!(recovered.log.next_offset(), 1001);
    drop(recovered);
    assert_eq!(segment_bases(dir.path()), [1001]);

    // A commit offset past the reset's start is still entries the log lacks.
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    write_seed(dir.path(), resetting).unwrap();
    let refused = wal_recovery::open(
        dir.path(),
        options(SEGMENT_BYTES).with_commit_offset(Some(1001)),
    );
    assert!(
        matches!(refused, Err(RecoveryError::CommittedCorruption { ref problem, .. })
            if problem.kind == ProblemKind::MissingEntries),
        "{refused:?}"
    );
}

/// One segment of 100 entries, the log trimmed to start at `start`.
fn one_segment_trimmed_to(dir: &Path, start: u64) {
    write_log(dir, 100, 64 * 1024);
    let recovered = open(dir, &options(64 * 1024));
    recovered.log.trim_before(start).unwrap();
    assert_eq!(segment_bases(dir), [0]);
    drop(recovered);
}

#[test]
fn damage_below_the_start_in_its_segment_is_never_cut_away_with_the_start() {
    // A lost write zeroes entries 10..14, below the start (98): the scan counts the
    // zeroed stretch as one entry, so the records seem to reach 96 only. That is no
    // proof of a start past the records, and the damage lies in entries that were
    // durable (a trim syncs first): recovery refuses rather than cut at 10 (which would
    // take 98 and 99 with it) or void the log. Nothing on disk changes.
    let dir = tempdir();
    one_segment_trimmed_to(dir.path(), 98);
    let data = data_path(dir.path(), 0);
    let records = support::records(&std::fs::read(&data).unwrap());
    wal_testkit::damage::zero_range(&data, records[10].0..records[14].1);
    let before = support::snapshot(dir.path());

    let refused = wal_recovery::open(dir.path(), options(64 * 1024));
    assert!(
        matches!(refused, Err(RecoveryError::CommittedCorruption { .. })),
        "{refused:?}"
    );
    assert_eq!(support::snapshot(dir.path()), before);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(
        verification.problems.iter().all(|p| p.committed),
        "{verification:#?}"
    );
    // Nor does it claim the start's entries lost: the records may reach past the count.
    assert!(
        !verification
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::MissingEntries),
        "{verification:#?}"
    );
}

#[test]
fn a_segment_named_near_the_largest_offset_is_analysed_without_overflow() {
    // Names are disk input: a segment whose base plus its entries passes u64::MAX, with
    // a start inside it, is reported or read, never a panic.
    let dir = tempdir();
    let base = u64::MAX - 2;
    let mut bytes = Vec::new();
    let mut crc = 0;
    for offset in 0..5u64 {
        let (record, next) = support::encode_record(crc, &payload(offset));
        bytes.extend_from_slice(&record);
        crc = next;
    }
    std::fs::write(data_path(dir.path(), base), &bytes).unwrap();
    write_seed(dir.path(), LogStart::at(u64::MAX - 1, 0)).unwrap();
    let verification = wal_recovery::verify(dir.path(), None);
    assert!(verification.is_ok(), "{verification:?}");
    let _ = wal_recovery::open(dir.path(), options(SEGMENT_BYTES));
}

#[test]
fn an_explicit_mode_that_cuts_below_the_start_resets_the_log_to_it() {
    // Point-in-time cuts at the first damage, below the start: the log then continues
    // at its start (the consumer trimmed everything below it), reported, rather than
    // leaving a start past the records that the store's open refuses.
    let dir = tempdir();
    one_segment_trimmed_to(dir.path(), 98);
    let data = data_path(dir.path(), 0);
    let records = support::records(&std::fs::read(&data).unwrap());
    wal_testkit::damage::zero_range(&data, records[10].0..records[14].1);
    let valid = support::records(&std::fs::read(&data).unwrap()).len();
    assert_eq!(valid, 10, "the valid prefix ends at the damage");
    let seed = read_seed(dir.path()).unwrap().unwrap();
    let recovered = open(
        dir.path(),
        &options(64 * 1024).with_mode(RecoveryMode::PointInTime),
    );
    assert!(
        recovered.report.actions.contains(&Action::LogReset {
            offset: 98,
            lost: 10..98
        }),
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.report.first_offset, 98);
    assert_eq!(recovered.log.next_offset(), 98);
    assert_eq!(recovered.log.last_crc(), Some(seed.crc));
    assert_eq!(recovered.log.append(&payload(98)).unwrap().offset, 98);
    drop(recovered);
    assert_eq!(segment_bases(dir.path()), [98]);
    assert_verified(dir.path());
}
