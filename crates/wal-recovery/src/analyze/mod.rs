//! Reading a WAL directory and classifying everything wrong with it. Reads only.
//!
//! `analyze` runs the steps in order: take the inventory of the files, the cursor and
//! the recorded holes; scan every segment (`scan`); place the commit point
//! (`commit`); then, segment by segment, check how each one joins the one before it
//! (`joins`) and classify what its own data and index show (`classify`); last, the
//! problems of the directory as a whole (a stray recorded hole, committed entries the
//! log lacks, files of no segment, the cursor).

mod classify;
mod commit;
mod consumed;
mod joins;
mod meta;
mod scan;
mod seed;

use std::ops::Range;
use std::path::{Path, PathBuf};

use wal_store::{CheckedSegment, DirLock};

use crate::cursor::{self, CursorState, NamedCursor};
use crate::error::Result;
use crate::inventory;
use crate::journal;
use crate::problem::Problem;
pub(crate) use consumed::{replay_start, replay_start_of};
use joins::Boundary;
use scan::scan_all;
pub(crate) use scan::{IndexState, SegmentScan};
pub(crate) use seed::Start;

/// Everything found in a directory.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) dir: PathBuf,
    pub(crate) segments: Vec<SegmentScan>,
    pub(crate) problems: Vec<Problem>,
    /// Entries below this offset are committed (the commit point, exclusive).
    pub(crate) committed_end: u64,
    /// The default cursor (`CURSOR`).
    pub(crate) cursor: CursorState,
    /// Every cursor, the default one first (see `cursor::read_all_cursors`).
    pub(crate) cursors: Vec<NamedCursor>,
    pub(crate) temp_files: Vec<PathBuf>,
    /// Data files shadowed by a later codec's file for the same base.
    pub(crate) duplicates: Vec<PathBuf>,
    /// Gaps between segments that a `SkipCorrupted` recovery recorded as holes.
    pub(crate) holes: Vec<Range<u64>>,
    /// The commit offset the caller gave.
    pub(crate) commit_offset: Option<u64>,
    /// Where the log starts (the `SEED` file against the records). The segments wholly
    /// below a logical start are not among `segments`: trimmed, never scanned, and their
    /// damage does not matter; with `Start::Void`, no segment is.
    pub(crate) start: Start,
    /// The data and index files of the segments wholly below a logical start (see
    /// `start`), which are not among `segments`. They stay until a trim removes them,
    /// unless a repair removes the first segment after them: they would then no longer
    /// be below anything the store can see, and go to quarantine (`skip/mod.rs`).
    pub(crate) trimmed_files: Vec<PathBuf>,
    /// Damaged entries the consumer has consumed (see `consumed.rs`): from the first entry
    /// a consumed problem affects to the base of the first segment after the damage. The
    /// default mode leaves the segments before that base in place, set aside.
    pub(crate) consumed_damage: Option<Range<u64>>,
}

impl Analysis {
    /// What the store's scan found in each data file, for the log to reuse: the store
    /// takes the mappings of the files that are still there, and the scan's word on their
    /// records where nothing can have changed them since.
    pub(crate) fn take_checked(&mut self) -> Vec<CheckedSegment> {
        self.segments
            .iter_mut()
            .filter_map(|s| s.checked.take())
            .collect()
    }

    /// The first entry offset of the log (its logical start, or its first segment's
    /// base), if it has segments or is the empty log a reset leaves.
    pub(crate) fn first_offset(&self) -> Option<u64> {
        match self.start {
            Start::Logical(offset) => Some(offset),
            Start::Void(start) => Some(start.offset),
            Start::FirstRecord | Start::PastRecords { .. } => self.first_base(),
        }
    }

    /// The base offset of the first segment analysed, if any (below the logical start
    /// when that lies inside it).
    pub(crate) fn first_base(&self) -> Option<u64> {
        self.segments.first().map(|s| s.base)
    }

    /// One past the last entry any segment reached, as far as its records or its index
    /// show (see `SegmentScan::reached_entries`), if the log has segments.
    pub(crate) fn reached_end(&self) -> Option<u64> {
        self.segments
            .iter()
            .map(|s| s.base.saturating_add(s.reached_entries()))
            .max()
    }

