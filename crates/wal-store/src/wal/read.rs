//! Reading the log: one entry, the start of an iterator, and visits, with the hand-off of
//! checked records (from recovery, or from the check-ahead helper) that lets a visit skip
//! their crcs.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::ahead::{CheckAhead, Checked};
use crate::error::{Result, StoreError};
use crate::read::Iter;
use crate::segment::{Entry, EntryRef, Segment};
use crate::wal::inner::Inner;

impl Inner {
    /// See [`Wal::read`](crate::Wal::read).
    pub(super) fn read(&self, offset: u64) -> Result<Entry> {
        let segments = self.segments_read()?;
        let (segment, position) = self.locate(&segments, offset)?;
        self.note_damage(segment.read(position))
    }

    /// See [`Wal::iter_from`](crate::Wal::iter_from).
    pub(super) fn iter_from(&self, offset: u64) -> Result<Iter<'_>> {
        self.check_start(
            offset,
            "an iterator starts between the first entry and the end",
        )?;
        Ok(Iter::new(self, offset))
    }

    /// Refuses a walk from `offset` unless it lies between the first entry and the end
    /// readers see (the end itself included: the walk is then empty).
    fn check_start(&self, offset: u64, reason: &'static str) -> Result<()> {
        let first = self.first_offset();
        let end = self.readable_end();
        if offset < first || offset > end {
            return Err(StoreError::OffsetOutOfRange {
                offset,
                first,
                next: end,
                reason,
            });
        }
        Ok(())
    }

    /// See [`Wal::visit_from`](crate::Wal::visit_from).
    pub(super) fn visit_from(
        &self,
        offset: u64,
        mut visit: impl FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<u64> {
        self.check_start(offset, "a visit starts between the first entry and the end")?;
        // A long visit has the crcs of the records ahead checked on another core.
        let ahead = {
            let segments = self.segments_read()?;
            let start = segments
                .partition_point(|s| s.base <= offset)
                .saturating_sub(1);
            let position = segments
                .get(start)
                .map_or(0, |s| offset.saturating_sub(s.base));
            CheckAhead::plan(
                &segments,
                start,
                position,
                self.readable_end(),
                self.epoch(),
            )
        };
        let Some(ahead) = ahead else {
            return self.note_damage(self.visit_range(offset, None, &mut visit));
        };
        std::thread::scope(|scope| {
            let helper = std::thread::Builder::new()
                .name("wal-check-ahead".to_owned())
                .spawn_scoped(scope, || ahead.run(&self.segments, &self.epoch));
            // No helper (no thread to be had): the visit checks every record itself.
            let ahead = helper.is_ok().then_some(&ahead);
            let _stop = ahead.map(CheckAhead::stop_on_drop);
            self.note_damage(self.visit_range(offset, ahead, &mut visit))
        })
    }

    fn visit_range(
        &self,
        offset: u64,
        ahead: Option<&CheckAhead>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<u64> {
        /// Entries visited per hold of the shared lock, and per look at what the helper
        /// has checked.
        const BATCH: u64 = 1024;
        let mut next = offset;
        // The segment last asked about, how many of its first records need no crc
        // check, and the log's epoch then (a truncation since may have rewritten them).
        let mut checked: Option<(Arc<Segment>, u64, u64)> = None;
        loop {
            let segments = self.segments_read()?;
            if let Some(hole) = self.hole_at(next) {
                next = hole.end;
            }
            let end = self.readable_end();
            if next >= end {
                return Ok(next);
            }
            let (segment, position) = self.locate(&segments, next)?;
            let epoch = self.epoch();
            let by_recovery = match &checked {
                // What recovery vouched for holds until a truncation (a new epoch).
                Some((known, below, at_epoch))
                    if Arc::ptr_eq(known, segment) && *at_epoch == epoch =>
                {
                    *below
                }
                Some((known, ..)) if Arc::ptr_eq(known, segment) => 0,
                _ if segment.is_checked() => {
                    let below = segment.take_checked();
                    checked = Some((Arc::clone(segment), below, epoch));
                    below
                }
                _ => 0,
            };
            // Recovery vouches for the first records, the helper for those it reaches.
            let covered = Checked {
                below: by_recovery,
                ahead: ahead.and_then(|ahead| ahead.coverage(segment, position, epoch)),
            };
            // Damage is noted under the shared lock, which a shutdown drains before it
            // decides on its close record.
            let segment_end = self.note_damage(segment.entries())?.min(end - segment.base);
            let stop = segment_end.min(position.saturating_add(BATCH));
            let (reached, stopped) =
                self.note_damage(segment.visit(position, stop, covered, visit))?;
            next = segment.base + reached;
            if stopped || reached == position {
                return Ok(next);
            }
        }
    }
}
