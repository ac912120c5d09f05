//! Cutting the log: truncation (dropping the newest entries), trimming (the oldest
//! segments), clearing (everything), and the holes that go with what is cut.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::{Result, StoreError};
use crate::fs;
use crate::holes;
use crate::seed::{self, LogStart};
use crate::segment::Segment;
use crate::wal::append::Room;
use crate::wal::inner::{Inner, Tail};

/// Where a truncation cuts (see [`Inner::plan_cut`]).
struct CutPlan {
    /// The first offset dropped.
    cut: u64,
    /// The kept segment's index in the list: it becomes the active segment.
    keep_index: usize,
    keep: Arc<Segment>,
    /// The crc the next append chains from.
    new_last_crc: Option<u32>,
}

impl Inner {
    /// Drops every entry from `cut` on; `asked` is the offset the caller named, for errors.
    pub(super) fn truncate_from(&self, cut: u64, asked: u64) -> Result<()> {
        let leadership = self.sync.lead()?;
        let mut tail = self.lock_tail_open()?;
        let first = self.first_offset();
        let next = tail.next_offset;
        let out_of_range = |reason| StoreError::OffsetOutOfRange {
            offset: asked,
            first,
            next,
            reason,
        };
        if cut == next {
            return Ok(());
        }
        if cut > next {
            return Err(out_of_range("after the end of the log"));
        }
        if cut < first {
            return Err(out_of_range("before the first entry"));
        }
        self.check_deferred(&mut tail)?;
        self.forget_close_record(&mut tail)?;
        let mut segments = self.segments_write()?;
        let CutPlan {
            cut,
            keep_index,
            keep,
            new_last_crc,
        } = self.plan_cut(&segments, cut, first, &out_of_range)?;
        // A segment set aside was never checked whole (it may hold the damage it was set
        // aside for): it becomes the active segment only if every record it keeps holds,
        // or the next open would refuse the log for damage in its last segment.
        if keep.is_set_aside() {
            self.note_damage(keep.check_every_record(cut.saturating_sub(keep.base)))?;
        }
        // Dropping every entry: the seed of the next one goes to disk before any record is
        // cut, so that a crash leaves either the records or the file that replaces them.
        if cut == first
            && let Some(crc) = new_last_crc
        {
            seed::write_seed(&self.dir, LogStart::at(cut, crc))?;
        }
        let dropped: Vec<Arc<Segment>> = segments.drain(keep_index + 1..).collect();
        // From here on the files and the list change: a failure leaves neither as the
        // tail knows them (an append could land in a segment already unlinked), so it
        // refuses writes until a reopen reads what is on disk.
        let keep = self
            .cut_files(&mut segments, &dropped, keep, cut, first)
            .inspect_err(|e| {
                self.sync.poison(format!("truncation left unfinished: {e}"));
                self.waiters.wake_all();
            })?;
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let visible_before = self.readable_end.fetch_min(cut, Ordering::AcqRel);
        // Marked now, woken once the locks are released. Only a truncation of entries
        // readers could see ends waits: one of entries never visible (not yet synced,
        // under `ReadVisibility::Synced`) dropped nothing a waiting reader has read.
        let wakeups = (cut < visible_before).then(|| self.waiters.truncated(cut));
        self.sync.lower(cut);
        drop(segments);
        log::info!(
            target: "wal_store::truncate",
            "truncated from {cut}: dropped {} entries and {} segments",
            next - cut,
            dropped.len()
        );
        tail.active = keep;
        tail.sealed_on_disk = false;
        tail.next_offset = cut;
        tail.last_crc = new_last_crc;
        self.seal_if_oversized(&mut tail, Room::ToMake);
        drop(tail);
        drop(leadership);
        if let Some(wakeups) = wakeups {
            wakeups.wake();
        }
        // A seal of an oversized kept segment may have made entries visible.
        self.wake_visible();
        Ok(())
    }

