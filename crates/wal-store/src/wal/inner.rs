//! The state a log's threads share, its locks, and where an offset lives.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::closed;
use crate::error::{Result, StoreError};
use crate::holes;
use crate::lock::DirLock;
use crate::options::WalOptions;
use crate::segment::Segment;
use crate::stats::{Counters, Stats};
use crate::sync::SyncCoordinator;
use crate::waiters::Waiters;

#[derive(Debug)]
pub(crate) struct Inner {
    pub(super) dir: PathBuf,
    pub(super) options: WalOptions,
    pub(super) _lock: DirLock,
    /// Every segment, oldest first; the last one is the active segment. Readers hold the
    /// shared side while they copy an entry out; whatever changes published bytes or
    /// removes a segment holds the exclusive side.
    pub(super) segments: RwLock<Vec<Arc<Segment>>>,
    /// Ranges of offsets recovery skipped (see `holes.rs`), between segments. Changed only
    /// under the exclusive list lock.
    pub(super) holes: RwLock<Vec<Range<u64>>>,
    /// The write position. Appenders hold it while they encode.
    pub(super) tail: Mutex<Tail>,
    pub(super) sync: SyncCoordinator,
    /// Held by every sync of segment data (see [`Inner::flush_data`]).
    pub(super) flushing: Mutex<()>,
    /// Entries below this offset are visible to readers.
    pub(super) readable_end: AtomicU64,
    /// Offset of the first entry the log holds (changed under the exclusive list lock).
    pub(super) first_offset: AtomicU64,
    /// Bumped under the exclusive list lock whenever segments are replaced or cut, so
    /// that iterators know their cached position may be stale.
    pub(super) epoch: AtomicU64,
    pub(super) counters: Counters,
    /// Set once a read found a damaged record: the close record is not written again by
    /// this log (see [`Inner::note_damage`]).
    pub(super) damage_seen: AtomicBool,
    /// Whether the log was opened through its close record by the recovery crate
    /// ([`Wal::open_if_closed_cleanly`](crate::Wal::open_if_closed_cleanly)): damage a
    /// read finds then removes the record at once.
    pub(super) forgets_close_record_on_damage: AtomicBool,
    /// Set, under the tail lock, by [`Wal::shutdown`](crate::Wal::shutdown): every call
    /// that changes or reads the log refuses from then on (see [`Inner::check_open`]).
    pub(super) closed: AtomicBool,
    /// Readers waiting for entries to become visible (see `waiters.rs`).
    pub(super) waiters: Waiters,
    /// Held while the metadata file is replaced: two writers would share its temporary
    /// file.
    pub(super) meta_writing: Mutex<()>,
}

#[derive(Debug)]
pub(super) struct Tail {
    pub(super) active: Arc<Segment>,
    pub(super) next_offset: u64,
    /// Crc of the last entry: the seed of the next v2 record (`None` after a v1 record).
    pub(super) last_crc: Option<u32>,
    /// Entries and payload bytes appended since opening: counted under the tail lock
    /// that appends hold anyway, rather than with atomics on every append.
    pub(super) entries_appended: u64,
    pub(super) payload_bytes_appended: u64,
    /// Whether a close record may be on disk: removed before the active segment first
    /// changes (see `closed.rs`).
    pub(super) close_record_on_disk: bool,
    /// Whether the close record on disk is the one the open took the active segment
    /// from, so that it still describes the segment exactly and a close need not write it
    /// again. False from the first change on.
    pub(super) close_record_current: bool,
    /// Whether sealed segments the open deferred (see `open.rs`) may still be unopened:
    /// they are all opened and checked before the first append or truncation.
    pub(super) deferred_unchecked: bool,
    /// Whether the active segment's index has been written by a rotation or a clear
    /// that then failed (creating the next segment): it is sealed on disk, and the next
    /// append finishes the rotation before anything is appended to it.
    pub(super) sealed_on_disk: bool,
}

fn poisoned_lock<T>(_: T) -> StoreError {
    StoreError::Poisoned {
        cause: "a thread panicked while holding the log's lock".to_owned(),
    }
}

