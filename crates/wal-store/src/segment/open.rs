//! Making a segment: creating its data file, mapping an existing one, deferring a sealed
//! one to its first use (and opening it then), remapping it writable or sealed.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};

use wal_format::Codec;

use crate::error::{IoContext, Result, StoreError};
use crate::fs;
use crate::mmap::SegmentMap;
use crate::naming;
use crate::segment::{Body, Deferred, Offsets, Segment};
use crate::sys;

/// A deferred segment of a log opened through its close record by the recovery crate
/// failed its check: the record goes, durably, so that the next open through recovery
/// checks the whole log instead of trusting it (and deferring this segment) again. The
/// log itself goes on as before: a close after an open from the record does not write it
/// again. Failing to remove it is logged: the error the caller gets is the segment's,
/// and the next use of the segment tries again. (A plain [`Wal::open`](crate::Wal::open)
/// leaves the record: it sends its caller to recovery, whose open then gets here.)
fn forget_close_record(dir: &Path) {
    if let Err(e) = crate::closed::consume(dir) {
        log::warn!(target: "wal_store::open", "close record not removed after a failed check: {e}");
    }
}

impl Segment {
    /// Creates a new, empty, preallocated segment file for records of up to
    /// `segment_bytes` bytes, and maps it for writing. The file is one byte longer (see
    /// [`wal_format::DATA_FILE_EXTRA_BYTES`]).
    pub(crate) fn create(
        dir: &Path,
        base: u64,
        codec: Codec,
        segment_bytes: u32,
    ) -> Result<Segment> {
        let data_path = naming::data_path(dir, base, codec);
        // An index file left at this base (with no data file) belongs to no segment: it
        // must not be taken for this new segment's index later.
        fs::remove_if_present(&naming::index_path(dir, base, codec))?;
        let len = wal_format::data_file_bytes(segment_bytes);
        let file = fs::create_preallocated(dir, &data_path, len)?;
        log::info!(target: "wal_store::segment", "created segment {base} ({codec}, {len} bytes)");
        Segment::mapped(dir, base, codec, file, Vec::new(), 0, true)
    }

    /// Maps an existing data file whose records (at `offsets`, ending at `data_len`) have
    /// been checked. `writable` maps it for appending (the active segment).
    pub(crate) fn open(
        dir: &Path,
        base: u64,
        codec: Codec,
        offsets: Vec<u32>,
        data_len: u32,
        writable: bool,
    ) -> Result<Segment> {
        let data_path = naming::data_path(dir, base, codec);
        let file = sys::open(OpenOptions::new().read(true).write(writable), &data_path)
            .io_context("open", &data_path)?;
        Segment::mapped(dir, base, codec, file, offsets, data_len, writable)
    }

    /// A segment from its open data file and a mapping of it, holding records at
    /// `offsets` (checked) up to `data_len` (all published and synced).
    pub(crate) fn from_parts(
        dir: &Path,
        base: u64,
        codec: Codec,
        file: File,
        map: SegmentMap,
        offsets: Offsets,
        data_len: u32,
    ) -> Segment {
        let body = OnceLock::from(Body {
            file,
            map,
            offsets: RwLock::new(offsets),
        });
        Segment::with_body(dir, base, codec, body, None, data_len)
    }

    /// The segment at `base`, whose records (if `body` is set) end at `data_len`, all
    /// published and synced.
    fn with_body(
        dir: &Path,
        base: u64,
        codec: Codec,
        body: OnceLock<Body>,
        deferred: Option<Deferred>,
        data_len: u32,
    ) -> Segment {
        Segment {
            base,
            codec,
            index_path: naming::index_path(dir, base, codec),
            data_path: naming::data_path(dir, base, codec),
            body,
            deferred,
            data_len: AtomicU32::new(data_len),
            published_len: AtomicU32::new(data_len),
            synced_len: AtomicU32::new(data_len),
            written_back: AtomicU32::new(data_len),
            zeroed_to: AtomicU32::new(data_len),
            tiny_syncs: AtomicBool::new(false),
            checked_by_recovery: AtomicU64::new(0),
        }
    }

    /// Maps `file`, the data file of the segment at `base`, holding records at `offsets`
    /// up to `data_len` (all published and synced).
    fn mapped(
        dir: &Path,
        base: u64,
        codec: Codec,
        file: File,
        offsets: Vec<u32>,
        data_len: u32,
        writable: bool,
    ) -> Result<Segment> {
        let data_path = naming::data_path(dir, base, codec);
        let map = if writable {
            SegmentMap::read_write(&file)
        } else {
            SegmentMap::read_only(&file)
        }
        .io_context("mmap", &data_path)?;
        Ok(Segment::from_parts(
            dir,
            base,
            codec,
            file,
            map,
            Offsets::in_memory(offsets),
            data_len,
        ))
    }

