//! A long visit has the crcs of the records ahead checked on another core: every entry is
//! still handed out in order, exactly as written, and damage in any segment (records the
//! helper checks, or ones the visit checks itself; sealed segments and the active one)
//! stops the visit at the damaged entry with `Corrupt`, after every entry before it.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::ops::ControlFlow;
use std::path::Path;

use common_a::tempdir;
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};
use wal_testkit::damage::xor_byte;

/// Segments of 4 MiB, entries of 64 KiB: 63 entries per segment, 9 segments (enough bytes
/// for the visit to check ahead).
const SEGMENT_BYTES: u32 = 4 << 20;
const PAYLOAD_BYTES: usize = 64 << 10;
const ENTRIES: u64 = 63 * 8 + 10;

fn options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_max_entry_bytes(PAYLOAD_BYTES)
        .with_sync_policy(SyncPolicy::Manual)
}

fn payload(offset: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; PAYLOAD_BYTES];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&(offset * 1_000_003 + i as u64).to_le_bytes());
    }
    bytes
}

fn build(dir: &Path) {
    let wal = Wal::open(dir, options()).unwrap();
    for offset in 0..ENTRIES {
        assert_eq!(wal.append(&payload(offset)).unwrap().offset, offset);
    }
    wal.close().unwrap();
}

/// Visits from `from`, checking each payload; returns the offsets visited and the result.
fn visit(wal: &Wal, from: u64) -> (Vec<u64>, Result<u64, StoreError>) {
    let mut seen = Vec::new();
    let result = wal.visit_from(from, |entry| {
        assert_eq!(
            entry.payload,
            payload(entry.offset),
            "entry {}",
            entry.offset
        );
        seen.push(entry.offset);
        ControlFlow::Continue(())
    });
    (seen, result)
}

/// Flips a bit of byte `at` of the payload of record `record` (counted from 0) of the
/// segment `(base, codec)`; returns what puts it back.
fn flip_payload_byte(
    dir: &Path,
    (base, codec): (u64, wal_store::format::Codec),
    record: u64,
    at: u64,
) -> impl FnOnce() {
    let path = wal_store::internal::naming::data_path(dir, base, codec);
    let at = usize::try_from(record * (PAYLOAD_BYTES as u64 + 12) + 12 + at).unwrap();
    // In place, as the log has the file mapped; a second xor puts the byte back.
    xor_byte(&path, at, 0x40);
    move || xor_byte(&path, at, 0x40)
}

#[test]
fn a_long_visit_hands_out_every_entry_in_order() {
    let dir = tempdir();
    build(dir.path());
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert!(wal_store::list_segments(dir.path()).unwrap().len() >= 9);
    for from in [0, 1, 62, 63, 64, 200, ENTRIES - 1, ENTRIES] {
        let (seen, result) = visit(&wal, from);
        assert_eq!(result.unwrap(), ENTRIES);
        assert_eq!(seen, (from..ENTRIES).collect::<Vec<u64>>());
    }
}

#[test]
fn a_visit_that_stops_early_returns_where_it_stopped() {
    let dir = tempdir();
    build(dir.path());
    let wal = Wal::open(dir.path(), options()).unwrap();
    for stop_at in [0, 5, 63, 130, 400] {
        let mut seen = 0;
        let reached = wal
            .visit_from(0, |entry| {
                seen += 1;
                if entry.offset == stop_at {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert_eq!((reached, seen), (stop_at + 1, stop_at + 1));
    }
}

#[test]
fn damage_in_any_sealed_segment_stops_the_visit_at_the_damaged_entry() {
    let dir = tempdir();
    build(dir.path());
    let segments = wal_store::list_segments(dir.path()).unwrap();
    // Every sealed segment in turn (the helper checks most records, the visit the rest).
    for &(base, codec) in segments.iter().take(segments.len() - 1) {
        let damaged = base + 17;
        // The 18th record of the segment: a byte inside its payload.
        let restore = flip_payload_byte(dir.path(), (base, codec), 17, 100);

        let wal = Wal::open(dir.path(), options()).unwrap();
        let (seen, result) = visit(&wal, 0);
        match result {
            Err(StoreError::Corrupt { offset, .. }) => assert_eq!(offset, damaged),
            other => panic!("damage at {damaged}: the visit returned {other:?}"),
        }
        assert_eq!(seen, (0..damaged).collect::<Vec<u64>>());
        // Visits that start after the damage are not affected.
        let (seen, result) = visit(&wal, damaged + 1);
        assert_eq!(result.unwrap(), ENTRIES);
        assert_eq!(seen.len() as u64, ENTRIES - damaged - 1);
        wal.close().unwrap();

        restore();
    }
}

#[test]
fn damage_in_the_active_segment_stops_the_visit_at_the_damaged_entry() {
    // The helper checks the active segment's visible records too.
    let dir = tempdir();
    build(dir.path());
    let segments = wal_store::list_segments(dir.path()).unwrap();
    let &(base, codec) = segments.last().unwrap();
    assert_eq!(ENTRIES - base, 10, "layout of the test log");
    let damaged = base + 6;
    let _left_damaged = flip_payload_byte(dir.path(), (base, codec), 6, 4000);

    // After the clean close the open trusts the active segment through its close record;
    // the visit checks each record it hands out.
    let wal = Wal::open(dir.path(), options()).unwrap();
    for from in [0, base, damaged] {
        let (seen, result) = visit(&wal, from);
        match result {
            Err(StoreError::Corrupt { offset, .. }) => assert_eq!(offset, damaged),
            other => panic!("damage at {damaged}: the visit from {from} returned {other:?}"),
        }
        assert_eq!(seen, (from..damaged).collect::<Vec<u64>>());
    }
    let (seen, result) = visit(&wal, damaged + 1);
    assert_eq!(result.unwrap(), ENTRIES);
    assert_eq!(seen, (damaged + 1..ENTRIES).collect::<Vec<u64>>());
}
