//! The next segment is prepared ahead of time (zeros written and synced, in an unnamed
//! file) and linked into place at rotation: invisible in the directory, not sparse, and the
//! log is the same as without it.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure"
)]

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use wal_store::{SyncPolicy, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 64 * 1024;

fn options(prepare: bool) -> WalOptions {
    WalOptions {
        segment_bytes: SEGMENT_BYTES,
        sync_policy: SyncPolicy::Manual,
        prepare_next_segment: prepare,
        ..WalOptions::default()
    }
}

/// Waits until the next segment is prepared (a liveness bound, not a speed check).
fn wait_prepared(wal: &Wal) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !wal.stats().next_segment_prepared {
        assert!(Instant::now() < deadline, "no segment prepared within 30 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Appends 1 KiB entries until the log has rotated `rotations` times; with `prepare`,
/// waits for the prepared file before each rotation.
fn fill(wal: &Wal, rotations: u64, prepare: bool) {
    let payload = vec![7u8; 1024];
    while wal.stats().rotations < rotations {
        if prepare && !wal.stats().next_segment_prepared {
            wait_prepared(wal);
        }
        wal.append(&payload).unwrap();
    }
}

#[test]
fn rotations_use_prepared_files_that_are_invisible_and_not_sparse() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(true)).unwrap();
    fill(&wal, 4, true);
    assert_eq!(wal.stats().prepared_segments_used, 4, "{:?}", wal.stats());
    // Only segment files and the lock: the prepared file has no name.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names
            .iter()
            .all(|n| n == "LOCK" || n.ends_with(".txnx") || n.ends_with(".idxx")),
        "{names:?}"
    );
    // Every data file has all its blocks.
    for name in names.iter().filter(|n| n.ends_with(".txnx")) {
        let meta = std::fs::metadata(dir.path().join(name)).unwrap();
        assert_eq!(
            meta.len(),
            wal_store::format::data_file_bytes(SEGMENT_BYTES),
            "{name}"
        );
        assert!(meta.blocks() * 512 >= meta.len(), "{name} is sparse");
    }
    let appended = wal.next_offset().unwrap();
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), options(false)).unwrap();
    assert_eq!(wal.next_offset().unwrap(), appended);
    assert_eq!(wal.iter().count() as u64, appended);
    for entry in wal.iter() {
        assert_eq!(entry.unwrap().payload, vec![7u8; 1024]);
    }
}

#[test]
fn without_preparing_rotations_create_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(false)).unwrap();
    fill(&wal, 3, false);
    assert_eq!(wal.stats().prepared_segments_used, 0);
    assert!(!wal.stats().next_segment_prepared);
    wal.close().unwrap();
}
