//! The write-ahead log: appends, syncs, reads, truncation, trimming.
//!
//! `Wal` is the front door: its public methods and their documentation are here, each a
//! few lines in front of [`Inner`], the state the log's threads share, whose concerns live
//! in `wal/`, one file each: `inner.rs` (the shared state, its locks, where an offset lives), `open.rs`
//! (opening a directory, and the deferred segments checked before the first change),
//! `append.rs` (appending, rotation, growth), `capacity.rs` (the size limits and
//! retention checked before a rotation), `durability.rs` (syncs, group commit, the
//! interval syncer, the close record, shutdown), `cut.rs` (truncation, trimming,
//! clearing), `reset.rs` (continuing at any offset), `read.rs` (reads, iterators' start,
//! visits and the check-ahead hand-off), `wait.rs` (readers waiting for entries to become
//! visible), `pending.rs` (submits that return before they are durable, `on_durable`,
//! telling their waiters) and `flusher.rs` (the thread that syncs for them).

mod append;
mod capacity;
mod cut;
mod durability;
mod flusher;
mod inner;
mod open;
mod pending;
mod read;
mod reset;
mod wait;

use std::future::Future;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Result, StoreError};
use crate::fs;
use crate::lock::DirLock;
use crate::meta;
use crate::options::WalOptions;
use crate::read::{Iter, RevIter};
use crate::scan::CheckedSegment;
use crate::segment::{Entry, EntryRef};
use crate::stats::Stats;

use durability::IntervalSyncer;
use flusher::Flusher;
pub(crate) use inner::Inner;
pub use open::CleanOpen;
pub use pending::Pending;
pub use wait::TRUNCATED_BELOW_WAIT;

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
/// [`sync`](Wal::sync)) may be lost, exactly as in a crash, and a [`Pending`] batch not
/// yet durable then fails. Call [`close`](Wal::close) (or [`shutdown`](Wal::shutdown),
/// through a shared reference) to sync and learn about any failure.
#[derive(Debug)]
pub struct Wal {
    inner: Arc<Inner>,
    /// The interval syncer, until the log is shut down or dropped.
    syncer: Mutex<Option<IntervalSyncer>>,
    /// The thread that syncs for [`submit`](Wal::submit) under `Always` and
    /// `GroupCommit`, started by the first submit or `on_durable`.
    flusher: Mutex<Option<Flusher>>,
}

