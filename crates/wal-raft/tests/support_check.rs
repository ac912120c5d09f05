//! The test support checked end to end (the tests, the example and the benchmark stand on it):
//! openraft's storage suite on `MemLogStore` and `StateMachine`, one node writing alone, and a three-node cluster over `Router` that loses a
//! follower and gets it back, by log replay and by snapshot.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use openraft::BasicNode;
use openraft::Config;
use openraft::LogId;
use openraft::Raft;
use openraft::StorageError;
use openraft::testing::StoreBuilder;
use openraft::testing::Suite;
use support::MemLogStore;
use support::Request;
use support::Router;
use support::StateMachine;
use support::TypeConfig;
use wal_raft::Batcher;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Upper bound on any wait for the cluster to converge; generous so a loaded machine does not
/// fail the test, which normally converges in a few heartbeats.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(10);

struct MemStoreBuilder;

impl StoreBuilder<TypeConfig, MemLogStore, StateMachine> for MemStoreBuilder {
    async fn build(&self) -> Result<((), MemLogStore, StateMachine), StorageError<u64>> {
        Ok(((), MemLogStore::new(), StateMachine::new()))
    }
}

/// One raft node and the stores it runs on; the stores outlive the `Raft` so it can restart.
struct Node {
    id: u64,
    raft: Raft<TypeConfig>,
    log: MemLogStore,
    state_machine: StateMachine,
}

fn config() -> TestResult<Arc<Config>> {
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        ..Config::default()
    };
    Ok(Arc::new(config.validate()?))
}

/// Starts node `id` on the given stores and makes it reachable.
async fn start(
    id: u64,
    router: &Router,
    log: MemLogStore,
    state_machine: StateMachine,
) -> TestResult<Node> {
    let raft = Raft::new(
        id,
        config()?,
        router.clone(),
        log.clone(),
        state_machine.clone(),
    )
    .await?;
    router.add(id, raft.clone());
    Ok(Node {
        id,
        raft,
        log,
        state_machine,
    })
}

/// Starts nodes `1..=count` on fresh stores, initializes them as one cluster from node 1 and
/// returns them with the id of the elected leader.
async fn start_cluster(router: &Router, count: u64) -> TestResult<(Vec<Node>, u64)> {
    let mut nodes = Vec::new();
    for id in 1..=count {
        nodes.push(start(id, router, MemLogStore::new(), StateMachine::new()).await?);
    }
    let members: BTreeMap<u64, BasicNode> =
        (1..=count).map(|id| (id, BasicNode::default())).collect();
    let first = nodes.first().ok_or("cluster has no nodes")?;
    first.raft.initialize(members).await?;
    let metrics = first
        .raft
        .wait(Some(CONVERGE_TIMEOUT))
        .metrics(|m| m.current_leader.is_some(), "a leader is elected")
        .await?;
    let leader = metrics
        .current_leader
        .ok_or("no leader after waiting for one")?;
    Ok((nodes, leader))
}

fn request(client: u64, seq: u64) -> Request {
    Request {
        client,
        seq,
        payload: format!("client {client} request {seq}").into_bytes(),
    }
}

/// Writes `requests` through `raft` one by one; returns each with the index it was applied at,
/// and the log id of the last one.
async fn write(
    raft: &Raft<TypeConfig>,
    requests: impl IntoIterator<Item = Request>,
) -> TestResult<(Vec<(u64, Request)>, Option<LogId<u64>>)> {
    let mut written = Vec::new();
    let mut last = None;
    for request in requests {
        let response = raft.client_write(vec![request.clone()]).await?;
        assert_eq!(
            response.data.index, response.log_id.index,
            "response names the applied index"
        );
        written.push((response.log_id.index, request));
        last = Some(response.log_id);
    }
    Ok((written, last))
}

/// Waits until `node` has applied up to `last` and checks it applied exactly `expected`.
async fn assert_applied(
    node: &Node,
    last: Option<LogId<u64>>,
    expected: &[(u64, Request)],
) -> TestResult {
    let last_index = last.map(|id| id.index);
    node.raft
        .wait(Some(CONVERGE_TIMEOUT))
        .applied_index_at_least(last_index, format!("node {} applies the writes", node.id))
        .await?;
    assert_eq!(
        node.state_machine.applied(),
        expected,
        "node {} applied other requests",
        node.id
    );
    Ok(())
}

fn find(nodes: &[Node], id: u64) -> TestResult<&Node> {
    Ok(nodes
        .iter()
        .find(|n| n.id == id)
        .ok_or_else(|| format!("no node {id}"))?)
}

