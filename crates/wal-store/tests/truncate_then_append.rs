//! Truncation (raft-style `truncate_after`) at every kind of place, then appends: offsets
//! continue from the cut, new entries chain from the kept entry's crc, the dropped
//! bytes are zeros on disk, dropped segments' files are gone, and no dropped entry comes
//! back after a crash.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::path::Path;

use common_a::{
    LogModel, append_all, assert_chain, assert_files_match, assert_payloads, assert_sealed_segment,
    assert_segment_records, assert_zero_from, data_files, entries, file_names, index_files,
    options, other_payload, payload, read_data, tempdir,
};
use wal_store::format::Codec;
use wal_store::{Entry, StoreError, SyncPolicy, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 150;

/// The payload of `offset` in a log truncated after `cut` and appended to again.
fn rewritten(cut: u64) -> impl Fn(u64) -> Vec<u8> + Copy {
    move |offset| {
        if offset <= cut {
            payload(offset)
        } else {
            other_payload(offset)
        }
    }
}

/// A log of `range` (with `payload`s) and its model.
fn filled(dir: &Path, wal_options: &WalOptions, range: std::ops::Range<u64>) -> (Wal, LogModel) {
    let wal = Wal::open(dir, wal_options.clone()).unwrap();
    append_all(&wal, range.clone(), payload);
    let model = LogModel::of(wal_options.codec, wal_options.segment_bytes, range, payload);
    assert_files_match(dir, &model);
    (wal, model)
}

/// Checks the log right after `truncate_after(offset)`, given its entries before.
fn assert_truncated(wal: &Wal, offset: u64, before: &[Entry]) {
    let first = wal.first_offset();
    let kept: Vec<Entry> = before
        .iter()
        .filter(|e| e.offset <= offset)
        .cloned()
        .collect();
    assert_eq!(entries(wal), kept);
    assert_eq!(wal.next_offset(), offset + 1);
    assert_eq!(wal.last_offset(), (offset >= first).then_some(offset));
    let expected_crc = match kept.last() {
        Some(entry) => entry.crc,
        None => before.first().unwrap().prev_crc,
    };
    assert_eq!(wal.last_crc(), expected_crc);
    assert_eq!(
        wal.last_synced_offset(),
        (offset >= first).then_some(offset)
    );
    assert!(matches!(
        wal.read(offset + 1),
        Err(StoreError::OffsetOutOfRange { next, .. }) if next == offset + 1
    ));
    let mut rev: Vec<Entry> = wal.iter_rev().collect::<Result<_, _>>().unwrap();
    rev.reverse();
    assert_eq!(rev, kept);
}

/// Appends `count` new entries after a truncation at `offset` and checks that they
/// chain from the kept entry's crc.
fn append_after(wal: &Wal, offset: u64, count: u64) {
    let seed = wal.last_crc().unwrap();
    let appended = append_all(wal, offset + 1..offset + 1 + count, other_payload);
    let first_new = wal.read(offset + 1).unwrap();
    assert_eq!(first_new.prev_crc, Some(seed));
    assert_eq!(first_new.crc, appended[0].crc);
    let new: Vec<Entry> = wal
        .iter_from(offset + 1)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_payloads(&new, offset + 1..offset + 1 + count, other_payload);
    assert_chain(&new, seed);
}

/// Checks every file of the log against `model` (written by `make`).
fn assert_disk_matches(dir: &Path, model: &LogModel, make: impl Fn(u64) -> Vec<u8> + Copy) {
    assert_files_match(dir, model);
    let (active, sealed) = model.segments.split_last().unwrap();
    for segment in sealed {
        assert_sealed_segment(dir, model.codec, segment, make);
    }
    assert_segment_records(dir, model.codec, active, make);
}

/// Checks a log truncated after `offset` then appended to up to `end`, and again after a
/// clean reopen.
fn assert_rewritten_log(dir: &Path, wal: Wal, offset: u64, end: u64, mut model: LogModel) {
    let all = entries(&wal);
    assert_payloads(&all, wal.first_offset()..end, rewritten(offset));
    assert_chain(&all, all[0].prev_crc.unwrap());
    for o in offset + 1..end {
        model.append(other_payload(o).len());
    }
    assert_disk_matches(dir, &model, rewritten(offset));
    let last_crc = wal.last_crc();
    wal.close().unwrap();

    let wal = Wal::open(dir, options(SEGMENT_BYTES)).unwrap();
    assert_eq!(entries(&wal), all);
    assert_eq!(wal.next_offset(), end);
    assert_eq!(wal.last_crc(), last_crc);
    wal.close().unwrap();
}

#[test]
fn truncating_in_the_middle_of_the_active_segment() {
    let dir = tempdir();
    // A length that leaves at least three entries in the active segment.
    let end = (ENTRIES..)
        .find(|&n| {
            let model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..n, payload);
            model.segments.last().unwrap().entries() >= 3
        })
        .unwrap();
    let (wal, mut model) = filled(dir.path(), &options(SEGMENT_BYTES), 0..end);
    let active = model.segments.last().unwrap().clone();
    let offset = active.base + 1;
    let before = entries(&wal);
    let bytes_before = read_data(dir.path(), active.base, Codec::V2);
    let names_before = file_names(dir.path());

    wal.truncate_after(offset).unwrap();
    assert_truncated(&wal, offset, &before);
    assert_eq!(file_names(dir.path()), names_before);
    let cut_at = model.file_offset_of(offset + 1) as usize;
    assert_zero_from(dir.path(), active.base, Codec::V2, cut_at);
    assert_eq!(
        read_data(dir.path(), active.base, Codec::V2)[..cut_at],
        bytes_before[..cut_at]
    );
    assert_eq!(wal.stats().segments, model.segments.len() as u64);

    model.truncate_after(offset);
    append_after(&wal, offset, 30);
    assert_rewritten_log(dir.path(), wal, offset, offset + 31, model);
}

