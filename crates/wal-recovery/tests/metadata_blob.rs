//! The caller's metadata blob through the front door (`Log::write_meta`, `Log::meta`):
//! known to `verify`, a damaged one reported and kept in place (refused as a blob, never
//! taken for no blob, until the caller writes a new one) while the log opens, and every
//! crash point of `write_meta` leaving the old blob or the new one.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;

use wal_recovery::{Action, Log, ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::faults::{Call, EIO, FaultPlan, Rule};
use wal_store::{META_FILE_NAME, StoreError, SyncPolicy, WalOptions};

fn options(mode: RecoveryMode) -> RecoveryOptions {
    RecoveryOptions::default()
        .with_mode(mode)
        .with_wal(WalOptions::default().with_sync_policy(SyncPolicy::Manual))
}

fn open(dir: &Path) -> Log {
    wal_recovery::open(dir, options(RecoveryMode::default()))
        .unwrap()
        .log
}

/// A log with two entries and the blob `old`, closed cleanly.
fn log_with_blob(dir: &Path) {
    let log = open(dir);
    log.append_batch(&[&b"zero"[..], b"one"]).unwrap();
    log.write_meta(b"old").unwrap();
    log.close().unwrap();
}

#[test]
fn the_blob_goes_through_the_front_door_and_verify_knows_its_file() {
    let dir = wal_testkit::tempdir();
    log_with_blob(dir.path());
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    assert_eq!(verification.problems, []);
    // The clean restart keeps it, and so does a restart after a drop.
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::default())).unwrap();
    assert!(
        recovered.report.from_close_record,
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.log.meta().unwrap().as_deref(), Some(&b"old"[..]));
    recovered.log.write_meta(b"new").unwrap();
    drop(recovered);
    let log = open(dir.path());
    assert_eq!(log.meta().unwrap().as_deref(), Some(&b"new"[..]));
    // And the shutdown through a shared reference ends it as close would.
    log.shutdown().unwrap();
    assert!(matches!(
        log.meta(),
        Err(RecoveryError::Store(StoreError::Closed))
    ));
    drop(log);
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::default())).unwrap();
    assert!(recovered.report.from_close_record);
}

#[test]
fn a_damaged_blob_is_reported_kept_and_never_taken_for_no_blob() {
    let make = || {
        let dir = wal_testkit::tempdir();
        log_with_blob(dir.path());
        wal_testkit::damage::xor_byte(&dir.path().join(META_FILE_NAME), 13, 0x04);
        dir
    };
    let dir = make();
    // The store's reader refuses it; the log itself opens.
    let log = wal_store::Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert!(matches!(log.meta(), Err(StoreError::MetaCorrupt { .. })));
    assert_eq!(log.read(1).unwrap().payload, b"one");
    drop(log);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
    assert_eq!(
        verification
            .problems
            .iter()
            .map(|p| p.kind)
            .collect::<Vec<_>>(),
        [ProblemKind::MetaCorrupt],
        "{verification:#?}"
    );
    assert!(matches!(
        wal_recovery::open(dir.path(), options(RecoveryMode::AbsoluteConsistency)),
        Err(RecoveryError::Inconsistent { .. })
    ));
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::PointInTime,
        RecoveryMode::SkipCorrupted,
    ] {
        let dir = make();
        let damaged = std::fs::read(dir.path().join(META_FILE_NAME)).unwrap();
        // Twice: an open that reported the damage does not make it go away (a raft node
        // that took its lost vote for no vote could vote twice).
        for _ in 0..2 {
            let recovered = wal_recovery::open(dir.path(), options(mode)).unwrap();
            assert!(
                recovered
                    .report
                    .problems
                    .iter()
                    .any(|p| p.kind == ProblemKind::MetaCorrupt),
                "{mode:?}: {:#?}",
                recovered.report
            );
            assert!(
                !recovered.report.actions.iter().any(|a| matches!(
                    a,
                    Action::FileQuarantined { from, .. } if from.ends_with(META_FILE_NAME)
                )),
                "{mode:?}: {:#?}",
                recovered.report
            );
            // Kept byte for byte, in place.
            assert_eq!(
                std::fs::read(dir.path().join(META_FILE_NAME)).unwrap(),
                damaged
            );
            assert!(
                matches!(
                    recovered.log.meta(),
                    Err(RecoveryError::Store(StoreError::MetaCorrupt { .. }))
                ),
                "{mode:?}: {:?}",
                recovered.log.meta()
            );
            assert_eq!(recovered.log.read(1).unwrap().payload, b"one");
        }
        let recovered = wal_recovery::open(dir.path(), options(mode)).unwrap();
        recovered.log.write_meta(b"again").unwrap();
        assert_eq!(
            recovered.log.meta().unwrap().as_deref(),
            Some(&b"again"[..])
        );
        drop(recovered);
        assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    }
}

