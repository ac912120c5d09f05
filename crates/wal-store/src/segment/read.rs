//! Reading a segment's records: one entry copied out, a run of them visited in place, and
//! the check of a run ahead of a visit.

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;

use wal_format::{Decoded, FileOffset, FormatError, Record};

use crate::ahead::Checked;
use crate::error::{Result, StoreError};
use crate::segment::Segment;

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

impl Segment {
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

    /// Checks the records at positions `0..to` as an open checks an active segment's:
    /// each decoded with its crc checked, each chained from the one before (the first
    /// one's link, to the segment before, is not checked), each where the segment lists
    /// it. For a segment set aside (which no open checked) that a truncation is about to
    /// make the active segment: it must hold nothing the next open would refuse. The
    /// caller holds the exclusive list lock.
    pub(crate) fn check_every_record(&self, to: u64) -> Result<()> {
        let body = self.body()?;
        let offsets = self.offsets_read()?;
        let listed = |position: u64| usize::try_from(position).ok().and_then(|p| offsets.get(p));
        let end = match listed(to) {
            Some(at) => at,
            None => self.data_len(),
        };
        let bytes = body.map.published(self.data_len() as usize);
        let mut scanner =
            wal_format::Scanner::new(self.codec, bytes.get(..end as usize).unwrap_or(bytes));
        let mut position = 0;
        for record in scanner.by_ref() {
            if position >= to || listed(position) != Some(record.file_offset.0) {
                break;
            }
            position += 1;
        }
        if let Some(wal_format::ScanEnd::Problem(problem)) = scanner.end() {
            return Err(StoreError::NeedsRecovery {
                segment: self.base,
                problem: problem.clone(),
            });
        }
        if position < to {
            return Err(StoreError::Layout {
                segment: self.base,
                detail: format!("{position} records where its offsets list {to} before the cut"),
            });
        }
        Ok(())
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
}

fn to_entry(offset: u64, record: &Record<'_>) -> Entry {
    Entry {
        offset,
        payload: record.payload.to_vec(),
        prev_crc: record.prev_crc,
        crc: record.crc,
    }
}
