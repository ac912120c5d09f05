//! Regression tests for what the `recover_dir` fuzz target found, one per finding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure"
)]

use std::fs;
use std::path::Path;

use wal_format::Codec;
use wal_recovery::{ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions, cursor};
use wal_store::internal::seed::{LogStart, write_seed};
use wal_testkit::segment::{encode_index, encode_segment};

fn options(mode: RecoveryMode) -> RecoveryOptions {
    RecoveryOptions::default().with_mode(mode)
}

/// A v2 data file holding `payloads` chained from 0, preallocated to `len` bytes.
fn segment(path: &Path, payloads: &[&[u8]], len: usize) {
    fs::write(path, encode_segment(Codec::V2, 0, payloads, len).bytes).unwrap();
}

fn reopen_and_append(dir: &Path, count: u64) -> u64 {
    let recovered = wal_recovery::open(dir, options(RecoveryMode::TolerateCorruptTail)).unwrap();
    for _ in 0..count {
        recovered.log.append(b"next").unwrap();
    }
    let next = recovered.log.next_offset();
    recovered.log.close().unwrap();
    next
}

#[test]
fn no_segment_but_a_cursor_starts_the_new_log_after_it() {
    let dir = wal_testkit::tempdir();
    // A cursor written as the file's bytes: no log holds entry 1000 to set it through.
    std::fs::write(cursor::cursor_path(dir.path()), cursor::encode_cursor(1000)).unwrap();
    assert!(matches!(
        wal_recovery::open(dir.path(), options(RecoveryMode::AbsoluteConsistency)),
        Err(RecoveryError::Inconsistent { .. })
    ));
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(
        recovered
            .report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::CursorOutOfRange && p.committed)
    );
    assert_eq!(recovered.log.next_offset(), 1001);
    assert_eq!(recovered.log.append(b"a").unwrap().offset, 1001);
    drop(recovered);
    assert_eq!(
        cursor::read_cursor(dir.path()).unwrap().offset(),
        Some(1000)
    );
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
}

#[test]
fn no_segment_but_a_commit_offset_is_committed_corruption() {
    let dir = wal_testkit::tempdir();
    let err = wal_recovery::open(
        dir.path(),
        RecoveryOptions::default().with_commit_offset(Some(0)),
    )
    .unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. } if problem.kind == ProblemKind::MissingEntries),
        "{err}"
    );
}

#[test]
fn a_corrupt_holes_file_is_reported_and_quarantined() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[b"a"], 4096);
    fs::write(dir.path().join("HOLES"), b"junk\n").unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
    assert!(
        verification
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::HolesCorrupt)
    );
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::PointInTime,
        RecoveryMode::SkipCorrupted,
    ] {
        fs::write(dir.path().join("HOLES"), b"junk\n").unwrap();
        let recovered = wal_recovery::open(dir.path(), options(mode)).unwrap();
        assert_eq!(recovered.log.next_offset(), 1);
        drop(recovered);
        assert!(!dir.path().join("HOLES").exists());
        assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    }
}

#[test]
fn an_orphan_index_is_not_adopted_by_a_new_segment() {
    let dir = wal_testkit::tempdir();
    let offsets = [
        wal_format::FileOffset(0),
        wal_format::FileOffset(13),
        wal_format::FileOffset(26),
    ];
    let index = encode_index(Codec::V2, &offsets);
    fs::write(dir.path().join("0.idxx"), &index).unwrap();
    assert_eq!(reopen_and_append(dir.path(), 1), 1);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptTail,
    ] {
        let recovered = wal_recovery::open(dir.path(), options(mode)).unwrap();
        assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    }
}

#[test]
fn a_stale_hole_past_the_end_does_not_block_growth() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    wal_store::internal::holes::write_holes(dir.path(), &[std::ops::Range { start: 0, end: 1 }])
        .unwrap();
    assert_eq!(reopen_and_append(dir.path(), 1), 1);
    assert_eq!(reopen_and_append(dir.path(), 2), 3);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
}

#[test]
fn an_empty_sealed_segment_before_a_hole_opens() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    segment(&dir.path().join("5.txnx"), &[], 4096);
    wal_store::internal::holes::write_holes(dir.path(), &[std::ops::Range { start: 0, end: 5 }])
        .unwrap();
    let index = encode_index(Codec::V2, &[]);
    fs::write(dir.path().join("0.idxx"), &index).unwrap();
    assert_eq!(reopen_and_append(dir.path(), 2), 7);
    assert_eq!(reopen_and_append(dir.path(), 0), 7);
}

#[test]
fn a_nul_in_a_journal_name_does_not_block_opening() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[b"a"], 4096);
    fs::write(dir.path().join("JOURNAL"), b"remove 1.\0x\n").unwrap();
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert_eq!(recovered.log.next_offset(), 1);
    drop(recovered);
    assert!(!dir.path().join("JOURNAL").exists());
}

#[test]
fn point_in_time_cuts_at_the_earliest_of_two_problems_at_one_offset() {
    let dir = wal_testkit::tempdir();
    segment(
        &dir.path().join("0.txnx"),
        &[
            b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x07",
        ],
        4096,
    );
    segment(&dir.path().join("5.txnx"), &[], 4096);
    fs::write(dir.path().join("17.txnx"), [0xa2, 0x82, 0xea, 0xd8]).unwrap();
    // The cut keeps segment 0 whole (its 7 entries are intact) and moves the empty,
    // overlapping segment 5 and everything after it to quarantine; it used to cut for the
    // gap only and leave the overlap, so that opening failed.
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::PointInTime)).unwrap();
    assert_eq!(recovered.log.next_offset(), 7);
    assert_eq!(recovered.log.iter().count(), 7);
    drop(recovered);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
}

#[test]
fn the_last_crc_survives_an_empty_v1_segment_after_it() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[b"only"], 4096);
    let index = encode_index(Codec::V2, &[wal_format::FileOffset(0)]);
    fs::write(dir.path().join("0.idxx"), index).unwrap();
    fs::write(dir.path().join("1.txn"), vec![0u8; 4096]).unwrap();
    let expected = wal_format::crc::chain(0, b"only");
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert_eq!(recovered.log.last_crc(), Some(expected));
    assert_eq!(recovered.report.last_crc, Some(expected));
}

