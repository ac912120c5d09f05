//! One test per scenario of the team's list of failures of other WALs (its anchors,
//! kept outside this repository), named after it, and one per weakness of the reference
//! implementation of the v1/v2 formats (docs/FORMAT.md, section 10, and the list of its
//! weaknesses in the team's format notes). Each builds the situation on disk from a real log
//! and asserts exactly what recovery and the store must do with it.
//!
//! Anchor 13's failed fsync itself is failed through the fault seam (`wal_store::faults`)
//! in `failed_syscalls_in_store_operations.rs` and `syncs_through_the_seam.rs`; here a
//! failed write during rotation stands for it. Anchor 12's full disk is simulated by
//! pointing the temporary name of the next file at `/dev/full`.
// Test code: a panic is a failed test. The helpers below are not `#[test]` functions, so
// the workspace's denial of these lints is lifted for the whole file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use support::{
    all_entries, append_range, data_path, expected, index_offsets, index_path, open, options,
    other_payload, payload, records, replayed, segment_bases, snapshot, tempdir, write_log,
};
use wal_recovery::cursor::{CursorState, encode_cursor};
use wal_recovery::{Action, Log, ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::{StoreError, Wal};
use wal_testkit::damage::{xor_byte, zero_range};
use wal_testkit::segment::encode_index;

/// Tiny segments: 36 entries fill segments 0, 10, 20 (sealed, 10 entries each) and 30
/// (active, 6 entries).
const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 36;
/// Segments large enough that every test log stays in one segment.
const ONE_SEGMENT_BYTES: u32 = 64 * 1024;

fn four_segments(dir: &Path) {
    write_log(dir, ENTRIES, SEGMENT_BYTES);
    assert_eq!(
        segment_bases(dir),
        [0, 10, 20, 30],
        "layout of the test log"
    );
}

fn with_mode(mode: RecoveryMode, commit_offset: Option<u64>) -> RecoveryOptions {
    options(SEGMENT_BYTES)
        .with_mode(mode)
        .with_commit_offset(commit_offset)
}

/// `(start, end)` of record `position` of a data file.
fn record_span(path: &Path, position: usize) -> (usize, usize) {
    records(&fs::read(path).unwrap())[position]
}

fn kinds(problems: &[wal_recovery::Problem]) -> Vec<ProblemKind> {
    problems.iter().map(|p| p.kind).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Corruption in the middle of the active file must never be silent.

#[test]
fn anchor_01_corruption_in_the_middle_of_the_active_file_is_never_silent() {
    for lost_page in [false, true] {
        let dir = tempdir();
        let options = RecoveryOptions::default().with_wal(support::wal_options(ONE_SEGMENT_BYTES));
        let recovered = open(dir.path(), &options);
        append_range(&recovered.log, 0..5);
        // A crash after the entries were made durable: no close record vouches for them.
        recovered.log.sync().unwrap();
        drop(recovered);
        let path = data_path(dir.path(), 0);
        let (start, _) = record_span(&path, 2);
        let written = support::written_len(&fs::read(&path).unwrap());
        if lost_page {
            // The size field of entry 2 reads 0: what a lost page looks like.
            zero_range(&path, start..start + 4);
        } else {
            xor_byte(&path, start + 12, 1 << 3); // a payload bit of entry 2
        }
        let damaged = fs::read(&path).unwrap();
        let kind = if lost_page {
            ProblemKind::GarbageAfterEnd
        } else {
            ProblemKind::CrcMismatch
        };

        // Reported by verify, with the entry, the file offset and the valid data after it.
        let verification = wal_recovery::verify(dir.path(), None).unwrap();
        assert!(!verification.ok);
        assert_eq!(kinds(&verification.problems), [kind]);
        let problem = &verification.problems[0];
        assert_eq!(problem.segment, Some(0));
        assert_eq!(problem.offset, Some(2));
        assert_eq!(problem.file_offset, Some(u32::try_from(start).unwrap()));
        assert!(!problem.committed);
        assert!(
            problem.detail.contains("a valid record follows"),
            "{}",
            problem.detail
        );

        // Refused by the strict mode, and by the default mode when entry 4 is committed.
        let err = wal_recovery::open(
            dir.path(),
            options.clone().with_mode(RecoveryMode::AbsoluteConsistency),
        )
        .unwrap_err();
        assert!(
            matches!(&err, RecoveryError::Inconsistent { problems } if kinds(problems) == [kind]),
            "{err:?}"
        );
        let err = wal_recovery::open(dir.path(), options.clone().with_commit_offset(Some(4)))
            .unwrap_err();
        assert!(
            matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
                if problem.kind == kind && problem.offset == Some(2) && problem.committed),
            "{err:?}"
        );
        assert_eq!(
            fs::read(&path).unwrap(),
            damaged,
            "a refusal changed the data"
        );

        // The default mode without a commit point cuts, loudly: the problem, the cut
        // offsets (including the valid entries 3 and 4 after the damage) and a copy of
        // every byte cut.
        let recovered = open(dir.path(), &options);
        let report = &recovered.report;
        assert_eq!(kinds(&report.problems), [kind]);
        assert!(!report.is_clean());
        let cut = report.cut.as_ref().unwrap();
        assert_eq!(cut.offsets, 2..5);
        assert!(!cut.committed);
        let [
            Action::TailCut {
                segment: 0,
                file_offset,
                bytes,
                quarantined_to,
            },
        ] = report.actions.as_slice()
        else {
            panic!("actions: {:?}", report.actions);
        };
        assert_eq!(*file_offset as usize, start);
        assert_eq!(usize::try_from(*bytes).unwrap(), written - start);
        assert_eq!(fs::read(quarantined_to).unwrap(), damaged[start..written]);
        assert_eq!(replayed(&recovered), expected(0..2));
    }
}

// ---------------------------------------------------------------------------------------
// 2. Offsets come from durable facts: after a purge and a restart they neither restart
//    nor collide, and a later purge never removes an unconsumed entry.

#[test]
fn anchor_02_offsets_survive_purge_and_restart() {
    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(14).unwrap();
    assert_eq!(recovered.log.trim_before(15).unwrap(), 1);
    drop(recovered);
    assert_eq!(segment_bases(dir.path()), [10, 20, 30]);

    // The trim is logical: the log starts at 15, though segment 10 stays on disk.
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 15);
    assert_eq!(recovered.report.last_offset, Some(35));
    assert_eq!(recovered.report.replay_from, 15);
    assert_eq!(replayed(&recovered), expected(15..36));
    assert_eq!(recovered.log.next_offset(), 36);
    append_range(&recovered.log, 36..50);
    assert_eq!(all_entries(&recovered.log), expected(15..50));
    recovered.log.set_cursor(25).unwrap();
    assert_eq!(recovered.log.trim_before(26).unwrap(), 1);
    drop(recovered);

    let bases = segment_bases(dir.path());
    assert_eq!(bases.first(), Some(&20));
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 26);
    assert_eq!(replayed(&recovered), expected(26..50));
    for offset in 26..50 {
        assert_eq!(recovered.log.read(offset).unwrap().payload, payload(offset));
    }
    for offset in 0..26 {
        assert!(recovered.log.read(offset).is_err(), "read({offset})");
    }
}

