//! Criterion benchmarks of the walrs write-ahead log live in `benches/`; this library is
//! empty and exists so that the benchmarks have a package to belong to.
//!
//! Run them with `cargo bench -p wal-benches`; figures go to docs/BENCHMARKS.md.
#![forbid(unsafe_code)]
