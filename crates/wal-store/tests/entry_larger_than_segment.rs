//! Entries larger than a segment: each gets a segment of its own, sized for it (or the
//! empty active segment grows to fit it), sealed at once so that the last segment never
//! holds records past the segment size; the entries around it stay in normal segments,
//! and everything reads back, before and after a reopen. Entries above the configured
//! maximum are refused without a trace, and a maximum the codec cannot hold is refused
//! when opening.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::path::Path;

use common_a::{
    LogModel, assert_chain, assert_files_match, assert_payloads, assert_sealed_segment,
    assert_segment_records, entries, file_names, payload, tempdir,
};
use wal_store::format::{Codec, data_file_bytes};
use wal_store::internal::naming;
use wal_store::{StoreError, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 4096;
const MAX_ENTRY_BYTES: usize = 1024 * 1024;
const LARGE_BYTES: usize = 100 * 1024;

fn large_options(codec: Codec) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_max_entry_bytes(MAX_ENTRY_BYTES)
        .with_codec(codec)
}

/// A payload of `len` bytes for `offset`: its offset in clear, then a pattern that
/// depends on the offset.
fn large_payload(offset: u64, len: usize) -> Vec<u8> {
    let mut bytes = format!("large-{offset}-").into_bytes();
    let salt = u8::try_from(offset % 251).unwrap();
    bytes.extend((0..len - bytes.len()).map(|i| u8::try_from(i % 253).unwrap() ^ salt));
    bytes
}

/// The payloads of a log where the entries at `large` are [`LARGE_BYTES`] long.
fn mixed(large: &'static [u64]) -> impl Fn(u64) -> Vec<u8> + Copy {
    move |offset| {
        if large.contains(&offset) {
            large_payload(offset, LARGE_BYTES)
        } else {
            payload(offset)
        }
    }
}

/// Appends `range` with `make` payloads, one call each, checking the offsets.
fn append_range(wal: &Wal, range: std::ops::Range<u64>, make: impl Fn(u64) -> Vec<u8>) {
    for offset in range {
        assert_eq!(wal.append(&make(offset)).unwrap().offset, offset);
    }
}

fn assert_disk_matches(dir: &Path, model: &LogModel, make: impl Fn(u64) -> Vec<u8> + Copy) {
    assert_files_match(dir, model);
    let (active, sealed) = model.segments.split_last().unwrap();
    for segment in sealed {
        assert_sealed_segment(dir, model.codec, segment, make);
    }
    assert_segment_records(dir, model.codec, active, make);
}

fn data_file_len(dir: &Path, base: u64, codec: Codec) -> u64 {
    std::fs::metadata(naming::data_path(dir, base, codec))
        .unwrap()
        .len()
}

/// 300 small entries around large ones at 130 and 131 (back to back) and 220.
const LARGE: &[u64] = &[130, 131, 220];

fn large_entries_in_the_middle(codec: Codec) {
    let dir = tempdir();
    let make = mixed(LARGE);
    let wal = Wal::open(dir.path(), large_options(codec)).unwrap();
    append_range(&wal, 0..300, make);

    let model = LogModel::of(codec, SEGMENT_BYTES, 0..300, make);
    for &offset in LARGE {
        let segment = model.segment_of(offset);
        assert_eq!(
            (segment.base, segment.entries()),
            (offset, 1),
            "entry {offset}"
        );
        let record = codec.record_bytes(LARGE_BYTES).unwrap();
        assert!(data_file_len(dir.path(), offset, codec) >= record as u64);
    }
    // The small entries before and after are in segments of the normal size.
    for offset in [0, 129, 132, 219, 221, 299] {
        let base = model.segment_of(offset).base;
        assert_eq!(
            data_file_len(dir.path(), base, codec),
            data_file_bytes(SEGMENT_BYTES)
        );
    }
    assert_disk_matches(dir.path(), &model, make);
    let all = entries(&wal);
    assert_payloads(&all, 0..300, make);
    if codec.has_crc() {
        assert_chain(&all, 0);
    }
    for &offset in LARGE {
        assert_eq!(wal.read(offset).unwrap().payload, make(offset));
    }
    assert_eq!(wal.stats().rotations, model.segments.len() as u64 - 1);
    wal.close().unwrap();
}

#[test]
fn a_large_entry_gets_a_segment_of_its_own() {
    large_entries_in_the_middle(Codec::V2);
}

#[test]
fn a_large_v1_entry_gets_a_segment_of_its_own() {
    large_entries_in_the_middle(Codec::V1);
}

