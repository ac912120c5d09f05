//! A crash at every step of rotation, truncation, trimming, clearing, index writing and a
//! recovery's own cut. The library cannot be killed in the middle of a step from a test,
//! so each test builds the directories a crash at each step can leave, by hand, from the
//! files of real logs before and after the operation (and checks that model against
//! what the operation really leaves). Then recovery in the default mode must give a valid
//! log (verify clean, appends at the right offset, a clean reopen) that holds:
//!
//! - every entry that was durable before the operation started, when the operation's
//!   durable part had not happened yet;
//! - the exact result of the operation, once its durable part was done;
//! - for a truncation caught in the middle, exactly the entries the remaining files hold:
//!   a prefix of the log before it, never shorter than its result (the caller never
//!   learned that the truncation happened, and a raft follower truncates again).
//!
//! Also states that a crash can leave only if the file system persists directory changes
//! out of order (a later step's change durable, an earlier one's not) are covered where
//! recovery can still tell what happened.
// Test code: a panic is a failed test. The helpers below are not `#[test]` functions, so
// the workspace's denial of these lints is lifted for the whole file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use support::{
    Files, all_entries, expected, open, options, payload, records, snapshot, tempdir, write_files,
    write_log,
};
use wal_recovery::{Action, ProblemKind};

/// Entries 0..36 fill segments 0, 10, 20 (sealed, 10 entries each) and 30 (active).
const SEGMENT_BYTES: u32 = 256;

/// The files of a log of `count` entries, closed cleanly.
fn log_files(count: u64) -> Files {
    let dir = tempdir();
    write_log(dir.path(), count, SEGMENT_BYTES);
    snapshot(dir.path())
}

/// The files `operation` leaves when run on a log holding `files`.
fn after(files: &Files, operation: impl FnOnce(&wal_recovery::Log)) -> Files {
    let dir = tempdir();
    write_files(dir.path(), files);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    operation(&recovered.log);
    drop(recovered);
    snapshot(dir.path())
}

fn without(files: &Files, names: &[&str]) -> Files {
    let mut files = files.clone();
    for name in names {
        assert!(files.remove(*name).is_some(), "{name} is not in the log");
    }
    files
}

fn with(files: &Files, name: &str, bytes: Vec<u8>) -> Files {
    let mut files = files.clone();
    files.insert(name.to_owned(), bytes);
    files
}

/// The bytes of a `SEED` file saying that entry `offset` chains from `crc` (FORMAT.md §9).
fn seed_file(offset: u64, crc: u32) -> Vec<u8> {
    let mut bytes = b"WALS".to_vec();
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&offset.to_be_bytes());
    bytes.extend_from_slice(&crc.to_be_bytes());
    let check = wal_format::crc::chain(0, &bytes);
    bytes.extend_from_slice(&check.to_be_bytes());
    bytes
}

fn zeroed(bytes: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[range].fill(0);
    bytes
}

