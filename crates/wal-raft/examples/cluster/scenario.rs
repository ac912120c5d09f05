//! The story the `cluster` example tells, in a file of its own so that a test can run exactly
//! the same thing: `crates/walctl/tests/raft_cluster_logs_compare_equal.rs` includes it with
//! `#[path]`, runs it, and checks the three logs with the real `walctl compare`.
//!
//! Three openraft nodes in one process talk over an in-process network (the tests' `Router`);
//! each keeps its raft log in its own walrs log directory (`wal_raft::LogStore`) and its state
//! in memory (the tests' recording `StateMachine`). Snapshots are off, so every log keeps
//! every entry from index 0 and the three can be compared entry by entry.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, Raft, SnapshotPolicy};
use support::{Request, Router, StateMachine, TypeConfig};
use wal_raft::{LogStore, Options};
use wal_recovery::Divergence;

/// What the scenario fails with: whatever openraft, the log or a check said.
pub type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The cluster's members.
const NODE_IDS: [u64; 3] = [1, 2, 3];

/// Client writes before the follower is dropped, and again while it is away.
pub const WRITES_PER_PHASE: u64 = 100;

/// Small segments, so that a few hundred entries span several segment files, as a long-lived
/// log's do (a real deployment keeps the default, 64 MiB).
const SEGMENT_BYTES: u32 = 2048;

/// The longest wait for the cluster to reach a state; generous, since the machine may be busy.
/// Nothing is timed: each wait ends as soon as the state is reached.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the scenario leaves behind, for the caller to show or check.
#[derive(Debug)]
pub struct Outcome {
    /// The leader's log directory, the one the others are compared with.
    pub leader_dir: PathBuf,
    /// The other two nodes' log directories.
    pub follower_dirs: Vec<PathBuf>,
    /// The raft index of the leader's last entry, the last of every log.
    pub last_index: u64,
    /// Each follower's log compared with the leader's, as `walctl compare` compares them.
    pub comparisons: Vec<Divergence>,
}

/// One running node, and what the scenario keeps of it.
struct Node {
    id: u64,
    dir: PathBuf,
    raft: Raft<TypeConfig>,
    /// A handle on the state machine the node applies to (the node holds a clone).
    state_machine: StateMachine,
    /// A handle on the node's raft log, to close it after the node stops.
    log_store: LogStore<TypeConfig>,
}

/// Runs the whole story with the nodes' logs in `base/node-1`, `base/node-2` and
/// `base/node-3` (`base` must not hold them already), on a runtime of its own, and leaves the
/// logs there, closed; then compares them.
///
/// Fails if any step fails or any check does not hold: every node applies every write once,
/// in order; the restarted node replays its own log into a fresh state machine. The
/// comparisons are returned, for the caller to judge.
pub fn run(base: &Path) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cluster = runtime.block_on(run_cluster(base));
    // `Raft::shutdown` does not wait for a leader's replication tasks, which hold clones of
    // its log: the directory's lock is released when the last of them is dropped. Dropping
    // the runtime drops them all.
    drop(runtime);
    let (leader_dir, follower_dirs, last_index) = cluster?;
    let comparisons = compare_logs(&leader_dir, &follower_dirs)?;
    Ok(Outcome {
        leader_dir,
        follower_dirs,
        last_index,
        comparisons,
    })
}

