//! The checks behind the fuzz targets of `wal-format`. Each target hands its input to one
//! of these; every check is an `assert!`, so a decoder that returns something wrong is a
//! finding, not only one that panics.
//!
//! - [`model`]: a plain reference decoder and index parser to compare the library with.
//! - [`scan`]: scanning and decoding segment bytes.
//! - [`index`]: parsing and re-encoding index bytes.
//! - [`repair`]: fix-ups that let random v2 input carry valid crcs.

pub mod index;
pub mod model;
pub mod repair;
pub mod scan;