impl Wal {
    /// Opens the log in `dir`, creating the directory and an empty log (starting at
    /// `options.first_offset`, seeded with `options.seed_crc`) if it holds none. An
    /// existing log keeps where it starts and what it chains from, whatever the options
    /// say: even with no entry, its seed is on disk (the `SEED` file, FORMAT.md §9).
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
        Wal::open_checked(dir, options, lock, Vec::new())
    }

    /// Opens the log in `dir` (whose lock `lock` is) only if a clean
    /// [`close`](Wal::close) left it as it is: its close record describes the active
    /// segment, and [`open`](Wal::open) accepts it with the same checks, without reading
    /// the records in between. `accept` is given the log's first offset and the offset
    /// its next entry would get, before anything is opened: the caller's own conditions
    /// (a commit offset, a cursor that must lie within the log). Anything else, including
    /// a directory with no log, gives [`CleanOpen::NotClean`] with the lock back and
    /// nothing changed: the recovery crate takes this path first and checks everything
    /// when it is refused. Unlike a plain open, a log opened this way removes the close
    /// record (durably) when an older sealed segment fails its check at its first use,
    /// so that the next open through recovery checks the whole log.
    pub fn open_if_closed_cleanly(
        dir: impl AsRef<Path>,
        options: WalOptions,
        lock: DirLock,
        accept: impl FnOnce(u64, u64) -> bool,
    ) -> Result<CleanOpen> {
        open::open_if_closed_cleanly(dir.as_ref(), options, lock, accept, 0)
    }

    /// [`open_if_closed_cleanly`](Wal::open_if_closed_cleanly), with the sealed segments
    /// wholly before `before` set aside as [`open_setting_aside`](Wal::open_setting_aside)
    /// sets them aside: never checked before an append or truncation, opened only by a
    /// read that reaches them. Nothing is known wrong with them, so the log writes its
    /// close record again at a clean close, unless a read finds damage. The recovery
    /// crate sets aside the segments wholly at or before the consumer's cursor, so that
    /// damage there never refuses an append after a clean restart either.
    pub fn open_if_closed_cleanly_setting_aside(
        dir: impl AsRef<Path>,
        options: WalOptions,
        lock: DirLock,
        accept: impl FnOnce(u64, u64) -> bool,
        before: u64,
    ) -> Result<CleanOpen> {
        open::open_if_closed_cleanly(dir.as_ref(), options, lock, accept, before)
    }

    /// [`open_locked`](Wal::open_locked) after a checked scan of the data files under
    /// `lock` (see [`DataFileScan`](crate::DataFileScan)): the log reads each file through
    /// the mapping the scan made of it instead of mapping and faulting its pages in a
    /// second time, and the first [`visit_from`](Wal::visit_from) that reaches the records
    /// the scan checked (the replay after recovery) does not compute their crcs again;
    /// every later read checks them as always.
    ///
    /// What `checked` says is taken only where it must still be true: a mapping only for
    /// the very file it was made from, at the same length; the scan's records only if
    /// `lock` is the lock the scan was made under, nothing was changed in the directory
    /// through this crate since, the file's times are the same, and they are the records
    /// the log finds in the file (for a sealed segment, those its index lists, as far as
    /// they agree). Anything else is checked as by [`open_locked`](Wal::open_locked), so a
    /// scan made before recovery changed the directory costs a second check, never trust.
    pub fn open_checked(
        dir: impl AsRef<Path>,
        options: WalOptions,
        lock: DirLock,
        checked: Vec<CheckedSegment>,
    ) -> Result<Wal> {
        open::open_checked(dir.as_ref(), options, lock, checked, 0)
    }

    /// [`open_checked`](Wal::open_checked), with the oldest sealed segments set aside:
    /// every sealed segment whose successor starts at or before `before` (each one wholly
    /// before it). A segment set aside is not opened until a read reaches it; that read
    /// makes the checks a deferred segment gets ([`open`](Wal::open)), and fails with
    /// `Layout`, `NeedsRecovery`, `Corrupt` or `Io` if they fail, the rest of the log
    /// staying readable. Unlike a deferred segment, it is never checked before an append
    /// or truncation, so damage in it refuses neither, except a truncation that keeps
    /// entries of it (making it the active segment): that one first checks every record
    /// the segment keeps, as an open checks the active segment, and fails with
    /// `NeedsRecovery` or `Layout`, changing nothing, if one does not hold. Its entries are
    /// the offsets up to its successor's base, or to a recorded hole before it (a missing
    /// segment among them is no gap, its offsets fail to read), and the log writes no
    /// close record, so that the next open checks it again.
    ///
    /// The recovery crate sets aside the damaged segments wholly at or before the
    /// consumer's cursor: entries nobody will read again, which must not block those after
    /// them. `before` past the last segment's base sets aside every sealed segment; 0 sets
    /// aside none.
    pub fn open_setting_aside(
        dir: impl AsRef<Path>,
        options: WalOptions,
        lock: DirLock,
        checked: Vec<CheckedSegment>,
        before: u64,
    ) -> Result<Wal> {
        open::open_checked(dir.as_ref(), options, lock, checked, before)
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
    /// [`SyncPolicy::Always`](crate::SyncPolicy::Always) and
    /// [`SyncPolicy::GroupCommit`](crate::SyncPolicy::GroupCommit).
    pub fn append(&self, payload: &[u8]) -> Result<Appended> {
        self.inner.check_payload(payload)?;
        let mut tail = self.inner.lock_tail_open()?;
        let appended = match self.inner.append_locked(&mut tail, payload) {
            Ok(appended) => appended,
            Err(e) => {
                // A rotation before the failure may have made entries visible.
                drop(tail);
                self.inner.wake_visible();
                return Err(e);
            }
        };
        self.inner.after_append(tail, appended.offset)?;
        Ok(appended)
    }

    /// Appends entries back to back, under one lock and at most one sync. Every payload
    /// is checked first, so a bad one appends nothing; an I/O error in the middle (a full
    /// disk at a rotation, say) may leave a prefix of the batch appended but not durable.
    pub fn append_batch<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<AppendedBatch> {
        self.inner.append_batch(payloads)
    }

    /// Makes every entry appended so far durable. Concurrent callers share one sync.
    pub fn sync(&self) -> Result<()> {
        self.inner.check_open()?;
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

    /// The entry at `offset`, if readers can see it (see
    /// [`ReadVisibility`](crate::ReadVisibility)).
    pub fn read(&self, offset: u64) -> Result<Entry> {
        self.inner.read(offset)
    }

    /// The entries from `offset` on, oldest first, as far as readers can see when each
    /// one is reached.
    pub fn iter_from(&self, offset: u64) -> Result<Iter<'_>> {
        self.inner.iter_from(offset)
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
        self.inner.visit_from(offset, &mut visit)
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
    ///
    /// A [`Pending`] batch or an [`on_durable`](Wal::on_durable) callback whose entry is
    /// dropped before it became durable completes with
    /// [`StoreError::OffsetOutOfRange`], never with success.
    pub fn truncate_after(&self, offset: u64) -> Result<()> {
        let truncated = match offset.checked_add(1) {
            Some(cut) => self.inner.truncate_from(cut, offset),
            None => Err(StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: self.inner.readable_end(),
                reason: "after the last entry",
            }),
        };
        self.inner.complete_waiters();
        truncated
    }

    /// Drops `offset` and every entry after it: the same as
    /// [`truncate_after`](Wal::truncate_after)`(offset - 1)`.
    ///
    /// It remains, deprecated, because programs written against walrs 0.1 call it; new
    /// code calls `truncate_after(offset - 1)`. To empty the log, call
    /// [`truncate_after`](Wal::truncate_after)`(first - 1)` when the log does not start at
    /// 0, or [`clear`](Wal::clear), which also works at 0 but keeps offsets increasing (the
    /// next entry gets the offset it would have got). Only this call empties a log that
    /// starts at 0 and restarts it at 0.
    #[deprecated(
        note = "kept for programs written against 0.1: call `truncate_after(offset - 1)`, or `clear()` to drop every entry"
    )]
    pub fn truncate_from(&self, offset: u64) -> Result<()> {
        let truncated = self.inner.truncate_from(offset, offset);
        self.inner.complete_waiters();
        truncated
    }

    /// Drops every entry before `offset`, at once for every reader and durably: the log
    /// starts at `offset` from now on, also after a restart (the start is kept in the
    /// directory's `SEED` file, FORMAT.md §9). `offset` may be anything from
    /// [`first_offset`](Wal::first_offset) to [`next_offset`](Wal::next_offset) (which
    /// leaves an empty log continuing there); past the end is
    /// [`StoreError::OffsetOutOfRange`], and an offset at or below the first entry changes
    /// nothing. An offset inside a hole trims the whole hole.
    ///
    /// The entries from `offset` on are made durable before the start is recorded, so
    /// that no crash can leave a start past the log's end. Then the segments whose
    /// entries all lie before the start are removed; the records below it in the segment
    /// that holds it stay on disk until that segment goes, unread. Returns how many
    /// segments were removed. Offsets never change: they come from the segments' names.
    pub fn trim_before(&self, offset: u64) -> Result<usize> {
        self.inner.trim_before(offset)
    }

    /// The first offset the log would hold after [`trim_before`](Wal::trim_before)`(offset)`,
    /// changing nothing: `offset` itself (or the end of a hole it falls in) when that is
    /// past the log's start, else the start; where no start can be recorded, the base of
    /// the first segment that trim would keep. Fails as that trim would (an `offset` past
    /// the end); `trim_before` of the returned offset keeps exactly it.
    pub fn first_offset_after_trim(&self, offset: u64) -> Result<u64> {
        self.inner.first_offset_after_trim(offset)
    }

    /// Drops every entry and continues the log at `next_offset`, forward or backward of
    /// where it was: the next append gets `next_offset` and chains from `seed_crc` (for a
    /// v1 log, which has no crcs, the seed is kept but means nothing). Durable and
    /// atomic: after a crash the directory holds the old log or the new empty one,
    /// nothing in between (the reset's commit point is the `SEED` file, FORMAT.md §9, and
    /// whoever opens the directory next finishes an interrupted reset). Every entry
    /// appended before is made durable first, so a thread waiting for one learns the
    /// truth. `next_offset` must leave room for an entry (at most `u64::MAX - 1`).
    ///
    /// Used where a consumer installs a snapshot past the log's end, or starts an empty
    /// log at a given offset (raft's first index). A reader waiting for an entry
    /// ([`wait_visible`](Wal::wait_visible), [`visible`](Wal::visible)) is woken as by a
    /// truncation below it. A failure part way poisons the log: reopen it, which
    /// finishes the reset. After [`shutdown`](Wal::shutdown), [`StoreError::Closed`].
    pub fn reset_to(&self, next_offset: u64, seed_crc: u32) -> Result<()> {
        let reset = self.inner.reset_to(next_offset, seed_crc);
        self.inner.complete_waiters();
        reset
    }

    /// Removes every entry. Offsets are never reused: the next append gets the offset it
    /// would have got, and chains from the last crc, also after a reopen (the seed is kept
    /// in the directory's `SEED` file).
    pub fn clear(&self) -> Result<()> {
        self.inner.clear()
    }

    /// Counters since opening.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Replaces the caller's metadata blob (at most [`META_MAX_BYTES`](crate::META_MAX_BYTES),
    /// 64 KiB; a larger one is refused with [`StoreError::MetaTooLarge`]), atomically and
    /// durably: after a crash, [`meta`](Wal::meta) gives the old blob or this one, whole.
    ///
    /// The blob is kept in the directory's `META` file (FORMAT.md §9), with its own crc.
    /// It is the caller's: independent of the entries, never changed by truncation,
    /// trimming or clearing, and never written by the store itself. A failure does not
    /// poison the log: before the rename it leaves the old blob, after it (the directory's
    /// fsync) the new one, perhaps not durable; either way [`meta`](Wal::meta) gives one of
    /// the two, and a retry writes a new file from the start.
    pub fn write_meta(&self, bytes: &[u8]) -> Result<()> {
        self.inner.check_open()?;
        // Writers share the temporary file: one at a time.
        let _alone = self
            .inner
            .meta_writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.inner.check_open()?;
        meta::write_meta(&self.inner.dir, bytes)
    }

    /// The caller's metadata blob, as last written by [`write_meta`](Wal::write_meta)
    /// (in this process or an earlier one), or `None` if none was ever written. A damaged
    /// file is [`StoreError::MetaCorrupt`], never a blob (nor `None`), until
    /// [`write_meta`](Wal::write_meta) replaces it: recovery reports it (`meta_corrupt`)
    /// and leaves it in place.
    pub fn meta(&self) -> Result<Option<Vec<u8>>> {
        self.inner.check_open()?;
        meta::read_meta(&self.inner.dir)
    }

    /// Waits until the entry at `offset` is visible to readers (under the log's
    /// [`ReadVisibility`](crate::ReadVisibility)), for at most `timeout` (`None`: as long
    /// as it takes). Returns `Ok(true)` once it is (at once if it already is: also when it
    /// has since been trimmed), `Ok(false)` when the timeout passes first. A reader tailing
    /// the log reads up to the end it sees, then waits for the next offset.
    ///
    /// The wait ends early with an error when waiting on makes no sense:
    /// - a truncation that drops any entry below `offset` that readers could see (one
    ///   the caller may have read) while it waits: [`StoreError::OffsetOutOfRange`] with the reason
    ///   [`TRUNCATED_BELOW_WAIT`](crate::TRUNCATED_BELOW_WAIT); the caller re-reads from
    ///   the new end ([`next_offset`](Wal::next_offset)). A truncation from `offset` itself
    ///   or later leaves what the caller read in place and does not end the wait. A
    ///   truncation made before the call is not seen by it: the caller compares the end
    ///   with what it read;
    /// - a shutdown: [`StoreError::Closed`] (also when the log is shut down already);
    /// - a failed sync ([`StoreError::Poisoned`]): nothing becomes visible any more.
    ///
    /// A wait costs the log's appenders nothing while nobody waits.
    pub fn wait_visible(&self, offset: u64, timeout: Option<Duration>) -> Result<bool> {
        self.inner.wait_visible(offset, timeout)
    }

    /// A future that resolves once the entry at `offset` is visible to readers: the
    /// asynchronous form of [`wait_visible`](Wal::wait_visible), with the same answers
    /// (`Ok(())` for visible, and the same errors for a truncation below `offset`, a
    /// shutdown and a failed sync). It needs no runtime: it registers the task's
    /// [`Waker`](std::task::Waker), which the log wakes when the answer may have come.
    /// Dropping it unresolved withdraws the wait.
    pub fn visible(&self, offset: u64) -> impl Future<Output = Result<()>> + Send + '_ {
        wait::Visible::new(&self.inner, offset)
    }

    /// What [`close`](Wal::close) does, through a shared reference, for a log shared
    /// between threads: stops the interval syncer, makes every entry appended so far
    /// durable, and leaves the close record (the file `CLOSED`, for a v2 log), reporting
    /// any failure (including an earlier failed sync).
    ///
    /// From then on every call that reads or changes the log (appends, syncs, reads,
    /// iterators' next steps, visits, truncation, trimming, clearing, the metadata blob,
    /// waits) returns [`StoreError::Closed`], and every thread waiting in
    /// [`wait_visible`](Wal::wait_visible) or future from [`visible`](Wal::visible) is
    /// woken with it. An append either finished before the shutdown, and is made durable
    /// by it, or is refused; a group-commit appender already waiting for its sync gets
    /// it. The accessors (offsets, stats, options) go on answering.
    ///
    /// A second shutdown (or a [`close`](Wal::close) after one) does nothing and returns
    /// [`StoreError::Closed`]: only the first reports how the shutdown went. The
    /// directory's lock is released when the `Wal` is dropped (the last `Arc` of it):
    /// until then no other writer may open the directory, since this process still maps
    /// its files.
    pub fn shutdown(&self) -> Result<()> {
        let syncer = self
            .syncer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(syncer) = syncer {
            syncer.stop();
        }
        self.stop_flusher();
        self.inner.shutdown()
    }

    /// Syncs everything and closes the log, reporting any failure (including an earlier
    /// failed sync): [`shutdown`](Wal::shutdown), then the log is dropped. A v2 log also
    /// leaves a close record (the file `CLOSED`), so that the next [`open`](Wal::open) need
    /// not scan the active segment. Every [`Pending`] batch and
    /// [`on_durable`](Wal::on_durable) callback is completed: with success when the final
    /// sync succeeds.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }
}

impl Drop for Wal {
    /// Stops the log's threads. Waiters whose entries are not durable are failed: a
    /// dropped log syncs nothing more.
    fn drop(&mut self) {
        let syncer = self
            .syncer
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(syncer) = syncer {
            syncer.stop();
        }
        self.stop_flusher();
        self.inner.abandon_waiters();
    }
}
