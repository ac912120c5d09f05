//! Recovery and the store's close record (`CLOSED`): a log that a clean close left as it
//! is opens through its record without a scan (the report says so), and a record that
//! lies or no longer holds never hands out a wrong payload; anything the record does not
//! cover gets the full check. Recovery leaves the record alone when it changes nothing,
//! and removes it before a cut changes the active segment, so that the record never
//! outlives the segment it describes.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod support;

use std::fs;
use std::path::Path;

use support::{append_range, expected, open, options, payload, replayed};
use wal_recovery::{Action, ProblemKind, RecoveryError, RecoveryMode};
use wal_store::StoreError;
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
    assert!(recovered.report.from_close_record);
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

/// A log of `count` entries closed cleanly, with its segments' bases.
fn closed_log(dir: &Path, count: u64) -> Vec<u64> {
    let recovered = open(dir, &options(SEGMENT_BYTES));
    append_range(&recovered.log, 0..count);
    recovered.log.close().unwrap();
    assert!(dir.join(CLOSED_FILE_NAME).exists());
    support::segment_bases(dir)
}

#[test]
fn a_clean_close_reopens_through_the_close_record() {
    let dir = tempfile::tempdir().unwrap();
    let bases = closed_log(dir.path(), 200);
    assert!(
        bases.len() >= 4,
        "old sealed segments are deferred: {bases:?}"
    );

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    let report = &recovered.report;
    assert!(report.from_close_record, "{report:#?}");
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!((report.first_offset, report.last_offset), (0, Some(199)));
    assert_eq!(report.last_crc, recovered.log.last_crc());
    assert_eq!(report.replay_from, 0);
    let listed: Vec<(u64, u64)> = report
        .segments
        .iter()
        .map(|s| (s.base, s.entries))
        .collect();
    let ends = bases.iter().skip(1).copied().chain([200]);
    let expected_segments: Vec<(u64, u64)> =
        bases.iter().zip(ends).map(|(&b, e)| (b, e - b)).collect();
    assert_eq!(listed, expected_segments);
    assert_eq!(replayed(&recovered), expected(0..200));
    let appended = recovered.log.append(&payload(200)).unwrap();
    assert_eq!(appended.offset, 200);
    drop(recovered);

    // A crash after that append: no close record, so the next open checks everything.
    assert!(!dir.path().join(CLOSED_FILE_NAME).exists());
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(!recovered.report.from_close_record);
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(replayed(&recovered), expected(0..201));
}

#[test]
fn damage_behind_a_clean_close_is_found_by_the_read_and_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let bases = closed_log(dir.path(), 200);
    // A payload byte of the third record of the oldest segment, which the open defers.
    let path = support::data_path(dir.path(), bases[0]);
    let mut bytes = fs::read(&path).unwrap();
    let (start, _) = support::records(&bytes)[2];
    bytes[start + 12] ^= 0x40;
    fs::write(&path, &bytes).unwrap();

    // Even the strictest mode trusts the clean close: the damage is the read's to find.
    let mode = RecoveryMode::AbsoluteConsistency;
    let recovered = open(dir.path(), &options(SEGMENT_BYTES).with_mode(mode));
    assert!(recovered.report.from_close_record, "{mode:?}");
    let replay: Vec<_> = recovered.replay().unwrap().collect();
    assert!(replay.iter().take(2).all(Result::is_ok));
    assert!(
        matches!(
            replay.get(2),
            Some(Err(RecoveryError::Store(StoreError::Corrupt {
                offset: 2,
                ..
            })))
        ),
        "{:?}",
        replay.get(2)
    );
    let read = recovered.log.read(2);
    assert!(
        matches!(
            read,
            Err(RecoveryError::Store(StoreError::Corrupt {
                segment: 0,
                offset: 2,
                ..
            }))
        ),
        "{read:?}"
    );
    for offset in [0, 1, 3, 199] {
        assert_eq!(recovered.log.read(offset).unwrap().payload, payload(offset));
    }
    // What the read found takes the log off the fast path: the record is gone, and the
    // next open checks everything and applies its mode (here, a refusal naming entry 2).
    assert!(!dir.path().join(CLOSED_FILE_NAME).exists());
    drop(recovered);
    let refused = wal_recovery::open(dir.path(), options(SEGMENT_BYTES).with_mode(mode));
    assert!(
        matches!(&refused, Err(RecoveryError::Inconsistent { problems })
            if problems.iter().any(|p| p.offset == Some(2))),
        "{refused:?}"
    );
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
    let kinds: Vec<(ProblemKind, Option<u64>)> = verification
        .problems
        .iter()
        .map(|p| (p.kind, p.offset))
        .collect();
    assert_eq!(kinds, [(ProblemKind::CrcMismatch, Some(2))]);
}

