//! The log of an [openraft](https://docs.rs/openraft/0.9) cluster on the walrs
//! write-ahead log.
//!
//! [`LogStore`] implements openraft's log storage (`RaftLogStorage` and `RaftLogReader`,
//! the storage-v2 API of openraft 0.9) for any type config whose entries are
//! `openraft::Entry` (their application data is serde, as openraft's `serde` feature
//! requires). Each raft entry is one entry of a walrs log at the offset equal to its
//! index, encoded with [postcard](https://docs.rs/postcard); the vote, the committed and
//! the last purged log ids are in the log's metadata blob. The directory is an ordinary
//! walrs log: `walctl verify`, `dump` and `compare` read it.
//!
//! What the log guarantees openraft:
//! - an append is reported flushed only once every entry of it is durable (synced),
//!   never before (openraft 0.9 appends one entry at a time and waits for each flush:
//!   concurrent client writes share a sync when a [`Batcher`] gathers them into one
//!   entry);
//! - a truncation is durable when it returns, and the cut bytes are zeroed: a truncated
//!   entry never comes back, not even after a crash; one that would remove a committed
//!   entry (which raft never asks for) is refused;
//! - an append that would leave a hole, replace an entry without a truncation, or bring
//!   back an index at or below the last purged one, is refused (an empty log starts at
//!   any index after that);
//! - a purge is recorded before the log's start moves, and finished by the next open
//!   if a crash came between;
//! - a vote and a committed log id are durable when their call returns;
//! - at open, recovery cuts a torn tail but refuses (with its report, changing nothing)
//!   damage at or before the commit offset, which is the committed index but never past
//!   what this log had itself made durable;
//! - every read checks that the entry decodes and that its log id's index is its
//!   offset: anything else is an error naming the offset, never a panic.
//!
//! ```
//! use std::io::Cursor; // the default snapshot data of `declare_raft_types!`
//! use wal_raft::{LogStore, Options};
//!
//! openraft::declare_raft_types!(pub Config: D = String, R = String);
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let dir = dir.path().join("raft-log");
//! let log_store = LogStore::<Config>::open(&dir, Options::default())?;
//! // Hand it to `openraft::Raft::new(id, config, network, log_store, state_machine)`;
//! // `walctl verify` reads the directory.
//! assert_eq!(log_store.log().next_offset(), 0);
//! # Ok(())
//! # }
//! ```

mod batch;
mod error;
mod meta;
mod options;
mod raft;
mod store;

pub use batch::{BatchError, Batcher, Written};
pub use error::{Error, Result};
pub use options::Options;
pub use store::LogStore;
