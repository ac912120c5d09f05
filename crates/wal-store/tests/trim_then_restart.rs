//! Trimming old segments, and clearing, then restarting: exactly the sealed segments
//! wholly before the offset go, trimmed offsets read as out of range, and after a restart
//! every offset is where it was, because offsets come from segment names and never from
//! arithmetic over what remains (anchors 2 and 4). The chain's seed survives a trim.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::path::Path;

use common_a::{
    LogModel, append_all, assert_chain, assert_files_match, assert_payloads, assert_sealed_segment,
    entries, file_names, options, payload, tempdir,
};
use wal_store::format::{Codec, FileOffset};
use wal_store::internal::naming;
use wal_store::{Entry, StoreError, Wal};

const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 150;

fn filled(dir: &Path) -> (Wal, LogModel) {
    let wal = Wal::open(dir, options(SEGMENT_BYTES)).unwrap();
    append_all(&wal, 0..ENTRIES, payload);
    let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..ENTRIES, payload);
    assert_files_match(dir, &model);
    assert!(model.segments.len() >= 12);
    (wal, model)
}

/// Trims before `offset` and checks the result against the model.
fn trim_and_check(wal: &Wal, dir: &Path, model: &mut LogModel, offset: u64) -> usize {
    let expected = model.trim_before(offset);
    assert_eq!(
        wal.trim_before(offset).unwrap(),
        expected,
        "trim before {offset}"
    );
    assert_eq!(
        wal.first_offset(),
        model.first_offset(),
        "trim before {offset}"
    );
    assert_files_match(dir, model);
    assert_eq!(wal.stats().segments, model.segments.len() as u64);
    let next = model.next_offset();
    assert_payloads(&entries(wal), model.first_offset()..next, payload);
    expected
}

#[test]
fn trim_removes_exactly_the_sealed_segments_wholly_before_the_offset() {
    let dir = tempdir();
    let (wal, mut model) = filled(dir.path());
    let bases = model.bases();

    // Nothing lies wholly before the first entry, or before the last entry of segment 0
    // (which becomes the log's first entry: the trim is logical).
    assert_eq!(trim_and_check(&wal, dir.path(), &mut model, 0), 0);
    assert_eq!(
        trim_and_check(&wal, dir.path(), &mut model, bases[1] - 1),
        0
    );
    assert_eq!(model.first_offset(), bases[1] - 1);
    // The first entry of segment 1: segment 0 goes.
    assert_eq!(trim_and_check(&wal, dir.path(), &mut model, bases[1]), 1);
    assert_eq!(model.first_offset(), bases[1]);
    // In the middle of segment 4: segments 1, 2 and 3 go, and the log starts there.
    assert_eq!(
        trim_and_check(&wal, dir.path(), &mut model, bases[4] + 2),
        3
    );
    assert_eq!(model.first_offset(), bases[4] + 2);
    // Below the first offset: nothing.
    assert_eq!(trim_and_check(&wal, dir.path(), &mut model, 3), 0);
    assert_eq!(model.first_offset(), bases[4] + 2);
    // Exactly the first entry of segment 9: segments 4 to 8 go.
    assert_eq!(trim_and_check(&wal, dir.path(), &mut model, bases[9]), 5);
    assert_eq!(model.first_offset(), bases[9]);
    for &base in &bases[..9] {
        assert!(!naming::data_path(dir.path(), base, Codec::V2).exists());
        assert!(!naming::index_path(dir.path(), base, Codec::V2).exists());
    }
    let (active, sealed) = model.segments.split_last().unwrap();
    for segment in sealed {
        assert_sealed_segment(dir.path(), Codec::V2, segment, payload);
    }
    assert!(!naming::index_path(dir.path(), active.base, Codec::V2).exists());
    wal.close().unwrap();
}

#[test]
fn trimmed_offsets_read_as_out_of_range() {
    let dir = tempdir();
    let (wal, model) = filled(dir.path());
    let first = model.segments[6].base;
    assert_eq!(wal.trim_before(first).unwrap(), 6);
    assert_eq!(wal.first_offset(), first);

    for offset in [0, 1, first / 2, first - 1] {
        assert!(
            matches!(
                wal.read(offset),
                Err(StoreError::OffsetOutOfRange { offset: o, first: f, next: ENTRIES, .. })
                    if o == offset && f == first
            ),
            "read({offset})"
        );
    }
    assert!(matches!(
        wal.iter_from(first - 1),
        Err(StoreError::OffsetOutOfRange { offset, .. }) if offset == first - 1
    ));
    assert_eq!(wal.read(first).unwrap().payload, payload(first));
    let forward = entries(&wal);
    assert_payloads(&forward, first..ENTRIES, payload);
    let mut backward: Vec<Entry> = wal.iter_rev().collect::<Result<_, _>>().unwrap();
    backward.reverse();
    assert_eq!(backward, forward);
    wal.close().unwrap();
}

