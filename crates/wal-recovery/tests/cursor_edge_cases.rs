//! The cursor sidecar at its edges: missing, corrupt in every way, before the first entry
//! after a trim, past the last entry; `set_cursor` persisting, refusing offsets outside the
//! log, and working with `trim_before`; the file replaced atomically.
// Test code: a panic is a failed test. The helpers below are not `#[test]` functions, so
// the workspace's denial of these lints is lifted for the whole file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::fs;
use std::path::Path;

use support::{
    all_entries, append_range, data_path, expected, open, options, payload, records, replayed,
    segment_bases, tempdir, write_log,
};
use wal_recovery::cursor::{
    CURSOR_FILE_NAME, CursorState, cursor_path, encode_cursor, read_cursor,
};
use wal_recovery::{ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::{ReadVisibility, SyncPolicy};

/// 36 entries in segments 0, 10, 20 (sealed) and 30 (active).
const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 36;

fn four_segments(dir: &Path) {
    write_log(dir, ENTRIES, SEGMENT_BYTES);
    assert_eq!(
        segment_bases(dir),
        [0, 10, 20, 30],
        "layout of the test log"
    );
}

/// Removes segment 0 (entries 0..10), so that the log starts at 10.
fn trim_first_segment(dir: &Path) {
    let recovered = open(dir, &options(SEGMENT_BYTES));
    assert_eq!(recovered.log.trim_before(10).unwrap(), 1);
}

fn kinds(problems: &[wal_recovery::Problem]) -> Vec<ProblemKind> {
    problems.iter().map(|p| p.kind).collect()
}

fn strict() -> RecoveryOptions {
    options(SEGMENT_BYTES).with_mode(RecoveryMode::AbsoluteConsistency)
}

#[test]
fn missing_cursor_replays_from_the_first_entry_and_says_so() {
    let dir = tempdir();
    four_segments(dir.path());
    trim_first_segment(dir.path());
    assert!(!cursor_path(dir.path()).exists());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.cursor, CursorState::Missing);
    assert_eq!(recovered.report.cursor.status(), "missing");
    assert_eq!(recovered.report.replay_from, 10);
    assert_eq!(replayed(&recovered), expected(10..ENTRIES));
    drop(recovered);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(verification.cursor, CursorState::Missing);
    assert!(verification.ok);
    // Recovery creates no cursor of its own.
    assert!(!cursor_path(dir.path()).exists());
}

#[test]
fn corrupt_cursor_is_reported_replays_from_the_first_entry_and_is_refused_when_strict() {
    let good = encode_cursor(20);
    let mut flipped_crc = good;
    flipped_crc[17] ^= 0x10;
    let mut flipped_offset = good;
    flipped_offset[15] ^= 0x01;
    let mut wrong_magic = good;
    wrong_magic[0] = b'X';
    let mut longer = good.to_vec();
    longer.push(0);
    let cases: [(&str, Vec<u8>); 7] = [
        ("garbage", b"\xde\xad\xbe\xef garbage garbage".to_vec()),
        ("empty", Vec::new()),
        ("too short", good[..7].to_vec()),
        ("too long", longer),
        ("flipped crc", flipped_crc.to_vec()),
        ("flipped offset", flipped_offset.to_vec()),
        ("wrong magic", wrong_magic.to_vec()),
    ];
    let dir = tempdir();
    four_segments(dir.path());
    trim_first_segment(dir.path());
    let path = cursor_path(dir.path());
    for (label, bytes) in cases {
        fs::write(&path, &bytes).unwrap();

        let err = wal_recovery::open(dir.path(), strict()).unwrap_err();
        assert!(
            matches!(&err, RecoveryError::Inconsistent { problems }
                if kinds(problems) == [ProblemKind::CursorCorrupt]),
            "{label}: {err:?}"
        );
        let verification = wal_recovery::verify(dir.path(), None).unwrap();
        assert!(!verification.ok, "{label}");
        assert_eq!(verification.cursor.status(), "corrupt", "{label}");

        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        let report = &recovered.report;
        assert!(
            matches!(report.cursor, CursorState::Corrupt(_)),
            "{label}: {:?}",
            report.cursor
        );
        assert_eq!(
            kinds(&report.problems),
            [ProblemKind::CursorCorrupt],
            "{label}"
        );
        assert_eq!(report.problems[0].path.as_deref(), Some(path.as_path()));
        assert!(!report.problems[0].committed);
        assert!(!report.is_clean(), "{label}");
        assert_eq!(report.replay_from, 10, "{label}");
        assert_eq!(replayed(&recovered), expected(10..ENTRIES), "{label}");
        drop(recovered);
        // The evidence stays where it was.
        assert_eq!(fs::read(&path).unwrap(), bytes, "{label}");
    }
}

