//! Size limits and retention in the store: reaching `max_segments` or `max_log_bytes` is
//! backpressure ([`StoreError::AtCapacity`], nothing appended, the log not poisoned),
//! never a silent drop; a retention hook lets the store remove exactly the sealed
//! segments wholly below what the consumers still need, and nothing else.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use common_a::{file_names, tempdir};
use wal_store::format::Codec;
use wal_store::{Retention, RetentionHook, StoreError, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 256;
/// Payload bytes of every entry here: records of 50 bytes, five to a segment.
const PAYLOAD_BYTES: usize = 50 - 12;
const PER_SEGMENT: u64 = 5;
/// A data file's length: the segment size and one byte more.
const FILE_BYTES: u64 = SEGMENT_BYTES as u64 + 1;

fn payload(offset: u64) -> Vec<u8> {
    let mut bytes = format!("entry {offset:08}").into_bytes();
    bytes.resize(PAYLOAD_BYTES, b'.');
    bytes
}

fn options() -> WalOptions {
    WalOptions::default().with_segment_bytes(SEGMENT_BYTES)
}

/// A hook reading what a test's consumer publishes, and counting its calls.
fn hook(needed_from: &Arc<AtomicU64>, calls: &Arc<AtomicUsize>) -> RetentionHook {
    let (needed_from, calls) = (Arc::clone(needed_from), Arc::clone(calls));
    RetentionHook::new(move || {
        calls.fetch_add(1, Ordering::Relaxed);
        needed_from.load(Ordering::Acquire)
    })
}

/// Appends the next `count` entries; every one must succeed.
fn append(wal: &Wal, count: u64) {
    for _ in 0..count {
        let offset = wal.next_offset();
        assert_eq!(wal.append(&payload(offset)).unwrap().offset, offset);
    }
}

/// Bases of the segments whose data files are in `dir`.
fn bases(dir: &Path) -> Vec<u64> {
    common_a::data_files(dir)
        .into_iter()
        .map(|(base, _)| base)
        .collect()
}

/// Every entry from `first` to the end must be there, with its payload, in order.
fn assert_entries(wal: &Wal, first: u64) {
    let offsets: Vec<u64> = wal.iter().map(|e| e.unwrap().offset).collect();
    let expected: Vec<u64> = (first..wal.next_offset()).collect();
    assert_eq!(offsets, expected);
    for offset in expected {
        assert_eq!(wal.read(offset).unwrap().payload, payload(offset));
    }
}

#[test]
fn records_are_fifty_bytes_five_to_a_segment() {
    assert_eq!(Codec::V2.record_bytes(PAYLOAD_BYTES), Some(50));
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options()).unwrap();
    append(&wal, 2 * PER_SEGMENT + 1);
    assert_eq!(bases(dir.path()), [0, 5, 10]);
}

/// Without a hook nothing may be removed: the append that needs a segment past the limit
/// fails, appends nothing, changes no file, and the log goes on once the caller trims.
#[test]
fn without_a_hook_the_limit_is_at_capacity_until_the_caller_trims() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options().with_max_segments(3)).unwrap();
    append(&wal, 3 * PER_SEGMENT);
    let files = file_names(dir.path());
    let refused = wal.append(&payload(15)).unwrap_err();
    match &refused {
        StoreError::AtCapacity {
            limit,
            max,
            held,
            needed,
            first_offset,
            needed_from,
        } => {
            assert_eq!(
                (*limit, *max, *held, *needed, *first_offset, *needed_from),
                ("max_segments", 3, 3, 1, 0, None)
            );
        }
        other => panic!("expected AtCapacity, got {other:?}"),
    }
    assert!(
        refused.to_string().contains("max_segments is 3"),
        "{refused}"
    );
    assert_eq!(wal.next_offset(), 15);
    assert_eq!(file_names(dir.path()), files);
    assert_entries(&wal, 0);
    // Not poisoned: syncs work, and after a trim the same append succeeds.
    wal.sync().unwrap();
    assert_eq!(wal.trim_before(5).unwrap(), 1);
    assert_eq!(wal.append(&payload(15)).unwrap().offset, 15);
    assert_eq!(bases(dir.path()), [5, 10, 15]);
    assert_entries(&wal, 5);
    wal.close().unwrap();
}

/// `max_log_bytes` counts each data file at its allocated length, full or not.
#[test]
fn max_log_bytes_counts_data_files_as_allocated() {
    let dir = tempdir();
    let options = options().with_max_log_bytes(3 * FILE_BYTES + FILE_BYTES / 2);
    let wal = Wal::open(dir.path(), options).unwrap();
    append(&wal, 3 * PER_SEGMENT);
    match wal.append(&payload(15)).unwrap_err() {
        StoreError::AtCapacity {
            limit,
            held,
            needed,
            ..
        } => assert_eq!(
            (limit, held, needed),
            ("max_log_bytes", 3 * FILE_BYTES, FILE_BYTES)
        ),
        other => panic!("expected AtCapacity, got {other:?}"),
    }
    assert_eq!(wal.next_offset(), 15);
    assert_entries(&wal, 0);
}

