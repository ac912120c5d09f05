//! Through the front door, retention follows the consumer's cursor: a log at its size
//! limit refuses appends (`AtCapacity`, backpressure) until the cursor moves on, then
//! removes exactly the segments wholly at or before the cursor, keeping the one that
//! holds the entry after it; nothing unread is ever removed, across restarts too.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wal_recovery::{Error, Log, RecoveryOptions, Retention, RetentionHook, StoreError, WalOptions};
use wal_store::format::Codec;

const SEGMENT_BYTES: u32 = 256;
/// Payload bytes of every entry here: records of 50 bytes, five to a segment.
const PAYLOAD_BYTES: usize = 50 - 12;

fn payload(offset: u64) -> Vec<u8> {
    let mut bytes = format!("entry {offset:08}").into_bytes();
    bytes.resize(PAYLOAD_BYTES, b'.');
    bytes
}

fn options(wal: WalOptions) -> RecoveryOptions {
    RecoveryOptions::default().with_wal(wal.with_segment_bytes(SEGMENT_BYTES))
}

fn open(dir: &Path, wal: WalOptions) -> Log {
    wal_recovery::open(dir, options(wal)).unwrap().log
}

/// Base offsets of the data files in `dir`.
fn bases(dir: &Path) -> Vec<u64> {
    let mut bases: Vec<u64> = wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|(base, _)| base)
        .collect();
    bases.sort_unstable();
    bases
}

fn append(log: &Log, count: u64) {
    for _ in 0..count {
        let offset = log.next_offset();
        assert_eq!(log.append(&payload(offset)).unwrap().offset, offset);
    }
}

fn replayed(log: &Log) -> Vec<u64> {
    log.replay()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            assert_eq!(entry.payload, payload(entry.offset));
            entry.offset
        })
        .collect()
}

#[test]
fn records_are_fifty_bytes() {
    assert_eq!(Codec::V2.record_bytes(PAYLOAD_BYTES), Some(50));
}

/// At the limit with no cursor, nothing is removed: the append is refused, naming what
/// the consumers need. Once the cursor moves, exactly the segments wholly at or before it
/// go, and the refused append succeeds.
#[test]
fn retention_removes_exactly_the_segments_below_the_cursor() {
    let dir = wal_testkit::scratch_dir("wal-retention-");
    let log = open(dir.path(), WalOptions::default().with_max_segments(3));
    append(&log, 15);
    match log.append(&payload(15)) {
        Err(Error::Store(StoreError::AtCapacity {
            limit: "max_segments",
            needed_from: Some(0),
            ..
        })) => {}
        other => panic!("expected AtCapacity, got {other:?}"),
    }
    assert_eq!(bases(dir.path()), [0, 5, 10]);
    // Entry 6 finalized: 7, in segment 5, is the next the consumer needs.
    log.set_cursor(6).unwrap();
    append(&log, 1);
    assert_eq!(bases(dir.path()), [5, 10, 15]);
    assert_eq!(log.first_offset(), 5);
    assert_eq!(replayed(&log), (7..16).collect::<Vec<_>>());
    // A cursor on a segment's last entry releases that segment too.
    log.set_cursor(9).unwrap();
    append(&log, 5);
    assert_eq!(bases(dir.path()), [10, 15, 20]);
    assert_eq!(replayed(&log), (10..21).collect::<Vec<_>>());
    log.close().unwrap();
    // After a restart the cursor still holds retention where it was.
    let log = open(dir.path(), WalOptions::default().with_max_segments(3));
    assert_eq!(replayed(&log), (10..21).collect::<Vec<_>>());
    append(&log, 4);
    assert!(matches!(
        log.append(&payload(25)),
        Err(Error::Store(StoreError::AtCapacity {
            needed_from: Some(10),
            ..
        }))
    ));
    assert_eq!(bases(dir.path()), [10, 15, 20]);
}

/// Backpressure with a consumer that catches up, and crashes in between: appends fail
/// while the consumer lags, its cursor makes room, and every entry ever acknowledged is
/// handed to the consumer, in order, exactly once.
#[test]
fn capacity_backpressure_with_a_consumer_that_catches_up() {
    let dir = wal_testkit::scratch_dir("wal-retention-");
    let limits = WalOptions::default().with_max_log_bytes(4 * (u64::from(SEGMENT_BYTES) + 1));
    let mut log = open(dir.path(), limits.clone());
    let (mut acknowledged, mut consumed) = (Vec::new(), Vec::new());
    let mut refusals = 0;
    while acknowledged.len() < 120 {
        let offset = log.next_offset();
        match log.append(&payload(offset)) {
            Ok(appended) => acknowledged.push(appended.offset),
            Err(Error::Store(StoreError::AtCapacity { .. })) => {
                refusals += 1;
                assert!(refusals < 100, "the cursor's progress never made room");
                assert_eq!(log.next_offset(), offset, "a refused append appended");
                let read = replayed(&log);
                consumed.extend(&read);
                log.set_cursor(*read.last().unwrap()).unwrap();
                // Every other time, a crash: the cursor is durable, so is every
                // acknowledged entry (group commit).
                if refusals % 2 == 0 {
                    drop(log);
                    log = open(dir.path(), limits.clone());
                }
            }
            Err(other) => panic!("append {offset}: {other}"),
        }
    }
    assert!(refusals >= 4, "only {refusals} refusals");
    consumed.extend(replayed(&log));
    assert_eq!(consumed, acknowledged);
    assert!(bases(dir.path()).len() <= 4);
}

