//! `Wal::truncate_from`, kept (deprecated) for programs written against 0.1: it is
//! `truncate_after(offset - 1)`, and it can still empty a log that starts at 0.

#![allow(deprecated, reason = "this file tests the deprecated alias")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use wal_store::{SyncPolicy, Wal, WalOptions};

fn options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(256)
        .with_sync_policy(SyncPolicy::Manual)
}

fn payloads(wal: &Wal) -> Vec<(u64, Vec<u8>)> {
    wal.iter()
        .map(|e| e.map(|e| (e.offset, e.payload)))
        .collect::<Result<_, _>>()
        .unwrap()
}

fn filled(dir: &std::path::Path, options: WalOptions, count: u8) -> Wal {
    let wal = Wal::open(dir, options).unwrap();
    for i in 0..count {
        wal.append(&[i + 1; 30]).unwrap();
    }
    wal
}

#[test]
fn truncate_from_drops_what_truncate_after_one_before_drops() {
    let from = wal_testkit::tempdir();
    let after = wal_testkit::tempdir();
    let a = filled(from.path(), options(), 40);
    let b = filled(after.path(), options(), 40);
    a.truncate_from(17).unwrap();
    b.truncate_after(16).unwrap();
    assert_eq!(payloads(&a), payloads(&b));
    assert_eq!(a.next_offset(), 17);
    assert_eq!(a.append(b"x").unwrap(), b.append(b"x").unwrap());
}

#[test]
fn truncate_from_the_first_offset_of_a_log_at_zero_restarts_it_at_zero() {
    let dir = wal_testkit::tempdir();
    let wal = filled(dir.path(), options(), 40);
    wal.truncate_from(0).unwrap();
    assert_eq!(payloads(&wal), []);
    assert_eq!((wal.first_offset(), wal.next_offset()), (0, 0));
    assert_eq!(wal.append(b"again").unwrap().offset, 0);
}
