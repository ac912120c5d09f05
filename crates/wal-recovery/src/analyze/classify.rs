//! Naming what each segment's own files show (damage in its data, entries its index
//! lists that the data lacks, an index that is missing, corrupt or stale) and the
//! directory's files that belong to no segment (shadowed data files, leftovers of
//! interrupted writes, files this log does not know).

use std::path::Path;

use wal_store::layout::IndexFit;

use super::{IndexState, SegmentScan};
use crate::inventory::Inventory;
use crate::problem::{Problem, ProblemKind};

/// A problem of `segment`, about its data file.
pub(super) fn segment_problem(
    kind: ProblemKind,
    segment: &SegmentScan,
    offset: Option<u64>,
    file_offset: Option<u32>,
    committed: bool,
    detail: String,
) -> Problem {
    Problem {
        kind,
        segment: Some(segment.base),
        offset,
        file_offset,
        committed,
        consumed: false,
        path: Some(segment.data_path.clone()),
        detail,
    }
}

/// A problem of a file that is no segment's.
pub(super) fn file_problem(kind: ProblemKind, path: &Path, detail: &str) -> Problem {
    Problem {
        kind,
        segment: None,
        offset: None,
        file_offset: None,
        committed: false,
        consumed: false,
        path: Some(path.to_path_buf()),
        detail: detail.to_owned(),
    }
}

/// The problems of a segment's data: garbage in its unused tail, the problem its scan
/// ended at (a torn tail when nothing follows it in the log), or entries its valid index
/// lists past the clean end of its data. `later_data` says whether a later segment has
/// entries.
pub(super) fn data_problems(
    segment: &SegmentScan,
    is_last: bool,
    later_data: bool,
    committed_end: u64,
    problems: &mut Vec<Problem>,
) {
    let at = segment.base.saturating_add(segment.entries());
    if segment.tail_garbage
        && let Some(format_problem) = segment.end.problem()
    {
        problems.push(segment_problem(
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
            ProblemKind::of_data(format_problem)
        };
        let mut detail = format_problem.to_string();
        if let Some(resync) = segment.resync {
            detail.push_str(&format!("; a valid record follows at file offset {resync}"));
        }
        problems.push(segment_problem(
            kind,
            segment,
            Some(at),
            Some(segment.valid_len),
            at < committed_end,
            detail,
        ));
    } else if let Some(index) = segment.index.offsets()
        && segment.index.fit(&segment.offsets) == IndexFit::ListsMore
    {
        problems.push(segment_problem(
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
}

/// The problem of a sealed segment's index file: missing, corrupt, or disagreeing with
/// the data.
pub(super) fn index_problem(segment: &SegmentScan) -> Option<Problem> {
    let (kind, detail) = match &segment.index {
        // A sealed segment with no entry has no index: none that lists no entry is
        // written.
        IndexState::Missing if segment.offsets.is_empty() && segment.problem().is_none() => {
            return None;
        }
        IndexState::Missing => (ProblemKind::IndexMissing, "no index file".to_owned()),
        IndexState::Corrupt(why) => (ProblemKind::IndexCorrupt, why.clone()),
        // An index that does not start with the records found (it lists fewer, or
        // others).
        IndexState::Valid(index) if segment.index.fit(&segment.offsets) == IndexFit::Disagrees => (
            ProblemKind::IndexStale,
            format!(
                "the index lists {} entries that disagree with the {} records of the data",
                index.len(),
                segment.offsets.len()
            ),
        ),
        IndexState::Valid(_) => return None,
    };
    Some(Problem {
        path: Some(segment.index_path.clone()),
        ..segment_problem(kind, segment, None, None, false, detail)
    })
}

/// The files of the directory that belong to no segment: data files shadowed by a newer
/// codec's, leftover temporary files, files this log does not know, and index files
/// without their data file.
pub(super) fn file_problems(inventory: &Inventory) -> Vec<Problem> {
    let mut problems = Vec::new();
    for shadowed in &inventory.layout.duplicates {
        problems.push(Problem {
            kind: ProblemKind::DuplicateCodec,
            segment: Some(shadowed.base),
            offset: None,
            file_offset: None,
            committed: false,
            consumed: false,
            path: Some(shadowed.data_path.clone()),
            detail: format!(
                "a {} data file beside the segment's newer codec",
                shadowed.codec
            ),
        });
    }
    for path in &inventory.temp_files {
        problems.push(file_problem(
            ProblemKind::TempFile,
            path,
            "an interrupted write left it",
        ));
    }
    for path in &inventory.unknown_files {
        problems.push(file_problem(
            ProblemKind::UnknownFile,
            path,
            "not a file of this log; left alone",
        ));
    }
    for (_, _, path) in &inventory.layout.orphan_indexes {
        problems.push(file_problem(
            ProblemKind::UnknownFile,
            path,
            "an index file without its data file; left alone",
        ));
    }
    problems
}
