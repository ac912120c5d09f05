//! Rotation: with tiny segments, a few hundred entries span dozens of segment files.
//! The files are named by their base offsets and contiguous, every sealed segment has an
//! index that matches its records, the active one has none, and every entry reads back
//! exactly, by offset and by every iterator, with the v2 chain holding across boundaries.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use common_a::{
    LogModel, append_all, assert_chain, assert_files_match, assert_payloads, assert_sealed_segment,
    assert_segment_records, data_files, entries, file_names, index_files, options, payload,
    tempdir,
};
use wal_store::format::{Codec, IndexView};
use wal_store::internal::naming;
use wal_store::{Entry, StoreError, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 400;

fn v1_options() -> WalOptions {
    options(SEGMENT_BYTES).with_codec(Codec::V1)
}

#[test]
fn segment_files_are_named_by_contiguous_base_offsets() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    append_all(&wal, 0..ENTRIES, payload);

    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..ENTRIES, payload);
    assert!(
        model.segments.len() >= 24,
        "only {} segments",
        model.segments.len()
    );
    let bases: Vec<u64> = data_files(dir.path())
        .iter()
        .map(|&(base, _)| base)
        .collect();
    assert_eq!(bases, model.bases());
    assert!(
        data_files(dir.path())
            .iter()
            .all(|&(_, codec)| codec == Codec::V2)
    );

    // Contiguity from the files alone: each base is the previous base plus the number of
    // entries its index lists.
    assert_eq!(bases[0], 0);
    for pair in bases.windows(2) {
        let bytes = std::fs::read(naming::index_path(dir.path(), pair[0], Codec::V2)).unwrap();
        let listed = IndexView::parse(Codec::V2, &bytes).unwrap().len() as u64;
        assert!(listed > 0);
        assert_eq!(pair[1], pair[0] + listed, "segment after {}", pair[0]);
    }
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_files_match(dir.path(), &model);
    wal.close().unwrap();
}

#[test]
fn every_sealed_segment_has_a_matching_index_and_the_active_one_has_none() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    append_all(&wal, 0..ENTRIES, payload);

    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..ENTRIES, payload);
    let (active, sealed) = model.segments.split_last().unwrap();
    for segment in sealed {
        assert_sealed_segment(dir.path(), Codec::V2, segment, payload);
    }
    assert_segment_records(dir.path(), Codec::V2, active, payload);
    let index_bases: Vec<u64> = index_files(dir.path()).iter().map(|&(b, _)| b).collect();
    let sealed_bases: Vec<u64> = sealed.iter().map(|s| s.base).collect();
    assert_eq!(index_bases, sealed_bases);
    assert!(
        !naming::index_path(dir.path(), active.base, Codec::V2).exists(),
        "the active segment {} has an index file",
        active.base
    );
    wal.close().unwrap();
}

#[test]
fn every_entry_reads_back_exactly_by_offset_and_by_every_iterator() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    let appended = append_all(&wal, 0..ENTRIES, payload);

    for got in &appended {
        let entry = wal.read(got.offset).unwrap();
        assert_eq!(entry.offset, got.offset);
        assert_eq!(entry.payload, payload(got.offset));
        assert_eq!(entry.crc, got.crc, "crc of entry {}", got.offset);
    }

    let forward = entries(&wal);
    assert_payloads(&forward, 0..ENTRIES, payload);

    let mut backward: Vec<Entry> = wal.iter_rev().collect::<Result<_, _>>().unwrap();
    backward.reverse();
    assert_eq!(backward, forward);

    // From the middle of a segment, from a segment's first entry and from its last.
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..ENTRIES, payload);
    let middle = &model.segments[model.segments.len() / 2];
    for start in [
        middle.base + 1,
        middle.base,
        middle.end() - 1,
        0,
        ENTRIES - 1,
    ] {
        let tail: Vec<Entry> = wal
            .iter_from(start)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(tail.as_slice(), &forward[usize::try_from(start).unwrap()..]);
    }
    assert_eq!(wal.iter_from(ENTRIES).unwrap().count(), 0);
    assert!(matches!(
        wal.iter_from(ENTRIES + 1),
        Err(StoreError::OffsetOutOfRange { offset, first: 0, next: ENTRIES, .. }) if offset == ENTRIES + 1
    ));
    assert!(matches!(
        wal.read(ENTRIES),
        Err(StoreError::OffsetOutOfRange {
            offset: ENTRIES,
            first: 0,
            next: ENTRIES,
            ..
        })
    ));
    wal.close().unwrap();
}

#[test]
fn the_v2_chain_holds_across_segment_boundaries() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    let appended = append_all(&wal, 0..ENTRIES, payload);
    let all = entries(&wal);
    assert_chain(&all, 0);
    for (entry, got) in all.iter().zip(&appended) {
        assert_eq!(entry.crc, got.crc);
    }

    // Look at each boundary explicitly: the first entry of every segment after the
    // first chains from the last entry of the segment before.
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..ENTRIES, payload);
    for segment in &model.segments[1..] {
        let first = wal.read(segment.base).unwrap();
        let before = wal.read(segment.base - 1).unwrap();
        assert_eq!(first.prev_crc, before.crc, "boundary at {}", segment.base);
    }
    assert_eq!(wal.last_crc(), appended.last().unwrap().crc);
    wal.close().unwrap();
}

