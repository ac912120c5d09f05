//! Opening with what a scan under the lock found (`Wal::open_locked_with_maps`): the
//! mappings and the active segment's records are reused when they agree with the files,
//! and ignored (the log opens as it would without them) when they do not.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::path::Path;

use common_a::{options, payload, tempdir};
use wal_store::{DirLock, LockedFileMap, ScannedMap, Wal};

const SEGMENT_BYTES: u32 = 1024;
const ENTRIES: u64 = 100;

fn build(dir: &Path) {
    let wal = Wal::open(dir, options(SEGMENT_BYTES)).unwrap();
    for offset in 0..ENTRIES {
        wal.append(&payload(offset)).unwrap();
    }
    wal.close().unwrap();
}

/// Every data file mapped under `lock`, in offset order.
fn maps(dir: &Path, lock: &DirLock) -> Vec<ScannedMap> {
    wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .filter_map(|(base, codec)| {
            let path = wal_store::naming::data_path(dir, base, codec);
            LockedFileMap::open(lock, &path).unwrap().into_scanned()
        })
        .collect()
}

/// The active segment's records as a scan of its own finds them.
fn active_records(dir: &Path) -> (Vec<u32>, u32, Option<u32>) {
    let (base, codec) = *wal_store::list_segments(dir).unwrap().last().unwrap();
    let bytes = std::fs::read(wal_store::naming::data_path(dir, base, codec)).unwrap();
    let mut scanner = wal_store::format::Scanner::new(codec, &bytes);
    let offsets: Vec<u32> = scanner.by_ref().map(|r| r.file_offset.0).collect();
    (offsets, scanner.valid_len().0, scanner.last_crc())
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

fn with_active_records(
    mut maps: Vec<ScannedMap>,
    records: (Vec<u32>, u32, Option<u32>),
) -> Vec<ScannedMap> {
    let last = maps.pop().unwrap();
    maps.push(last.with_records(records.0, records.1, records.2));
    maps
}

#[test]
fn the_scanned_maps_and_records_are_taken() {
    let dir = tempdir();
    build(dir.path());
    assert!(wal_store::list_segments(dir.path()).unwrap().len() > 2);
    let lock = DirLock::acquire(dir.path()).unwrap();
    let maps = with_active_records(maps(dir.path(), &lock), active_records(dir.path()));
    let wal = Wal::open_locked_with_maps(dir.path(), options(SEGMENT_BYTES), lock, maps).unwrap();
    assert_log(&wal);
    wal.close().unwrap();
    // And the log opens the usual way afterwards.
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.next_offset(), ENTRIES + 1);
}

#[test]
fn records_that_disagree_with_the_file_are_ignored() {
    let dir = tempdir();
    build(dir.path());
    let (offsets, data_len, last_crc) = active_records(dir.path());
    assert!(offsets.len() >= 3);
    let mut skipping_one = offsets.clone();
    skipping_one.remove(1);
    let wrong: Vec<(Vec<u32>, u32, Option<u32>)> = vec![
        // A record left out in the middle.
        (skipping_one, data_len, last_crc),
        // The last record left out.
        (
            offsets[..offsets.len() - 1].to_vec(),
            offsets[offsets.len() - 1],
            last_crc,
        ),
        // Another last crc.
        (offsets.clone(), data_len, last_crc.map(|c| c ^ 1)),
        // Nothing, for a segment that holds records.
        (Vec::new(), 0, None),
    ];
    for records in wrong {
        let lock = DirLock::acquire(dir.path()).unwrap();
        let maps = with_active_records(maps(dir.path(), &lock), records.clone());
        let wal =
            Wal::open_locked_with_maps(dir.path(), options(SEGMENT_BYTES), lock, maps).unwrap();
        assert_eq!(wal.next_offset(), ENTRIES, "{records:?}");
        let read: Vec<Vec<u8>> = wal.iter().map(|e| e.unwrap().payload).collect();
        assert_eq!(read, (0..ENTRIES).map(payload).collect::<Vec<_>>());
        wal.close().unwrap();
    }
}

#[test]
fn maps_of_other_files_are_not_taken() {
    let dir = tempdir();
    build(dir.path());
    let other = tempdir();
    build(other.path());
    let other_lock = DirLock::acquire(other.path()).unwrap();
    let foreign = maps(other.path(), &other_lock);
    let lock = DirLock::acquire(dir.path()).unwrap();
    let wal =
        Wal::open_locked_with_maps(dir.path(), options(SEGMENT_BYTES), lock, foreign).unwrap();
    assert_log(&wal);
}