/// Opens `dir` in `mode`, appends `count` entries, closes; returns the next offset and the
/// problems recovery reported.
fn open_append_close(dir: &Path, mode: RecoveryMode, count: u64) -> (u64, usize) {
    let recovered = wal_recovery::open(dir, options(mode)).unwrap();
    for _ in 0..count {
        recovered.log.append(b"next").unwrap();
    }
    let next = recovered.log.next_offset();
    let problems = recovered.report.problems.len();
    recovered.log.close().unwrap();
    (next, problems)
}

/// The names in `dir`, sorted, without the lock file.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "LOCK" && n != wal_store::internal::closed::CLOSED_FILE_NAME)
        .collect();
    names.sort();
    names
}

/// After a first repair, every later open in every mode finds nothing to do, and the log
/// grows from `next` on.
fn assert_settled(dir: &Path, next: u64) {
    let settled = listing(dir);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::PointInTime,
        RecoveryMode::SkipCorrupted,
    ] {
        assert_eq!(open_append_close(dir, mode, 0), (next, 0), "{mode:?}");
        assert_eq!(listing(dir), settled, "{mode:?}");
    }
    let mut expected = next;
    for mode in [
        RecoveryMode::SkipCorrupted,
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::AbsoluteConsistency,
    ] {
        expected += 5;
        assert_eq!(open_append_close(dir, mode, 5), (expected, 0), "{mode:?}");
    }
    assert!(wal_recovery::verify(dir, None).unwrap().ok);
}

/// Two empty segments, `0` and `17`: the 17 missing entries become a recorded hole, and
/// the log goes on at 17 (the fuzz finding: the store refused the result).
#[test]
fn skip_corrupted_records_a_gap_after_an_empty_first_segment() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    segment(&dir.path().join("17.txnx"), &[], 4096);
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.next_offset(), 17);
    recovered.log.close().unwrap();
    assert_eq!(
        wal_store::internal::holes::read_holes(dir.path()).unwrap(),
        vec![std::ops::Range { start: 0, end: 17 }]
    );
    assert_settled(dir.path(), 17);
}

/// An empty `0`, a recorded hole `0..5` and a last segment `5` with no valid record: the
/// garbage is an uncommitted torn tail, cut to quarantine; the segment stays, emptied, as
/// the active one, so the log goes on at 5, after the hole (the fuzz finding: the segment
/// went, `0` got an index as if sealed, the next open undid part of the repair, and
/// appends over the old hole made every mode refuse).
#[test]
fn skip_corrupted_cuts_a_garbage_last_segment_after_a_recorded_hole() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    fs::write(dir.path().join("5.txnx"), b"seventeen bytes!!").unwrap();
    wal_store::internal::holes::write_holes(dir.path(), &[std::ops::Range { start: 0, end: 5 }])
        .unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.next_offset(), 5);
    assert!(recovered.report.cut.is_some());
    recovered.log.close().unwrap();
    assert_eq!(fs::metadata(dir.path().join("5.txnx")).unwrap().len(), 17);
    // `0` stays sealed, with no index (none that lists no entry is ever written: other
    // readers of the format refuse one), `5` is the active segment (none).
    assert!(!dir.path().join("0.idxx").exists());
    assert!(!dir.path().join("5.idxx").exists());
    assert_eq!(
        wal_store::internal::holes::read_holes(dir.path()).unwrap(),
        vec![std::ops::Range { start: 0, end: 5 }]
    );
    assert!(dir.path().join("quarantine").is_dir());
    assert_settled(dir.path(), 5);
}

/// Empty segments `0` and `17`, then `1000` holding 4 bytes of garbage: two gaps, one on
/// each side of the empty `17`, stay two recorded holes (the fuzz finding: they were
/// merged into one, `0..1000`, which the store does not take for the two gaps it sees).
#[test]
fn skip_corrupted_keeps_two_holes_around_an_empty_segment_apart() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    segment(&dir.path().join("17.txnx"), &[], 4096);
    fs::write(dir.path().join("1000.txnx"), [0xa2, 0x82, 0xea, 0xd8]).unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.next_offset(), 1000);
    // The iterator steps over both holes at once (the store stopped at the empty `17`,
    // inside the second hole).
    assert!(
        recovered
            .log
            .iter()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .is_empty()
    );
    recovered.log.close().unwrap();
    assert_eq!(
        wal_store::internal::holes::read_holes(dir.path()).unwrap(),
        vec![
            std::ops::Range { start: 0, end: 17 },
            std::ops::Range {
                start: 17,
                end: 1000
            }
        ]
    );
    assert_settled(dir.path(), 1000);
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    let offsets: Vec<u64> = recovered.log.iter().map(|e| e.unwrap().offset).collect();
    assert_eq!(offsets, (1000..1015).collect::<Vec<u64>>());
    let mut visited = Vec::new();
    recovered
        .replay_with(|e| {
            visited.push(e.offset);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(visited, offsets);
    let newest_first: Vec<u64> = recovered
        .log
        .iter_rev()
        .map(|e| e.unwrap().offset)
        .collect();
    assert_eq!(newest_first, (1000..1015).rev().collect::<Vec<u64>>());
}

/// A holes file and no segment: the new log drops the holes, or they would lie over its
/// own entries (the fuzz finding: after one append, the next open refused "the holes file
/// lists 0..1, which is no gap between segments").
#[test]
fn a_holes_file_without_a_segment_goes_with_the_new_log() {
    let dir = wal_testkit::tempdir();
    wal_store::internal::holes::write_holes(
        dir.path(),
        &[
            std::ops::Range { start: 0, end: 1 },
            std::ops::Range {
                start: 5,
                end: 1000,
            },
        ],
    )
    .unwrap();
    let (next, _) = open_append_close(dir.path(), RecoveryMode::PointInTime, 1);
    assert_eq!(next, 1);
    assert!(!wal_store::internal::holes::holes_path(dir.path()).exists());
    assert_settled(dir.path(), 1);
}

/// A holes file listing a range inside the log that is no gap between segments (`0.txnx`
/// holding 3 entries, `HOLES` = "0 1"): it is a problem (`verify` is not ok, the strict
/// mode refuses with a typed error and changes nothing); the other modes keep a copy in
/// quarantine and rewrite the file with the real gaps alone (the fuzz finding: `verify`
/// said ok, and every mode failed to open with the store's layout error).
#[test]
fn a_hole_inside_a_segment_is_a_holes_problem() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[b"a", b"b", b"c"], 4096);
    wal_store::internal::holes::write_holes(dir.path(), &[std::ops::Range { start: 0, end: 1 }])
        .unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
    assert!(
        verification
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::HolesCorrupt)
    );
    let before = listing(dir.path());
    let refused = wal_recovery::open(dir.path(), options(RecoveryMode::AbsoluteConsistency));
    assert!(matches!(refused, Err(RecoveryError::Inconsistent { .. })));
    assert_eq!(listing(dir.path()), before);

    let (next, problems) = open_append_close(dir.path(), RecoveryMode::TolerateCorruptTail, 0);
    assert_eq!((next, problems), (3, 1));
    assert!(!wal_store::internal::holes::holes_path(dir.path()).exists());
    assert!(dir.path().join("quarantine").is_dir());
    assert_settled(dir.path(), 3);
}