    /// A sealed segment whose files are opened at its first use: the directory's layout
    /// says it holds `entries` entries, and the segment at `next` follows it. Its lengths
    /// are 0 until then.
    pub(crate) fn deferred(
        dir: &Path,
        base: u64,
        codec: Codec,
        entries: u64,
        next: (u64, Codec),
    ) -> Segment {
        let deferred = Deferred {
            dir: dir.to_path_buf(),
            entries,
            next,
            opening: Mutex::new(()),
            forgets_close_record: false,
            set_aside: false,
        };
        Segment::with_body(dir, base, codec, OnceLock::new(), Some(deferred), 0)
    }

    /// Has a failed check of this deferred segment remove the directory's close record
    /// (see `forget_close_record` below); nothing for other segments.
    pub(crate) fn forget_close_record_on_failure(&mut self) {
        if let Some(deferred) = self.deferred.as_mut() {
            deferred.forgets_close_record = true;
        }
    }

    /// The segment's files, opened and checked now if a plain open deferred them: its
    /// index (crc, order, as many entries as the layout says), its first and last records,
    /// and the link from its last record to the next segment's first. A failure is
    /// returned to the caller that needed the segment, and the next use tries again.
    pub(super) fn body(&self) -> Result<&Body> {
        if let Some(body) = self.body.get() {
            return Ok(body);
        }
        let Some(deferred) = &self.deferred else {
            return Err(StoreError::Layout {
                segment: self.base,
                detail: "segment has no data file open".to_owned(),
            });
        };
        let _opening = deferred.opening.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(body) = self.body.get() {
            return Ok(body);
        }
        let parts = crate::open::open_deferred(
            &deferred.dir,
            (self.base, self.codec),
            deferred.entries,
            deferred.next,
        )
        .inspect_err(|_| {
            if deferred.forgets_close_record {
                forget_close_record(&deferred.dir);
            }
        })?;
        self.data_len.store(parts.data_len, Ordering::Release);
        self.published_len.store(parts.data_len, Ordering::Release);
        self.synced_len.store(parts.data_len, Ordering::Release);
        self.written_back.store(parts.data_len, Ordering::Release);
        self.zeroed_to.store(parts.data_len, Ordering::Release);
        let body = Body {
            file: parts.file,
            map: parts.map,
            offsets: RwLock::new(parts.offsets),
        };
        Ok(self.body.get_or_init(|| body))
    }

    /// Whether this is a deferred sealed segment not opened yet.
    pub(crate) fn is_deferred(&self) -> bool {
        self.deferred.is_some() && self.body.get().is_none()
    }

    /// Sets a deferred segment aside: it is opened only when a read reaches it, and never
    /// checked before an append or truncation (see `Inner::check_deferred`).
    pub(crate) fn set_aside(mut self) -> Segment {
        if let Some(deferred) = self.deferred.as_mut() {
            deferred.set_aside = true;
        }
        self
    }

    /// Whether the opener set this segment aside (see [`set_aside`](Segment::set_aside)).
    pub(crate) fn is_set_aside(&self) -> bool {
        self.deferred.as_ref().is_some_and(|d| d.set_aside)
    }

    /// Opens a deferred segment now (see [`body`](Segment::body)); nothing for others.
    pub(crate) fn open_if_deferred(&self) -> Result<()> {
        self.body().map(|_| ())
    }

    /// The same segment mapped read-write (a growing active segment, or a sealed one a
    /// truncation makes active again), its offsets in memory.
    pub(crate) fn remap_writable(&self, dir: &Path) -> Result<Segment> {
        let offsets = self.offsets_read()?.to_vec();
        Segment::open(dir, self.base, self.codec, offsets, self.data_len(), true)
    }

    /// The segment, just sealed (its index file written and synced), mapped read-only
    /// with its offsets read from the index file instead of kept in memory.
    pub(crate) fn sealed(&self, dir: &Path) -> Result<Segment> {
        let in_memory = self.offsets_read()?;
        let offsets = match Offsets::from_index_file(&self.index_path, self.codec, in_memory.len())?
        {
            Some(offsets) => offsets,
            None => Offsets::in_memory(in_memory.to_vec()),
        };
        drop(in_memory);
        let file = sys::open_read(&self.data_path).io_context("open", &self.data_path)?;
        let map = SegmentMap::read_only(&file).io_context("mmap", &self.data_path)?;
        Ok(Segment::from_parts(
            dir,
            self.base,
            self.codec,
            file,
            map,
            offsets,
            self.data_len(),
        ))
    }
}
