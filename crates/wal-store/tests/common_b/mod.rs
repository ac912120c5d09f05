//! Helpers shared by the lock, concurrency, bad-argument and codec tests.
#![allow(dead_code, reason = "each test file uses only some of the helpers")]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows unwrap only inside #[test] functions)"
)]

use wal_store::{StoreError, Wal};

/// A small deterministic generator (SplitMix64): the tests need varied but reproducible
/// choices, not a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

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
