//! The write-ahead log: appends, syncs, reads, truncation, trimming.

use std::ops::{ControlFlow, Range};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ahead::{CheckAhead, Checked};
use crate::closed::{self, CloseRecord};
use crate::error::{IoContext, Result, StoreError};
use crate::fs;
use crate::holes;
use crate::lock::DirLock;
use crate::mmap::{Premapped, ScannedMap};
use crate::open;
use crate::options::{ReadVisibility, SyncPolicy, WalOptions};
use crate::read::{Iter, RevIter};
use crate::segment::{Entry, EntryRef, Segment};
use crate::stats::{Counters, Stats};
use crate::sync::SyncCoordinator;

/// What one append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The entry's offset.
    pub offset: u64,
    /// The entry's chained crc (`None` in a v1 segment, which has no crc).
    pub crc: Option<u32>,
}

/// What one batch append wrote: entries `first_offset..=last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendedBatch {
    /// Offset of the batch's first entry.
    pub first_offset: u64,
    /// Offset of the batch's last entry.
    pub last_offset: u64,
    /// Crc of the last entry (`None` in a v1 segment).
    pub last_crc: Option<u32>,
}

/// A write-ahead log in one directory. Every method takes `&self`: share it between
/// threads with an `Arc`. One `Wal` per directory: a second one, in this process or
/// another, gets [`StoreError::Locked`].
///
/// Dropping a `Wal` does not sync it: what was not made durable (by the sync policy or
/// [`sync`](Wal::sync)) may be lost, exactly as in a crash. Call [`close`](Wal::close) to
/// sync and learn about any failure.
#[derive(Debug)]
pub struct Wal {
    inner: Arc<Inner>,
    syncer: Option<IntervalSyncer>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    dir: PathBuf,
    options: WalOptions,
    _lock: DirLock,
    /// Every segment, oldest first; the last one is the active segment. Readers hold the
    /// shared side while they copy an entry out; whatever changes published bytes or
    /// removes a segment holds the exclusive side.
    segments: RwLock<Vec<Arc<Segment>>>,
    /// Ranges of offsets recovery skipped (see `holes.rs`), between segments. Changed only
    /// under the exclusive list lock.
    holes: RwLock<Vec<Range<u64>>>,
    /// The write position. Appenders hold it while they encode.
    tail: Mutex<Tail>,
    sync: SyncCoordinator,
    /// Held by every sync of segment data (see [`Inner::flush_data`]).
    flushing: Mutex<()>,
    /// Entries below this offset are visible to readers.
    readable_end: AtomicU64,
    /// Offset of the first entry the log holds (changed under the exclusive list lock).
    first_offset: AtomicU64,
    /// Bumped under the exclusive list lock whenever segments are replaced or cut, so
    /// that iterators know their cached position may be stale.
    epoch: AtomicU64,
    counters: Counters,
}

#[derive(Debug)]
struct Tail {
    active: Arc<Segment>,
    next_offset: u64,
    /// Crc of the last entry: the seed of the next v2 record (`None` after a v1 record).
    last_crc: Option<u32>,
    /// Entries and payload bytes appended since opening: counted under the tail lock
    /// that appends hold anyway, rather than with atomics on every append.
    entries_appended: u64,
    payload_bytes_appended: u64,
    /// Whether a close record may be on disk: removed before the active segment first
    /// changes (see `closed.rs`).
    close_record_on_disk: bool,
    /// Whether the close record on disk is the one the open took the active segment
    /// from, so that it still describes the segment exactly and a close need not write it
    /// again. False from the first change on.
    close_record_current: bool,
    /// Whether sealed segments the open deferred (see `open.rs`) may still be unopened:
    /// they are all opened and checked before the first append or truncation.
    deferred_unchecked: bool,
    /// Whether the active segment's index has been written by a rotation or a clear
    /// that then failed (creating the next segment): it is sealed on disk, and the next
    /// append finishes the rotation before anything is appended to it.
    sealed_on_disk: bool,
}

fn poisoned_lock<T>(_: T) -> StoreError {
    StoreError::Poisoned {
        cause: "a thread panicked while holding the log's lock".to_owned(),
    }
}

impl Wal {
    /// Opens the log in `dir`, creating the directory and an empty log (starting at
    /// `options.first_offset`, seeded with `options.seed_crc`) if it holds none.
    ///
    /// An existing log must be clean: any damaged record, gap, missing index or other
    /// problem found is refused with [`StoreError::NeedsRecovery`] or
    /// [`StoreError::Layout`] and nothing is changed (older sealed segments are checked
    /// later, see below). After a crash, open through the recovery crate, which decides
    /// what to keep.
    ///
    /// Sealed segments are trusted through their index files, and after a clean
    /// [`close`](Wal::close) the active segment through its close record: their first and
    /// last records are checked, the records between them by every read, which refuses a
    /// damaged one with [`StoreError::Corrupt`]. Without a close record (after a crash)
    /// every record of the active segment is checked at open.
    ///
    /// The open's time does not grow with the log: it checks the active segment and the
    /// sealed segment before it, and every older sealed segment at its first use (a read,
    /// an iteration, a visit or a truncation that reaches it), with the same checks plus
    /// the link from its last record to the next segment's first. A problem found then
    /// fails that use with [`StoreError::Layout`], [`StoreError::NeedsRecovery`] or
    /// [`StoreError::Io`], and every later use of the segment, until recovery repairs it;
    /// the rest of the log stays readable. The first append or truncation checks every
    /// deferred segment first and is refused if one fails, so nothing is written on top of
    /// damage. A trim removes old segments without opening them. To have every segment
    /// checked before anything is read, open through the recovery crate (or run its
    /// `verify`).
    pub fn open(dir: impl AsRef<Path>, options: WalOptions) -> Result<Wal> {
        options.validate()?;
        let dir = dir.as_ref();
        fs::create_dir_durably(dir)?;
        let lock = DirLock::acquire(dir)?;
        Wal::open_locked(dir, options, lock)
    }

