//! Data files have the length other implementations of the format give them: the
//! reference implementation creates a data file by writing one zero byte at file offset
//! `segment size`, so its files are one byte longer than the segment size, and it never
//! writes a record past the segment size (it maps exactly that much of the last segment).
//! New files here have that length, records end within the segment size, and files of
//! either length keep opening and taking appends.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::path::Path;

use common_a::{assert_payloads, entries, payload, tempdir};
use wal_store::format::{Codec, Scanner};
use wal_store::internal::naming;
use wal_store::{Wal, WalOptions, list_segments};

const SEGMENT_BYTES: u32 = 4096;
/// The length the reference implementation gives a data file of such a segment (stated
/// here, not taken from the library, so that the test checks the library).
const REFERENCE_FILE_BYTES: u64 = SEGMENT_BYTES as u64 + 1;

fn options(codec: Codec) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_codec(codec)
}

/// Every data file of `dir`: its length, and where its records end.
fn data_files(dir: &Path) -> Vec<(u64, u64, usize)> {
    list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|(base, codec)| {
            let bytes = std::fs::read(naming::data_path(dir, base, codec)).unwrap();
            let mut scanner = Scanner::new(codec, &bytes);
            scanner.by_ref().count();
            (base, bytes.len() as u64, scanner.valid_len().0 as usize)
        })
        .collect()
}

/// Every data file is one byte longer than the segment size and its records end within
/// the segment size (the byte after it is zero).
fn assert_reference_lengths(dir: &Path) {
    let files = data_files(dir);
    assert!(!files.is_empty());
    for (base, len, records_end) in files {
        assert_eq!(len, REFERENCE_FILE_BYTES, "length of segment {base}");
        assert!(
            records_end <= SEGMENT_BYTES as usize,
            "segment {base}: records end at {records_end}"
        );
    }
}

#[test]
fn new_data_files_are_one_byte_longer_than_the_segment_size() {
    for codec in [Codec::V2, Codec::V1] {
        let dir = tempdir();
        let wal = Wal::open(dir.path(), options(codec)).unwrap();
        assert_reference_lengths(dir.path());
        // Payloads of 116 bytes: v2 records of exactly 128 bytes fill a segment to its
        // last byte before the extra one, and rotations follow.
        let exact = |_offset: u64| vec![0x5a; 116];
        for offset in 0..100 {
            assert_eq!(wal.append(&exact(offset)).unwrap().offset, offset);
        }
        assert!(wal.stats().rotations >= 2, "{codec}");
        assert_reference_lengths(dir.path());
        if codec == Codec::V2 {
            let full = data_files(dir.path())[0];
            assert_eq!(full.2, SEGMENT_BYTES as usize, "the first segment is full");
        }
        wal.clear().unwrap();
        assert_reference_lengths(dir.path());
        wal.close().unwrap();
    }
}

/// The case: a v1 segment of 66 bytes with 3 spare bytes after its 9 records of 7
/// bytes. The reference implementation's index rebuild reads a 4-byte size there without
/// checking the bytes left: the extra zero byte makes it read an end marker.
#[test]
fn a_v1_segment_with_three_spare_bytes_is_followed_by_a_whole_end_marker() {
    let dir = tempdir();
    let wal = Wal::open(
        dir.path(),
        WalOptions::default()
            .with_segment_bytes(66)
            .with_codec(Codec::V1),
    )
    .unwrap();
    for offset in 0..12 {
        wal.append(&[b'a' + u8::try_from(offset).unwrap(); 3])
            .unwrap();
    }
    wal.close().unwrap();
    let sealed = std::fs::read(naming::data_path(dir.path(), 0, Codec::V1)).unwrap();
    assert_eq!(sealed.len(), 67);
    assert_eq!(
        sealed[63..],
        [0, 0, 0, 0],
        "a whole zero size after the records"
    );
    assert!(dir.path().join("9.txn").exists());
}

/// Files made here before were exactly the segment size: they open, take appends until
/// their records reach the end, and the log rotates into files of the new length.
#[test]
fn files_of_exactly_the_segment_size_keep_opening_and_appending() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    for offset in 0..10 {
        wal.append(&payload(offset)).unwrap();
    }
    wal.close().unwrap();
    let active = naming::data_path(dir.path(), 0, Codec::V2);
    wal_testkit::damage::set_len(&active, u64::from(SEGMENT_BYTES));

    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    for offset in 10..200 {
        assert_eq!(wal.append(&payload(offset)).unwrap().offset, offset);
    }
    assert_payloads(&entries(&wal), 0..200, payload);
    wal.close().unwrap();
    let files = data_files(dir.path());
    let (first, rest) = files.split_first().unwrap();
    assert_eq!(
        first.1,
        u64::from(SEGMENT_BYTES),
        "the old file keeps its length"
    );
    assert!(first.2 <= SEGMENT_BYTES as usize);
    assert!(!rest.is_empty());
    for &(base, len, records_end) in rest {
        assert_eq!(len, REFERENCE_FILE_BYTES, "segment {base}");
        assert!(records_end <= SEGMENT_BYTES as usize);
    }
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    assert_payloads(&entries(&wal), 0..200, payload);
    wal.close().unwrap();
}

/// A file longer than the segment size (made by a writer configured for larger
/// segments): records still stop at the segment size the log is opened with.
#[test]
fn records_stop_at_the_segment_size_in_a_longer_file() {
    let dir = tempdir();
    let larger = options(Codec::V2).with_segment_bytes(2 * SEGMENT_BYTES);
    Wal::open(dir.path(), larger).unwrap().close().unwrap();
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    for offset in 0..200 {
        wal.append(&payload(offset)).unwrap();
    }
    wal.close().unwrap();
    for (base, _, records_end) in data_files(dir.path()) {
        assert!(
            records_end <= SEGMENT_BYTES as usize,
            "segment {base}: records end at {records_end}"
        );
    }
}
