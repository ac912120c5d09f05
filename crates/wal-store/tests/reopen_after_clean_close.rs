//! Reopening: a log closed cleanly reopens with the same entries, position and chain
//! seed, and appends continue where they stopped; a log dropped without `close` (as a
//! killed process leaves it, its pages still in the page cache) reopens cleanly with
//! every synced entry and a prefix of the others.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::collections::BTreeMap;
use std::path::Path;

use common_a::{
    LogModel, append_all, assert_chain, assert_files_match, assert_payloads, entries, file_names,
    options, payload, tempdir,
};
use wal_store::format::Codec;
use wal_store::{Appended, Entry, StoreError, SyncPolicy, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 256;

fn manual() -> WalOptions {
    options(SEGMENT_BYTES).with_sync_policy(SyncPolicy::Manual)
}

fn file_contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    file_names(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn a_closed_log_reopens_with_the_same_entries_and_position() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    let appended = append_all(&wal, 0..150, payload);
    let before = entries(&wal);
    let last_crc = wal.last_crc();
    assert_eq!(last_crc, appended.last().unwrap().crc);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(entries(&wal), before);
    assert_eq!(wal.first_offset(), 0);
    assert_eq!(wal.next_offset(), 150);
    assert_eq!(wal.last_offset(), Some(149));
    assert_eq!(wal.last_synced_offset(), Some(149));
    assert_eq!(wal.last_crc(), last_crc);
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..150, payload);
    let stats = wal.stats();
    assert_eq!(stats.segments, model.segments.len() as u64);
    assert_eq!(stats.rotations, 0);
    assert_eq!(stats.entries_appended, 0);
    assert_files_match(dir.path(), &model);
    wal.close().unwrap();
}

#[test]
fn appends_after_a_reopen_continue_the_offsets_and_the_chain() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    append_all(&wal, 0..150, payload);
    let last_crc = wal.last_crc().unwrap();
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    let appended = append_all(&wal, 150..200, payload);
    assert_eq!(appended[0].offset, 150);
    assert_eq!(wal.read(150).unwrap().prev_crc, Some(last_crc));
    let all = entries(&wal);
    assert_payloads(&all, 0..200, payload);
    assert_chain(&all, 0);
    // The reopened active segment keeps filling before the next rotation.
    assert_files_match(
        dir.path(),
        &LogModel::of(Codec::V2, SEGMENT_BYTES, 0..200, payload),
    );
    wal.close().unwrap();
}

#[test]
fn reopening_again_and_again_keeps_every_entry_and_the_chain() {
    let dir = tempdir();
    let mut next = 0;
    let mut expected_crc = Some(0);
    for round in 0..6 {
        let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
        assert_eq!(wal.next_offset(), next, "round {round}");
        assert_eq!(wal.last_crc(), expected_crc, "round {round}");
        let all = entries(&wal);
        assert_payloads(&all, 0..next, payload);
        assert_chain(&all, 0);
        append_all(&wal, next..next + 37, payload);
        next += 37;
        expected_crc = wal.last_crc();
        wal.close().unwrap();
    }
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    let all = entries(&wal);
    assert_payloads(&all, 0..next, payload);
    assert_chain(&all, 0);
    assert_files_match(
        dir.path(),
        &LogModel::of(Codec::V2, SEGMENT_BYTES, 0..next, payload),
    );
    wal.close().unwrap();
}

#[test]
fn reopening_a_clean_log_changes_no_file() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    append_all(&wal, 0..90, payload);
    wal.close().unwrap();
    let before = file_contents(dir.path());

    for _ in 0..3 {
        let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
        assert_eq!(wal.read(45).unwrap().payload, payload(45));
        wal.close().unwrap();
        assert_eq!(file_contents(dir.path()), before);
    }
}

#[test]
fn a_second_open_of_an_open_log_is_refused() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    append_all(&wal, 0..5, payload);
    assert!(matches!(
        Wal::open(dir.path(), options(SEGMENT_BYTES)),
        Err(StoreError::Locked { .. })
    ));
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.next_offset(), 5);
    wal.close().unwrap();
}