#[test]
fn large_entries_read_back_after_a_reopen() {
    let dir = tempdir();
    let make = mixed(LARGE);
    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    append_range(&wal, 0..250, make);
    let before = entries(&wal);
    let last_crc = wal.last_crc();
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    assert_eq!(entries(&wal), before);
    assert_eq!(wal.next_offset(), 250);
    assert_eq!(wal.last_crc(), last_crc);
    append_range(&wal, 250..300, make);
    let all = entries(&wal);
    assert_payloads(&all, 0..300, make);
    assert_chain(&all, 0);
    assert_disk_matches(
        dir.path(),
        &LogModel::of(Codec::V2, SEGMENT_BYTES, 0..300, make),
        make,
    );
    wal.close().unwrap();
}

#[test]
fn an_oversized_first_entry_grows_the_empty_active_segment() {
    let dir = tempdir();
    let make = mixed(&[0]);
    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    assert_eq!(wal.append(&make(0)).unwrap().offset, 0);
    let record = Codec::V2.record_bytes(LARGE_BYTES).unwrap() as u64;
    // Grown, then sealed at once: a segment of the normal size follows, empty.
    assert_eq!(file_names(dir.path()), ["0.idxx", "0.txnx", "1.txnx"]);
    assert_eq!(data_file_len(dir.path(), 0, Codec::V2), record + 1);
    assert_eq!(
        data_file_len(dir.path(), 1, Codec::V2),
        data_file_bytes(SEGMENT_BYTES)
    );
    assert_eq!(wal.stats().rotations, 1);
    assert_eq!(wal.stats().segments, 2);
    assert_eq!(wal.read(0).unwrap().payload, make(0));

    append_range(&wal, 1..40, make);
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..40, make);
    assert_eq!(model.bases()[..2], [0, 1]);
    assert_disk_matches(dir.path(), &model, make);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    let all = entries(&wal);
    assert_payloads(&all, 0..40, make);
    assert_chain(&all, 0);
    wal.close().unwrap();
}

#[test]
fn a_log_reopened_after_its_only_entry_grew_the_segment_appends_on() {
    let dir = tempdir();
    let make = mixed(&[0]);
    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    let first = wal.append(&make(0)).unwrap();
    drop(wal);

    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    assert_eq!(wal.next_offset(), 1);
    assert_eq!(wal.last_crc(), first.crc);
    append_range(&wal, 1..5, make);
    assert_payloads(&entries(&wal), 0..5, make);
    assert_eq!(wal.read(1).unwrap().prev_crc, first.crc);
    wal.close().unwrap();
}

#[test]
fn every_entry_larger_than_a_tiny_segment_gets_a_segment_sized_for_it() {
    let dir = tempdir();
    let tiny = large_options(Codec::V2).with_segment_bytes(64);
    // Records of 72 to 92 bytes, all larger than a 64-byte segment.
    let make = |offset: u64| large_payload(offset, 60 + usize::try_from(offset % 21).unwrap());
    let wal = Wal::open(dir.path(), tiny).unwrap();
    append_range(&wal, 0..40, make);
    let model = LogModel::of(Codec::V2, 64, 0..40, make);
    // Each sealed at once; the last segment is a new, empty one.
    assert_eq!(model.segments.len(), 41);
    let (active, sealed) = model.segments.split_last().unwrap();
    assert_eq!((active.base, active.entries()), (40, 0));
    for segment in sealed {
        let record = Codec::V2.record_bytes(make(segment.base).len()).unwrap();
        assert_eq!(segment.entries(), 1);
        assert_eq!(
            data_file_len(dir.path(), segment.base, Codec::V2),
            record as u64 + 1
        );
    }
    assert_disk_matches(dir.path(), &model, make);
    let all = entries(&wal);
    assert_payloads(&all, 0..40, make);
    assert_chain(&all, 0);
    wal.close().unwrap();
}

#[test]
fn an_oversized_entry_after_truncating_everything_grows_the_emptied_segment() {
    let dir = tempdir();
    let seeded = large_options(Codec::V2)
        .with_first_offset(10)
        .with_seed_crc(7);
    let wal = Wal::open(dir.path(), seeded.clone()).unwrap();
    append_range(&wal, 10..200, payload);
    wal.truncate_after(9).unwrap();
    assert_eq!(file_names(dir.path()), ["10.txnx"]);

    let make = mixed(&[10]);
    append_range(&wal, 10..60, make);
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 10..60, make);
    assert_eq!(model.segments[0].entries(), 1);
    assert_disk_matches(dir.path(), &model, make);
    let all = entries(&wal);
    assert_payloads(&all, 10..60, make);
    assert_chain(&all, 7);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), seeded).unwrap();
    assert_eq!(entries(&wal), all);
    wal.close().unwrap();
}

