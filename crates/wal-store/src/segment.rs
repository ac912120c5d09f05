//! One segment: a data file mapped in memory, and the file offsets of its entries.

use std::fs::{File, OpenOptions};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard};

use wal_format::{Codec, Decoded, Encoded, FileOffset, FormatError, Record};

use crate::ahead::Checked;
use crate::error::{IoContext, Result, StoreError};
use crate::fs;
use crate::mmap::SegmentMap;
use crate::naming;
use crate::sys;

/// A sync of fewer bytes than this turns read-around off for the segment (see
/// `SegmentMap::expect_small_syncs`): 1 MiB, the largest folio a fault read around here.
const SMALL_SYNC_BYTES: u32 = 1 << 20;

/// Appended bytes not yet synced, beyond which their writeback is started (see
/// [`Segment::append`]): 8 MiB.
const WRITE_BEHIND_BYTES: u32 = 8 << 20;
/// Bytes just behind the write position left out of an early writeback, so that no page
/// the writer may still write is written back (it would fault again, or on a disk that
/// needs stable pages, wait): 4 MiB, rounded down to 2 MiB, the largest folio here.
const WRITE_BEHIND_LAG: u32 = 4 << 20;
const WRITE_BEHIND_ALIGN: u32 = 2 << 20;

/// A sync of fewer bytes than this marks the segment as synced a few pages at a time,
/// which makes appends zero ahead of themselves (see [`Segment::zero_ahead`]): 16 KiB.
const TINY_SYNC_BYTES: u32 = 16 << 10;
/// How much an append zeroes ahead at a time (see [`Segment::zero_ahead`]): 256 KiB.
const ZERO_AHEAD_BYTES: usize = 256 << 10;
/// How close an append may come to the end of the zeroed bytes before more are zeroed:
/// 64 KiB.
pub(crate) const ZERO_AHEAD_LEAD: usize = 64 << 10;
/// The unit in which the file system converts written blocks, and msync writes.
const PAGE_BYTES: usize = 4096;

/// An entry read from the log, owned by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's offset in the log.
    pub offset: u64,
    /// The payload as appended.
    pub payload: Vec<u8>,
    /// The crc that seeded this entry's crc: the crc of the entry before (v2; `None` for
    /// v1, which has no crc).
    pub prev_crc: Option<u32>,
    /// The entry's chained crc (v2; `None` for v1).
    pub crc: Option<u32>,
}

/// An entry borrowed from the log for the length of a visit (see
/// [`Wal::visit_from`](crate::Wal::visit_from)): no copy, no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The entry's offset in the log.
    pub offset: u64,
    /// The payload as appended.
    pub payload: &'a [u8],
    /// The crc that seeded this entry's crc (v2; `None` for v1).
    pub prev_crc: Option<u32>,
    /// The entry's chained crc (v2; `None` for v1).
    pub crc: Option<u32>,
}

/// Where a segment's entry offsets (the file offset of each record) are kept: in memory
/// for the active segment, whose offsets grow with each append; in the index file for a
/// sealed one, mapped read-only, so that sealed segments take no heap for their offsets
/// (4 bytes an entry otherwise). The index file was written by this log when it sealed
/// the segment; index files are replaced by renaming, never shrunk, so the mapping stays
/// whole.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    owned: Vec<u32>,
    index: Option<IndexMap>,
}

/// A mapped index file.
#[derive(Debug)]
pub(crate) struct IndexMap {
    map: SegmentMap,
    /// Bytes before the first offset (the crc of a v2 index).
    header: usize,
    len: usize,
}

impl IndexMap {
    fn get(&self, position: usize) -> Option<u32> {
        if position >= self.len {
            return None;
        }
        let at = self.header.checked_add(position.checked_mul(4)?)?;
        let bytes = self
            .map
            .published(self.map.len())
            .get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }

