//! A plain open checks the active segment and the sealed segment before it; every older
//! sealed segment is opened at its first use, with the same checks (index crc and order,
//! first and last records, as many entries as the layout says) plus the link from its
//! last record to the next segment's first. Damage an open no longer sees is refused by
//! the first read, iteration, visit or truncation that needs the segment, with a typed
//! error, and never handed out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use wal_store::format::{Codec, FileOffset};
use wal_store::internal::naming;
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};
use wal_testkit::damage::xor_byte;
use wal_testkit::segment::encode_index;

/// 20-byte payloads; segments hold 128 records of them.
const PAYLOAD_BYTES: usize = 20;
const PER_SEGMENT: u64 = 128;
/// Segments 0, 128, 256, 384 and 512 sealed, 640 active. A plain open defers the first
/// four.
const ENTRIES: u64 = 700;

fn options(codec: Codec) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(
            u32::try_from(PER_SEGMENT * (codec.header_bytes() + PAYLOAD_BYTES) as u64).unwrap(),
        )
        .with_sync_policy(SyncPolicy::Manual)
        .with_codec(codec)
}

fn payload(offset: u64, generation: u8) -> Vec<u8> {
    wal_testkit::payload::tagged(offset, generation, PAYLOAD_BYTES)
}

/// A log of [`ENTRIES`] entries of `generation`, closed cleanly.
fn closed_log(dir: &Path, codec: Codec, generation: u8) {
    let wal = Wal::open(dir, options(codec)).unwrap();
    for offset in 0..ENTRIES {
        wal.append(&payload(offset, generation)).unwrap();
    }
    wal.close().unwrap();
    let bases: Vec<u64> = wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|(base, _)| base)
        .collect();
    assert_eq!(
        bases,
        [0, 128, 256, 384, 512, 640],
        "layout of the test log"
    );
}

fn index_path(dir: &Path, base: u64, codec: Codec) -> PathBuf {
    naming::index_path(dir, base, codec)
}

fn assert_reads(wal: &Wal, offsets: impl IntoIterator<Item = u64>, generation: u8) {
    for offset in offsets {
        let entry = wal
            .read(offset)
            .unwrap_or_else(|e| panic!("entry {offset}: {e:?}"));
        assert_eq!(entry.payload, payload(offset, generation), "entry {offset}");
    }
}

/// Whether `error` refuses segment `base` as damaged (a layout error or a record to
/// recover).
fn refuses(error: &StoreError, base: u64) -> bool {
    matches!(error,
        StoreError::Layout { segment, .. } | StoreError::NeedsRecovery { segment, .. }
            if *segment == base)
}

/// The first error of an iteration from 0, with the offset it came after.
fn first_iteration_error(wal: &Wal) -> (u64, StoreError) {
    let mut read = 0;
    for entry in wal.iter() {
        match entry {
            Ok(entry) => {
                assert_eq!(entry.offset, read);
                read += 1;
            }
            Err(e) => return (read, e),
        }
    }
    panic!("the iteration read all {read} entries without an error");
}

/// What a visit from 0 reached before it failed.
fn visit_error(wal: &Wal) -> (u64, StoreError) {
    let mut visited = 0;
    let outcome = wal.visit_from(0, |entry| {
        assert_eq!(entry.offset, visited);
        visited += 1;
        ControlFlow::Continue(())
    });
    (
        visited,
        outcome.expect_err("the visit read a damaged segment"),
    )
}

