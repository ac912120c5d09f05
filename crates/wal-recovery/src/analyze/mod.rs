//! Reading a WAL directory and classifying everything wrong with it. Reads only.

mod scan;

use std::ops::Range;
use std::path::{Path, PathBuf};

use wal_format::{Codec, FormatError};
use wal_store::{DirLock, ScannedMap, StoreError, naming};

use crate::cursor::{self, CursorState};
use crate::error::{RecoveryError, Result};
use crate::inventory;
use crate::journal::DirView;
use crate::problem::{Problem, ProblemKind};
use scan::scan_all;
pub(crate) use scan::{IndexState, SegmentScan};

/// Everything found in a directory.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) dir: PathBuf,
    pub(crate) segments: Vec<SegmentScan>,
    pub(crate) problems: Vec<Problem>,
    /// Entries below this offset are committed (the commit point, exclusive).
    pub(crate) committed_end: u64,
    pub(crate) cursor: CursorState,
    pub(crate) temp_files: Vec<PathBuf>,
    /// Data files shadowed by a later codec's file for the same base.
    pub(crate) duplicates: Vec<PathBuf>,
    /// Gaps between segments that a `SkipCorrupted` recovery recorded as holes.
    pub(crate) holes: Vec<Range<u64>>,
    /// The commit offset the caller gave.
    pub(crate) commit_offset: Option<u64>,
}

impl Analysis {
    /// The scan's mappings of the data files, for the log to reuse; with
    /// `with_records`, the last segment's carries the records found in it when it is
    /// clean (for a directory nothing has changed in since the scan).
    pub(crate) fn take_maps(&mut self, with_records: bool) -> Vec<ScannedMap> {
        let last = self.segments.len().saturating_sub(1);
        let clean_last = with_records
            && self
                .segments
                .get(last)
                .is_some_and(|s| s.problem().is_none() && !s.tail_garbage && s.resync.is_none())
            && !self.problems.iter().any(|p| p.kind.is_data());
        self.segments
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| {
                let map = s.map.take()?;
                Some(if i == last && clean_last {
                    map.with_records(s.offsets.clone(), s.valid_len, s.last_crc)
                } else {
                    map
                })
            })
            .collect()
    }

    /// The first entry offset of the log, if it has segments.
    pub(crate) fn first_offset(&self) -> Option<u64> {
        self.segments.first().map(|s| s.base)
    }

    /// One past the last entry of the valid prefix of the whole log: where the first data
    /// problem is, or the end of the last segment.
    pub(crate) fn valid_end(&self) -> Option<u64> {
        let first_data_problem = self
            .problems
            .iter()
            .filter(|p| p.kind.is_data())
            .filter_map(|p| p.offset)
            .min();
        let end = self.segments.last().map(|s| s.base + s.entries());
        match (first_data_problem, end) {
            (Some(p), Some(e)) => Some(p.min(e)),
            (p, e) => p.or(e),
        }
    }
}

fn data_kind(problem: &FormatError) -> ProblemKind {
    match problem {
        FormatError::ChecksumMismatch { .. } => ProblemKind::CrcMismatch,
        FormatError::ChainBreak { .. } => ProblemKind::ChainBreak,
        FormatError::NonZeroAfterEnd { .. } => ProblemKind::GarbageAfterEnd,
        _ => ProblemKind::OutOfBounds,
    }
}

