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
//! 4. **A [`LockedFileMap`] borrows the directory's lock**, so no writer exists while it
//!    lives: its bytes never change under it.
//!
//! The file behind a mapping is never shrunk while mapped (a mapped page past the end of
//! a file raises SIGBUS): truncation zeroes bytes instead, and segments are removed by
//! unlinking, which leaves existing mappings valid. Files are preallocated before they are
//! mapped, so a write through a mapping never needs a block the disk does not have. No
//! other process writes the files: the directory's `flock` keeps out a second writer, and
//! read-only tools read files, they do not map them writable.

use std::fs::File;
use std::io;
use std::marker::PhantomData;
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

/// A read-only mapping of a file in a WAL directory whose lock the caller holds: the
/// recovery crate reads segments through it instead of copying them into memory.
///
/// Borrowing the [`DirLock`](crate::DirLock) for the mapping's whole life is what makes
/// it sound: no writer of this library (in this process or another) can change the file
/// while it is mapped, because every writer needs that lock, and the lock cannot be handed
/// to [`Wal::open_locked`](crate::Wal::open_locked) while it is borrowed.
#[derive(Debug)]
pub struct LockedFileMap<'lock> {
    map: Option<SegmentMap>,
    identity: FileIdentity,
    /// See [`LockedFileMap::scan_bytes`].
    scan_len: usize,
    _lock: PhantomData<&'lock crate::DirLock>,
}

/// Which file a mapping maps, and how long the file was: a mapping is reused only for the
/// same file at the same length (a mapped page past the end of a file raises SIGBUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    dev: u64,
    ino: u64,
    len: u64,
}

impl FileIdentity {
    pub(crate) fn of(file: &File) -> io::Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata()?;
        Ok(FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
        })
    }
}

/// A read-only mapping recovery made of a segment's data file while scanning it, handed
/// to [`Wal::open_locked_with_maps`](crate::Wal::open_locked_with_maps) so that the log
/// reads the pages the scan has already mapped instead of mapping and faulting them in a
/// second time. It gives no access to the bytes itself. A mapping is shared with the
/// file (it always shows the file's current bytes), so reusing it is the same as mapping
/// the file again, as long as it is the same file at the same length, which the store
/// checks.
#[derive(Debug)]
pub struct ScannedMap {
    map: SegmentMap,
    identity: FileIdentity,
    records: Option<ScannedRecords>,
}

/// The records recovery found in a data file: see [`ScannedMap::with_records`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScannedRecords {
    pub(crate) offsets: Vec<u32>,
    pub(crate) data_len: u32,
    pub(crate) last_crc: Option<u32>,
}

impl ScannedMap {
    /// Adds what the scan found in the file: whole records with valid crcs at `offsets`,
    /// each chained from the one before (and the first from the log's previous entry),
    /// ending at `data_len` with nothing but zeros after, the last one's crc `last_crc`.
    /// Opening the log then takes these instead of scanning the file again when it is the
    /// active segment. Only for a file nothing has changed since the scan (the store checks
    /// its first and last records, and that it is the same file at the same length).
    pub fn with_records(
        mut self,
        offsets: Vec<u32>,
        data_len: u32,
        last_crc: Option<u32>,
    ) -> ScannedMap {
        self.records = Some(ScannedRecords {
            offsets,
            data_len,
            last_crc,
        });
        self
    }
}

/// Mappings offered for reuse while a log is opened.
#[derive(Debug, Default)]
pub(crate) struct Premapped(Vec<ScannedMap>);

impl Premapped {
    pub(crate) fn new(maps: Vec<ScannedMap>) -> Premapped {
        Premapped(maps)
    }

    /// Whether no mapping is offered (a plain open, not one after recovery).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The mapping of `file`, if one is offered (read-only, same file, same length).
    pub(crate) fn take(&mut self, file: &File) -> io::Result<Option<SegmentMap>> {
        Ok(self.take_scanned(file)?.map(|m| m.map))
    }

    /// The mapping of `file` and the records the scan found in it, if one is offered
    /// (same file, same length).
    pub(crate) fn take_with_records(
        &mut self,
        file: &File,
    ) -> io::Result<Option<(SegmentMap, Option<ScannedRecords>)>> {
        Ok(self.take_scanned(file)?.map(|m| (m.map, m.records)))
    }

    fn take_scanned(&mut self, file: &File) -> io::Result<Option<ScannedMap>> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let identity = FileIdentity::of(file)?;
        Ok(self
            .0
            .iter()
            .position(|m| m.identity == identity)
            .map(|i| self.0.swap_remove(i)))
    }
}

impl<'lock> LockedFileMap<'lock> {
    /// Maps `path` (a file of the locked directory) for reading.
    pub fn open(_lock: &'lock crate::DirLock, path: &Path) -> io::Result<LockedFileMap<'lock>> {
        let file = crate::sys::open_read(path)?;
        let identity = FileIdentity::of(&file)?;
        let len = identity.len;
        // An empty file cannot be mapped; it reads as no bytes.
        let map = if len == 0 {
            None
        } else {
            Some(SegmentMap::read_only(&file)?)
        };
        let scan_len = crate::fs::scan_len(crate::fs::data_end(&file)?, len);
        Ok(LockedFileMap {
            map,
            identity,
            scan_len: usize::try_from(scan_len).unwrap_or(usize::MAX),
            _lock: PhantomData,
        })
    }

    /// The bytes that may hold anything but zeros, plus a page of zeros after them (see
    /// [`crate::fs::data_end`]): every later byte of the file reads as zero.
    pub fn scan_bytes(&self) -> &[u8] {
        self.map
            .as_ref()
            .map_or(&[], |m| m.published(self.scan_len))
    }

    /// The file's bytes (as long as it was when mapped).
    pub fn bytes(&self) -> &[u8] {
        self.map.as_ref().map_or(&[], |m| m.published(m.len()))
    }

    /// The mapping, for the log to reuse (see [`ScannedMap`]); `None` for an empty file.
    pub fn into_scanned(self) -> Option<ScannedMap> {
        let identity = self.identity;
        self.map.map(|map| ScannedMap {
            map,
            identity,
            records: None,
        })
    }
}
