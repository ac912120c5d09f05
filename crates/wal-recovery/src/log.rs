//! The front door: the log a user holds after [`open`](crate::open).
//!
//! [`Log`] owns the store's [`Wal`] and offers what a user needs of it with this crate's
//! one error type, [`Error`](crate::Error), so that one `match` covers opening,
//! appending and reading. It also keeps the consumer's cursor: [`Log::set_cursor`]
//! persists it and [`Log::replay`] starts after it, and the store's retention follows it
//! (`log/retention.rs`): with a size limit in the [`WalOptions`], the segments wholly at
//! or before the cursor are what the store may remove to make room, never an entry after
//! it. Each method is a few lines in front of the store's; their full contracts are the
//! store's, linked from each.

mod start;

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use wal_store::{Appended, AppendedBatch, Entry, EntryRef, Stats, Wal, WalOptions};

use crate::error::{Error, Result};

mod meta;
mod pipeline;
mod retention;

pub use pipeline::Pending;
pub(crate) use retention::RetentionCell;

/// An open write-ahead log, as [`open`](crate::open) returns it in
/// [`Recovered`](crate::Recovered): appends, syncs, reads, cuts and the consumer's
/// cursor, every fallible call returning [`Error`](crate::Error).
///
/// Every method takes `&self`: share a `Log` between threads with an `Arc`. Dropping it
/// does not sync: what was not made durable (by the sync policy or [`sync`](Log::sync))
/// may be lost, exactly as in a crash. Call [`close`](Log::close) to sync and learn about
/// any failure.
///
/// ```
/// use wal_recovery::{Error, RecoveryOptions, StoreError};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let log = wal_recovery::open(dir.path(), RecoveryOptions::default())?.log;
/// let appended = log.append(b"one")?;
/// assert_eq!(log.read(appended.offset)?.payload, b"one");
/// // Every call fails with the same type: here, a read past the end.
/// match log.read(appended.offset + 1) {
///     Err(Error::Store(StoreError::OffsetOutOfRange { offset, .. })) => assert_eq!(offset, 1),
///     other => panic!("expected an offset out of range, got {other:?}"),
/// }
/// log.close()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Log {
    wal: Wal,
    /// The offset replay starts at: one after the consumer's cursor as recovery left it,
    /// or as last set through [`Log::set_cursor`]. The lock also orders concurrent
    /// cursor writes, so that the file and this value agree.
    replay_from: Mutex<u64>,
    /// Where the store's retention hook reads what the consumers still need.
    retention: RetentionCell,
}

impl Log {
    /// Wraps the log recovery opened, whose retention hook reads `retention`; replay
    /// starts at `replay_from`.
    pub(crate) fn new(wal: Wal, replay_from: u64, retention: RetentionCell) -> Log {
        let log = Log {
            wal,
            replay_from: Mutex::new(replay_from),
            retention,
        };
        log.cursors_moved();
        log
    }

    /// Appends one entry and returns its offset and crc (see [`Wal::append`]). Durable
    /// before it returns under the `Always` and `GroupCommit` sync policies.
    pub fn append(&self, payload: &[u8]) -> Result<Appended> {
        Ok(self.wal.append(payload)?)
    }

    /// Appends entries back to back, under one lock and at most one sync (see
    /// [`Wal::append_batch`]).
    pub fn append_batch<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<AppendedBatch> {
        Ok(self.wal.append_batch(payloads)?)
    }

    /// Makes every entry appended so far durable. Concurrent callers share one sync.
    pub fn sync(&self) -> Result<()> {
        Ok(self.wal.sync()?)
    }

    /// The entry at `offset`, if readers can see it (see [`Wal::read`]). Its crc is
    /// checked.
    pub fn read(&self, offset: u64) -> Result<Entry> {
        Ok(self.wal.read(offset)?)
    }