/// The same with a real gap beside the stray range: the file keeps the gap.
#[test]
fn a_stray_hole_goes_and_the_real_gap_stays() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[b"a", b"b", b"c"], 4096);
    let offsets = [0, 13, 26].map(wal_format::FileOffset);
    let index = encode_index(Codec::V2, &offsets);
    fs::write(dir.path().join("0.idxx"), &index).unwrap();
    segment(&dir.path().join("5.txnx"), &[b"f"], 4096);
    let gap = std::ops::Range { start: 3, end: 5 };
    wal_store::internal::holes::write_holes(
        dir.path(),
        &[std::ops::Range { start: 1, end: 2 }, gap.clone()],
    )
    .unwrap();
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(
        recovered
            .report
            .actions
            .iter()
            .any(|a| matches!(a, wal_recovery::Action::HolesRewritten { holes, .. } if *holes == [gap.clone()]))
    );
    recovered.log.close().unwrap();
    assert_eq!(
        wal_store::internal::holes::read_holes(dir.path()).unwrap(),
        vec![gap]
    );
    assert_settled(dir.path(), 6);
}

/// A leftover `0.txnx.pending` (no journal) beside a `0.txnx` holding only garbage:
/// `SkipCorrupted` removes the leftover before staging its own `0.txnx.pending` (the fuzz
/// finding: the leftover's clean-up removed the staged file, the garbage stayed, and the
/// store refused to open).
#[test]
fn skip_corrupted_stages_its_files_after_removing_leftovers_of_the_same_name() {
    let dir = wal_testkit::tempdir();
    fs::write(dir.path().join("0.txnx"), b"crc a282ead8\n").unwrap();
    fs::write(dir.path().join("0.txnx.pending"), b"install 0.idx\n").unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.next_offset(), 0);
    recovered.log.close().unwrap();
    assert!(!dir.path().join("0.txnx.pending").exists());
    assert!(dir.path().join("quarantine").is_dir());
    assert_settled(dir.path(), 0);
}

/// `0.txnx` empty while its index lists 4 entries, `1.txnx` garbage, `4.txnx` valid: the
/// overlap at `1` (segment 0 reached 4) ends the log after segment 0, which becomes the
/// active segment: no index of it stays, and no hole past its end (the fuzz finding:
/// `SkipCorrupted` had staged an index and a hole for 0 as if it were sealed, so the
/// next open still had an index to remove).
#[test]
fn skip_corrupted_leaves_no_index_on_a_segment_that_becomes_the_last() {
    let dir = wal_testkit::tempdir();
    let offsets = [0, 13, 26, 39].map(wal_format::FileOffset);
    let index = encode_index(Codec::V2, &offsets);
    fs::write(dir.path().join("0.idxx"), &index).unwrap();
    fs::write(dir.path().join("0.txnx"), b"").unwrap();
    fs::write(dir.path().join("1.txnx"), b"crc a282ead8\n").unwrap();
    segment(&dir.path().join("4.txnx"), &[b"e", b"f", b"g", b"h"], 64);
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.next_offset(), 0);
    assert_eq!(recovered.report.cut.as_ref().unwrap().offsets, 0..8);
    recovered.log.close().unwrap();
    assert_eq!(listing(dir.path()), ["0.txnx", "quarantine"]);
    assert_settled(dir.path(), 0);
}

/// A `CURSOR` at `u64::MAX` and no segment: no new log can start after it, so it is a
/// corrupt cursor (the fuzz finding: every mode that opens asked the store for a log
/// starting at `u64::MAX` and failed with `InvalidOption`).
#[test]
fn a_cursor_at_the_largest_offsets_is_corrupt() {
    for offset in [u64::MAX, u64::MAX - 1] {
        let dir = wal_testkit::tempdir();
        fs::write(dir.path().join("CURSOR"), cursor::encode_cursor(offset)).unwrap();
        assert!(matches!(
            wal_recovery::verify(dir.path(), None).unwrap().cursor,
            wal_recovery::CursorState::Corrupt(_)
        ));
        let (next, _) = open_append_close(dir.path(), RecoveryMode::PointInTime, 1);
        assert_eq!(next, 1);
    }
}