/// The cluster's part of [`run`]: everything but the comparison. Returns the leader's log
/// directory, the followers' and the leader's last raft index, with every node shut down.
async fn run_cluster(base: &Path) -> Result<(PathBuf, Vec<PathBuf>, u64)> {
    let router = Router::new();
    let mut nodes = Vec::new();
    for id in NODE_IDS {
        let dir = base.join(format!("node-{id}"));
        let node = start(id, &dir, &router, StateMachine::new()).await?;
        router.add(id, node.raft.clone());
        nodes.push(node);
    }
    let leader_id = initialize(&router, &nodes).await?;
    let leader = find(&nodes, leader_id)?.raft.clone();
    println!(
        "{} nodes, logs under {}; node {leader_id} leads",
        nodes.len(),
        base.display()
    );

    let mut written = write(&leader, 1, WRITES_PER_PHASE).await?;
    let mut last_index = last_index_of(&written)?;
    for node in &nodes {
        wait_caught_up(node, last_index).await?;
    }
    println!("{WRITES_PER_PHASE} writes applied by every node (last raft index {last_index})");

    let at = nodes
        .iter()
        .position(|node| node.id != leader_id)
        .ok_or("no follower to drop")?;
    let dropped = nodes.swap_remove(at);
    let (dropped_id, dropped_dir) = (dropped.id, dropped.dir.clone());
    stop(&router, dropped).await?;
    println!("node {dropped_id} dropped: raft shut down, its log closed");

    written.extend(write(&leader, 2, WRITES_PER_PHASE).await?);
    last_index = last_index_of(&written)?;
    println!(
        "{WRITES_PER_PHASE} more writes through the two others (last raft index {last_index})"
    );

    // The leader's log is the one every node must reach: the writes, and anything a new
    // leader would have added had the leadership changed.
    let leader_last = leader
        .metrics()
        .borrow()
        .last_log_index
        .ok_or("the leader's log is empty")?;
    let restarted = restart(dropped_id, &dropped_dir, &router, &written).await?;
    router.add(restarted.id, restarted.raft.clone());
    wait_caught_up(&restarted, leader_last).await?;
    println!("node {dropped_id} caught up to raft index {leader_last}");
    nodes.push(restarted);
    nodes.sort_by_key(|node| node.id);

    for node in &nodes {
        wait_caught_up(node, leader_last).await?;
        check_applied(node, &written)?;
    }
    println!(
        "every node applied the {} writes once each, in order",
        written.len()
    );

    let leader_dir = find(&nodes, leader_id)?.dir.clone();
    let follower_dirs: Vec<PathBuf> = nodes
        .iter()
        .filter(|node| node.id != leader_id)
        .map(|node| node.dir.clone())
        .collect();
    // The followers first: a follower left alone with another could elect itself once the
    // leader is gone and add an entry to its log; a leader left alone adds nothing.
    nodes.sort_by_key(|node| node.id == leader_id);
    for node in nodes {
        stop(&router, node).await?;
    }
    Ok((leader_dir, follower_dirs, leader_last))
}

/// The nodes' raft configuration: snapshots off, so that no log is ever purged.
fn config() -> Result<Arc<Config>> {
    let config = Config {
        cluster_name: "walrs-example".to_owned(),
        heartbeat_interval: 100,
        // Long enough that a busy machine does not make a follower campaign while the leader
        // is alive: `initialize` starts the first election at once, so this costs no time.
        election_timeout_min: 1_500,
        election_timeout_max: 3_000,
        snapshot_policy: SnapshotPolicy::Never,
        ..Config::default()
    };
    Ok(Arc::new(config.validate()?))
}

/// Starts node `id` on the raft log in `dir` (created if absent, recovered if not) and
/// `state_machine`, sending through `router`. The others reach it once it is added there.
async fn start(id: u64, dir: &Path, router: &Router, state_machine: StateMachine) -> Result<Node> {
    let options = Options::default().with_segment_bytes(SEGMENT_BYTES);
    let log_store = LogStore::<TypeConfig>::open(dir, options)?;
    let network = router.clone();
    let raft = Raft::new(
        id,
        config()?,
        network,
        log_store.clone(),
        state_machine.clone(),
    )
    .await?;
    Ok(Node {
        id,
        dir: dir.to_owned(),
        raft,
        state_machine,
        log_store,
    })
}

/// Makes the nodes one cluster, from the first, and returns the leader it elects.
async fn initialize(router: &Router, nodes: &[Node]) -> Result<u64> {
    let first = nodes.first().ok_or("no nodes")?;
    let members: BTreeMap<u64, BasicNode> = nodes
        .iter()
        .map(|node| (node.id, BasicNode::default()))
        .collect();
    first.raft.initialize(members).await?;
    let metrics = first
        .raft
        .wait(Some(WAIT_TIMEOUT))
        .metrics(|m| m.current_leader.is_some(), "a leader is elected")
        .await?;
    let leader = metrics
        .current_leader
        .ok_or("no leader after an election")?;
    router
        .get(leader)
        .ok_or("the leader is not in the router")?;
    Ok(leader)
}