    /// Like [`open`](Wal::open), with the directory's lock already held (the recovery
    /// crate takes it before repairing, so that no other writer can slip in between).
    pub fn open_locked(dir: impl AsRef<Path>, options: WalOptions, lock: DirLock) -> Result<Wal> {
        Wal::open_locked_with_maps(dir, options, lock, Vec::new())
    }

    /// [`open_locked`](Wal::open_locked), reusing the read-only mappings recovery made of
    /// the data files while it scanned them (see [`ScannedMap`]): the sealed segments'
    /// pages are then not mapped and faulted in a second time. A mapping of a file that
    /// is no longer there at the same length is dropped.
    pub fn open_locked_with_maps(
        dir: impl AsRef<Path>,
        options: WalOptions,
        lock: DirLock,
        maps: Vec<ScannedMap>,
    ) -> Result<Wal> {
        let mut premapped = Premapped::new(maps);
        options.validate()?;
        let dir = dir.as_ref().to_path_buf();
        if lock.path().parent() != Some(dir.as_path()) {
            return Err(StoreError::InvalidOption {
                name: "lock",
                value: lock.path().display().to_string(),
                reason: "the lock held is not this directory's",
            });
        }
        let (segments, next_offset, last_crc, holes, close_record_current) =
            match open::load(&dir, &mut premapped)? {
                Some(loaded) => {
                    let empty = loaded
                        .segments
                        .iter()
                        .all(|s| s.entries().unwrap_or(0) == 0);
                    // The chain's seed for an empty log comes from the options, if the active
                    // segment's codec has crcs at all.
                    let active_has_crc = loaded.segments.last().is_some_and(|s| s.codec.has_crc());
                    let seed = (empty && active_has_crc).then_some(options.seed_crc);
                    if loaded.stale_holes {
                        holes::write_holes(&dir, &loaded.holes)?;
                    }
                    (
                        loaded.segments,
                        loaded.next_offset,
                        loaded.last_crc.or(seed),
                        loaded.holes,
                        loaded.active_from_close_record,
                    )
                }
                None => {
                    // Holes of a log that is gone (every segment removed, the holes file
                    // left) would lie in the new log's offsets, which are all written.
                    holes::write_holes(&dir, &[])?;
                    let segment = Segment::create(
                        &dir,
                        options.first_offset,
                        options.codec,
                        options.segment_bytes,
                    )?;
                    (
                        vec![segment],
                        options.first_offset,
                        options.codec.has_crc().then_some(options.seed_crc),
                        Vec::new(),
                        false,
                    )
                }
            };
        let close_record_on_disk = closed::exists(&dir)?;
        let deferred_unchecked = segments.iter().any(Segment::is_deferred);
        let segments: Vec<Arc<Segment>> = segments.into_iter().map(Arc::new).collect();
        let (Some(first), Some(active)) = (segments.first(), segments.last()) else {
            return Err(StoreError::Layout {
                segment: options.first_offset,
                detail: "no segment after opening".to_owned(),
            });
        };
        let first_offset = first.base;
        let active = Arc::clone(active);
        log::info!(
            target: "wal_store::open",
            "opened {} with {} segments, entries {first_offset}..{next_offset}",
            dir.display(),
            segments.len()
        );
        let inner = Arc::new(Inner {
            tail: Mutex::new(Tail {
                active,
                next_offset,
                last_crc,
                entries_appended: 0,
                payload_bytes_appended: 0,
                close_record_on_disk,
                close_record_current,
                deferred_unchecked,
                sealed_on_disk: false,
            }),
            segments: RwLock::new(segments),
            holes: RwLock::new(holes),
            sync: SyncCoordinator::new(next_offset),
            flushing: Mutex::new(()),
            readable_end: AtomicU64::new(next_offset),
            first_offset: AtomicU64::new(first_offset),
            epoch: AtomicU64::new(0),
            counters: Counters::default(),
            dir,
            options,
            _lock: lock,
        });
        let syncer = match inner.options.sync_policy {
            SyncPolicy::Interval(interval) => Some(IntervalSyncer::start(&inner, interval)?),
            _ => None,
        };
        Ok(Wal { inner, syncer })
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The options the log was opened with.
    pub fn options(&self) -> &WalOptions {
        &self.inner.options
    }

    /// Appends one entry and returns its offset and crc. Durable before it returns under
    /// [`SyncPolicy::Always`] and [`SyncPolicy::GroupCommit`].
    pub fn append(&self, payload: &[u8]) -> Result<Appended> {
        self.inner.check_payload(payload)?;
        let mut tail = self.inner.lock_tail()?;
        let appended = self.inner.append_locked(&mut tail, payload)?;
        self.inner.after_append(tail, appended.offset)?;
        Ok(appended)
    }

    /// Appends entries back to back, under one lock and at most one sync. Every payload
    /// is checked first, so a bad one appends nothing; an I/O error in the middle (a full
    /// disk at a rotation, say) may leave a prefix of the batch appended but not durable.
    pub fn append_batch<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<AppendedBatch> {
        if payloads.is_empty() {
            return Err(StoreError::EmptyBatch);
        }
        for payload in payloads {
            self.inner.check_payload(payload.as_ref())?;
        }
        let mut tail = self.inner.lock_tail()?;
        let first_offset = tail.next_offset;
        // The whole batch must fit below the largest offset, or none of it is appended.
        if first_offset.checked_add(payloads.len() as u64).is_none() {
            // The first entry of the batch that would get no room: the largest offset.
            return Err(StoreError::OffsetOutOfRange {
                offset: u64::MAX,
                first: self.first_offset(),
                next: first_offset,
                reason: "the batch would pass the largest offset",
            });
        }
        let mut last = None;
        for payload in payloads {
            last = Some(self.inner.append_locked(&mut tail, payload.as_ref())?);
        }
        let Some(last) = last else {
            return Err(StoreError::EmptyBatch);
        };
        self.inner.after_append(tail, last.offset)?;
        Ok(AppendedBatch {
            first_offset,
            last_offset: last.offset,
            last_crc: last.crc,
        })
    }

    /// Makes every entry appended so far durable. Concurrent callers share one sync.
    pub fn sync(&self) -> Result<()> {
        self.inner.sync_all()
    }

    /// The highest offset known durable, or `None` if no entry of the log is.
    pub fn last_synced_offset(&self) -> Option<u64> {
        let synced_end = self.inner.sync.lock().synced_end;
        let first = self.inner.first_offset.load(Ordering::Acquire);
        (synced_end > first).then(|| synced_end - 1)
    }

    /// Offset of the first entry the log holds (or would hold, when empty).
    pub fn first_offset(&self) -> u64 {
        self.inner.first_offset.load(Ordering::Acquire)
    }

    /// Offset the next append will get.
    pub fn next_offset(&self) -> u64 {
        self.inner.tail_for_reading().next_offset
    }

    /// Offset of the last entry appended, or `None` if the log is empty.
    pub fn last_offset(&self) -> Option<u64> {
        let next = self.next_offset();
        (next > self.first_offset()).then(|| next - 1)
    }

    /// Crc of the last entry appended: the seed of the next one (`None` after a v1 entry,
    /// or for an empty v1 log).
    pub fn last_crc(&self) -> Option<u32> {
        self.inner.tail_for_reading().last_crc
    }

    /// The entry at `offset`, if readers can see it (see [`ReadVisibility`]).
    pub fn read(&self, offset: u64) -> Result<Entry> {
        let segments = self.inner.segments_read()?;
        let (segment, position) = self.inner.locate(&segments, offset)?;
        segment.read(position)
    }

    /// The entries from `offset` on, oldest first, as far as readers can see when each
    /// one is reached.
    pub fn iter_from(&self, offset: u64) -> Result<Iter<'_>> {
        let first = self.first_offset();
        let end = self.inner.readable_end.load(Ordering::Acquire);
        if offset < first || offset > end {
            return Err(StoreError::OffsetOutOfRange {
                offset,
                first,
                next: end,
                reason: "an iterator starts between the first entry and the end",
            });
        }
        Ok(Iter::new(&self.inner, offset))
    }