/// Reads `dir` and classifies every problem. `commit_offset` is the highest offset the
/// caller knows committed (a raft commit index), if any.
pub(crate) fn analyze(
    dir: &Path,
    commit_offset: Option<u64>,
    lock: Option<&DirLock>,
) -> Result<Analysis> {
    // Without the lock, a committed journal may wait to be rolled forward: the files are
    // read as its roll-forward will leave them. (With the lock, it has been.)
    let view = DirView::read(dir)?;
    let inventory = inventory::take(&view)?;
    let cursor = cursor::read_cursor(dir)?;
    let (recorded_holes, holes_problem) = match view.holes() {
        Ok(holes) => (holes, None),
        // A damaged file loses its holes; a failed read (any other error) says nothing
        // about them and is the caller's I/O error.
        Err(e @ RecoveryError::Store(StoreError::Layout { .. })) => (
            Vec::new(),
            Some(file_problem(
                ProblemKind::HolesCorrupt,
                &wal_store::holes::holes_path(dir),
                &format!("{e}: its holes are treated as gaps"),
            )),
        ),
        Err(e) => return Err(e),
    };
    let mut known_holes = Vec::new();
    let count = inventory.segments.len();
    let listed: Vec<(u64, Codec)> = inventory.segments.iter().map(|(&b, &c)| (b, c)).collect();
    let mut segments = scan_all(&view, &listed, lock)?;

    // The commit point: what the caller says, what the consumer finalized, and what the
    // segments themselves prove (a segment exists only once the one before it was sealed
    // and synced; a valid index proves how far its segment reached).
    let mut committed_end = 0u64;
    if let Some(commit) = commit_offset {
        committed_end = committed_end.max(commit.saturating_add(1));
    }
    if let Some(cursor) = cursor.offset() {
        committed_end = committed_end.max(cursor.saturating_add(1));
    }
    if let Some(last) = segments.last() {
        if count > 1 {
            committed_end = committed_end.max(last.base);
        }
        if let IndexState::Valid(index) = &last.index
            && index.starts_with(&last.offsets)
        {
            committed_end = committed_end.max(last.base + index.len() as u64);
        }
    }

    let bases: Vec<u64> = segments.iter().map(|s| s.base).collect();
    for (i, segment) in segments.iter_mut().enumerate() {
        if let Some(&next_base) = bases.get(i + 1) {
            segment.tail_garbage = segment.end.problem().is_some()
                && !segment.offsets.is_empty()
                && matches!(&segment.index, IndexState::Valid(ix) if *ix == segment.offsets)
                && next_base == segment.base + segment.entries();
        }
    }

    let mut problems = Vec::new();
    let problem =
        |kind, segment: &SegmentScan, offset: Option<u64>, file_offset, committed, detail| {
            Problem {
                kind,
                segment: Some(segment.base),
                offset,
                file_offset,
                committed,
                path: Some(segment.data_path.clone()),
                detail,
            }
        };
    for (i, segment) in segments.iter().enumerate() {
        let is_last = i + 1 == count;
        let later_data = segments.iter().skip(i + 1).any(|s| !s.offsets.is_empty());
        let at = segment.base + segment.entries();

        // Where this segment should start, from the one before it.
        if let Some(prev) = i.checked_sub(1).and_then(|j| segments.get(j))
            && prev.problem().is_none()
        {
            let expected = prev.base + prev.proven_entries();
            if segment.base > expected && recorded_holes.contains(&(expected..segment.base)) {
                // A hole recovery left on purpose: no gap, and no chain across it.
                known_holes.push(expected..segment.base);
            } else if segment.base > expected {
                problems.push(problem(
                    ProblemKind::SegmentGap,
                    segment,
                    Some(expected),
                    None,
                    expected < committed_end,
                    format!("entries {expected}..{} are in no segment", segment.base),
                ));
            } else if segment.base < expected {
                problems.push(problem(
                    ProblemKind::SegmentOverlap,
                    segment,
                    Some(segment.base),
                    None,
                    segment.base < committed_end,
                    format!("the segment before holds entries up to {}", expected - 1),
                ));
            } else if let (Some(expected_crc), Some(actual)) =
                (prev.last_crc, segment.first_prev_crc)
                && segment.codec.has_crc()
                && expected_crc != actual
            {
                problems.push(problem(
                    ProblemKind::ChainBreak,
                    segment,
                    Some(segment.base),
                    Some(0),
                    segment.base < committed_end,
                    format!(
                        "first record chains from {actual:#010x}, the segment before ends with {expected_crc:#010x}"
                    ),
                ));
            }
        }

        if segment.tail_garbage
            && let Some(format_problem) = segment.end.problem()
        {
            problems.push(problem(
                ProblemKind::TailGarbage,
                segment,
                None,
                Some(segment.valid_len),
                false,
                format!(
                    "{format_problem}; the segment's index and the next segment prove its {} entries end at file offset {}",
                    segment.entries(),
                    segment.valid_len
                ),
            ));
        }
        if let Some(format_problem) = segment.problem() {
            let index_beyond =
                matches!(&segment.index, IndexState::Valid(ix) if ix.len() > segment.offsets.len());
            let nothing_after = !later_data && !index_beyond && segment.resync.is_none();
            let kind = if is_last && nothing_after {
                ProblemKind::TornTail
            } else {
                data_kind(format_problem)
            };
            let mut detail = format_problem.to_string();
            if let Some(resync) = segment.resync {
                detail.push_str(&format!("; a valid record follows at file offset {resync}"));
            }
            problems.push(problem(
                kind,
                segment,
                Some(at),
                Some(segment.valid_len),
                at < committed_end,
                detail,
            ));
        } else if let IndexState::Valid(index) = &segment.index
            && index.len() > segment.offsets.len()
            && index.starts_with(&segment.offsets)
        {
            problems.push(problem(
                ProblemKind::MissingEntries,
                segment,
                Some(at),
                Some(segment.valid_len),
                true,
                format!(
                    "the index lists {} entries, the data ends cleanly after {}",
                    index.len(),
                    segment.offsets.len()
                ),
            ));
        }

        if !is_last {
            let index_problem = match &segment.index {
                // A sealed segment with no entry has no index: none that lists no entry
                // is written.
                IndexState::Missing
                    if segment.offsets.is_empty() && segment.problem().is_none() =>
                {
                    None
                }
                IndexState::Missing => {
                    Some((ProblemKind::IndexMissing, "no index file".to_owned()))
                }
                IndexState::Corrupt(why) => Some((ProblemKind::IndexCorrupt, why.clone())),
                IndexState::Valid(index)
                    if !index.starts_with(&segment.offsets)
                        || (segment.problem().is_none() && index.len() < segment.offsets.len()) =>
                {
                    Some((
                        ProblemKind::IndexStale,
                        format!(
                            "the index lists {} entries that disagree with the {} records of the data",
                            index.len(),
                            segment.offsets.len()
                        ),
                    ))
                }
                IndexState::Valid(_) => None,
            };
            if let Some((kind, detail)) = index_problem {
                problems.push(Problem {
                    path: Some(segment.index_path.clone()),
                    ..problem(kind, segment, None, None, false, detail)
                });
            }
            // An empty segment just before a recorded hole is what `SkipCorrupted` leaves
            // when nothing before the hole could be kept: the hole, not the segment, says
            // where the entries went.
            let hole_after = recorded_holes
                .iter()
                .any(|h| h.start == segment.base && bases.get(i + 1) == Some(&h.end));
            if segment.offsets.is_empty()
                && segment.problem().is_none()
                && later_data
                && !hole_after
            {
                problems.push(problem(
                    ProblemKind::EmptySegment,
                    segment,
                    Some(segment.base),
                    None,
                    false,
                    "a segment with no entries between segments that have some".to_owned(),
                ));
            }
        }
    }

    let mut analysis = Analysis {
        dir: dir.to_path_buf(),
        segments,
        problems,
        committed_end,
        cursor,
        temp_files: inventory.temp_files,
        // A shadowed data file leaves with its index file.
        duplicates: inventory
            .duplicates
            .iter()
            .flat_map(|(base, codec, p)| [p.clone(), naming::index_path(dir, *base, *codec)])
            .collect(),
        holes: known_holes,
        commit_offset,
    };
    analysis.problems.extend(holes_problem);
    // A recorded hole inside the log that is no gap between its segments (the store
    // refuses such a file): its range holds entries, or nothing at all.
    if let (Some(first), Some(end)) = (
        analysis.first_offset(),
        analysis.segments.last().map(|s| s.base + s.entries()),
    ) && let Some(stray) = recorded_holes
        .iter()
        .find(|h| h.start >= first && h.end <= end && !analysis.holes.contains(h))
    {
        analysis.problems.push(file_problem(
            ProblemKind::HolesCorrupt,
            &wal_store::holes::holes_path(dir),
            &format!(
                "it lists {stray:?}, which is no gap between segments: only its gaps are kept"
            ),
        ));
    }

    // Entries the caller says are committed but that the log does not hold: a log cut
    // cleanly or zeroed at its end is invisible to checksums, only an independent record
    // of how far it reached reveals it.
    if let (Some(commit), Some(valid_end)) = (commit_offset, analysis.valid_end())
        && commit >= valid_end
        && !analysis
            .problems
            .iter()
            .any(|p| p.kind.is_data() && p.committed)
    {
        let last = analysis.segments.last().map(|s| s.base);
        analysis.problems.push(Problem {
            kind: ProblemKind::MissingEntries,
            segment: last,
            offset: Some(valid_end),
            file_offset: None,
            committed: true,
            path: None,
            detail: format!("commit offset {commit}, but the valid log ends before {valid_end}"),
        });
    }

    // No segment at all, but a commit offset or a cursor says entries existed: every
    // segment is gone (a new log will not reuse their offsets, see `open`).
    if analysis.segments.is_empty() {
        if let Some(commit) = commit_offset {
            analysis.problems.push(Problem {
                kind: ProblemKind::MissingEntries,
                segment: None,
                offset: None,
                file_offset: None,
                committed: true,
                path: None,
                detail: format!("commit offset {commit}, but the directory holds no segment"),
            });
        }
        if let Some(cursor) = analysis.cursor.offset() {
            analysis.problems.push(Problem {
                kind: ProblemKind::CursorOutOfRange,
                segment: None,
                offset: Some(cursor),
                file_offset: None,
                committed: true,
                path: Some(cursor::cursor_path(dir)),
                detail: format!(
                    "cursor {cursor}, but the directory holds no segment: a new log starts after it"
                ),
            });
        }
    }

    for (base, codec, path) in &inventory.duplicates {
        analysis.problems.push(Problem {
            kind: ProblemKind::DuplicateCodec,
            segment: Some(*base),
            offset: None,
            file_offset: None,
            committed: false,
            path: Some(path.clone()),
            detail: format!("a {codec} data file beside the segment's newer codec"),
        });
    }
    for path in &analysis.temp_files {
        analysis.problems.push(file_problem(
            ProblemKind::TempFile,
            path,
            "an interrupted write left it",
        ));
    }
    for path in &inventory.unknown_files {
        analysis.problems.push(file_problem(
            ProblemKind::UnknownFile,
            path,
            "not a file of this log; left alone",
        ));
    }
    for (_, path) in &inventory.orphan_indexes {
        analysis.problems.push(file_problem(
            ProblemKind::UnknownFile,
            path,
            "an index file without its data file; left alone",
        ));
    }
    if let CursorState::Corrupt(why) = &analysis.cursor {
        analysis.problems.push(Problem {
            kind: ProblemKind::CursorCorrupt,
            segment: None,
            offset: None,
            file_offset: None,
            committed: false,
            path: Some(cursor::cursor_path(dir)),
            detail: why.clone(),
        });
    }
    if let (Some(cursor), Some(first), Some(valid_end)) = (
        analysis.cursor.offset(),
        analysis.first_offset(),
        analysis.valid_end(),
    ) {
        let detail = if cursor.saturating_add(1) < first {
            Some(format!(
                "cursor {cursor} is before the first entry {first}: replay starts at {first}"
            ))
        } else if cursor >= valid_end {
            Some(format!("cursor {cursor} is past the last entry: clamped"))
        } else {
            None
        };
        if let Some(detail) = detail {
            analysis.problems.push(Problem {
                kind: ProblemKind::CursorOutOfRange,
                segment: None,
                offset: Some(cursor),
                file_offset: None,
                // Past the end, the consumer finalized entries the log no longer holds.
                committed: cursor >= valid_end,
                path: Some(cursor::cursor_path(dir)),
                detail,
            });
        }
    }
    analysis
        .problems
        .sort_by_key(|p| (p.offset.unwrap_or(u64::MAX), p.kind.name()));
    Ok(analysis)
}

fn file_problem(kind: ProblemKind, path: &Path, detail: &str) -> Problem {
    Problem {
        kind,
        segment: None,
        offset: None,
        file_offset: None,
        committed: false,
        path: Some(path.to_path_buf()),
        detail: detail.to_owned(),
    }
}