/// Recovers `files` in the default mode and checks that the log holds exactly
/// `first..end`, that it verifies clean, that no temporary file is left, that the next
/// append gets `end`, and that the log then reopens clean. Returns the report.
fn assert_recovers(
    label: &str,
    files: &Files,
    first: u64,
    end: u64,
) -> wal_recovery::RecoveryReport {
    let dir = tempdir();
    write_files(dir.path(), files);
    let recovered = match wal_recovery::open(dir.path(), options(SEGMENT_BYTES)) {
        Ok(recovered) => recovered,
        Err(e) => panic!("{label}: recovery refused: {e:?}"),
    };
    let report = recovered.report.clone();
    assert_eq!(
        all_entries(&recovered.log),
        expected(first..end),
        "{label}: {report:#?}"
    );
    assert_eq!(report.first_offset, first, "{label}");
    assert_eq!(
        report.last_offset,
        end.checked_sub(1).filter(|&l| l >= first),
        "{label}"
    );
    assert_eq!(recovered.log.next_offset(), end, "{label}");
    assert!(
        report.problems.iter().all(|p| !p.committed),
        "{label}: {:#?}",
        report.problems
    );
    drop(recovered);
    assert!(support::temp_files(dir.path()).is_empty(), "{label}");
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{label}: {verification:#?}");

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(
        recovered.log.append(&payload(end)).unwrap().offset,
        end,
        "{label}"
    );
    drop(recovered);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(
        recovered
            .report
            .problems
            .iter()
            .all(|p| p.kind == ProblemKind::UnknownFile),
        "{label}: after an append and a reopen: {:#?}",
        recovered.report
    );
    assert!(
        recovered.report.actions.is_empty(),
        "{label}: {:#?}",
        recovered.report
    );
    assert_eq!(
        all_entries(&recovered.log),
        expected(first..end + 1),
        "{label}"
    );
    report
}

fn rebuilt(report: &wal_recovery::RecoveryReport, segment: u64) -> bool {
    report
        .actions
        .iter()
        .any(|a| matches!(a, Action::IndexRebuilt { segment: s, entries: 10 } if *s == segment))
}

#[test]
fn crash_at_each_step_of_rotation() {
    // The append of entry 30 seals segment 20 and creates segment 30: flush and fsync
    // 20.txnx, write 20.idxx (temp file, fsync, rename, directory fsync), create 30.txnx
    // (temp file, preallocate, fsync, rename, directory fsync), then write entry 30.
    let before = log_files(30);
    let done = log_files(31);
    assert_eq!(
        without(&done, &["20.idxx", "30.txnx"]),
        before,
        "rotation changes only the index of 20 and the new segment"
    );
    let index = done["20.idxx"].clone();
    let empty = vec![0u8; usize::try_from(wal_format::data_file_bytes(SEGMENT_BYTES)).unwrap()];
    let entry_30 = records(&done["30.txnx"])[0];
    let torn_30 = zeroed(&done["30.txnx"], entry_30.1 - 4..entry_30.1);

    let states: Vec<(&str, Files)> = vec![
        ("before the index", before.clone()),
        (
            "index temp file half written",
            with(&before, "20.idxx.tmp", index[..index.len() / 2].to_vec()),
        ),
        (
            "index temp file complete, not renamed",
            with(&before, "20.idxx.tmp", index.clone()),
        ),
        (
            "index renamed, no new segment",
            with(&before, "20.idxx", index.clone()),
        ),
        (
            "new segment temp file created, empty",
            with(
                &with(&before, "20.idxx", index.clone()),
                "30.txnx.tmp",
                Vec::new(),
            ),
        ),
        (
            "new segment temp file preallocated",
            with(
                &with(&before, "20.idxx", index.clone()),
                "30.txnx.tmp",
                empty.clone(),
            ),
        ),
        (
            "new segment renamed, entry 30 not written",
            with(
                &with(&before, "20.idxx", index.clone()),
                "30.txnx",
                empty.clone(),
            ),
        ),
        (
            "entry 30 torn",
            with(&with(&before, "20.idxx", index.clone()), "30.txnx", torn_30),
        ),
        (
            "out of order: new segment durable, index rename not",
            with(&before, "30.txnx", empty.clone()),
        ),
        (
            "out of order: new segment durable, index only as a temp file",
            with(
                &with(&before, "30.txnx", empty),
                "20.idxx.tmp",
                index.clone(),
            ),
        ),
    ];
    for (label, files) in &states {
        let report = assert_recovers(label, files, 0, 30);
        if label.starts_with("out of order") {
            assert!(rebuilt(&report, 20), "{label}: {report:#?}");
        }
    }
    let report = assert_recovers("rotation and entry 30 complete", &done, 0, 31);
    assert!(report.is_clean(), "{report:#?}");
}

#[test]
fn crash_at_each_step_of_truncation() {
    // truncate_after(12) on segments 0, 10, 20, 30: removes 30.txnx, then 20.idxx and
    // 20.txnx, then 10.idxx (segment 10 becomes the active one again), fsyncs the
    // directory, then zeroes 10.txnx from entry 13 on and syncs it.
    let before = log_files(36);
    let done = after(&before, |wal| wal.truncate_after(12).unwrap());
    let segment_10 = before["10.txnx"].clone();
    let cut_at = records(&segment_10)[3].0;
    assert_eq!(
        done,
        with(
            &without(&before, &["10.idxx", "20.idxx", "20.txnx", "30.txnx"]),
            "10.txnx",
            zeroed(&segment_10, cut_at..segment_10.len())
        ),
        "what truncation leaves"
    );
    let files_removed = without(&before, &["10.idxx", "20.idxx", "20.txnx", "30.txnx"]);
    let record_16 = records(&segment_10)[6];

    // Entries the remaining files hold: a prefix between the result and the original.
    let states: Vec<(&str, Files, u64)> = vec![
        ("before anything", before.clone(), 36),
        ("30 removed", without(&before, &["30.txnx"]), 30),
        (
            "30 and the index of 20 removed",
            without(&before, &["30.txnx", "20.idxx"]),
            30,
        ),
        (
            "20 and 30 removed",
            without(&before, &["30.txnx", "20.idxx", "20.txnx"]),
            20,
        ),
        (
            "every removal done, no zero written",
            files_removed.clone(),
            20,
        ),
        (
            "the zeros reached the size of entry 13 only",
            with(
                &files_removed,
                "10.txnx",
                zeroed(&segment_10, cut_at..cut_at + 4),
            ),
            13,
        ),
        (
            "the zeros reached the end of the cut only (from inside entry 16)",
            with(
                &files_removed,
                "10.txnx",
                zeroed(&segment_10, record_16.0 + 5..segment_10.len()),
            ),
            16,
        ),
        ("complete", done.clone(), 13),
        (
            "out of order: the index of 10 removed, 20 and 30 still there",
            without(&before, &["10.idxx"]),
            36,
        ),
    ];
    for (label, files, end) in &states {
        let report = assert_recovers(label, files, 0, *end);
        if label.starts_with("out of order") {
            assert!(rebuilt(&report, 10), "{label}: {report:#?}");
        }
    }
}

#[test]
fn crash_at_each_step_of_trimming() {
    // trim_before(20) on segments 0, 10, 20, 30: syncs the log, replaces SEED with the
    // log's new start, 20, and the seed of entry 20 (the prev crc of its record): the
    // trim's commit point. Then removes 0.idxx, 0.txnx, 10.idxx, 10.txnx (oldest first,
    // index before data), then fsyncs the directory. Segments left below the start are
    // neither read nor repaired: the next trim removes them.
    let unseeded = log_files(36);
    let first_record = &unseeded["20.txnx"];
    let seed_of_20 = u32::from_be_bytes(first_record[4..8].try_into().unwrap());
    let before = with(
        &unseeded,
        wal_store::SEED_FILE_NAME,
        seed_file(20, seed_of_20),
    );
    let done = after(&unseeded, |wal| assert_eq!(wal.trim_before(20).unwrap(), 2));
    assert_eq!(
        done,
        without(&before, &["0.idxx", "0.txnx", "10.idxx", "10.txnx"]),
        "what trimming leaves"
    );
    let states: Vec<(&str, Files, u64)> = vec![
        ("nothing done yet", unseeded.clone(), 0),
        (
            "seed being replaced",
            with(&unseeded, "SEED.tmp", seed_file(20, seed_of_20)),
            0,
        ),
        ("seed replaced", before.clone(), 20),
        ("index of 0 removed", without(&before, &["0.idxx"]), 20),
        (
            "segment 0 removed",
            without(&before, &["0.idxx", "0.txnx"]),
            20,
        ),
        (
            "segment 0 and the index of 10 removed",
            without(&before, &["0.idxx", "0.txnx", "10.idxx"]),
            20,
        ),
        ("complete", done.clone(), 20),
        (
            "out of order: data of 0 removed, its index left",
            without(&before, &["0.txnx"]),
            20,
        ),
        (
            "out of order: data of 0 and 10 removed, their indexes left",
            without(&before, &["0.txnx", "10.txnx"]),
            20,
        ),
    ];
    for (label, files, first) in &states {
        let report = assert_recovers(label, files, *first, 36);
        if label.contains("index of") {
            // Below the start: not rebuilt, not reported.
            assert!(!rebuilt(&report, 0), "{label}: {report:#?}");
            assert!(!rebuilt(&report, 10), "{label}: {report:#?}");
            assert!(report.problems.is_empty(), "{label}: {report:#?}");
        }
        if label.contains("index left") || label.contains("indexes left") {
            assert!(
                report
                    .problems
                    .iter()
                    .all(|p| p.kind == ProblemKind::UnknownFile),
                "{label}: {:#?}",
                report.problems
            );
        }
    }
}

#[test]
fn crash_at_each_step_of_clearing() {
    // clear() on segments 0, 10, 20, 30: replaces SEED with the seed of entry 36 (the
    // crc of entry 35), the clear's commit point: a start at the end of the records is
    // an empty log continuing there. Then creates 36.txnx (temp file, preallocate, fsync,
    // rename, directory fsync), then removes every older segment's files, oldest first.
    let before = log_files(36);
    let mut last_crc = None;
    let done = after(&before, |wal| {
        last_crc = wal.last_crc();
        wal.clear().unwrap();
    });
    let seed = seed_file(36, last_crc.unwrap());
    let empty = vec![0u8; usize::try_from(wal_format::data_file_bytes(SEGMENT_BYTES)).unwrap()];
    assert_eq!(
        done,
        [
            ("36.txnx".to_owned(), empty.clone()),
            (wal_store::SEED_FILE_NAME.to_owned(), seed.clone())
        ]
        .into_iter()
        .collect(),
        "what clearing leaves"
    );
    let seeded = with(&before, wal_store::SEED_FILE_NAME, seed.clone());
    let created = with(&seeded, "36.txnx", empty.clone());
    let states: Vec<(&str, Files, u64)> = vec![
        (
            "seed being replaced",
            with(&before, "SEED.tmp", seed.clone()),
            0,
        ),
        ("seed replaced", seeded.clone(), 36),
        (
            "new segment as a temp file",
            with(&seeded, "36.txnx.tmp", empty),
            36,
        ),
        ("new segment created", created.clone(), 36),
        (
            "0 and 10 removed",
            without(&created, &["0.idxx", "0.txnx", "10.idxx", "10.txnx"]),
            36,
        ),
        (
            "0, 10 and 20 removed",
            without(
                &created,
                &[
                    "0.idxx", "0.txnx", "10.idxx", "10.txnx", "20.idxx", "20.txnx",
                ],
            ),
            36,
        ),
        ("complete", done.clone(), 36),
    ];
    for (label, files, first) in &states {
        let report = assert_recovers(label, files, *first, 36);
        // The old segments are below the start: never repaired (no index written for
        // the old active one).
        if *first == 36 {
            assert!(
                !report
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::IndexRebuilt { .. })),
                "{label}: {report:#?}"
            );
        }
    }
}

