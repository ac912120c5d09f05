//! `Log::replay` starts after the consumer's cursor: the one recovery found, then the one
//! last set through the same `Log`; after a restart `Recovered::replay` starts there too.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::ops::ControlFlow;

use wal_recovery::{Log, RecoveryOptions};

fn payload(offset: u64) -> Vec<u8> {
    format!("entry {offset}").into_bytes()
}

fn offsets(log: &Log) -> Vec<u64> {
    log.replay()
        .unwrap()
        .map(|entry| entry.unwrap().offset)
        .collect()
}

fn visited(log: &Log) -> Vec<u64> {
    let mut seen = Vec::new();
    let end = log
        .replay_with(|entry| {
            assert_eq!(entry.payload, payload(entry.offset));
            seen.push(entry.offset);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(end, log.next_offset());
    seen
}

#[test]
fn replay_follows_the_cursor_set_through_the_log() {
    let dir = wal_testkit::scratch_dir("wal-front-door-");
    let recovered = wal_recovery::open(dir.path(), RecoveryOptions::default()).unwrap();
    let log = recovered.log;
    for offset in 0..10 {
        assert_eq!(log.append(&payload(offset)).unwrap().offset, offset);
    }
    // No cursor yet: everything replays.
    assert_eq!(offsets(&log), (0..10).collect::<Vec<_>>());
    log.set_cursor(3).unwrap();
    assert_eq!(offsets(&log), (4..10).collect::<Vec<_>>());
    assert_eq!(visited(&log), (4..10).collect::<Vec<_>>());
    // A refused cursor changes nothing.
    assert!(log.set_cursor(10).is_err());
    assert_eq!(offsets(&log), (4..10).collect::<Vec<_>>());
    log.set_cursor(6).unwrap();
    assert_eq!(offsets(&log), (7..10).collect::<Vec<_>>());
    log.close().unwrap();

    let recovered = wal_recovery::open(dir.path(), RecoveryOptions::default()).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    let from_report: Vec<u64> = recovered
        .replay()
        .unwrap()
        .map(|entry| entry.unwrap().offset)
        .collect();
    assert_eq!(from_report, (7..10).collect::<Vec<_>>());
    assert_eq!(offsets(&recovered.log), from_report);
}

#[test]
fn the_store_behind_the_front_door_is_the_same_log() {
    let dir = wal_testkit::scratch_dir("wal-front-door-");
    let log = wal_recovery::open(dir.path(), RecoveryOptions::default())
        .unwrap()
        .log;
    log.append(b"through the front door").unwrap();
    log.store().append(b"through the store").unwrap();
    let both: Vec<Vec<u8>> = log.iter().map(|entry| entry.unwrap().payload).collect();
    assert_eq!(
        both,
        [
            b"through the front door".to_vec(),
            b"through the store".to_vec()
        ]
    );
    let wal = log.into_store();
    assert_eq!(wal.next_offset(), 2);
    wal.close().unwrap();
}
