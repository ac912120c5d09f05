//! v1 -> v2 migration: entries unchanged, one chain across every segment, crash-safe at
//! every step, idempotent.

// Helpers outside #[test] functions panic on failure too: in a test, a panic is a failed
// test, not a crash in a user's process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use wal_format::Codec;
use wal_recovery::{JOURNAL_FILE_NAME, RecoveryOptions, migrate};
use wal_store::{Wal, WalOptions};

fn payload(offset: u64) -> Vec<u8> {
    format!("entry-{offset}-{}", "x".repeat((offset % 13) as usize)).into_bytes()
}

/// Three v1 segments or so, then v2 segments appended by a later version.
fn mixed_log(dir: &Path) {
    let v1 = WalOptions::default()
        .with_segment_bytes(256)
        .with_codec(Codec::V1);
    let wal = Wal::open(dir, v1).unwrap();
    for o in 0..30 {
        assert_eq!(wal.append(&payload(o)).unwrap().offset, o);
    }
    wal.close().unwrap();
    let v2 = WalOptions::default().with_segment_bytes(256);
    let wal = Wal::open(dir, v2).unwrap();
    for o in 30..60 {
        assert_eq!(wal.append(&payload(o)).unwrap().offset, o);
    }
    wal.close().unwrap();
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Every entry is there with its payload, and (v2 throughout) every crc chains from the
/// one before, from seed 0.
fn assert_whole_v2_log(dir: &Path) {
    let recovered = wal_recovery::open(dir, RecoveryOptions::default()).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    let mut prev = 0;
    let mut count = 0;
    for (o, entry) in recovered.log.iter().enumerate() {
        let entry = entry.unwrap();
        assert_eq!(entry.offset, o as u64);
        assert_eq!(entry.payload, payload(o as u64));
        assert_eq!(entry.prev_crc, Some(prev), "offset {o}");
        prev = entry.crc.unwrap();
        count += 1;
    }
    assert_eq!(count, 60);
    drop(recovered);
    assert!(
        wal_store::list_segments(dir)
            .unwrap()
            .iter()
            .all(|(_, c)| *c == Codec::V2)
    );
}

#[test]
fn migration_converts_and_rechains_every_segment() {
    let dir = wal_testkit::tempdir();
    mixed_log(dir.path());
    let segments = wal_store::list_segments(dir.path()).unwrap();
    assert!(segments.iter().filter(|(_, c)| *c == Codec::V1).count() >= 3);
    assert!(segments.iter().any(|(_, c)| *c == Codec::V2));

    let migration = migrate(dir.path(), Codec::V2).unwrap();
    assert!(!migration.converted.is_empty());
    assert!(!migration.rechained.is_empty());
    assert!(!migration.rolled_forward);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    assert_whole_v2_log(dir.path());
}

/// The close record a clean close left describes the active segment as it was: the
/// migration rewrites that segment (rechained), so it removes the record first, as every
/// change of the active segment does.
#[test]
fn migration_removes_the_close_record_of_the_segment_it_rewrites() {
    let dir = wal_testkit::tempdir();
    mixed_log(dir.path());
    let closed = dir
        .path()
        .join(wal_store::internal::closed::CLOSED_FILE_NAME);
    assert!(closed.exists(), "the clean close left no close record");
    let migration = migrate(dir.path(), Codec::V2).unwrap();
    assert!(!migration.rechained.is_empty());
    assert!(!closed.exists(), "the close record outlived the migration");
    assert_whole_v2_log(dir.path());
}

#[test]
fn migration_is_idempotent() {
    let dir = wal_testkit::tempdir();
    mixed_log(dir.path());
    migrate(dir.path(), Codec::V2).unwrap();
    let after_first = files(dir.path());
    let second = migrate(dir.path(), Codec::V2).unwrap();
    assert_eq!(second, wal_recovery::Migration::default());
    assert_eq!(files(dir.path()), after_first);
}

#[test]
fn migration_to_v1_is_refused() {
    let dir = wal_testkit::tempdir();
    mixed_log(dir.path());
    let before = files(dir.path());
    assert!(matches!(
        migrate(dir.path(), Codec::V1),
        Err(wal_recovery::RecoveryError::InvalidArgument(_))
    ));
    assert_eq!(files(dir.path()), before);
}

/// Runs a migration, then rewinds the directory to what a crash at `step` would leave.
/// Steps: the `.pending` files written (no journal): the old log must come back whole;
/// the journal written: recovery must complete the migration; part of the renames done:
/// likewise.
fn crash_then_recover(keep_journal: bool, renames_done: usize) {
    let dir = wal_testkit::tempdir();
    mixed_log(dir.path());
    let before = files(dir.path());
    let staged = wal_testkit::tempdir();
    // Run the migration in a copy, to collect the files it produces.
    for (name, bytes) in &before {
        fs::write(staged.path().join(name), bytes).unwrap();
    }
    migrate(staged.path(), Codec::V2).unwrap();
    let after = files(staged.path());
    // Stage every new or changed file as `.pending` in the crashed directory.
    let mut changed: Vec<&String> = after
        .iter()
        .filter(|(name, bytes)| before.get(*name) != Some(*bytes) && name.as_str() != "LOCK")
        .map(|(name, _)| name)
        .collect();
    changed.sort();
    for name in &changed {
        fs::write(dir.path().join(format!("{name}.pending")), &after[*name]).unwrap();
    }
    if keep_journal {
        // The journal as a migration commits it: install every new file, then remove
        // the files of the segments it replaces that nothing was installed over (the
        // v1 files, and v2 segments whose entries moved to other segments). The close
        // record is removed before the journal is written, not by it.
        let mut journal: String = changed.iter().map(|n| format!("install {n}\n")).collect();
        for name in before.keys().filter(|n| {
            !after.contains_key(*n)
                && *n != "LOCK"
                && *n != wal_store::internal::closed::CLOSED_FILE_NAME
        }) {
            journal.push_str(&format!("remove {name}\n"));
        }
        fs::write(dir.path().join(JOURNAL_FILE_NAME), journal).unwrap();
        for name in changed.iter().take(renames_done) {
            fs::rename(
                dir.path().join(format!("{name}.pending")),
                dir.path().join(name),
            )
            .unwrap();
        }
    }
    if keep_journal {
        assert_whole_v2_log(dir.path());
        assert!(!dir.path().join(JOURNAL_FILE_NAME).exists());
    } else {
        // The old log, untouched; the staged files were leftovers and are gone.
        let recovered = wal_recovery::open(dir.path(), RecoveryOptions::default()).unwrap();
        assert_eq!(recovered.log.next_offset(), 60);
        for (o, entry) in recovered.log.iter().enumerate() {
            assert_eq!(entry.unwrap().payload, payload(o as u64));
        }
        drop(recovered);
        let now = files(dir.path());
        for (name, bytes) in &before {
            if name != "LOCK" {
                assert_eq!(now.get(name), Some(bytes), "{name} changed");
            }
        }
        assert!(now.keys().all(|n| !n.ends_with(".pending")));
    }
}

#[test]
fn crash_before_the_journal_leaves_the_old_log() {
    crash_then_recover(false, 0);
}

#[test]
fn crash_after_the_journal_is_rolled_forward() {
    crash_then_recover(true, 0);
}

#[test]
fn crash_in_the_middle_of_the_renames_is_rolled_forward() {
    for renames in [1, 3, 5] {
        crash_then_recover(true, renames);
    }
}