#[test]
fn an_entry_of_exactly_the_maximum_is_accepted() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    append_range(&wal, 0..3, payload);
    let largest = large_payload(3, MAX_ENTRY_BYTES);
    assert_eq!(wal.append(&largest).unwrap().offset, 3);
    assert_eq!(wal.append(&payload(4)).unwrap().offset, 4);
    assert_eq!(wal.read(3).unwrap().payload, largest);
    let record = Codec::V2.record_bytes(MAX_ENTRY_BYTES).unwrap() as u64;
    assert!(data_file_len(dir.path(), 3, Codec::V2) >= record);
    wal.close().unwrap();
}

#[test]
fn an_entry_over_the_maximum_is_refused_and_appends_nothing() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    append_range(&wal, 0..3, payload);
    let names = file_names(dir.path());
    let last_crc = wal.last_crc();
    let too_large = large_payload(3, MAX_ENTRY_BYTES + 1);

    assert!(matches!(
        wal.append(&too_large),
        Err(StoreError::EntryTooLarge { size, max: MAX_ENTRY_BYTES }) if size == MAX_ENTRY_BYTES + 1
    ));
    let batch = [payload(3), too_large.clone(), payload(5)];
    assert!(matches!(
        wal.append_batch(&batch),
        Err(StoreError::EntryTooLarge { size, max: MAX_ENTRY_BYTES }) if size == MAX_ENTRY_BYTES + 1
    ));
    assert_eq!(wal.next_offset(), 3);
    assert_eq!(wal.last_crc(), last_crc);
    assert_eq!(file_names(dir.path()), names);
    assert_eq!(
        data_file_len(dir.path(), 0, Codec::V2),
        data_file_bytes(SEGMENT_BYTES)
    );
    assert_eq!(wal.stats().entries_appended, 3);

    assert_eq!(wal.append(&payload(3)).unwrap().offset, 3);
    let all = entries(&wal);
    assert_payloads(&all, 0..4, payload);
    assert_chain(&all, 0);
    wal.close().unwrap();
}

#[test]
fn a_maximum_larger_than_the_codec_allows_is_an_invalid_option() {
    for codec in [Codec::V2, Codec::V1] {
        let parent = tempdir();
        let dir = parent.path().join("log");
        for max_entry_bytes in [codec.max_payload_bytes() + 1, usize::MAX, 0] {
            let bad = large_options(codec).with_max_entry_bytes(max_entry_bytes);
            assert!(
                matches!(
                    Wal::open(&dir, bad),
                    Err(StoreError::InvalidOption {
                        name: "max_entry_bytes",
                        ..
                    })
                ),
                "{codec} {max_entry_bytes}"
            );
            assert!(!dir.exists(), "a refused open created the directory");
        }
        // The codec's own limit is accepted (and allocates nothing up front).
        let largest = large_options(codec).with_max_entry_bytes(codec.max_payload_bytes());
        let wal = Wal::open(&dir, largest).unwrap();
        assert_eq!(wal.append(&payload(0)).unwrap().offset, 0);
        wal.close().unwrap();
    }
}

/// A truncation back to a large entry makes its segment the last one again: it is sealed
/// again at once, and a new segment of the normal size follows.
#[test]
fn truncating_back_to_a_large_entry_seals_its_segment_again() {
    let dir = tempdir();
    let make = mixed(&[5]);
    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    append_range(&wal, 0..40, make);
    wal.truncate_after(5).unwrap();
    let names = file_names(dir.path());
    assert!(names.contains(&"5.idxx".to_owned()), "{names:?}");
    assert!(names.contains(&"6.txnx".to_owned()), "{names:?}");
    assert_eq!(names.last().unwrap(), "6.txnx");
    assert_eq!(
        data_file_len(dir.path(), 6, Codec::V2),
        data_file_bytes(SEGMENT_BYTES)
    );
    append_range(&wal, 6..40, make);
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..40, make);
    assert_disk_matches(dir.path(), &model, make);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), large_options(Codec::V2)).unwrap();
    assert_payloads(&entries(&wal), 0..40, make);
    wal.close().unwrap();
}