#[test]
fn a_deferred_segment_that_fails_its_check_sends_the_next_open_to_the_full_check() {
    let dir = tempfile::tempdir().unwrap();
    let bases = closed_log(dir.path(), 200);
    // The oldest segment's index damaged: only its first use finds out.
    let index = support::index_path(dir.path(), bases[0]);
    let mut bytes = fs::read(&index).unwrap();
    bytes[0] ^= 0x01;
    fs::write(&index, &bytes).unwrap();

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.from_close_record);
    assert_eq!(recovered.log.read(199).unwrap().payload, payload(199));
    let read = recovered.log.read(0);
    assert!(
        matches!(
            read,
            Err(RecoveryError::Store(StoreError::Layout { segment: 0, .. }))
        ),
        "{read:?}"
    );
    assert!(
        !dir.path().join(CLOSED_FILE_NAME).exists(),
        "the close record outlived a failed check"
    );
    assert!(recovered.log.append(&payload(200)).is_err());
    recovered.log.close().unwrap();
    assert!(
        !dir.path().join(CLOSED_FILE_NAME).exists(),
        "a close wrote the record again over a failed check"
    );

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(!recovered.report.from_close_record);
    assert!(
        recovered
            .report
            .actions
            .iter()
            .any(|a| matches!(a, Action::IndexRebuilt { segment: 0, .. })),
        "{:#?}",
        recovered.report
    );
    assert_eq!(replayed(&recovered), expected(0..200));
    recovered.log.append(&payload(200)).unwrap();
}

/// The close record's fields, parsed as docs/FORMAT.md lays them out.
struct Record {
    base: u64,
    data_len: u32,
    last_crc: u32,
    offsets: Vec<u32>,
}

fn read_record(dir: &Path) -> Record {
    let bytes = fs::read(dir.join(CLOSED_FILE_NAME)).unwrap();
    let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(bytes[..8], *b"WCLS\x02\x02\x00\x00");
    let count = u32_at(20) as usize;
    assert_eq!(bytes.len(), 28 + 4 * count + 4);
    Record {
        base: u64::from_be_bytes(bytes[8..16].try_into().unwrap()),
        data_len: u32_at(16),
        last_crc: u32_at(24),
        offsets: (0..count).map(|i| u32_at(28 + 4 * i)).collect(),
    }
}

/// Writes `record` as a well-formed close record (its own crc right): a forgery that
/// only a bug could write.
fn forge(dir: &Path, record: &Record) {
    let mut bytes = b"WCLS\x02\x02\x00\x00".to_vec();
    bytes.extend_from_slice(&record.base.to_be_bytes());
    bytes.extend_from_slice(&record.data_len.to_be_bytes());
    bytes.extend_from_slice(&u32::try_from(record.offsets.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(&record.last_crc.to_be_bytes());
    for offset in &record.offsets {
        bytes.extend_from_slice(&offset.to_be_bytes());
    }
    let check = wal_store::format::crc::crc32c_update(0, &bytes);
    bytes.extend_from_slice(&check.to_be_bytes());
    fs::write(dir.join(CLOSED_FILE_NAME), bytes).unwrap();
}

/// Every entry the log hands out is the one written at its offset (or an error).
fn assert_no_wrong_payload(recovered: &wal_recovery::Recovered, what: &str) {
    let wal = &recovered.log;
    for offset in wal.first_offset()..wal.next_offset() {
        if let Ok(entry) = wal.read(offset) {
            assert_eq!(entry.payload, payload(offset), "{what}: read({offset})");
        }
    }
    for entry in wal.iter().map_while(Result::ok) {
        assert_eq!(entry.payload, payload(entry.offset), "{what}: iter");
    }
}

#[test]
fn a_lying_close_record_never_hands_out_a_wrong_payload() {
    let dir = tempfile::tempdir().unwrap();
    let bases = closed_log(dir.path(), 200);
    let active = *bases.last().unwrap();
    let files = support::snapshot(dir.path());
    let honest = read_record(dir.path());
    assert_eq!(honest.base, active);
    let data = fs::read(support::data_path(dir.path(), active)).unwrap();
    let records = support::records(&data);
    assert!(records.len() >= 4, "the active segment holds a few records");
    let crc_of = |i: usize| {
        u32::from_be_bytes(
            data[records[i].0 + 8..records[i].0 + 12]
                .try_into()
                .unwrap(),
        )
    };
    let entries = records.len();

    let fewer = Record {
        base: active,
        data_len: u32::try_from(records[entries - 2].1).unwrap(),
        last_crc: crc_of(entries - 2),
        offsets: honest.offsets[..entries - 1].to_vec(),
    };
    let mut more_offsets = honest.offsets.clone();
    more_offsets.push(honest.data_len);
    let more = Record {
        base: active,
        data_len: honest.data_len + 20,
        last_crc: honest.last_crc,
        offsets: more_offsets,
    };
    let other_base = Record {
        base: bases[0],
        data_len: honest.data_len,
        last_crc: honest.last_crc,
        offsets: honest.offsets.clone(),
    };
    // Lies about the end are refused at open: the log is checked whole.
    for (what, record) in [
        ("fewer entries", fewer),
        ("more entries", more),
        ("another segment's base", other_base),
    ] {
        support::restore(dir.path(), &files);
        forge(dir.path(), &record);
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        assert_no_wrong_payload(&recovered, what);
        assert!(
            !recovered.report.from_close_record,
            "{what}: the lie was believed"
        );
        assert_eq!(recovered.log.next_offset(), 200, "{what}");
        assert_eq!(replayed(&recovered), expected(0..200), "{what}");
    }
    // A lie between the ends is believed (the open does not read the records there), and
    // the read it misleads fails its crc check instead of handing out bytes.
    let mut inside = honest.offsets.clone();
    inside[1] += 4;
    support::restore(dir.path(), &files);
    forge(
        dir.path(),
        &Record {
            base: active,
            data_len: honest.data_len,
            last_crc: honest.last_crc,
            offsets: inside,
        },
    );
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.from_close_record);
    assert_no_wrong_payload(&recovered, "an offset inside a record");
    let read = recovered.log.read(active + 1);
    assert!(
        matches!(read, Err(RecoveryError::Store(StoreError::Corrupt { .. }))),
        "{read:?}"
    );
    assert_eq!(replayed(&recovered), expected(0..200));
}

#[test]
fn a_log_not_closed_cleanly_gets_the_full_check() {
    let dir = tempfile::tempdir().unwrap();
    let bases = closed_log(dir.path(), 200);
    fs::remove_file(dir.path().join(CLOSED_FILE_NAME)).unwrap();
    let path = support::data_path(dir.path(), bases[0]);
    let mut bytes = fs::read(&path).unwrap();
    let (start, _) = support::records(&bytes)[2];
    bytes[start + 12] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    // Committed (later segments exist): refused by the default mode, as before.
    let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. }
            if problem.kind == ProblemKind::CrcMismatch && problem.offset == Some(2)),
        "{err:?}"
    );
}