impl Inner {
    /// Passes a read's result on, noting damage it reports (a record that fails its check,
    /// a segment whose files do not agree, or a deferred or set-aside segment whose check
    /// at its first use says the directory needs recovery): from then on this log never writes a close
    /// record, and a log opened through one removes it, durably, at once, so that the next
    /// open through recovery checks the whole log and applies its mode instead of trusting
    /// the record again. Failing to remove it is logged; the caller gets the read's error.
    pub(crate) fn note_damage<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(
            StoreError::Corrupt { .. }
            | StoreError::Layout { .. }
            | StoreError::NeedsRecovery { .. },
        ) = &result
        {
            self.damage_seen.store(true, Ordering::Release);
            if self.forgets_close_record_on_damage.load(Ordering::Acquire)
                && let Err(e) = closed::consume(&self.dir)
            {
                log::warn!(target: "wal_store::read", "close record not removed after damage: {e}");
            }
        }
        result
    }

    /// The tail, to read a field of it. A thread that panicked while holding it left every
    /// field it holds whole (each is changed by one assignment), so the accessors read it
    /// all the same; every change of the log refuses a poisoned tail (`lock_tail`).
    pub(super) fn tail_for_reading(&self) -> MutexGuard<'_, Tail> {
        self.tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn lock_tail(&self) -> Result<MutexGuard<'_, Tail>> {
        self.tail.lock().map_err(poisoned_lock)
    }

    /// The tail, for a change of the log: refused once the log is shut down. The flag is
    /// read under the tail lock, under which shutdown sets it, so a change either
    /// happens before the shutdown's sync (which covers it) or not at all.
    pub(super) fn lock_tail_open(&self) -> Result<MutexGuard<'_, Tail>> {
        let tail = self.lock_tail()?;
        self.check_open()?;
        Ok(tail)
    }

    /// [`StoreError::Closed`] once the log is shut down.
    #[inline]
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    /// The segment list, shared, for a reader: refused once the log is shut down, so that
    /// every read, iterator step and visit (each takes it) ends with
    /// [`StoreError::Closed`].
    pub(crate) fn segments_read(&self) -> Result<RwLockReadGuard<'_, Vec<Arc<Segment>>>> {
        let segments = self.segments.read().map_err(poisoned_lock)?;
        self.check_open()?;
        Ok(segments)
    }

    pub(super) fn segments_write(&self) -> Result<RwLockWriteGuard<'_, Vec<Arc<Segment>>>> {
        self.segments.write().map_err(poisoned_lock)
    }

    /// The hole holding `offset`, if any.
    pub(crate) fn hole_at(&self, offset: u64) -> Option<Range<u64>> {
        let holes = self.holes.read().unwrap_or_else(|p| p.into_inner());
        holes::hole_at(&holes, offset)
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub(crate) fn first_offset(&self) -> u64 {
        self.first_offset.load(Ordering::Acquire)
    }

    pub(crate) fn readable_end(&self) -> u64 {
        self.readable_end.load(Ordering::Acquire)
    }

    /// The segment holding `offset` and the entry's position in it, if readers may see
    /// it. The caller holds the shared list lock.
    pub(crate) fn locate<'s>(
        &self,
        segments: &'s [Arc<Segment>],
        offset: u64,
    ) -> Result<(&'s Arc<Segment>, u64)> {
        let first = self.first_offset();
        let end = self.readable_end();
        let out_of_range = |reason| StoreError::OffsetOutOfRange {
            offset,
            first,
            next: end,
            reason,
        };
        if offset < first {
            return Err(out_of_range(
                "before the first entry (trimmed or never written)",
            ));
        }
        if offset >= end {
            return Err(out_of_range(
                "not written yet, or not yet visible to readers",
            ));
        }
        if self.hole_at(offset).is_some() {
            return Err(out_of_range("in a hole: recovery skipped these entries"));
        }
        let index = segments.partition_point(|s| s.base <= offset);
        let segment = index
            .checked_sub(1)
            .and_then(|i| segments.get(i))
            .ok_or_else(|| out_of_range("no segment holds it"))?;
        Ok((segment, offset - segment.base))
    }

    /// The segment holding `offset` (an entry the log holds, visible to readers or not)
    /// and the entry's position in it. The caller holds the list lock.
    pub(super) fn locate_unpublished<'s>(
        &self,
        segments: &'s [Arc<Segment>],
        offset: u64,
    ) -> Result<(&'s Arc<Segment>, u64)> {
        let index = segments.partition_point(|s| s.base <= offset);
        let segment = index.checked_sub(1).and_then(|i| segments.get(i)).ok_or(
            StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: self.readable_end(),
                reason: "no segment holds it",
            },
        )?;
        Ok((segment, offset - segment.base))
    }

    /// Counters since opening (see [`Wal::stats`](crate::Wal::stats)).
    pub(super) fn stats(&self) -> Stats {
        let segments = self.segments.read().map(|s| s.len()).unwrap_or(0);
        let (entries, bytes) = self
            .lock_tail()
            .map(|t| (t.entries_appended, t.payload_bytes_appended))
            .unwrap_or_default();
        let mut stats = self.counters.snapshot(segments as u64);
        stats.entries_appended = entries;
        stats.payload_bytes_appended = bytes;
        stats
    }
}
