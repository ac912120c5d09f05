//! The child: a single-node cluster on the log, reporting what it applied, then writing
//! until it is killed.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, Raft, ServerState, SnapshotPolicy};
use tokio::task::JoinSet;
use wal_raft::{Batcher, LogStore, Options};

use crate::protocol::{
    CHILD_BATCH_VAR, CHILD_CLIENTS_VAR, CHILD_CYCLE_VAR, CHILD_SNAPSHOT_VAR, SEQ_CYCLE_SHIFT,
    SNAPSHOT_FILE, payload,
};
use crate::snapshot::DurableStateMachine;
use crate::support::{Request, Router, TypeConfig};

/// The node's id: the cluster has this one node.
const NODE_ID: u64 = 1;
/// How long the node may take to lead and apply its log before the child gives up (and
/// the test fails). Only a guard against a hang: a healthy child needs a fraction of a
/// second, and this is shorter than the parent's wait for the child's `ready`
/// (`process::PROGRESS_WAIT`), so that a stuck startup ends with this error.
const LEAD_TIMEOUT: Duration = Duration::from_secs(180);
/// Segments this small rotate every few hundred entries.
const SEGMENT_BYTES: u32 = 64 << 10;
/// With snapshots on, the entries a purge leaves before the snapshot's last one.
const LOGS_KEPT_BEFORE_SNAPSHOT: u64 = 3;

pub(crate) type ChildResult<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

/// What the parent asked of this child.
struct Asked {
    cycle: u64,
    clients: u64,
    /// The most writes in one entry through the batcher; 0: no batcher.
    batch: usize,
    /// A snapshot every this many entries, and the log purged up to it; 0: never.
    snapshot_every: u64,
}

pub(crate) fn child_main(dir: PathBuf) -> ExitCode {
    let run = || -> ChildResult {
        let asked = Asked {
            cycle: std::env::var(CHILD_CYCLE_VAR)?.parse()?,
            clients: std::env::var(CHILD_CLIENTS_VAR)?.parse()?,
            batch: std::env::var(CHILD_BATCH_VAR)?.parse()?,
            snapshot_every: std::env::var(CHILD_SNAPSHOT_VAR)?.parse()?,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(child(dir, asked))
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash test child: {e}");
            ExitCode::FAILURE
        }
    }
}

fn raft_config(snapshot_every: u64) -> ChildResult<Arc<Config>> {
    let snapshot_policy = match snapshot_every {
        0 => SnapshotPolicy::Never,
        entries => SnapshotPolicy::LogsSinceLast(entries),
    };
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        snapshot_policy,
        max_in_snapshot_log_to_keep: LOGS_KEPT_BEFORE_SNAPSHOT,
        ..Config::default()
    };
    Ok(Arc::new(config.validate()?))
}

/// How the clients reach the node.
#[derive(Clone)]
enum Writer {
    /// One `Raft::client_write` per write: an entry each.
    Direct(Raft<TypeConfig>),
    /// Through the batcher: the writes waiting together share an entry.
    Batched(Batcher<TypeConfig, Request>),
}

impl Writer {
    /// Writes `request`; returns the raft index of its entry and its place there.
    async fn write(&self, request: Request) -> ChildResult<(u64, u64)> {
        match self {
            Writer::Direct(raft) => {
                let response = raft.client_write(vec![request]).await?;
                Ok((response.log_id.index, 0))
            }
            Writer::Batched(batcher) => {
                let written = batcher.write(request).await?;
                Ok((written.log_id.index, u64::try_from(written.position)?))
            }
        }
    }
}

async fn child(dir: PathBuf, asked: Asked) -> ChildResult {
    let options = Options::default().with_segment_bytes(SEGMENT_BYTES);
    // The snapshot first: a log is purged only once the snapshot covering the purge is
    // in its file (a kill between the two leaves the log whole beside it).
    let state_machine = DurableStateMachine::open(dir.with_file_name(SNAPSHOT_FILE)).await?;
    let store = LogStore::<TypeConfig>::open(&dir, options)?;
    let last_at_open = store.log().last_offset();
    let router = Router::new();
    let raft = Raft::new(
        NODE_ID,
        raft_config(asked.snapshot_every)?,
        router.clone(),
        store,
        state_machine.clone(),
    )
    .await?;
    router.add(NODE_ID, raft.clone());
    // A log with the membership entry in it is initialized already; one killed before
    // that entry was written is new again.
    if !raft.is_initialized().await? {
        let members = BTreeMap::from([(NODE_ID, BasicNode::default())]);
        raft.initialize(members).await?;
    }
    raft.wait(Some(LEAD_TIMEOUT))
        .metrics(
            |m| m.state == ServerState::Leader && m.last_applied.map(|id| id.index) >= last_at_open,
            "the node leads and has applied the log it opened",
        )
        .await?;
    report(&state_machine)?;
    if asked.clients == 0 {
        raft.shutdown().await?;
        return Ok(());
    }
    let writer = match asked.batch {
        0 => Writer::Direct(raft.clone()),
        max_writes => Writer::Batched(Batcher::start(raft.clone(), max_writes)),
    };
    // The first writer to fail ends the child with its error, whichever it is.
    let mut writers = JoinSet::new();
    for client in 1..=asked.clients {
        writers.spawn(write_forever(writer.clone(), client, asked.cycle));
    }
    while let Some(ended) = writers.join_next().await {
        ended??;
    }
    Ok(())
}

/// Prints what the state machine applied, then `ready`.
fn report(state_machine: &DurableStateMachine) -> ChildResult {
    let applied = state_machine.applied();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (index, request) in &applied {
        let ok = request.payload == payload(request.client, request.seq);
        writeln!(
            out,
            "applied {index} {} {} {}",
            request.client,
            request.seq,
            u8::from(ok)
        )?;
    }
    writeln!(out, "ready {}", applied.len())?;
    out.flush()?;
    Ok(())
}

/// Writes as `client` until the process is killed (or its output is gone: the parent
/// died), printing each acknowledgement.
async fn write_forever(writer: Writer, client: u64, cycle: u64) -> ChildResult {
    for count in 0.. {
        let seq = (cycle << SEQ_CYCLE_SHIFT) | count;
        let request = Request {
            client,
            seq,
            payload: payload(client, seq),
        };
        let (index, position) = writer.write(request).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "ack {client} {seq} {index} {position}")?;
        out.flush()?;
    }
    Ok(())
}