// ---------------------------------------------------------------------------------------
// 3. A crash between sealing a segment and creating the next one: entries appended after
//    the restart get the next offsets and are replayed.

#[test]
fn anchor_03_crash_between_seal_and_new_segment() {
    // The append of entry 30 sealed segment 20 and created segment 30. The crash came
    // before segment 30 existed (or while it was still a temporary file), so entry 30 was
    // never written nor acknowledged.
    for new_segment_as_temp in [false, true] {
        let dir = tempdir();
        write_log(dir.path(), 31, SEGMENT_BYTES);
        assert_eq!(segment_bases(dir.path()), [0, 10, 20, 30]);
        let new_data = data_path(dir.path(), 30);
        if new_segment_as_temp {
            let temp = dir.path().join("30.txnx.tmp");
            fs::rename(&new_data, &temp).unwrap();
            fs::write(&temp, vec![0u8; SEGMENT_BYTES as usize]).unwrap();
        } else {
            fs::remove_file(&new_data).unwrap();
        }
        assert!(index_path(dir.path(), 20).exists());
        {
            let recovered = open(dir.path(), &options(SEGMENT_BYTES));
            let report = &recovered.report;
            assert_eq!(report.first_offset, 0);
            assert_eq!(report.last_offset, Some(29));
            assert!(report.cut.is_none());
            assert!(
                report
                    .actions
                    .contains(&Action::ActiveIndexRemoved { segment: 20 })
            );
            assert_eq!(recovered.log.next_offset(), 30);
            recovered.log.set_cursor(29).unwrap();
            assert_eq!(recovered.log.append(&payload(30)).unwrap().offset, 30);
            assert_eq!(recovered.log.append(&payload(31)).unwrap().offset, 31);
        }
        assert_eq!(segment_bases(dir.path()), [0, 10, 20, 30]);
        assert!(support::temp_files(dir.path()).is_empty());
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
        assert_eq!(recovered.report.replay_from, 30);
        assert_eq!(replayed(&recovered), expected(30..32));
    }
}

// ---------------------------------------------------------------------------------------
// 4. With every entry purged, the sequence goes on where it was after a restart.

#[test]
fn anchor_04_sequence_survives_purging_everything() {
    // By clear(): only an empty segment named after the next offset stays.
    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(35).unwrap();
    recovered.log.clear().unwrap();
    assert_eq!(recovered.log.next_offset(), 36);
    drop(recovered);
    assert_eq!(segment_bases(dir.path()), [36]);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 36);
    assert_eq!(recovered.report.last_offset, None);
    assert_eq!(recovered.report.replay_from, 36);
    assert_eq!(replayed(&recovered), []);
    assert_eq!(recovered.log.first_offset(), 36);
    assert_eq!(recovered.log.last_offset(), None);
    assert_eq!(recovered.log.append(&payload(36)).unwrap().offset, 36);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(replayed(&recovered), expected(36..37));

    // By trimming everything consumed: the active segment stays, with its name, and the
    // log starts at 36.
    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(35).unwrap();
    assert_eq!(recovered.log.trim_before(36).unwrap(), 3);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.first_offset, 36);
    assert_eq!(recovered.report.last_offset, None);
    assert_eq!(replayed(&recovered), []);
    assert_eq!(recovered.log.append(&payload(36)).unwrap().offset, 36);
}

// ---------------------------------------------------------------------------------------
// 5. A missing or unreadable cursor, or one past the end, is reported.

