//! Opening with what the store's checking scan under the lock found
//! (`DataFileScan::mapped`, then `Wal::open_checked`): the mappings and the records are
//! reused when they are the files' own, and ignored (the log opens and checks as it would
//! without them) when they are another directory's, or when the files changed after the
//! scan. (That the records the scan checked are not checked again, and only then, is
//! proven by the unit tests of `wal/open.rs`, which can see it.)

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::fs::OpenOptions;
use std::ops::ControlFlow;
use std::path::Path;

use common_a::{options, payload, tempdir};
use wal_store::internal::{naming, sys};
use wal_store::{CheckedSegment, DataFileScan, DirLock, StoreError, Wal};

const SEGMENT_BYTES: u32 = 1024;
const ENTRIES: u64 = 100;

fn build(dir: &Path) {
    let wal = Wal::open(dir, options(SEGMENT_BYTES)).unwrap();
    for offset in 0..ENTRIES {
        wal.append(&payload(offset)).unwrap();
    }
    wal.close().unwrap();
}

/// Every data file scanned under `lock`, in offset order.
fn scan(dir: &Path, lock: &DirLock) -> Vec<CheckedSegment> {
    wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .filter_map(|(base, codec)| {
            let path = naming::data_path(dir, base, codec);
            let scanned = DataFileScan::mapped(lock, &path, codec).unwrap();
            // A clean log: every record checks out, and the data ends cleanly.
            assert!(scanned.end().is_clean(), "{:?}", scanned.end());
            scanned.into_checked()
        })
        .collect()
}

fn assert_log(wal: &Wal) {
    assert_eq!(wal.next_offset(), ENTRIES);
    let read: Vec<Vec<u8>> = wal.iter().map(|e| e.unwrap().payload).collect();
    assert_eq!(read, (0..ENTRIES).map(payload).collect::<Vec<_>>());
    // Appends continue the chain where the log ended.
    let appended = wal.append(&payload(ENTRIES)).unwrap();
    assert_eq!(appended.offset, ENTRIES);
    assert_eq!(wal.read(ENTRIES).unwrap().payload, payload(ENTRIES));
}

#[test]
fn the_scanned_maps_and_records_are_taken() {
    let dir = tempdir();
    build(dir.path());
    assert!(wal_store::list_segments(dir.path()).unwrap().len() > 2);
    let lock = DirLock::acquire(dir.path()).unwrap();
    let checked = scan(dir.path(), &lock);
    let wal = Wal::open_checked(dir.path(), options(SEGMENT_BYTES), lock, checked).unwrap();
    assert_log(&wal);
    wal.close().unwrap();
    // And the log opens the usual way afterwards.
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.next_offset(), ENTRIES + 1);
}

#[test]
fn a_scan_tells_what_it_found() {
    let dir = tempdir();
    build(dir.path());
    let (base, codec) = *wal_store::list_segments(dir.path())
        .unwrap()
        .last()
        .unwrap();
    let path = naming::data_path(dir.path(), base, codec);
    let lock = DirLock::acquire(dir.path()).unwrap();
    let mapped = DataFileScan::mapped(&lock, &path, codec).unwrap();
    let read = DataFileScan::read(&path, codec).unwrap();
    // The same records whichever way the bytes were got.
    assert_eq!(mapped.record_offsets(), read.record_offsets());
    assert_eq!(mapped.valid_len(), read.valid_len());
    assert_eq!(mapped.last_crc(), read.last_crc());
    assert_eq!(mapped.bytes(), read.bytes());
    assert_eq!(mapped.record_offsets().len() as u64, ENTRIES - base);
    // Only a mapping made under the lock can be handed to a log.
    assert!(read.into_checked().is_none());
    assert!(mapped.into_checked().is_some());
}

#[test]
fn a_file_of_another_directory_is_not_mapped_under_this_ones_lock() {
    let dir = tempdir();
    build(dir.path());
    let other = tempdir();
    build(other.path());
    let (base, codec) = wal_store::list_segments(other.path()).unwrap()[0];
    let lock = DirLock::acquire(dir.path()).unwrap();
    let refused = DataFileScan::mapped(&lock, &naming::data_path(other.path(), base, codec), codec);
    assert_eq!(
        refused.unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[test]
fn maps_of_other_files_are_not_taken() {
    let dir = tempdir();
    build(dir.path());
    let other = tempdir();
    build(other.path());
    let other_lock = DirLock::acquire(other.path()).unwrap();
    let foreign = scan(other.path(), &other_lock);
    let lock = DirLock::acquire(dir.path()).unwrap();
    let wal = Wal::open_checked(dir.path(), options(SEGMENT_BYTES), lock, foreign).unwrap();
    assert_log(&wal);
}

/// Flips a payload byte of the entry at `offset`, in place, the way a repair writes
/// (through the store's system calls); returns the segment's base.
fn damage_in_place(dir: &Path, offset: u64) -> u64 {
    let segments = wal_store::list_segments(dir).unwrap();
    let &(base, codec) = segments.iter().rev().find(|(b, _)| *b <= offset).unwrap();
    let path = naming::data_path(dir, base, codec);
    let bytes = std::fs::read(&path).unwrap();
    let mut scanner = wal_store::format::Scanner::new(codec, &bytes);
    let record = scanner
        .nth(usize::try_from(offset - base).unwrap())
        .unwrap();
    // The last byte of its payload.
    let at = record.payload.as_ptr() as usize - bytes.as_ptr() as usize + record.payload.len() - 1;
    let byte = bytes[at] ^ 0x55;
    let at = at as u64;
    let file = sys::open(OpenOptions::new().write(true), &path).unwrap();
    sys::write_all_at(&file, &[byte], at, &path).unwrap();
    base
}

#[test]
fn records_changed_after_the_scan_are_checked_again() {
    let dir = tempdir();
    build(dir.path());
    let lock = DirLock::acquire(dir.path()).unwrap();
    let checked = scan(dir.path(), &lock);
    // After the scan, a record in the middle of a sealed segment changes (no record's
    // length or place does: only its crc can tell).
    let segments = wal_store::list_segments(dir.path()).unwrap();
    let (sealed_base, _) = segments[segments.len() - 2];
    let damaged = sealed_base + 1;
    damage_in_place(dir.path(), damaged);
    let wal = Wal::open_checked(dir.path(), options(SEGMENT_BYTES), lock, checked).unwrap();
    // The replay refuses the damaged record instead of handing out what the scan saw.
    let mut visited = Vec::new();
    let visit = wal.visit_from(0, |entry| {
        visited.push(entry.offset);
        ControlFlow::Continue(())
    });
    assert!(
        matches!(visit, Err(StoreError::Corrupt { .. })),
        "{visit:?}"
    );
    assert_eq!(visited, (0..damaged).collect::<Vec<_>>());
    assert!(matches!(wal.read(damaged), Err(StoreError::Corrupt { .. })));
}
