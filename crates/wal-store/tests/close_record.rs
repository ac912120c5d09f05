//! A clean close leaves a close record (`CLOSED`) describing the active segment, so that
//! the next open need not scan it; an open believes it only while it still describes the
//! segment, and a read still checks every record's crc.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::fs;
use std::path::Path;

use wal_store::format::Codec;
use wal_store::internal::closed::CLOSED_FILE_NAME;
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};
use wal_testkit::damage::xor_byte;

/// 20-byte payloads make 32-byte v2 records; 4 KiB segments hold 128 of them.
const PAYLOAD_BYTES: usize = 20;
const RECORD_BYTES: usize = 12 + PAYLOAD_BYTES;

fn options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(4096)
        .with_sync_policy(SyncPolicy::Manual)
}

fn payload(offset: u64, generation: u8) -> Vec<u8> {
    wal_testkit::payload::tagged(offset, generation, PAYLOAD_BYTES)
}

fn append(wal: &Wal, offsets: std::ops::Range<u64>, generation: u8) {
    for offset in offsets {
        assert_eq!(
            wal.append(&payload(offset, generation)).unwrap().offset,
            offset
        );
    }
}

/// A log of `count` entries (generation 0), closed cleanly; returns its close record.
fn closed_log(dir: &Path, count: u64) -> Vec<u8> {
    let wal = Wal::open(dir, options()).unwrap();
    append(&wal, 0..count, 0);
    wal.close().unwrap();
    fs::read(dir.join(CLOSED_FILE_NAME)).expect("a clean close writes a close record")
}

/// Every entry of the log, read one by one, with its payload checked.
fn assert_entries(wal: &Wal, expected: &[(u64, u8)]) {
    assert_eq!(wal.next_offset(), expected.len() as u64);
    for &(offset, generation) in expected {
        assert_eq!(
            wal.read(offset).unwrap().payload,
            payload(offset, generation)
        );
    }
}

/// Syncs and drops the log as a crash after the last sync would leave it: no close.
fn crash(wal: Wal) {
    wal.sync().unwrap();
    drop(wal);
}

#[test]
fn after_a_clean_close_damage_in_the_active_segment_is_found_by_the_read() {
    let dir = wal_testkit::tempdir();
    // 200 entries: segment 0 holds 0..128, the active segment 128 holds 128..200.
    closed_log(dir.path(), 200);
    let active = dir.path().join("128.txnx");
    // A payload byte of entry 150, in the middle of the active segment.
    xor_byte(&active, 22 * RECORD_BYTES + 12 + 10, 0x40);

    // The open trusts the close record (it checked the first and last records only)...
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.next_offset(), 200);
    // ...and the read of the damaged entry fails instead of handing out its payload.
    match wal.read(150) {
        Err(StoreError::Corrupt { .. }) => {}
        other => panic!("expected a corrupt-record error, got {other:?}"),
    }
    for offset in [128, 149, 151, 199] {
        assert_eq!(wal.read(offset).unwrap().payload, payload(offset, 0));
    }
    drop(wal);

    // Without the record (after a crash), the open scans the segment and refuses it.
    fs::remove_file(dir.path().join(CLOSED_FILE_NAME)).unwrap();
    match Wal::open(dir.path(), options()) {
        Err(StoreError::NeedsRecovery { segment: 128, .. }) => {}
        other => panic!("expected NeedsRecovery for segment 128, got {other:?}"),
    }
}

#[test]
fn a_close_record_left_behind_by_appends_is_not_believed() {
    let dir = wal_testkit::tempdir();
    let stale = closed_log(dir.path(), 200);
    let wal = Wal::open(dir.path(), options()).unwrap();
    append(&wal, 200..210, 0);
    crash(wal);
    // The record a crash could bring back: it says the segment ends at entry 199.
    fs::write(dir.path().join(CLOSED_FILE_NAME), &stale).unwrap();
    let wal = Wal::open(dir.path(), options()).unwrap();
    let expected: Vec<(u64, u8)> = (0..210).map(|o| (o, 0)).collect();
    assert_entries(&wal, &expected);
}