#[test]
fn anchor_05_missing_or_bad_cursor_is_reported() {
    let dir = tempdir();
    four_segments(dir.path());

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.cursor, CursorState::Missing);
    assert_eq!(recovered.report.cursor.status(), "missing");
    assert_eq!(recovered.report.replay_from, 0);
    drop(recovered);

    let cursor = wal_recovery::cursor::cursor_path(dir.path());
    fs::write(&cursor, b"not a cursor").unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.cursor.status(), "corrupt");
    assert_eq!(
        kinds(&recovered.report.problems),
        [ProblemKind::CursorCorrupt]
    );
    assert_eq!(
        recovered.report.problems[0].path.as_deref(),
        Some(cursor.as_path())
    );
    assert!(!recovered.report.is_clean());
    assert_eq!(recovered.report.replay_from, 0);
    assert_eq!(replayed(&recovered), expected(0..ENTRIES));
    drop(recovered);

    fs::write(&cursor, encode_cursor(99)).unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.cursor, CursorState::At(99));
    assert_eq!(
        kinds(&recovered.report.problems),
        [ProblemKind::CursorOutOfRange]
    );
    assert_eq!(recovered.report.problems[0].offset, Some(99));
    assert!(!recovered.report.is_clean());
    assert_eq!(recovered.report.replay_from, ENTRIES);
    assert_eq!(replayed(&recovered), []);
}

// ---------------------------------------------------------------------------------------
// 6. A sealed segment that cannot be opened is never skipped, and the segments after it
//    are never removed for it.

#[test]
fn anchor_06_unopenable_segment_is_not_skipped() {
    // Its data file is gone: a gap, committed (segments after it exist).
    let dir = tempdir();
    four_segments(dir.path());
    fs::remove_file(data_path(dir.path(), 10)).unwrap();
    let before = snapshot(dir.path());
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::AbsoluteConsistency,
    ] {
        let err = wal_recovery::open(dir.path(), with_mode(mode, None)).unwrap_err();
        let problem = match &err {
            RecoveryError::CommittedCorruption { problem, .. } => (**problem).clone(),
            RecoveryError::Inconsistent { problems } => problems
                .iter()
                .find(|p| p.kind == ProblemKind::SegmentGap)
                .unwrap()
                .clone(),
            other => panic!("{mode:?}: {other:?}"),
        };
        assert_eq!(problem.kind, ProblemKind::SegmentGap, "{mode:?}");
        assert_eq!(problem.segment, Some(20));
        assert_eq!(problem.offset, Some(10));
        assert!(problem.committed);
        assert_eq!(
            snapshot(dir.path()),
            before,
            "{mode:?} changed the directory"
        );
    }
    // The operator's point-in-time cut keeps the later segments, whole, in quarantine.
    let recovered = open(dir.path(), &with_mode(RecoveryMode::PointInTime, None));
    assert_eq!(recovered.report.last_offset, Some(9));
    let cut = recovered.report.cut.clone().unwrap();
    assert_eq!(cut.offsets, 10..36);
    assert!(cut.committed);
    drop(recovered);
    for name in ["20.txnx", "20.idxx", "30.txnx"] {
        let kept = support::find_in_quarantine(dir.path(), name);
        assert_eq!(fs::read(kept).unwrap(), before[name], "{name}");
    }

    // Its data file is empty: the index says 10 entries were there.
    let dir = tempdir();
    four_segments(dir.path());
    fs::write(data_path(dir.path(), 10), b"").unwrap();
    let before = snapshot(dir.path());
    let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
            if problem.kind == ProblemKind::MissingEntries
                && problem.segment == Some(10)
                && problem.offset == Some(10)),
        "{err:?}"
    );
    assert_eq!(snapshot(dir.path()), before);

    // Its data file cannot be read at all (a folder in its place): an I/O error naming
    // it, and nothing changed.
    let dir = tempdir();
    four_segments(dir.path());
    let path = data_path(dir.path(), 10);
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    let before = snapshot(dir.path());
    let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(wal_recovery::verify(dir.path(), None).is_err());
    assert_eq!(snapshot(dir.path()), before);
    assert!(path.is_dir());
}

// ---------------------------------------------------------------------------------------
// 7. A torn tail with no commit point opens (the reference implementation refused).

#[test]
fn anchor_07_torn_tail_without_commit_point_opens() {
    for (label, count, segment_bytes) in [
        ("one segment", 5, ONE_SEGMENT_BYTES),
        ("four segments", ENTRIES, SEGMENT_BYTES),
    ] {
        for tear in ["payload", "header only"] {
            let dir = tempdir();
            write_log(dir.path(), count, segment_bytes);
            let active = *segment_bases(dir.path()).last().unwrap();
            let path = data_path(dir.path(), active);
            let last = records(&fs::read(&path).unwrap()).len() - 1;
            let (start, end) = record_span(&path, last);
            match tear {
                // The last sector of the write did not reach the disk.
                "payload" => zero_range(&path, end - 3..end),
                // Only the header did.
                _ => zero_range(&path, start + 12..end),
            }
            let recovered = open(dir.path(), &options(segment_bytes).with_commit_offset(None));
            let report = &recovered.report;
            assert_eq!(
                kinds(&report.problems),
                [ProblemKind::TornTail],
                "{label}, {tear}"
            );
            assert!(!report.problems[0].committed);
            assert_eq!(report.problems[0].offset, Some(count - 1));
            assert_eq!(report.last_offset, Some(count - 2));
            let cut = report.cut.as_ref().unwrap();
            assert_eq!(cut.offsets.start, count - 1);
            assert!(!cut.committed);
            let [
                Action::TailCut {
                    file_offset, bytes, ..
                },
            ] = report.actions.as_slice()
            else {
                panic!("{label}, {tear}: actions {:?}", report.actions);
            };
            assert_eq!(*file_offset as usize, start);
            let torn_end = if tear == "payload" {
                end - 3
            } else {
                start + 12
            };
            assert_eq!(usize::try_from(*bytes).unwrap(), torn_end - start);
            assert_eq!(replayed(&recovered), expected(0..count - 1));
            assert_eq!(
                recovered
                    .log
                    .append(&other_payload(count - 1))
                    .unwrap()
                    .offset,
                count - 1
            );
            drop(recovered);
            support::assert_verified(dir.path());
        }
    }
}

