//! Shared test support for `wal-raft`: the openraft type configuration, a recording state
//! machine, an in-process network and an in-memory log store (the baseline the walrs-backed
//! `LogStore` is measured against).
//!
//! Included by the tests, the example and the benchmark with `#[path = ...] mod support;`; each
//! uses a different part of it, hence the `dead_code` allowance.
#![allow(
    dead_code,
    reason = "each including target uses only part of the support module"
)]

pub mod mem_log;
pub mod network;
pub mod state_machine;

// `declare_raft_types!` names the default snapshot type as a bare `Cursor<Vec<u8>>`, so the
// macro needs `Cursor` in scope where it expands.
use std::io::Cursor;

use serde::Deserialize;
use serde::Serialize;

#[allow(
    unused_imports,
    reason = "shortcuts; not every including target uses each"
)]
pub use self::{mem_log::MemLogStore, network::Router, state_machine::StateMachine};

openraft::declare_raft_types!(
    /// Raft types of the tests: `u64` node ids, `BasicNode`, in-memory `Cursor` snapshots, tokio.
    /// An entry carries client writes, applied in their order: one, from a plain
    /// `client_write(vec![request])`, or the several a `wal_raft::Batcher` gathered.
    pub TypeConfig:
        D = Vec<Request>,
        R = Response,
);

/// A client write: who sent it, its per-client sequence number and an opaque payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The client that issued the request.
    pub client: u64,
    /// The request's sequence number within its client.
    pub seq: u64,
    /// Application bytes, opaque to the state machine.
    pub payload: Vec<u8>,
}

/// The state machine's answer to one applied entry (to each of its writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Log index of the applied entry.
    pub index: u64,
}
