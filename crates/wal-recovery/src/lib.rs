//! Crash recovery for the walrs write-ahead log: what to trust after a crash, recovery
//! modes, quarantine, index rebuild, the cursor sidecar, replay and migration.
//!
//! This crate is a skeleton for now: recovery is built in its own issue, on top of
//! [`wal_store`], re-exported here.
//!
//! ```
//! use wal_recovery::store::format::Codec;
//! assert_eq!(Codec::from_data_extension("txn"), Some(Codec::V1));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use wal_store as store;