    /// Every entry, oldest first (see [`Wal::iter`]).
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.wal.iter())
    }

    /// The entries from `offset` on, oldest first (see [`Wal::iter_from`]).
    pub fn iter_from(&self, offset: u64) -> Result<Iter<'_>> {
        Ok(Iter(self.wal.iter_from(offset)?))
    }

    /// Every visible entry, newest first (see [`Wal::iter_rev`]).
    pub fn iter_rev(&self) -> RevIter<'_> {
        RevIter(self.wal.iter_rev())
    }

    /// Calls `visit` on the entries from `offset` on with borrowed payloads, until the
    /// end or until it returns `ControlFlow::Break`; returns the offset after the last
    /// entry visited (see [`Wal::visit_from`]).
    pub fn visit_from(
        &self,
        offset: u64,
        visit: impl FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<u64> {
        Ok(self.wal.visit_from(offset, visit)?)
    }

    /// Drops every entry after `offset`, so that the next append gets `offset + 1` (see
    /// [`Wal::truncate_after`]). Durable before it returns.
    pub fn truncate_after(&self, offset: u64) -> Result<()> {
        Ok(self.wal.truncate_after(offset)?)
    }

    /// Drops every entry before `offset`, durably: the log starts there, also after a
    /// restart (anything up to the next offset). Returns how many whole segments were
    /// removed (see [`Wal::trim_before`]).
    pub fn trim_before(&self, offset: u64) -> Result<usize> {
        Ok(self.wal.trim_before(offset)?)
    }

    /// Removes every entry; offsets are never reused (see [`Wal::clear`]).
    pub fn clear(&self) -> Result<()> {
        Ok(self.wal.clear()?)
    }

    /// Counters since opening.
    pub fn stats(&self) -> Stats {
        self.wal.stats()
    }

    /// Offset of the first entry the log holds (or would hold, when empty).
    pub fn first_offset(&self) -> u64 {
        self.wal.first_offset()
    }

    /// Offset the next append will get.
    pub fn next_offset(&self) -> u64 {
        self.wal.next_offset()
    }

    /// Offset of the last entry appended, or `None` if the log is empty.
    pub fn last_offset(&self) -> Option<u64> {
        self.wal.last_offset()
    }

    /// Crc of the last entry appended: the seed of the next one (`None` after a v1
    /// entry, or for an empty v1 log).
    pub fn last_crc(&self) -> Option<u32> {
        self.wal.last_crc()
    }

    /// The highest offset known durable, or `None` if no entry of the log is.
    pub fn last_synced_offset(&self) -> Option<u64> {
        self.wal.last_synced_offset()
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        self.wal.dir()
    }

    /// The options the log was opened with.
    pub fn options(&self) -> &WalOptions {
        self.wal.options()
    }

    /// Persists the consumer's cursor: the last offset it has finalized, which must be
    /// durable (see the free [`set_cursor`](crate::set_cursor), which this calls). From
    /// now on [`replay`](Log::replay) starts after it; after a restart, so does
    /// [`Recovered::replay`](crate::Recovered::replay). Once it is durable, the store's
    /// retention may remove the sealed segments wholly at or before it (see
    /// [`WalOptions::max_log_bytes`], [`WalOptions::max_segments`] and
    /// [`WalOptions::retention`]); until a cursor is set, nothing is removed.
    pub fn set_cursor(&self, offset: u64) -> Result<()> {
        let mut replay_from = self.replay_from();
        crate::set_cursor(&self.wal, offset)?;
        *replay_from = offset.saturating_add(1);
        drop(replay_from);
        self.cursors_moved();
        Ok(())
    }

    /// The entries after the consumer's cursor, oldest first: after the cursor recovery
    /// found (as [`Recovered::replay`](crate::Recovered::replay)), or after the one last
    /// set through [`set_cursor`](Log::set_cursor) on this log.
    pub fn replay(&self) -> Result<Iter<'_>> {
        let from = *self.replay_from();
        self.iter_from(from)
    }

    /// The same entries as [`replay`](Log::replay), borrowed instead of copied (see
    /// [`visit_from`](Log::visit_from)). Returns the offset after the last entry visited.
    pub fn replay_with(&self, visit: impl FnMut(EntryRef<'_>) -> ControlFlow<()>) -> Result<u64> {
        let from = *self.replay_from();
        self.visit_from(from, visit)
    }

    /// Syncs everything and closes the log, reporting any failure, including an earlier
    /// failed sync (see [`Wal::close`]). [`shutdown`](Log::shutdown) does the same through
    /// a shared reference.
    pub fn close(self) -> Result<()> {
        Ok(self.wal.close()?)
    }

    /// The plain store log, for what this type does not offer. Calls through it return
    /// [`wal_store::StoreError`] instead of [`Error`](crate::Error), and a cursor set on
    /// it with the free [`set_cursor`](crate::set_cursor) is not seen by
    /// [`replay`](Log::replay) until the next open, nor by the store's retention, which
    /// goes on keeping every entry after the cursor last set through this `Log` (so an
    /// appender at its size limit stays refused). The front door is also where the
    /// consumer's cursors are to be kept true as the log changes (a truncation below a
    /// cursor, a trim past one): a change made through the plain log will bypass that.
    pub fn store(&self) -> &Wal {
        &self.wal
    }

    /// Gives up the front door and returns the plain store log (see
    /// [`store`](Log::store) for what that gives up).
    pub fn into_store(self) -> Wal {
        self.wal
    }

    /// The replay start, through its lock. The value is a plain offset, valid whatever a
    /// panicking holder left, so a poisoned lock is simply taken over.
    fn replay_from(&self) -> std::sync::MutexGuard<'_, u64> {
        self.replay_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Entries oldest first, from [`Log::iter`], [`Log::iter_from`] or a replay: the store's
/// [`wal_store::Iter`], yielding this crate's [`Error`](crate::Error).
#[derive(Debug)]
pub struct Iter<'a>(wal_store::Iter<'a>);

impl Iterator for Iter<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        self.0.next().map(|entry| entry.map_err(Error::from))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

/// Entries newest first, from [`Log::iter_rev`]: the store's [`wal_store::RevIter`],
/// yielding this crate's [`Error`](crate::Error).
#[derive(Debug)]
pub struct RevIter<'a>(wal_store::RevIter<'a>);

impl Iterator for RevIter<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        self.0.next().map(|entry| entry.map_err(Error::from))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}