/// Checks a log reopened after a crash: it holds a prefix of `appended` (by offset,
/// payload and crc) that includes every entry up to `synced`, and appends continue.
fn assert_prefix_after_crash(dir: &Path, appended: &[Entry], synced: Option<u64>) {
    let wal = Wal::open(dir, manual()).unwrap();
    let kept = entries(&wal);
    assert!(kept.len() <= appended.len());
    assert_eq!(kept.as_slice(), &appended[..kept.len()], "not a prefix");
    if let Some(synced) = synced {
        assert!(
            kept.len() as u64 > synced,
            "lost synced entry {synced}: kept {}",
            kept.len()
        );
    }
    let next = kept.len() as u64;
    assert_eq!(wal.next_offset(), next);
    assert_eq!(
        wal.last_crc(),
        Some(kept.last().map_or(0, |e| e.crc.unwrap()))
    );
    assert_chain(&kept, 0);
    append_all(&wal, next..next + 10, payload);
    wal.sync().unwrap();
    let all = entries(&wal);
    assert_payloads(&all, 0..next + 10, payload);
    assert_chain(&all, 0);
    wal.close().unwrap();
}

/// The entries `appended` describes, chained from 0.
fn expected_entries(appended: &[Appended]) -> Vec<Entry> {
    let mut prev = 0;
    appended
        .iter()
        .map(|got| {
            let entry = Entry {
                offset: got.offset,
                payload: payload(got.offset),
                prev_crc: Some(prev),
                crc: got.crc,
            };
            prev = got.crc.unwrap();
            entry
        })
        .collect()
}

#[test]
fn a_log_dropped_after_a_manual_sync_reopens_with_every_synced_entry() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), manual()).unwrap();
    let mut appended = append_all(&wal, 0..100, payload);
    wal.sync().unwrap();
    assert_eq!(wal.last_synced_offset(), Some(99));
    // Unsynced entries are not visible to readers (the default visibility).
    appended.extend(append_all(&wal, 100..101, payload));
    assert!(matches!(
        wal.read(100),
        Err(StoreError::OffsetOutOfRange {
            offset: 100,
            next: 100,
            ..
        })
    ));
    appended.extend(append_all(&wal, 101..135, payload));
    let synced = wal.last_synced_offset();
    assert!(synced >= Some(99));
    drop(wal);

    assert_prefix_after_crash(dir.path(), &expected_entries(&appended), synced);
}

#[test]
fn a_log_dropped_without_any_sync_reopens_with_a_prefix_of_its_entries() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), manual()).unwrap();
    let appended = append_all(&wal, 0..70, payload);
    // Rotation makes the sealed segments durable; the active one is not.
    let synced = wal.last_synced_offset();
    assert!(synced.is_some());
    assert!(synced < Some(69));
    drop(wal);

    assert_prefix_after_crash(dir.path(), &expected_entries(&appended), synced);
}

#[test]
fn a_log_dropped_before_its_first_sync_reopens_with_a_prefix_of_its_entries() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), manual()).unwrap();
    // Too few to rotate: nothing of the log is durable.
    let appended = append_all(&wal, 0..3, payload);
    assert_eq!(wal.last_synced_offset(), None);
    assert_eq!(wal.stats().rotations, 0);
    drop(wal);

    assert_prefix_after_crash(dir.path(), &expected_entries(&appended), None);
}

#[test]
fn a_log_dropped_under_group_commit_keeps_every_acknowledged_entry() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    append_all(&wal, 0..80, payload);
    let acknowledged = entries(&wal);
    assert_eq!(wal.last_synced_offset(), Some(79));
    drop(wal);

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(entries(&wal), acknowledged);
    assert_eq!(wal.next_offset(), 80);
    assert_eq!(wal.last_crc(), acknowledged.last().unwrap().crc);
    append_all(&wal, 80..90, payload);
    assert_chain(&entries(&wal), 0);
    wal.close().unwrap();
}

#[test]
fn a_v1_log_reopens_and_continues() {
    let dir = tempdir();
    let v1 = options(SEGMENT_BYTES).with_codec(Codec::V1);
    let wal = Wal::open(dir.path(), v1.clone()).unwrap();
    append_all(&wal, 0..120, payload);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), v1.clone()).unwrap();
    assert_eq!(wal.next_offset(), 120);
    assert_eq!(wal.last_crc(), None);
    let appended = append_all(&wal, 120..160, payload);
    assert!(appended.iter().all(|a| a.crc.is_none()));
    let all = entries(&wal);
    assert_payloads(&all, 0..160, payload);
    assert!(all.iter().all(|e| e.crc.is_none() && e.prev_crc.is_none()));
    assert_files_match(
        dir.path(),
        &LogModel::of(Codec::V1, SEGMENT_BYTES, 0..160, payload),
    );
    wal.close().unwrap();
}
