//! Every bad argument gets a typed error and changes nothing: the log holds what it held,
//! the next append gets the offset it would have got, and the log stays usable.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows unwrap only inside #[test] functions)"
)]

mod common_b;

use std::path::Path;
use std::time::Duration;

use common_b::{assert_out_of_range, contents, snapshot};
use wal_store::format::{Codec, FileOffset, FormatError};
use wal_store::{MIN_SEGMENT_BYTES, StoreError, SyncPolicy, Wal, WalOptions};

/// The log of most tests starts here, so that "before the first entry" exists.
const FIRST: u64 = 10;

fn options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(64 * 1024)
        .with_first_offset(FIRST)
}

/// A log holding entries 10, 11 and 12.
fn log_of_three(dir: &Path) -> Wal {
    let wal = Wal::open(dir, options()).unwrap();
    for payload in [&b"ten"[..], b"eleven", b"twelve"] {
        wal.append(payload).unwrap();
    }
    wal
}

fn expected_three() -> Vec<(u64, Vec<u8>)> {
    vec![
        (10, b"ten".to_vec()),
        (11, b"eleven".to_vec()),
        (12, b"twelve".to_vec()),
    ]
}

/// The log still takes an append, at `next`, and reads it back.
fn assert_usable(wal: &Wal, next: u64) {
    assert_eq!(wal.next_offset(), next);
    let appended = wal.append(b"usable").unwrap();
    assert_eq!(appended.offset, next);
    assert_eq!(wal.read(next).unwrap().payload, b"usable");
}

fn assert_invalid_option(options: WalOptions, name: &str) {
    let parent = wal_testkit::tempdir();
    let dir = parent.path().join("wal");
    match Wal::open(&dir, options) {
        Err(StoreError::InvalidOption { name: got, .. }) => assert_eq!(got, name),
        other => panic!("expected InvalidOption {name}, got {other:?}"),
    }
    assert!(!dir.exists(), "a refused open created {}", dir.display());
}

#[test]
fn empty_payload_is_refused_and_appends_nothing() {
    let dir = wal_testkit::tempdir();
    let wal = log_of_three(dir.path());
    assert!(matches!(wal.append(b""), Err(StoreError::EmptyPayload)));
    assert_eq!(contents(&wal), expected_three());
    assert_eq!(wal.stats().entries_appended, 3);
    assert_usable(&wal, 13);
}

#[test]
fn empty_batch_is_refused() {
    let dir = wal_testkit::tempdir();
    let wal = log_of_three(dir.path());
    let empty: [&[u8]; 0] = [];
    assert!(matches!(
        wal.append_batch(&empty),
        Err(StoreError::EmptyBatch)
    ));
    assert_eq!(contents(&wal), expected_three());
    assert_usable(&wal, 13);
}

#[test]
fn batch_with_one_empty_payload_appends_none_of_it() {
    let dir = wal_testkit::tempdir();
    let wal = log_of_three(dir.path());
    let batch: [&[u8]; 3] = [b"first", b"", b"third"];
    assert!(matches!(
        wal.append_batch(&batch),
        Err(StoreError::EmptyPayload)
    ));
    assert_eq!(contents(&wal), expected_three());
    assert_eq!(wal.stats().entries_appended, 3);
    assert_usable(&wal, 13);
}

#[test]
fn batch_with_one_oversized_payload_appends_none_of_it() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), options().with_max_entry_bytes(8)).unwrap();
    let batch: [&[u8]; 3] = [b"fits", b"does not fit", b"fits too"];
    match wal.append_batch(&batch) {
        Err(StoreError::EntryTooLarge { size, max }) => assert_eq!((size, max), (12, 8)),
        other => panic!("expected EntryTooLarge, got {other:?}"),
    }
    assert_eq!(contents(&wal), []);
    assert_usable(&wal, FIRST);
}

#[test]
fn payload_above_max_entry_bytes_is_refused() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), options().with_max_entry_bytes(16)).unwrap();
    match wal.append(&[7u8; 17]) {
        Err(StoreError::EntryTooLarge { size, max }) => assert_eq!((size, max), (17, 16)),
        other => panic!("expected EntryTooLarge, got {other:?}"),
    }
    assert_eq!(contents(&wal), []);
    assert_eq!(wal.append(&[7u8; 16]).unwrap().offset, FIRST);
    assert_eq!(contents(&wal), [(FIRST, vec![7u8; 16])]);
    assert_usable(&wal, FIRST + 1);
}

