//! The raft log on a walrs log: what each of openraft's calls does to it, as plain
//! (blocking) functions; `raft.rs` puts openraft's traits in front of them.
//!
//! Raft index = log offset, one entry per raft entry (the whole `Entry`, in postcard).
//! The vote, the committed and the last purged log ids are in the log's metadata blob
//! (`meta.rs`). What each call maps to:
//!
//! | openraft | walrs |
//! |---|---|
//! | append | `submit` (returns at once), flush reported by `on_durable` |
//! | append to an empty log at another index | `reset_to` that index first |
//! | truncate(from) | `truncate_after(from - 1)` (cut bytes zeroed); from 0: `reset_to(0)` |
//! | purge(upto) | record it, then `trim_before(upto + 1)`; past the end: `reset_to` |
//! | save_vote, save_committed | `write_meta` |

use std::ops::{Bound, ControlFlow, RangeBounds};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::{Entry, LogId, RaftTypeConfig, Vote};
use wal_recovery::{Log, RecoveryOptions};
use wal_store::{StoreError, SyncPolicy};

use crate::error::{Error, Result};
use crate::meta::RaftMeta;
use crate::options::Options;

/// The crc a reset log chains its first entry from. Fixed, so that two nodes whose logs
/// were reset at the same index and hold the same entries compare equal.
const RESET_SEED_CRC: u32 = 0;

/// The log of an openraft node, on a walrs log in a directory of its own: openraft's
/// [`RaftLogStorage`](openraft::storage::RaftLogStorage) and
/// [`RaftLogReader`](openraft::RaftLogReader) (storage-v2).
///
/// Cloning is cheap: the clones share the log (openraft's log reader is one). The
/// directory is a walrs log: `walctl verify`, `stat`, `dump` and `compare` read it.
///
/// Appends return once the entries are written to the log's memory map and readable;
/// openraft learns that they are durable through its flush callback, which the walrs log
/// calls from the thread that synced them (group commit: one sync for every append
/// waiting). Truncation, purge, vote and commit writes are durable when they return; they
/// block the calling task meanwhile (a sync), as openraft's storage task expects.
pub struct LogStore<C: RaftTypeConfig> {
    shared: Arc<Shared<C>>,
}

/// What the clones share.
struct Shared<C: RaftTypeConfig> {
    log: Log,
    /// The raft state in the metadata blob, as last written. The lock also orders the
    /// changes that write it.
    meta: Mutex<RaftMeta<C::NodeId>>,
    /// Set by [`LogStore::shutdown`]: the cached raft state is refused too, as the log is.
    closed: AtomicBool,
}

impl<C: RaftTypeConfig> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        LogStore {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: RaftTypeConfig> std::fmt::Debug for LogStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("dir", &self.shared.log.dir())
            .field("first_index", &self.shared.log.first_offset())
            .field("next_index", &self.shared.log.next_offset())
            .finish_non_exhaustive()
    }
}