/// The report of a torn-tail cut names the torn entry among the offsets that went: the
/// record was written far enough to have a size and a header, so entry `count - 1`
/// reached the disk in part and is what the cut removed.
///
/// Fails today: `Cut::offsets` is `4..4`, an empty range, although `TailCut` removed the
/// bytes of entry 4. Diagnosis: `repair::apply` ends the range at the largest
/// `SegmentScan::reached_entries()`, which counts the damaged record only when a valid
/// record was found after it (`resync.is_some()`); a torn last record has nothing after
/// it, so it is not counted and the log line reads "cut entries 4..4".
#[test]
fn anchor_07_cut_of_a_torn_tail_names_the_torn_entry() {
    let dir = tempdir();
    write_log(dir.path(), 5, ONE_SEGMENT_BYTES);
    let path = data_path(dir.path(), 0);
    let (_, end) = record_span(&path, 4);
    zero_range(&path, end - 3..end);
    let recovered = open(dir.path(), &options(ONE_SEGMENT_BYTES));
    assert_eq!(kinds(&recovered.report.problems), [ProblemKind::TornTail]);
    assert_eq!(recovered.report.cut.as_ref().unwrap().offsets, 4..5);
}

// ---------------------------------------------------------------------------------------
// 8. Empty or stale indexes, leftover indexes, truncation below every segment, reads out
//    of bounds and entries larger than a segment: a typed error or a clean recovery.

#[test]
fn anchor_08_empty_or_stale_index_is_a_clean_recovery() {
    let dir = tempdir();
    four_segments(dir.path());
    let pristine = snapshot(dir.path());
    let index = index_path(dir.path(), 10);
    let offsets = index_offsets(&pristine["10.idxx"]);
    let five: Vec<wal_format::FileOffset> = offsets[..5]
        .iter()
        .map(|&o| wal_format::FileOffset(o))
        .collect();
    let stale = encode_index(wal_format::Codec::V2, &five);
    assert_eq!(stale.len(), 4 + 4 * 5);
    let cases: [(&str, Vec<u8>, ProblemKind); 3] = [
        ("a 0-byte index", Vec::new(), ProblemKind::IndexCorrupt),
        (
            "an index of no entry",
            vec![0xa2, 0x82, 0xea, 0xd8],
            ProblemKind::IndexStale,
        ),
        (
            "an index of 5 of the 10 entries",
            stale,
            ProblemKind::IndexStale,
        ),
    ];
    for (label, bytes, kind) in cases {
        support::restore(dir.path(), &pristine);
        fs::write(&index, &bytes).unwrap();
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        let report = &recovered.report;
        assert_eq!(kinds(&report.problems), [kind], "{label}");
        assert_eq!(report.problems[0].segment, Some(10), "{label}");
        assert_eq!(
            report.actions,
            [Action::IndexRebuilt {
                segment: 10,
                entries: 10
            }],
            "{label}"
        );
        assert!(report.cut.is_none());
        assert_eq!(all_entries(&recovered.log), expected(0..ENTRIES), "{label}");
        drop(recovered);
        assert_eq!(fs::read(&index).unwrap(), pristine["10.idxx"], "{label}");
        support::assert_verified(dir.path());
    }

    // An index left behind by a trim (its data file gone) is reported and blocks nothing.
    support::restore(dir.path(), &pristine);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.log.trim_before(10).unwrap(), 1);
    drop(recovered);
    fs::write(index_path(dir.path(), 0), &pristine["0.idxx"]).unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(
        kinds(&recovered.report.problems),
        [ProblemKind::UnknownFile]
    );
    assert_eq!(
        recovered.report.problems[0].path.as_deref(),
        Some(index_path(dir.path(), 0).as_path())
    );
    assert_eq!(recovered.report.first_offset, 10);
    assert_eq!(recovered.log.trim_before(20).unwrap(), 1);
    assert_eq!(all_entries(&recovered.log), expected(20..ENTRIES));
    drop(recovered);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
}