    /// Calls `visit` on the entries from `offset` on, oldest first, with borrowed payloads
    /// (no copy, no allocation: the fastest way to replay), until the end visible to
    /// readers or until `visit` returns `ControlFlow::Break`. Holes are stepped over. The
    /// shared list lock is held for batches of entries, so a visit that does slow work
    /// delays truncation and trimming. Returns the offset after the last entry visited.
    pub fn visit_from(
        &self,
        offset: u64,
        mut visit: impl FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<u64> {
        let first = self.first_offset();
        let end = self.inner.readable_end();
        if offset < first || offset > end {
            return Err(StoreError::OffsetOutOfRange {
                offset,
                first,
                next: end,
                reason: "a visit starts between the first entry and the end",
            });
        }
        // A long visit has the crcs of the records ahead checked on another core.
        let ahead = {
            let segments = self.inner.segments_read()?;
            let start = segments
                .partition_point(|s| s.base <= offset)
                .saturating_sub(1);
            let position = segments
                .get(start)
                .map_or(0, |s| offset.saturating_sub(s.base));
            CheckAhead::plan(
                &segments,
                start,
                position,
                self.inner.readable_end(),
                self.inner.epoch(),
            )
        };
        let Some(ahead) = ahead else {
            return self.visit_range(offset, None, &mut visit);
        };
        std::thread::scope(|scope| {
            let helper = std::thread::Builder::new()
                .name("wal-check-ahead".to_owned())
                .spawn_scoped(scope, || ahead.run(&self.inner.segments, &self.inner.epoch));
            // No helper (no thread to be had): the visit checks every record itself.
            let ahead = helper.is_ok().then_some(&ahead);
            let _stop = ahead.map(CheckAhead::stop_on_drop);
            self.visit_range(offset, ahead, &mut visit)
        })
    }

    /// [`visit_from`](Wal::visit_from)'s loop, reading the records `ahead` checked without
    /// checking their crcs again.
    fn visit_range(
        &self,
        offset: u64,
        ahead: Option<&CheckAhead>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<u64> {
        /// Entries visited per hold of the shared lock, and per look at what the helper
        /// has checked.
        const BATCH: u64 = 1024;
        let mut next = offset;
        // The segment last asked about, how many of its first records need no crc
        // check, and the log's epoch then (a truncation since may have rewritten them).
        let mut checked: Option<(Arc<Segment>, u64, u64)> = None;
        loop {
            let segments = self.inner.segments_read()?;
            if let Some(hole) = self.inner.hole_at(next) {
                next = hole.end;
            }
            let end = self.inner.readable_end();
            if next >= end {
                return Ok(next);
            }
            let (segment, position) = self.inner.locate(&segments, next)?;
            let epoch = self.inner.epoch();
            let by_recovery = match &checked {
                // What recovery vouched for holds until a truncation (a new epoch).
                Some((known, below, at_epoch))
                    if Arc::ptr_eq(known, segment) && *at_epoch == epoch =>
                {
                    *below
                }
                Some((known, ..)) if Arc::ptr_eq(known, segment) => 0,
                _ if segment.is_checked() => {
                    let below = segment.take_checked();
                    checked = Some((Arc::clone(segment), below, epoch));
                    below
                }
                _ => 0,
            };
            // Recovery vouches for the first records, the helper for those it reaches.
            let covered = Checked {
                below: by_recovery,
                ahead: ahead.and_then(|ahead| ahead.coverage(segment, position, epoch)),
            };
            let segment_end = segment.entries()?.min(end - segment.base);
            let stop = segment_end.min(position.saturating_add(BATCH));
            let (reached, stopped) = segment.visit(position, stop, covered, visit)?;
            next = segment.base + reached;
            if stopped || reached == position {
                return Ok(next);
            }
        }
    }

    /// For recovery, right after it opened this log and before anything is appended:
    /// every record the segments starting at `bases` hold was read and had its crc
    /// checked by the caller just now, under this directory's lock, from the files this
    /// log has mapped (and nothing changed them since). The first
    /// [`visit_from`](Wal::visit_from) that reads each of them (the replay that follows
    /// recovery) reads those records without computing their crcs a second time; every
    /// later read checks them as always, and so does every read of a record appended or
    /// rewritten since. Bases that are not a segment of this log are ignored.
    pub fn note_checked_segments(&self, bases: &[u64]) -> Result<()> {
        let segments = self.inner.segments_read()?;
        for segment in segments.iter() {
            if bases.contains(&segment.base) {
                segment.note_checked()?;
            }
        }
        Ok(())
    }

    /// Every entry, oldest first.
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(&self.inner, self.first_offset())
    }

    /// Every visible entry, newest first.
    pub fn iter_rev(&self) -> RevIter<'_> {
        let end = self.inner.readable_end.load(Ordering::Acquire);
        RevIter::new(&self.inner, end)
    }

