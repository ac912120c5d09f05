//! Criterion benchmark of client writes through a single-node openraft cluster: on
//! `wal_raft::LogStore` (the walrs log, default options: group commit) and, in the same
//! group, on the test support's `MemLogStore` (openraft on a log that never touches a
//! disk), each with 1 and with 64 concurrent clients.
//!
//! A case starts one node once, untimed, and keeps it for all its samples: a runtime of
//! tokio's multi-thread flavour (one worker per core), `openraft::Raft` on the log store
//! and the support's recording `StateMachine`, the support's `Router` holding only this
//! node, the cluster initialized with it as the sole voter and its leadership awaited.
//! Snapshots are off (`SnapshotPolicy::Never`), so nothing but client writes reaches the
//! log.
//!
//! Clients write through `wal_raft::Batcher`, as an application with concurrent
//! clients on openraft 0.9 must for them to share syncs: openraft 0.9 appends one entry
//! per `client_write` and waits for its flush before taking the next, so without it every
//! write pays a sync of its own (1.2x from 1 to 64 clients, measured; docs/BENCHMARKS.md).
//! The batcher makes the writes waiting when an entry is taken one entry; one client
//! alone gets an entry per write. An iteration is one client write of a 100 B payload,
//! returned once openraft has committed and applied its entry; a sample's iterations are
//! spread over the clients (tokio tasks, as even as they divide), which all start
//! together, and the time runs until the last one's last write has returned. Throughput
//! is client writes per second.
//!
//! Every write of a case has a (client, seq) of its own (the seqs count up across the
//! case's samples); when the case ends, the writes the state machine applied must be
//! exactly the writes issued, each once.
//!
//! The walrs log lives in a new directory on the disk (`wal_testkit::scratch::on_disk`:
//! `std::env::temp_dir()`, never tmpfs), so syncs cost what the disk charges. After each
//! walrs case a line on stderr gives the writes, the log's syncs and their mean duration,
//! which say how many writes one sync carried.
//!
//! ```text
//! cargo bench -p wal-benches --bench raft
//! cargo bench -p wal-benches --bench raft -- --measurement-time 3 --warm-up-time 1
//! ```
//!
//! Target (issue 18): on wal-raft, 64 clients at 20x one client or more, in the same run.
//! Figures and ratios in docs/BENCHMARKS.md.

// A benchmark is compiled as an ordinary (non-test) target, so the workspace's library lints
// apply to it. Here a panic can only mean that the benchmark's own setup is wrong or that the
// node failed under it: it fails the benchmark, it is not a crash in a user's process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that panics is a failed benchmark, not a user's crash"
)]

#[path = "../../crates/wal-raft/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use openraft::storage::RaftLogStorage;
use openraft::{BasicNode, Config, Raft, SnapshotPolicy};
use support::{MemLogStore, Request, Router, StateMachine, TypeConfig};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use wal_raft::{Batcher, LogStore, Options};
use wal_testkit::payload::pseudo_random as pseudo_random_bytes;

/// Payload size of every client request.
const PAYLOAD_BYTES: usize = 100;

/// The concurrent clients of each case.
const CLIENTS: [u64; 2] = [1, 64];

/// The most writes the batcher puts in one entry.
const MAX_WRITES_PER_ENTRY: usize = 1024;

/// The id of the only node.
const NODE_ID: u64 = 1;

/// How long a node may take to become leader; generous, for a loaded machine.
const LEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// A running single-node cluster and what its case keeps beside it.
struct Node {
    runtime: Runtime,
    raft: Raft<TypeConfig>,
    /// Where the clients write.
    batcher: Batcher<TypeConfig, Request>,
    state_machine: StateMachine,
    /// The walrs log's handle (shared with the node) and its directory, in the walrs case.
    wal: Option<(LogStore<TypeConfig>, TempDir)>,
}

/// Starts a case's node: [`start_on_wal`] or [`start_in_memory`].
type StartNode = fn() -> Node;

/// The node's configuration: the defaults, with snapshots off.
fn config() -> Arc<Config> {
    let config = Config {
        snapshot_policy: SnapshotPolicy::Never,
        ..Config::default()
    };
    Arc::new(config.validate().expect("a valid raft config"))
}

/// Starts node [`NODE_ID`] on `log_store`, alone in its cluster, and waits until it leads.
fn start<L>(log_store: L, wal: Option<(LogStore<TypeConfig>, TempDir)>) -> Node
where
    L: RaftLogStorage<TypeConfig>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let state_machine = StateMachine::new();
    let router = Router::new();
    let raft = runtime.block_on(async {
        let raft = Raft::new(
            NODE_ID,
            config(),
            router.clone(),
            log_store,
            state_machine.clone(),
        )
        .await
        .expect("start the node");
        router.add(NODE_ID, raft.clone());
        let members = BTreeMap::from([(NODE_ID, BasicNode::default())]);
        raft.initialize(members).await.expect("initialize");
        raft.wait(Some(LEADER_TIMEOUT))
            .current_leader(NODE_ID, "the only node leads")
            .await
            .expect("a leader");
        raft
    });
    let batcher = runtime.block_on(async { Batcher::start(raft.clone(), MAX_WRITES_PER_ENTRY) });
    Node {
        runtime,
        raft,
        batcher,
        state_machine,
        wal,
    }
}