#[test]
fn a_leftover_temporary_blob_is_removed_and_the_blob_kept() {
    let dir = wal_testkit::tempdir();
    log_with_blob(dir.path());
    std::fs::write(dir.path().join("META.tmp"), b"half a blob").unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(
        verification
            .problems
            .iter()
            .map(|p| p.kind)
            .collect::<Vec<_>>(),
        [ProblemKind::TempFile],
        "{verification:#?}"
    );
    let log = open(dir.path());
    assert!(!dir.path().join("META.tmp").exists());
    assert_eq!(log.meta().unwrap().as_deref(), Some(&b"old"[..]));
}

/// Every system call `write_meta` makes, failed in turn: the call fails, the log still
/// reads the old blob or the new one (never an error, never anything else), before and
/// after a reopen through recovery, and a retry succeeds.
#[test]
fn every_failed_call_of_write_meta_leaves_the_old_blob_or_the_new_one() {
    // The calls one write makes, counted on a log of its own.
    let calls = {
        let dir = wal_testkit::tempdir();
        log_with_blob(dir.path());
        let log = open(dir.path());
        let plan = FaultPlan::install(dir.path());
        log.write_meta(b"new").unwrap();
        plan.seen()
    };
    for kind in [
        Call::Create,
        Call::Write,
        Call::Fsync,
        Call::Rename,
        Call::FsyncDir,
    ] {
        assert!(
            calls.iter().any(|s| s.call == kind),
            "{kind:?} in {calls:?}"
        );
    }
    let mut faulted = 0;
    for (i, seen) in calls.iter().enumerate() {
        let nth = calls
            .iter()
            .take(i + 1)
            .filter(|s| s.call == seen.call)
            .count();
        let dir = wal_testkit::tempdir();
        log_with_blob(dir.path());
        let log = open(dir.path());
        let plan = FaultPlan::install(dir.path());
        plan.fail(Rule::once(seen.call, nth, EIO));
        let result = log.write_meta(b"new");
        assert!(
            result.is_err(),
            "call {i} ({:?}) failed and write_meta said Ok",
            seen.call
        );
        assert_eq!(plan.injected(), 1);
        drop(plan);
        let now = log.meta().unwrap().unwrap();
        assert!(now == b"old" || now == b"new", "call {i}: {now:?}");
        drop(log);
        let log = open(dir.path());
        let reopened = log.meta().unwrap().unwrap();
        assert!(
            reopened == b"old" || reopened == b"new",
            "call {i}: {reopened:?}"
        );
        log.write_meta(b"retried").unwrap();
        assert_eq!(log.meta().unwrap().as_deref(), Some(&b"retried"[..]));
        faulted += 1;
    }
    assert_eq!(faulted, calls.len());
}

/// Recovery's cuts are about entries: a torn tail cut away leaves the blob as it was.
#[test]
fn a_torn_tail_cut_by_recovery_leaves_the_blob_alone() {
    let dir = wal_testkit::tempdir();
    let log = open(dir.path());
    log.append_batch(&[&b"zero"[..], b"one"]).unwrap();
    log.sync().unwrap();
    log.write_meta(b"kept").unwrap();
    log.append(b"two, never synced").unwrap();
    drop(log);
    // The crash tore the unsynced record: the end of its payload never reached the disk.
    let codec = wal_store::format::Codec::V2;
    let durable_end = codec.record_bytes(4).unwrap() + codec.record_bytes(3).unwrap();
    let torn_end = durable_end + codec.record_bytes(17).unwrap();
    wal_testkit::damage::zero_range(&dir.path().join("0.txnx"), torn_end - 5..torn_end);
    let recovered = wal_recovery::open(dir.path(), options(RecoveryMode::default())).unwrap();
    assert!(
        recovered
            .report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::TornTail),
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.log.next_offset(), 2);
    assert_eq!(recovered.log.meta().unwrap().as_deref(), Some(&b"kept"[..]));
}

#[test]
fn the_blob_is_read_before_the_log_is_opened() {
    let dir = wal_testkit::tempdir();
    let missing = dir.path().join("no-log-here");
    assert_eq!(wal_recovery::read_meta(&missing).unwrap(), None);
    let log = open(dir.path());
    assert_eq!(wal_recovery::read_meta(dir.path()).unwrap(), None);
    log.write_meta(b"vote 7").unwrap();
    // Read while the log is open (and after): the blob as written.
    assert_eq!(
        wal_recovery::read_meta(dir.path()).unwrap().as_deref(),
        Some(&b"vote 7"[..])
    );
    drop(log);
    let meta = dir.path().join(META_FILE_NAME);
    let mut bytes = std::fs::read(&meta).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&meta, bytes).unwrap();
    assert!(matches!(
        wal_recovery::read_meta(dir.path()),
        Err(RecoveryError::Store(StoreError::MetaCorrupt { .. }))
    ));
}