#[test]
fn a_close_record_left_behind_by_a_truncation_is_not_believed() {
    // Truncated below the recorded end, with and without new entries past it.
    for (kept, appended) in [(150, 0), (150, 50), (150, 60), (128, 0), (199, 1)] {
        let dir = wal_testkit::tempdir();
        let stale = closed_log(dir.path(), 200);
        let wal = Wal::open(dir.path(), options()).unwrap();
        wal.truncate_after(kept - 1).unwrap();
        append(&wal, kept..kept + appended, 1);
        crash(wal);
        fs::write(dir.path().join(CLOSED_FILE_NAME), &stale).unwrap();
        let wal = Wal::open(dir.path(), options()).unwrap();
        let expected: Vec<(u64, u8)> = (0..kept)
            .map(|o| (o, 0))
            .chain((kept..kept + appended).map(|o| (o, 1)))
            .collect();
        assert_entries(&wal, &expected);
        // The same end and last crc as a scan finds without the record.
        let believed = wal.last_crc();
        drop(wal);
        fs::remove_file(dir.path().join(CLOSED_FILE_NAME)).unwrap();
        let wal = Wal::open(dir.path(), options()).unwrap();
        assert_entries(&wal, &expected);
        assert_eq!(wal.last_crc(), believed, "kept {kept}, appended {appended}");
        // Appends go on from the true end, chained from the true last entry.
        let next = kept + appended;
        append(&wal, next..next + 3, 2);
        wal.close().unwrap();
        let wal = Wal::open(dir.path(), options()).unwrap();
        assert_eq!(
            wal.next_offset(),
            next + 3,
            "kept {kept}, appended {appended}"
        );
        assert_eq!(wal.read(next + 2).unwrap().payload, payload(next + 2, 2));
    }
}

#[test]
fn a_close_record_of_another_segment_or_damaged_is_not_believed() {
    let dir = wal_testkit::tempdir();
    let of_segment_0 = closed_log(dir.path(), 100);
    let wal = Wal::open(dir.path(), options()).unwrap();
    append(&wal, 100..300, 0);
    crash(wal);
    fs::write(dir.path().join(CLOSED_FILE_NAME), &of_segment_0).unwrap();
    let wal = Wal::open(dir.path(), options()).unwrap();
    let expected: Vec<(u64, u8)> = (0..300).map(|o| (o, 0)).collect();
    assert_entries(&wal, &expected);
    wal.close().unwrap();

    let record = fs::read(dir.path().join(CLOSED_FILE_NAME)).unwrap();
    for at in [0, 8, 16, 20, 24, 28, record.len() - 1] {
        let mut damaged = record.clone();
        damaged[at] ^= 0x01;
        fs::write(dir.path().join(CLOSED_FILE_NAME), &damaged).unwrap();
        let wal = Wal::open(dir.path(), options()).unwrap();
        assert_entries(&wal, &expected);
        drop(wal);
    }
}

#[test]
fn a_v1_log_gets_no_close_record() {
    let dir = wal_testkit::tempdir();
    let options = options().with_codec(Codec::V1);
    let wal = Wal::open(dir.path(), options.clone()).unwrap();
    for offset in 0..10 {
        wal.append(&payload(offset, 0)).unwrap();
    }
    wal.close().unwrap();
    assert!(!dir.path().join(CLOSED_FILE_NAME).exists());
    let wal = Wal::open(dir.path(), options).unwrap();
    assert_eq!(wal.next_offset(), 10);
}

#[test]
fn the_record_goes_before_the_active_segment_first_changes() {
    // Opening alone changes nothing; the first append, truncation or clear removes the
    // record before it changes anything.
    type Change = fn(&Wal);
    let changes: [(&str, Change); 3] = [
        ("append", |wal| append(wal, 200..201, 1)),
        ("truncate_after", |wal| wal.truncate_after(149).unwrap()),
        ("clear", |wal| wal.clear().unwrap()),
    ];
    for (name, change) in changes {
        let dir = wal_testkit::tempdir();
        let record = closed_log(dir.path(), 200);
        let wal = Wal::open(dir.path(), options()).unwrap();
        assert_eq!(wal.read(199).unwrap().payload, payload(199, 0));
        let path = dir.path().join(CLOSED_FILE_NAME);
        assert_eq!(
            fs::read(&path).unwrap(),
            record,
            "{name}: opening changed it"
        );
        change(&wal);
        assert!(!path.exists(), "{name}: the record is still there");
        drop(wal);
    }
}