/// A node on a new walrs log (default options) in a new directory on the disk.
fn start_on_wal() -> Node {
    let dir = wal_testkit::scratch::on_disk("wal-bench-raft-");
    let store = LogStore::<TypeConfig>::open(dir.path().join("raft-log"), Options::default())
        .expect("open the raft log");
    start(store.clone(), Some((store, dir)))
}

/// A node on an in-memory log.
fn start_in_memory() -> Node {
    start(MemLogStore::new(), None)
}

/// `writes` client writes spread over `clients` concurrent tasks, with the seqs `first`
/// to `first + writes - 1` (client `c` writes `first + c`, `first + c + clients`, ...);
/// the time from their start to the last write's return.
fn write_spread(node: &Node, clients: u64, first: u64, writes: u64, payload: &[u8]) -> Duration {
    node.runtime.block_on(async {
        let start = Arc::new(tokio::sync::Barrier::new(
            usize::try_from(clients).expect("few clients") + 1,
        ));
        let tasks: Vec<_> = (0..clients)
            .map(|client| {
                let batcher = node.batcher.clone();
                let payload = payload.to_vec();
                let start = Arc::clone(&start);
                tokio::spawn(async move {
                    start.wait().await;
                    for seq in issued_by(client, clients, first, writes) {
                        let request = Request {
                            client,
                            seq,
                            payload: payload.clone(),
                        };
                        black_box(batcher.write(request).await.expect("a client write"));
                    }
                })
            })
            .collect();
        start.wait().await;
        let started = Instant::now();
        for task in tasks {
            task.await.expect("a client task panicked");
        }
        started.elapsed()
    })
}

/// The seqs `client` of `clients` writes in a sample of `writes` writes from `first`:
/// together, every seq of the sample once.
fn issued_by(client: u64, clients: u64, first: u64, writes: u64) -> impl Iterator<Item = u64> {
    (first + client..first + writes).step_by(usize::try_from(clients).expect("few clients"))
}

/// Stops the node, checking that the writes applied are exactly the writes `issued`, each
/// once; reports the walrs log's syncs on stderr.
fn finish(node: Node, name: &str, mut issued: Vec<(u64, u64)>) {
    let mut applied: Vec<(u64, u64)> = node
        .state_machine
        .applied()
        .iter()
        .map(|(_, request)| (request.client, request.seq))
        .collect();
    applied.sort_unstable();
    issued.sort_unstable();
    assert!(
        applied == issued,
        "{name}: {} writes applied, {} issued: not each issued write applied once",
        applied.len(),
        issued.len()
    );
    let writes = issued.len();
    node.runtime
        .block_on(node.raft.shutdown())
        .expect("shut the node down");
    // Nothing to report of a case the command line filtered out.
    if let Some((store, dir)) = node.wal.filter(|_| writes > 0) {
        let stats = store.log().stats();
        let mean_sync_micros = stats.total_sync_micros.checked_div(stats.syncs);
        eprintln!(
            "{name}: {writes} writes, {} syncs of the log (mean {} us), {} rotations",
            stats.syncs,
            mean_sync_micros.unwrap_or_default(),
            stats.rotations,
        );
        drop(store);
        drop(dir);
    }
}

/// `1_client`, `64_clients`.
fn clients_label(clients: u64) -> String {
    match clients {
        1 => "1_client".to_owned(),
        _ => format!("{clients}_clients"),
    }
}

fn client_writes(c: &mut Criterion) {
    let payload = pseudo_random_bytes(PAYLOAD_BYTES);
    let mut group = c.benchmark_group("raft_client_writes");
    // Warm-up and measurement times are criterion's (3 s and 5 s) unless the command line
    // says otherwise; a group setting would override the command line.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(1));
    let stores: [(&str, StartNode); 2] =
        [("wal_raft", start_on_wal), ("in_memory", start_in_memory)];
    for (store, start_node) in stores {
        for clients in CLIENTS {
            let node = start_node();
            // Every write of the case has a (client, seq) of its own: the seqs count up
            // across the samples.
            let mut issued = Vec::new();
            let id = BenchmarkId::new(store, clients_label(clients));
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let first = issued.len() as u64;
                    let took = write_spread(&node, clients, first, iters, &payload);
                    issued.extend((0..clients).flat_map(|client| {
                        issued_by(client, clients, first, iters).map(move |seq| (client, seq))
                    }));
                    took
                });
            });
            finish(node, &format!("{store}/{}", clients_label(clients)), issued);
        }
    }
    group.finish();
}

criterion_group!(benches, client_writes);
criterion_main!(benches);