#[test]
fn truncating_in_a_sealed_segment_several_segments_back() {
    let dir = tempdir();
    let (wal, mut model) = filled(dir.path(), &options(SEGMENT_BYTES), 0..ENTRIES);
    let k = model.segments.len() - 5;
    let kept = model.segments[k].clone();
    assert!(kept.entries() >= 3);
    let offset = kept.base + 1;
    let before = entries(&wal);

    wal.truncate_after(offset).unwrap();
    assert_truncated(&wal, offset, &before);
    let bases: Vec<u64> = model.bases()[..=k].to_vec();
    let data_bases: Vec<u64> = data_files(dir.path()).iter().map(|&(b, _)| b).collect();
    assert_eq!(data_bases, bases, "files of dropped segments remain");
    let index_bases: Vec<u64> = index_files(dir.path()).iter().map(|&(b, _)| b).collect();
    assert_eq!(
        index_bases,
        bases[..k],
        "the kept segment's index file remains"
    );
    assert_zero_from(
        dir.path(),
        kept.base,
        Codec::V2,
        model.file_offset_of(offset + 1) as usize,
    );
    assert_eq!(wal.stats().segments, k as u64 + 1);

    model.truncate_after(offset);
    assert_disk_matches(dir.path(), &model, payload);
    // Enough to fill the kept segment again and rotate a few times.
    append_after(&wal, offset, 40);
    assert_rewritten_log(dir.path(), wal, offset, offset + 41, model);
}