/// The hook is asked only when a limit is reached, and retention removes exactly the
/// sealed segments wholly below its answer: the segment holding the next entry the
/// consumers need stays, and so does every later one.
#[test]
fn retention_removes_exactly_the_segments_wholly_below_what_is_needed() {
    let dir = tempdir();
    let (needed_from, calls) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(0)));
    let options = options()
        .with_max_segments(4)
        .with_retention_hook(hook(&needed_from, &calls));
    let wal = Wal::open(dir.path(), options).unwrap();
    append(&wal, 4 * PER_SEGMENT);
    assert_eq!(calls.load(Ordering::Relaxed), 0, "asked below the limit");
    // Entries 0..=11 consumed: 12 is needed, in segment 10.
    needed_from.store(12, Ordering::Release);
    append(&wal, 1);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(bases(dir.path()), [10, 15, 20]);
    assert_eq!(wal.first_offset(), 10);
    assert_entries(&wal, 10);
    // An answer exactly at a segment's base removes the segments before it, not it.
    needed_from.store(15, Ordering::Release);
    append(&wal, 2 * PER_SEGMENT - 1);
    append(&wal, 1);
    assert_eq!(bases(dir.path()), [15, 20, 25, 30]);
    assert_entries(&wal, 15);
    // Trimmed offsets stay where they were after a restart.
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), self::options()).unwrap();
    assert_eq!((wal.first_offset(), wal.next_offset()), (15, 31));
    assert_entries(&wal, 15);
}

/// Backpressure with a consumer that catches up: appends fail while it lags, its progress
/// makes room, and every entry ever acknowledged is read by it, in order, once.
#[test]
fn backpressure_until_the_consumer_catches_up() {
    let dir = tempdir();
    let (needed_from, calls) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(0)));
    let options = options()
        .with_max_segments(3)
        .with_retention_hook(hook(&needed_from, &calls));
    let wal = Wal::open(dir.path(), options).unwrap();
    let mut acknowledged = Vec::new();
    let mut consumed = Vec::new();
    let mut refusals = 0;
    while acknowledged.len() < 60 {
        let offset = wal.next_offset();
        match wal.append(&payload(offset)) {
            Ok(appended) => acknowledged.push(appended.offset),
            Err(StoreError::AtCapacity {
                needed_from: Some(from),
                ..
            }) => {
                refusals += 1;
                assert!(refusals < 100, "the consumer's progress never made room");
                assert_eq!(from, needed_from.load(Ordering::Acquire));
                assert_eq!(wal.next_offset(), offset, "a refused append appended");
                // The consumer reads what it has not read yet, then says so.
                for entry in wal.iter_from(from).unwrap() {
                    let entry = entry.unwrap();
                    assert_eq!(entry.payload, payload(entry.offset));
                    consumed.push(entry.offset);
                }
                needed_from.store(wal.next_offset(), Ordering::Release);
            }
            Err(other) => panic!("append {offset}: {other}"),
        }
    }
    assert!(refusals >= 3, "only {refusals} refusals");
    consumed.extend(
        wal.iter_from(needed_from.load(Ordering::Acquire))
            .unwrap()
            .map(|e| e.unwrap().offset),
    );
    assert_eq!(consumed, acknowledged);
    assert!(bases(dir.path()).len() <= 3);
}

/// A batch the limits cannot take appends none of its entries; one they can take,
/// across rotations, appends all.
#[test]
fn a_batch_is_refused_whole_or_appended_whole() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), options().with_max_segments(4)).unwrap();
    append(&wal, 3);
    // Two more fit in segment 0, then segment 5 and 10: three segments.
    let batch: Vec<Vec<u8>> = (3..15).map(payload).collect();
    wal.append_batch(&batch).unwrap();
    assert_eq!(bases(dir.path()), [0, 5, 10]);
    // Needs segments 15 and 20: one too many. Nothing of it may be appended.
    let files = file_names(dir.path());
    let batch: Vec<Vec<u8>> = (15..21).map(payload).collect();
    assert!(matches!(
        wal.append_batch(&batch),
        Err(StoreError::AtCapacity {
            held: 3,
            needed: 2,
            ..
        })
    ));
    assert_eq!(wal.next_offset(), 15);
    assert_eq!(file_names(dir.path()), files);
    assert_entries(&wal, 0);
    // Exactly the one segment left: taken.
    let batch: Vec<Vec<u8>> = (15..20).map(payload).collect();
    wal.append_batch(&batch).unwrap();
    assert_eq!(bases(dir.path()), [0, 5, 10, 15]);
    assert_entries(&wal, 0);
}

