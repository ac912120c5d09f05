//! Writing a segment: appending records, syncing them, growing the file, sealing its index.

use std::path::Path;
use std::sync::atomic::Ordering;

use wal_format::{Encoded, FormatError};

use crate::error::{IoContext, Result, StoreError};
use crate::fs;
use crate::segment::{Segment, lock_poisoned};
use crate::sys;

impl Segment {
    /// Encodes a record at the end of the data. Only the holder of the log's tail calls
    /// this, and only on the active segment. The record is not yet visible to readers.
    ///
    /// A long run of appends not synced has its writeback started behind the writer (see
    /// [`write_behind`](Segment::write_behind)), so that the disk works while the writer
    /// goes on: the next sync, or the seal of a full segment, then waits for what is left
    /// instead of writing the whole backlog at once (a 64 MiB segment sealed after a bulk
    /// load: ~25-30 ms of msync on the writer's path here).
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

    /// Msyncs what was written up to `end` and is not yet synced.
    pub(crate) fn flush_to(&self, end: u32) -> Result<()> {
        let from = self.synced_len();
        if end > from {
            let body = self.body()?;
            self.before_sync(body, end - from);
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
}