#[test]
fn cursor_before_the_first_entry_after_a_trim_replays_from_the_first_and_is_reported() {
    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(3).unwrap();
    // Through the plain store: the front door would refuse this trim.
    assert_eq!(recovered.log.store().trim_before(20).unwrap(), 2);
    drop(recovered);

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let report = &recovered.report;
    assert_eq!(report.cursor, CursorState::At(3));
    // Entries 4..=19 were never finalized: their loss is a problem, not a note.
    assert_eq!(kinds(&report.problems), [ProblemKind::UnreadEntriesGone]);
    assert!(!report.problems[0].is_informational());
    assert_eq!(report.problems[0].offset, Some(3));
    assert_eq!(report.first_offset, 20);
    assert_eq!(report.replay_from, 20);
    assert_eq!(replayed(&recovered), expected(20..ENTRIES));
    drop(recovered);

    // Just before the first entry is not out of range: everything before was consumed.
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(19).unwrap();
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.replay_from, 20);
    assert_eq!(replayed(&recovered), expected(20..ENTRIES));
}

#[test]
fn cursor_past_the_last_entry_is_clamped_and_reported() {
    let dir = tempdir();
    four_segments(dir.path());
    fs::write(cursor_path(dir.path()), encode_cursor(50)).unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let report = &recovered.report;
    assert_eq!(report.cursor, CursorState::At(50));
    assert_eq!(kinds(&report.problems), [ProblemKind::CursorOutOfRange]);
    assert_eq!(report.problems[0].offset, Some(50));
    assert!(!report.is_clean());
    assert_eq!(report.last_offset, Some(35));
    assert_eq!(report.replay_from, ENTRIES);
    assert_eq!(replayed(&recovered), []);
    drop(recovered);

    // At the last entry exactly: everything consumed, nothing to report.
    fs::write(cursor_path(dir.path()), encode_cursor(35)).unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.replay_from, ENTRIES);
    assert_eq!(replayed(&recovered), []);
}

