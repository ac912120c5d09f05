//! The same workloads, run against walrs, three other Rust write-ahead logs (okaywal
//! 0.3.1, commitlog 0.2.0, raft-engine 0.4.2) and raw-file baselines, so that walrs is
//! judged by ratios measured side by side in one run on one machine.
//!
//! Each implementation is a [`Subject`](subject::Subject): one file per implementation
//! says how it appends, makes an append durable, reads everything back and opens, and
//! (in its module documentation) what it takes to make it *really* durable. The
//! criterion driver is `benches/peers.rs`; `scripts/peer-bench.sh` at the repository
//! root runs it and turns its output into `docs/peer-benchmarks.md` and
//! `docs/benchmarks.svg`.

pub mod baseline;
pub mod commitlog_peer;
pub mod fsutil;
pub mod okaywal_peer;
pub mod payload;
pub mod raft_engine_peer;
pub mod results;
pub mod rss;
pub mod stats;
pub mod subject;
pub mod threads;
pub mod walrs;

/// Every error of every implementation, boxed: a benchmark only reports them.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result of a workload step.
pub type Result<T> = std::result::Result<T, Error>;