    /// Where a truncation from `cut` cuts, decided before anything changes: the cut moved
    /// before a hole it follows, the segment to keep (by index in `segments`) and the crc
    /// to continue from. The caller holds the exclusive list lock.
    fn plan_cut(
        &self,
        segments: &[Arc<Segment>],
        cut: u64,
        first: u64,
        out_of_range: &dyn Fn(&'static str) -> StoreError,
    ) -> Result<CutPlan> {
        // A cut just after offsets in a hole (holes that touch count as one) keeps what
        // precedes the hole: its entries do not exist. Decided first, so that the segment
        // kept is the one before the hole.
        let cut = match cut.checked_sub(1).and_then(|before| self.hole_at(before)) {
            Some(hole) => hole.start.max(first),
            None => cut,
        };
        // The segment to keep holds the entry before the cut, or is the first one when
        // everything goes.
        let keep_index = segments
            .partition_point(|s| s.base < cut.max(first.saturating_add(1)))
            .saturating_sub(1);
        let Some(keep) = segments.get(keep_index).cloned() else {
            return Err(out_of_range("no segment holds it"));
        };
        // The crc to continue from: that of the entry before the cut, or when everything
        // goes, the seed the log's first entry was chained from (v2; none for v1). The
        // first segment may hold no entry (an empty one before a hole).
        let new_last_crc = if cut > first {
            let position = (cut - 1)
                .checked_sub(keep.base)
                .ok_or_else(|| out_of_range("no segment holds the entry before it"))?;
            keep.entry_unpublished(position)?.crc
        } else {
            // The first segment with an entry at or past the logical start: segments
            // wholly below it are trimmed, and one that holds it holds records below it.
            let mut seed = None;
            for segment in segments.iter() {
                let entries = segment.entries()?;
                if entries > 0 && segment.base.saturating_add(entries) > first {
                    let position = first.saturating_sub(segment.base);
                    seed = segment.entry_unpublished(position)?.prev_crc;
                    break;
                }
            }
            seed
        };
        Ok(CutPlan {
            cut,
            keep_index,
            keep,
            new_last_crc,
        })
    }

    /// The files' side of a truncation from `cut`: the `dropped` segments' files go
    /// (newest first, so that what is left is always a log), the kept segment (the last
    /// of `segments`) loses its index, becomes writable and is cut. Returns it.
    fn cut_files(
        &self,
        segments: &mut [Arc<Segment>],
        dropped: &[Arc<Segment>],
        keep: Arc<Segment>,
        cut: u64,
        first: u64,
    ) -> Result<Arc<Segment>> {
        for segment in dropped.iter().rev() {
            fs::remove_if_present(&segment.index_path)?;
            fs::remove_if_present(&segment.data_path)?;
        }
        // The kept segment is the active one from now on: any index file it has goes
        // (the active segment's index is rebuilt by scanning; one listing dropped entries
        // would later claim they were committed), and it is mapped writable.
        fs::remove_if_present(&keep.index_path)?;
        let keep = if keep.is_writable() {
            keep
        } else {
            Arc::new(keep.remap_writable(&self.dir)?)
        };
        fs::sync_dir(&self.dir)?;
        self.flush_data(|| keep.cut(cut - keep.base))?;
        if let Some(last) = segments.last_mut() {
            *last = Arc::clone(&keep);
        }
        self.prune_holes(first, cut)?;
        Ok(keep)
    }

    /// Where [`trim_before`](Self::trim_before)`(offset)` would start the log, changing
    /// nothing: the same checks and the same choices, read under the same locks.
    pub(super) fn first_offset_after_trim(&self, offset: u64) -> Result<u64> {
        let tail = self.lock_tail_open()?;
        let first = self.first_offset();
        if offset > tail.next_offset {
            return Err(StoreError::OffsetOutOfRange {
                offset,
                first,
                next: tail.next_offset,
                reason: "trimming past the end of the log",
            });
        }
        let offset = self.hole_at(offset).map_or(offset, |hole| hole.end);
        if offset <= first {
            return Ok(first);
        }
        let segments = self.segments_read()?;
        if self
            .seed_of(&segments, offset, tail.next_offset, tail.last_crc)?
            .is_some()
        {
            return Ok(offset);
        }
        // No start can be recorded: the log starts at the segment that leads after the
        // whole segments below `offset` go.
        let removable = segments
            .iter()
            .skip(1)
            .take_while(|next| next.base <= offset)
            .count();
        Ok(segments
            .get(removable)
            .map_or(first, |lead| lead.base.max(first)))
    }

    pub(super) fn trim_before(&self, offset: u64) -> Result<usize> {
        let tail = self.lock_tail_open()?;
        if offset > tail.next_offset {
            return Err(StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: tail.next_offset,
                reason: "trimming past the end of the log",
            });
        }
        let trimmed = self.trim_locked(&tail, offset);
        drop(tail);
        // The sync before the start was recorded may have made entries visible.
        self.wake_visible();
        trimmed
    }

