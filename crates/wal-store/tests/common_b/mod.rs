//! Helpers shared by the lock, concurrency, bad-argument and codec tests.
#![allow(dead_code, reason = "each test file uses only some of the helpers")]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows unwrap only inside #[test] functions)"
)]

use wal_store::{StoreError, Wal};

#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::rng::Rng;

#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::{file_names, snapshot};

/// Every entry the log shows, oldest first, as (offset, payload).
pub fn contents(wal: &Wal) -> Vec<(u64, Vec<u8>)> {
    wal.iter()
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.offset, entry.payload)
        })
        .collect()
}

/// Panics unless `result` is an `OffsetOutOfRange` error for `offset`.
pub fn assert_out_of_range<T: std::fmt::Debug>(result: Result<T, StoreError>, offset: u64) {
    match result {
        Err(StoreError::OffsetOutOfRange { offset: got, .. }) => assert_eq!(got, offset),
        other => panic!("expected OffsetOutOfRange for offset {offset}, got {other:?}"),
    }
}