/// The same 494 bytes as `0.txn` (v1: entries 0 and 1, then garbage after the end
/// marker) and as `1.txnx` (v2: a first record failing its crc): an overlap at 1, a
/// damaged record at 1, garbage after the end of segment 0. `TolerateCorruptTail` cuts
/// at the earliest of their cuts (segment 0 keeps its 2 entries, segment 1 goes whole),
/// as `PointInTime` does (the fuzz finding: it cut for the problem listed first, kept
/// segment 1 emptied, and the store refused the overlap).
#[test]
fn tolerate_corrupt_tail_cuts_at_the_earliest_of_the_problems_cuts() {
    let dir = wal_testkit::tempdir();
    let mut bytes = vec![0u8; 494];
    for (at, value) in [
        (3, 0x01),
        (8, 0x01),
        (9, 0x88),
        (406, 0xad),
        (407, 0xd4),
        (408, 0x82),
    ] {
        bytes[at] = value;
    }
    fs::write(dir.path().join("0.txn"), &bytes).unwrap();
    fs::write(dir.path().join("1.txnx"), &bytes).unwrap();
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert_eq!(recovered.log.next_offset(), 2);
    recovered.log.close().unwrap();
    assert!(!dir.path().join("1.txnx").exists());
    assert_settled(dir.path(), 2);
}

/// After `SkipCorrupted` left an empty `0`, a hole `0..5` and the log going on at 5:
/// truncating after an offset of the hole drops every entry (the hole's entries do not
/// exist), and the log goes on from 0 (found by review: the segment kept was chosen
/// before the cut moved back over the hole, and the empty `0` has no entry to chain from).
#[test]
fn truncating_after_a_hole_that_follows_an_empty_first_segment() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    fs::write(dir.path().join("5.txnx"), b"seventeen bytes!!").unwrap();
    wal_store::internal::holes::write_holes(dir.path(), &[std::ops::Range { start: 0, end: 5 }])
        .unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    let wal = recovered.log;
    for _ in 0..3 {
        wal.append(b"after").unwrap();
    }
    assert_eq!(wal.next_offset(), 8);
    wal.truncate_after(4).unwrap();
    assert_eq!(wal.next_offset(), 0);
    assert_eq!(wal.append(b"again").unwrap().offset, 0);
    wal.close().unwrap();
    assert_settled(dir.path(), 1);
}

/// Entries `0..10` in `0`, a hole `10..17`, an empty `17`, a hole `17..1000`, the log
/// going on at 1000: truncating after 999 (dropping everything from 1000) keeps `0..10`
/// and chains the next entry from entry 9 (found by review: the cut moved back over both
/// holes after the segment kept, the empty `17`, was chosen, and the position of the
/// entry before the cut underflowed).
#[test]
fn truncating_after_two_touching_holes_keeps_what_precedes_them() {
    let dir = wal_testkit::tempdir();
    let payloads: Vec<Vec<u8>> = (0..10u8).map(|i| vec![b'a' + i]).collect();
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    segment(&dir.path().join("0.txnx"), &refs, 4096);
    let offsets: Vec<wal_format::FileOffset> =
        (0..10u32).map(|i| wal_format::FileOffset(13 * i)).collect();
    let index = encode_index(Codec::V2, &offsets);
    fs::write(dir.path().join("0.idxx"), &index).unwrap();
    segment(&dir.path().join("17.txnx"), &[], 4096);
    fs::write(dir.path().join("1000.txnx"), [0xa2, 0x82, 0xea, 0xd8]).unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(
        wal_store::internal::holes::read_holes(dir.path()).unwrap(),
        vec![
            std::ops::Range { start: 10, end: 17 },
            std::ops::Range {
                start: 17,
                end: 1000
            }
        ]
    );
    let wal = recovered.log;
    let last_kept_crc = wal.read(9).unwrap().crc;
    for _ in 0..3 {
        wal.append(b"after").unwrap();
    }
    wal.truncate_after(999).unwrap();
    assert_eq!(wal.next_offset(), 10);
    assert_eq!(wal.last_crc(), last_kept_crc);
    let appended = wal.append(b"next").unwrap();
    assert_eq!(appended.offset, 10);
    assert_eq!(wal.read(10).unwrap().prev_crc, last_kept_crc);
    wal.close().unwrap();
    assert_settled(dir.path(), 11);
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `0.txnx`: entry 0, a damaged record, then valid records that chain on from it (so
/// `SkipCorrupted` can walk past the damage: positions 2, 3, 4); `1.txnx` begins at 1
/// with a record that chains from 0, not from entry 0. Segment 0 ends where segment 1
/// begins, so nothing of 0 past position 0 is placed, and segment 1, another history,
/// is cut (the fuzz finding: the walk split segment 0 into files at 2 and 4, past the
/// start of segment 1, which was left sealed with no index, and the store refused).
#[test]
fn skip_corrupted_places_nothing_past_the_next_segments_base() {
    let dir = wal_testkit::tempdir();
    fs::write(
        dir.path().join("0.txnx"),
        from_hex(
            "00000006000000009b97992c000000000000000000019b97f62cae0f69090000000001ae0f6909b26b3f9b\
             0000000001b2533f9b81079eb4000000000181079eb404b539bf00000000",
        ),
    )
    .unwrap();
    let mut one = from_hex("0000000400000000eda11f7100000043");
    one.resize(95, 0);
    fs::write(dir.path().join("1.txnx"), one).unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.next_offset(), 1);
    assert_eq!(recovered.report.cut.as_ref().unwrap().offsets, 1..5);
    recovered.log.close().unwrap();
    assert_eq!(listing(dir.path()), ["0.txnx", "quarantine"]);
    assert_settled(dir.path(), 1);
}

/// A sealed segment whose data holds fewer records than the next segment's base says,
/// under a valid index that disagrees with the data (another history's index): entries
/// 3..5 are in no segment. The index proves nothing about this data, so the gap is the
/// problem, committed since a later segment exists (the fuzz finding: the analysis took
/// the index's count for the segment's, saw no gap, and after rebuilding the index from
/// the data the store refused the gap).
#[test]
fn a_disagreeing_index_hides_no_gap_before_the_next_segment() {
    let build = |dir: &Path| {
        segment(&dir.join("0.txnx"), &[b"a", b"bb", b"ccc"], 200);
        let offsets: Vec<wal_format::FileOffset> =
            [0, 20, 40, 60, 80].map(wal_format::FileOffset).to_vec();
        let index = encode_index(Codec::V2, &offsets);
        fs::write(dir.join("0.idxx"), index).unwrap();
        segment(&dir.join("5.txnx"), &[b"fifth"], 200);
    };
    let dir = wal_testkit::tempdir();
    build(dir.path());
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    let gap = verification
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::SegmentGap)
        .expect("the gap is reported");
    assert_eq!((gap.offset, gap.committed), (Some(3), true));
    let before = listing(dir.path());
    match wal_recovery::open(dir.path(), options(RecoveryMode::AbsoluteConsistency)) {
        Err(RecoveryError::Inconsistent { problems }) => {
            assert!(problems.iter().any(|p| p.kind == ProblemKind::SegmentGap));
        }
        other => panic!("AbsoluteConsistency: expected a refusal, got {other:?}"),
    }
    match wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)) {
        Err(RecoveryError::CommittedCorruption { problem, .. }) => {
            assert_eq!(problem.kind, ProblemKind::SegmentGap);
        }
        other => panic!("TolerateCorruptTail: expected committed corruption, got {other:?}"),
    }
    assert_eq!(listing(dir.path()), before, "a refusal changed files");
    // PointInTime cuts at the gap; SkipCorrupted keeps what it can around it.
    let (next, _) = open_append_close(dir.path(), RecoveryMode::PointInTime, 0);
    assert_eq!(next, 3);
    assert_settled(dir.path(), 3);
    let dir = wal_testkit::tempdir();
    build(dir.path());
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    let next = recovered.log.next_offset();
    recovered.log.close().unwrap();
    assert_settled(dir.path(), next);
}

