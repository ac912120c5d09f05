//! An in-process raft network: every RPC is a direct call on the target node's `Raft` handle.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::sync::PoisonError;
use std::time::Duration;

use openraft::BasicNode;
use openraft::OptionalSend;
use openraft::Raft;
use openraft::RaftNetwork;
use openraft::RaftNetworkFactory;
use openraft::Snapshot;
use openraft::Vote;
use openraft::error::Fatal;
use openraft::error::InstallSnapshotError;
use openraft::error::RPCError;
use openraft::error::RaftError;
use openraft::error::RemoteError;
use openraft::error::ReplicationClosed;
use openraft::error::StreamingError;
use openraft::error::Unreachable;
use openraft::network::Backoff;
use openraft::network::RPCOption;
use openraft::raft::AppendEntriesRequest;
use openraft::raft::AppendEntriesResponse;
use openraft::raft::InstallSnapshotRequest;
use openraft::raft::InstallSnapshotResponse;
use openraft::raft::SnapshotResponse;
use openraft::raft::VoteRequest;
use openraft::raft::VoteResponse;

use super::TypeConfig;

/// How long a sender waits before retrying a node that looked down. openraft's default is
/// 500 ms; a restarted node in a test should catch up within a few heartbeats.
const UNREACHABLE_BACKOFF_MS: u64 = 50;

/// The result of an RPC to a node, as openraft's `RaftNetwork` wants it.
type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

/// The node a message was addressed to is not in the router, or has stopped.
#[derive(Debug)]
struct NodeDown {
    id: u64,
    why: &'static str,
}

impl fmt::Display for NodeDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} is down: {}", self.id, self.why)
    }
}

impl Error for NodeDown {}

/// The in-process "wire": a shared map from node id to that node's running `Raft`.
///
/// Clone it freely; every clone routes over the same map. Give a clone to each `Raft::new` as its
/// network, then [`Router::add`] the returned handle. A node that is not in the map (never added,
/// or [`Router::remove`]d) answers every RPC with `Unreachable`, so to the others it looks down.
#[derive(Clone, Default)]
pub struct Router {
    nodes: Arc<Mutex<BTreeMap<u64, Raft<TypeConfig>>>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u64> = self.lock().keys().copied().collect();
        f.debug_struct("Router").field("nodes", &ids).finish()
    }
}

impl Router {
    /// A router with no nodes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes node `id` reachable at `raft`, replacing any previous handle for that id.
    pub fn add(&self, id: u64, raft: Raft<TypeConfig>) {
        self.lock().insert(id, raft);
    }

    /// Makes node `id` unreachable and returns its handle, if it was present. The node keeps
    /// running; shut it down through the returned handle to stop it.
    pub fn remove(&self, id: u64) -> Option<Raft<TypeConfig>> {
        self.lock().remove(&id)
    }

    /// The handle of node `id`, if it is reachable.
    pub fn get(&self, id: u64) -> Option<Raft<TypeConfig>> {
        self.lock().get(&id).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Raft<TypeConfig>>> {
        // A panicking test thread must not take the network down for the others.
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RaftNetworkFactory<TypeConfig> for Router {
    type Network = Connection;

    async fn new_client(&mut self, target: u64, _node: &BasicNode) -> Self::Network {
        Connection {
            router: self.clone(),
            target,
        }
    }
}

/// One node's view of one peer: looks the peer up in the [`Router`] on every RPC, so a peer that
/// is removed and added back is reached at its new handle.
#[derive(Debug)]
pub struct Connection {
    router: Router,
    target: u64,
}

impl Connection {
    /// The target's handle, cloned so no lock is held across the call.
    fn target_raft(&self) -> Result<Raft<TypeConfig>, Unreachable> {
        self.router.get(self.target).ok_or_else(|| {
            Unreachable::new(&NodeDown {
                id: self.target,
                why: "not in the router",
            })
        })
    }

    /// A stopped target looks down (`Unreachable`, so the sender backs off); any other error is
    /// the target's answer.
    fn rpc_error<E: Error>(
        &self,
        error: RaftError<u64, E>,
    ) -> RPCError<u64, BasicNode, RaftError<u64, E>> {
        match error {
            RaftError::Fatal(fatal) => RPCError::Unreachable(self.stopped(&fatal)),
            api => RPCError::RemoteError(RemoteError::new(self.target, api)),
        }
    }

    fn stopped(&self, fatal: &Fatal<u64>) -> Unreachable {
        let why = match fatal {
            Fatal::StorageError(_) => "stopped on a storage error",
            Fatal::Panicked => "panicked",
            Fatal::Stopped => "shut down",
        };
        Unreachable::new(&NodeDown {
            id: self.target,
            why,
        })
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        let raft = self.target_raft()?;
        raft.append_entries(rpc)
            .await
            .map_err(|e| self.rpc_error(e))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> RpcResult<VoteResponse<u64>> {
        let raft = self.target_raft()?;
        raft.vote(rpc).await.map_err(|e| self.rpc_error(e))
    }

    /// Required by the trait, but unused: [`Self::full_snapshot`] below replaces openraft's
    /// default, which would chunk the snapshot through this method.
    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        let raft = self.target_raft()?;
        raft.install_snapshot(rpc)
            .await
            .map_err(|e| self.rpc_error(e))
    }

    /// Hands the whole snapshot to the target in one call; nothing crosses a wire, so there is
    /// nothing to chunk.
    async fn full_snapshot(
        &mut self,
        vote: Vote<u64>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<u64>, StreamingError<TypeConfig, Fatal<u64>>> {
        let raft = self.target_raft()?;
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            installed = raft.install_full_snapshot(vote, snapshot) => {
                installed.map_err(|fatal| StreamingError::Unreachable(self.stopped(&fatal)))
            }
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(Duration::from_millis(
            UNREACHABLE_BACKOFF_MS,
        )))
    }
}
