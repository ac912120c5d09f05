//! Damage in entries the consumer has already consumed: data problems in sealed segments
//! that lie wholly at or before the consumer's cursor. Replay never reaches them, so they
//! must not cost the entries after the cursor (RECOVERY.md, "Damage before the cursor").
//!
//! The unit is the segment: the store sets aside whole sealed segments (it opens one only
//! when a read reaches it, and never checks it before an append), so a problem is consumed
//! when every segment it can affect ends at or before the replay start.

use std::ops::Range;

use super::{Analysis, SegmentScan};
use crate::cursor::{CursorState, NamedCursor};
use crate::problem::{Problem, ProblemKind};

/// The offset replay starts at for the lowest cursor of the directory: the entry after
/// it. `None` when no valid cursor is there (nothing is known consumed then). Every
/// decision about consumed damage reads the cursors through here.
pub(crate) fn replay_start(analysis: &Analysis) -> Option<u64> {
    replay_start_of(&analysis.cursors)
}

/// The same for the cursors as read without an analysis (the clean restart): every
/// consumer's, so that damage is consumed only once all of them are past it. A corrupt
/// cursor file says nothing of what its consumer read: then nothing is known consumed.
pub(crate) fn replay_start_of(cursors: &[NamedCursor]) -> Option<u64> {
    if cursors
        .iter()
        .any(|c| matches!(c.state, CursorState::Corrupt(_)))
    {
        return None;
    }
    cursors
        .iter()
        .filter_map(|c| c.state.offset())
        .min()
        .map(|c| c.saturating_add(1))
}

/// Where the segments a data problem can affect end: the base of the segment after the
/// one it is in (for a gap, of the segment after the gap). `None` for a problem in the
/// last segment, which the log appends to and cannot set aside, or in no segment.
fn affected_end(segments: &[SegmentScan], problem: &Problem) -> Option<u64> {
    let i = segments
        .iter()
        .position(|s| Some(s.base) == problem.segment)?;
    if problem.kind == ProblemKind::SegmentGap {
        return segments.get(i).map(|s| s.base);
    }
    segments.get(i + 1).map(|s| s.base)
}

/// Whether `kind` is damage that can lie in consumed entries: a data problem, or an empty
/// segment, which always comes with the gap or overlap after it and goes with it.
fn is_damage(kind: ProblemKind) -> bool {
    kind.is_data() || kind == ProblemKind::EmptySegment
}

/// Marks the data problems (and empty segments) that lie wholly at or before the replay
/// start as consumed, and returns the damaged consumed entries: from the first one a
/// problem affects to the base of the first segment after them (what the store sets aside
/// ends there).
pub(super) fn mark_consumed(analysis: &mut Analysis) -> Option<Range<u64>> {
    let start = replay_start(analysis)?;
    let end = analysis
        .problems
        .iter()
        .filter(|p| is_damage(p.kind))
        .filter_map(|p| affected_end(&analysis.segments, p))
        .filter(|&end| end <= start)
        .max()?;
    let mut first = end;
    for problem in &mut analysis.problems {
        if affected_end(&analysis.segments, problem).is_none_or(|e| e > end) {
            continue;
        }
        // Every problem of a segment set aside is in consumed entries: the damage, and
        // what comes with leaving the segment as it is (a missing or stale index, which
        // no mode rebuilds there).
        problem.consumed = true;
        if is_damage(problem.kind) {
            first = first.min(problem.offset.unwrap_or(end));
        }
    }
    Some(first..end)
}