#[test]
fn openraft_storage_suite_passes() -> TestResult {
    // `Suite` builds its own runtime per case, so this is a plain test, not a tokio one.
    Suite::test_all(MemStoreBuilder)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_applies_writes_in_order() -> TestResult {
    let router = Router::new();
    let (nodes, leader) = start_cluster(&router, 1).await?;
    assert_eq!(leader, 1, "the only node leads");
    let node = find(&nodes, 1)?;

    let (written, last) = write(&node.raft, (0..5).map(|seq| request(7, seq))).await?;

    assert!(
        written.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)),
        "indexes increase"
    );
    // `client_write` returns once the entry is applied, so no wait is needed here.
    assert_eq!(node.state_machine.applied(), written);
    assert_eq!(node.state_machine.last_applied(), last);
    node.raft.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_through_the_batcher_are_each_applied_once_in_order() -> TestResult {
    let router = Router::new();
    let (nodes, _) = start_cluster(&router, 1).await?;
    let node = find(&nodes, 1)?;
    let batcher = Batcher::start(node.raft.clone(), 8);
    let clients: Vec<_> = (0..16)
        .map(|client| {
            let batcher = batcher.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for seq in 0..20 {
                    let written = batcher.write(request(client, seq)).await?;
                    // The entry's response names it; the write is at its position in it.
                    assert_eq!(written.response.index, written.log_id.index);
                    answers.push((written.log_id.index, written.position, request(client, seq)));
                }
                Ok::<_, wal_raft::BatchError<TypeConfig>>(answers)
            })
        })
        .collect();
    let mut answered = Vec::new();
    for client in clients {
        answered.extend(client.await??);
    }
    let applied = node.state_machine.applied();
    assert_eq!(applied.len(), 16 * 20, "each write applied once");
    // Each write is in the entry its answer named, and each client's in its order.
    for (index, position, request) in &answered {
        let entry: Vec<&Request> = applied
            .iter()
            .filter(|(i, _)| i == index)
            .map(|(_, r)| r)
            .collect();
        assert_eq!(entry.get(*position), Some(&request), "{index} {position}");
    }
    for client in 0..16 {
        let seqs: Vec<u64> = applied
            .iter()
            .filter(|(_, r)| r.client == client)
            .map(|(_, r)| r.seq)
            .collect();
        assert_eq!(seqs, (0..20).collect::<Vec<_>>());
    }
    // No entry holds more than the limit.
    let mut per_entry = BTreeMap::new();
    for (index, _) in &applied {
        *per_entry.entry(*index).or_insert(0) += 1;
    }
    assert!(per_entry.values().all(|&n| n <= 8), "{per_entry:?}");
    node.raft.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batched_write_to_a_stopped_node_fails_and_nothing_is_applied() -> TestResult {
    let router = Router::new();
    let (nodes, _) = start_cluster(&router, 1).await?;
    let node = find(&nodes, 1)?;
    let batcher = Batcher::start(node.raft.clone(), 8);
    node.raft.shutdown().await?;
    let refused = batcher.write(request(1, 0)).await;
    assert!(
        matches!(refused, Err(wal_raft::BatchError::Raft(_))),
        "{refused:?}"
    );
    assert_eq!(node.state_machine.applied(), []);
    Ok(())
}

/// Brings a three-node cluster to five writes, stops a follower, writes five more without it,
/// and, if `compact` is set, snapshots and purges the leader's log so the follower can only catch
/// up from the snapshot. Checks every node applied every write, in order; returns the running
/// nodes, the restarted follower's id and the last write's log id.
async fn follower_catches_up(compact: bool) -> TestResult<(Vec<Node>, u64, Option<LogId<u64>>)> {
    let router = Router::new();
    let (mut nodes, leader_id) = start_cluster(&router, 3).await?;
    let leader = find(&nodes, leader_id)?.raft.clone();

    let (mut written, last) = write(&leader, (0..5).map(|seq| request(1, seq))).await?;
    for node in &nodes {
        assert_applied(node, last, &written).await?;
    }

    let follower_at = nodes
        .iter()
        .position(|n| n.id != leader_id)
        .ok_or("no follower")?;
    let follower = nodes.swap_remove(follower_at);
    router
        .remove(follower.id)
        .ok_or("follower was not routed")?;
    follower.raft.shutdown().await?;

    let (more, last) = write(&leader, (5..10).map(|seq| request(2, seq))).await?;
    written.extend(more);
    assert_eq!(
        follower.state_machine.applied().len(),
        5,
        "a stopped follower applies nothing"
    );
    if compact {
        let last_log_id = last.ok_or("nothing written")?;
        leader.trigger().snapshot().await?;
        let wait = leader.wait(Some(CONVERGE_TIMEOUT));
        wait.snapshot(last_log_id, "leader snapshots").await?;
        leader.trigger().purge_log(last_log_id.index).await?;
        wait.purged(last, "leader purges its log").await?;
    }

    let restarted = start(follower.id, &router, follower.log, follower.state_machine).await?;
    for node in nodes.iter().chain([&restarted]) {
        assert_applied(node, last, &written).await?;
    }
    let follower_id = restarted.id;
    nodes.push(restarted);
    Ok((nodes, follower_id, last))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_follower_catches_up_from_the_log() -> TestResult {
    let (nodes, follower_id, _) = follower_catches_up(false).await?;
    let follower = find(&nodes, follower_id)?;
    let snapshot = follower.state_machine.current_snapshot_meta();
    assert!(snapshot.is_none(), "caught up by replay, not by snapshot");
    for node in &nodes {
        node.raft.shutdown().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_follower_catches_up_from_a_snapshot() -> TestResult {
    let (nodes, follower_id, last) = follower_catches_up(true).await?;
    let follower = find(&nodes, follower_id)?;
    let snapshot = follower.state_machine.current_snapshot_meta();
    assert_eq!(
        snapshot.and_then(|meta| meta.last_log_id),
        last,
        "follower installed the snapshot"
    );
    for node in &nodes {
        node.raft.shutdown().await?;
    }
    Ok(())
}
