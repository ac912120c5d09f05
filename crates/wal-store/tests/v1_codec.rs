//! A log written with the v1 codec (`.txn` data, `.idx` index, no crc) rotates, reopens
//! and truncates like a v2 one; and a directory of v1 segments opened with the default
//! (v2) codec goes on appending to its active v1 segment until it rotates, then starts
//! `.txnx` segments, with everything readable and reopenable.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows unwrap only inside #[test] functions)"
)]

mod common_b;

use std::collections::BTreeSet;
use std::path::Path;

use common_b::{contents, file_names};
use wal_store::format::{Codec, IndexView, crc};
use wal_store::{Entry, Wal, WalOptions};

/// 12-byte payloads: a v1 record takes 16 bytes, so a 128-byte segment holds 8 entries;
/// a v2 record takes 24 bytes, so it holds 5.
const SEGMENT_BYTES: u32 = 128;

fn v1_options() -> WalOptions {
    WalOptions::default()
        .with_codec(Codec::V1)
        .with_segment_bytes(SEGMENT_BYTES)
}

fn v2_options() -> WalOptions {
    WalOptions::default().with_segment_bytes(SEGMENT_BYTES)
}

fn payload(offset: u64) -> Vec<u8> {
    let payload = wal_testkit::payload::labelled(offset, 6);
    assert_eq!(payload.len(), 12);
    payload
}

fn expected(offsets: std::ops::Range<u64>) -> Vec<(u64, Vec<u8>)> {
    offsets.map(|o| (o, payload(o))).collect()
}

fn assert_files(dir: &Path, expected: &[&str]) {
    let found: BTreeSet<String> = file_names(dir).into_iter().collect();
    let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(found, expected);
}

fn all_entries(wal: &Wal) -> Vec<Entry> {
    wal.iter().map(|e| e.unwrap()).collect()
}

/// Appends the entries `offsets`, checking each offset and whether it got a crc.
fn append_range(wal: &Wal, offsets: std::ops::Range<u64>, with_crc: bool) {
    for offset in offsets {
        let appended = wal.append(&payload(offset)).unwrap();
        assert_eq!(appended.offset, offset);
        assert_eq!(appended.crc.is_some(), with_crc, "entry {offset}");
    }
}

#[test]
fn v1_log_writes_txn_and_idx_rotates_reopens_and_truncates() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    append_range(&wal, 0..30, false);
    assert_eq!(wal.stats().rotations, 3);
    assert_files(
        dir.path(),
        &[
            "0.txn", "0.idx", "8.txn", "8.idx", "16.txn", "16.idx", "24.txn", "LOCK",
        ],
    );
    // v1 on disk: a big-endian size, then the payload.
    let data = std::fs::read(dir.path().join("8.txn")).unwrap();
    assert_eq!(&data[..4], &[0, 0, 0, 12]);
    assert_eq!(&data[4..16], payload(8).as_slice());
    assert_eq!(&data[16..20], &[0, 0, 0, 12]);
    // A v1 index: the file offset of every record, nothing else.
    let index = std::fs::read(dir.path().join("8.idx")).unwrap();
    let view = IndexView::parse(Codec::V1, &index).unwrap();
    let offsets: Vec<u32> = view.iter().map(|o| o.0).collect();
    assert_eq!(offsets, [0, 16, 32, 48, 64, 80, 96, 112]);
    assert_eq!(index.len(), 32);

    assert_eq!(contents(&wal), expected(0..30));
    for entry in all_entries(&wal) {
        assert_eq!(
            (entry.prev_crc, entry.crc),
            (None, None),
            "entry {}",
            entry.offset
        );
    }
    let newest_first: Vec<u64> = wal.iter_rev().map(|e| e.unwrap().offset).collect();
    assert_eq!(newest_first, (0..30).rev().collect::<Vec<_>>());
    assert_eq!(wal.last_crc(), None);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    assert_eq!(wal.next_offset(), 30);
    assert_eq!(contents(&wal), expected(0..30));
    assert_eq!(wal.read(17).unwrap().crc, None);

    // Back into the second segment: it becomes the active one again.
    wal.truncate_after(10).unwrap();
    assert_files(dir.path(), &["0.txn", "0.idx", "8.txn", "LOCK"]);
    assert_eq!(contents(&wal), expected(0..11));
    assert_eq!(wal.last_crc(), None);
    append_range(&wal, 11..21, false);
    assert_files(
        dir.path(),
        &["0.txn", "0.idx", "8.txn", "8.idx", "16.txn", "LOCK"],
    );
    assert_eq!(contents(&wal), expected(0..21));
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    assert_eq!(contents(&wal), expected(0..21));
    append_range(&wal, 21..22, false);
    assert_eq!(wal.read(21).unwrap().payload, payload(21));
    for entry in all_entries(&wal) {
        assert_eq!(
            (entry.prev_crc, entry.crc),
            (None, None),
            "entry {}",
            entry.offset
        );
    }
}

#[test]
fn default_codec_continues_a_v1_directory() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    append_range(&wal, 0..20, false);
    wal.close().unwrap();
    assert_files(
        dir.path(),
        &["0.txn", "0.idx", "8.txn", "8.idx", "16.txn", "LOCK"],
    );

    let wal = Wal::open(dir.path(), v2_options()).unwrap();
    assert_eq!(wal.last_crc(), None);
    // The active v1 segment (16..=19) has room for four more v1 records.
    append_range(&wal, 20..24, false);
    assert_files(
        dir.path(),
        &["0.txn", "0.idx", "8.txn", "8.idx", "16.txn", "LOCK"],
    );
    let data = std::fs::read(dir.path().join("16.txn")).unwrap();
    assert_eq!(&data[64..68], &[0, 0, 0, 12]);
    assert_eq!(&data[68..80], payload(20).as_slice());

    // The next one rotates into the first v2 segment.
    append_range(&wal, 24..36, true);
    assert_files(
        dir.path(),
        &[
            "0.txn", "0.idx", "8.txn", "8.idx", "16.txn", "16.idx", "24.txnx", "24.idxx",
            "29.txnx", "29.idxx", "34.txnx", "LOCK",
        ],
    );
    let check = |wal: &Wal| {
        assert_eq!(contents(wal), expected(0..36));
        let entries = all_entries(wal);
        for entry in &entries[..24] {
            assert_eq!(
                (entry.prev_crc, entry.crc),
                (None, None),
                "entry {}",
                entry.offset
            );
        }
        // After v1 there is no crc to continue from: the chain starts from 0.
        assert_eq!(entries[24].prev_crc, Some(0));
        for pair in entries[24..].windows(2) {
            assert_eq!(pair[1].prev_crc, pair[0].crc, "entry {}", pair[1].offset);
        }
        for entry in &entries[24..] {
            let prev = entry.prev_crc.unwrap();
            assert_eq!(
                entry.crc,
                Some(crc::chain(prev, &entry.payload)),
                "entry {}",
                entry.offset
            );
        }
        entries
    };
    let entries = check(&wal);
    assert_eq!(wal.last_crc(), entries[35].crc);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), v2_options()).unwrap();
    let entries = check(&wal);
    assert_eq!(wal.last_crc(), entries[35].crc);
    append_range(&wal, 36..37, true);
    assert_eq!(wal.read(36).unwrap().prev_crc, entries[35].crc);
    wal.close().unwrap();

    // The mixed directory opens with the v1 codec too (its new segments would be v1).
    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    assert_eq!(contents(&wal), expected(0..37));
}
