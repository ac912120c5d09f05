//! The logical trim: `trim_before(offset)` moves the log's start to `offset` itself (inside
//! the active segment, inside a sealed one, or at the end), for every reader at once and
//! after a restart; the entries from the start on are synced first; segments wholly below
//! the start that a crash left are neither read nor checked, whatever their state.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::ops::ControlFlow;
use std::path::Path;

use common_a::{
    append_all, assert_chain, assert_payloads, data_files, entries, options, payload, tempdir,
};
use wal_store::format::Codec;
use wal_store::internal::naming;
use wal_store::internal::seed::{LogStart, read_seed, write_seed};
use wal_store::{Entry, StoreError, SyncPolicy, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 60;

fn filled(dir: &Path, opts: &WalOptions, entries: u64) -> Wal {
    let wal = Wal::open(dir, opts.clone()).unwrap();
    append_all(&wal, 0..entries, payload);
    wal
}

/// Every way of reading refuses what lies below `first`, and starts at it.
fn assert_starts_at(wal: &Wal, first: u64, next: u64) {
    assert_eq!(wal.first_offset(), first);
    assert_eq!(wal.next_offset(), next);
    for offset in [0, first.saturating_sub(1)] {
        if offset < first {
            assert!(
                matches!(
                    wal.read(offset),
                    Err(StoreError::OffsetOutOfRange { first: f, .. }) if f == first
                ),
                "read({offset})"
            );
            assert!(wal.iter_from(offset).is_err(), "iter_from({offset})");
            assert!(
                wal.visit_from(offset, |_| ControlFlow::Continue(()))
                    .is_err(),
                "visit_from({offset})"
            );
        }
    }
    let forward = entries(wal);
    assert_payloads(&forward, first..next, payload);
    let mut backward: Vec<Entry> = wal.iter_rev().collect::<Result<_, _>>().unwrap();
    backward.reverse();
    assert_eq!(backward, forward);
    let mut visited = Vec::new();
    wal.visit_from(first, |e| {
        visited.push(e.offset);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(visited, (first..next).collect::<Vec<_>>());
}

#[test]
fn a_trim_inside_the_active_segment_moves_the_start_there() {
    let dir = tempdir();
    let opts = options(1 << 20);
    let wal = filled(dir.path(), &opts, 10);
    assert_eq!(wal.stats().segments, 1);
    assert_eq!(wal.trim_before(4).unwrap(), 0);
    assert_starts_at(&wal, 4, 10);
    let last_crc = wal.last_crc();
    drop(wal);
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_starts_at(&wal, 4, 10);
    assert_eq!(wal.last_crc(), last_crc);
    append_all(&wal, 10..12, payload);
    assert_starts_at(&wal, 4, 12);
    let kept = entries(&wal);
    assert_chain(&kept, kept[0].prev_crc.unwrap());
    wal.close().unwrap();
}

#[test]
fn a_trim_inside_a_sealed_segment_survives_a_restart() {
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    let wal = filled(dir.path(), &opts, ENTRIES);
    let bases: Vec<u64> = data_files(dir.path()).iter().map(|d| d.0).collect();
    let start = bases[3] + 2;
    assert_eq!(wal.trim_before(start).unwrap(), 3);
    assert_starts_at(&wal, start, ENTRIES);
    wal.close().unwrap();
    for _ in 0..2 {
        let wal = Wal::open(dir.path(), opts.clone()).unwrap();
        assert_starts_at(&wal, start, ENTRIES);
        wal.close().unwrap();
    }
    // The records below the start stay in their segment until it goes.
    let first_file: Vec<u64> = data_files(dir.path()).iter().map(|d| d.0).collect();
    assert_eq!(first_file[0], bases[3]);
}

#[test]
fn a_trim_to_the_end_leaves_an_empty_log_continuing_there() {
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    let wal = filled(dir.path(), &opts, ENTRIES);
    let last_crc = wal.last_crc();
    wal.trim_before(ENTRIES).unwrap();
    assert_starts_at(&wal, ENTRIES, ENTRIES);
    assert_eq!(wal.last_offset(), None);
    assert_eq!(data_files(dir.path()).len(), 1);
    drop(wal);
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_starts_at(&wal, ENTRIES, ENTRIES);
    assert_eq!(wal.last_crc(), last_crc);
    let appended = wal.append(&payload(ENTRIES)).unwrap();
    assert_eq!(appended.offset, ENTRIES);
    assert_eq!(wal.read(ENTRIES).unwrap().prev_crc, last_crc);
    wal.close().unwrap();
}

#[test]
fn a_trim_past_the_end_is_refused_with_a_typed_error() {
    let dir = tempdir();
    let wal = filled(dir.path(), &options(SEGMENT_BYTES), 5);
    for offset in [6, 100, u64::MAX] {
        assert!(matches!(
            wal.trim_before(offset),
            Err(StoreError::OffsetOutOfRange { offset: o, first: 0, next: 5, .. }) if o == offset
        ));
    }
    assert_starts_at(&wal, 0, 5);
    assert_eq!(read_seed(dir.path()).unwrap(), Some(LogStart::at(0, 0)));
    wal.close().unwrap();
}

#[test]
fn a_trim_makes_the_entries_from_its_start_durable_first() {
    let dir = tempdir();
    let opts = options(1 << 20).with_sync_policy(SyncPolicy::Manual);
    let wal = filled(dir.path(), &opts, 10);
    assert_eq!(wal.last_synced_offset(), None);
    let syncs = wal.stats().syncs;
    wal.trim_before(6).unwrap();
    assert_eq!(wal.stats().syncs, syncs + 1);
    assert_eq!(wal.last_synced_offset(), Some(9));
    // Below the start, or at it: nothing to record, nothing synced.
    wal.append(b"x").unwrap();
    wal.trim_before(6).unwrap();
    wal.trim_before(2).unwrap();
    assert_eq!(wal.stats().syncs, syncs + 1);
    wal.close().unwrap();
}

#[test]
fn segments_a_crash_left_below_the_start_are_never_checked() {
    // A trim that crashed after recording its start, before removing the segments
    // below it: they stay, and their damage does not matter.
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    filled(dir.path(), &opts, ENTRIES).close().unwrap();
    let bases: Vec<u64> = data_files(dir.path()).iter().map(|d| d.0).collect();
    let start = bases[4] + 1;
    let prev_crc = {
        let wal = Wal::open(dir.path(), opts.clone()).unwrap();
        wal.read(start).unwrap().prev_crc.unwrap()
    };
    write_seed(dir.path(), LogStart::at(start, prev_crc)).unwrap();
    // Damage below the start: a data file cut short, an index gone, garbage.
    std::fs::write(naming::data_path(dir.path(), bases[0], Codec::V2), b"junk").unwrap();
    std::fs::remove_file(naming::index_path(dir.path(), bases[2], Codec::V2)).unwrap();
    wal_testkit::damage::flip_byte(&naming::data_path(dir.path(), bases[3], Codec::V2), 20);

    let wal = Wal::open(dir.path(), opts.clone()).unwrap();
    assert_starts_at(&wal, start, ENTRIES);
    // Appends (which check every deferred segment first) and truncations go on.
    append_all(&wal, ENTRIES..ENTRIES + 3, payload);
    wal.truncate_after(ENTRIES).unwrap();
    assert_starts_at(&wal, start, ENTRIES + 1);
    // The next trim removes them.
    assert_eq!(wal.trim_before(start).unwrap(), 4);
    assert_eq!(data_files(dir.path())[0].0, bases[4]);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_starts_at(&wal, start, ENTRIES + 1);
    wal.close().unwrap();
}

#[test]
fn the_sealed_segment_before_the_active_one_is_not_checked_when_below_the_start() {
    // The open checks the active segment and the sealed one before it, unless that one
    // is wholly below the start.
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    filled(dir.path(), &opts, ENTRIES).close().unwrap();
    let bases: Vec<u64> = data_files(dir.path()).iter().map(|d| d.0).collect();
    let active = *bases.last().unwrap();
    let before = bases[bases.len() - 2];
    let prev_crc = {
        let wal = Wal::open(dir.path(), opts.clone()).unwrap();
        wal.read(active).unwrap().prev_crc.unwrap()
    };
    write_seed(dir.path(), LogStart::at(active, prev_crc)).unwrap();
    std::fs::remove_file(naming::index_path(dir.path(), before, Codec::V2)).unwrap();
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_starts_at(&wal, active, ENTRIES);
    append_all(&wal, ENTRIES..ENTRIES + 1, payload);
    assert_eq!(wal.trim_before(active).unwrap(), bases.len() - 1);
    wal.close().unwrap();
}

#[test]
fn a_start_whose_seed_disagrees_with_its_record_is_refused() {
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    let wal = filled(dir.path(), &opts, ENTRIES);
    wal.trim_before(13).unwrap();
    wal.close().unwrap();
    let kept = read_seed(dir.path()).unwrap().unwrap();
    assert_eq!(kept.offset, 13);
    write_seed(dir.path(), LogStart::at(13, kept.crc ^ 1)).unwrap();
    match Wal::open(dir.path(), opts.clone()) {
        Err(StoreError::Layout { detail, .. }) => assert!(detail.contains("SEED"), "{detail}"),
        other => panic!("expected a Layout error, got {other:?}"),
    }
    // At the end of the log, against the last record's crc.
    write_seed(dir.path(), LogStart::at(ENTRIES, kept.crc)).unwrap();
    assert!(matches!(
        Wal::open(dir.path(), opts),
        Err(StoreError::Layout { .. })
    ));
}

#[test]
fn a_truncation_to_nothing_keeps_the_logical_start_and_its_seed() {
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    let wal = filled(dir.path(), &opts, ENTRIES);
    let start = 23;
    wal.trim_before(start).unwrap();
    let seed = wal.read(start).unwrap().prev_crc.unwrap();
    wal.truncate_after(start - 1).unwrap();
    assert_starts_at(&wal, start, start);
    assert_eq!(wal.last_crc(), Some(seed));
    drop(wal);
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_starts_at(&wal, start, start);
    assert_eq!(wal.append(&payload(start)).unwrap().offset, start);
    assert_eq!(wal.read(start).unwrap().prev_crc, Some(seed));
    wal.close().unwrap();
}

#[test]
fn a_v1_log_keeps_its_logical_start_without_a_chain() {
    // No crc to chain from: the seed file records the start (with seed 0) all the same.
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES).with_codec(Codec::V1);
    let wal = filled(dir.path(), &opts, ENTRIES);
    wal.trim_before(31).unwrap();
    assert_starts_at(&wal, 31, ENTRIES);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_starts_at(&wal, 31, ENTRIES);
    assert_eq!(wal.append(b"v1").unwrap().crc, None);
    wal.close().unwrap();
}