impl<C> LogStore<C>
where
    C: RaftTypeConfig<Entry = Entry<C>>,
{
    /// Opens the raft log in `dir`, creating it if there is none.
    ///
    /// The log is recovered first, in walrs's default mode (a torn tail is cut; damage
    /// elsewhere is refused with recovery's report, nothing changed), with the commit
    /// offset recorded beside it: the committed index, never past what this log had made
    /// durable. A purge interrupted by a crash is finished. Fails with
    /// [`Error::ManualSyncPolicy`] under [`SyncPolicy::Manual`], with
    /// [`Error::MetaVersion`] or [`Error::MetaDecode`] if the raft state beside the log
    /// cannot be read, and with the log's error otherwise.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<LogStore<C>> {
        let dir = dir.as_ref();
        if options.wal.sync_policy == SyncPolicy::Manual {
            return Err(Error::ManualSyncPolicy);
        }
        let (log, meta) = open_with_meta::<C>(dir, &options)?;
        let store = LogStore {
            shared: Arc::new(Shared {
                log,
                meta: Mutex::new(meta),
                closed: AtomicBool::new(false),
            }),
        };
        let last_purged = store.meta().last_purged.clone();
        if let Some(purged) = last_purged {
            store.purge_log(purged.index)?;
        }
        Ok(store)
    }

    /// The walrs log under the raft log, to read (its directory, statistics).
    pub fn log(&self) -> &Log {
        &self.shared.log
    }

    /// Ends the log, for every clone: every appended entry is synced and the close record
    /// written, so that the next open need not scan the log (see
    /// [`Log::shutdown`](wal_recovery::Log::shutdown)); every later call fails. Call it
    /// after `Raft::shutdown`, on a clone kept for the purpose. The directory's lock goes
    /// with the last clone (openraft drops a leader's replication tasks, which hold clones,
    /// a moment after its shutdown returns).
    ///
    /// Dropping the log without it loses nothing openraft was told is durable (an append
    /// is reported flushed only once synced, every other change is durable when it
    /// returns); the next open then checks the log as after a crash, which takes longer.
    pub fn shutdown(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::Release);
        Ok(self.shared.log.shutdown()?)
    }

    /// The raft state as last written, unless the log was shut down.
    pub(crate) fn meta_if_open(&self) -> Result<MutexGuard<'_, RaftMeta<C::NodeId>>> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(Error::Log(wal_recovery::Error::Store(StoreError::Closed)));
        }
        Ok(self.meta())
    }

    pub(crate) fn meta(&self) -> MutexGuard<'_, RaftMeta<C::NodeId>> {
        // A panic while the lock was held left the record as it was last written (each
        // change is written before it is kept).
        self.shared
            .meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `meta` (changed from the current record by the caller) and keeps it.
    fn write_meta(
        &self,
        current: &mut RaftMeta<C::NodeId>,
        meta: RaftMeta<C::NodeId>,
    ) -> Result<()> {
        self.shared.log.write_meta(&meta.encode()?)?;
        *current = meta;
        Ok(())
    }

    pub(crate) fn save_vote(&self, vote: &Vote<C::NodeId>) -> Result<()> {
        let mut current = self.meta();
        let meta = RaftMeta {
            vote: Some(vote.clone()),
            ..current.clone()
        };
        self.write_meta(&mut current, meta)
    }

    /// Records the committed log id, and the commit offset recovery will get: the
    /// committed index, but no further than what this log has made durable.
    pub(crate) fn save_committed(&self, committed: Option<LogId<C::NodeId>>) -> Result<()> {
        let mut current = self.meta();
        let durable = self.shared.log.last_synced_offset();
        let commit_offset = match (&committed, durable) {
            (Some(id), Some(durable)) => Some(id.index.min(durable)),
            _ => None,
        };
        // Never lower than what an earlier call recorded: those entries stay committed
        // and durable (raft never truncates a committed entry).
        let commit_offset = commit_offset.max(current.commit_offset);
        let meta = RaftMeta {
            committed,
            commit_offset,
            ..current.clone()
        };
        if meta == *current {
            return Ok(());
        }
        self.write_meta(&mut current, meta)
    }

    /// The last log id in the log, or the last purged one when the log holds none.
    pub(crate) fn last_log_id(&self) -> Result<Option<LogId<C::NodeId>>> {
        let last_purged = self.meta().last_purged.clone();
        let log = &self.shared.log;
        let last = match log.last_offset() {
            Some(last) if log.first_offset() <= last => Some(self.entry(last)?.log_id),
            _ => None,
        };
        Ok(last.or(last_purged))
    }

    /// The entry at `offset`, checked.
    fn entry(&self, offset: u64) -> Result<Entry<C>> {
        let entry = self.shared.log.read(offset)?;
        decode(offset, &entry.payload)
    }

    /// The entries in `range` that the log holds (a raft log reader may ask for entries
    /// it does not have: they are left out), each checked against its offset.
    ///
    /// A purge (or truncation) racing the read moves what the log holds: the read starts
    /// again from what it holds then.
    pub(crate) fn entries(&self, range: impl RangeBounds<u64>) -> Result<Vec<Entry<C>>> {
        let log = &self.shared.log;
        let asked_start = match range.start_bound() {
            Bound::Included(&start) => start,
            Bound::Excluded(&start) => start.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let asked_end = match range.end_bound() {
            Bound::Included(&end) => end.saturating_add(1),
            Bound::Excluded(&end) => end,
            Bound::Unbounded => u64::MAX,
        };
        loop {
            let purged_end = self
                .meta()
                .last_purged
                .as_ref()
                .map_or(0, |id| id.index.saturating_add(1));
            let start = asked_start.max(log.first_offset()).max(purged_end);
            let end = asked_end.min(log.next_offset());
            if start >= end {
                return Ok(Vec::new());
            }
            match self.entries_between(start, end) {
                // The log no longer holds `start`: it moved meanwhile.
                Err(Error::Log(wal_recovery::Error::Store(StoreError::OffsetOutOfRange {
                    ..
                }))) if start < log.first_offset() || log.next_offset() <= start => {}
                read => return read,
            }
        }
    }

    /// The entries from `start` (which the log holds) to `end`, each checked.
    fn entries_between(&self, start: u64, end: u64) -> Result<Vec<Entry<C>>> {
        let log = &self.shared.log;
        let mut entries = Vec::new();
        let mut failed = None;
        log.visit_from(start, |entry| {
            if entry.offset >= end {
                return ControlFlow::Break(());
            }
            match decode(entry.offset, entry.payload) {
                Ok(decoded) => {
                    entries.push(decoded);
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        failed.map_or(Ok(entries), Err)
    }

    /// Appends `entries` and calls `flushed` once they are durable (or with the error
    /// that means they never will be). Returns once they are readable.
    pub(crate) fn append(
        &self,
        entries: impl IntoIterator<Item = Entry<C>>,
        flushed: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        let mut first = None;
        let mut payloads = Vec::new();
        for entry in entries {
            first.get_or_insert(entry.log_id.index);
            let expected = first
                .unwrap_or_default()
                .saturating_add(payloads.len() as u64);
            if entry.log_id.index != expected {
                return Err(Error::NotContiguous {
                    next: expected,
                    index: entry.log_id.index,
                });
            }
            payloads.push(
                postcard::to_allocvec(&entry).map_err(|source| Error::Encode {
                    what: "a raft entry",
                    source,
                })?,
            );
        }
        let Some(first) = first else {
            flushed(Ok(()));
            return Ok(());
        };
        self.continue_at(first)?;
        let pending = self.shared.log.submit(&payloads)?;
        let last = *pending.offsets().end();
        self.shared.log.on_durable(last, move |durable| {
            flushed(durable.map(drop).map_err(Error::from))
        });
        Ok(())
    }

    /// Makes `index` the log's next offset: it is already, or the log is empty and is
    /// reset to continue there, after its last purged entry. Anything else would leave a
    /// hole, overwrite an entry without a truncation, or bring back a purged index.
    fn continue_at(&self, index: u64) -> Result<()> {
        let log = &self.shared.log;
        let next = log.next_offset();
        if index == next {
            return Ok(());
        }
        if log.first_offset() < next {
            return Err(Error::NotContiguous { next, index });
        }
        if let Some(purged) = &self.meta().last_purged
            && index <= purged.index
        {
            return Err(Error::BelowPurged {
                index,
                purged: purged.index,
            });
        }
        Ok(log.reset_to(index, RESET_SEED_CRC)?)
    }

    /// Drops the entries from `index` on, durably; the cut bytes are zeroed, so that
    /// they never come back. Refuses, changing nothing, to remove a committed entry.
    pub(crate) fn truncate(&self, index: u64) -> Result<()> {
        let log = &self.shared.log;
        let committed = {
            let meta = self.meta();
            let committed = meta.committed.as_ref().map(|id| id.index);
            committed.max(meta.commit_offset)
        };
        if let Some(committed) = committed
            && index <= committed
        {
            return Err(Error::TruncatesCommitted { index, committed });
        }
        let from = index.max(log.first_offset());
        if from >= log.next_offset() {
            return Ok(());
        }
        match from.checked_sub(1) {
            Some(keep) => Ok(log.truncate_after(keep)?),
            // Everything, in a log that starts at 0: only a reset restarts it there.
            None => Ok(log.reset_to(0, RESET_SEED_CRC)?),
        }
    }

    /// Records `purged` as the last purged log id, then drops the entries up to it.
    pub(crate) fn purge(&self, purged: LogId<C::NodeId>) -> Result<()> {
        let mut current = self.meta();
        if current.last_purged.as_ref() < Some(&purged) {
            let meta = RaftMeta {
                last_purged: Some(purged.clone()),
                ..current.clone()
            };
            self.write_meta(&mut current, meta)?;
        }
        drop(current);
        self.purge_log(purged.index)
    }

    /// Drops the log's entries up to `index`: a trim to the entry after it, or, past the
    /// end, a reset to continue there.
    fn purge_log(&self, index: u64) -> Result<()> {
        let log = &self.shared.log;
        let start = index.saturating_add(1);
        if start <= log.first_offset() {
            return Ok(());
        }
        if start <= log.next_offset() {
            log.trim_before(start)?;
        } else {
            log.reset_to(start, RESET_SEED_CRC)?;
        }
        Ok(())
    }
}

/// How many times [`open_with_meta`] reads the raft state and opens the log before it
/// gives up on a directory whose state keeps changing under it.
const OPEN_ATTEMPTS: usize = 3;

/// Recovers and opens the log in `dir`, with the commit offset its raft state records,
/// and returns it with that state. The state is read before the log is opened (recovery
/// needs the commit offset), so it is read again under the log's lock: if another process
/// changed it in between, the log is closed and opened again with the new state.
fn open_with_meta<C: RaftTypeConfig>(
    dir: &Path,
    options: &Options,
) -> Result<(Log, RaftMeta<C::NodeId>)> {
    for _ in 0..OPEN_ATTEMPTS {
        let blob = wal_recovery::read_meta(dir)?;
        let meta = RaftMeta::<C::NodeId>::decode(blob.as_deref())?;
        let recovery = RecoveryOptions::default()
            .with_commit_offset(meta.commit_offset)
            .with_wal(options.wal_for_raft());
        let log = wal_recovery::open(dir, recovery)?.log;
        if log.meta()? == blob {
            return Ok((log, meta));
        }
    }
    Err(Error::MetaChangedDuringOpen)
}

/// The raft entry in `payload`, read at `offset`.
fn decode<C>(offset: u64, payload: &[u8]) -> Result<Entry<C>>
where
    C: RaftTypeConfig<Entry = Entry<C>>,
{
    let entry: Entry<C> =
        postcard::from_bytes(payload).map_err(|source| Error::EntryDecode { offset, source })?;
    if entry.log_id.index != offset {
        return Err(Error::IndexMismatch {
            offset,
            index: entry.log_id.index,
        });
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::time::Duration;

    use openraft::{CommittedLeaderId, EntryPayload};
    use wal_store::WalOptions;

    use super::*;

    openraft::declare_raft_types!(Config: D = String, R = String);

    fn id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(1, 1), index)
    }

    #[test]
    fn the_commit_offset_recorded_never_passes_what_this_log_made_durable() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing syncs until asked (an interval far longer than the test).
        let wal =
            WalOptions::default().with_sync_policy(SyncPolicy::Interval(Duration::from_secs(3600)));
        let store = LogStore::<Config>::open(dir.path(), Options::default().with_wal(wal)).unwrap();
        let entries = (0..5).map(|index| Entry {
            log_id: id(index),
            payload: EntryPayload::Blank,
        });
        store.append(entries, drop).unwrap();
        // A follower may hear of a commit before its copy is durable.
        store.save_committed(Some(id(3))).unwrap();
        assert_eq!(store.meta().committed, Some(id(3)));
        assert_eq!(store.meta().commit_offset, None);
        store.log().sync().unwrap();
        store.save_committed(Some(id(9))).unwrap();
        assert_eq!(store.meta().commit_offset, Some(4));
        store.save_committed(Some(id(2))).unwrap();
        assert_eq!(store.meta().commit_offset, Some(4), "never lowered");
        // What the next open reads.
        let blob = wal_recovery::read_meta(dir.path()).unwrap();
        let meta = RaftMeta::<u64>::decode(blob.as_deref()).unwrap();
        assert_eq!((meta.committed, meta.commit_offset), (Some(id(2)), Some(4)));
    }
}