#[test]
fn what_the_close_record_does_not_cover_gets_the_full_check() {
    let dir = tempfile::tempdir().unwrap();
    closed_log(dir.path(), 200);
    let files = support::snapshot(dir.path());

    // A commit offset past the end: committed entries are missing, as without a record.
    for (mode, refused_as_inconsistent) in [
        (RecoveryMode::AbsoluteConsistency, true),
        (RecoveryMode::TolerateCorruptTail, false),
    ] {
        let err = wal_recovery::open(
            dir.path(),
            options(SEGMENT_BYTES)
                .with_mode(mode)
                .with_commit_offset(Some(200)),
        )
        .unwrap_err();
        let missing = |problems: &[wal_recovery::Problem]| {
            problems
                .iter()
                .any(|p| p.kind == ProblemKind::MissingEntries)
        };
        match &err {
            RecoveryError::Inconsistent { problems } => {
                assert!(refused_as_inconsistent && missing(problems), "{err:?}");
            }
            RecoveryError::CommittedCorruption { problems, .. } => {
                assert!(!refused_as_inconsistent && missing(problems), "{err:?}");
            }
            other => panic!("{mode:?}: {other:?}"),
        }
        assert_eq!(
            support::snapshot(dir.path()),
            files,
            "{mode:?} changed files"
        );
    }
    // A commit offset inside the log changes nothing.
    let recovered = open(
        dir.path(),
        &options(SEGMENT_BYTES).with_commit_offset(Some(199)),
    );
    assert!(recovered.report.from_close_record);
    drop(recovered);

    // A cursor past the end is clamped, durably, and replay starts after it.
    fs::write(
        wal_recovery::cursor::cursor_path(dir.path()),
        wal_recovery::cursor::encode_cursor(250),
    )
    .unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(!recovered.report.from_close_record);
    assert!(recovered.report.actions.contains(&Action::CursorClamped {
        from: 250,
        to: Some(199)
    }));
    assert_eq!(recovered.report.replay_from, 200);
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(
        recovered.report.from_close_record,
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.report.cursor, wal_recovery::CursorState::At(199));
    assert_eq!(recovered.report.replay_from, 200);
    drop(recovered);

    // A cursor inside the log: replay after it, through the record. (Moving it back from
    // 199 is a rewind.)
    open(dir.path(), &options(SEGMENT_BYTES))
        .log
        .rewind_cursor(wal_recovery::DEFAULT_CURSOR, 149)
        .unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.from_close_record);
    assert_eq!(replayed(&recovered), expected(150..200));
    drop(recovered);

    // A leftover temporary file: removed by the full check.
    let leftover = dir.path().join(format!("{CLOSED_FILE_NAME}.tmp"));
    fs::write(&leftover, b"half a record").unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(!recovered.report.from_close_record);
    assert!(!leftover.exists());
    assert!(
        recovered
            .report
            .actions
            .iter()
            .any(|a| matches!(a, Action::TempFileRemoved { .. })),
        "{:#?}",
        recovered.report
    );
}

