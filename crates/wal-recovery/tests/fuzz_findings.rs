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

fn options(mode: RecoveryMode) -> RecoveryOptions {
    RecoveryOptions {
        mode,
        ..RecoveryOptions::default()
    }
}

/// A v2 data file holding `payloads` chained from 0, preallocated to `len` bytes.
fn segment(path: &Path, payloads: &[&[u8]], len: usize) {
    let mut bytes = vec![0u8; len];
    let (mut at, mut prev) = (0, 0);
    for p in payloads {
        let e = Codec::V2.encode_record(&mut bytes[at..], prev, p).unwrap();
        at += e.len;
        prev = e.crc.unwrap();
    }
    fs::write(path, bytes).unwrap();
}

fn reopen_and_append(dir: &Path, count: u64) -> u64 {
    let recovered = wal_recovery::open(dir, options(RecoveryMode::TolerateCorruptTail)).unwrap();
    for _ in 0..count {
        recovered.wal.append(b"next").unwrap();
    }
    let next = recovered.wal.next_offset().unwrap();
    recovered.wal.close().unwrap();
    next
}

#[test]
fn no_segment_but_a_cursor_starts_the_new_log_after_it() {
    let dir = tempfile::tempdir().unwrap();
    cursor::write_cursor(dir.path(), 1000).unwrap();
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
    assert_eq!(recovered.wal.next_offset().unwrap(), 1001);
    assert_eq!(recovered.wal.append(b"a").unwrap().offset, 1001);
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
    let dir = tempfile::tempdir().unwrap();
    let err = wal_recovery::open(
        dir.path(),
        RecoveryOptions {
            commit_offset: Some(0),
            ..RecoveryOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. } if problem.kind == ProblemKind::MissingEntries),
        "{err}"
    );
}

#[test]
fn a_corrupt_holes_file_is_reported_and_quarantined() {
    let dir = tempfile::tempdir().unwrap();
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
        assert_eq!(recovered.wal.next_offset().unwrap(), 1);
        drop(recovered);
        assert!(!dir.path().join("HOLES").exists());
        assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    }
}

#[test]
fn an_orphan_index_is_not_adopted_by_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = [
        wal_format::FileOffset(0),
        wal_format::FileOffset(13),
        wal_format::FileOffset(26),
    ];
    let mut index = vec![0u8; wal_format::index::index_bytes(Codec::V2, 3)];
    wal_format::index::encode(Codec::V2, &offsets, &mut index).unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    wal_store::holes::write_holes(dir.path(), &[std::ops::Range { start: 0, end: 1 }]).unwrap();
    assert_eq!(reopen_and_append(dir.path(), 1), 1);
    assert_eq!(reopen_and_append(dir.path(), 2), 3);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
}

#[test]
fn an_empty_sealed_segment_before_a_hole_opens() {
    let dir = tempfile::tempdir().unwrap();
    segment(&dir.path().join("0.txnx"), &[], 4096);
    segment(&dir.path().join("5.txnx"), &[], 4096);
    wal_store::holes::write_holes(dir.path(), &[std::ops::Range { start: 0, end: 5 }]).unwrap();
    let mut index = vec![0u8; wal_format::index::index_bytes(Codec::V2, 0)];
    wal_format::index::encode(Codec::V2, &[], &mut index).unwrap();
    fs::write(dir.path().join("0.idxx"), &index).unwrap();
    assert_eq!(reopen_and_append(dir.path(), 2), 7);
    assert_eq!(reopen_and_append(dir.path(), 0), 7);
}

#[test]
fn a_nul_in_a_journal_name_does_not_block_opening() {
    let dir = tempfile::tempdir().unwrap();
    segment(&dir.path().join("0.txnx"), &[b"a"], 4096);
    fs::write(dir.path().join("JOURNAL"), b"remove 1.\0x\n").unwrap();
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert_eq!(recovered.wal.next_offset().unwrap(), 1);
    drop(recovered);
    assert!(!dir.path().join("JOURNAL").exists());
}

#[test]
fn point_in_time_cuts_at_the_earliest_of_two_problems_at_one_offset() {
    let dir = tempfile::tempdir().unwrap();
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
    assert_eq!(recovered.wal.next_offset().unwrap(), 7);
    assert_eq!(recovered.wal.iter().count(), 7);
    drop(recovered);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
}

#[test]
fn the_last_crc_survives_an_empty_v1_segment_after_it() {
    let dir = tempfile::tempdir().unwrap();
    segment(&dir.path().join("0.txnx"), &[b"only"], 4096);
    let index = {
        let mut bytes = vec![0u8; wal_format::index::index_bytes(Codec::V2, 1)];
        wal_format::index::encode(Codec::V2, &[wal_format::FileOffset(0)], &mut bytes).unwrap();
        bytes
    };
    fs::write(dir.path().join("0.idxx"), index).unwrap();
    fs::write(dir.path().join("1.txn"), vec![0u8; 4096]).unwrap();
    let expected = wal_format::crc::chain(0, b"only");
    let recovered =
        wal_recovery::open(dir.path(), options(RecoveryMode::TolerateCorruptTail)).unwrap();
    assert_eq!(recovered.wal.last_crc().unwrap(), Some(expected));
    assert_eq!(recovered.report.last_crc, Some(expected));
}
