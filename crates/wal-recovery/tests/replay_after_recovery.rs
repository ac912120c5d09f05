//! The replay right after a clean recovery reads the sealed segments the recovery scan
//! has just checked without computing their crcs a second time; every later read checks
//! them again, and a recovery that changed anything vouches for nothing.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::Path;

use wal_recovery::{Recovered, RecoveryError, RecoveryOptions};
use wal_store::{StoreError, WalOptions};

const ENTRIES: u64 = 500;

fn options() -> RecoveryOptions {
    RecoveryOptions::default().with_wal(WalOptions::default().with_segment_bytes(1024))
}

fn payload(offset: u64) -> Vec<u8> {
    format!("entry-{offset:05}").into_bytes()
}

fn build(dir: &Path) {
    let recovered = wal_recovery::open(dir, options()).unwrap();
    for offset in 0..ENTRIES {
        assert_eq!(
            recovered.log.append(&payload(offset)).unwrap().offset,
            offset
        );
    }
    // Left as a crash leaves it once every entry is durable (no close record), so that
    // the next open scans every record: after a clean close it would trust the record.
    recovered.log.sync().unwrap();
    drop(recovered);
}

/// Flips a payload byte of entry 3 of the second segment, through the file (the log's
/// mapping sees it at once): damage that appears after recovery scanned the segment.
/// Returns the damaged offset.
fn damage_after_the_scan(dir: &Path) -> u64 {
    let (base, codec) = wal_store::list_segments(dir).unwrap()[1];
    let path = wal_store::internal::naming::data_path(dir, base, codec);
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let record = 12 + payload(0).len() as u64;
    file.write_all_at(b"X", 3 * record + 12 + 2).unwrap();
    base + 3
}

fn visit_all(recovered: &Recovered) -> (Vec<u64>, Result<u64, RecoveryError>) {
    let mut seen = Vec::new();
    let result = recovered.log.visit_from(0, |e| {
        seen.push(e.offset);
        ControlFlow::Continue(())
    });
    (seen, result)
}

#[test]
fn the_replay_after_a_clean_recovery_hands_out_every_entry() {
    let dir = wal_testkit::tempdir();
    build(dir.path());
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    assert!(recovered.report.actions.is_empty());
    let mut replayed = Vec::new();
    recovered
        .replay_with(|e| {
            assert_eq!(e.payload, payload(e.offset));
            replayed.push(e.offset);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(replayed, (0..ENTRIES).collect::<Vec<u64>>());
}

#[test]
fn a_read_after_the_first_visit_checks_the_crcs_again() {
    let dir = wal_testkit::tempdir();
    build(dir.path());
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    // The first visit reads what recovery has just checked.
    let (seen, result) = visit_all(&recovered);
    assert_eq!(result.unwrap(), ENTRIES);
    assert_eq!(seen.len() as u64, ENTRIES);
    // Damage that appears afterwards is found by every later read.
    let damaged = damage_after_the_scan(dir.path());
    let (seen, result) = visit_all(&recovered);
    match result {
        Err(RecoveryError::Store(StoreError::Corrupt { offset, .. })) => {
            assert_eq!(offset, damaged)
        }
        other => panic!("the second visit returned {other:?}"),
    }
    assert_eq!(seen, (0..damaged).collect::<Vec<u64>>());
    assert!(recovered.log.read(damaged).is_err());
}

#[test]
fn the_first_visit_after_a_clean_recovery_takes_the_scans_word() {
    let dir = wal_testkit::tempdir();
    build(dir.path());
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    assert!(recovered.report.actions.is_empty());
    // Damage that appears after the open took the scan's word (no file system does this
    // on its own: it shows which records the first visit does not check again).
    let damaged = damage_after_the_scan(dir.path());
    let (seen, result) = visit_all(&recovered);
    assert_eq!(result.unwrap(), ENTRIES);
    assert_eq!(seen, (0..ENTRIES).collect::<Vec<u64>>());
    // Every later read checks.
    assert!(matches!(
        recovered.log.read(damaged),
        Err(RecoveryError::Store(StoreError::Corrupt { .. }))
    ));
}

#[test]
fn a_recovery_that_changed_something_vouches_for_nothing() {
    let dir = wal_testkit::tempdir();
    build(dir.path());
    // A leftover temporary file: recovery removes it, an action.
    std::fs::write(dir.path().join("CURSOR.tmp"), b"x").unwrap();
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    assert!(!recovered.report.actions.is_empty());
    let damaged = damage_after_the_scan(dir.path());
    let (seen, result) = visit_all(&recovered);
    match result {
        Err(RecoveryError::Store(StoreError::Corrupt { offset, .. })) => {
            assert_eq!(offset, damaged)
        }
        other => panic!("the first visit returned {other:?}"),
    }
    assert_eq!(seen.len() as u64, damaged);
}
