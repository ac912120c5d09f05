//! A log with no entry keeps the seed of its chain in its `SEED` file: a reopen goes on
//! with the seed the log was created with (or that a truncation or a clear left), without
//! the caller passing it again, and whatever seed the caller passes (the disk wins).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;

use wal_store::format::crc;
use wal_store::{SEED_FILE_NAME, StoreError, SyncPolicy, Wal, WalOptions};

const FIRST: u64 = 1000;
const SEED: u32 = 0x5EED_CAFE;

/// Options that say nothing about where a log starts or what it chains from.
fn plain() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(512)
        .with_sync_policy(SyncPolicy::Manual)
}

fn seeded() -> WalOptions {
    plain().with_first_offset(FIRST).with_seed_crc(SEED)
}

fn fill(wal: &Wal, count: u64) {
    for i in 0..count {
        wal.append(format!("entry {i}").as_bytes()).unwrap();
    }
    wal.sync().unwrap();
}

/// Appends one entry and checks that it chains from `seed`.
fn assert_next_chains_from(wal: &Wal, seed: u32) {
    assert_eq!(wal.last_crc(), Some(seed));
    let appended = wal.append(b"next").unwrap();
    assert_eq!(appended.crc, Some(crc::chain(seed, b"next")));
    wal.sync().unwrap();
    assert_eq!(wal.read(appended.offset).unwrap().prev_crc, Some(seed));
}

fn flip_seed_byte(dir: &Path, at: usize) {
    let path = dir.join(SEED_FILE_NAME);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn a_new_log_reopens_with_the_seed_it_was_created_with() {
    for close in [true, false] {
        let dir = wal_testkit::tempdir();
        let wal = Wal::open(dir.path(), seeded()).unwrap();
        if close {
            wal.close().unwrap();
        } else {
            drop(wal);
        }
        let wal = Wal::open(dir.path(), plain()).unwrap();
        assert_eq!((wal.first_offset(), wal.next_offset()), (FIRST, FIRST));
        assert_next_chains_from(&wal, SEED);
    }
}

#[test]
fn the_seed_on_disk_wins_over_the_one_passed() {
    let dir = wal_testkit::tempdir();
    Wal::open(dir.path(), seeded()).unwrap().close().unwrap();
    let other = seeded().with_seed_crc(!SEED).with_first_offset(7);
    let wal = Wal::open(dir.path(), other).unwrap();
    assert_eq!(wal.first_offset(), FIRST);
    assert_next_chains_from(&wal, SEED);
}

#[test]
fn truncating_every_entry_keeps_the_seed_of_the_first() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    fill(&wal, 40);
    wal.truncate_after(FIRST - 1).unwrap();
    // No close: a crash right after the truncation.
    drop(wal);
    let wal = Wal::open(dir.path(), plain()).unwrap();
    assert_eq!((wal.first_offset(), wal.next_offset()), (FIRST, FIRST));
    assert_next_chains_from(&wal, SEED);
}

#[test]
fn clearing_keeps_the_last_crc_as_the_seed() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    fill(&wal, 40);
    let last = wal.last_crc().unwrap();
    wal.clear().unwrap();
    drop(wal);
    let wal = Wal::open(dir.path(), plain()).unwrap();
    assert_eq!(wal.next_offset(), FIRST + 40);
    assert_eq!(wal.last_offset(), None);
    assert_next_chains_from(&wal, last);
}

#[test]
fn a_damaged_seed_file_of_an_empty_log_is_refused() {
    for at in [0, 9, 17, 23] {
        let dir = wal_testkit::tempdir();
        Wal::open(dir.path(), seeded()).unwrap().close().unwrap();
        flip_seed_byte(dir.path(), at);
        let error = Wal::open(dir.path(), seeded()).unwrap_err();
        assert!(matches!(error, StoreError::Layout { .. }), "{error:?}");
    }
    let dir = wal_testkit::tempdir();
    Wal::open(dir.path(), seeded()).unwrap().close().unwrap();
    std::fs::write(dir.path().join(SEED_FILE_NAME), b"WALS").unwrap();
    let error = Wal::open(dir.path(), seeded()).unwrap_err();
    assert!(matches!(error, StoreError::Layout { .. }), "{error:?}");
}

#[test]
fn a_log_with_entries_carries_its_chain_whatever_the_seed_file_says() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    fill(&wal, 5);
    wal.close().unwrap();
    flip_seed_byte(dir.path(), 17);
    // A damaged file is refused even with entries: it may hold the log's logical start
    // (a trim), which nothing else records. Without it (recovery quarantines it), the
    // records alone say where the log starts and what it chains from.
    let error = Wal::open(dir.path(), plain()).unwrap_err();
    assert!(matches!(error, StoreError::Layout { .. }), "{error:?}");
    std::fs::remove_file(dir.path().join(SEED_FILE_NAME)).unwrap();
    let wal = Wal::open(dir.path(), plain()).unwrap();
    assert_eq!(wal.first_offset(), FIRST);
    assert_eq!(wal.read(FIRST).unwrap().prev_crc, Some(SEED));
    // Emptying the log writes the file again, whole.
    wal.truncate_after(FIRST - 1).unwrap();
    drop(wal);
    let wal = Wal::open(dir.path(), plain()).unwrap();
    assert_next_chains_from(&wal, SEED);
}

#[test]
fn a_crash_while_creating_leaves_no_log_or_a_seeded_one() {
    // The seed file is written before the first segment: a crash between the two leaves
    // the file alone, which is no log; the next open creates one with its own options.
    let dir = wal_testkit::tempdir();
    Wal::open(dir.path(), seeded()).unwrap().close().unwrap();
    let seed_file = std::fs::read(dir.path().join(SEED_FILE_NAME)).unwrap();
    let fresh = wal_testkit::tempdir();
    std::fs::write(fresh.path().join(SEED_FILE_NAME), &seed_file).unwrap();
    let wal = Wal::open(fresh.path(), plain().with_first_offset(5).with_seed_crc(77)).unwrap();
    assert_eq!((wal.first_offset(), wal.next_offset()), (5, 5));
    drop(wal);
    let wal = Wal::open(fresh.path(), plain()).unwrap();
    assert_eq!(wal.first_offset(), 5);
    assert_next_chains_from(&wal, 77);
}

#[test]
fn without_a_seed_file_an_empty_log_takes_the_seed_passed() {
    // A directory written before the file existed.
    let dir = wal_testkit::tempdir();
    Wal::open(dir.path(), seeded()).unwrap().close().unwrap();
    std::fs::remove_file(dir.path().join(SEED_FILE_NAME)).unwrap();
    let wal = Wal::open(dir.path(), plain().with_seed_crc(42)).unwrap();
    assert_next_chains_from(&wal, 42);
}