#[test]
fn truncating_at_a_segment_boundary_keeps_the_whole_sealed_segment() {
    let dir = tempdir();
    let (wal, mut model) = filled(dir.path(), &options(SEGMENT_BYTES), 0..ENTRIES);
    let k = model.segments.len() - 3;
    let kept = model.segments[k].clone();
    let offset = kept.end() - 1;
    let before = entries(&wal);
    let bytes_before = read_data(dir.path(), kept.base, Codec::V2);

    wal.truncate_after(offset).unwrap();
    assert_truncated(&wal, offset, &before);
    let bases: Vec<u64> = model.bases()[..=k].to_vec();
    let data_bases: Vec<u64> = data_files(dir.path()).iter().map(|&(b, _)| b).collect();
    assert_eq!(data_bases, bases);
    let index_bases: Vec<u64> = index_files(dir.path()).iter().map(|&(b, _)| b).collect();
    assert_eq!(index_bases, bases[..k]);
    assert_eq!(read_data(dir.path(), kept.base, Codec::V2), bytes_before);

    model.truncate_after(offset);
    append_after(&wal, offset, 25);
    assert_rewritten_log(dir.path(), wal, offset, offset + 26, model);
}

#[test]
fn truncating_before_the_first_entry_drops_everything_and_keeps_the_seed() {
    let dir = tempdir();
    let seeded = options(SEGMENT_BYTES)
        .with_first_offset(1000)
        .with_seed_crc(0xDEAD_BEEF);
    let (wal, mut model) = filled(dir.path(), &seeded, 1000..1000 + ENTRIES);
    let before = entries(&wal);

    wal.truncate_after(999).unwrap();
    assert_truncated(&wal, 999, &before);
    assert_eq!(wal.last_offset(), None);
    assert_eq!(wal.last_crc(), Some(0xDEAD_BEEF));
    assert_eq!(wal.first_offset(), 1000);
    assert_eq!(file_names(dir.path()), ["1000.txnx"]);
    assert_zero_from(dir.path(), 1000, Codec::V2, 0);
    assert_eq!(wal.stats().segments, 1);

    model.truncate_after(999);
    append_after(&wal, 999, 30);
    assert_eq!(wal.read(1000).unwrap().prev_crc, Some(0xDEAD_BEEF));
    assert_rewritten_log(dir.path(), wal, 999, 1030, model);
}

#[test]
fn truncating_everything_after_a_trim_chains_from_the_trimmed_entry() {
    let dir = tempdir();
    let (wal, model) = filled(dir.path(), &options(SEGMENT_BYTES), 0..ENTRIES);
    let first = model.segments[5].base;
    let crc_before_first = wal.read(first - 1).unwrap().crc;
    assert_eq!(wal.trim_before(first).unwrap(), 5);
    assert_eq!(wal.first_offset(), first);
    let before = entries(&wal);

    wal.truncate_after(first - 1).unwrap();
    assert_truncated(&wal, first - 1, &before);
    assert_eq!(wal.last_crc(), crc_before_first);
    assert_eq!(file_names(dir.path()), [format!("{first}.txnx")]);
    assert_zero_from(dir.path(), first, Codec::V2, 0);

    append_after(&wal, first - 1, 20);
    assert_eq!(wal.read(first).unwrap().prev_crc, crc_before_first);
    let all = entries(&wal);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    assert_eq!(wal.first_offset(), first);
    assert_eq!(entries(&wal), all);
    wal.close().unwrap();
}

#[test]
fn truncating_after_the_last_entry_changes_nothing() {
    let dir = tempdir();
    let (wal, model) = filled(dir.path(), &options(SEGMENT_BYTES), 0..ENTRIES);
    let before = entries(&wal);
    let contents: Vec<Vec<u8>> = file_names(dir.path())
        .iter()
        .map(|n| std::fs::read(dir.path().join(n)).unwrap())
        .collect();
    let last_crc = wal.last_crc();

    wal.truncate_after(ENTRIES - 1).unwrap();
    assert_eq!(entries(&wal), before);
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.last_crc(), last_crc);
    let after: Vec<Vec<u8>> = file_names(dir.path())
        .iter()
        .map(|n| std::fs::read(dir.path().join(n)).unwrap())
        .collect();
    assert_eq!(after, contents);
    assert_files_match(dir.path(), &model);

    append_all(&wal, ENTRIES..ENTRIES + 5, payload);
    assert_chain(&entries(&wal), 0);
    wal.close().unwrap();
}