/// A redo journal that is not text (the fuzz finding: `verify` failed with an I/O error
/// once it read the journal to see the directory as the next open will): `verify` reads
/// the directory as it is and reports the journal, every entry is found, nothing
/// changes; the writing open still refuses to roll such a journal forward.
#[test]
fn verify_reads_past_a_journal_that_is_not_text() {
    let dir = wal_testkit::tempdir();
    segment(&dir.path().join("0.txnx"), &[b"a", b"b", b"c"], 4096);
    fs::write(
        dir.path().join(wal_recovery::JOURNAL_FILE_NAME),
        [0xff, 0xfe, b'\n'],
    )
    .unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(verification.last_valid_offset, Some(2));
    assert!(
        verification
            .problems
            .iter()
            .all(|p| !p.kind.is_data() && !p.committed),
        "{:#?}",
        verification.problems
    );
    assert!(matches!(
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)),
        Err(RecoveryError::Io { .. })
    ));
    assert!(dir.path().join(wal_recovery::JOURNAL_FILE_NAME).exists());
    assert!(
        wal_recovery::verify(dir.path(), None)
            .unwrap()
            .problems
            .iter()
            .any(|p| p.path.as_deref() == Some(&dir.path().join(wal_recovery::JOURNAL_FILE_NAME)))
    );
}

/// `0.txnx` and `17.txnx` empty, `0.idxx` of 0 bytes (the fuzz finding, at 169a487: once
/// no index that lists no entry was written any more, the damaged index of the empty
/// sealed segment `0` before the hole `0..17` was neither rebuilt nor removed, and the
/// store refused the result): it goes to quarantine, and the log opens at 17.
#[test]
fn skip_corrupted_moves_the_damaged_index_of_an_empty_segment_to_quarantine() {
    let dir = wal_testkit::tempdir();
    fs::write(dir.path().join("0.txnx"), []).unwrap();
    fs::write(dir.path().join("0.idxx"), []).unwrap();
    fs::write(dir.path().join("17.txnx"), []).unwrap();
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.next_offset(), 17);
    assert!(recovered.report.actions.iter().any(|a| matches!(
        a,
        wal_recovery::Action::FileQuarantined { from, .. } if from.ends_with("0.idxx")
    )));
    recovered.log.close().unwrap();
    assert!(!dir.path().join("0.idxx").exists());
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
}

#[test]
fn a_cursor_before_an_empty_first_segment_stays_unread_entries_gone() {
    // An empty `5.txnx` and a cursor at 0: entries 1..5 the consumer had not finalized
    // are gone. Recovery reports it and leaves the cursor as it is (RECOVERY.md), so
    // `verify` still reports it after an append; only `AbsoluteConsistency` refuses.
    let dir = wal_testkit::tempdir();
    fs::write(dir.path().join("5.txnx"), b"").unwrap();
    fs::write(cursor::cursor_path(dir.path()), cursor::encode_cursor(0)).unwrap();
    let refused = wal_recovery::open(dir.path(), options(RecoveryMode::AbsoluteConsistency));
    assert!(matches!(refused, Err(RecoveryError::Inconsistent { .. })));

    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    let kinds: Vec<ProblemKind> = recovered.report.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec![ProblemKind::UnreadEntriesGone]);
    assert_eq!(recovered.report.replay_from, 5);
    assert_eq!(recovered.log.append(b"next").unwrap().offset, 5);
    recovered.log.close().unwrap();

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
    let kinds: Vec<ProblemKind> = verification.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec![ProblemKind::UnreadEntriesGone]);
    assert_eq!(verification.first_offset, Some(5));
    assert_eq!(verification.last_valid_offset, Some(5));
}

#[test]
fn a_logical_start_in_a_recorded_hole_opens() {
    // Segments 0 (empty), 1 and 17 (zeros: no record), and a start at 1. `SkipCorrupted`
    // records entries 1..17 as a hole; the store's open then looked for the start's
    // record (to check its link) at a position of segment 1 that holds none, and failed.
    let dir = wal_testkit::tempdir();
    fs::write(dir.path().join("0.txnx"), b"").unwrap();
    fs::write(dir.path().join("1.txnx"), [0u8; 241]).unwrap();
    fs::write(dir.path().join("17.txnx"), [0u8; 241]).unwrap();
    write_seed(dir.path(), LogStart::at(1, 0)).unwrap();

    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(recovered.log.first_offset(), 1);
    assert_eq!(recovered.log.next_offset(), 17);
    assert_eq!(recovered.log.iter().count(), 0);
    assert_eq!(recovered.log.append(b"next").unwrap().offset, 17);
    recovered.log.close().unwrap();
    let again = wal_recovery::open(dir.path(), options(RecoveryMode::SkipCorrupted)).unwrap();
    assert_eq!(again.log.first_offset(), 1);
    assert_eq!(again.log.read(17).unwrap().payload, b"next");
}