#[test]
fn anchor_08_truncate_below_every_segment_is_a_typed_error() {
    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let wal = &recovered.log;
    assert_eq!(wal.trim_before(20).unwrap(), 2);
    assert_eq!(wal.first_offset(), 20);
    for offset in [18, 0, 36, 40, u64::MAX] {
        let err = wal.truncate_after(offset).unwrap_err();
        assert!(
            matches!(err, RecoveryError::Store(StoreError::OffsetOutOfRange { offset: o, first: 20, next: 36, .. }) if o == offset),
            "truncate_after({offset}): {err:?}"
        );
    }
    // Nothing was changed or left locked: appends, syncs and a legal truncation work.
    assert_eq!(all_entries(wal), expected(20..ENTRIES));
    assert_eq!(wal.append(&payload(36)).unwrap().offset, 36);
    wal.sync().unwrap();
    wal.truncate_after(19).unwrap();
    assert_eq!(wal.next_offset(), 20);
    assert_eq!(wal.last_offset(), None);
    assert_eq!(wal.append(&other_payload(20)).unwrap().offset, 20);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(all_entries(&recovered.log), [(20, other_payload(20))]);
}

#[test]
fn anchor_08_reads_outside_the_log_are_typed_errors() {
    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let wal = &recovered.log;
    assert_eq!(wal.trim_before(10).unwrap(), 1);
    for offset in [0, 9, 36, 37, u64::MAX] {
        let err = wal.read(offset).unwrap_err();
        assert!(
            matches!(err, RecoveryError::Store(StoreError::OffsetOutOfRange { offset: o, first: 10, next: 36, .. }) if o == offset),
            "read({offset}): {err:?}"
        );
    }
    for offset in [9, 37, u64::MAX] {
        assert!(
            matches!(
                wal.iter_from(offset),
                Err(RecoveryError::Store(StoreError::OffsetOutOfRange { .. }))
            ),
            "iter_from({offset})"
        );
    }
    assert_eq!(wal.iter_from(36).unwrap().count(), 0);
}

#[test]
fn anchor_08_entry_larger_than_a_segment_is_stored() {
    let dir = tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let large: Vec<u8> = (0..4 * SEGMENT_BYTES).map(|i| (i % 251) as u8).collect();
    assert_eq!(recovered.log.append(&payload(0)).unwrap().offset, 0);
    assert_eq!(recovered.log.append(&large).unwrap().offset, 1);
    assert_eq!(recovered.log.append(&payload(2)).unwrap().offset, 2);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(
        replayed(&recovered),
        [(0, payload(0)), (1, large), (2, payload(2))]
    );
}

// ---------------------------------------------------------------------------------------
// 9, 10. A rotation is durable before the append that caused it returns: the sealed
//        segment's index and the new segment's file are in place under their final names.

/// Appends until one append rotates; returns the offset of that append.
fn append_until_rotation(log: &Log, dir: &Path) -> u64 {
    for offset in 0.. {
        let before = segment_bases(dir).len();
        assert_eq!(log.append(&payload(offset)).unwrap().offset, offset);
        if segment_bases(dir).len() > before {
            return offset;
        }
    }
    unreachable!()
}

#[test]
fn anchor_09_rolled_segment_durable_before_ack() {
    let dir = tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(
        recovered.log.options().sync_policy,
        wal_store::SyncPolicy::GroupCommit
    );
    let rotated_at = append_until_rotation(&recovered.log, dir.path());
    assert_eq!(rotated_at, 10);
    // Right after the append returned: the sealed data, its index, the new segment.
    let sealed = fs::read(data_path(dir.path(), 0)).unwrap();
    let sealed_records = records(&sealed);
    assert_eq!(sealed_records.len(), 10);
    let index = fs::read(index_path(dir.path(), 0)).unwrap();
    let starts: Vec<u32> = sealed_records
        .iter()
        .map(|&(start, _)| u32::try_from(start).unwrap())
        .collect();
    assert_eq!(index_offsets(&index), starts);
    assert!(data_path(dir.path(), 10).is_file());
    assert_eq!(
        records(&fs::read(data_path(dir.path(), 10)).unwrap()).len(),
        1
    );
    assert_eq!(recovered.log.last_synced_offset(), Some(10));
    let stats = recovered.log.stats();
    assert_eq!(stats.rotations, 1);
    assert_eq!(stats.segments, 2);
    drop(recovered);
    // A crash now loses nothing acknowledged.
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(replayed(&recovered), expected(0..11));
}

#[test]
fn anchor_10_rotation_fsyncs_directory() {
    let dir = tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let rotated_at = append_until_rotation(&recovered.log, dir.path());
    assert_eq!(
        support::file_names(dir.path()),
        ["0.idxx", "0.txnx", "10.txnx", "LOCK", "SEED"]
    );
    assert_eq!(rotated_at, 10);
    // Created preallocated and complete under its final name, never renamed after.
    let meta = fs::metadata(data_path(dir.path(), 10)).unwrap();
    assert_eq!(meta.len(), wal_format::data_file_bytes(SEGMENT_BYTES));
    assert!(support::temp_files(dir.path()).is_empty());
    drop(recovered);
}

// ---------------------------------------------------------------------------------------
// 11. Leftover temporary files never block startup.