    /// The index file at `path`, mapped; `None` when it holds no whole offset.
    fn open(path: &Path, codec: Codec) -> Result<Option<IndexMap>> {
        let file = sys::open_read(path).io_context("open", path)?;
        let file_len = file.metadata().io_context("stat", path)?.len();
        let header = codec.index_header_bytes();
        let Some(body) = usize::try_from(file_len)
            .ok()
            .and_then(|l| l.checked_sub(header))
        else {
            return Ok(None);
        };
        if body == 0 || body % 4 != 0 {
            return Ok(None);
        }
        let map = SegmentMap::read_only(&file).io_context("mmap", path)?;
        Ok(Some(IndexMap {
            map,
            header,
            len: body / 4,
        }))
    }
}

impl Offsets {
    pub(crate) fn in_memory(owned: Vec<u32>) -> Offsets {
        Offsets { owned, index: None }
    }

    /// The index file at `path`, mapped whole and not yet checked: the caller parses
    /// [`index_bytes`](Offsets::index_bytes) before it trusts any offset. `None` when the
    /// file holds no whole offset.
    pub(crate) fn map_index_file(path: &Path, codec: Codec) -> Result<Option<Offsets>> {
        Ok(IndexMap::open(path, codec)?.map(|index| Offsets {
            owned: Vec::new(),
            index: Some(index),
        }))
    }

    /// The whole index file, when the offsets are read from one.
    pub(crate) fn index_bytes(&self) -> Option<&[u8]> {
        self.index
            .as_ref()
            .map(|index| index.map.published(index.map.len()))
    }

    /// A sealed segment's offsets read from its index file at `path`, when the file holds
    /// `entries` of them (the caller wrote it or has just checked it); `None` otherwise.
    pub(crate) fn from_index_file(
        path: &Path,
        codec: Codec,
        entries: usize,
    ) -> Result<Option<Offsets>> {
        Ok(Offsets::map_index_file(path, codec)?.filter(|offsets| offsets.len() == entries))
    }

    pub(crate) fn len(&self) -> usize {
        self.index
            .as_ref()
            .map_or(self.owned.len(), |index| index.len)
    }

    pub(crate) fn get(&self, position: usize) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(position),
            None => self.owned.get(position).copied(),
        }
    }

    pub(crate) fn to_vec(&self) -> Vec<u32> {
        match &self.index {
            Some(index) => (0..index.len).filter_map(|i| index.get(i)).collect(),
            None => self.owned.clone(),
        }
    }

    /// The offsets in memory, to change them (the active segment's always are).
    fn owned(&mut self) -> &mut Vec<u32> {
        if self.index.is_some() {
            self.owned = self.to_vec();
            self.index = None;
        }
        &mut self.owned
    }
}

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
    /// Whether a sync of fewer than [`TINY_SYNC_BYTES`] has run on this segment.
    tiny_syncs: AtomicBool,
    /// How many of the first records had their crcs checked by recovery just before the
    /// log was opened, with no visit reading them since (see
    /// [`Wal::note_checked_segments`](crate::Wal::note_checked_segments)).
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
}