    /// Moves the log's start to `offset` (at most the log's next offset), durably, and
    /// removes the segments wholly below it; returns how many went: the one walk of a
    /// trim, shared by [`Wal::trim_before`](crate::Wal::trim_before) and retention (see
    /// `capacity.rs`, which trims to a segment's base, so that only whole segments go).
    /// The caller holds the tail.
    pub(super) fn trim_locked(&self, tail: &Tail, offset: u64) -> Result<usize> {
        let first = self.first_offset();
        // Trimming into a hole trims the hole: no entry of it exists.
        let offset = self.hole_at(offset).map_or(offset, |hole| hole.end);
        if offset > first {
            // The entries from the new start on are durable before the start is recorded,
            // so that no crash leaves a start past the log's end by accident.
            // (The active segment does not change: a close record on disk still
            // describes it.)
            if self.sync.lock().synced_end < offset {
                self.sync_holding_tail(tail)?;
            }
        }
        let mut segments = self.segments_write()?;
        let recorded = offset > first
            && match self.seed_of(&segments, offset, tail.next_offset, tail.last_crc)? {
                Some(crc) => {
                    seed::write_seed(&self.dir, LogStart::at(offset, crc))?;
                    self.first_offset.store(offset, Ordering::Release);
                    true
                }
                None => false,
            };
        // Whole segments go when every entry of theirs is below the start; the active
        // segment always stays.
        let removable = segments
            .iter()
            .skip(1)
            .take_while(|next| next.base <= offset.max(first))
            .count();
        let removed: Vec<Arc<Segment>> = segments.drain(..removable).collect();
        if !recorded && let Some(lead) = segments.first() {
            // No start recorded (see `seed_of`): the log starts at the segment that now
            // leads, as before logical trims.
            self.first_offset.fetch_max(lead.base, Ordering::AcqRel);
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // The start is on disk: from here on a failure leaves files below it, which
        // every open ignores and the next trim removes.
        self.remove_segment_files(&removed)?;
        self.prune_holes(self.first_offset(), tail.next_offset)?;
        drop(segments);
        if offset > first || !removed.is_empty() {
            log::info!(
                target: "wal_store::trim",
                "trimmed before {offset}: {} segments removed",
                removed.len()
            );
        }
        Ok(removed.len())
    }

    /// What the entry at `offset` chains from, for the seed file of a start there: its
    /// record's link, or at the end of the log, the last crc (0 where the log has no crc:
    /// a v1 record, whose start needs no seed); `None` when its record lies in a segment
    /// set aside that cannot be read. The caller holds the exclusive list lock.
    fn seed_of(
        &self,
        segments: &[Arc<Segment>],
        offset: u64,
        next: u64,
        last_crc: Option<u32>,
    ) -> Result<Option<u32>> {
        if offset >= next {
            return Ok(Some(last_crc.unwrap_or(0)));
        }
        let (segment, position) = self.locate_unpublished(segments, offset)?;
        match segment.entry_unpublished(position) {
            Ok(entry) => Ok(Some(entry.prev_crc.unwrap_or(0))),
            // A segment set aside may be damaged: its link cannot be known, so no start is
            // recorded inside it, and the trim removes whole segments only.
            Err(e) if segment.is_set_aside() => {
                log::warn!(
                    target: "wal_store::trim",
                    "no logical start recorded at {offset} (segment {} set aside): {e}",
                    segment.base
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Unlinks segments' files, oldest first (index before data, so that a crash leaves
    /// at worst a data file without an index, which recovery rebuilds), then fsyncs the
    /// directory. Mappings of the files stay valid for readers that still hold them.
    fn remove_segment_files(&self, removed: &[Arc<Segment>]) -> Result<()> {
        for segment in removed {
            fs::remove_if_present(&segment.index_path)?;
            fs::remove_if_present(&segment.data_path)?;
        }
        if !removed.is_empty() {
            fs::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    pub(super) fn clear(&self) -> Result<()> {
        let _leadership = self.sync.lead()?;
        let mut tail = self.lock_tail_open()?;
        self.forget_close_record(&mut tail)?;
        let next = tail.next_offset;
        // The seed of the next entry goes to disk before any segment does, so that a crash
        // leaves either entries or the file that replaces them.
        if let Some(crc) = tail.last_crc {
            seed::write_seed(&self.dir, LogStart::at(next, crc))?;
        }
        let fresh = if tail.active.entries()? == 0 {
            Arc::clone(&tail.active)
        } else {
            // Seal the active segment first, as a rotation would: a crash before the old
            // files are gone then leaves an ordinary log that ends in an empty segment.
            let old = Arc::clone(&tail.active);
            self.flush_data(|| old.flush_to(old.data_len()).and_then(|()| old.fsync_file()))?;
            old.write_index(&self.dir)?;
            tail.sealed_on_disk = true;
            Arc::new(Segment::create(
                &self.dir,
                next,
                self.options.codec,
                self.options.segment_bytes,
            )?)
        };
        let mut segments = self.segments_write()?;
        let removed: Vec<Arc<Segment>> = segments
            .drain(..)
            .filter(|s| !Arc::ptr_eq(s, &fresh))
            .collect();
        segments.push(Arc::clone(&fresh));
        self.first_offset.store(next, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // The log is the fresh segment from now on, whether or not the old files go:
        // any that stay are older entries, which a reopen finds before it.
        tail.active = fresh;
        tail.sealed_on_disk = false;
        self.remove_segment_files(&removed)?;
        self.prune_holes(next, next)?;
        drop(segments);
        drop(tail);
        log::info!(target: "wal_store::trim", "cleared the log: next offset {next}");
        Ok(())
    }

    /// Drops the holes outside `first..next` and rewrites the holes file if that changed.
    /// The caller holds the exclusive list lock.
    fn prune_holes(&self, first: u64, next: u64) -> Result<()> {
        let mut holes = self.holes.write().unwrap_or_else(|p| p.into_inner());
        let before = holes.len();
        holes.retain(|h| h.start >= first && h.end <= next);
        if holes.len() != before {
            holes::write_holes(&self.dir, &holes)?;
        }
        Ok(())
    }
}
