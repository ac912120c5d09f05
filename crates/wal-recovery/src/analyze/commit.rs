//! The commit point, and what the caller's commit offset and the consumer's cursor claim
//! that the log does not hold: entries committed past its valid end, entries of a log
//! whose every segment is gone, a cursor that cannot be read or lies outside the log.

use super::{Analysis, IndexState, SegmentScan, Start};
use crate::cursor::{self, CursorState, NamedCursor};
use crate::problem::{Problem, ProblemKind};

/// Entries below the returned offset are committed: what the caller says, what the
/// consumer finalized, and what the segments themselves prove (a segment exists only once
/// the one before it was sealed and synced; a valid index proves how far its segment
/// reached), and the log's start (a trim records it only once the entries up to it are
/// durable: damage below it is damage of durable entries, never a tail to cut).
pub(super) fn committed_end(
    commit_offset: Option<u64>,
    cursors: &[NamedCursor],
    segments: &[SegmentScan],
    start: Start,
) -> u64 {
    let mut committed_end = match start {
        Start::Logical(offset) => offset,
        Start::PastRecords { start, .. } => start.offset,
        Start::FirstRecord | Start::Void(_) => 0,
    };
    if let Some(commit) = commit_offset {
        committed_end = committed_end.max(commit.saturating_add(1));
    }
    // Every consumer finalized only durable entries.
    for cursor in cursors.iter().filter_map(|c| c.state.offset()) {
        committed_end = committed_end.max(cursor.saturating_add(1));
    }
    if let Some(last) = segments.last() {
        if segments.len() > 1 {
            committed_end = committed_end.max(last.base);
        }
        if let IndexState::Valid(index) = &last.index
            && index.starts_with(&last.offsets)
        {
            committed_end = committed_end.max(last.base.saturating_add(index.len() as u64));
        }
    }
    committed_end
}

/// Entries the caller's commit offset (or, with no segment left, the cursor) says
/// existed but that the log does not hold.
pub(super) fn missing_claimed_entries(analysis: &Analysis) -> Vec<Problem> {
    let mut problems = Vec::new();
    // A log cut cleanly or zeroed at its end is invisible to checksums, only an
    // independent record of how far it reached reveals it.
    if let (Some(commit), Some(valid_end)) = (analysis.commit_offset, analysis.valid_end())
        && commit >= valid_end
        && !analysis
            .problems
            .iter()
            .any(|p| p.kind.is_data() && p.committed && !p.consumed)
    {
        let last = analysis.segments.last().map(|s| s.base);
        problems.push(Problem {
            kind: ProblemKind::MissingEntries,
            segment: last,
            offset: Some(valid_end),
            file_offset: None,
            committed: true,
            consumed: false,
            path: None,
            detail: format!("commit offset {commit}, but the valid log ends before {valid_end}"),
        });
    }

    // No segment at all, but a commit offset or a cursor says entries existed: every
    // segment is gone (a new log will not reuse their offsets, see `open`). A reset under
    // way voids every segment: the log ends at its start, as the finished reset's does
    // (the comparison above and `cursor_problems` place them against it).
    if analysis.segments.is_empty() && !matches!(analysis.start, Start::Void(_)) {
        if let Some(commit) = analysis.commit_offset {
            problems.push(Problem {
                kind: ProblemKind::MissingEntries,
                segment: None,
                offset: None,
                file_offset: None,
                committed: true,
                consumed: false,
                path: None,
                detail: format!("commit offset {commit}, but the directory holds no segment"),
            });
        }
        for named in &analysis.cursors {
            let Some(cursor) = named.state.offset() else {
                continue;
            };
            problems.push(Problem {
                kind: ProblemKind::CursorOutOfRange,
                segment: None,
                offset: Some(cursor),
                file_offset: None,
                committed: true,
                consumed: false,
                path: Some(cursor::named_cursor_path(&analysis.dir, &named.name)),
                detail: format!(
                    "cursor {cursor}, but the directory holds no segment: a new log starts after it"
                ),
            });
        }
    }
    problems
}

/// For every cursor: a file that cannot be read, or a cursor before the log's first entry
/// or past its valid end.
pub(super) fn cursor_problems(analysis: &Analysis) -> Vec<Problem> {
    analysis
        .cursors
        .iter()
        .flat_map(|named| problems_of(analysis, named))
        .collect()
}

/// The problems of one cursor. A cursor before the first entry means entries it had not
/// finalized are gone (a trim or a damaged segment took them): a problem, unless its
/// file records that a trim dropped exactly those on its caller's word.
fn problems_of(analysis: &Analysis, named: &NamedCursor) -> Option<Problem> {
    let path = Some(cursor::named_cursor_path(&analysis.dir, &named.name));
    let cursor = match &named.state {
        CursorState::Corrupt(why) => {
            return Some(Problem {
                kind: ProblemKind::CursorCorrupt,
                segment: None,
                offset: None,
                file_offset: None,
                committed: false,
                consumed: false,
                path,
                detail: why.clone(),
            });
        }
        CursorState::Missing => return None,
        CursorState::At(cursor) => *cursor,
    };
    let (first, valid_end) = (analysis.first_offset()?, analysis.valid_end()?);
    let label = match named.name.as_str() {
        cursor::DEFAULT_CURSOR => "cursor".to_owned(),
        name => format!("cursor {name:?}"),
    };
    let (kind, detail) = if cursor.saturating_add(1) < first {
        let recorded = named
            .dropped_unread
            .as_ref()
            .is_some_and(|d| d.start <= cursor.saturating_add(1) && d.end >= first);
        if recorded {
            let detail = format!(
                "{label} {cursor} is before the first entry {first}: its caller dropped them on purpose; replay starts at {first}"
            );
            (ProblemKind::CursorOutOfRange, detail)
        } else {
            let unread = first - cursor.saturating_add(1);
            let detail = format!(
                "{label} {cursor} is before the first entry {first}: {unread} entries it had not finalized are gone; replay starts at {first}"
            );
            (ProblemKind::UnreadEntriesGone, detail)
        }
    } else if cursor >= valid_end {
        let detail = format!("{label} {cursor} is past the last entry: clamped");
        (ProblemKind::CursorOutOfRange, detail)
    } else {
        return None;
    };
    Some(Problem {
        kind,
        segment: None,
        offset: Some(cursor),
        file_offset: None,
        // Past the end, the consumer finalized entries the log no longer holds.
        committed: cursor >= valid_end,
        consumed: false,
        path,
        detail,
    })
}