#[test]
fn truncating_outside_the_log_is_out_of_range_and_changes_nothing() {
    let dir = tempdir();
    let seeded = options(SEGMENT_BYTES).with_first_offset(1000);
    let (wal, model) = filled(dir.path(), &seeded, 1000..1040);
    let before = entries(&wal);
    assert!(matches!(
        wal.truncate_after(1040),
        Err(StoreError::OffsetOutOfRange {
            offset: 1040,
            first: 1000,
            next: 1040,
            ..
        })
    ));
    assert!(matches!(
        wal.truncate_after(998),
        Err(StoreError::OffsetOutOfRange {
            offset: 998,
            first: 1000,
            next: 1040,
            ..
        })
    ));
    assert!(matches!(
        wal.truncate_after(u64::MAX),
        Err(StoreError::OffsetOutOfRange {
            offset: u64::MAX,
            ..
        })
    ));
    assert_eq!(entries(&wal), before);
    assert_files_match(dir.path(), &model);
    wal.close().unwrap();

    // On an empty log, dropping everything is a no-op.
    let empty = tempdir();
    let wal = Wal::open(empty.path(), seeded).unwrap();
    wal.truncate_after(999).unwrap();
    assert_eq!(wal.next_offset(), 1000);
    assert_eq!(wal.last_crc(), Some(0));
    wal.close().unwrap();
}

/// Truncates a log of `range` after the offset `cut` picks (from the model), drops the
/// log without closing it, and checks that a reopen shows exactly the kept entries.
fn truncate_then_crash(
    wal_options: &WalOptions,
    range: std::ops::Range<u64>,
    cut: impl Fn(&LogModel) -> u64,
) {
    let dir = tempdir();
    let (wal, mut model) = filled(dir.path(), wal_options, range);
    let offset = cut(&model);
    let before = entries(&wal);
    let kept: Vec<Entry> = before
        .iter()
        .filter(|e| e.offset <= offset)
        .cloned()
        .collect();
    wal.truncate_after(offset).unwrap();
    drop(wal);

    let wal = Wal::open(dir.path(), wal_options.clone()).unwrap();
    assert_eq!(entries(&wal), kept);
    assert_eq!(wal.next_offset(), offset + 1);
    let expected_crc = match kept.last() {
        Some(entry) => entry.crc,
        // An empty log takes its seed from the options.
        None => wal_options.codec.has_crc().then_some(wal_options.seed_crc),
    };
    assert_eq!(wal.last_crc(), expected_crc);
    model.truncate_after(offset);
    assert_disk_matches(dir.path(), &model, payload);
    if wal_options.codec.has_crc() {
        append_after(&wal, offset, 10);
    }
    wal.close().unwrap();
}

#[test]
fn entries_dropped_in_a_sealed_segment_do_not_come_back_after_a_crash() {
    truncate_then_crash(&options(SEGMENT_BYTES), 0..ENTRIES, |model| {
        model.segments[model.segments.len() - 4].base + 2
    });
}

#[test]
fn entries_dropped_in_the_active_segment_do_not_come_back_after_a_crash() {
    truncate_then_crash(&options(SEGMENT_BYTES), 0..ENTRIES, |model| {
        model.segments.last().unwrap().base
    });
}

#[test]
fn segments_dropped_at_a_boundary_do_not_come_back_after_a_crash() {
    truncate_then_crash(&options(SEGMENT_BYTES), 0..ENTRIES, |model| {
        model.segments[model.segments.len() - 3].end() - 1
    });
}