/// An entry larger than a segment grows an empty segment: the growth counts against
/// `max_log_bytes` like a new file (with the seal's new file after it).
#[test]
fn a_grown_segment_counts_its_growth() {
    let dir = tempdir();
    let options = options()
        .with_max_entry_bytes(4096)
        .with_max_log_bytes(3 * FILE_BYTES);
    let wal = Wal::open(dir.path(), options).unwrap();
    let large = vec![7u8; 1000];
    match wal.append(&large).unwrap_err() {
        StoreError::AtCapacity {
            limit,
            held,
            needed,
            ..
        } => {
            assert_eq!((limit, held), ("max_log_bytes", FILE_BYTES));
            // The growth, and the seal that follows a record past the segment size.
            assert_eq!(needed, (1012 + 1 - FILE_BYTES) + FILE_BYTES);
        }
        other => panic!("expected AtCapacity, got {other:?}"),
    }
    assert_eq!(wal.next_offset(), 0);
    append(&wal, 1);
}

/// `Retention::AtEveryRotation` removes consumed segments at each rotation, below any
/// limit; the default waits for a limit, and without a limit never removes anything.
#[test]
fn eager_retention_removes_consumed_segments_at_every_rotation() {
    for (retention, expected) in [
        (Retention::AtEveryRotation, vec![10, 15]),
        (Retention::WhenFull, vec![0, 5, 10, 15]),
    ] {
        let dir = tempdir();
        let (needed_from, calls) = (Arc::new(AtomicU64::new(12)), Arc::new(AtomicUsize::new(0)));
        let options = options()
            .with_retention(retention)
            .with_retention_hook(hook(&needed_from, &calls));
        let wal = Wal::open(dir.path(), options).unwrap();
        append(&wal, 3 * PER_SEGMENT + 1);
        assert_eq!(bases(dir.path()), expected, "{retention:?}");
        let asked = if retention == Retention::AtEveryRotation {
            3
        } else {
            0
        };
        assert_eq!(calls.load(Ordering::Relaxed), asked, "{retention:?}");
        assert_entries(&wal, expected[0]);
    }
}

#[test]
fn limits_leave_room_for_a_rotation() {
    let dir = tempdir();
    for options in [
        options().with_max_segments(1),
        options().with_max_segments(0),
        options().with_max_log_bytes(2 * FILE_BYTES - 1),
    ] {
        assert!(matches!(
            Wal::open(dir.path(), options),
            Err(StoreError::InvalidOption { .. })
        ));
    }
    Wal::open(
        dir.path(),
        options()
            .with_max_segments(2)
            .with_max_log_bytes(2 * FILE_BYTES),
    )
    .unwrap();
}

/// Only what an append adds counts: an empty segment already large enough for a large
/// entry (one grown earlier, emptied by a truncation) takes it with no new bytes, even in
/// a log that a lowered limit finds already full.
#[test]
fn an_append_that_adds_no_bytes_is_not_refused() {
    let dir = tempdir();
    let options = options().with_max_entry_bytes(4096).with_first_offset(1);
    let wal = Wal::open(dir.path(), options.clone()).unwrap();
    let large = vec![7u8; 1000];
    wal.append(&large).unwrap();
    wal.truncate_after(0).unwrap();
    assert_eq!((wal.first_offset(), wal.next_offset()), (1, 1));
    wal.close().unwrap();
    // The grown file already takes the entry: only the seal after it, one segment's
    // file, is asked for, and a limit that has no room for it refuses the append.
    let lowered = options.clone().with_max_log_bytes(2 * FILE_BYTES);
    let wal = Wal::open(dir.path(), lowered).unwrap();
    match wal.append(&large).unwrap_err() {
        StoreError::AtCapacity { limit, needed, .. } => {
            assert_eq!((limit, needed), ("max_log_bytes", FILE_BYTES));
        }
        other => panic!("expected AtCapacity, got {other:?}"),
    }
    wal.close().unwrap();
    // Room for the grown file as it is and the seal: no growth is counted.
    let grown = 1012 + 1;
    let wal = Wal::open(dir.path(), options.with_max_log_bytes(grown + FILE_BYTES)).unwrap();
    assert_eq!(wal.append(&large).unwrap().offset, 1);
    assert_eq!(wal.read(1).unwrap().payload, large);
}

/// Payload bytes of an entry three and a half segments long (a record of 896 bytes).
const LARGE_PAYLOAD_BYTES: usize = 896 - 12;
/// The data file grown for it.
const LARGE_FILE_BYTES: u64 = 896 + 1;