    /// Drops every entry after `offset` (raft-style), so that the next append gets
    /// `offset + 1` and chains from `offset`'s crc. The dropped bytes are zeroed and the
    /// zeros made durable before this returns, so no dropped record can come back after a
    /// crash. `offset` may be one before the first entry (dropping everything), and the
    /// last entry (changing nothing).
    pub fn truncate_after(&self, offset: u64) -> Result<()> {
        match offset.checked_add(1) {
            Some(cut) => self.inner.truncate_from(cut, offset),
            None => Err(StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: self.inner.readable_end(),
                reason: "after the last entry",
            }),
        }
    }

    /// Drops `offset` and every entry after it: [`truncate_after`](Wal::truncate_after)
    /// for `offset - 1`, which also works when `offset` is 0 (a log starting at 0 has no
    /// entry before its first one to name).
    pub fn truncate_from(&self, offset: u64) -> Result<()> {
        self.inner.truncate_from(offset, offset)
    }

    /// Removes the sealed segments whose entries all lie before `offset` and returns how
    /// many were removed. The active segment always stays, and so does the segment just
    /// before an empty active segment (its last record carries the chain's seed). Offsets
    /// never change: they come from the segments' names.
    pub fn trim_before(&self, offset: u64) -> Result<usize> {
        self.inner.trim_before(offset)
    }

    /// Removes every entry. Offsets are never reused: the next append gets the offset it
    /// would have got, and chains from the last crc. (A log with no entry has nowhere to
    /// keep its seed: if it is reopened before the next append, the seed comes from
    /// [`WalOptions::seed_crc`] again.)
    pub fn clear(&self) -> Result<()> {
        self.inner.clear()
    }

    /// Counters since opening.
    pub fn stats(&self) -> Stats {
        let segments = self.inner.segments_read().map(|s| s.len()).unwrap_or(0);
        let (entries, bytes) = self
            .inner
            .lock_tail()
            .map(|t| (t.entries_appended, t.payload_bytes_appended))
            .unwrap_or_default();
        let mut stats = self.inner.counters.snapshot(segments as u64);
        stats.entries_appended = entries;
        stats.payload_bytes_appended = bytes;
        stats
    }

    /// Syncs everything and closes the log, reporting any failure (including an earlier
    /// failed sync). A v2 log also leaves a close record (the file `CLOSED`), so that the
    /// next [`open`](Wal::open) need not scan the active segment.
    pub fn close(mut self) -> Result<()> {
        if let Some(syncer) = self.syncer.take() {
            syncer.stop();
        }
        if let Some(cause) = self.inner.sync.poisoned() {
            return Err(StoreError::Poisoned { cause });
        }
        self.inner.sync_all()?;
        self.inner.write_close_record()
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Some(syncer) = self.syncer.take() {
            syncer.stop();
        }
    }
}

impl Inner {
    /// Runs `flush`, a sync (msync or fsync) of segment data, as the only one running in
    /// this log; a failure poisons the log before the next sync can start, and none
    /// starts once the log is poisoned.
    ///
    /// Linux reports a writeback error of a file once per open file description, to the
    /// first sync of it that looks, whatever range that sync covered. Two syncs of the
    /// active segment at once (a group-commit leader's, and a zero-ahead's or a
    /// rotation's under the tail) could let one take the error of the other's pages, and
    /// the other report success for data that never reached the disk. One at a time,
    /// every error is seen by the sync whose writeback failed or by an earlier one,
    /// which poisons the log first.
    fn flush_data<T>(&self, flush: impl FnOnce() -> Result<T>) -> Result<T> {
        let _alone = self
            .flushing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(cause) = self.sync.poisoned_fast() {
            return Err(StoreError::Poisoned { cause });
        }
        flush().inspect_err(|e| self.sync.poison(e.to_string()))
    }

