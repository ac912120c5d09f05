//! The checks behind the fuzz targets. Each target hands its input to one of these; every
//! check is an `assert!`, so a decoder, a recovery or an operation that returns something
//! wrong is a finding, not only one that panics.
//!
//! Decoders of `wal-format`:
//! - [`model`]: a plain reference decoder and index parser to compare the library with.
//! - [`scan`]: scanning and decoding segment bytes.
//! - [`index`]: parsing and re-encoding index bytes.
//! - [`repair`]: fix-ups that let random v2 input carry valid crcs.
//!
//! Recovery of `wal-recovery` on damaged directories:
//! - [`damaged_dir`]: building a directory (a valid log, edits, files from a small name
//!   alphabet) from the input.
//! - [`recover`]: `verify` and `open` in every mode on it, and what must hold afterwards.
//!
//! The whole API of `wal-store` and `wal-recovery` against a model:
//! - [`log_model`]: the in-memory model of a log.
//! - [`api`]: decoding operations and running them on the log and the model.
//!
//! Shared: [`pick`] (reading choices from the input); from the workspace's test-support
//! crate, `wal_testkit::scratch::Reaped` (a fresh directory per run, swept after a crash)
//! and `wal_testkit::snapshot::Tree` (a directory's files, to tell whether anything
//! changed).

pub mod api;
pub mod damaged_dir;
pub mod index;
pub mod log_model;
pub mod model;
pub mod pick;
pub mod recover;
pub mod repair;
pub mod scan;