/// Writes `count` requests of `client` through the leader, one after the other; returns
/// each with the raft index it was applied at.
async fn write(leader: &Raft<TypeConfig>, client: u64, count: u64) -> Result<Vec<(u64, Request)>> {
    let mut written = Vec::new();
    for seq in 0..count {
        let request = Request {
            client,
            seq,
            payload: format!("client {client} write {seq}").into_bytes(),
        };
        let response = leader.client_write(vec![request.clone()]).await?;
        written.push((response.log_id.index, request));
    }
    Ok(written)
}

fn last_index_of(written: &[(u64, Request)]) -> Result<u64> {
    Ok(written.last().ok_or("nothing was written")?.0)
}

/// Waits until `node`'s log reaches raft index `index` and its state machine has applied it.
async fn wait_caught_up(node: &Node, index: u64) -> Result<()> {
    let what = format!("node {} holds and applies raft index {index}", node.id);
    node.raft
        .wait(Some(WAIT_TIMEOUT))
        .metrics(
            |m| m.last_log_index >= Some(index) && m.last_applied.map(|id| id.index) >= Some(index),
            what,
        )
        .await?;
    Ok(())
}

/// Fails unless `node` applied exactly `written`, in that order, at those indexes.
fn check_applied(node: &Node, written: &[(u64, Request)]) -> Result<()> {
    let applied = node.state_machine.applied();
    if applied != written {
        return Err(format!(
            "node {} applied {} writes, not the {} written, in order",
            node.id,
            applied.len(),
            written.len()
        )
        .into());
    }
    Ok(())
}

/// Takes `node` off the network, shuts it down and closes its raft log (synced, its close
/// record written). The directory's lock goes with the last clone of the log.
async fn stop(router: &Router, node: Node) -> Result<()> {
    router.remove(node.id);
    node.raft.shutdown().await?;
    node.log_store.shutdown()?;
    Ok(())
}

/// Starts node `id` again on the log it left in `dir`, with a fresh in-memory state machine.
///
/// Before it is reachable, openraft replays the node's own log into the state machine up to
/// the commit the log recorded: the writes of the first phase (`written`'s first
/// [`WRITES_PER_PHASE`]). The rest it receives from the leader once it is routed.
async fn restart(id: u64, dir: &Path, router: &Router, written: &[(u64, Request)]) -> Result<Node> {
    let node = start(id, dir, router, StateMachine::new()).await?;
    let replayed = node.state_machine.applied();
    let first_phase = usize::try_from(WRITES_PER_PHASE)
        .ok()
        .and_then(|count| written.get(..count));
    if first_phase != Some(replayed.as_slice()) {
        return Err(format!(
            "node {id} replayed {} writes from its log, not the {WRITES_PER_PHASE} it had applied",
            replayed.len()
        )
        .into());
    }
    println!(
        "node {id} restarted from {}: replayed its {} writes from its own log",
        dir.display(),
        replayed.len()
    );
    Ok(node)
}

/// Compares each follower's log with the leader's, as `walctl compare` does.
fn compare_logs(leader_dir: &Path, follower_dirs: &[PathBuf]) -> Result<Vec<Divergence>> {
    let mut comparisons = Vec::new();
    for dir in follower_dirs {
        let found = wal_recovery::compare(leader_dir, dir)?;
        let verdict = match found.first_divergent_offset {
            None => "identical".to_owned(),
            Some(offset) => format!("differ from entry {offset} on"),
        };
        println!("{} and {}: {verdict}", leader_dir.display(), dir.display());
        comparisons.push(found);
    }
    Ok(comparisons)
}

fn find(nodes: &[Node], id: u64) -> Result<&Node> {
    Ok(nodes
        .iter()
        .find(|node| node.id == id)
        .ok_or_else(|| format!("no node {id}"))?)
}
