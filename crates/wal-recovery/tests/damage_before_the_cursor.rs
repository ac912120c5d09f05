//! Damage in entries the consumer has already consumed never costs the unread ones (issue
//! 20, point 3): with the cursor at 30 and a flipped byte in entry 3, or a segment missing
//! wholly before the cursor, the default mode opens the log, reports the damage as
//! consumed, replays 31..=39, and appends and trims go on; `verify` calls the cursor
//! fine; the trim of the damaged prefix is offered (`trim_consumed_damage`), never
//! forced; and a refusal's advice names the unread entries a point-in-time cut drops.
// Test code: a panic is a failed test. The helpers below are not `#[test]` functions, so
// the workspace's denial of these lints is lifted for the whole file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::fs;
use std::path::Path;

use support::{
    data_path, expected, find_in_quarantine, index_path, open, options, payload, records, replayed,
    segment_bases, tempdir, write_log,
};
use wal_recovery::{
    Action, CursorState, Error, ProblemKind, RecoveryMode, StoreError, trim_consumed_damage,
};

/// 40 entries in segments 0, 10, 20 (sealed) and 30 (active).
const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 40;
const CURSOR: u64 = 30;

/// The log: 40 entries, the consumer's cursor at 30, as a crash leaves it.
fn consumed_to_30(dir: &Path) {
    write_log(dir, ENTRIES, SEGMENT_BYTES);
    assert_eq!(
        segment_bases(dir),
        [0, 10, 20, 30],
        "layout of the test log"
    );
    let recovered = open(dir, &options(SEGMENT_BYTES));
    recovered.log.set_cursor(CURSOR).unwrap();
    drop(recovered);
}

/// Flips a payload byte of entry `offset`, in the segment at `base`.
fn flip_entry(dir: &Path, base: u64, offset: u64) {
    let path = data_path(dir, base);
    let bytes = fs::read(&path).unwrap();
    let (start, end) = records(&bytes)[usize::try_from(offset - base).unwrap()];
    wal_testkit::damage::flip_byte(&path, end - 1);
    assert!(end - 1 > start, "a payload byte");
}

/// The segment at 10 (entries 10..=19) gone, files and all.
fn remove_segment_10(dir: &Path) {
    fs::remove_file(data_path(dir, 10)).unwrap();
    fs::remove_file(index_path(dir, 10)).unwrap();
}

fn kinds(problems: &[wal_recovery::Problem]) -> Vec<(ProblemKind, Option<u64>, bool, bool)> {
    problems
        .iter()
        .map(|p| (p.kind, p.offset, p.committed, p.consumed))
        .collect()
}