#[test]
fn crash_at_each_step_of_an_index_rebuild() {
    // Recovery rebuilds a missing or corrupt index of segment 10: writes 10.idxx.tmp,
    // fsyncs it, renames it over 10.idxx, fsyncs the directory.
    let before = log_files(36);
    let index = before["10.idxx"].clone();
    let mut corrupt = index.clone();
    corrupt[9] ^= 0x04;
    let missing = without(&before, &["10.idxx"]);
    let states: Vec<(&str, Files)> = vec![
        ("index missing", missing.clone()),
        (
            "temp file created, empty",
            with(&missing, "10.idxx.tmp", Vec::new()),
        ),
        (
            "temp file half written",
            with(&missing, "10.idxx.tmp", index[..index.len() / 2].to_vec()),
        ),
        (
            "temp file complete, not renamed",
            with(&missing, "10.idxx.tmp", index.clone()),
        ),
        (
            "corrupt index, its replacement complete, not renamed",
            with(
                &with(&before, "10.idxx", corrupt),
                "10.idxx.tmp",
                index.clone(),
            ),
        ),
    ];
    for (label, files) in &states {
        let report = assert_recovers(label, files, 0, 36);
        assert!(rebuilt(&report, 10), "{label}: {report:#?}");
        let dir = tempdir();
        write_files(dir.path(), files);
        drop(open(dir.path(), &options(SEGMENT_BYTES)));
        assert_eq!(
            snapshot(dir.path()),
            before,
            "{label}: the directory after recovery"
        );
    }
}