#[test]
fn an_empty_segment_before_the_cursor_is_consumed_with_its_gap() {
    // An empty `0.txnx`, an empty v1 `1.txn` and a cursor at 0: entry 0 is in no segment,
    // damage the consumer consumed, left in place. Once an append gives segment 1 an
    // entry, segment 0 is an empty segment before it: it goes with its gap, consumed too,
    // so verify counts nothing new and the next open leaves it.
    let dir = wal_testkit::tempdir();
    fs::write(dir.path().join("0.txnx"), b"").unwrap();
    fs::write(dir.path().join("1.txn"), b"").unwrap();
    fs::write(cursor::cursor_path(dir.path()), cursor::encode_cursor(0)).unwrap();
    assert_eq!(reopen_and_append(dir.path(), 1), 2);

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    let found: Vec<(ProblemKind, bool)> = verification
        .problems
        .iter()
        .map(|p| (p.kind, p.consumed))
        .collect();
    assert_eq!(
        found,
        vec![
            (ProblemKind::EmptySegment, true),
            (ProblemKind::SegmentGap, true)
        ]
    );
    let again = wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert!(again.report.actions.is_empty(), "{:#?}", again.report);
    assert_eq!(again.log.read(1).unwrap().payload, b"next");
    assert!(dir.path().join("0.txnx").exists());
}

#[test]
fn a_new_v1_log_replaces_the_start_of_a_log_that_is_gone() {
    // A `SEED` at 17 and no segment: a new v1 log starts at 0 but wrote no seed file, so
    // after its first append the old start lay past its records: lost entries 1..17.
    let dir = wal_testkit::tempdir();
    write_seed(dir.path(), LogStart::at(17, 0)).unwrap();
    let options = wal_store::WalOptions::default().with_codec(Codec::V1);
    let wal = wal_store::Wal::open(dir.path(), options.clone()).unwrap();
    assert_eq!(wal.append(b"first").unwrap().offset, 0);
    wal.close().unwrap();

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    let wal = wal_store::Wal::open(dir.path(), options).unwrap();
    assert_eq!(wal.first_offset(), 0);
    assert_eq!(wal.read(0).unwrap().payload, b"first");
}

/// `recover_dir-31d620b5`: an empty file `0`, 177 zeros in `1`, one record in `1000` and a
/// plain logical start of 1 (seed 0), 64-byte segments. `0` lies wholly below the start
/// only while `1` follows it; the walk removes `1` (nothing valid in it) and records the
/// hole up to `1000`, so `0` goes to quarantine with it (the fuzz finding: `0` stayed, and
/// the store's open found a gap between it and the hole).
#[test]
fn skip_corrupted_quarantines_a_trimmed_segment_before_the_first_it_removes() {
    let dir = wal_testkit::tempdir();
    fs::write(dir.path().join("0.txnx"), b"").unwrap();
    fs::write(dir.path().join("1.txnx"), [0u8; 177]).unwrap();
    segment(&dir.path().join("1000.txnx"), &[b"x"], 64);
    write_seed(dir.path(), LogStart::at(1, 0)).unwrap();
    let wal = wal_store::WalOptions::default().with_segment_bytes(64);
    let recovered = wal_recovery::open(
        dir.path(),
        options(RecoveryMode::SkipCorrupted).with_wal(wal),
    )
    .unwrap();
    // Nothing of the log lies before 1000: the hole from the start is no entry.
    assert_eq!(recovered.log.first_offset(), 1000);
    assert_eq!(recovered.log.read(1000).unwrap().payload, b"x");
    assert_eq!(recovered.log.next_offset(), 1001);
    recovered.log.close().unwrap();
    assert!(!dir.path().join("0.txnx").exists());
    assert_settled(dir.path(), 1001);
}

/// The same directory with the consumer's cursor at 1000: the damage (all of `1`) is
/// consumed, and the default mode sets `1` aside. The logical start lies in it; the
/// store's open checked the start's record there, opening the set-aside segment (its
/// check failed: no index, and nothing valid). A start in a set-aside segment is not
/// checked at open, as nothing else of it is (found in review).
#[test]
fn a_logical_start_in_a_set_aside_segment_after_a_trimmed_one_opens() {
    let dir = wal_testkit::tempdir();
    fs::write(dir.path().join("0.txnx"), b"").unwrap();
    fs::write(dir.path().join("1.txnx"), [0u8; 177]).unwrap();
    segment(&dir.path().join("1000.txnx"), &[b"x"], 64);
    write_seed(dir.path(), LogStart::at(1, 0)).unwrap();
    std::fs::write(cursor::cursor_path(dir.path()), cursor::encode_cursor(1000)).unwrap();
    let wal = wal_store::WalOptions::default().with_segment_bytes(64);
    let recovered = wal_recovery::open(
        dir.path(),
        options(RecoveryMode::TolerateCorruptTail).with_wal(wal),
    )
    .unwrap();
    assert!(
        recovered.report.damage_before_cursor.is_some(),
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.log.next_offset(), 1001);
    assert_eq!(recovered.log.replay().unwrap().count(), 0);
    assert_eq!(recovered.log.append(b"y").unwrap().offset, 1001);
    recovered.log.close().unwrap();
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert_eq!(recovered.log.read(1001).unwrap().payload, b"y");
}

