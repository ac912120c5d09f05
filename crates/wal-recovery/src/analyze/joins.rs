//! How the segments fit together: where each one should start from the one before it
//! (gaps, overlaps, the chain across the boundary), the holes a `SkipCorrupted` recovery
//! recorded on purpose, garbage in a sealed segment's unused tail, and empty segments
//! between others.

use std::ops::Range;

use wal_store::StoreError;
use wal_store::layout::{self, DirLayout, Join};

use super::classify::{file_problem, segment_problem};
use super::{Analysis, SegmentScan};
use crate::error::{RecoveryError, Result};
use crate::problem::{Problem, ProblemKind};

/// The holes recorded in the `HOLES` file, and the problem of a file that cannot be
/// parsed.
pub(super) fn recorded_holes(files: &DirLayout) -> Result<(Vec<Range<u64>>, Option<Problem>)> {
    match files.read_holes() {
        Ok(holes) => Ok((holes, None)),
        // A damaged file loses its holes; a failed read (any other error) says nothing
        // about them and is the caller's I/O error.
        Err(e @ StoreError::Layout { .. }) => Ok((
            Vec::new(),
            Some(file_problem(
                ProblemKind::HolesCorrupt,
                &wal_store::internal::holes::holes_path(&files.dir),
                &format!("{e}: its holes are treated as gaps"),
            )),
        )),
        // A failed read is this crate's I/O error, like any other file it reads.
        Err(StoreError::Io { op, path, source }) => Err(RecoveryError::Io { op, path, source }),
        Err(e) => Err(e.into()),
    }
}

/// Marks the sealed segments whose data problem lies after their proven end (see
/// `SegmentScan::tail_garbage`): a valid index that lists exactly the valid records, and
/// a next segment that starts right after them.
pub(super) fn mark_tail_garbage(segments: &mut [SegmentScan]) {
    let bases: Vec<u64> = segments.iter().map(|s| s.base).collect();
    for (i, segment) in segments.iter_mut().enumerate() {
        if let Some(&next_base) = bases.get(i + 1) {
            segment.tail_garbage = segment.end.problem().is_some()
                && !segment.offsets.is_empty()
                && segment.index_matches()
                && next_base == segment.base.saturating_add(segment.entries());
        }
    }
}

/// What lies between a segment and the one before it, when that is not a clean join.
pub(super) enum Boundary {
    /// A hole recovery left on purpose.
    Hole(Range<u64>),
    /// A gap, an overlap, or a first record that does not chain from the segment before.
    Problem(Problem),
}

/// Where `segment` should start, from `prev` (the segment before it), and whether its
/// first record chains from `prev`'s last. Nothing is said after a `prev` with a data
/// problem: its end is not known.
pub(super) fn boundary(
    prev: &SegmentScan,
    segment: &SegmentScan,
    recorded_holes: &[Range<u64>],
    committed_end: u64,
) -> Option<Boundary> {
    if prev.problem().is_some() {
        return None;
    }
    let expected = prev.base.saturating_add(prev.proven_entries());
    let join = layout::join(expected, segment.base, recorded_holes);
    let detail = join.problem_detail(segment.base);
    match join {
        // A hole recovery left on purpose: no gap, and no chain across it.
        Join::Hole(hole) => Some(Boundary::Hole(hole)),
        Join::Gap { expected } => Some(Boundary::Problem(segment_problem(
            ProblemKind::SegmentGap,
            segment,
            Some(expected),
            None,
            expected < committed_end,
            detail.unwrap_or_default(),
        ))),
        Join::Overlap { .. } => Some(Boundary::Problem(segment_problem(
            ProblemKind::SegmentOverlap,
            segment,
            Some(segment.base),
            None,
            segment.base < committed_end,
            detail.unwrap_or_default(),
        ))),
        Join::Continues => {
            let seed = layout::seed_for(segment.codec, prev.last_crc);
            let (expected_crc, actual) = layout::chain_break(seed, segment.first_prev_crc)?;
            Some(Boundary::Problem(segment_problem(
                ProblemKind::ChainBreak,
                segment,
                Some(segment.base),
                Some(0),
                segment.base < committed_end,
                format!(
                    "first record chains from {actual:#010x}, the segment before ends with {expected_crc:#010x}"
                ),
            )))
        }
    }
}

/// A sealed segment with no entries between segments that have some. `next_base` is the
/// base of the segment after it; `later_data` says whether a later segment has entries.
pub(super) fn empty_segment(
    segment: &SegmentScan,
    next_base: u64,
    later_data: bool,
    recorded_holes: &[Range<u64>],
) -> Option<Problem> {
    // An empty segment just before a recorded hole is what `SkipCorrupted` leaves
    // when nothing before the hole could be kept: the hole, not the segment, says
    // where the entries went.
    let hole_after = recorded_holes
        .iter()
        .any(|h| h.start == segment.base && h.end == next_base);
    (segment.offsets.is_empty() && segment.problem().is_none() && later_data && !hole_after).then(
        || {
            segment_problem(
                ProblemKind::EmptySegment,
                segment,
                Some(segment.base),
                None,
                false,
                "a segment with no entries between segments that have some".to_owned(),
            )
        },
    )
}

/// A recorded hole inside the log that is no gap between its segments (the store
/// refuses such a file): its range holds entries, or nothing at all.
pub(super) fn stray_hole(analysis: &Analysis, recorded_holes: &[Range<u64>]) -> Option<Problem> {
    let first = analysis.first_offset()?;
    let end = analysis
        .segments
        .last()
        .map(|s| s.base.saturating_add(s.entries()))?;
    let stray = layout::stray_hole(recorded_holes, first..end, &analysis.holes)?;
    Some(file_problem(
        ProblemKind::HolesCorrupt,
        &wal_store::internal::holes::holes_path(&analysis.dir),
        &format!("it lists {stray:?}, which is no gap between segments: only its gaps are kept"),
    ))
}
