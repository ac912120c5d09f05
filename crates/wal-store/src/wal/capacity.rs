//! Capacity and retention: the limits checked before a rotation (or a segment grown for a
//! large entry) adds data file bytes, and the consumed segments removed to make room.
//!
//! Nothing here runs per append: the appender reaches it only when the active segment
//! is full, and without a limit or eager retention it is one branch.

use wal_format::Codec;

use crate::error::{IoContext, Result, StoreError};
use crate::retention::{Retention, RetentionHook};
use crate::segment::Segment;
use crate::wal::append::{fits, record_bytes};
use crate::wal::inner::{Inner, Tail};

/// A limit an append would pass.
struct Over {
    limit: &'static str,
    max: u64,
    held: u64,
    needed: u64,
}

impl Inner {
    /// Makes room for `added_segments` new data files and `added_bytes` more bytes of data
    /// files, before anything of the append is written. When a limit would be passed (or
    /// at every rotation under [`Retention::AtEveryRotation`]), the sealed segments
    /// wholly below what the retention hook says the consumers still need are removed,
    /// durably, through the trim's own walk; if a limit would still be passed, the append
    /// is refused with [`StoreError::AtCapacity`], leaving the log as it was apart from
    /// the segments retention removed. The caller holds the tail.
    pub(super) fn make_room(
        &self,
        tail: &Tail,
        added_segments: u64,
        added_bytes: u64,
    ) -> Result<()> {
        if !self.options.limits_or_retention() || (added_segments == 0 && added_bytes == 0) {
            return Ok(());
        }
        let eager = self.options.retention == Retention::AtEveryRotation && added_segments > 0;
        if !eager && self.over_limit(added_segments, added_bytes)?.is_none() {
            return Ok(());
        }
        let needed_from = self
            .options
            .retention_hook
            .as_ref()
            .map(RetentionHook::needed_from);
        if let Some(from) = needed_from {
            // Whole segments only: the log's start moves to the base of the segment that
            // holds the first entry still needed, and every entry from there stays
            // readable.
            let boundary = self.segment_base_at_or_before(from.min(tail.next_offset))?;
            let removed = self.trim_locked(tail, boundary)?;
            if removed > 0 {
                log::info!(
                    target: "wal_store::retention",
                    "removed {removed} segments wholly before offset {from}, which consumers no longer need"
                );
            }
        }
        match self.over_limit(added_segments, added_bytes)? {
            None => Ok(()),
            Some(over) => Err(StoreError::AtCapacity {
                limit: over.limit,
                max: over.max,
                held: over.held,
                needed: over.needed,
                first_offset: self.first_offset(),
                needed_from,
            }),
        }
    }

    /// The base of the last segment starting at or before `offset` (the log's first
    /// offset if none does).
    fn segment_base_at_or_before(&self, offset: u64) -> Result<u64> {
        let segments = self.segments_read()?;
        Ok(segments
            .iter()
            .map(|segment| segment.base)
            .take_while(|&base| base <= offset)
            .last()
            .unwrap_or_else(|| self.first_offset()))
    }

    /// The first limit that `added_segments` more segments and `added_bytes` more bytes
    /// would pass, if any.
    fn over_limit(&self, added_segments: u64, added_bytes: u64) -> Result<Option<Over>> {
        let segments = self.segments_read()?;
        if let Some(max) = self.options.max_segments {
            let max = max as u64;
            let held = segments.len() as u64;
            if held.saturating_add(added_segments) > max {
                return Ok(Some(Over {
                    limit: "max_segments",
                    max,
                    held,
                    needed: added_segments,
                }));
            }
        }
        if let Some(max) = self.options.max_log_bytes {
            let mut held = 0u64;
            for segment in segments.iter() {
                held = held.saturating_add(data_file_bytes(segment)?);
            }
            if held.saturating_add(added_bytes) > max {
                return Ok(Some(Over {
                    limit: "max_log_bytes",
                    max,
                    held,
                    needed: added_bytes,
                }));
            }
        }
        Ok(None)
    }
}

