//! The front door: the log a user holds after [`open`](crate::open).
//!
//! [`Log`] owns the store's [`Wal`] and offers what a user needs of it with this crate's
//! one error type, [`Error`](crate::Error), so that one `match` covers opening,
//! appending and reading. It also keeps the consumers' cursors (`log/cursors.rs`): it
//! persists them, replays after them, and keeps them true through every change it makes
//! to the log; the store's retention follows them (`log/retention.rs`): with a size limit
//! in the [`WalOptions`], the segments wholly at or before the lowest cursor are what the
//! store may remove to make room, never an entry after it. Each other method is a few
//! lines in front of the store's; their full contracts are the store's, linked from each.

mod cursors;

pub(crate) use cursors::Cursors;

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;

use wal_store::{Appended, AppendedBatch, Entry, EntryRef, Stats, Wal, WalOptions};

use crate::error::{Error, Result};

mod meta;
mod pipeline;
mod retention;

pub use meta::read_meta;
pub use pipeline::Pending;
pub(crate) use retention::RetentionCell;

/// An open write-ahead log, as [`open`](crate::open) returns it in
/// [`Recovered`](crate::Recovered): appends, syncs, reads, cuts and the consumers'
/// cursors, every fallible call returning [`Error`](crate::Error).
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
    /// Every valid cursor, by name, as on disk. The lock also orders the cursor writes
    /// and the changes to the log that move cursors, so that the files, this map and the
    /// log agree.
    cursors: Mutex<Cursors>,
    /// Where the store's retention hook reads what the consumers still need.
    retention: RetentionCell,
}

impl Log {
    /// Wraps the log recovery opened, with its valid cursors as they are on disk, and
    /// the cell its retention hook reads.
    pub(crate) fn new(wal: Wal, cursors: Cursors, retention: RetentionCell) -> Log {
        retention.publish(&cursors);
        Log {
            wal,
            cursors: Mutex::new(cursors),
            retention,
        }
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

    /// Syncs everything and closes the log, reporting any failure, including an earlier
    /// failed sync (see [`Wal::close`]). [`shutdown`](Log::shutdown) does the same through
    /// a shared reference.
    pub fn close(self) -> Result<()> {
        Ok(self.wal.close()?)
    }

    /// The plain store log, for what this type does not offer. Calls through it return
    /// [`wal_store::StoreError`] instead of [`Error`](crate::Error), and they give up the
    /// cursors: a truncation through it below a cursor leaves the cursor past the end
    /// (the next writing open through [`open`](crate::open) clamps it, and until then
    /// the entries appended in its place are hidden from replay), and a trim through it
    /// drops unread entries without a word (the next [`verify`](crate::verify) and
    /// [`open`](crate::open) report them as `unread_entries_gone`). A cursor set on it
    /// with the free [`set_cursor`](crate::set_cursor) is not seen by this log until the
    /// next open. Nor does the store's retention see a cursor set there: it goes on keeping every
    /// entry after the cursors this `Log` knows (so an appender at its size limit stays
    /// refused).
    pub fn store(&self) -> &Wal {
        &self.wal
    }

    /// Gives up the front door and returns the plain store log (see
    /// [`store`](Log::store) for what that gives up).
    pub fn into_store(self) -> Wal {
        self.wal
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