#[test]
fn crash_at_each_step_of_a_recovery_cut() {
    // A torn entry 35 in the active segment. Recovery copies the torn bytes into a new
    // quarantine folder (synced), zeroes them in place and syncs the data file, then
    // writes the quarantine's manifest. A crash after any step: the next recovery does
    // the rest, and what the earlier one copied stays.
    let before = log_files(36);
    let segment_30 = before["30.txnx"].clone();
    let (start, end) = records(&segment_30)[5];
    let torn = with(&before, "30.txnx", zeroed(&segment_30, end - 2..end));
    let cut = with(&torn, "30.txnx", zeroed(&segment_30, start..end));
    let states: Vec<(&str, Files, bool)> = vec![
        ("torn, before recovery", torn.clone(), true),
        (
            "quarantine copy written, tail not zeroed",
            torn.clone(),
            true,
        ),
        ("tail zeroed, manifest not written", cut.clone(), false),
    ];
    for (i, (label, files, cuts)) in states.iter().enumerate() {
        let dir = tempdir();
        write_files(dir.path(), files);
        let earlier = dir
            .path()
            .join(wal_recovery::QUARANTINE_DIR_NAME)
            .join("1-000000001");
        let copy = format!("30.txnx@{start}");
        if i > 0 {
            std::fs::create_dir_all(&earlier).unwrap();
            std::fs::write(earlier.join(&copy), &segment_30[start..end - 2]).unwrap();
        }
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        assert_eq!(all_entries(&recovered.log), expected(0..35), "{label}");
        assert_eq!(recovered.report.cut.is_some(), *cuts, "{label}");
        drop(recovered);
        support::assert_verified(dir.path());
        if i > 0 {
            assert_eq!(
                std::fs::read(earlier.join(&copy)).unwrap(),
                segment_30[start..end - 2],
                "{label}: an earlier quarantine copy was touched"
            );
        }
        assert_eq!(
            snapshot(dir.path()),
            cut,
            "{label}: the directory after recovery"
        );
    }
}

