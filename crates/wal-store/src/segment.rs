//! One segment: a data file mapped in memory, and the file offsets of its entries.
//!
//! The files of `segment/`, one concern each: `open.rs` makes a segment (creates, maps,
//! defers, remaps); `write.rs` appends, syncs, grows and writes the index; `pacing.rs`
//! holds the rules that pace writes against the page cache (read-around, write-behind,
//! zeros ahead) and their constants; `read.rs` reads, visits and checks records;
//! `cut.rs` zeroes a dropped tail; `offsets.rs` keeps the entries' file offsets.

mod cut;
mod offsets;
mod open;
mod pacing;
mod read;
mod write;

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard};

use wal_format::Codec;

use crate::error::{Result, StoreError};
use crate::mmap::SegmentMap;

pub(crate) use offsets::Offsets;
#[cfg(test)]
pub(crate) use pacing::ZERO_AHEAD_LEAD;
pub use read::{Entry, EntryRef};

/// A segment of the log. Its identity (base offset, codec, files) never changes; what it
/// holds grows at the end while it is the active segment.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base: u64,
    pub(crate) codec: Codec,
    pub(crate) data_path: PathBuf,
    pub(crate) index_path: PathBuf,
    /// The open data file, its mapping and the entries' offsets: set when the segment is
    /// made, or for a sealed segment a plain open deferred, at its first use.
    body: OnceLock<Body>,
    /// How to open a deferred sealed segment (`None` for every other segment).
    deferred: Option<Deferred>,
    /// Bytes written: the file offset where the next record goes.
    data_len: AtomicU32,
    /// Bytes readers may look at (see the contract in `mmap.rs`).
    published_len: AtomicU32,
    /// Bytes known durable.
    synced_len: AtomicU32,
    /// Bytes whose writeback has been started early (see [`Segment::append`]); not
    /// durable until synced.
    written_back: AtomicU32,
    /// Bytes written to the file at least once (records, or zeros written ahead of them;
    /// see [`Segment::zero_ahead`]). Only the holder of the log's tail changes it.
    zeroed_to: AtomicU32,
    /// Whether a sync of fewer than `TINY_SYNC_BYTES` has run on this segment (see
    /// [`before_sync`](Segment::before_sync)).
    tiny_syncs: AtomicBool,
    /// How many of the first records had their crcs checked by recovery's scan just before
    /// the log was opened, with no visit reading them since (see
    /// [`CheckedSegment`](crate::CheckedSegment)).
    checked_by_recovery: AtomicU64,
}

/// What a segment's records are read through.
#[derive(Debug)]
struct Body {
    file: File,
    map: SegmentMap,
    /// File offset of every entry, in order.
    offsets: RwLock<Offsets>,
}

/// A sealed segment whose files a plain open left unopened (see `open.rs`): what the
/// directory's layout says it holds, checked against its files at its first use.
#[derive(Debug)]
struct Deferred {
    dir: PathBuf,
    /// Entries the layout gives it: the next segment starts this many offsets later.
    entries: u64,
    /// Base and codec of the next segment, whose first record must chain from this one's
    /// last: sealed, since every deferred segment is opened before the first append or
    /// truncation.
    next: (u64, Codec),
    /// Held while the files are being opened, so that two first uses open them once.
    opening: Mutex<()>,
    /// Whether a failed check removes the directory's close record (a log opened through
    /// [`Wal::open_if_closed_cleanly`](crate::Wal::open_if_closed_cleanly)).
    forgets_close_record: bool,
    /// Whether the opener set the segment aside (see
    /// [`Wal::open_setting_aside`](crate::Wal::open_setting_aside)): it is opened only
    /// when a read reaches it, never checked before an append or truncation.
    set_aside: bool,
}

fn lock_poisoned<T>(_: T) -> StoreError {
    // A panic on another thread while it held a segment's offsets cannot leave them
    // half-updated (a push or a truncate is one call), but refuse to guess.
    StoreError::Poisoned {
        cause: "a thread panicked while holding a segment's index".to_owned(),
    }
}

impl Segment {
    /// Notes that a checked scan has just checked the crcs of the first `entries` records
    /// of the segment, in the bytes it is opened with (see `scan.rs`).
    pub(crate) fn note_checked(&self, entries: u64) {
        self.checked_by_recovery.store(entries, Ordering::Release);
    }

    /// How many of the first records recovery checked with no visit reading them since
    /// (0 when none); answered once, then 0.
    pub(crate) fn take_checked(&self) -> u64 {
        if self.checked_by_recovery.load(Ordering::Acquire) == 0 {
            return 0;
        }
        self.checked_by_recovery.swap(0, Ordering::AcqRel)
    }

    /// Where its data file is mapped (`None` for a deferred segment not yet used).
    #[cfg(test)]
    pub(crate) fn mapped_at(&self) -> Option<*const u8> {
        self.body.get().map(|body| body.map.published(1).as_ptr())
    }

    /// Whether [`take_checked`](Segment::take_checked) would answer more than 0.
    pub(crate) fn is_checked(&self) -> bool {
        self.checked_by_recovery.load(Ordering::Acquire) > 0
    }

    pub(crate) fn offsets_read(&self) -> Result<RwLockReadGuard<'_, Offsets>> {
        self.body()?.offsets.read().map_err(lock_poisoned)
    }

    /// The file offset of the entry at `position`, if the segment holds one there. An
    /// error says the segment could not be opened (see [`body`](Segment::body)).
    pub(crate) fn offset_of(&self, position: u64) -> Result<Option<u32>> {
        let offsets = self.offsets_read()?;
        Ok(usize::try_from(position).ok().and_then(|p| offsets.get(p)))
    }

    /// Size of the mapped file (0 for a deferred segment not yet used).
    pub(crate) fn capacity(&self) -> usize {
        self.body.get().map_or(0, |body| body.map.len())
    }

    /// Number of entries. A deferred segment answers from the directory's layout without
    /// opening its files: any read of it opens them and checks that they agree.
    pub(crate) fn entries(&self) -> Result<u64> {
        match (&self.deferred, self.body.get()) {
            (Some(deferred), None) => Ok(deferred.entries),
            _ => Ok(self.offsets_read()?.len() as u64),
        }
    }

    /// The bytes of its records, or for a deferred segment not yet used, its data file's
    /// length (sealed segments are mostly full; 0 if the file cannot be looked at).
    pub(crate) fn bytes_hint(&self) -> u64 {
        match (&self.deferred, self.body.get()) {
            (Some(_), None) => std::fs::metadata(&self.data_path).map_or(0, |m| m.len()),
            _ => u64::from(self.published_len()),
        }
    }

    pub(crate) fn data_len(&self) -> u32 {
        self.data_len.load(Ordering::Acquire)
    }

    pub(crate) fn synced_len(&self) -> u32 {
        self.synced_len.load(Ordering::Acquire)
    }

    pub(crate) fn is_writable(&self) -> bool {
        self.body.get().is_some_and(|body| body.map.is_writable())
    }

    /// Makes `published_len` at least `len`: readers may now look at those bytes.
    pub(crate) fn publish(&self, len: u32) {
        self.published_len.fetch_max(len, Ordering::AcqRel);
    }

    /// Bytes readers may look at.
    pub(crate) fn published_len(&self) -> u32 {
        self.published_len.load(Ordering::Acquire)
    }
}