#[test]
fn a_close_with_nothing_to_describe_writes_no_record() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), 200);
    let wal = Wal::open(dir.path(), options()).unwrap();
    // Every entry removed: the active segment is a fresh, empty one at offset 200.
    wal.clear().unwrap();
    wal.close().unwrap();
    assert!(!dir.path().join(CLOSED_FILE_NAME).exists());
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.next_offset(), 200);
    append(&wal, 200..205, 0);
    wal.close().unwrap();
    assert!(dir.path().join(CLOSED_FILE_NAME).exists());
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.first_offset(), 200);
    assert_eq!(wal.next_offset(), 205);
    for offset in 200..205 {
        assert_eq!(wal.read(offset).unwrap().payload, payload(offset, 0));
    }
}

#[test]
fn a_close_record_whose_segment_no_longer_chains_from_the_one_before_is_not_believed() {
    // Two logs with the same shape (segments 0 and 128) but other entries in segment 0.
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), 200);
    let other = wal_testkit::tempdir();
    let wal = Wal::open(other.path(), options()).unwrap();
    append(&wal, 0..200, 1);
    wal.close().unwrap();
    for name in ["0.txnx", "0.idxx"] {
        fs::copy(other.path().join(name), dir.path().join(name)).unwrap();
    }
    // Segment 0 is whole and its index right, and the active segment matches its close
    // record; but its first entry does not chain from the new segment 0's last one.
    match Wal::open(dir.path(), options()) {
        Err(StoreError::NeedsRecovery { segment: 128, .. }) => {}
        other => panic!("expected NeedsRecovery for segment 128, got {other:?}"),
    }
}

#[test]
fn a_close_after_an_open_that_changed_nothing_keeps_the_record_it_opened_from() {
    use std::os::unix::fs::MetadataExt;

    let dir = wal_testkit::tempdir();
    let record = closed_log(dir.path(), 200);
    let path = dir.path().join(CLOSED_FILE_NAME);
    let inode = fs::metadata(&path).unwrap().ino();

    // Reads, a sync and a trim of the sealed segment leave the active segment as the
    // record describes it: the close keeps the file (a rewrite would be a new inode).
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_entries(&wal, &(0..200).map(|o| (o, 0)).collect::<Vec<_>>());
    wal.sync().unwrap();
    assert_eq!(wal.trim_before(128).unwrap(), 1);
    wal.close().unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
    assert_eq!(fs::read(&path).unwrap(), record);

    // The record kept is still believed: the open takes the active segment from it
    // without scanning, so damage in its middle is found by the read, not the open.
    let active = dir.path().join("128.txnx");
    xor_byte(&active, 22 * RECORD_BYTES + 12 + 10, 0x40);
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.first_offset(), 128);
    assert_eq!(wal.next_offset(), 200);
    assert!(matches!(wal.read(150), Err(StoreError::Corrupt { .. })));
    xor_byte(&active, 22 * RECORD_BYTES + 12 + 10, 0x40);
    // A log that found damage never writes a record again (the next open must check
    // everything); a plain open leaves the one it opened from for recovery to judge.
    drop(wal);
    assert_eq!(fs::read(&path).unwrap(), record);

    // A change on the way to the close makes it write a new record for the new end.
    let wal = Wal::open(dir.path(), options()).unwrap();
    append(&wal, 200..201, 1);
    wal.close().unwrap();
    assert_ne!(fs::read(&path).unwrap(), record);
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.next_offset(), 201);
    assert_eq!(wal.read(200).unwrap().payload, payload(200, 1));
}

/// The record only saves the open a scan: one that cannot be read (here a directory in its
/// place) costs that scan, never the open, and is never believed. Its absence or
/// presence is still learned (a failure to stat it is an I/O error), since the store must
/// remove it before the active segment changes.
#[test]
fn a_close_record_that_cannot_be_read_costs_the_open_a_scan() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), 100);
    let wal = Wal::open(dir.path(), options()).unwrap();
    append(&wal, 100..150, 0);
    crash(wal);
    // The appends removed the record; a directory now stands where it was.
    let record = dir.path().join(CLOSED_FILE_NAME);
    assert!(!record.exists());
    fs::create_dir(&record).unwrap();

    let wal = Wal::open(dir.path(), options()).unwrap();
    let expected: Vec<(u64, u8)> = (0..150).map(|o| (o, 0)).collect();
    assert_entries(&wal, &expected);
    append(&wal, 150..151, 1);
    drop(wal);
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.read(150).unwrap().payload, payload(150, 1));
}
