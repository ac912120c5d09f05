//! The write path of the walrs write-ahead log: mmap'd, preallocated segment files,
//! rotation, durable appends with group commit, concurrent readers, truncate and trim.
//!
//! ```
//! use wal_store::{Wal, WalOptions, SyncPolicy};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let options = WalOptions::default().with_sync_policy(SyncPolicy::GroupCommit);
//! let wal = Wal::open(dir.path(), options.clone())?;
//! let first = wal.append(b"hello")?; // durable when it returns
//! wal.append_batch(&[&b"one"[..], b"two"])?;
//! assert_eq!(wal.read(first.offset)?.payload, b"hello");
//! wal.truncate_after(first.offset + 1)?; // drops "two"
//! let payloads: Vec<Vec<u8>> = wal.iter().map(|e| e.map(|e| e.payload)).collect::<Result<_, _>>()?;
//! assert_eq!(payloads, [b"hello".to_vec(), b"one".to_vec()]);
//! wal.close()?;
//!
//! // A clean log reopens where it left off.
//! let wal = Wal::open(dir.path(), options)?;
//! assert_eq!(wal.next_offset(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! Opening a directory after a crash is the recovery crate's job: [`Wal::open`] refuses
//! any log it finds not clean, and never appends after a record it has not checked.
#![deny(missing_docs)]

mod ahead;
mod closed;
mod error;
#[cfg(feature = "fault-injection")]
pub mod faults;
mod fs;
mod holes;
#[doc(hidden)]
pub mod internal;
pub mod layout;
mod lock;
mod meta;
mod mmap;
mod naming;
mod open;
mod options;
mod read;
mod retention;
mod scan;
mod seed;
mod segment;
mod stats;
mod sync;
mod sys;
mod waiters;
mod wal;

pub use error::{Result, StoreError};
pub use layout::list_segments;
pub use lock::DirLock;
pub use meta::{META_FILE_NAME, META_MAX_BYTES};
pub use options::{
    DEFAULT_SEGMENT_BYTES, MIN_SEGMENT_BYTES, ReadVisibility, SyncPolicy, WalOptions,
};
pub use read::{Iter, RevIter};
pub use retention::{Retention, RetentionHook};
pub use scan::{CheckedSegment, DataFileScan};
pub use seed::SEED_FILE_NAME;
pub use segment::{Entry, EntryRef};
pub use stats::Stats;
pub use wal::{Appended, AppendedBatch, CleanOpen, Pending, TRUNCATED_BELOW_WAIT, Wal};
/// The on-disk codecs, re-exported so that a store user needs one dependency.
pub use wal_format as format;
