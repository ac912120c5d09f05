//! `SkipCorrupted`: keep every record that can be trusted, leave a hole where a damaged
//! record was, and report every hole.
//!
//! Entry offsets are implicit (a segment's base plus a record's position), so a damaged
//! record can only be skipped where the number of entries it held is known: from the
//! segment's valid index, or when its own size field leads to a valid record that chains
//! from its stored crc (exactly one record lost). The records after a hole move into a
//! segment file of their own, named after their first offset; the gap this leaves between
//! segment files is recorded in the `HOLES` file, so it reads as a known hole rather than
//! damage. Where the boundaries are not known, the log is cut there, as `PointInTime`
//! would. Every change goes through the redo journal, and every byte removed is copied to
//! quarantine first.
//!
//! `apply` walks the segments in order, keeping a `Skip` of what is kept so far. For
//! each segment it first checks how it joins what was kept before it (a gap becomes a
//! hole; where two histories meet, the log is cut), then keeps a clean segment whole or
//! plans what is kept of a damaged one (`runs`) and stages the new files through the
//! journal (`rewrite`); last, it records the holes and commits the journal.

mod rewrite;
mod runs;

use std::ops::{ControlFlow, Range};

use wal_store::internal::{fs as store_fs, holes, naming};

use crate::analyze::{Analysis, SegmentScan};
use crate::error::Result;
use crate::journal::{Journal, pending_path};
use crate::problem::ProblemKind;
use crate::quarantine::Quarantine;
use crate::repair::Applied;
use crate::report::{Action, Cut};

/// Applies `SkipCorrupted` to an analysed directory (the caller holds the lock).
pub(crate) fn apply(analysis: &Analysis) -> Result<Applied> {
    let mut actions = Vec::new();
    // The store's close record goes (durably) before any segment is changed.
    if analysis.problems.iter().any(|p| !p.is_informational()) {
        wal_store::internal::closed::consume(&analysis.dir)?;
    }
    crate::repair::remove_temp_files(analysis, &mut actions)?;
    let mut skip = Skip::new(analysis, actions);
    for (i, segment) in analysis.segments.iter().enumerate() {
        if skip.join(i, segment)?.is_break() {
            break;
        }
        let is_last = i + 1 == analysis.segments.len();
        if !has_damaged_records(analysis, segment.base) {
            skip.keep_whole(segment, is_last)?;
        } else if skip.rewrite(i, segment, is_last)?.is_break() {
            break;
        }
    }
    skip.finish()
}

/// What `SkipCorrupted` has decided and staged so far, walking the segments in order.
struct Skip<'a> {
    analysis: &'a Analysis,
    actions: Vec<Action>,
    quarantine: Quarantine,
    journal: Journal,
    /// The holes the log will record: those it had, and those left here.
    new_holes: Vec<Range<u64>>,
    cut: Option<Cut>,
    /// The last segment kept, when the log is cut before its last one.
    stop_after: Option<usize>,
    /// The bases of the segments rewritten here (the housekeeping leaves them alone).
    touched: Vec<u64>,
    /// The base of every segment file the log keeps (a hole ending at one is a gap of its
    /// own: two holes meeting there are not one).
    kept_bases: Vec<u64>,
    /// Where the entries kept so far end (the next offset the log holds, holes aside).
    kept_end: u64,
    /// The crc of the last entry kept so far, to check the link into the next segment
    /// (the analysis cannot, where the segment before ended in damage).
    kept_crc: Option<u32>,
}