/// A consumer that reads appended (not yet durable) entries tries to finalize entry 15:
/// `set_cursor` refuses, since a crash could take the entry back. A cursor past the end
/// can still be found on disk (written by another tool, or by an older version); the power
/// fails before entries 10.. reach the disk, so the durable log ends at 9 while the cursor
/// says 15. Recovery clamps the cursor on disk and reports it; the entries appended
/// afterwards get offsets 10, 11, ... again, and must be replayed after the next restart
/// like any new entry.
#[test]
fn entries_appended_after_a_clamped_cursor_are_replayed_after_the_next_restart() {
    let dir = tempdir();
    let options = RecoveryOptions::default().with_wal(
        support::wal_options(SEGMENT_BYTES)
            .with_sync_policy(SyncPolicy::Manual)
            .with_read_visibility(ReadVisibility::Appended),
    );
    let recovered = open(dir.path(), &options);
    append_range(&recovered.log, 0..10);
    recovered.log.sync().unwrap();
    append_range(&recovered.log, 10..16);
    assert!(matches!(
        recovered.log.set_cursor(15),
        Err(wal_recovery::RecoveryError::InvalidArgument(_))
    ));
    // Written as the file's bytes, past what `set_cursor` allows.
    std::fs::write(cursor_path(dir.path()), encode_cursor(15)).unwrap();
    drop(recovered);
    // What the power loss leaves: the rotation made segment 0, its index and the new
    // file durable, but the records of entries 10..16 never reached the disk.
    assert_eq!(segment_bases(dir.path()), [0, 10]);
    let path = data_path(dir.path(), 10);
    let len = fs::metadata(&path).unwrap().len();
    fs::write(&path, vec![0u8; usize::try_from(len).unwrap()]).unwrap();

    let recovered = open(dir.path(), &options);
    assert_eq!(
        kinds(&recovered.report.problems),
        [ProblemKind::CursorOutOfRange]
    );
    assert_eq!(recovered.report.last_offset, Some(9));
    assert!(recovered.report.problems[0].committed);
    assert!(
        recovered
            .report
            .actions
            .contains(&wal_recovery::Action::CursorClamped {
                from: 15,
                to: Some(9)
            })
    );
    assert_eq!(
        wal_recovery::cursor::read_cursor(dir.path()).unwrap(),
        wal_recovery::CursorState::At(9)
    );
    assert_eq!(replayed(&recovered), []);
    for offset in 10..20 {
        assert_eq!(
            recovered
                .log
                .append(&support::other_payload(offset))
                .unwrap()
                .offset,
            offset
        );
    }
    recovered.log.sync().unwrap();
    drop(recovered);

    let recovered = open(dir.path(), &options);
    let again: Vec<(u64, Vec<u8>)> = (10..20).map(|o| (o, support::other_payload(o))).collect();
    assert_eq!(replayed(&recovered), again);
}

#[test]
fn damage_at_or_before_the_cursor_is_committed() {
    let dir = tempdir();
    four_segments(dir.path());
    let pristine = support::snapshot(dir.path());
    let path = data_path(dir.path(), 30);
    for (damaged, cursor, refused) in [(32, 33, true), (32, 32, true), (34, 33, false)] {
        support::restore(dir.path(), &pristine);
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        recovered.log.set_cursor(cursor).unwrap();
        drop(recovered);
        let (start, _) = records(&fs::read(&path).unwrap())[usize::try_from(damaged - 30).unwrap()];
        wal_testkit::damage::xor_byte(&path, start + 13, 0x40); // a payload bit
        let outcome = wal_recovery::open(dir.path(), options(SEGMENT_BYTES));
        if refused {
            let err = outcome.unwrap_err();
            assert!(
                matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
                    if problem.offset == Some(damaged) && problem.committed),
                "damage at {damaged}, cursor {cursor}: {err:?}"
            );
        } else {
            let recovered = outcome.unwrap();
            assert_eq!(recovered.report.last_offset, Some(damaged - 1));
            assert_eq!(recovered.report.replay_from, cursor + 1);
            assert_eq!(replayed(&recovered), expected(cursor + 1..damaged));
        }
    }
}

#[test]
fn set_cursor_persists_across_reopen() {
    let dir = tempdir();
    four_segments(dir.path());
    for cursor in [0, 4, 9, 10, 29, 30, 35] {
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        recovered.log.set_cursor(cursor).unwrap();
        drop(recovered);
        assert_eq!(read_cursor(dir.path()).unwrap(), CursorState::At(cursor));
        assert_eq!(
            fs::read(cursor_path(dir.path())).unwrap(),
            encode_cursor(cursor)
        );
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
        assert_eq!(recovered.report.cursor, CursorState::At(cursor));
        assert_eq!(recovered.report.replay_from, cursor + 1);
        assert_eq!(replayed(&recovered), expected(cursor + 1..ENTRIES));
    }
}