/// The length of a segment's data file on disk: what it takes of
/// [`max_log_bytes`](crate::WalOptions::max_log_bytes). Asked of the file system, so that
/// a sealed segment not opened yet (see `open.rs`) is not opened for it.
fn data_file_bytes(segment: &Segment) -> Result<u64> {
    std::fs::metadata(&segment.data_path)
        .map(|meta| meta.len())
        .io_context("stat", &segment.data_path)
}

/// The active segment as a batch's appends will leave it, step by step.
struct Model {
    codec: Codec,
    data_len: usize,
    file_bytes: u64,
    entries: u64,
    sealed_on_disk: bool,
}

impl Inner {
    /// Makes room, before a batch writes anything, for every data file its appends will
    /// create or grow, so that the limits refuse the whole batch or none of it: the
    /// rotations inside the batch then find the room made. A single append that does not
    /// fit its active segment asks the same, as a batch of one, so that both count a
    /// growth or new segment and the seal after it by one rule.
    pub(super) fn make_room_for_batch<P: AsRef<[u8]>>(
        &self,
        tail: &Tail,
        payloads: &[P],
    ) -> Result<()> {
        if !self.options.limits_or_retention() {
            return Ok(());
        }
        let (segments, bytes) = self.room_of_batch(tail, payloads)?;
        if segments == 0 && bytes == 0 {
            return Ok(());
        }
        self.make_room(tail, segments, bytes)
    }

    /// The new data files and the bytes of data files a batch's appends will add, decided
    /// as [`append_locked`](Inner::append_locked) decides (the same fit rule, the same
    /// sizes): a rotation when a record does not fit after others, a growth when it does
    /// not fit in an empty segment, a seal right after a record that passes the segment
    /// size.
    fn room_of_batch<P: AsRef<[u8]>>(&self, tail: &Tail, payloads: &[P]) -> Result<(u64, u64)> {
        let segment_bytes = self.options.segment_bytes;
        let mut active = Model {
            codec: tail.active.codec,
            data_len: tail.active.data_len() as usize,
            file_bytes: tail.active.capacity() as u64,
            entries: tail.active.entries()?,
            sealed_on_disk: tail.sealed_on_disk,
        };
        let (mut segments, mut bytes) = (0u64, 0u64);
        let fresh = |codec, file_bytes| Model {
            codec,
            data_len: 0,
            file_bytes,
            entries: 0,
            sealed_on_disk: false,
        };
        for payload in payloads {
            let len = payload.as_ref().len();
            let mut needed = record_bytes(active.codec, len)?;
            let file = usize::try_from(active.file_bytes).unwrap_or(usize::MAX);
            if active.sealed_on_disk || !fits(active.data_len, file, segment_bytes, needed) {
                let grown = needed.max(segment_bytes as usize) as u64;
                if active.entries == 0 {
                    let file_bytes =
                        wal_format::data_file_bytes(grown.try_into().unwrap_or(u32::MAX));
                    bytes = bytes.saturating_add(file_bytes.saturating_sub(active.file_bytes));
                    active.file_bytes = active.file_bytes.max(file_bytes);
                } else {
                    needed = record_bytes(self.options.codec, len)?;
                    let new_len = needed.max(segment_bytes as usize);
                    let file_bytes =
                        wal_format::data_file_bytes(new_len.try_into().unwrap_or(u32::MAX));
                    segments += 1;
                    bytes = bytes.saturating_add(file_bytes);
                    active = fresh(self.options.codec, file_bytes);
                }
            }
            active.data_len = active.data_len.saturating_add(needed);
            active.entries += 1;
            if active.data_len > segment_bytes as usize {
                let file_bytes = wal_format::data_file_bytes(segment_bytes);
                segments += 1;
                bytes = bytes.saturating_add(file_bytes);
                active = fresh(self.options.codec, file_bytes);
            }
        }
        Ok((segments, bytes))
    }
}
