//! Test support shared by the crates of the walrs workspace, the fuzz harness and the
//! benches; a dev-dependency only, never published.
//!
//! - [`scratch`]: the directory a test's log lives in (tmpfs when there is one).
//! - [`payload`]: payload patterns that name their offset, so that an entry read at the
//!   wrong offset never passes for the right one.
//! - [`snapshot`]: a directory's files (and, for [`snapshot::Tree`], folders) with their
//!   bytes: to show that an operation changed nothing, or exactly what it changed.
//! - [`segment`]: data and index files built with `wal-format`'s encoders, for the tests
//!   that write segments by hand.
//! - [`damage`]: what a crash, bit rot or a careless operator does to a file: flip a byte,
//!   zero a range, cut or extend it, write garbage past its end, remove it.
//! - [`rng`]: a small seeded generator, for varied but reproducible choices.
//! - [`child`]: a killed child process's output, in whole lines.
//!
//! It depends on `wal-format` and `tempfile` only, never on `wal-store` or `wal-recovery`,
//! so that each crate of the workspace can use it in its own tests. Its helpers panic on
//! failure: in a test, a panic is a failed test.
//!
//! ```
//! use wal_testkit::{damage, scratch_dir, segment, snapshot};
//! use wal_format::Codec;
//!
//! let dir = scratch_dir("doc-");
//! let payloads = [b"one".to_vec(), b"two".to_vec()];
//! let written = segment::write_segment(dir.path(), 0, Codec::V2, 0, &payloads, 64, true);
//! assert_eq!(written.records.len(), 2);
//! let before = snapshot::Tree::take(dir.path());
//! damage::flip_byte(&dir.path().join("0.txnx"), 3);
//! let after = snapshot::Tree::take(dir.path());
//! assert_eq!(before.changed(&after), [std::path::Path::new("0.txnx")]);
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test support: a failure here is a failed test"
)]

pub mod child;
pub mod damage;
pub mod payload;
pub mod rng;
pub mod scratch;
pub mod segment;
pub mod snapshot;

pub use damage::flip_byte;
pub use scratch::{scratch_dir, scratch_parent, tempdir};
pub use snapshot::{file_names, snapshot};