/// What every damaged case must show: the log opens in the default mode, the damage is
/// reported as consumed (`damage`), replay gives 31..=39, entries in the damage fail to
/// read with a typed error, appends and a trim past the damage work, and `verify` reports
/// the damage as consumed and the cursor as fine.
fn assert_costs_no_unread_entry(
    dir: &Path,
    damage: std::ops::Range<u64>,
    problem: (ProblemKind, u64),
    unreadable: u64,
) {
    let verification = wal_recovery::verify(dir, None).unwrap();
    assert!(!verification.ok, "damage is damage: {verification:#?}");
    assert_eq!(verification.cursor, CursorState::At(CURSOR));
    assert_eq!(verification.damage_before_cursor, Some(damage.clone()));
    assert_eq!(
        kinds(&verification.problems),
        [(problem.0, Some(problem.1), true, true)],
        "the damage, consumed; no cursor_out_of_range"
    );
    assert_eq!(verification.last_valid_offset, Some(ENTRIES - 1));

    let recovered = open(dir, &options(SEGMENT_BYTES));
    let report = &recovered.report;
    assert_eq!(report.damage_before_cursor, Some(damage.clone()));
    assert_eq!(kinds(&report.problems), kinds(&verification.problems));
    assert!(
        report.actions.is_empty(),
        "nothing forced: {:?}",
        report.actions
    );
    assert_eq!(report.cut, None);
    assert!(!report.is_clean());
    assert_eq!(report.replay_from, CURSOR + 1);
    assert_eq!(replayed(&recovered), expected(CURSOR + 1..ENTRIES));
    let log = &recovered.log;
    assert!(
        matches!(
            log.read(unreadable),
            Err(Error::Store(
                StoreError::Corrupt { .. }
                    | StoreError::Layout { .. }
                    | StoreError::NeedsRecovery { .. }
            ))
        ),
        "entry {unreadable}: {:?}",
        log.read(unreadable)
    );
    // Appends and trims go on, and nothing after the cursor is lost.
    assert_eq!(log.append(&payload(ENTRIES)).unwrap().offset, ENTRIES);
    // A trim short of the damage (the segments wholly before it, if any).
    log.trim_before(damage.start).unwrap();
    assert!(log.first_offset() <= damage.start);
    log.set_cursor(ENTRIES - 2).unwrap();
    drop(recovered);

    // Reported again at the next open: the log wrote no close record to trust instead.
    let again = open(dir, &options(SEGMENT_BYTES));
    assert_eq!(again.report.damage_before_cursor, Some(damage.clone()));
    assert_eq!(replayed(&again), expected(ENTRIES - 1..ENTRIES + 1));
    // A trim past the damage.
    assert!(again.log.trim_before(CURSOR).unwrap() > 0);
    assert_eq!(segment_bases(dir)[0], CURSOR, "trimmed past the damage");
    drop(again);
    let trimmed = open(dir, &options(SEGMENT_BYTES));
    assert!(trimmed.report.is_clean(), "{:#?}", trimmed.report);
    assert_eq!(trimmed.report.damage_before_cursor, None);
}

#[test]
fn a_flipped_byte_in_a_consumed_entry_costs_no_unread_entry() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry(dir.path(), 0, 3);
    assert_costs_no_unread_entry(dir.path(), 3..10, (ProblemKind::CrcMismatch, 3), 3);
}

#[test]
fn a_segment_missing_wholly_before_the_cursor_costs_no_unread_entry() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    remove_segment_10(dir.path());
    assert_costs_no_unread_entry(dir.path(), 10..20, (ProblemKind::SegmentGap, 10), 15);
}

#[test]
fn damage_in_the_first_record_of_a_consumed_segment_costs_no_unread_entry() {
    // The store checks a sealed segment's first and last records when it opens it: a
    // segment set aside is opened only by a read that reaches it.
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry(dir.path(), 20, 20);
    assert_costs_no_unread_entry(dir.path(), 20..30, (ProblemKind::CrcMismatch, 20), 20);
}

#[test]
fn the_trim_of_the_consumed_damage_is_offered_and_quarantines_first() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry(dir.path(), 0, 3);
    let damaged = fs::read(data_path(dir.path(), 0)).unwrap();
    let report = trim_consumed_damage(dir.path()).unwrap();
    let cut = report.cut.clone().unwrap();
    assert_eq!(cut.offsets, 0..10);
    assert!(cut.committed);
    assert_eq!(report.first_offset, 10);
    assert_eq!(report.last_offset, Some(ENTRIES - 1));
    assert_eq!(report.replay_from, CURSOR + 1);
    let moved: Vec<_> = report
        .actions
        .iter()
        .filter(|a| matches!(a, Action::FileQuarantined { .. }))
        .collect();
    assert_eq!(moved.len(), 2, "{:?}", report.actions);
    assert_eq!(
        fs::read(find_in_quarantine(dir.path(), "0.txnx")).unwrap(),
        damaged,
        "the damaged segment, unchanged, in quarantine"
    );
    assert_eq!(segment_bases(dir.path()), [10, 20, 30]);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(replayed(&recovered), expected(CURSOR + 1..ENTRIES));
    drop(recovered);
    // Nothing left to trim: nothing changes.
    let again = trim_consumed_damage(dir.path()).unwrap();
    assert_eq!(again.cut, None);
    assert!(again.actions.is_empty());
    assert_eq!(segment_bases(dir.path()), [10, 20, 30]);
}