#[test]
fn invalid_options_are_refused_before_the_directory_is_touched() {
    assert_invalid_option(
        options().with_segment_bytes(MIN_SEGMENT_BYTES - 1),
        "segment_bytes",
    );
    assert_invalid_option(options().with_segment_bytes(0), "segment_bytes");
    assert_invalid_option(options().with_max_entry_bytes(0), "max_entry_bytes");
    for codec in [Codec::V1, Codec::V2] {
        assert_invalid_option(
            options()
                .with_codec(codec)
                .with_max_entry_bytes(codec.max_payload_bytes() + 1),
            "max_entry_bytes",
        );
    }
    assert_invalid_option(
        options().with_sync_policy(SyncPolicy::Interval(Duration::ZERO)),
        "sync_policy",
    );
    assert_invalid_option(options().with_first_offset(u64::MAX), "first_offset");
}

#[test]
fn limits_of_the_options_are_accepted() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(
        dir.path(),
        options()
            .with_segment_bytes(MIN_SEGMENT_BYTES)
            .with_max_entry_bytes(Codec::V2.max_payload_bytes()),
    )
    .unwrap();
    assert_usable(&wal, FIRST);
}

#[test]
fn a_log_at_the_largest_offset_refuses_to_wrap() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), options().with_first_offset(u64::MAX - 1)).unwrap();
    assert_eq!(wal.append(b"last").unwrap().offset, u64::MAX - 1);
    assert_out_of_range(wal.append(b"one too many"), u64::MAX);
    assert_out_of_range(wal.append_batch(&[b"one too many"]), u64::MAX);
    assert_eq!(contents(&wal), [(u64::MAX - 1, b"last".to_vec())]);
    assert_eq!(wal.next_offset(), u64::MAX);
}

#[test]
fn batch_that_would_pass_the_largest_offset_appends_none_of_it() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), options().with_first_offset(u64::MAX - 1)).unwrap();
    // Room for one entry, not two: the batch is refused as a whole.
    let batch: [&[u8]; 2] = [b"fits", b"does not"];
    assert_out_of_range(wal.append_batch(&batch), u64::MAX);
    assert_eq!(contents(&wal), []);
    assert_eq!(wal.next_offset(), u64::MAX - 1);
    assert_usable(&wal, u64::MAX - 1);
}

#[test]
fn read_outside_the_log_is_out_of_range() {
    let dir = wal_testkit::tempdir();
    let wal = log_of_three(dir.path());
    for offset in [0, FIRST - 1, 13, 14, u64::MAX] {
        match wal.read(offset) {
            Err(StoreError::OffsetOutOfRange {
                offset: got,
                first,
                next,
                ..
            }) => assert_eq!((got, first, next), (offset, FIRST, 13)),
            other => panic!("read({offset}): expected OffsetOutOfRange, got {other:?}"),
        }
    }
    assert_eq!(contents(&wal), expected_three());
    assert_usable(&wal, 13);
}

#[test]
fn iter_from_outside_the_log_is_out_of_range() {
    let dir = wal_testkit::tempdir();
    let wal = log_of_three(dir.path());
    for offset in [0, FIRST - 1, 14, u64::MAX] {
        assert_out_of_range(wal.iter_from(offset), offset);
    }
    // The end itself is a valid start: nothing to read yet.
    assert_eq!(wal.iter_from(13).unwrap().count(), 0);
    assert_eq!(contents(&wal), expected_three());
    assert_usable(&wal, 13);
}

#[test]
fn truncate_after_outside_the_log_is_refused() {
    let dir = wal_testkit::tempdir();
    let wal = log_of_three(dir.path());
    for offset in [13, 14, u64::MAX, FIRST - 2, 0] {
        assert_out_of_range(wal.truncate_after(offset), offset);
        assert_eq!(
            contents(&wal),
            expected_three(),
            "after truncate_after({offset})"
        );
    }
    // The last entry is accepted and changes nothing.
    wal.truncate_after(12).unwrap();
    assert_eq!(contents(&wal), expected_three());
    assert_usable(&wal, 13);
}