/// `Retention::AtEveryRotation` through the front door removes what the cursor has
/// passed at each rotation, with no limit set; the default keeps it.
#[test]
fn eager_retention_follows_the_cursor_without_a_limit() {
    for (retention, expected) in [
        (Retention::AtEveryRotation, vec![10, 15]),
        (Retention::WhenFull, vec![0, 5, 10, 15]),
    ] {
        let dir = wal_testkit::scratch_dir("wal-retention-");
        let log = open(dir.path(), WalOptions::default().with_retention(retention));
        append(&log, 12);
        log.set_cursor(11).unwrap();
        append(&log, 4);
        assert_eq!(bases(dir.path()), expected, "{retention:?}");
        assert_eq!(replayed(&log), [12, 13, 14, 15], "{retention:?}");
    }
}

/// A hook the caller gives too is asked as well, and the lower answer wins: neither
/// loses what it still needs.
#[test]
fn a_callers_hook_and_the_cursor_both_hold_retention() {
    let dir = wal_testkit::scratch_dir("wal-retention-");
    let asked = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&asked);
    let hook = RetentionHook::new(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        5
    });
    let wal = WalOptions::default()
        .with_max_segments(3)
        .with_retention_hook(hook);
    let log = open(dir.path(), wal);
    append(&log, 15);
    log.set_cursor(12).unwrap();
    append(&log, 1);
    assert_eq!(asked.load(Ordering::Relaxed), 1);
    assert_eq!(bases(dir.path()), [5, 10, 15]);
}

/// With several consumers, retention keeps what the slowest one still needs: the lowest
/// cursor decides, and a cursor rewound holds its entries back at once.
#[test]
fn retention_follows_the_lowest_of_several_named_cursors() {
    let dir = wal_testkit::scratch_dir("wal-retention-named-");
    let log = open(
        dir.path(),
        WalOptions::default()
            .with_max_segments(3)
            .with_retention(Retention::AtEveryRotation),
    );
    append(&log, 15);
    log.set_named_cursor("fast", 14).unwrap();
    log.set_named_cursor("slow", 6).unwrap();
    append(&log, 1);
    // Segments 0 (entries 0..=4) is wholly at or before the slow cursor; 5 holds its
    // next entry (7) and stays.
    assert_eq!(bases(dir.path()), vec![5, 10, 15]);
    log.set_named_cursor("slow", 14).unwrap();
    log.rewind_cursor("fast", 9).unwrap();
    append(&log, 4);
    append(&log, 1);
    // The rewound fast cursor (9) now holds back segment 10: only 5 went.
    assert_eq!(bases(dir.path()), vec![10, 15, 20]);
    let from_fast: Vec<u64> = log
        .replay_for("fast")
        .unwrap()
        .map(|e| e.unwrap().offset)
        .collect();
    assert_eq!(from_fast, (10..=20).collect::<Vec<_>>());
}

/// A consumer whose cursor file recovery found unreadable replays from the first entry:
/// retention keeps everything and a trim is refused until that cursor is written again.
#[test]
fn an_unreadable_cursor_holds_retention_and_trims_until_it_is_set_again() {
    let dir = wal_testkit::scratch_dir("wal-retention-unreadable-");
    let wal = WalOptions::default()
        .with_max_segments(4)
        .with_retention(Retention::AtEveryRotation);
    let log = open(dir.path(), wal.clone());
    append(&log, 15);
    log.set_cursor(3).unwrap();
    log.set_named_cursor("fast", 14).unwrap();
    log.close().unwrap();
    std::fs::write(dir.path().join("CURSOR"), b"not a cursor").unwrap();

    let log = open(dir.path(), wal);
    append(&log, 1);
    assert_eq!(
        bases(dir.path()),
        vec![0, 5, 10, 15],
        "removed under an unreadable cursor"
    );
    match log.trim_before(10) {
        Err(Error::TrimPastUnreadableCursor { name, before: 10 }) => assert_eq!(name, "default"),
        other => panic!("expected a refused trim, got {other:?}"),
    }
    assert_eq!(log.first_offset(), 0);

    log.set_cursor(6).unwrap();
    append(&log, 5);
    // The default cursor (6) is the lowest again: segment 0 goes, 5 holds its next entry.
    assert_eq!(bases(dir.path()), vec![5, 10, 15, 20]);
    assert_eq!(log.trim_before(7).unwrap(), 0);
}