#[test]
fn the_other_modes_keep_their_meaning_with_consumed_damage() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry(dir.path(), 0, 3);
    let strict = options(SEGMENT_BYTES).with_mode(RecoveryMode::AbsoluteConsistency);
    assert!(matches!(
        wal_recovery::open(dir.path(), strict),
        Err(Error::Inconsistent { .. })
    ));
    // Point-in-time cuts at the first damage, as it says; the advice counts the cost.
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(
        verification.advice.point_in_time_drops_unread,
        CURSOR + 1..ENTRIES
    );
    assert_eq!(
        verification.advice.to_string(),
        "point-in-time recovery would drop 9 unread entries (31..=39)"
    );
    let cut = open(
        dir.path(),
        &options(SEGMENT_BYTES).with_mode(RecoveryMode::PointInTime),
    );
    assert_eq!(
        cut.report.cut.as_ref().map(|c| c.offsets.clone()),
        Some(3..ENTRIES)
    );
    assert_eq!(cut.report.damage_before_cursor, None);
}

#[test]
fn damage_after_the_cursor_is_refused_and_the_advice_counts_the_unread_entries() {
    // Entry 22 is before the cursor, but its segment holds unread entries (26..=29): the
    // segment cannot be set aside, and the default mode refuses as before.
    let dir = tempdir();
    write_log(dir.path(), ENTRIES, SEGMENT_BYTES);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(25).unwrap();
    drop(recovered);
    flip_entry(dir.path(), 20, 22);
    match wal_recovery::open(dir.path(), options(SEGMENT_BYTES)) {
        Err(Error::CommittedCorruption {
            problem, advice, ..
        }) => {
            assert_eq!(
                (problem.kind, problem.offset),
                (ProblemKind::CrcMismatch, Some(22))
            );
            assert!(!problem.consumed);
            assert_eq!(advice.point_in_time_drops_unread, 26..ENTRIES);
            assert_eq!(advice.unread_dropped(), 14);
            let message = Error::CommittedCorruption {
                problem,
                problems: Vec::new(),
                advice,
            }
            .to_string();
            assert!(
                message.ends_with("point-in-time recovery would drop 14 unread entries (26..=39)"),
                "{message}"
            );
        }
        other => panic!("expected committed corruption, got {other:?}"),
    }
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(verification.damage_before_cursor, None);
}

#[test]
fn after_a_clean_close_damage_in_a_consumed_segment_refuses_no_append() {
    // The log trusts its close record and checks older sealed segments before its first
    // append: those wholly before the cursor are set aside instead.
    let dir = tempdir();
    consumed_to_30(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.close().unwrap();
    flip_entry(dir.path(), 0, 0);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.from_close_record);
    assert_eq!(replayed(&recovered), expected(CURSOR + 1..ENTRIES));
    assert_eq!(
        recovered.log.append(&payload(ENTRIES)).unwrap().offset,
        ENTRIES
    );
    assert!(
        recovered.log.read(0).is_err(),
        "the damage is still found by a read"
    );
    drop(recovered);
    // The read removed the close record: the full check reports the damage, consumed.
    let again = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(!again.report.from_close_record);
    assert_eq!(again.report.damage_before_cursor, Some(0..10));
}