#[test]
fn trim_before_past_the_next_offset_is_refused() {
    let dir = wal_testkit::tempdir();
    let wal = log_of_three(dir.path());
    for offset in [14, u64::MAX] {
        assert_out_of_range(wal.trim_before(offset), offset);
        assert_eq!(
            contents(&wal),
            expected_three(),
            "after trim_before({offset})"
        );
    }
    // The next offset is accepted: every entry goes (the trim is logical), the active
    // segment stays, and the log continues at 13.
    assert_eq!(wal.trim_before(13).unwrap(), 0);
    assert_eq!(contents(&wal), []);
    assert_eq!(wal.first_offset(), 13);
    assert_usable(&wal, 13);
}

#[test]
fn opening_a_regular_file_is_an_io_error() {
    let dir = wal_testkit::tempdir();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"some bytes").unwrap();
    match Wal::open(&file, options()) {
        Err(StoreError::Io { path, .. }) => assert!(path.starts_with(&file), "{path:?}"),
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"some bytes");
    assert_eq!(common_b::file_names(dir.path()), ["not-a-directory"]);
}

#[test]
fn opening_a_damaged_log_needs_recovery_and_changes_no_file() {
    // 40-byte payloads make 52-byte v2 records: four fit in a 256-byte segment, so 11
    // entries make segments 0 (0..=3), 4 (4..=7) and the active segment 8 (8..=10).
    const PAYLOAD_BYTES: usize = 40;
    const RECORD_BYTES: usize = 12 + PAYLOAD_BYTES;
    let dir = wal_testkit::tempdir();
    let options = WalOptions::default().with_segment_bytes(256);
    let wal = Wal::open(dir.path(), options.clone()).unwrap();
    for i in 0..11u8 {
        wal.append(&[i; PAYLOAD_BYTES]).unwrap();
    }
    // Synced, then dropped as in a crash: no close record, so opening scans the active
    // segment (after a clean close the damage is found by the read instead:
    // tests/close_record.rs).
    wal.sync().unwrap();
    drop(wal);
    let active = dir.path().join("8.txnx");
    assert!(active.exists());
    assert!(!dir.path().join("8.idxx").exists());

    // Flip a payload byte of entry 9, the middle record of the active segment.
    wal_testkit::flip_byte(&active, RECORD_BYTES + 12 + 5);
    let damaged = snapshot(dir.path());

    for _ in 0..2 {
        match Wal::open(dir.path(), options.clone()) {
            Err(StoreError::NeedsRecovery { segment, problem }) => {
                assert_eq!(segment, 8);
                assert!(
                    matches!(
                        problem,
                        FormatError::ChecksumMismatch {
                            file_offset: FileOffset(52),
                            ..
                        }
                    ),
                    "{problem:?}"
                );
            }
            other => panic!("expected NeedsRecovery, got {other:?}"),
        }
        assert_eq!(snapshot(dir.path()), damaged);
    }
}

#[test]
fn two_codecs_for_one_segment_is_a_layout_error() {
    let v1_dir = wal_testkit::tempdir();
    let v1 = Wal::open(
        v1_dir.path(),
        WalOptions::default()
            .with_codec(Codec::V1)
            .with_segment_bytes(4096),
    )
    .unwrap();
    v1.append(b"old").unwrap();
    v1.close().unwrap();

    let dir = wal_testkit::tempdir();
    let options = WalOptions::default().with_segment_bytes(4096);
    let wal = Wal::open(dir.path(), options.clone()).unwrap();
    wal.append(b"new").unwrap();
    wal.close().unwrap();
    std::fs::copy(v1_dir.path().join("0.txn"), dir.path().join("0.txn")).unwrap();
    assert!(dir.path().join("0.txnx").exists());
    let before = snapshot(dir.path());

    match Wal::open(dir.path(), options) {
        Err(StoreError::Layout { segment, .. }) => assert_eq!(segment, 0),
        other => panic!("expected Layout, got {other:?}"),
    }
    assert_eq!(snapshot(dir.path()), before);
}