#[test]
fn a_trimmed_log_restarts_with_the_same_offsets_and_entries() {
    let dir = tempdir();
    let (wal, mut model) = filled(dir.path());
    let first = model.segments[5].base + 1;
    trim_and_check(&wal, dir.path(), &mut model, first);
    let kept = entries(&wal);
    let last_crc = wal.last_crc();
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), model.first_offset());
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.last_crc(), last_crc);
    assert_eq!(entries(&wal), kept);
    for entry in &kept {
        assert_eq!(wal.read(entry.offset).unwrap(), *entry);
    }
    assert_files_match(dir.path(), &model);

    // Appends go on at the same offset, chained from the last entry.
    append_all(&wal, ENTRIES..ENTRIES + 40, payload);
    assert_eq!(wal.read(ENTRIES).unwrap().prev_crc, last_crc);
    for o in ENTRIES..ENTRIES + 40 {
        model.append(payload(o).len());
    }
    // Trim and restart once more: nothing shifts.
    let again = model.segments[3].base;
    trim_and_check(&wal, dir.path(), &mut model, again);
    let kept = entries(&wal);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), again);
    assert_eq!(wal.next_offset(), ENTRIES + 40);
    assert_eq!(entries(&wal), kept);
    assert_chain(&kept, kept[0].prev_crc.unwrap());
    assert_files_match(dir.path(), &model);
    wal.close().unwrap();
}

#[test]
fn trimming_up_to_the_end_keeps_the_active_segment() {
    let dir = tempdir();
    let (wal, mut model) = filled(dir.path());
    let segments = model.segments.len();
    assert!(matches!(
        wal.trim_before(ENTRIES + 1),
        Err(StoreError::OffsetOutOfRange { offset, next: ENTRIES, .. }) if offset == ENTRIES + 1
    ));
    assert_files_match(dir.path(), &model);

    assert_eq!(
        trim_and_check(&wal, dir.path(), &mut model, ENTRIES),
        segments - 1
    );
    assert_eq!(model.segments.len(), 1);
    let active_base = model.first_offset();
    assert_eq!(wal.first_offset(), active_base);
    let last_crc = wal.last_crc();
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), active_base);
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.last_crc(), last_crc);
    assert_payloads(&entries(&wal), active_base..ENTRIES, payload);
    let appended = append_all(&wal, ENTRIES..ENTRIES + 3, payload);
    assert_eq!(appended[0].offset, ENTRIES);
    assert_eq!(wal.read(ENTRIES).unwrap().prev_crc, last_crc);
    wal.close().unwrap();
}

/// Leaves `dir` (a closed log of `model`) as a crash right after a rotation can: the
/// last segment sealed (its index written) and a new, empty, zero-filled data file after
/// it, whose first record never reached the disk.
fn leave_an_empty_active_segment(dir: &Path, model: &mut LogModel) {
    let last = model.segments.last().unwrap();
    let offsets: Vec<FileOffset> = last.file_offsets.iter().copied().map(FileOffset).collect();
    let bytes = wal_testkit::segment::encode_index(Codec::V2, &offsets);
    std::fs::write(naming::index_path(dir, last.base, Codec::V2), bytes).unwrap();
    let next = model.next_offset();
    std::fs::write(
        naming::data_path(dir, next, Codec::V2),
        vec![0u8; SEGMENT_BYTES as usize],
    )
    .unwrap();
    model.segments.push(common_a::SegmentModel {
        base: next,
        capacity: SEGMENT_BYTES as usize,
        file_offsets: Vec::new(),
        data_len: 0,
    });
}