#[test]
fn a_damaged_index_of_an_old_segment_is_refused_at_its_first_use() {
    for codec in [Codec::V2, Codec::V1] {
        let dir = wal_testkit::tempdir();
        closed_log(dir.path(), codec, 0);
        let index = index_path(dir.path(), 128, codec);
        let len = fs::read(&index).unwrap().len();
        // v2: a byte of the crc; v1 (no crc): the high byte of the last offset (big-endian),
        // which then points past the data.
        xor_byte(&index, if codec == Codec::V2 { 0 } else { len - 4 }, 0x01);

        let wal = Wal::open(dir.path(), options(codec)).unwrap();
        assert_eq!(wal.next_offset(), ENTRIES, "{codec}");
        assert_reads(&wal, [0, 127, 256, 511, 512, 699], 0);
        for _ in 0..2 {
            let error = wal.read(130).unwrap_err();
            assert!(refuses(&error, 128), "{codec}: {error:?}");
        }
        let (read, error) = first_iteration_error(&wal);
        assert_eq!(read, 128, "{codec}");
        assert!(refuses(&error, 128), "{codec}: {error:?}");
        let (visited, error) = visit_error(&wal);
        assert_eq!(visited, 128, "{codec}");
        assert!(refuses(&error, 128), "{codec}: {error:?}");
        // The rest of the log is unaffected.
        assert_reads(&wal, [0, 127, 256, 383, 699], 0);
    }
}

#[test]
fn the_sealed_segment_before_the_active_one_is_still_checked_at_open() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    xor_byte(&index_path(dir.path(), 512, Codec::V2), 0, 0x01);
    match Wal::open(dir.path(), options(Codec::V2)) {
        Err(StoreError::Layout { segment: 512, .. }) => {}
        other => panic!("expected a layout error for segment 512, got {other:?}"),
    }
}

#[test]
fn a_missing_index_of_an_old_segment_is_refused_at_its_first_use() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    fs::remove_file(index_path(dir.path(), 256, Codec::V2)).unwrap();
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    assert_reads(&wal, [0, 255, 384], 0);
    match wal.read(300) {
        Err(StoreError::Layout {
            segment: 256,
            detail,
        }) => {
            assert!(detail.contains("no index file"), "{detail}");
        }
        other => panic!("expected a layout error for segment 256, got {other:?}"),
    }
}

#[test]
fn a_missing_old_segment_is_refused_at_the_first_use_of_the_one_before() {
    // Segment 256 gone: the layout gives segment 128 the offsets up to 384, which its
    // index does not list.
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    fs::remove_file(index_path(dir.path(), 256, Codec::V2)).unwrap();
    fs::remove_file(naming::data_path(dir.path(), 256, Codec::V2)).unwrap();
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    assert_reads(&wal, [0, 127, 384, 699], 0);
    for offset in [128, 300] {
        match wal.read(offset) {
            Err(StoreError::Layout {
                segment: 128,
                detail,
            }) => {
                assert!(detail.contains("256 offsets on"), "{detail}");
            }
            other => panic!("entry {offset}: expected a layout error, got {other:?}"),
        }
    }
}

#[test]
fn an_index_listing_fewer_entries_than_its_segment_holds_is_refused() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    // A well-formed index of segment 128's first 100 records (32 bytes each in v2).
    let offsets: Vec<FileOffset> = (0..100).map(|i| FileOffset(i * 32)).collect();
    let bytes = encode_index(Codec::V2, &offsets);
    fs::write(index_path(dir.path(), 128, Codec::V2), &bytes).unwrap();
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    assert_reads(&wal, [127, 256], 0);
    for offset in [128, 227, 228] {
        assert!(
            matches!(
                wal.read(offset),
                Err(StoreError::Layout { segment: 128, .. })
            ),
            "entry {offset}"
        );
    }
}

#[test]
fn an_old_segment_from_another_log_is_refused_from_either_side() {
    // Segment 256 (data and index) replaced by the same segment of another log: whole
    // and self-consistent, but chained from another history.
    let dir = wal_testkit::tempdir();
    let other = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    closed_log(other.path(), Codec::V2, 1);
    for path in [
        naming::data_path(other.path(), 256, Codec::V2),
        index_path(other.path(), 256, Codec::V2),
    ] {
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    assert_reads(&wal, [0, 127, 384, 699], 0);
    // From the segment before: its last record does not lead into segment 256.
    match wal.read(200) {
        Err(StoreError::NeedsRecovery { segment: 256, .. }) => {}
        other => panic!("expected NeedsRecovery for segment 256, got {other:?}"),
    }
    // From segment 256 itself: its last record does not lead into segment 384.
    match wal.read(300) {
        Err(StoreError::NeedsRecovery { segment: 384, .. }) => {}
        other => panic!("expected NeedsRecovery for segment 384, got {other:?}"),
    }
    let (read, _) = first_iteration_error(&wal);
    assert_eq!(read, 128);
}

#[test]
fn trimming_old_segments_does_not_open_them() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    for base in [0, 128] {
        xor_byte(&index_path(dir.path(), base, Codec::V2), 0, 0x01);
    }
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    assert_eq!(wal.trim_before(256).unwrap(), 2);
    assert_eq!(wal.first_offset(), 256);
    assert!(!naming::data_path(dir.path(), 0, Codec::V2).exists());
    assert!(!index_path(dir.path(), 128, Codec::V2).exists());
    let read: Vec<u64> = wal.iter().map(|e| e.unwrap().offset).collect();
    assert_eq!(read, (256..ENTRIES).collect::<Vec<_>>());
}