#[test]
fn a_log_truncated_to_nothing_stays_empty_after_a_crash() {
    let seeded = options(SEGMENT_BYTES)
        .with_first_offset(1000)
        .with_seed_crc(0xDEAD_BEEF);
    truncate_then_crash(&seeded, 1000..1000 + ENTRIES, |_| 999);
}

/// v1 records have no checksum: only the zeros written over the dropped records keep
/// them from being read back.
#[test]
fn dropped_v1_entries_do_not_come_back_after_a_crash() {
    let v1 = options(SEGMENT_BYTES).with_codec(Codec::V1);
    truncate_then_crash(&v1, 0..ENTRIES, |model| {
        model.segments[model.segments.len() - 4].base + 2
    });
    truncate_then_crash(&v1, 0..ENTRIES, |model| model.segments.last().unwrap().base);
}

#[test]
fn dropped_unsynced_entries_do_not_come_back_after_a_crash() {
    let dir = tempdir();
    let manual = options(SEGMENT_BYTES).with_sync_policy(SyncPolicy::Manual);
    let wal = Wal::open(dir.path(), manual.clone()).unwrap();
    append_all(&wal, 0..60, payload);
    wal.sync().unwrap();
    let kept: Vec<Entry> = entries(&wal)
        .into_iter()
        .filter(|e| e.offset <= 20)
        .collect();
    // More entries, never synced, then a cut below all of them.
    append_all(&wal, 60..90, payload);
    wal.truncate_after(20).unwrap();
    drop(wal);

    let wal = Wal::open(dir.path(), manual).unwrap();
    assert_eq!(entries(&wal), kept);
    assert_eq!(wal.next_offset(), 21);
    let mut model = LogModel::of(Codec::V2, SEGMENT_BYTES, 0..90, payload);
    model.truncate_after(20);
    assert_disk_matches(dir.path(), &model, payload);
    wal.close().unwrap();
}

/// The same payloads appended again after a cut make the very same bytes (the chain
/// restarts from the same crc); a second cut must still remove them for good.
fn rewrite_the_same_tail_twice(segment_bytes: u32, segments: usize) {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options(segment_bytes)).unwrap();
    // 37-byte records: one per segment when segments are 64 bytes.
    let [a, b, c] = [
        b"A-entry-0-------------".as_slice(),
        b"B-entry-1-------------",
        b"C-entry-2-------------",
    ];
    let first = wal.append(a).unwrap();
    let b_crc = wal.append(b).unwrap().crc;
    let c_crc = wal.append(c).unwrap().crc;
    wal.sync().unwrap();
    assert_eq!(data_files(dir.path()).len(), segments);

    wal.truncate_after(first.offset).unwrap();
    assert_eq!(wal.append(b).unwrap().crc, b_crc);
    assert_eq!(wal.append(c).unwrap().crc, c_crc);
    assert_eq!(data_files(dir.path()).len(), segments);
    wal.truncate_after(first.offset).unwrap();
    drop(wal);

    let wal = Wal::open(dir.path(), options(segment_bytes)).unwrap();
    let all = entries(&wal);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].payload, a);
    assert_eq!(all[0].crc, first.crc);
    assert_eq!(wal.next_offset(), 1);
    assert_eq!(wal.last_crc(), first.crc);
    assert_eq!(file_names(dir.path()), ["0.txnx"]);
    assert_zero_from(dir.path(), 0, Codec::V2, 12 + a.len());
    let again = wal.append(b"D-entry-1-------------").unwrap();
    assert_eq!(again.offset, 1);
    assert_eq!(wal.read(1).unwrap().prev_crc, first.crc);
    wal.close().unwrap();
}

#[test]
fn a_tail_rewritten_with_the_same_payloads_and_cut_again_stays_cut() {
    rewrite_the_same_tail_twice(4096, 1);
}

#[test]
fn a_tail_rewritten_across_segments_and_cut_again_stays_cut() {
    // One record per segment: B and C go to segments of their own each time.
    rewrite_the_same_tail_twice(64, 3);
}