#[test]
fn anchor_11_leftover_temp_files_do_not_block_startup() {
    let dir = tempdir();
    four_segments(dir.path());
    let pristine = snapshot(dir.path());
    let temps = ["10.idxx.tmp", "36.txnx.tmp", "30.idxx.tmp"];
    let plant = |dir: &Path| {
        fs::write(dir.join(temps[0]), b"\x01\x02half an index").unwrap();
        fs::write(dir.join(temps[1]), vec![0u8; SEGMENT_BYTES as usize]).unwrap();
        fs::write(dir.join(temps[2]), b"").unwrap();
    };
    plant(dir.path());

    // The store alone opens past them.
    let wal = Wal::open(dir.path(), support::wal_options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.next_offset(), ENTRIES);
    drop(wal);

    // The strict mode reports them and changes nothing.
    let recovered = open(
        dir.path(),
        &with_mode(RecoveryMode::AbsoluteConsistency, None),
    );
    assert_eq!(
        kinds(&recovered.report.problems),
        [ProblemKind::TempFile; 3]
    );
    assert!(recovered.report.actions.is_empty());
    drop(recovered);
    assert_eq!(support::temp_files(dir.path()).len(), 3);

    // The default mode reports and removes them.
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(
        kinds(&recovered.report.problems),
        [ProblemKind::TempFile; 3]
    );
    let mut removed: Vec<String> = recovered
        .report
        .actions
        .iter()
        .map(|a| match a {
            Action::TempFileRemoved { path } => {
                path.file_name().unwrap().to_string_lossy().into_owned()
            }
            other => panic!("unexpected action {other:?}"),
        })
        .collect();
    removed.sort();
    let mut planted = temps.map(str::to_owned).to_vec();
    planted.sort();
    assert_eq!(removed, planted);
    assert_eq!(all_entries(&recovered.log), expected(0..ENTRIES));
    drop(recovered);
    assert!(support::temp_files(dir.path()).is_empty());
    assert_eq!(snapshot(dir.path()), pristine);
}

// ---------------------------------------------------------------------------------------
// 12. A full disk: creating the next segment fails with an error, nothing is lost, and
//     the log restarts. (`/dev/full` stands in for the disk: the temporary name of the
//     next file is a link to it, so creating that file fails with ENOSPC or an error of
//     the preallocation.) Segment files are never sparse.

#[test]
fn anchor_12_full_disk_at_rotation_is_an_error_and_restart_works() {
    assert!(Path::new("/dev/full").exists(), "this test needs /dev/full");
    let dir = tempdir();
    write_log(dir.path(), 10, SEGMENT_BYTES);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let temp = dir.path().join("10.txnx.tmp");
    std::os::unix::fs::symlink("/dev/full", &temp).unwrap();
    let err = recovered.log.append(&payload(10)).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::Store(StoreError::Io { path, .. }) if *path == temp),
        "{err:?}"
    );
    assert_eq!(recovered.log.next_offset(), 10);
    assert_eq!(recovered.log.last_synced_offset(), Some(9));
    assert_eq!(all_entries(&recovered.log), expected(0..10));
    // The failed creation removed its temporary name (only the link, not /dev/full).
    assert!(fs::symlink_metadata(&temp).is_err(), "the link is gone");
    assert!(Path::new("/dev/full").exists(), "only the link was removed");
    // A crash now: the restart is not blocked by anything the failure left.
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.last_offset, Some(9));
    // The rotation had sealed segment 0 (its index written) before the creation failed:
    // the only thing to do is to make it the active segment again.
    assert_eq!(
        recovered.report.actions,
        [Action::ActiveIndexRemoved { segment: 0 }],
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.log.append(&payload(10)).unwrap().offset, 10);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(replayed(&recovered), expected(0..11));
}

#[test]
fn anchor_12_segment_files_are_not_sparse() {
    let dir = tempdir();
    four_segments(dir.path());
    for base in [0, 10, 20, 30] {
        let meta = fs::metadata(data_path(dir.path(), base)).unwrap();
        assert_eq!(meta.len(), wal_format::data_file_bytes(SEGMENT_BYTES));
        assert!(
            meta.blocks() * 512 >= meta.len(),
            "segment {base}: {} blocks for {} bytes",
            meta.blocks(),
            meta.len()
        );
    }
}

// ---------------------------------------------------------------------------------------
// 13. A durability error is returned, never swallowed. (A failed fsync cannot be caused
//     from outside the store; a failed write of the sealed segment's index during
//     rotation, through `/dev/full`, stands in for it.)

#[test]
fn anchor_13_failed_write_during_rotation_is_returned_to_the_appender() {
    assert!(Path::new("/dev/full").exists(), "this test needs /dev/full");
    let dir = tempdir();
    write_log(dir.path(), 10, SEGMENT_BYTES);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let temp = dir.path().join("0.idxx.tmp");
    std::os::unix::fs::symlink("/dev/full", &temp).unwrap();
    let err = recovered.log.append(&payload(10)).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::Store(StoreError::Io { path, source, .. })
            if *path == temp && source.raw_os_error() == Some(28)),
        "{err:?}"
    );
    assert_eq!(recovered.log.next_offset(), 10);
    assert_eq!(recovered.log.last_synced_offset(), Some(9));
    assert!(!data_path(dir.path(), 10).exists());
    // The failed write removed its temporary name; once the disk has room, the same log
    // goes on.
    assert!(fs::symlink_metadata(&temp).is_err(), "the link is gone");
    assert_eq!(recovered.log.append(&payload(10)).unwrap().offset, 10);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(replayed(&recovered), expected(0..11));
}

// ---------------------------------------------------------------------------------------
// 14. A clean truncation is invisible to checksums: the index, the next segment's base,
//     the commit point or the cursor reveal it.