    /// One past the last entry of the valid prefix of the whole log: where the first data
    /// problem is, or the end of the last segment. Damage the consumer has consumed does
    /// not end it: the entries after it are served. A reset under way ends the log at its
    /// start, as the finished reset will.
    pub(crate) fn valid_end(&self) -> Option<u64> {
        if let Start::Void(start) = self.start {
            return Some(start.offset);
        }
        let first_data_problem = self
            .problems
            .iter()
            .filter(|p| p.kind.is_data() && !p.consumed)
            .filter_map(|p| p.offset)
            .min();
        let end = self
            .segments
            .last()
            .map(|s| s.base.saturating_add(s.entries()));
        match (first_data_problem, end) {
            (Some(p), Some(e)) => Some(p.min(e)),
            (p, e) => p.or(e),
        }
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
    let inventory = inventory::take(journal::read_layout(dir)?);
    let cursors = cursor::read_all_cursors(dir)?;
    let cursor = cursors
        .first()
        .map_or(CursorState::Missing, |c| c.state.clone());
    let (recorded_holes, holes_problem) = joins::recorded_holes(&inventory.layout)?;
    let (start, seed_problem) = seed::read_start(&inventory.layout)?;
    let meta_problem = meta::meta_problem(dir)?;
    let below = inventory.layout.segments_below(start.as_ref());
    let live = inventory.layout.segments.get(below..).unwrap_or_default();
    let mut segments = scan_all(live, lock)?;
    let (start, start_problem) = seed::place(&inventory.layout, start, &segments)?;
    let mut trimmed_files: Vec<PathBuf> = inventory
        .layout
        .segments
        .get(..below)
        .unwrap_or_default()
        .iter()
        .flat_map(|files| [files.data_path.clone(), files.index_path.clone()])
        .collect();
    match start {
        // Every segment file is void: nothing of the log is in them.
        Start::Void(_) => {
            segments.clear();
            trimmed_files.clear();
        }
        // A start past every record says nothing about where the log starts: the
        // records read as they are, from the first (the segments it put below it too).
        Start::PastRecords { .. } if below > 0 => {
            segments = scan_all(&inventory.layout.segments, lock)?;
            trimmed_files.clear();
        }
        _ => {}
    }

    let committed_end = commit::committed_end(commit_offset, &cursors, &segments, start);
    joins::mark_tail_garbage(&mut segments);
    let (problems, known_holes) = segment_problems(&segments, &recorded_holes, committed_end);
    let file_problems = classify::file_problems(&inventory);

    let mut analysis = Analysis {
        dir: dir.to_path_buf(),
        segments,
        problems,
        committed_end,
        cursor,
        cursors,
        temp_files: inventory.temp_files,
        // A shadowed data file leaves with its index file.
        duplicates: inventory
            .layout
            .duplicates
            .into_iter()
            .flat_map(|files| [files.data_path, files.index_path])
            .collect(),
        holes: known_holes,
        commit_offset,
        start,
        trimmed_files,
        consumed_damage: None,
    };
    analysis.consumed_damage = consumed::mark_consumed(&mut analysis);
    // Each step below reads the problems found before it (the valid end is where the
    // first data problem is), so the order is part of the result.
    analysis.problems.extend(holes_problem);
    analysis.problems.extend(seed_problem);
    analysis.problems.extend(start_problem);
    analysis.problems.extend(meta_problem);
    let stray_hole = joins::stray_hole(&analysis, &recorded_holes);
    analysis.problems.extend(stray_hole);
    let missing = commit::missing_claimed_entries(&analysis);
    analysis.problems.extend(missing);
    analysis.problems.extend(file_problems);
    let cursor_problems = commit::cursor_problems(&analysis);
    analysis.problems.extend(cursor_problems);
    analysis
        .problems
        .sort_by_key(|p| (p.offset.unwrap_or(u64::MAX), p.kind.name()));
    Ok(analysis)
}

/// Every problem of the segments, in one pass over them in order: how each joins the one
/// before it, then what its data, its index and its emptiness show. Returns the problems
/// and the recorded holes that are gaps between segments.
fn segment_problems(
    segments: &[SegmentScan],
    recorded_holes: &[Range<u64>],
    committed_end: u64,
) -> (Vec<Problem>, Vec<Range<u64>>) {
    let mut problems = Vec::new();
    let mut known_holes = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let next = segments.get(i + 1);
        let later_data = segments.iter().skip(i + 1).any(|s| !s.offsets.is_empty());
        if let Some(prev) = i.checked_sub(1).and_then(|j| segments.get(j)) {
            match joins::boundary(prev, segment, recorded_holes, committed_end) {
                Some(Boundary::Hole(hole)) => known_holes.push(hole),
                Some(Boundary::Problem(problem)) => problems.push(problem),
                None => {}
            }
        }
        classify::data_problems(
            segment,
            next.is_none(),
            later_data,
            committed_end,
            &mut problems,
        );
        if let Some(next) = next {
            problems.extend(classify::index_problem(segment));
            problems.extend(joins::empty_segment(
                segment,
                next.base,
                later_data,
                recorded_holes,
            ));
        }
    }
    (problems, known_holes)
}
