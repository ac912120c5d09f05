//! Iterators over the log, safe beside a writer, truncation and trimming.

use std::sync::Arc;

use wal_format::FileOffset;

use crate::error::{Result, StoreError};
use crate::segment::{Entry, Segment};
use crate::wal::Inner;

/// Where an iterator stands in a segment, valid while the log's epoch is unchanged.
#[derive(Debug)]
struct Position {
    epoch: u64,
    segment: Arc<Segment>,
    at: FileOffset,
}

/// Entries oldest first, from [`Wal::iter`](crate::Wal::iter) or
/// [`Wal::iter_from`](crate::Wal::iter_from), stepping over holes recovery left. Each entry is copied out under the shared
/// segment-list lock, so a truncation or a trim never tears one; the iterator ends at the
/// end visible to readers when it gets there. If a trim removes the entries it was about
/// to read, it yields one [`StoreError::OffsetOutOfRange`] and ends.
#[derive(Debug)]
pub struct Iter<'a> {
    inner: &'a Inner,
    next: u64,
    position: Option<Position>,
    done: bool,
}

impl<'a> Iter<'a> {
    pub(crate) fn new(inner: &'a Inner, from: u64) -> Iter<'a> {
        Iter {
            inner,
            next: from,
            position: None,
            done: false,
        }
    }

    /// The next entry, damage noted while the shared list lock is still held (a shutdown
    /// drains the readers before it decides on its close record).
    fn read_next(&mut self) -> Result<Option<Entry>> {
        let inner = self.inner;
        let segments = inner.segments_read()?;
        let read = self.read_next_in(&segments);
        inner.note_damage(read)
    }

    fn read_next_in(&mut self, segments: &[Arc<Segment>]) -> Result<Option<Entry>> {
        // Entries recovery skipped are not there: step over them.
        if let Some(hole) = self.inner.hole_at(self.next) {
            self.next = hole.end;
            self.position = None;
        }
        if self.next >= self.inner.readable_end() {
            return Ok(None);
        }
        let epoch = self.inner.epoch();
        // Sequential reads follow the records without looking at the index, while the
        // segment list has not changed and the entry is still in the cached segment.
        if let Some(position) = self.position.as_ref().filter(|p| {
            p.epoch == epoch
                && self.next >= p.segment.base
                && self.next - p.segment.base < p.segment.entries().unwrap_or(0)
        }) {
            let (entry, at) = position.segment.read_at(
                self.next,
                position.at,
                position.segment.published_len(),
            )?;
            let segment = Arc::clone(&position.segment);
            self.position = Some(Position { epoch, segment, at });
            return Ok(Some(entry));
        }
        let (segment, index) = self.inner.locate(segments, self.next)?;
        let at = segment
            .offset_of(index)?
            .ok_or(StoreError::OffsetOutOfRange {
                offset: self.next,
                first: segment.base,
                next: self.inner.readable_end(),
                reason: "not in the segment that should hold it",
            })?;
        let (entry, at) = segment.read_at(self.next, FileOffset(at), segment.published_len())?;
        self.position = Some(Position {
            epoch,
            segment: Arc::clone(segment),
            at,
        });
        Ok(Some(entry))
    }
}

impl Iterator for Iter<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.done {
            return None;
        }
        match self.read_next() {
            Ok(Some(entry)) => {
                self.next = self.next.saturating_add(1);
                Some(Ok(entry))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Entries newest first, from [`Wal::iter_rev`](crate::Wal::iter_rev), starting at the
/// end visible to readers when it was created. Entries truncated away meanwhile are
/// skipped; it ends at the first entry.
#[derive(Debug)]
pub struct RevIter<'a> {
    inner: &'a Inner,
    /// One past the next entry to yield.
    end: u64,
    done: bool,
}

impl<'a> RevIter<'a> {
    pub(crate) fn new(inner: &'a Inner, end: u64) -> RevIter<'a> {
        RevIter {
            inner,
            end,
            done: false,
        }
    }
}

impl Iterator for RevIter<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.done {
            return None;
        }
        let outcome = self.inner.segments_read().and_then(|segments| {
            // A truncation may have lowered the end since the last step.
            let end = self.end.min(self.inner.readable_end());
            if end <= self.inner.first_offset() {
                return Ok(None);
            }
            let mut offset = end - 1;
            if let Some(hole) = self.inner.hole_at(offset) {
                if hole.start <= self.inner.first_offset() {
                    return Ok(None);
                }
                offset = hole.start - 1;
            }
            let (segment, position) = self.inner.locate(&segments, offset)?;
            // Noted under the shared lock, which a shutdown drains.
            self.inner.note_damage(segment.read(position).map(Some))
        });
        match outcome {
            Ok(Some(entry)) => {
                self.end = entry.offset;
                Some(Ok(entry))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
