//! A state machine that records every applied request, so tests can compare what each node
//! applied, in which order, at which log index.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::sync::PoisonError;

use openraft::AnyError;
use openraft::BasicNode;
use openraft::Entry;
use openraft::EntryPayload;
use openraft::ErrorSubject;
use openraft::ErrorVerb;
use openraft::LogId;
use openraft::OptionalSend;
use openraft::RaftSnapshotBuilder;
use openraft::Snapshot;
use openraft::SnapshotMeta;
use openraft::StorageError;
use openraft::StorageIOError;
use openraft::StoredMembership;
use openraft::storage::RaftStateMachine;
use serde::Deserialize;
use serde::Serialize;

use super::Request;
use super::Response;
use super::TypeConfig;

/// Everything a snapshot carries: the state is small enough in tests to be the snapshot itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    last_applied: Option<LogId<u64>>,
    last_membership: StoredMembership<u64, BasicNode>,
    /// Client writes in apply order, each with the log index of its entry.
    applied: Vec<(u64, Request)>,
}

/// The last snapshot built or installed, kept encoded so it can be handed out again.
#[derive(Debug)]
struct StoredSnapshot {
    meta: SnapshotMeta<u64, BasicNode>,
    data: Vec<u8>,
}

#[derive(Debug, Default)]
struct Inner {
    state: State,
    current_snapshot: Option<StoredSnapshot>,
    /// Makes snapshot ids unique even when two snapshots cover the same log id.
    snapshots_built: u64,
}

/// An in-memory state machine that keeps every applied request.
///
/// A cheap `Clone` handle: hand one clone to `Raft::new` and keep another to inspect
/// [`StateMachine::applied`]. The clones share state, so a node restarted on the same handle
/// resumes from what it had applied.
#[derive(Debug, Clone, Default)]
pub struct StateMachine {
    inner: Arc<Mutex<Inner>>,
}

impl StateMachine {
    /// An empty state machine: nothing applied, no membership, no snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every normal request applied so far, with its log index, in apply order.
    pub fn applied(&self) -> Vec<(u64, Request)> {
        self.lock().state.applied.clone()
    }

    /// The log id of the last applied entry of any kind.
    pub fn last_applied(&self) -> Option<LogId<u64>> {
        self.lock().state.last_applied
    }

    /// The meta of the last snapshot built or installed, if any.
    pub fn current_snapshot_meta(&self) -> Option<SnapshotMeta<u64, BasicNode>> {
        self.lock()
            .current_snapshot
            .as_ref()
            .map(|stored| stored.meta.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the state from the others.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<u64>> {
        let mut inner = self.lock();
        let data = postcard::to_allocvec(&inner.state).map_err(|e| {
            StorageIOError::new(
                ErrorSubject::StateMachine,
                ErrorVerb::Read,
                AnyError::new(&e),
            )
        })?;
        inner.snapshots_built += 1;
        let last_index = inner.state.last_applied.map_or(0, |id| id.index);
        let meta = SnapshotMeta {
            last_log_id: inner.state.last_applied,
            last_membership: inner.state.last_membership.clone(),
            snapshot_id: format!("{last_index}-{}", inner.snapshots_built),
        };
        inner.current_snapshot = Some(StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        });
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>), StorageError<u64>> {
        let inner = self.lock();
        Ok((
            inner.state.last_applied,
            inner.state.last_membership.clone(),
        ))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.lock();
        let state = &mut inner.state;
        let mut responses = Vec::new();
        for entry in entries {
            let log_id = entry.log_id;
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(requests) => state
                    .applied
                    .extend(requests.into_iter().map(|request| (log_id.index, request))),
                EntryPayload::Membership(membership) => {
                    state.last_membership = StoredMembership::new(Some(log_id), membership);
                }
            }
            state.last_applied = Some(log_id);
            responses.push(Response {
                index: log_id.index,
            });
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<u64>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<u64>> {
        let data = snapshot.into_inner();
        let read_error =
            |source: AnyError| StorageIOError::read_snapshot(Some(meta.signature()), source);
        let state: State =
            postcard::from_bytes(&data).map_err(|e| read_error(AnyError::new(&e)))?;
        if state.last_applied != meta.last_log_id {
            return Err(read_error(AnyError::error(format!(
                "snapshot data ends at {:?}, its meta says {:?}",
                state.last_applied, meta.last_log_id
            )))
            .into());
        }
        let mut inner = self.lock();
        inner.state = state;
        inner.current_snapshot = Some(StoredSnapshot {
            meta: meta.clone(),
            data,
        });
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<u64>> {
        let inner = self.lock();
        Ok(inner.current_snapshot.as_ref().map(|stored| Snapshot {
            meta: stored.meta.clone(),
            snapshot: Box::new(Cursor::new(stored.data.clone())),
        }))
    }
}