/// A clean log whose older segments are v1 (no crc in their records) and whose active
/// one is v2, closed cleanly; returns the base of a v1 sealed segment with entries
/// before and after it.
fn clean_log_of_v1_then_v2_segments(dir: &Path) -> u64 {
    let v1 = options(SEGMENT_BYTES)
        .with_wal(support::wal_options(SEGMENT_BYTES).with_codec(wal_store::format::Codec::V1));
    let recovered = open(dir, &v1);
    append_range(&recovered.log, 0..300);
    recovered.log.close().unwrap();
    // Reopened for v2: the next rotation starts a v2 segment.
    let recovered = open(dir, &options(SEGMENT_BYTES));
    append_range(&recovered.log, 300..400);
    recovered.log.close().unwrap();
    assert!(dir.join(CLOSED_FILE_NAME).exists());
    let v1_bases: Vec<u64> = wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .filter(|&(_, codec)| codec == wal_store::format::Codec::V1)
        .map(|(base, _)| base)
        .collect();
    assert!(v1_bases.len() >= 3, "{v1_bases:?}");
    v1_bases[1]
}

#[test]
fn a_clean_log_with_v1_segments_gets_the_full_check() {
    let dir = wal_testkit::tempdir();
    let base = clean_log_of_v1_then_v2_segments(dir.path());
    // The size field of a record in the middle of a v1 segment rots: v1 has no crc, so
    // only a scan of the segment can see it.
    let path =
        wal_store::internal::naming::data_path(dir.path(), base, wal_store::format::Codec::V1);
    let index = fs::read(wal_store::internal::naming::index_path(
        dir.path(),
        base,
        wal_store::format::Codec::V1,
    ))
    .unwrap();
    let middle = wal_format_offsets(&index);
    assert!(middle.len() >= 3, "{middle:?}");
    wal_testkit::damage::xor_byte(&path, middle[middle.len() / 2] as usize + 3, 0x40);

    let recovered = wal_recovery::open(dir.path(), options(SEGMENT_BYTES));
    match recovered {
        Ok(recovered) => {
            assert!(
                !recovered.report.from_close_record,
                "{:#?}",
                recovered.report
            );
            assert!(!recovered.report.is_clean(), "{:#?}", recovered.report);
        }
        // The damage lies before the end of the log: the default mode may refuse it.
        Err(error) => assert!(
            matches!(error, RecoveryError::CommittedCorruption { .. }),
            "{error:?}"
        ),
    }
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
}

/// The record offsets a v1 index lists.
fn wal_format_offsets(index: &[u8]) -> Vec<u32> {
    wal_store::layout::IndexState::parse(wal_store::format::Codec::V1, index)
        .offsets()
        .unwrap()
        .to_vec()
}

#[test]
fn damage_a_read_finds_after_a_clean_restart_sends_the_next_open_to_the_full_check() {
    let dir = wal_testkit::tempdir();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    append_range(&recovered.log, 0..50);
    recovered.log.close().unwrap();
    // A payload byte of entry 3 flips behind the clean close.
    let path = wal_store::internal::naming::data_path(dir.path(), 0, wal_store::format::Codec::V2);
    let data = fs::read(&path).unwrap();
    let at = data
        .windows(payload(3).len())
        .position(|w| w == payload(3).as_slice())
        .unwrap();
    wal_testkit::damage::xor_byte(&path, at, 0x01);

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(
        recovered.report.from_close_record,
        "{:#?}",
        recovered.report
    );
    let error = recovered.log.read(3).unwrap_err();
    assert!(
        matches!(
            error,
            RecoveryError::Store(StoreError::Corrupt { offset: 3, .. })
        ),
        "{error:?}"
    );
    assert!(
        !dir.path().join(CLOSED_FILE_NAME).exists(),
        "the damage a read found left the close record in place"
    );
    // Appending and closing again does not write a new record over the damage.
    recovered.log.append(&payload(50)).unwrap();
    recovered.log.close().unwrap();
    assert!(!dir.path().join(CLOSED_FILE_NAME).exists());

    let recovered = wal_recovery::open(
        dir.path(),
        options(SEGMENT_BYTES).with_mode(RecoveryMode::PointInTime),
    )
    .unwrap();
    assert!(!recovered.report.from_close_record);
    assert!(
        recovered
            .report
            .problems
            .iter()
            .any(|p| p.offset == Some(3)),
        "{:#?}",
        recovered.report
    );
}