/// The segments' data file lengths, by base.
fn file_lengths(dir: &Path) -> Vec<(u64, u64)> {
    common_a::data_files(dir)
        .into_iter()
        .map(|(base, codec)| (base, common_a::read_data(dir, base, codec).len() as u64))
        .collect()
}

/// An entry larger than a segment takes a grown segment and then the seal right after
/// it: a single append asks room for both, as a batch does, and a limit with room for
/// the growth but not for the seal refuses it whole. Accepting it would leave the last
/// segment holding a record past the segment size, and every later append refused,
/// for good: each needs a new segment, and retention never removes the active one.
#[test]
fn a_large_entry_is_refused_when_its_seal_has_no_room() {
    let dir = tempdir();
    let (needed_from, calls) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(0)));
    let options = options()
        .with_max_entry_bytes(4096)
        .with_max_log_bytes(4 * FILE_BYTES)
        .with_retention_hook(hook(&needed_from, &calls));
    let wal = Wal::open(dir.path(), options).unwrap();
    let large = vec![7u8; LARGE_PAYLOAD_BYTES];
    let growth = LARGE_FILE_BYTES - FILE_BYTES;
    assert!(
        FILE_BYTES + growth <= 4 * FILE_BYTES,
        "the growth alone fits"
    );
    for refused in [
        wal.append(&large).unwrap_err(),
        wal.append_batch(&[&large]).unwrap_err(),
    ] {
        match refused {
            StoreError::AtCapacity {
                limit,
                held,
                needed,
                ..
            } => {
                assert_eq!((limit, held), ("max_log_bytes", FILE_BYTES));
                assert_eq!(needed, growth + FILE_BYTES);
            }
            other => panic!("expected AtCapacity, got {other:?}"),
        }
    }
    assert_eq!(wal.next_offset(), 0);
    assert_eq!(file_lengths(dir.path()), [(0, FILE_BYTES)]);
    // The log is not wedged: it fills and, consumed, makes room as before.
    append(&wal, 4 * PER_SEGMENT);
    needed_from.store(wal.next_offset(), Ordering::Release);
    append(&wal, 2 * PER_SEGMENT);
    assert_entries(&wal, wal.first_offset());
}

/// With room for the seal too, the large entry is appended and its segment sealed at
/// once; consumed, it is removed like any other, and the log goes on.
#[test]
fn a_large_entry_with_room_for_its_seal_is_appended_and_sealed() {
    let dir = tempdir();
    let (needed_from, calls) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(0)));
    let options = options()
        .with_max_entry_bytes(4096)
        .with_max_log_bytes(LARGE_FILE_BYTES + FILE_BYTES)
        .with_retention_hook(hook(&needed_from, &calls));
    let wal = Wal::open(dir.path(), options).unwrap();
    let large = vec![7u8; LARGE_PAYLOAD_BYTES];
    assert_eq!(wal.append(&large).unwrap().offset, 0);
    assert_eq!(
        file_lengths(dir.path()),
        [(0, LARGE_FILE_BYTES), (1, FILE_BYTES)]
    );
    append(&wal, PER_SEGMENT);
    assert!(matches!(
        wal.append(&payload(wal.next_offset())),
        Err(StoreError::AtCapacity { .. })
    ));
    needed_from.store(wal.next_offset(), Ordering::Release);
    append(&wal, 2 * PER_SEGMENT);
    assert_entries(&wal, 1);
}

/// A truncation that makes a grown segment active again seals it at once: the segments
/// it dropped (at least the seal that followed it) free the room the seal takes, so the
/// log goes on appending under the same limit.
#[test]
fn a_truncation_back_into_a_grown_segment_seals_it_within_the_limit() {
    let dir = tempdir();
    let options = options()
        .with_max_entry_bytes(4096)
        .with_max_log_bytes(LARGE_FILE_BYTES + 2 * FILE_BYTES);
    let wal = Wal::open(dir.path(), options).unwrap();
    let large = vec![7u8; LARGE_PAYLOAD_BYTES];
    wal.append(&large).unwrap();
    append(&wal, PER_SEGMENT + 1);
    assert_eq!(bases(dir.path()), [0, 1, 6]);
    assert!(matches!(
        wal.append_batch(&vec![payload(7); 5]),
        Err(StoreError::AtCapacity { .. })
    ));
    wal.truncate_after(0).unwrap();
    assert_eq!(
        file_lengths(dir.path()),
        [(0, LARGE_FILE_BYTES), (1, FILE_BYTES)]
    );
    append(&wal, PER_SEGMENT + 1);
    assert_eq!(bases(dir.path()), [0, 1, 6]);
    assert_eq!(wal.read(0).unwrap().payload, large);
    assert_eq!(wal.next_offset(), PER_SEGMENT + 2);
}