/// A hole a skip-corrupted recovery recorded among the segments set aside (before damage
/// the consumer consumed later) is a known gap there as anywhere: the default mode opens
/// the log, the hole's entries read as a hole, the set-aside entries around it as
/// before, and replay goes on after the cursor.
#[test]
fn a_recorded_hole_among_the_consumed_damage_opens() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry(dir.path(), 0, 3);
    let skip = options(SEGMENT_BYTES).with_mode(RecoveryMode::SkipCorrupted);
    let skipped = open(dir.path(), &skip);
    assert!(
        skipped
            .report
            .actions
            .contains(&Action::HoleLeft { offsets: 3..4 }),
        "{:?}",
        skipped.report.actions
    );
    drop(skipped);
    flip_entry(dir.path(), 20, 25);

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.damage_before_cursor, Some(25..30));
    assert_eq!(replayed(&recovered), expected(CURSOR + 1..ENTRIES));
    let log = &recovered.log;
    assert!(
        matches!(
            log.read(3),
            Err(Error::Store(StoreError::OffsetOutOfRange { .. }))
        ),
        "{:?}",
        log.read(3)
    );
    assert_eq!(log.read(2).unwrap().payload, payload(2));
    assert_eq!(log.read(4).unwrap().payload, payload(4));
    assert_eq!(log.read(15).unwrap().payload, payload(15));
    assert!(log.read(25).is_err());
    assert_eq!(log.append(&payload(ENTRIES)).unwrap().offset, ENTRIES);
}

/// The trim of consumed damage when the active segment is empty and starts where the
/// damage ends (a crash just after a rotation): every segment before it goes, the log's
/// start is recorded there (the store's trim is logical: it keeps no sealed segment
/// before an empty active one), and the log opens clean and appends at the same offset.
#[test]
fn the_trim_of_consumed_damage_before_an_empty_active_segment() {
    let dir = tempdir();
    write_log(dir.path(), 31, SEGMENT_BYTES);
    assert_eq!(segment_bases(dir.path()), [0, 10, 20, 30]);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(29).unwrap();
    drop(recovered);
    let _ = fs::remove_file(
        dir.path()
            .join(wal_store::internal::closed::CLOSED_FILE_NAME),
    );
    // Entry 30's record never reached the disk: segment 30 holds nothing.
    let active = data_path(dir.path(), 30);
    let len = fs::metadata(&active).unwrap().len();
    fs::write(&active, vec![0u8; usize::try_from(len).unwrap()]).unwrap();
    flip_entry(dir.path(), 20, 25);

    let report = trim_consumed_damage(dir.path()).unwrap();
    assert_eq!(report.cut.unwrap().offsets, 0..30);
    assert_eq!(report.first_offset, 30);
    assert_eq!(report.last_offset, None);
    assert_eq!(segment_bases(dir.path()), [30]);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.log.first_offset(), 30);
    assert_eq!(recovered.log.append(&payload(30)).unwrap().offset, 30);
}

/// Found by the fuzz `recover_dir` target: a consumed damaged segment whose index is gone
/// too. The default mode leaves a segment set aside as it is (no index rebuilt there), so
/// the missing index is in consumed entries as well: reported as consumed, and the log
/// opens with nothing but consumed problems left.
#[test]
fn a_missing_index_of_a_consumed_damaged_segment_is_consumed_too() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry(dir.path(), 10, 13);
    fs::remove_file(index_path(dir.path(), 10)).unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(replayed(&recovered), expected(CURSOR + 1..ENTRIES));
    drop(recovered);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(
        verification.problems.iter().all(|p| p.consumed),
        "{:#?}",
        verification.problems
    );
    assert!(
        verification
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::IndexMissing),
        "{:#?}",
        verification.problems
    );
}

/// Found by the fuzz `recover_dir` target (after the test above's change): a missing
/// index of an intact segment before consumed damage is in consumed entries too, but the
/// segment holds no damage and is not set aside: every mode mends its index, so that the
/// store opens it (skip-corrupted used to be refused with "sealed segment has no index").
#[test]
fn a_missing_index_before_consumed_damage_is_mended_in_every_mode() {
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::SkipCorrupted,
    ] {
        let dir = tempdir();
        consumed_to_30(dir.path());
        flip_entry(dir.path(), 10, 13);
        fs::remove_file(index_path(dir.path(), 0)).unwrap();
        let recovered = open(dir.path(), &options(SEGMENT_BYTES).with_mode(mode));
        assert_eq!(
            replayed(&recovered),
            expected(CURSOR + 1..ENTRIES),
            "{mode:?}"
        );
        assert!(
            index_path(dir.path(), 0).exists(),
            "{mode:?}: index not mended"
        );
    }
}