#[test]
fn anchor_14_clean_truncation_is_revealed_by_index_or_commit_point() {
    // A sealed segment cut cleanly after 7 of its 10 entries: its index reveals it.
    for shorten in [false, true] {
        let dir = tempdir();
        four_segments(dir.path());
        let path = data_path(dir.path(), 10);
        let (start, _) = record_span(&path, 7);
        if shorten {
            let mut bytes = fs::read(&path).unwrap();
            bytes.truncate(start);
            fs::write(&path, bytes).unwrap();
        } else {
            zero_range(&path, start..SEGMENT_BYTES as usize);
        }
        let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
        assert!(
            matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
                if problem.kind == ProblemKind::MissingEntries
                    && problem.segment == Some(10)
                    && problem.offset == Some(17)),
            "shortened {shorten}: {err:?}"
        );
        // Without its index, the next segment's base reveals it.
        fs::remove_file(index_path(dir.path(), 10)).unwrap();
        let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
        assert!(
            matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
                if problem.kind == ProblemKind::SegmentGap
                    && problem.segment == Some(20)
                    && problem.offset == Some(17)),
            "shortened {shorten}, no index: {err:?}"
        );
    }

    // The active segment zeroed after entry 32: the commit point reveals it.
    let dir = tempdir();
    four_segments(dir.path());
    let path = data_path(dir.path(), 30);
    let (start, _) = record_span(&path, 3);
    zero_range(&path, start..SEGMENT_BYTES as usize);
    let before = snapshot(dir.path());
    let err = wal_recovery::open(
        dir.path(),
        with_mode(RecoveryMode::TolerateCorruptTail, Some(35)),
    )
    .unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
            if problem.kind == ProblemKind::MissingEntries && problem.offset == Some(33)),
        "{err:?}"
    );
    assert_eq!(snapshot(dir.path()), before);
    let verification = wal_recovery::verify(dir.path(), Some(35)).unwrap();
    assert!(!verification.ok);
    assert_eq!(kinds(&verification.problems), [ProblemKind::MissingEntries]);
    // The cursor reveals it too: the consumer had finalized entry 34.
    fs::write(
        wal_recovery::cursor::cursor_path(dir.path()),
        encode_cursor(34),
    )
    .unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(
        kinds(&verification.problems),
        [ProblemKind::CursorOutOfRange]
    );
    assert_eq!(verification.problems[0].offset, Some(34));
    // With no independent record at all, nothing can reveal it (FORMAT.md, section 6):
    // the log ends cleanly after entry 32.
    fs::remove_file(wal_recovery::cursor::cursor_path(dir.path())).unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.last_offset, Some(32));
}

// ---------------------------------------------------------------------------------------
// The reference implementation's weaknesses (docs/FORMAT.md, section 10).

#[test]
fn reference_prev_crc_link_is_checked() {
    // Inside the active segment: entry 2 replaced by a whole, self-consistent record of
    // the same payload chained from the wrong seed.
    let dir = tempdir();
    write_log(dir.path(), 5, ONE_SEGMENT_BYTES);
    let path = data_path(dir.path(), 0);
    let (start, end) = record_span(&path, 2);
    let (record, _) = support::encode_record(0x1234_5678, &payload(2));
    assert_eq!(record.len(), end - start);
    let mut bytes = fs::read(&path).unwrap();
    bytes[start..end].copy_from_slice(&record);
    fs::write(&path, &bytes).unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(kinds(&verification.problems), [ProblemKind::ChainBreak]);
    assert_eq!(verification.problems[0].offset, Some(2));
    let err = wal_recovery::open(
        dir.path(),
        options(ONE_SEGMENT_BYTES).with_commit_offset(Some(4)),
    )
    .unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
            if problem.kind == ProblemKind::ChainBreak && problem.offset == Some(2)),
        "{err:?}"
    );
    let recovered = open(dir.path(), &options(ONE_SEGMENT_BYTES));
    assert_eq!(recovered.report.cut.as_ref().unwrap().offsets, 2..5);
    assert_eq!(replayed(&recovered), expected(0..2));
    drop(recovered);

    // Across segments: segment 20's first record chained from 0 instead of entry 19.
    let dir = tempdir();
    four_segments(dir.path());
    let path = data_path(dir.path(), 20);
    let (start, end) = record_span(&path, 0);
    let (record, _) = support::encode_record(0, &payload(20));
    let mut bytes = fs::read(&path).unwrap();
    bytes[start..end].copy_from_slice(&record);
    fs::write(&path, &bytes).unwrap();
    let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
            if problem.kind == ProblemKind::ChainBreak
                && problem.segment == Some(20)
                && problem.offset == Some(20)
                && problem.file_offset == Some(0)),
        "{err:?}"
    );
    // A plain open checks the active segment and the sealed one before it; the link into
    // segment 20 is checked when segment 10, deferred by the open, is first read.
    let wal = Wal::open(dir.path(), support::wal_options(SEGMENT_BYTES)).unwrap();
    let read = wal.read(19);
    assert!(
        matches!(read, Err(StoreError::NeedsRecovery { segment: 20, .. })),
        "{read:?}"
    );
    let first_error = wal.iter().find(Result::is_err);
    assert!(
        matches!(
            first_error,
            Some(Err(StoreError::NeedsRecovery { segment: 20, .. }))
        ),
        "{first_error:?}"
    );
}

