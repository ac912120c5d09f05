//! The on-disk codecs of the walrs write-ahead log: v1 (`.txn`/`.idx`) and v2
//! (`.txnx`/`.idxx`) segments, byte-compatible with existing segment files, and a v2
//! chained CRC-32C. Pure: bytes in, records out. This crate never touches a file.
//!
//! ```
//! use wal_format::{Codec, Scanner, ScanEnd, FileOffset};
//!
//! // A preallocated, zero-filled segment (in the store, this is the mapped file).
//! let mut segment = vec![0u8; 4096];
//! let mut at = 0;
//! let mut prev_crc = 0; // the first record of a new log is seeded with 0
//! for payload in [&b"alpha"[..], b"beta", b"gamma"] {
//!     let written = Codec::LATEST.encode_record(&mut segment[at..], prev_crc, payload)?;
//!     at += written.len;
//!     prev_crc = written.crc.unwrap_or(prev_crc);
//! }
//!
//! // Scanning checks every crc and every link of the chain, and says how the data ended.
//! let mut scanner = Scanner::new(Codec::LATEST, &segment).with_seed(0);
//! let payloads: Vec<&[u8]> = scanner.by_ref().map(|r| r.payload).collect();
//! assert_eq!(payloads, [&b"alpha"[..], b"beta", b"gamma"]);
//! assert_eq!(scanner.end(), Some(&ScanEnd::EndMarker { file_offset: FileOffset(50) }));
//! assert_eq!(scanner.last_crc(), Some(prev_crc));
//! # Ok::<(), wal_format::FormatError>(())
//! ```
//!
//! The byte layout, the crc and what each version can and cannot detect are specified in
//! `docs/FORMAT.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod be;
mod codec;
pub mod crc;
mod error;
pub mod index;
mod record;
mod scan;
pub mod v1;
pub mod v2;
pub mod zeros;

pub use codec::{Codec, DATA_FILE_EXTRA_BYTES, MAX_SEGMENT_BYTES, data_file_bytes};
pub use error::FormatError;
pub use index::IndexView;
pub use record::{Decoded, Encoded, FileOffset, Record};
pub use scan::{ScanEnd, ScanSummary, Scanner};
