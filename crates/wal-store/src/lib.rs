//! The write path of the walrs write-ahead log: mmap'd, preallocated segment files,
//! rotation, durable appends with group commit, concurrent readers, truncate and trim.
//!
//! This crate is a skeleton for now: the store is built in its own issue. Its segments
//! are encoded by [`wal_format`], re-exported here so that a store user needs one
//! dependency.
//!
//! ```
//! use wal_store::format::Codec;
//! assert_eq!(Codec::LATEST.data_extension(), "txnx");
//! ```
#![deny(missing_docs)]

pub use wal_format as format;
