//! The memory mappings of segment data files: the only module of the workspace with
//! `unsafe` code.
//!
//! # The contract
//!
//! A [`SegmentMap`] maps a whole data file. The bytes of a mapping are shared between the
//! one writer (the holder of the log's tail) and any number of readers on other threads,
//! and Rust's rules say a byte may not be written while a reference to it exists. The
//! store keeps that true with three rules, which every caller in this crate follows:
//!
//! 1. **Readers look only at published bytes.** [`SegmentMap::published`] gives a slice
//!    of `0..len` where `len` is a segment's published length, loaded with `Acquire`
//!    after the writer stored it with `Release` once the bytes were complete.
//! 2. **The writer writes only past the published length** ([`SegmentMap::write_at`]),
//!    so its `&mut` never overlaps a reader's `&`.
//! 3. **Published bytes change only under the exclusive segment-list lock**
//!    ([`SegmentMap::zero`], used by truncation and recovery): readers hold the shared
//!    side of that lock for as long as they hold a slice, and copy payloads out before
//!    releasing it.
//!
//! 4. **A checked scan's mapping borrows the directory's lock** while its bytes can be
//!    looked at (`DataFileScan` in `scan.rs`), so no writer exists meanwhile: its bytes
//!    never change under it. Handed on to the log, it gives no access to the bytes until
//!    the log reads it as a segment under rules 1 to 3.
//!
//! The file behind a mapping is never shrunk while mapped (a mapped page past the end of
//! a file raises SIGBUS): truncation zeroes bytes instead, and segments are removed by
//! unlinking, which leaves existing mappings valid. Files are preallocated before they are
//! mapped, so a write through a mapping never needs a block the disk does not have. No
//! other process writes the files: the directory's `flock` keeps out a second writer, and
//! read-only tools read files, they do not map them writable.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use memmap2::{MmapOptions, MmapRaw};

/// A mapping of one segment data file.
#[derive(Debug)]
pub(crate) struct SegmentMap {
    raw: MmapRaw,
    writable: bool,
    /// Whether read-around on faults has been turned off (see
    /// [`expect_small_syncs`](SegmentMap::expect_small_syncs)).
    random_advised: AtomicBool,
    /// Whether that advice was taken (a refusal leaves read-around on).
    random_in_effect: AtomicBool,
}

impl SegmentMap {
    /// Maps `file` (opened read-write) for reading and writing, with the kernel's default
    /// advice: a fault reads (for an unwritten extent, zero-fills) a whole chunk around
    /// the faulting page, which makes a long run of appends fault a fraction as often.
    pub(crate) fn read_write(file: &File) -> io::Result<SegmentMap> {
        let raw = MmapOptions::new().map_raw(file)?;
        Ok(SegmentMap {
            raw,
            writable: true,
            random_advised: AtomicBool::new(false),
            random_in_effect: AtomicBool::new(false),
        })
    }

    /// Turns read-around off for the rest of this mapping's life, once: the log syncs
    /// small ranges. The chunks read around a fault become large folios in the page cache,
    /// and msync writes back every dirty folio it touches whole (up to 1 MiB here), not
    /// just the bytes appended since the last sync (measured: 153 us against 58 us per
    /// durable 100 B append late in a segment). Pages already faulted in keep their folios.
    /// Answers whether read-around is off; a refusal of the advice is returned the first
    /// time, and answered `false` after.
    pub(crate) fn expect_small_syncs(&self) -> io::Result<bool> {
        if self.random_advised.swap(true, Ordering::AcqRel) {
            return Ok(self.random_in_effect.load(Ordering::Acquire));
        }
        self.raw.advise(memmap2::Advice::Random)?;
        self.random_in_effect.store(true, Ordering::Release);
        Ok(true)
    }

    /// Whether [`expect_small_syncs`](SegmentMap::expect_small_syncs) has run.
    #[cfg(test)]
    pub(crate) fn is_random_advised(&self) -> bool {
        self.random_advised.load(Ordering::Acquire)
    }

    /// Maps `file` for reading only.
    pub(crate) fn read_only(file: &File) -> io::Result<SegmentMap> {
        let raw = MmapOptions::new().map_raw_read_only(file)?;
        Ok(SegmentMap {
            raw,
            writable: false,
            random_advised: AtomicBool::new(false),
            random_in_effect: AtomicBool::new(false),
        })
    }

    /// Length of the mapping (the file's length when it was mapped).
    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether the mapping may be written.
    pub(crate) fn is_writable(&self) -> bool {
        self.writable
    }

    /// The first `len` bytes (clamped to the mapping), which the caller has established
    /// are published (rule 1 of the module's contract).
    pub(crate) fn published(&self, len: usize) -> &[u8] {
        let len = len.min(self.raw.len());
        if len == 0 {
            return &[];
        }
        // SAFETY: the pointer comes from a live mapping of at least `len` bytes (clamped
        // above), which stays mapped as long as `self` lives, and the returned slice
        // borrows `self`. Under the module's contract no byte of `0..len` is written
        // while the slice exists: the writer writes only past the published length
        // (rule 2) and published bytes change only under the exclusive segment-list
        // lock, which excludes every holder of such a slice (rule 3).
        unsafe { std::slice::from_raw_parts(self.raw.as_ptr(), len) }
    }

    /// Runs `write` on the bytes from `at` to the end of the mapping, which lie past the
    /// published length (rule 2). Returns `None` if the mapping is read-only or `at` is
    /// past its end.
    pub(crate) fn write_at<R>(&self, at: usize, write: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        let len = self.raw.len().checked_sub(at)?;
        if !self.writable {
            return None;
        }
        // SAFETY: the mapping is writable and `at..at + len` lies inside it (checked
        // above), and it stays mapped while `self` lives. The slice lives only for the
        // call of `write`. Under the module's contract nobody else references these bytes
        // meanwhile: readers only look below the published length, which is at most
        // `at`, and the caller is the one writer (it holds the log's tail lock or the
        // exclusive segment-list lock).
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.raw.as_mut_ptr().add(at), len) };
        Some(write(bytes))
    }

    /// Fills `range` with zeros; the caller holds the exclusive segment-list lock, or the
    /// bytes are unpublished (rule 3). Returns `false` if the mapping is read-only or the
    /// range is not inside it.
    pub(crate) fn zero(&self, range: Range<usize>) -> bool {
        if range.start > range.end {
            return false;
        }
        let start = range.start;
        self.write_at(start, |bytes| match bytes.get_mut(..range.end - start) {
            Some(part) => {
                part.fill(0);
                true
            }
            None => false,
        })
        .unwrap_or(false)
    }

    /// Writes the pages of `range` to the file (known as `path`) and waits for them
    /// (msync), which on Linux also makes them durable like an fdatasync of that range.
    pub(crate) fn flush(&self, range: Range<usize>, path: &Path) -> io::Result<()> {
        let end = range.end.min(self.raw.len());
        if range.start >= end {
            return Ok(());
        }
        crate::sys::check(crate::sys::Call::Msync, path)?;
        self.raw.flush_range(range.start, end - range.start)
    }
}