#[test]
fn reference_committed_record_whose_size_reads_zero_is_not_the_end() {
    // In a sealed segment: committed by the segments after it.
    let dir = tempdir();
    four_segments(dir.path());
    let path = data_path(dir.path(), 10);
    let (start, _) = record_span(&path, 4);
    zero_range(&path, start..start + 4);
    let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
            if problem.kind == ProblemKind::GarbageAfterEnd
                && problem.segment == Some(10)
                && problem.offset == Some(14)),
        "{err:?}"
    );

    // In the active segment: committed by the caller's commit offset.
    let dir = tempdir();
    four_segments(dir.path());
    let path = data_path(dir.path(), 30);
    let (start, _) = record_span(&path, 2);
    zero_range(&path, start..start + 4);
    let err = wal_recovery::open(
        dir.path(),
        with_mode(RecoveryMode::TolerateCorruptTail, Some(35)),
    )
    .unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
            if problem.kind == ProblemKind::GarbageAfterEnd
                && problem.segment == Some(30)
                && problem.offset == Some(32)),
        "{err:?}"
    );
}

#[test]
fn reference_no_resurrection_after_truncate_reappend_and_crash() {
    for (label, count, keep, segment_bytes) in [
        ("one segment", 5u64, 1u64, ONE_SEGMENT_BYTES),
        ("into a sealed segment", ENTRIES, 12, SEGMENT_BYTES),
    ] {
        let dir = tempdir();
        let recovered = open(dir.path(), &options(segment_bytes));
        let crcs: Vec<u32> = (0..count)
            .map(|o| recovered.log.append(&payload(o)).unwrap().crc.unwrap())
            .collect();
        recovered.log.truncate_after(keep).unwrap();
        // The cut bytes are zero on disk.
        let base = *segment_bases(dir.path()).last().unwrap();
        let bytes = fs::read(data_path(dir.path(), base)).unwrap();
        let kept = records(&bytes);
        assert_eq!(kept.len() as u64, keep + 1 - base, "{label}");
        assert!(
            bytes[kept.last().unwrap().1..].iter().all(|&b| b == 0),
            "{label}: bytes after the cut are not zero"
        );
        // The same payloads again get the same crcs: an old record left in place would
        // chain on.
        for o in keep + 1..keep + 3 {
            assert_eq!(
                recovered.log.append(&payload(o)).unwrap().crc,
                Some(crcs[usize::try_from(o).unwrap()]),
                "{label}"
            );
        }
        drop(recovered); // the crash
        let recovered = open(dir.path(), &options(segment_bytes));
        assert!(
            recovered.report.is_clean(),
            "{label}: {:#?}",
            recovered.report
        );
        assert_eq!(replayed(&recovered), expected(0..keep + 3), "{label}");
    }
}

#[test]
fn reference_last_crc_reset_after_truncation() {
    // A log that starts mid-stream, so that "everything" can be truncated too.
    const FIRST: u64 = 100;
    const SEED: u32 = 0xC0FF_EE11;
    let dir = tempdir();
    let options = RecoveryOptions::default().with_wal(
        support::wal_options(SEGMENT_BYTES)
            .with_first_offset(FIRST)
            .with_seed_crc(SEED),
    );
    let recovered = open(dir.path(), &options);
    let crc_of: std::collections::BTreeMap<u64, u32> = (FIRST..FIRST + 25)
        .map(|o| (o, recovered.log.append(&payload(o)).unwrap().crc.unwrap()))
        .collect();
    let wal = &recovered.log;
    assert!(segment_bases(dir.path()).len() >= 3);
    // Back into a sealed segment, then inside the active one, then before the first.
    for (keep, seed) in [
        (FIRST + 13, crc_of[&(FIRST + 13)]),
        (FIRST + 11, crc_of[&(FIRST + 11)]),
        (FIRST - 1, SEED),
    ] {
        wal.truncate_after(keep).unwrap();
        assert_eq!(wal.last_crc(), Some(seed), "after {keep}");
        let appended = wal.append(&other_payload(keep + 1)).unwrap();
        assert_eq!(appended.offset, keep + 1);
        assert_eq!(
            appended.crc,
            Some(wal_format::crc::chain(seed, &other_payload(keep + 1)))
        );
        assert_eq!(wal.read(keep + 1).unwrap().prev_crc, Some(seed));
        wal.truncate_after(keep).unwrap();
    }
    drop(recovered);
    // After a restart the seed of an empty log is the configured one again.
    let recovered = open(dir.path(), &options);
    assert_eq!(recovered.report.last_offset, None);
    assert_eq!(recovered.log.last_crc(), Some(SEED));
    assert_eq!(recovered.log.next_offset(), FIRST);

    // A truncation, then a restart: the recovered last crc is the kept entry's.
    let dir = tempdir();
    let recovered = open(dir.path(), &options);
    let crcs: Vec<u32> = (FIRST..FIRST + 25)
        .map(|o| recovered.log.append(&payload(o)).unwrap().crc.unwrap())
        .collect();
    recovered.log.truncate_after(FIRST + 12).unwrap();
    drop(recovered);
    let recovered = open(dir.path(), &options);
    assert_eq!(recovered.report.last_crc, Some(crcs[12]));
    assert_eq!(recovered.log.last_crc(), Some(crcs[12]));
}