impl<'a> Skip<'a> {
    fn new(analysis: &'a Analysis, actions: Vec<Action>) -> Skip<'a> {
        Skip {
            analysis,
            actions,
            quarantine: Quarantine::new(&analysis.dir),
            journal: Journal::default(),
            new_holes: analysis.holes.clone(),
            cut: None,
            stop_after: None,
            touched: Vec::new(),
            kept_bases: Vec::new(),
            kept_end: analysis.first_base().unwrap_or(0),
            kept_crc: None,
        }
    }

    /// How `segment` (the `i`-th) joins what is kept before it: a missing segment leaves
    /// a hole; where two histories meet, the log is cut before it (`Break`).
    fn join(&mut self, i: usize, segment: &SegmentScan) -> Result<ControlFlow<()>> {
        // A hole recorded just before this segment: the chain does not run across it, so
        // a link broken there is only its consequence.
        let hole_before = self.new_holes.iter().any(|h| h.end == segment.base);
        match self.boundary_problem(segment, hole_before) {
            // A missing segment: its boundaries are the names around it.
            Some((ProblemKind::SegmentGap, Some(expected))) => {
                self.new_holes.push(expected..segment.base);
            }
            Some((ProblemKind::ChainBreak, _)) if hole_before => {}
            Some(_) => {
                self.cut_before(i)?;
                return Ok(ControlFlow::Break(()));
            }
            None => {}
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The problem at the start of `segment`, if any: a gap, an overlap or a chain break
    /// the analysis found there, or a first record that does not chain from the entry
    /// kept just before it.
    fn boundary_problem(
        &self,
        segment: &SegmentScan,
        hole_before: bool,
    ) -> Option<(ProblemKind, Option<u64>)> {
        let gap = self.analysis.problems.iter().find(|p| {
            p.segment == Some(segment.base)
                && matches!(
                    p.kind,
                    ProblemKind::SegmentGap | ProblemKind::SegmentOverlap | ProblemKind::ChainBreak
                )
                && p.file_offset.is_none_or(|f| f == 0)
        });
        // A first record that does not chain from the entry kept just before it, with no
        // hole between: another history, as a chain break found by the analysis.
        let link_broken = gap.is_none()
            && !hole_before
            && segment.codec.has_crc()
            && matches!((self.kept_crc, segment.first_prev_crc), (Some(kept), Some(first)) if kept != first);
        gap.map(|p| (p.kind, p.offset))
            .or(link_broken.then_some((ProblemKind::ChainBreak, None)))
    }

    /// Two histories meet at the `i`-th segment: nothing after can be placed; the log is
    /// cut where the entries kept so far end.
    fn cut_before(&mut self, i: usize) -> Result<()> {
        let analysis = self.analysis;
        self.stop_after = i.checked_sub(1);
        // The segment before becomes the last one: holes past what it keeps would
        // lie in the offsets appended next, and its last file is the active
        // segment, which has no index.
        let kept_end = self.kept_end;
        self.new_holes.retain(|h| h.end <= kept_end);
        if let Some(prev) = i.checked_sub(1).and_then(|j| analysis.segments.get(j))
            && self.touched.contains(&prev.base)
        {
            // Its last run's file if it was split, else its own.
            let active = self
                .kept_bases
                .last()
                .copied()
                .filter(|&base| base >= prev.base)
                .unwrap_or(prev.base);
            let index_path = naming::index_path(&analysis.dir, active, prev.codec);
            self.journal.remove(&index_path)?;
            self.actions.retain(
                |a| !matches!(a, Action::IndexRebuilt { segment, .. } if *segment == active),
            );
            if index_path.exists() {
                self.actions
                    .push(Action::ActiveIndexRemoved { segment: active });
            }
        }
        let reached = analysis.reached_end().unwrap_or(kept_end);
        self.cut = Some(Cut {
            offsets: kept_end..reached.max(kept_end),
            committed: kept_end < analysis.committed_end,
            quarantine: self.quarantine.path().to_path_buf(),
        });
        Ok(())
    }

    /// After the walk: the cut the commit offset calls for, the segments after a cut
    /// moved to quarantine, the housekeeping, the holes recorded, and the journal
    /// committed.
    fn finish(mut self) -> Result<Applied> {
        let analysis = self.analysis;
        let dir = &analysis.dir;
        // Before any segment file goes (a crash between leaves them trimmed, harmlessly).
        self.quarantine_trimmed_before_a_removed_first()?;
        // Entries the caller's commit offset names past the end of what is kept: gone, and
        // said so, as a point-in-time cut would.
        let commit_end = analysis.commit_offset.map_or(0, |c| c.saturating_add(1));
        if self.cut.is_none() && commit_end > self.kept_end && self.stop_after.is_none() {
            self.cut = Some(Cut {
                offsets: self.kept_end..commit_end,
                committed: true,
                quarantine: self.quarantine.path().to_path_buf(),
            });
        }
        let last_kept = self
            .stop_after
            .unwrap_or(analysis.segments.len().saturating_sub(1));
        if self.stop_after.is_some() {
            crate::repair::quarantine_later_segments(
                analysis,
                last_kept,
                &mut self.quarantine,
                &mut self.actions,
            )?;
        }
        crate::repair::housekeeping(
            analysis,
            last_kept,
            &mut self.quarantine,
            &mut self.actions,
            &self.touched,
            false,
        )?;
        let merged = merge_holes(self.new_holes, &self.kept_bases);
        if merged != analysis.holes {
            let path = holes::holes_path(dir);
            store_fs::write_atomically(
                dir,
                &pending_path(&path),
                holes::encode_holes(&merged).as_bytes(),
            )?;
            self.journal.install(&path)?;
            for hole in merged.iter().filter(|h| !analysis.holes.contains(h)) {
                self.actions.push(Action::HoleLeft {
                    offsets: hole.clone(),
                });
            }
        }
        self.quarantine.finish()?;
        self.journal.commit(dir)?;
        Ok(Applied {
            actions: self.actions,
            cut: self.cut,
        })
    }
}

impl Skip<'_> {
    /// The segments wholly below the logical start are recognised as such (by the store
    /// and by the next analysis) from the segment after them, which starts at or before
    /// the start. When the walk does not keep that segment at its base, they could join
    /// whatever comes next as a gap: being trimmed, they go to quarantine, as the next
    /// trim would have removed them. Called before any file is removed, so that a crash
    /// part way never leaves them before a removed segment. (Where that segment stays
    /// anyway, empty or split at a base still at or below the start, moving them is
    /// harmless: nothing reads them.)
    fn quarantine_trimmed_before_a_removed_first(&mut self) -> Result<()> {
        let Some(first) = self.analysis.segments.first() else {
            return Ok(());
        };
        if self.kept_bases.contains(&first.base) {
            return Ok(());
        }
        for path in &self.analysis.trimmed_files {
            if path.exists() {
                let to = self
                    .quarantine
                    .keep_file(path, "below the log's start, before a segment removed")?;
                self.actions.push(Action::FileQuarantined {
                    from: path.clone(),
                    to,
                });
            }
        }
        Ok(())
    }
}

/// Whether the segment's bytes hold damaged records to walk past (as opposed to entries
/// missing from its end, or a problem at its boundary with the segment before).
fn has_damaged_records(analysis: &Analysis, base: u64) -> bool {
    analysis.problems.iter().any(|p| {
        p.segment == Some(base)
            && match p.kind {
                ProblemKind::TornTail
                | ProblemKind::CrcMismatch
                | ProblemKind::OutOfBounds
                | ProblemKind::GarbageAfterEnd => true,
                ProblemKind::ChainBreak => p.file_offset.is_some_and(|f| f > 0),
                _ => false,
            }
    })
}

/// Merges adjacent holes: the store expects each gap to be exactly one recorded hole. Two
/// holes that meet at the base of a kept segment file stay two.
fn merge_holes(mut holes: Vec<Range<u64>>, kept_bases: &[u64]) -> Vec<Range<u64>> {
    holes.sort_by_key(|h| h.start);
    let mut merged: Vec<Range<u64>> = Vec::new();
    for hole in holes {
        match merged.last_mut() {
            Some(last)
                if last.end > hole.start
                    || (last.end == hole.start && !kept_bases.contains(&hole.start)) =>
            {
                last.end = last.end.max(hole.end);
            }
            _ => merged.push(hole),
        }
    }
    merged
}