    /// The tail, to read a field of it. A thread that panicked while holding it left every
    /// field it holds whole (each is changed by one assignment), so the accessors read it
    /// all the same; every change of the log refuses a poisoned tail (`lock_tail`).
    fn tail_for_reading(&self) -> MutexGuard<'_, Tail> {
        self.tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_tail(&self) -> Result<MutexGuard<'_, Tail>> {
        self.tail.lock().map_err(poisoned_lock)
    }

    pub(crate) fn segments_read(&self) -> Result<RwLockReadGuard<'_, Vec<Arc<Segment>>>> {
        self.segments.read().map_err(poisoned_lock)
    }

    fn segments_write(&self) -> Result<RwLockWriteGuard<'_, Vec<Arc<Segment>>>> {
        self.segments.write().map_err(poisoned_lock)
    }

    /// The hole holding `offset`, if any.
    pub(crate) fn hole_at(&self, offset: u64) -> Option<Range<u64>> {
        let holes = self.holes.read().unwrap_or_else(|p| p.into_inner());
        holes::hole_at(&holes, offset)
    }

    /// Drops the holes outside `first..next` and rewrites the holes file if that changed.
    /// The caller holds the exclusive list lock.
    fn prune_holes(&self, first: u64, next: u64) -> Result<()> {
        let mut holes = self.holes.write().unwrap_or_else(|p| p.into_inner());
        let before = holes.len();
        holes.retain(|h| h.start >= first && h.end <= next);
        if holes.len() != before {
            holes::write_holes(&self.dir, &holes)?;
        }
        Ok(())
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

    fn check_payload(&self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() {
            return Err(StoreError::EmptyPayload);
        }
        if payload.len() > self.options.max_entry_bytes {
            return Err(StoreError::EntryTooLarge {
                size: payload.len(),
                max: self.options.max_entry_bytes,
            });
        }
        Ok(())
    }

    fn append_locked(&self, tail: &mut Tail, payload: &[u8]) -> Result<Appended> {
        if let Some(cause) = self.sync.poisoned_fast() {
            return Err(StoreError::Poisoned { cause });
        }
        let offset = tail.next_offset;
        // Built only when needed: `ok_or` would build (and drop) the error on every append.
        let next_offset = offset
            .checked_add(1)
            .ok_or_else(|| StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: offset,
                reason: "the log has reached the largest offset",
            })?;
        self.check_deferred(tail)?;
        self.forget_close_record(tail)?;
        let needed = record_bytes(tail.active.codec, payload.len())?;
        if tail.sealed_on_disk || !self.fits(&tail.active, needed) {
            if tail.active.entries()? == 0 {
                self.grow_active(tail, needed)?;
            } else {
                let needed_new = record_bytes(self.options.codec, payload.len())?;
                self.rotate(tail, needed_new)?;
            }
        }
        if tail.active.zero_ahead_due(needed) {
            self.flush_data(|| tail.active.zero_ahead(needed))?;
        }
        let encoded = tail.active.append(tail.last_crc.unwrap_or(0), payload)?;
        tail.next_offset = next_offset;
        tail.last_crc = encoded.crc;
        tail.entries_appended += 1;
        tail.payload_bytes_appended += payload.len() as u64;
        if self.options.read_visibility == ReadVisibility::Appended {
            tail.active.publish(tail.active.data_len());
            self.readable_end.store(next_offset, Ordering::Release);
        }
        self.seal_if_oversized(tail);
        Ok(Appended {
            offset,
            crc: encoded.crc,
        })
    }

    /// Applies the sync policy after appending up to `last_offset`.
    fn after_append(&self, tail: MutexGuard<'_, Tail>, last_offset: u64) -> Result<()> {
        match self.options.sync_policy {
            SyncPolicy::Always => self.sync_holding_tail(&tail),
            SyncPolicy::GroupCommit => {
                drop(tail);
                self.sync_until(last_offset.saturating_add(1))
            }
            SyncPolicy::Interval(_) | SyncPolicy::Manual => Ok(()),
        }
    }

    /// Opens and checks every sealed segment the open deferred, before the log first
    /// changes: nothing is appended after, or truncated into, a log that has not been
    /// checked whole, as if the open had checked it. A failure is returned to each append
    /// or truncation until the log is reopened through recovery; readers of the other
    /// segments go on.
    #[inline]
    fn check_deferred(&self, tail: &mut Tail) -> Result<()> {
        if tail.deferred_unchecked {
            self.open_deferred(tail)
        } else {
            Ok(())
        }
    }

    #[cold]
    fn open_deferred(&self, tail: &mut Tail) -> Result<()> {
        for segment in self.segments_read()?.iter() {
            segment.open_if_deferred()?;
        }
        tail.deferred_unchecked = false;
        Ok(())
    }

    /// Removes the close record, durably, if one may be on disk: the active segment is
    /// about to change, and the record would no longer describe it.
    fn forget_close_record(&self, tail: &mut Tail) -> Result<()> {
        if tail.close_record_on_disk {
            tail.close_record_current = false;
            closed::consume(&self.dir)?;
            tail.close_record_on_disk = false;
        }
        Ok(())
    }

    /// Writes the close record (see `closed.rs`) for the active segment, every entry of
    /// which is durable: the next open need not scan it. Failing to write it costs that
    /// open time, not data, so a failure is logged rather than returned.
    fn write_close_record(&self) -> Result<()> {
        let tail = self.lock_tail()?;
        if tail.close_record_on_disk && tail.close_record_current {
            // Opened from this very record, and nothing has changed the segment since.
            return Ok(());
        }
        let active = &tail.active;
        let describable = active.entries()? > 0
            && active.codec.has_crc()
            && active.synced_len() == active.data_len();
        let written = match tail.last_crc {
            Some(last_crc) if describable => closed::write(
                &self.dir,
                &CloseRecord {
                    base: active.base,
                    codec: active.codec,
                    data_len: active.data_len(),
                    last_crc,
                    offsets: active.offsets_read()?.to_vec(),
                },
            ),
            // Nothing to describe (an empty or v1 active segment). Any record from before
            // went when the segment first changed; one that did not describe it was
            // refused at open and is refused again.
            _ => Ok(()),
        };
        if let Err(e) = written {
            log::warn!(target: "wal_store::segment", "close record not written: {e}");
        }
        Ok(())
    }

    /// Syncs the active segment while holding the tail: nothing can be appended
    /// meanwhile, so the whole log is durable when it returns.
    fn sync_holding_tail(&self, tail: &Tail) -> Result<()> {
        let len = tail.active.data_len();
        let took = self.flush_data(|| {
            let started = Instant::now();
            tail.active.flush_to(len).map(|()| started.elapsed())
        })?;
        self.counters.synced(took);
        self.sync.advance(tail.next_offset);
        self.publish_synced(&tail.active, len, tail.next_offset);
        Ok(())
    }

    fn sync_all(&self) -> Result<()> {
        let end = self.lock_tail()?.next_offset;
        self.sync_until(end)
    }

    fn sync_until(&self, end: u64) -> Result<()> {
        if self.sync.wait_durable(end, || self.lead_sync())? {
            Ok(())
        } else {
            Err(StoreError::OffsetOutOfRange {
                offset: end.saturating_sub(1),
                first: self.first_offset(),
                next: self.readable_end(),
                reason: "a truncation removed the entry before it became durable",
            })
        }
    }

    /// The leader's sync: msync the active segment up to the end seen now, without
    /// holding the tail, so that appends go on meanwhile. (Sealed segments were made
    /// durable when they were sealed.)
    fn lead_sync(&self) -> Result<u64> {
        let (active, len, end) = {
            let tail = self.lock_tail()?;
            (
                Arc::clone(&tail.active),
                tail.active.data_len(),
                tail.next_offset,
            )
        };
        let took = self.flush_data(|| {
            let started = Instant::now();
            active.flush_to(len).map(|()| started.elapsed())
        })?;
        self.counters.synced(took);
        // No wake-up here: the leadership's release wakes the waiters, once.
        self.sync.advance_quietly(end);
        self.publish_synced(&active, len, end);
        Ok(end)
    }

    /// Lets readers (with `ReadVisibility::Synced`) see what a sync made durable. Called
    /// after the durable end was advanced, never before.
    fn publish_synced(&self, segment: &Segment, len: u32, end: u64) {
        if self.options.read_visibility == ReadVisibility::Synced {
            segment.publish(len);
            self.readable_end.fetch_max(end, Ordering::AcqRel);
        }
    }

    /// Seals the active segment at once when its records reach past the segment size (a
    /// segment grown for an entry larger than a segment, just appended or made active
    /// again by a truncation), so that the last segment never holds records past the
    /// segment size: other readers of the format map only that much of the last segment.
    /// The operation that left it so has happened already, so a failure here is logged,
    /// not returned: the next append, which cannot fit after such a segment, rotates then
    /// (and a failed sync has poisoned the log, which every later call reports).
    fn seal_if_oversized(&self, tail: &mut Tail) {
        if tail.active.data_len() <= self.options.segment_bytes {
            return;
        }
        if let Err(e) = self.rotate(tail, 0) {
            log::warn!(
                target: "wal_store::segment",
                "segment {} holds an entry larger than a segment and could not be sealed: {e}",
                tail.active.base
            );
        }
    }

    /// Whether a record of `needed` bytes fits in `active` after its records: they end
    /// within the log's segment size and within the file (one made for a smaller
    /// segment size, or by another writer, may be shorter).
    #[inline]
    fn fits(&self, active: &Segment, needed: usize) -> bool {
        let limit = active.capacity().min(self.options.segment_bytes as usize);
        (active.data_len() as usize).saturating_add(needed) <= limit
    }

    /// Grows the (empty) active segment so that a record of `needed` bytes fits.
    fn grow_active(&self, tail: &mut Tail, needed: usize) -> Result<()> {
        let len = u32::try_from(needed.max(self.options.segment_bytes as usize)).map_err(|_| {
            StoreError::EntryTooLarge {
                size: needed,
                max: self.options.max_entry_bytes,
            }
        })?;
        // A full disk here is an error of this append alone; only the fsync is a sync
        // of the segment's data (invariant 6).
        tail.active.grow(len)?;
        self.flush_data(|| tail.active.fsync_file())?;
        let grown = Arc::new(tail.active.remap_writable(&self.dir)?);
        let mut segments = self.segments_write()?;
        if let Some(last) = segments.last_mut() {
            *last = Arc::clone(&grown);
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        drop(segments);
        log::info!(target: "wal_store::segment", "grew segment {} to {len} bytes for a large entry", grown.base);
        tail.active = grown;
        Ok(())
    }

    /// Seals the active segment and starts a new one of at least `needed` bytes.
    ///
    /// Order, for crash safety: the old data is made durable, then its index is written
    /// (temp file, fsync, rename, directory fsync), then the new data file is created the
    /// same way; only then does the log report the old segment's entries durable and
    /// start appending to the new one.
    fn rotate(&self, tail: &mut Tail, needed: usize) -> Result<()> {
        let old = Arc::clone(&tail.active);
        // Timed from the seal's first sync on, not from the wait for its turn.
        let started = self.flush_data(|| {
            let started = Instant::now();
            old.flush_to(old.data_len())
                .and_then(|()| old.fsync_file())
                .map(|()| started)
        })?;
        old.write_index(&self.dir)?;
        tail.sealed_on_disk = true;
        let sealed = Arc::new(old.sealed(&self.dir)?);
        let len = u32::try_from(needed.max(self.options.segment_bytes as usize)).map_err(|_| {
            StoreError::EntryTooLarge {
                size: needed,
                max: self.options.max_entry_bytes,
            }
        })?;
        let new = Arc::new(Segment::create(
            &self.dir,
            tail.next_offset,
            self.options.codec,
            len,
        )?);
        let mut segments = self.segments_write()?;
        if let Some(last) = segments.last_mut() {
            *last = Arc::clone(&sealed);
        }
        segments.push(Arc::clone(&new));
        self.epoch.fetch_add(1, Ordering::AcqRel);
        drop(segments);
        self.counters.rotated();
        self.counters.synced(started.elapsed());
        // Durable first, visible second: a reader that sees an entry always finds it
        // within `last_synced_offset()`.
        self.sync.advance(tail.next_offset);
        sealed.publish(sealed.data_len());
        self.readable_end
            .fetch_max(tail.next_offset, Ordering::AcqRel);
        log::info!(
            target: "wal_store::segment",
            "sealed segment {} ({} entries), next segment {}",
            sealed.base,
            tail.next_offset - sealed.base,
            new.base
        );
        tail.active = new;
        tail.sealed_on_disk = false;
        Ok(())
    }

    /// Drops every entry from `cut` on; `asked` is the offset the caller named, for errors.
    fn truncate_from(&self, cut: u64, asked: u64) -> Result<()> {
        let _leadership = self.sync.lead()?;
        let mut tail = self.lock_tail()?;
        let first = self.first_offset();
        let next = tail.next_offset;
        let out_of_range = |reason| StoreError::OffsetOutOfRange {
            offset: asked,
            first,
            next,
            reason,
        };
        if cut == next {
            return Ok(());
        }
        if cut > next {
            return Err(out_of_range("after the end of the log"));
        }
        if cut < first {
            return Err(out_of_range("before the first entry"));
        }
        self.check_deferred(&mut tail)?;
        self.forget_close_record(&mut tail)?;
        let mut segments = self.segments_write()?;
        // A cut just after offsets in a hole (holes that touch count as one) keeps what
        // precedes the hole: its entries do not exist. Decided first, so that the segment
        // kept is the one before the hole.
        let cut = match cut.checked_sub(1).and_then(|before| self.hole_at(before)) {
            Some(hole) => hole.start.max(first),
            None => cut,
        };
        // The segment to keep holds the entry before the cut, or is the first one when
        // everything goes.
        let keep_index = segments
            .partition_point(|s| s.base < cut.max(first.saturating_add(1)))
            .saturating_sub(1);
        let Some(keep) = segments.get(keep_index).cloned() else {
            return Err(out_of_range("no segment holds it"));
        };
        // The crc to continue from: that of the entry before the cut, or when everything
        // goes, the seed the log's first entry was chained from (v2; none for v1). The
        // first segment may hold no entry (an empty one before a hole).
        let new_last_crc = if cut > first {
            let position = (cut - 1)
                .checked_sub(keep.base)
                .ok_or_else(|| out_of_range("no segment holds the entry before it"))?;
            keep.entry_unpublished(position)?.crc
        } else {
            let mut seed = None;
            for segment in segments.iter() {
                if segment.entries()? > 0 {
                    seed = segment.entry_unpublished(0)?.prev_crc;
                    break;
                }
            }
            seed
        };

        let dropped: Vec<Arc<Segment>> = segments.drain(keep_index + 1..).collect();
        // From here on the files and the list change: a failure leaves neither as the
        // tail knows them (an append could land in a segment already unlinked), so it
        // refuses writes until a reopen reads what is on disk.
        let keep = self
            .cut_files(&mut segments, &dropped, keep, cut, first)
            .inspect_err(|e| self.sync.poison(format!("truncation left unfinished: {e}")))?;
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.readable_end.fetch_min(cut, Ordering::AcqRel);
        self.sync.lower(cut);
        drop(segments);
        log::info!(
            target: "wal_store::truncate",
            "truncated from {cut}: dropped {} entries and {} segments",
            next - cut,
            dropped.len()
        );
        tail.active = keep;
        tail.sealed_on_disk = false;
        tail.next_offset = cut;
        tail.last_crc = new_last_crc;
        self.seal_if_oversized(&mut tail);
        Ok(())
    }

    /// The files' side of a truncation from `cut`: the `dropped` segments' files go
    /// (newest first, so that what is left is always a log), the kept segment (the last
    /// of `segments`) loses its index, becomes writable and is cut. Returns it.
    fn cut_files(
        &self,
        segments: &mut [Arc<Segment>],
        dropped: &[Arc<Segment>],
        keep: Arc<Segment>,
        cut: u64,
        first: u64,
    ) -> Result<Arc<Segment>> {
        for segment in dropped.iter().rev() {
            fs::remove_if_present(&segment.index_path)?;
            fs::remove_if_present(&segment.data_path)?;
        }
        // The kept segment is the active one from now on: any index file it has goes
        // (the active segment's index is rebuilt by scanning; one listing dropped entries
        // would later claim they were committed), and it is mapped writable.
        fs::remove_if_present(&keep.index_path)?;
        let keep = if keep.is_writable() {
            keep
        } else {
            Arc::new(keep.remap_writable(&self.dir)?)
        };
        fs::sync_dir(&self.dir)?;
        self.flush_data(|| keep.cut(cut - keep.base))?;
        if let Some(last) = segments.last_mut() {
            *last = Arc::clone(&keep);
        }
        self.prune_holes(first, cut)?;
        Ok(keep)
    }

    fn trim_before(&self, offset: u64) -> Result<usize> {
        let tail = self.lock_tail()?;
        if offset > tail.next_offset {
            return Err(StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: tail.next_offset,
                reason: "trimming past the end of the log",
            });
        }
        let active_empty = tail.active.entries()? == 0;
        let mut segments = self.segments_write()?;
        let mut removable = segments
            .iter()
            .skip(1)
            .take_while(|next| next.base <= offset)
            .count();
        if active_empty && removable + 1 == segments.len() {
            removable = removable.saturating_sub(1);
        }
        let removed: Vec<Arc<Segment>> = segments.drain(..removable).collect();
        if let Some(first) = segments.first() {
            self.first_offset.store(first.base, Ordering::Release);
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.remove_segment_files(&removed)?;
        self.prune_holes(self.first_offset(), tail.next_offset)?;
        drop(segments);
        drop(tail);
        if !removed.is_empty() {
            log::info!(target: "wal_store::trim", "trimmed {} segments before {offset}", removed.len());
        }
        Ok(removed.len())
    }

    /// Unlinks segments' files, oldest first (index before data, so that a crash leaves
    /// at worst a data file without an index, which recovery rebuilds), then fsyncs the
    /// directory. Mappings of the files stay valid for readers that still hold them.
    fn remove_segment_files(&self, removed: &[Arc<Segment>]) -> Result<()> {
        for segment in removed {
            fs::remove_if_present(&segment.index_path)?;
            fs::remove_if_present(&segment.data_path)?;
        }
        if !removed.is_empty() {
            fs::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        let _leadership = self.sync.lead()?;
        let mut tail = self.lock_tail()?;
        self.forget_close_record(&mut tail)?;
        let next = tail.next_offset;
        let fresh = if tail.active.entries()? == 0 {
            Arc::clone(&tail.active)
        } else {
            // Seal the active segment first, as a rotation would: a crash before the old
            // files are gone then leaves an ordinary log that ends in an empty segment.
            let old = Arc::clone(&tail.active);
            self.flush_data(|| old.flush_to(old.data_len()).and_then(|()| old.fsync_file()))?;
            old.write_index(&self.dir)?;
            tail.sealed_on_disk = true;
            Arc::new(Segment::create(
                &self.dir,
                next,
                self.options.codec,
                self.options.segment_bytes,
            )?)
        };
        let mut segments = self.segments_write()?;
        let removed: Vec<Arc<Segment>> = segments
            .drain(..)
            .filter(|s| !Arc::ptr_eq(s, &fresh))
            .collect();
        segments.push(Arc::clone(&fresh));
        self.first_offset.store(next, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // The log is the fresh segment from now on, whether or not the old files go:
        // any that stay are older entries, which a reopen finds before it.
        tail.active = fresh;
        tail.sealed_on_disk = false;
        self.remove_segment_files(&removed)?;
        self.prune_holes(next, next)?;
        drop(segments);
        drop(tail);
        log::info!(target: "wal_store::trim", "cleared the log: next offset {next}");
        Ok(())
    }
}

/// Bytes a record of `payload_len` takes in `codec`.
fn record_bytes(codec: wal_format::Codec, payload_len: usize) -> Result<usize> {
    codec
        .record_bytes(payload_len)
        .ok_or_else(|| StoreError::EntryTooLarge {
            size: payload_len,
            max: codec.max_payload_bytes(),
        })
}

/// The background thread of [`SyncPolicy::Interval`].
#[derive(Debug)]
struct IntervalSyncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<()>,
}

impl IntervalSyncer {
    fn start(inner: &Arc<Inner>, interval: Duration) -> Result<IntervalSyncer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let thread_stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("wal-sync".to_owned())
            .spawn(move || {
                let (flag, wake) = &*thread_stop;
                let mut stopped = flag.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    // Checked before every wait: a stop that came before this thread first
                    // took the lock must not wait out a whole interval.
                    if *stopped {
                        return;
                    }
                    let (guard, _) = wake
                        .wait_timeout(stopped, interval)
                        .unwrap_or_else(|p| p.into_inner());
                    stopped = guard;
                    if *stopped {
                        return;
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    // A failure poisons the log, which reports it to every later caller.
                    if inner.sync_all().is_err() {
                        return;
                    }
                }
            })
            .io_context("spawn sync thread", &inner.dir)?;
        Ok(IntervalSyncer { stop, handle })
    }

    fn stop(self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        // The thread only syncs and returns; a panic in it has already been reported by
        // the panic hook, and the log's own state stays consistent.
        let _ = self.handle.join();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn failed_msync() -> StoreError {
        StoreError::Io {
            op: "msync",
            path: PathBuf::from("segment"),
            source: std::io::Error::from_raw_os_error(5),
        }
    }

    /// Durable appends (tiny syncs) zero ahead of themselves through the log's append
    /// path; a log synced once at the end does not.
    #[test]
    fn durable_appends_zero_ahead_and_bulk_appends_do_not() {
        for (policy, zeroes) in [
            (SyncPolicy::Always, true),
            (SyncPolicy::GroupCommit, true),
            (SyncPolicy::Manual, false),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let options = WalOptions {
                sync_policy: policy,
                ..WalOptions::default()
            };
            let wal = Wal::open(dir.path(), options).unwrap();
            for i in 0..300u32 {
                wal.append(&[u8::try_from(i % 200).unwrap() + 1; 1000])
                    .unwrap();
            }
            wal.sync().unwrap();
            let tail = wal.inner.lock_tail().unwrap();
            let (written, zeroed) = (tail.active.data_len() as usize, tail.active.zeroed_to());
            if zeroes {
                assert!(
                    zeroed >= written + crate::segment::ZERO_AHEAD_LEAD,
                    "{policy:?}: records end at {written}, zeros at {zeroed}"
                );
            } else {
                assert_eq!(zeroed, 0, "{policy:?}");
            }
        }
    }

    /// The error a sync of the file returns may belong to pages another sync wrote: the
    /// log's syncs run one at a time, and the first failure refuses every later sync and
    /// append, so that no sync reports success after another took its error.
    #[test]
    fn a_failed_data_sync_refuses_every_sync_after_it_and_syncs_run_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        wal.append(b"before").unwrap();
        let inner = Arc::clone(&wal.inner);

        // A sync holds its turn while it runs: one started meanwhile waits for it, then
        // finds the log failed and does not run at all.
        let (inside_tx, inside_rx) = mpsc::channel();
        let (finish_tx, finish_rx) = mpsc::channel::<()>();
        let first_inside = Arc::new(AtomicBool::new(false));
        let first = {
            let inner = Arc::clone(&inner);
            let first_inside = Arc::clone(&first_inside);
            std::thread::spawn(move || {
                inner.flush_data(|| -> Result<()> {
                    first_inside.store(true, Ordering::SeqCst);
                    inside_tx.send(()).unwrap();
                    finish_rx.recv().unwrap();
                    first_inside.store(false, Ordering::SeqCst);
                    Err(failed_msync())
                })
            })
        };
        inside_rx.recv().unwrap();
        assert!(
            inner.flushing.try_lock().is_err(),
            "a sync runs without holding its turn"
        );
        let second_ran = Arc::new(AtomicBool::new(false));
        let second = {
            let inner = Arc::clone(&inner);
            let first_inside = Arc::clone(&first_inside);
            let second_ran = Arc::clone(&second_ran);
            std::thread::spawn(move || {
                inner.flush_data(|| -> Result<()> {
                    // Never while the first runs.
                    assert!(!first_inside.load(Ordering::SeqCst));
                    second_ran.store(true, Ordering::SeqCst);
                    Ok(())
                })
            })
        };
        // Room for the second sync to reach the lock while the first holds it (the
        // outcome is the same whichever comes first).
        std::thread::sleep(Duration::from_millis(20));
        finish_tx.send(()).unwrap();
        assert!(matches!(
            first.join().unwrap(),
            Err(StoreError::Io { op: "msync", .. })
        ));
        assert!(matches!(
            second.join().unwrap(),
            Err(StoreError::Poisoned { .. })
        ));
        assert!(!second_ran.load(Ordering::SeqCst));

        // The log refuses appends and syncs from then on.
        assert!(matches!(
            wal.append(b"after"),
            Err(StoreError::Poisoned { .. })
        ));
        assert!(matches!(wal.sync(), Err(StoreError::Poisoned { .. })));
    }
}