/// The files of a fuzz finding, by name and bytes (as `WAL_FUZZ_TRACE=1` prints them).
fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, hex) in files {
        let bytes: Vec<u8> = hex
            .split(", ")
            .filter(|b| !b.is_empty())
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// `recover_dir-b9729b32`: an empty segment `0` with a corrupt index, a record in `2`, a
/// cursor at 1 (so the damage of `0` is consumed) and a damaged `SEED`. Only the default
/// mode sets consumed damage aside; `SkipCorrupted` left `0` (empty, its index corrupt)
/// in place as if it did, and the store's open refused the corrupt index. The other modes
/// now repair consumed damage as any.
#[test]
fn skip_corrupted_repairs_consumed_damage_as_any() {
    let dir = wal_testkit::tempdir();
    let zeros49 = ["00"; 49].join(", ");
    write_files(
        dir.path(),
        &[
            ("0.idxx", "20, 31, a8, d5, 00, 00, 00, 00, 00, 00, 00, 21"),
            ("0.txnx", &zeros49),
            (
                "2.txnx",
                "00, 00, 00, 10, a9, b9, d1, 91, 10, 1b, af, 26, 01, 00, 00, 00, 00, 00, 00, 22, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00",
            ),
            (
                "CURSOR",
                "57, 41, 4c, 43, 00, 00, 00, 02, 00, 00, 00, 2c, 00, 00, 00, 02, 00, 00, 00, 00, 00, 00, 00, 01, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, ed, ac, b7, f7",
            ),
            (
                "SEED",
                "57, 41, 4c, 53, 00, 00, 00, 01, 00, 00, 00, 2f, 6e, 0c, 00, 78, 34, 00, 00, 00, 00, 00, 00, 00, 2f, 2f, 2f, 2f, 2f, 2f, 2f, 2f, 2f, 2f, 2f",
            ),
        ],
    );
    let wal = wal_store::WalOptions::default().with_segment_bytes(64);
    let recovered = wal_recovery::open(
        dir.path(),
        options(RecoveryMode::SkipCorrupted).with_wal(wal),
    )
    .unwrap();
    assert_eq!(recovered.log.next_offset(), 3);
    recovered.log.close().unwrap();
    assert_settled(dir.path(), 3);
}

/// `model-e54776da`: a log at the end of the offset space (its next offset `u64::MAX`)
/// whose entries a store-level clear removed, with a cursor before them. The front door's
/// clear must move that cursor to `u64::MAX - 1`, which no cursor can name, so it is
/// refused; the fuzz model expected it to succeed (it checked only for a last entry
/// there). The model now checks the offset before the next, and the front door moves
/// every cursor before it clears, so that the refusal comes before anything changes.
#[test]
fn a_clear_at_the_end_of_the_offsets_is_refused_before_it_changes_anything() {
    let dir = wal_testkit::tempdir();
    let wal = wal_store::WalOptions::default().with_first_offset(u64::MAX - 3);
    let log = wal_recovery::open(dir.path(), options(RecoveryMode::default()).with_wal(wal))
        .unwrap()
        .log;
    for _ in 0..3 {
        log.append(b"e").unwrap();
    }
    assert_eq!(log.next_offset(), u64::MAX);
    log.set_cursor(u64::MAX - 3).unwrap();
    for _ in 0..2 {
        assert!(matches!(
            log.clear(),
            Err(RecoveryError::InvalidArgument(_))
        ));
        assert_eq!(
            log.cursor(wal_recovery::DEFAULT_CURSOR).unwrap(),
            Some(u64::MAX - 3)
        );
        // Then with the entries gone below the front door: the same.
        log.store().clear().unwrap();
    }
    assert_eq!(log.next_offset(), u64::MAX);
}

/// `recover_dir-b9591698`: an empty trimmed segment `0`, records in `1000` chained from 0,
/// and a `SEED` that starts the log at 1000 with another crc. Recovery's analysis places
/// a start at the first live segment's base as its first record (nothing to check); the
/// store's open took it for a logical start inside the records because the trimmed `0`
/// lay below, checked the crc and refused what verify called clean.
#[test]
fn a_start_at_the_first_live_segment_after_a_trimmed_one_is_its_first_record() {
    let dir = wal_testkit::tempdir();
    write_files(
        dir.path(),
        &[
            ("0.txnx", ""),
            (
                "1000.txnx",
                "00, 00, 00, 2b, 00, 00, 00, 00, 67, b0, 80, 44, ea, ce, ea, ea, 80, a2, c1, e0, ff, 1e, 3d, 5c, 7b, 9a, b9, d8, f7, 16, 35, 54, 73, 92, b1, d0, ef, 0e, 2d, 4c, 6b, 8a, a9, c8, e7, 06, 25, 44, 63, 82, a1, c0, df, fe, 1d, 00, 00, 00, 01, 67, b0, 80, 44, bd, b4, eb, 3a, 07, 00, 00, 00, 01, bd, b4, eb, 3a, 68, 34, a4, ef, 07",
            ),
            (
                "SEED",
                "57, 41, 4c, 53, 00, 00, 00, 01, 00, 00, 00, 00, 00, 00, 03, e8, 00, 00, 77, ea, 9c, 6d, 5c, 75",
            ),
        ],
    );
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    let wal = wal_store::WalOptions::default().with_segment_bytes(64);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptTail,
    ] {
        let recovered =
            wal_recovery::open(dir.path(), options(mode).with_wal(wal.clone())).unwrap();
        assert_eq!(recovered.log.first_offset(), 1000);
        assert_eq!(recovered.log.next_offset(), 1003);
        drop(recovered);
    }
}