#[test]
fn stats_count_rotations_and_segments() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.stats().rotations, 0);
    assert_eq!(wal.stats().segments, 1);

    let mut model = LogModel::new(Codec::V2, SEGMENT_BYTES, 0);
    for offset in 0..ENTRIES {
        let data = payload(offset);
        wal.append(&data).unwrap();
        model.append(data.len());
        let stats = wal.stats();
        assert_eq!(
            stats.segments,
            model.segments.len() as u64,
            "after entry {offset}"
        );
        assert_eq!(
            stats.rotations,
            model.segments.len() as u64 - 1,
            "after entry {offset}"
        );
    }
    let stats = wal.stats();
    assert_eq!(stats.entries_appended, ENTRIES);
    let bytes: usize = (0..ENTRIES).map(|o| payload(o).len()).sum();
    assert_eq!(stats.payload_bytes_appended, bytes as u64);
    wal.close().unwrap();
}

#[test]
fn a_batch_that_spans_several_segments_is_laid_out_like_single_appends() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    let payloads: Vec<Vec<u8>> = (0..ENTRIES).map(payload).collect();
    let batch = wal.append_batch(&payloads).unwrap();
    assert_eq!(batch.first_offset, 0);
    assert_eq!(batch.last_offset, ENTRIES - 1);

    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..ENTRIES, payload);
    assert_files_match(dir.path(), &model);
    let all = entries(&wal);
    assert_payloads(&all, 0..ENTRIES, payload);
    assert_chain(&all, 0);
    assert_eq!(batch.last_crc, all.last().unwrap().crc);
    assert_eq!(wal.stats().rotations, model.segments.len() as u64 - 1);
    wal.close().unwrap();
}

#[test]
fn segments_of_different_sizes_rotate_at_the_right_entry() {
    for segment_bytes in [64, 100, 257, 1024, 4096] {
        let dir = tempdir();
        let wal = Wal::open(dir.path(), options(segment_bytes)).unwrap();
        let payloads: Vec<Vec<u8>> = (0..300).map(payload).collect();
        wal.append_batch(&payloads).unwrap();
        let model = LogModel::of(Codec::V2, segment_bytes, 0..300, payload);
        assert_files_match(dir.path(), &model);
        let (active, sealed) = model.segments.split_last().unwrap();
        for segment in sealed {
            assert_sealed_segment(dir.path(), Codec::V2, segment, payload);
        }
        assert_segment_records(dir.path(), Codec::V2, active, payload);
        assert_payloads(&entries(&wal), 0..300, payload);
        wal.close().unwrap();
    }
}

#[test]
fn v1_segments_rotate_into_txn_and_idx_files() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    append_all(&wal, 0..ENTRIES, payload);

    let model = LogModel::of(Codec::V1, SEGMENT_BYTES, 0..ENTRIES, payload);
    assert!(
        model.segments.len() >= 12,
        "only {} segments",
        model.segments.len()
    );
    assert_files_match(dir.path(), &model);
    let names = file_names(dir.path());
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".txn") || n.ends_with(".idx")),
        "{names:?}"
    );
    let (active, sealed) = model.segments.split_last().unwrap();
    for segment in sealed {
        assert_sealed_segment(dir.path(), Codec::V1, segment, payload);
    }
    assert_segment_records(dir.path(), Codec::V1, active, payload);
    assert_eq!(wal.stats().rotations, model.segments.len() as u64 - 1);
    wal.close().unwrap();
}

#[test]
fn v1_entries_read_back_without_crcs() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    let appended = append_all(&wal, 0..ENTRIES, payload);
    assert!(appended.iter().all(|a| a.crc.is_none()));

    let forward = entries(&wal);
    assert_payloads(&forward, 0..ENTRIES, payload);
    assert!(
        forward
            .iter()
            .all(|e| e.crc.is_none() && e.prev_crc.is_none())
    );
    let mut backward: Vec<Entry> = wal.iter_rev().collect::<Result<_, _>>().unwrap();
    backward.reverse();
    assert_eq!(backward, forward);
    let from: Vec<Entry> = wal
        .iter_from(ENTRIES / 2)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        from.as_slice(),
        &forward[usize::try_from(ENTRIES / 2).unwrap()..]
    );
    for offset in [0, 1, ENTRIES / 3, ENTRIES - 1] {
        assert_eq!(wal.read(offset).unwrap().payload, payload(offset));
    }
    assert_eq!(wal.last_crc(), None);
    wal.close().unwrap();
}

/// `Wal::last_crc` is documented as `None` "after a v1 entry, or for an empty v1 log".
#[test]
fn an_empty_v1_log_has_no_last_crc() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    assert_eq!(wal.last_crc(), None);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), v1_options()).unwrap();
    assert_eq!(wal.next_offset(), 0);
    assert_eq!(wal.last_crc(), None);
    wal.close().unwrap();
}
