//! The child's state machine: the support's recording `StateMachine`, with every snapshot
//! it builds kept in a file, and reloaded from that file when the next child starts.
//!
//! The support's state machine lives in memory, so a child that takes snapshots and
//! lets openraft purge the log would leave its successor a log without its first
//! entries and nothing to rebuild them from. openraft purges only up to a snapshot it
//! was handed by `build_snapshot`, so a snapshot written to disk before
//! `build_snapshot` returns covers every purge: the file is written whole beside it,
//! synced, and renamed over the last one (a kill leaves the old file or the new one).
//! At start the file's snapshot is installed into an empty state machine, which then
//! holds every write up to the snapshot; openraft applies the log after it, and the
//! child's report is the whole history again, from snapshot and log.

use std::fs::File;
use std::io::{self, Cursor, Write};
use std::path::PathBuf;

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, BasicNode, Entry, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};

use crate::child::ChildResult;
use crate::support::{Request, Response, StateMachine, TypeConfig};

/// A state machine whose snapshots outlive the process.
#[derive(Debug, Clone)]
pub(crate) struct DurableStateMachine {
    inner: StateMachine,
    /// The file of the last snapshot built or installed.
    file: PathBuf,
}

impl DurableStateMachine {
    /// The state machine as `file`'s snapshot left it; empty if there is no file.
    pub(crate) async fn open(file: PathBuf) -> ChildResult<DurableStateMachine> {
        let mut inner = StateMachine::new();
        match std::fs::read(&file) {
            Ok(bytes) => {
                let (meta, data): (SnapshotMeta<u64, BasicNode>, Vec<u8>) =
                    postcard::from_bytes(&bytes)?;
                inner
                    .install_snapshot(&meta, Box::new(Cursor::new(data)))
                    .await?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(DurableStateMachine { inner, file })
    }

    /// Every write applied, from the snapshot and after it, with its entry's index.
    pub(crate) fn applied(&self) -> Vec<(u64, Request)> {
        self.inner.applied()
    }

    /// Replaces the file with `meta` and `data`, atomically and durably.
    fn keep(&self, meta: &SnapshotMeta<u64, BasicNode>, data: &[u8]) -> io::Result<()> {
        let bytes = postcard::to_allocvec(&(meta, data)).map_err(io::Error::other)?;
        let temporary = self.file.with_extension("tmp");
        let mut file = File::create(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.file)?;
        if let Some(parent) = self.file.parent() {
            File::open(parent)?.sync_all()?;
        }
        Ok(())
    }
}

/// A failure to keep the snapshot of `meta`, as openraft's error.
fn not_kept(meta: &SnapshotMeta<u64, BasicNode>, e: &io::Error) -> StorageError<u64> {
    StorageIOError::write_snapshot(Some(meta.signature()), AnyError::new(e)).into()
}

impl RaftSnapshotBuilder<TypeConfig> for DurableStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<u64>> {
        let snapshot = self.inner.build_snapshot().await?;
        // On disk before openraft learns of it, so before any purge it allows.
        self.keep(&snapshot.meta, snapshot.snapshot.get_ref())
            .map_err(|e| not_kept(&snapshot.meta, &e))?;
        Ok(snapshot)
    }
}

impl RaftStateMachine<TypeConfig> for DurableStateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>), StorageError<u64>> {
        self.inner.applied_state().await
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.inner.apply(entries).await
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<u64>> {
        self.inner.begin_receiving_snapshot().await
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<u64>> {
        self.keep(meta, snapshot.get_ref())
            .map_err(|e| not_kept(meta, &e))?;
        self.inner.install_snapshot(meta, snapshot).await
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<u64>> {
        self.inner.get_current_snapshot().await
    }
}
