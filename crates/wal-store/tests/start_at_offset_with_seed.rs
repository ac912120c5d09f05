//! A log that starts mid-stream (a replica restored from a snapshot): its first entry
//! gets the configured offset and chains from the configured seed, its files are named
//! from that offset, and a reopen keeps both, with or without entries.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use common_a::{
    LogModel, append_all, assert_chain, assert_files_match, assert_payloads, entries, file_names,
    options, payload, tempdir,
};
use wal_store::format::{Codec, crc};
use wal_store::{StoreError, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 256;
const FIRST: u64 = 1000;
const SEED: u32 = 0xDEAD_BEEF;

fn seeded() -> WalOptions {
    options(SEGMENT_BYTES)
        .with_first_offset(FIRST)
        .with_seed_crc(SEED)
}

#[test]
fn a_new_log_starts_at_the_configured_offset_with_the_seed() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    assert_eq!(wal.first_offset(), FIRST);
    assert_eq!(wal.next_offset(), FIRST);
    assert_eq!(wal.last_offset(), None);
    assert_eq!(wal.last_synced_offset(), None);
    assert_eq!(wal.last_crc(), Some(SEED));
    assert_eq!(file_names(dir.path()), ["1000.txnx"]);
    let size = std::fs::metadata(dir.path().join("1000.txnx"))
        .unwrap()
        .len();
    assert_eq!(size, wal_store::format::data_file_bytes(SEGMENT_BYTES));

    let data = payload(FIRST);
    let appended = wal.append(&data).unwrap();
    assert_eq!(appended.offset, FIRST);
    assert_eq!(appended.crc, Some(crc::chain(SEED, &data)));
    let entry = wal.read(FIRST).unwrap();
    assert_eq!(entry.offset, FIRST);
    assert_eq!(entry.payload, data);
    assert_eq!(entry.prev_crc, Some(SEED));
    assert_eq!(entry.crc, appended.crc);
    assert_eq!(wal.last_offset(), Some(FIRST));
    assert_eq!(wal.last_synced_offset(), Some(FIRST));
    assert!(matches!(
        wal.read(FIRST - 1),
        Err(StoreError::OffsetOutOfRange {
            offset: 999,
            first: FIRST,
            next: 1001,
            ..
        })
    ));
    assert!(matches!(
        wal.read(0),
        Err(StoreError::OffsetOutOfRange {
            offset: 0,
            first: FIRST,
            ..
        })
    ));
    wal.close().unwrap();
}

#[test]
fn segments_after_the_first_are_named_from_the_configured_offset() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    append_all(&wal, FIRST..FIRST + 120, payload);
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, FIRST..FIRST + 120, payload);
    assert!(model.segments.len() > 10);
    assert_eq!(model.bases()[0], FIRST);
    assert_files_match(dir.path(), &model);
    let all = entries(&wal);
    assert_payloads(&all, FIRST..FIRST + 120, payload);
    assert_chain(&all, SEED);
    let from: Vec<_> = wal
        .iter_from(FIRST + 60)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(from.as_slice(), &all[60..]);
    wal.close().unwrap();
}

#[test]
fn the_chain_continues_after_a_reopen() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    append_all(&wal, FIRST..FIRST + 50, payload);
    let last_crc = wal.last_crc();
    wal.close().unwrap();

    // Once the log has entries, its files say where it starts: the options' start and
    // seed (here the defaults, 0 and 0) are not used.
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), FIRST);
    assert_eq!(wal.next_offset(), FIRST + 50);
    assert_eq!(wal.last_crc(), last_crc);
    append_all(&wal, FIRST + 50..FIRST + 80, payload);
    assert_eq!(wal.read(FIRST + 50).unwrap().prev_crc, last_crc);
    let all = entries(&wal);
    assert_payloads(&all, FIRST..FIRST + 80, payload);
    assert_chain(&all, SEED);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), seeded()).unwrap();
    assert_eq!(entries(&wal), all);
    wal.close().unwrap();
}

#[test]
fn an_empty_log_reopens_at_its_named_offset() {
    let dir = tempdir();
    Wal::open(dir.path(), seeded()).unwrap().close().unwrap();

    // The name of the one (empty) segment says where the log starts, whatever the
    // options say, and the seed file what it chains from (the options say 0).
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), FIRST);
    assert_eq!(wal.next_offset(), FIRST);
    assert_eq!(wal.last_offset(), None);
    assert_eq!(wal.last_crc(), Some(SEED));
    assert_eq!(file_names(dir.path()), ["1000.txnx"]);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), seeded()).unwrap();
    assert_eq!(wal.next_offset(), FIRST);
    assert_eq!(wal.last_crc(), Some(SEED));
    let appended = wal.append(&payload(FIRST)).unwrap();
    assert_eq!(appended.offset, FIRST);
    assert_eq!(wal.read(FIRST).unwrap().prev_crc, Some(SEED));
    wal.close().unwrap();
}

#[test]
fn an_empty_log_dropped_without_close_reopens_at_its_named_offset() {
    let dir = tempdir();
    drop(Wal::open(dir.path(), seeded()).unwrap());
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), FIRST);
    assert_eq!(wal.next_offset(), FIRST);
    wal.close().unwrap();
}

#[test]
fn a_log_may_start_one_before_the_largest_offset() {
    let dir = tempdir();
    let last = u64::MAX - 1;
    let at_the_end = seeded().with_first_offset(last);
    let wal = Wal::open(dir.path(), at_the_end.clone()).unwrap();
    assert_eq!(wal.append(b"the-last-entry").unwrap().offset, last);
    assert!(matches!(
        wal.append(b"one-too-many"),
        Err(StoreError::OffsetOutOfRange {
            offset: u64::MAX,
            ..
        })
    ));
    assert_eq!(file_names(dir.path()), [format!("{last}.txnx")]);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), at_the_end).unwrap();
    assert_eq!(wal.next_offset(), u64::MAX);
    assert_eq!(wal.read(last).unwrap().payload, b"the-last-entry");
    assert_eq!(wal.read(last).unwrap().prev_crc, Some(SEED));
    wal.close().unwrap();

    let nowhere = seeded().with_first_offset(u64::MAX);
    assert!(matches!(
        Wal::open(tempdir().path().join("log"), nowhere),
        Err(StoreError::InvalidOption {
            name: "first_offset",
            ..
        })
    ));
}

#[test]
fn a_v1_log_starts_at_the_configured_offset_without_crcs() {
    let dir = tempdir();
    let v1 = seeded().with_codec(Codec::V1);
    let wal = Wal::open(dir.path(), v1.clone()).unwrap();
    let appended = append_all(&wal, FIRST..FIRST + 60, payload);
    assert!(appended.iter().all(|a| a.crc.is_none()));
    assert_files_match(
        dir.path(),
        &LogModel::of(Codec::V1, SEGMENT_BYTES, FIRST..FIRST + 60, payload),
    );
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), v1).unwrap();
    assert_eq!(wal.first_offset(), FIRST);
    assert_eq!(wal.next_offset(), FIRST + 60);
    let all = entries(&wal);
    assert_payloads(&all, FIRST..FIRST + 60, payload);
    assert!(all.iter().all(|e| e.prev_crc.is_none() && e.crc.is_none()));
    wal.close().unwrap();
}