#[test]
fn crash_at_each_step_of_a_point_in_time_cut_inside_a_sealed_segment() {
    // A flipped payload bit in entry 14 (sealed segment 10), committed: the default mode
    // refuses, the operator chooses point-in-time. That recovery moves 30.txnx, 20.txnx
    // and 20.idxx into quarantine (newest first), copies the tail of 10.txnx from entry
    // 14 on into quarantine and zeroes it, then removes 10.idxx (segment 10 is the
    // active one now). A crash after any step: the default mode still refuses (nothing
    // changed by it), the same mode again finishes the job.
    let clean = log_files(36);
    let segment_10 = clean["10.txnx"].clone();
    let (start, _) = records(&segment_10)[4];
    let mut damaged_10 = segment_10.clone();
    damaged_10[start + 14] ^= 0x01;
    let damaged = with(&clean, "10.txnx", damaged_10.clone());
    let point_in_time = options(SEGMENT_BYTES).with_mode(wal_recovery::RecoveryMode::PointInTime);
    let done = {
        let dir = tempdir();
        write_files(dir.path(), &damaged);
        let recovered = open(dir.path(), &point_in_time);
        assert_eq!(recovered.report.cut.as_ref().unwrap().offsets, 14..36);
        drop(recovered);
        snapshot(dir.path())
    };
    let zeroed_10 = zeroed(&damaged_10, start..damaged_10.len());
    assert_eq!(
        done,
        with(
            &without(&clean, &["10.idxx", "20.idxx", "20.txnx", "30.txnx"]),
            "10.txnx",
            zeroed_10.clone()
        ),
        "what the point-in-time cut leaves"
    );
    let moved = without(&damaged, &["20.idxx", "20.txnx", "30.txnx"]);
    let states: Vec<(&str, Files)> = vec![
        ("before", damaged.clone()),
        ("30 moved", without(&damaged, &["30.txnx"])),
        ("20 and 30 moved", moved.clone()),
        ("tail zeroed", with(&moved, "10.txnx", zeroed_10.clone())),
        ("index of 10 removed", done.clone()),
    ];
    for (label, files) in &states {
        let dir = tempdir();
        write_files(dir.path(), files);
        if files != &done {
            let err = wal_recovery::open(dir.path(), options(SEGMENT_BYTES)).unwrap_err();
            assert!(
                matches!(err, wal_recovery::RecoveryError::CommittedCorruption { .. }),
                "{label}: {err:?}"
            );
            assert_eq!(
                &snapshot(dir.path()),
                files,
                "{label}: a refusal changed files"
            );
        }
        let recovered = open(dir.path(), &point_in_time);
        assert_eq!(all_entries(&recovered.log), expected(0..14), "{label}");
        drop(recovered);
        support::assert_verified(dir.path());
        assert_eq!(
            snapshot(dir.path()),
            done,
            "{label}: the directory after recovery"
        );
    }
}