/// `recover_dir-63f68cb7`: a close record, a logical start at 1 inside segment `0`,
/// whose data file is empty while its index lists entries. The clean open placed the
/// start by reading its record, which opened the deferred `0`; its check failed and,
/// the open already trusting the close record only until such a failure, removed the
/// record: the full path that followed refused in `AbsoluteConsistency` with a file
/// changed. The record is now armed to go only once the start is placed.
#[test]
fn a_refusal_after_a_clean_open_gave_up_changes_nothing() {
    let dir = wal_testkit::tempdir();
    write_files(
        dir.path(),
        &[
            (
                "0.idxx",
                "e8, d5, 28, 9c, 00, 00, 00, 00, 00, 00, 00, 0d, 00, 00, 00, 1a, 00, 00, 00, 27",
            ),
            ("0.txnx", ""),
            (
                "4.idxx",
                "a3, 91, 86, b7, 00, 00, 00, 00, 00, 00, 00, 0d, 00, 00, 00, 1a",
            ),
            (
                "4.txnx",
                "00, 00, 00, 01, fd, 37, 37, 4c, 0e, 97, a8, 49, 00, 00, 00, 00, 01, 0e, 97, a8, 49, 46, 34, 78, 66, ff, 00, 00, 00, 10, 46, 34, 78, 66, 93, 66, 54, 68, ff, 00, 00, 00, 00, 00, 0f, 00, 00, 00, 2a, 12, 00, 00, 0c, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00",
            ),
            (
                "7.txnx",
                "00, 00, 00, 10, 93, 66, 54, 68, 20, d1, aa, ce, 00, 00, 00, 2a, 12, 53, 31, 30, 30, 32, 2e, 69, 64, 78, 78, 01, 00, 00, 00, 01, 20, d1, aa, ce, 6c, e6, e3, 35, 22, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00",
            ),
            (
                "CLOSED",
                "57, 43, 4c, 53, 02, 02, 00, 00, 00, 00, 00, 00, 00, 00, 00, 07, 00, 00, 00, 29, 00, 00, 00, 02, 6c, e6, e3, 35, 00, 00, 00, 00, 00, 00, 00, 1c, fd, a6, 62, 6b",
            ),
            (
                "SEED",
                "57, 41, 4c, 53, 00, 00, 00, 01, 00, 00, 00, 00, 00, 00, 00, 01, 49, 25, 8f, d2, a0, 10, 00, 07",
            ),
        ],
    );
    let before = listing(dir.path());
    let closed = fs::read(dir.path().join("CLOSED")).unwrap();
    let wal = wal_store::WalOptions::default().with_segment_bytes(64);
    assert!(
        wal_recovery::open(
            dir.path(),
            options(RecoveryMode::AbsoluteConsistency).with_wal(wal)
        )
        .is_err()
    );
    assert_eq!(listing(dir.path()), before);
    assert_eq!(fs::read(dir.path().join("CLOSED")).unwrap(), closed);
}

/// `recover_dir-841cf670`: segments `3` (no index) and `5`, and a seed file starting the
/// log at 6 with a crc the chain does not have there. The analysis placed the start (so
/// `3` was trimmed, below it, never analysed), reported the seed file and the repair set
/// it aside: without it, `3` was part of the log again, unchecked, and the store refused
/// its missing index. The trimmed segments now go to quarantine first, then the seed
/// file: entries trimmed never come back as part of the log.
#[test]
fn trimmed_segments_go_with_a_seed_file_set_aside() {
    let record_bytes = "00, 00, 00, 05, 85, 4d, e1, 1a, 4d, 48, f0, c1, f4, f4, f4, f4, f4, 00, 00, 00, 05, 4d, 48, f0, c1, 67, 8a, 88, f6, f4, f4, f4, f4, f4, 00, 00, 00, 05, 67, 8a, 88, f6, 87, e6, 41, 9f, f4, f4, fc, 30, c9, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00";
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::PointInTime,
        RecoveryMode::SkipCorrupted,
    ] {
        let dir = wal_testkit::tempdir();
        write_files(
            dir.path(),
            &[
                ("3.txnx", record_bytes),
                ("5.txnx", record_bytes),
                (
                    "SEED",
                    "57, 41, 4c, 53, 00, 00, 00, 01, 00, 00, 00, 00, 00, 00, 00, 06, 87, e6, 41, 9f, 61, 01, 6e, 85",
                ),
            ],
        );
        let wal = wal_store::WalOptions::default().with_segment_bytes(64);
        let recovered = wal_recovery::open(dir.path(), options(mode).with_wal(wal)).unwrap();
        assert!(!dir.path().join("3.txnx").exists(), "{mode:?}");
        assert_eq!(recovered.log.first_offset(), 5, "{mode:?}");
        let next = recovered.log.next_offset();
        recovered.log.close().unwrap();
        assert_settled(dir.path(), next);
    }
}

/// Found in review: a closed log trimmed to 20 with its cursor at 36 (so the start's
/// segment is set aside, its damage consumed if it had any) and then a seed file whose
/// crc the chain disagrees with. The clean open skipped the start's check in a set-aside
/// segment and opened the log in every mode, `AbsoluteConsistency` included, while
/// verify reported the seed file. Only the full path, whose analysis found what it set
/// aside, skips that check now.
#[test]
fn a_clean_open_checks_a_start_in_a_set_aside_segment() {
    let dir = wal_testkit::tempdir();
    let wal = wal_store::WalOptions::default().with_segment_bytes(256);
    let log = wal_recovery::open(
        dir.path(),
        options(RecoveryMode::default()).with_wal(wal.clone()),
    )
    .unwrap()
    .log;
    for _ in 0..40 {
        log.append(b"entry").unwrap();
    }
    log.trim_before(20).unwrap();
    log.set_cursor(36).unwrap();
    log.close().unwrap();
    write_seed(dir.path(), LogStart::at(20, 0x0bad_0bad)).unwrap();
    assert!(!wal_recovery::verify(dir.path(), None).unwrap().ok);
    assert!(
        wal_recovery::open(
            dir.path(),
            options(RecoveryMode::AbsoluteConsistency).with_wal(wal.clone())
        )
        .is_err()
    );
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::default()).with_wal(wal)).unwrap();
    assert!(
        !recovered.report.from_close_record,
        "{:#?}",
        recovered.report
    );
    assert!(
        recovered
            .report
            .actions
            .iter()
            .any(|a| matches!(a, wal_recovery::Action::FileQuarantined { from, .. } if from.ends_with("SEED"))),
        "{:#?}",
        recovered.report
    );
}