fn lock_poisoned<T>(_: T) -> StoreError {
    // A panic on another thread while it held a segment's offsets cannot leave them
    // half-updated (a push or a truncate is one call), but refuse to guess.
    StoreError::Poisoned {
        cause: "a thread panicked while holding a segment's index".to_owned(),
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
        };
        Segment::with_body(dir, base, codec, OnceLock::new(), Some(deferred), 0)
    }

    /// The segment's files, opened and checked now if a plain open deferred them: its
    /// index (crc, order, as many entries as the layout says), its first and last records,
    /// and the link from its last record to the next segment's first. A failure is
    /// returned to the caller that needed the segment, and the next use tries again.
    fn body(&self) -> Result<&Body> {
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
        )?;
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

    /// Opens a deferred segment now (see [`body`](Segment::body)); nothing for others.
    pub(crate) fn open_if_deferred(&self) -> Result<()> {
        self.body().map(|_| ())
    }

    /// Notes that recovery has just checked the crcs of every record the segment holds.
    pub(crate) fn note_checked(&self) -> Result<()> {
        self.checked_by_recovery
            .store(self.entries()?, Ordering::Release);
        Ok(())
    }

    /// How many of the first records recovery checked with no visit reading them since
    /// (0 when none); answered once, then 0.
    pub(crate) fn take_checked(&self) -> u64 {
        if self.checked_by_recovery.load(Ordering::Acquire) == 0 {
            return 0;
        }
        self.checked_by_recovery.swap(0, Ordering::AcqRel)
    }

    /// Whether [`take_checked`](Segment::take_checked) would answer more than 0.
    pub(crate) fn is_checked(&self) -> bool {
        self.checked_by_recovery.load(Ordering::Acquire) > 0
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

    /// Encodes a record at the end of the data. Only the holder of the log's tail calls
    /// this, and only on the active segment. The record is not yet visible to readers.
    ///
    /// When more than [`WRITE_BEHIND_BYTES`] lie between the synced (or already written
    /// back) bytes and a point [`WRITE_BEHIND_LAG`] behind the end (rounded down to
    /// [`WRITE_BEHIND_ALIGN`]), their writeback is started, so that the
    /// disk works while the writer goes on: the next sync, or the seal of a full segment,
    /// then waits for what is left instead of writing the whole backlog at once (a 64 MiB
    /// segment sealed after a bulk load: ~25-30 ms of msync on the writer's path here).
    pub(crate) fn append(&self, prev_crc: u32, payload: &[u8]) -> Result<Encoded> {
        let body = self.body()?;
        let at = self.data_len();
        let encoded = body
            .map
            .write_at(at as usize, |buf| {
                self.codec.encode_record(buf, prev_crc, payload)
            })
            .ok_or_else(|| FormatError::BufferTooSmall {
                needed: self.codec.header_bytes() + payload.len(),
                available: 0,
            })??;
        let end = u32::try_from(at as usize + encoded.len).map_err(|_| {
            StoreError::Format(FormatError::PayloadTooLarge {
                size: payload.len(),
                max: self.codec.max_payload_bytes(),
            })
        })?;
        body.offsets
            .write()
            .map_err(lock_poisoned)?
            .owned()
            .push(at);
        self.data_len.store(end, Ordering::Release);
        self.write_behind(body, end);
        Ok(encoded)
    }

    /// Starts the writeback of what lies more than [`WRITE_BEHIND_LAG`] behind `end`, once
    /// that is at least [`WRITE_BEHIND_BYTES`] not synced or being written back already.
    fn write_behind(&self, body: &Body, end: u32) {
        let from = self
            .written_back
            .load(Ordering::Relaxed)
            .max(self.synced_len());
        let to = end.saturating_sub(WRITE_BEHIND_LAG) / WRITE_BEHIND_ALIGN * WRITE_BEHIND_ALIGN;
        if to <= from || to - from < WRITE_BEHIND_BYTES {
            return;
        }
        self.written_back.store(to, Ordering::Relaxed);
        if let Err(e) = fs::start_writeback(&body.file, u64::from(from)..u64::from(to)) {
            log::debug!(
                target: "wal_store::segment",
                "starting writeback of {}: {e}",
                self.data_path.display()
            );
        }
    }

    /// Whether, before a record of `needed` bytes is appended, this segment has to zero
    /// ahead (see [`zero_ahead`](Segment::zero_ahead)): it is synced a few pages at a time,
    /// and the record would end within [`ZERO_AHEAD_LEAD`] of the zeros written so far.
    #[inline]
    pub(crate) fn zero_ahead_due(&self, needed: usize) -> bool {
        if !self.tiny_syncs.load(Ordering::Relaxed) {
            return false;
        }
        let zeroed = self.zeroed_to.load(Ordering::Relaxed) as usize;
        zeroed < self.capacity()
            && (self.data_len() as usize)
                .saturating_add(needed)
                .saturating_add(ZERO_AHEAD_LEAD)
                > zeroed
    }

    /// Before a record of `needed` bytes is appended to a segment synced a few pages at a
    /// time (a durable append each time, group commit), when
    /// [`zero_ahead_due`](Segment::zero_ahead_due): writes the next [`ZERO_AHEAD_BYTES`]
    /// after the bytes written so far with zeros, and msyncs them.
    ///
    /// The data file is preallocated, and a preallocated block is unwritten until
    /// something is written to it: the first sync that writes a block also converts it,
    /// which changes the file's extent map and so makes the sync write the inode too.
    /// Synced page by page, that happens at every sync that reaches a new page (a
    /// quarter of the durable appends of 1 KiB; 100 B appends crossing into a new page
    /// took 175 us against 90 us for the others here). Zeros written ahead convert the
    /// blocks in one go, a chunk at a time, off the syncs of the records.
    ///
    /// Only bytes past every record are written, by the holder of the log's tail, which
    /// alone appends: they are zeros already, no reader looks at them, and a crash leaves
    /// zeros there either way. The zeros go through the mapping after read-around was
    /// turned off (by the first small sync), so their pages stay single pages that the
    /// records' syncs write back alone. The msync is a sync of the segment's data like
    /// any other: the caller runs it as the log runs every such sync (one at a time, a
    /// failure poisoning the log), since it may report a writeback error of the records.
    pub(crate) fn zero_ahead(&self, needed: usize) -> Result<()> {
        if !self.zero_ahead_due(needed) {
            return Ok(());
        }
        let data_len = self.data_len() as usize;
        let zeroed = self.zeroed_to.load(Ordering::Relaxed) as usize;
        let body = self.body()?;
        let from = zeroed.max(data_len.next_multiple_of(PAGE_BYTES));
        let to = from.saturating_add(ZERO_AHEAD_BYTES).min(body.map.len());
        if from >= to {
            // Nothing left to zero before the end of the file: not due again.
            self.zeroed_to.store(
                u32::try_from(body.map.len()).unwrap_or(u32::MAX),
                Ordering::Relaxed,
            );
            return Ok(());
        }
        if !body.map.zero(from..to) {
            return Ok(());
        }
        body.map
            .flush(from..to, &self.data_path)
            .io_context("msync", &self.data_path)?;
        self.zeroed_to
            .store(u32::try_from(to).unwrap_or(u32::MAX), Ordering::Relaxed);
        Ok(())
    }

    /// Where the zeros written ahead end (the bytes written so far when none were).
    #[cfg(test)]
    pub(crate) fn zeroed_to(&self) -> usize {
        self.zeroed_to.load(Ordering::Relaxed) as usize
    }

    /// Makes `published_len` at least `len`: readers may now look at those bytes.
    pub(crate) fn publish(&self, len: u32) {
        self.published_len.fetch_max(len, Ordering::AcqRel);
    }

    /// Msyncs what was written up to `end` and is not yet synced.
    pub(crate) fn flush_to(&self, end: u32) -> Result<()> {
        let from = self.synced_len();
        if end > from {
            // A log synced in small steps (a durable append each time, group commit, a
            // short interval) would write back whole read-around chunks at every sync:
            // from the first small sync on, this segment faults page by page instead. A
            // bulk load, synced rarely, keeps the cheaper faults.
            // The advice only changes speed: a refusal is logged, not an error.
            let body = self.body()?;
            if end - from < SMALL_SYNC_BYTES {
                match body.map.expect_small_syncs() {
                    // Zeros written ahead are worth it only once faults stay single pages.
                    Ok(true) if end - from < TINY_SYNC_BYTES => {
                        self.tiny_syncs.store(true, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => log::warn!(
                        target: "wal_store::segment",
                        "madvise(MADV_RANDOM) on {}: {e}",
                        self.data_path.display()
                    ),
                }
            }
            body.map
                .flush(from as usize..end as usize, &self.data_path)
                .io_context("msync", &self.data_path)?;
            self.synced_len.fetch_max(end, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Grows the data file to hold records of up to `segment_bytes` bytes (preallocated;
    /// one byte more, as [`create`](Segment::create) makes it), not yet synced: the caller
    /// fsyncs it ([`fsync_file`](Segment::fsync_file)), then remaps the segment to see
    /// the new bytes.
    pub(crate) fn grow(&self, segment_bytes: u32) -> Result<()> {
        let len = wal_format::data_file_bytes(segment_bytes);
        fs::extend(&self.body()?.file, &self.data_path, len).map(|_| ())
    }

    /// Fsyncs the data file itself (its metadata too), as sealing requires.
    pub(crate) fn fsync_file(&self) -> Result<()> {
        sys::fsync(&self.body()?.file, &self.data_path).io_context("fsync", &self.data_path)
    }

    /// Writes the index file (atomically, synced) from the in-memory offsets. The
    /// segment holds at least one entry: no index that lists none is written.
    pub(crate) fn write_index(&self, dir: &Path) -> Result<()> {
        let offsets = self.offsets_read()?.to_vec();
        fs::write_index(dir, &self.index_path, self.base, self.codec, &offsets)
    }

    /// The entry at position `position` of this segment, copied out. The caller holds
    /// the shared segment-list lock and has checked that the entry is visible.
    pub(crate) fn read(&self, position: u64) -> Result<Entry> {
        // Opened first: a deferred segment has no lengths before.
        self.body()?;
        let published = self.published_len.load(Ordering::Acquire);
        self.read_within(position, published)
    }

    /// The entry at `position`, read from everything written, published or not. Only the
    /// holder of the tail may call this (no writer can be writing these bytes).
    pub(crate) fn entry_unpublished(&self, position: u64) -> Result<Entry> {
        self.body()?;
        self.read_within(position, self.data_len())
    }

    fn read_within(&self, position: u64, len: u32) -> Result<Entry> {
        let offset = self.base.saturating_add(position);
        let Some(at) = self.offset_of(position)? else {
            return Err(StoreError::OffsetOutOfRange {
                offset,
                first: self.base,
                next: self.base.saturating_add(self.entries()?),
                reason: "not in this segment",
            });
        };
        self.read_at(offset, FileOffset(at), len)
            .map(|(entry, _)| entry)
    }

    /// The record at file offset `at`, looking no further than `len` bytes, with the file
    /// offset of the next record.
    pub(crate) fn read_at(
        &self,
        offset: u64,
        at: FileOffset,
        len: u32,
    ) -> Result<(Entry, FileOffset)> {
        let bytes = self.body()?.map.published(len as usize);
        let corrupt = |problem| StoreError::Corrupt {
            segment: self.base,
            offset,
            problem,
        };
        match self.codec.decode_record(bytes, at).map_err(corrupt)? {
            Decoded::Record { record, next } => Ok((to_entry(offset, &record), next)),
            Decoded::EndMarker | Decoded::EndOfInput => Err(corrupt(FormatError::OutOfBounds {
                file_offset: at,
                needed: self.codec.header_bytes() as u64 + 1,
                available: (bytes.len() as u64).saturating_sub(at.as_u64()),
            })),
        }
    }

    /// Checks the records at positions `from..to` as [`visit`](Segment::visit) reads them
    /// (each decoded with its crc checked, following each to the next) and that each leads
    /// to the offset the segment lists for the next position; stops early after
    /// `max_bytes` of records. Returns the position after the last record checked, or
    /// `None` if one is damaged, the offsets disagree, or the segment cannot be opened. The
    /// caller holds the shared list lock; for the active segment, appends wait while the
    /// offsets are read.
    pub(crate) fn check_records(&self, from: u64, to: u64, max_bytes: usize) -> Option<u64> {
        let body = self.body().ok()?;
        let offsets = self.offsets_read().ok()?;
        let bytes = body.map.published(self.published_len() as usize);
        let index = |position: u64| usize::try_from(position).ok().and_then(|p| offsets.get(p));
        let first = index(from)?;
        let mut at = first;
        let mut position = from;
        while position < to {
            let Ok(Decoded::Record { next, .. }) = self.codec.decode_record(bytes, FileOffset(at))
            else {
                return None;
            };
            position += 1;
            if index(position).is_some_and(|listed| listed != next.0) {
                return None;
            }
            at = next.0;
            if (at - first) as usize >= max_bytes {
                break;
            }
        }
        Some(position)
    }

    /// Calls `visit` on the entries at positions `position..end` (visible ones: the
    /// caller holds the shared list lock and checked them), following the records from
    /// the first one's file offset. Returns the position after the last entry visited and
    /// whether `visit` asked to stop. Each
    /// record's crc is checked, except those `checked` covers (checked already: by
    /// [`check_records`](Segment::check_records) on another thread, or by recovery just
    /// before).
    pub(crate) fn visit(
        &self,
        position: u64,
        end: u64,
        checked: Checked<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(u64, bool)> {
        let Some(first_at) = self.offset_of(position)? else {
            return Err(StoreError::Layout {
                segment: self.base,
                detail: format!("no offset listed for its entry {position}"),
            });
        };
        let bytes = self.body()?.map.published(self.published_len() as usize);
        let mut at = FileOffset(first_at);
        let mut position = position;
        // Whether the walk is on the records the helper checked: it checked the records
        // the offsets list, so a walk entering its range from records it did not check is
        // compared with the list first.
        let mut on_helper_walk = false;
        while position < end {
            let offset = self.base.saturating_add(position);
            let corrupt = |problem| StoreError::Corrupt {
                segment: self.base,
                offset,
                problem,
            };
            let covered = checked.by_recovery(position)
                || (checked.by_helper(position)
                    && (on_helper_walk || self.offset_of(position)? == Some(at.0)));
            on_helper_walk = covered && checked.by_helper(position);
            let decoded = if covered {
                self.codec.decode_record_checked_before(bytes, at)
            } else {
                self.codec.decode_record(bytes, at)
            };
            let (record, next) = match decoded.map_err(corrupt)? {
                Decoded::Record { record, next } => (record, next),
                Decoded::EndMarker | Decoded::EndOfInput => {
                    return Err(corrupt(FormatError::OutOfBounds {
                        file_offset: at,
                        needed: self.codec.header_bytes() as u64 + 1,
                        available: (bytes.len() as u64).saturating_sub(at.as_u64()),
                    }));
                }
            };
            position += 1;
            let entry = EntryRef {
                offset,
                payload: record.payload,
                prev_crc: record.prev_crc,
                crc: record.crc,
            };
            if visit(entry).is_break() {
                return Ok((position, true));
            }
            at = next;
        }
        Ok((position, false))
    }

    /// Bytes readers may look at.
    pub(crate) fn published_len(&self) -> u32 {
        self.published_len.load(Ordering::Acquire)
    }

    /// Drops every entry from `position` on: zeroes their bytes in the file and msyncs
    /// the zeros, so that no dropped record can come back after a crash. The caller holds
    /// the exclusive segment-list lock (readers may have published these bytes).
    pub(crate) fn cut(&self, position: u64) -> Result<()> {
        // Bytes from `position` on change: recovery vouches for none of them any more.
        self.checked_by_recovery
            .fetch_min(position, Ordering::AcqRel);
        let body = self.body()?;
        let mut guard = body.offsets.write().map_err(lock_poisoned)?;
        let offsets = guard.owned();
        let keep = usize::try_from(position).unwrap_or(usize::MAX);
        let Some(&cut_at) = offsets.get(keep) else {
            return Ok(());
        };
        let end = self.data_len();
        if !body.map.zero(cut_at as usize..end as usize) {
            return Err(StoreError::Io {
                op: "zero",
                path: self.data_path.clone(),
                source: std::io::Error::other("segment is not mapped for writing"),
            });
        }
        body.map
            .flush(cut_at as usize..end as usize, &self.data_path)
            .io_context("msync", &self.data_path)?;
        offsets.truncate(keep);
        self.data_len.store(cut_at, Ordering::Release);
        self.published_len.fetch_min(cut_at, Ordering::AcqRel);
        self.synced_len.fetch_min(cut_at, Ordering::AcqRel);
        self.written_back.fetch_min(cut_at, Ordering::AcqRel);
        Ok(())
    }
}

fn to_entry(offset: u64, record: &Record<'_>) -> Entry {
    Entry {
        offset,
        payload: record.payload.to_vec(),
        prev_crc: record.prev_crc,
        crc: record.crc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_sync_turns_read_around_off_and_a_large_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let bulk = Segment::create(dir.path(), 0, Codec::V2, 4 << 20).unwrap();
        let mut prev = 0;
        while bulk.data_len() < SMALL_SYNC_BYTES {
            prev = bulk.append(prev, &[7; 4000]).unwrap().crc.unwrap_or(0);
        }
        bulk.flush_to(bulk.data_len()).unwrap();
        assert!(
            !bulk.body().unwrap().map.is_random_advised(),
            "a 1 MiB sync is not small"
        );
        bulk.append(prev, &[8; 100]).unwrap();
        bulk.flush_to(bulk.data_len()).unwrap();
        assert!(
            bulk.body().unwrap().map.is_random_advised(),
            "a 112-byte sync is small"
        );

        let durable = Segment::create(dir.path(), 1 << 20, Codec::V2, 4 << 20).unwrap();
        durable.append(0, &[9; 100]).unwrap();
        assert!(
            !durable.body().unwrap().map.is_random_advised(),
            "advice changes at a sync only"
        );
        durable.flush_to(durable.data_len()).unwrap();
        assert!(durable.body().unwrap().map.is_random_advised());
    }

    #[test]
    fn a_long_unsynced_run_is_written_back_behind_the_writer_and_claimed_durable_only_by_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let segment = Segment::create(dir.path(), 0, Codec::V2, 32 << 20).unwrap();
        let mut prev = 0;
        let mut append = |segment: &Segment, until: u32| {
            while segment.data_len() < until {
                prev = segment.append(prev, &[3; 4000]).unwrap().crc.unwrap_or(0);
            }
        };
        append(&segment, WRITE_BEHIND_BYTES);
        assert_eq!(
            segment.written_back.load(Ordering::Acquire),
            0,
            "less than the lag plus a step behind"
        );
        append(&segment, 20 << 20);
        let written_back = segment.written_back.load(Ordering::Acquire);
        let end = segment.data_len();
        assert!(written_back >= WRITE_BEHIND_BYTES, "{written_back}");
        assert_eq!(written_back % WRITE_BEHIND_ALIGN, 0);
        assert!(
            written_back <= end - WRITE_BEHIND_LAG,
            "{written_back} of {end}"
        );
        assert_eq!(
            segment.synced_len(),
            0,
            "a writeback started is not durable"
        );
        segment.flush_to(end).unwrap();
        assert_eq!(segment.synced_len(), end);

        // Synced in small steps, as durable appends are: nothing is ever started early.
        let durable = Segment::create(dir.path(), 1 << 30, Codec::V2, 32 << 20).unwrap();
        let mut prev = 0;
        let step = vec![4; 60_000];
        while durable.data_len() < 20 << 20 {
            prev = durable.append(prev, &step).unwrap().crc.unwrap_or(0);
            durable.flush_to(durable.data_len()).unwrap();
        }
        assert_eq!(durable.written_back.load(Ordering::Acquire), 0);

        // A truncation below the mark lowers it with the data.
        segment.cut(10).unwrap();
        assert!(segment.written_back.load(Ordering::Acquire) <= segment.data_len());
    }

    #[test]
    fn appends_synced_a_few_pages_at_a_time_zero_ahead_of_themselves_and_never_over_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let len = 1 << 20;
        let segment = Segment::create(dir.path(), 0, Codec::V2, len).unwrap();
        let payload = |i: usize| vec![u8::try_from(i % 251).unwrap() + 1; 100 + i % 900];
        let mut prev = 0;
        let mut appended = 0;
        // The first record's sync is tiny: from then on appends zero ahead.
        loop {
            let needed = 12 + payload(appended).len();
            if segment.data_len() as usize + needed > len as usize {
                break;
            }
            if segment.zero_ahead_due(needed) {
                segment.zero_ahead(needed).unwrap();
            }
            let zeroed = segment.zeroed_to.load(Ordering::Relaxed) as usize;
            let end = segment.data_len() as usize + needed;
            if appended > 0 {
                assert!(
                    zeroed >= (end + ZERO_AHEAD_LEAD).min(len as usize),
                    "record {appended} ends at {end}, zeros end at {zeroed}"
                );
                assert!(
                    zeroed <= end.next_multiple_of(PAGE_BYTES) + ZERO_AHEAD_LEAD + ZERO_AHEAD_BYTES
                );
            }
            prev = segment
                .append(prev, &payload(appended))
                .unwrap()
                .crc
                .unwrap_or(0);
            segment.flush_to(segment.data_len()).unwrap();
            appended += 1;
        }
        assert!(segment.tiny_syncs.load(Ordering::Relaxed));
        // Zeroed to the file's end, one byte past the segment size.
        assert_eq!(segment.zeroed_to.load(Ordering::Relaxed), len + 1);
        // Every record is as appended, and the bytes after the last are zeros.
        segment.publish(segment.data_len());
        for i in 0..appended {
            assert_eq!(segment.read(i as u64).unwrap().payload, payload(i));
        }
        let bytes = std::fs::read(&segment.data_path).unwrap();
        assert!(bytes[segment.data_len() as usize..].iter().all(|&b| b == 0));

        // A log synced rarely, or in larger steps, never zeroes ahead.
        let bulk = Segment::create(dir.path(), 1 << 20, Codec::V2, len).unwrap();
        let mut prev = 0;
        while (bulk.data_len() as usize) < (len as usize) / 2 {
            assert!(!bulk.zero_ahead_due(4012));
            prev = bulk.append(prev, &[5; 4000]).unwrap().crc.unwrap_or(0);
            if bulk.data_len().is_multiple_of(8 * 4012) {
                bulk.flush_to(bulk.data_len()).unwrap();
            }
        }
        assert!(!bulk.tiny_syncs.load(Ordering::Relaxed));
        assert_eq!(bulk.zeroed_to.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_sealed_segment_reads_its_offsets_from_its_index_file() {
        for codec in [Codec::V1, Codec::V2] {
            let dir = tempfile::tempdir().unwrap();
            let active = Segment::create(dir.path(), 7, codec, 4096).unwrap();
            let mut prev = 0;
            for i in 0..50u8 {
                let encoded = active.append(prev, &[i; 13]).unwrap();
                prev = encoded.crc.unwrap_or(0);
            }
            active.publish(active.data_len());
            active.write_index(dir.path()).unwrap();
            let in_memory = active.offsets_read().unwrap().to_vec();
            let sealed = active.sealed(dir.path()).unwrap();
            let offsets = sealed.offsets_read().unwrap();
            assert!(offsets.index.is_some(), "{codec}: offsets still in memory");
            assert!(offsets.owned.is_empty());
            assert_eq!(offsets.len(), 50);
            assert_eq!(offsets.to_vec(), in_memory);
            assert_eq!(offsets.get(50), None);
            drop(offsets);
            for position in [0, 1, 25, 49] {
                let entry = sealed.read(position).unwrap();
                assert_eq!(entry.payload, vec![u8::try_from(position).unwrap(); 13]);
            }
            // A truncation makes it active again, with its offsets back in memory.
            let active = sealed.remap_writable(dir.path()).unwrap();
            active.cut(20).unwrap();
            assert_eq!(active.offsets_read().unwrap().to_vec(), in_memory[..20]);
        }
    }
}