#[test]
fn truncating_into_an_old_segment_opens_it_and_appends_continue() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    wal.truncate_after(199).unwrap();
    for offset in 200..260 {
        assert_eq!(wal.append(&payload(offset, 1)).unwrap().offset, offset);
    }
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    assert_eq!(wal.next_offset(), 260);
    assert_reads(&wal, 0..200, 0);
    assert_reads(&wal, 200..260, 1);
    let entries: Vec<_> = wal.iter().map(Result::unwrap).collect();
    assert_eq!(entries.len(), 260);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_crc, pair[0].crc, "chain at {}", pair[1].offset);
    }
}

#[test]
fn threads_first_reading_one_old_segment_all_read_it_whole() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let wal = &wal;
            scope.spawn(move || {
                // Each starts somewhere else in segment 128 and wraps around it.
                for i in 0..PER_SEGMENT {
                    let offset = 128 + (thread * 32 + i) % PER_SEGMENT;
                    assert_eq!(wal.read(offset).unwrap().payload, payload(offset, 0));
                }
            });
        }
    });
}

#[test]
fn nothing_is_appended_or_truncated_on_top_of_a_damaged_old_segment() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    xor_byte(&index_path(dir.path(), 128, Codec::V2), 0, 0x01);
    let closed = dir
        .path()
        .join(wal_store::internal::closed::CLOSED_FILE_NAME);
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    // The first change checks every deferred segment, and each one after it again.
    for _ in 0..2 {
        let error = wal.append(&payload(ENTRIES, 1)).unwrap_err();
        assert!(refuses(&error, 128), "{error:?}");
        let error = wal.append_batch(&[payload(ENTRIES, 1)]).unwrap_err();
        assert!(refuses(&error, 128), "{error:?}");
        let error = wal.truncate_after(599).unwrap_err();
        assert!(refuses(&error, 128), "{error:?}");
    }
    assert_eq!(wal.next_offset(), ENTRIES);
    assert!(closed.exists(), "a refused change removed the close record");
    assert_reads(&wal, [0, 256, 699], 0);
    // Trimming the damaged segment away leaves a log that checks out whole.
    assert_eq!(wal.trim_before(256).unwrap(), 2);
    assert_eq!(wal.append(&payload(ENTRIES, 1)).unwrap().offset, ENTRIES);
    wal.sync().unwrap();
    assert_reads(&wal, [ENTRIES], 1);
}

#[test]
fn appends_after_a_clean_open_check_the_deferred_segments_once() {
    let dir = wal_testkit::tempdir();
    closed_log(dir.path(), Codec::V2, 0);
    let wal = Wal::open(dir.path(), options(Codec::V2)).unwrap();
    for offset in ENTRIES..ENTRIES + 300 {
        assert_eq!(wal.append(&payload(offset, 2)).unwrap().offset, offset);
    }
    // Damage found after the check (a file changed under the open log) is the reads'
    // business: appends go on.
    xor_byte(&index_path(dir.path(), 0, Codec::V2), 0, 0x01);
    assert_eq!(
        wal.append(&payload(ENTRIES + 300, 2)).unwrap().offset,
        ENTRIES + 300
    );
    wal.sync().unwrap();
    assert_reads(&wal, [0, 127, 699], 0);
    assert_reads(&wal, [ENTRIES, ENTRIES + 300], 2);
}