#[test]
fn trimming_everything_before_an_empty_active_segment_keeps_the_chain_seed_in_the_seed_file() {
    let dir = tempdir();
    let (wal, mut model) = filled(dir.path());
    let last_crc = wal.last_crc();
    wal.close().unwrap();
    leave_an_empty_active_segment(dir.path(), &mut model);

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.last_crc(), last_crc);
    assert_eq!(wal.stats().segments, model.segments.len() as u64);

    // Everything is before ENTRIES: every sealed segment goes, the seed file keeps the
    // chain's seed.
    let segments = model.segments.len();
    assert_eq!(
        trim_and_check(&wal, dir.path(), &mut model, ENTRIES),
        segments - 1
    );
    assert_eq!(model.segments.len(), 1);
    assert_eq!(model.segments[0].base, ENTRIES);
    // Trimming again changes nothing.
    assert_eq!(wal.trim_before(ENTRIES).unwrap(), 0);
    assert_files_match(dir.path(), &model);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), ENTRIES);
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.last_crc(), last_crc);
    let appended = wal.append(&payload(ENTRIES)).unwrap();
    assert_eq!(appended.offset, ENTRIES);
    let entry = wal.read(ENTRIES).unwrap();
    assert_eq!(entry.prev_crc, last_crc);
    assert_eq!(entry.crc, appended.crc);
    assert_chain(&entries(&wal), last_crc.unwrap());
    wal.close().unwrap();

    // And the appended entry chains on from the seed when reopened again.
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.next_offset(), ENTRIES + 1);
    assert_eq!(wal.last_crc(), appended.crc);
    wal.close().unwrap();
}

#[test]
fn clear_keeps_the_next_offset_and_the_chain() {
    let dir = tempdir();
    let (wal, _) = filled(dir.path());
    let last_crc = wal.last_crc();
    wal.clear().unwrap();

    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.first_offset(), ENTRIES);
    assert_eq!(wal.last_offset(), None);
    assert_eq!(wal.last_crc(), last_crc);
    for offset in [0, ENTRIES / 2, ENTRIES - 1, ENTRIES] {
        assert!(
            matches!(
                wal.read(offset),
                Err(StoreError::OffsetOutOfRange { offset: o, first: ENTRIES, next: ENTRIES, .. })
                    if o == offset
            ),
            "read({offset})"
        );
    }
    assert_eq!(wal.iter().count(), 0);
    assert_eq!(wal.iter_rev().count(), 0);
    assert_eq!(file_names(dir.path()), [format!("{ENTRIES}.txnx")]);
    assert_eq!(wal.stats().segments, 1);

    let appended = wal.append(&payload(ENTRIES)).unwrap();
    assert_eq!(appended.offset, ENTRIES);
    assert_eq!(wal.read(ENTRIES).unwrap().prev_crc, last_crc);
    wal.close().unwrap();
}

#[test]
fn a_cleared_log_restarts_at_the_same_offset() {
    let dir = tempdir();
    let (wal, _) = filled(dir.path());
    let last_crc = wal.last_crc().unwrap();
    wal.clear().unwrap();
    // A second clear, of an empty log, changes nothing either.
    wal.clear().unwrap();
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(file_names(dir.path()), [format!("{ENTRIES}.txnx")]);
    wal.close().unwrap();

    // A log with no entry has nowhere to keep its seed: it is passed again.
    let reopen = options(SEGMENT_BYTES).with_seed_crc(last_crc);
    for _ in 0..2 {
        let wal = Wal::open(dir.path(), reopen.clone()).unwrap();
        assert_eq!(wal.first_offset(), ENTRIES);
        assert_eq!(wal.next_offset(), ENTRIES);
        assert_eq!(wal.last_offset(), None);
        assert_eq!(wal.last_crc(), Some(last_crc));
        assert_eq!(wal.iter().count(), 0);
        wal.close().unwrap();
    }

    let wal = Wal::open(dir.path(), reopen).unwrap();
    append_all(&wal, ENTRIES..ENTRIES + 20, payload);
    let all = entries(&wal);
    assert_payloads(&all, ENTRIES..ENTRIES + 20, payload);
    assert_chain(&all, last_crc);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), ENTRIES);
    assert_eq!(entries(&wal), all);
    wal.close().unwrap();
}

#[test]
fn a_cleared_log_dropped_without_close_restarts_at_the_same_offset() {
    let dir = tempdir();
    let (wal, _) = filled(dir.path());
    wal.clear().unwrap();
    drop(wal);

    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), ENTRIES);
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.iter().count(), 0);
    assert_eq!(file_names(dir.path()), [format!("{ENTRIES}.txnx")]);
    assert_eq!(wal.append(&payload(ENTRIES)).unwrap().offset, ENTRIES);
    wal.close().unwrap();
}