#[test]
fn set_cursor_rejects_offsets_outside_the_log() {
    // An empty log has no offset to finalize.
    let dir = tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    for offset in [0, 1, u64::MAX] {
        assert!(
            matches!(
                recovered.log.set_cursor(offset),
                Err(RecoveryError::InvalidArgument(_))
            ),
            "empty log, cursor {offset}"
        );
    }
    assert!(!cursor_path(dir.path()).exists());
    drop(recovered);

    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(25).unwrap();
    assert_eq!(recovered.log.trim_before(20).unwrap(), 2);
    for offset in [0, 18, 36, 37, u64::MAX] {
        let err = recovered.log.set_cursor(offset).unwrap_err();
        assert!(
            matches!(err, RecoveryError::InvalidArgument(_)),
            "cursor {offset}: {err:?}"
        );
        assert_eq!(
            read_cursor(dir.path()).unwrap(),
            CursorState::At(25),
            "a refused cursor {offset} changed the file"
        );
    }
    // The entry before the first one (everything before was consumed), and the last one.
    // (Moving back from 25 is a rewind.)
    recovered
        .log
        .rewind_cursor(wal_recovery::DEFAULT_CURSOR, 19)
        .unwrap();
    assert_eq!(read_cursor(dir.path()).unwrap(), CursorState::At(19));
    recovered.log.set_cursor(35).unwrap();
    assert_eq!(read_cursor(dir.path()).unwrap(), CursorState::At(35));
}

#[test]
fn cursor_then_trim_keeps_every_unconsumed_entry() {
    let dir = tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    append_range(&recovered.log, 0..ENTRIES);
    let mut next = ENTRIES;
    for cursor in 0..ENTRIES + 20 {
        // Keep the consumer behind the writer.
        append_range(&recovered.log, next..next + 1);
        next += 1;
        recovered.log.set_cursor(cursor).unwrap();
        recovered.log.trim_before(cursor + 1).unwrap();
        let first = recovered.log.first_offset();
        assert!(first <= cursor + 1, "cursor {cursor}: first is {first}");
        for offset in cursor + 1..next {
            assert_eq!(
                recovered.log.read(offset).unwrap().payload,
                payload(offset),
                "cursor {cursor}"
            );
        }
    }
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    let cursor = ENTRIES + 19;
    assert_eq!(recovered.report.replay_from, cursor + 1);
    assert_eq!(replayed(&recovered), expected(cursor + 1..next));
    assert_eq!(
        all_entries(&recovered.log).first().map(|e| e.0),
        Some(recovered.log.first_offset())
    );
}

#[test]
fn cursor_file_is_replaced_atomically() {
    let dir = tempdir();
    four_segments(dir.path());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    recovered.log.set_cursor(7).unwrap();
    assert!(support::temp_files(dir.path()).is_empty());
    drop(recovered);

    // A crash in the middle of the next write left a partial temporary file.
    let temp = dir.path().join(format!("{CURSOR_FILE_NAME}.tmp"));
    fs::write(&temp, &encode_cursor(12)[..9]).unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.cursor, CursorState::At(7));
    assert_eq!(recovered.report.replay_from, 8);
    assert!(
        recovered.report.problems.iter().any(|p| matches!(
            p.kind,
            ProblemKind::TempFile | ProblemKind::UnknownFile
        ) && p.path.as_deref() == Some(temp.as_path())),
        "{:#?}",
        recovered.report.problems
    );
    assert_eq!(fs::read(cursor_path(dir.path())).unwrap(), encode_cursor(7));
    // The next write replaces it, and leaves no temporary file.
    recovered.log.set_cursor(12).unwrap();
    assert_eq!(
        fs::read(cursor_path(dir.path())).unwrap(),
        encode_cursor(12)
    );
    assert!(!temp.exists());
    assert!(support::temp_files(dir.path()).is_empty());
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(recovered.report.cursor, CursorState::At(12));
}
