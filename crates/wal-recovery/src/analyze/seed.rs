//! The store's `SEED` file: where the log starts (FORMAT.md §9), read through the
//! directory's layout, and placed against the records the scan found.

use std::os::unix::fs::FileExt;

use wal_format::Codec;
use wal_store::StoreError;
use wal_store::layout::{DirLayout, LogStart};

use super::SegmentScan;
use super::classify::file_problem;
use crate::error::{IoContext, RecoveryError, Result};
use crate::problem::{Problem, ProblemKind};

/// Where the log starts, as the seed file and the records show it together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Start {
    /// The first record is the log's first entry: no seed file, or one at or below the
    /// first segment's base (stale), or a directory with no segment.
    #[default]
    FirstRecord,
    /// The log starts at this offset, past the first segment's base and no further than
    /// the records reach: the entries below it are trimmed.
    Logical(u64),
    /// Every segment file is void: a reset under way (the seed file's flag). The log is
    /// the empty one at the start; whoever opens it for writing finishes the reset.
    Void(LogStart),
    /// A plain seed file (no reset under way) past every record: the entries from the
    /// records' end up to the start are lost. Every store operation syncs the entries it
    /// keeps before it records a start, and those that empty the log record it at the
    /// records' end, so only lost or damaged data leaves a start past them. The log reads
    /// from its first record, with the loss reported (`missing_entries`, committed); an
    /// explicit mode resets the log to the start.
    PastRecords {
        /// The seed file.
        start: LogStart,
        /// One past the last intact record: the first lost entry.
        records_end: u64,
    },
}

/// The seed file as read through `layout`: `None` without one, and the problem of one
/// that was read but is damaged (which then says nothing about the start). A file that
/// cannot be read at all is the caller's I/O error: a failed read says nothing either.
pub(super) fn read_start(layout: &DirLayout) -> Result<(Option<LogStart>, Option<Problem>)> {
    match layout.read_start() {
        Ok(start) => Ok((start, None)),
        Err(e @ StoreError::Layout { .. }) => {
            let path = layout
                .seed_source
                .clone()
                .unwrap_or_else(|| wal_store::internal::seed::seed_path(&layout.dir));
            let problem = file_problem(
                ProblemKind::SeedCorrupt,
                &path,
                &format!(
                    "{e}: the log's start is its first record, and an empty log's seed comes from the options"
                ),
            );
            Ok((None, Some(problem)))
        }
        Err(StoreError::Io { op, path, source }) => Err(RecoveryError::Io { op, path, source }),
        Err(other) => Err(RecoveryError::Store(other)),
    }
}

/// Places `start` against the scanned `segments` (those not wholly below it): where the
/// log starts, and the problem of a seed that disagrees with the record it names.
pub(super) fn place(
    layout: &DirLayout,
    start: Option<LogStart>,
    segments: &[SegmentScan],
) -> Result<(Start, Option<Problem>)> {
    let Some(start) = start else {
        return Ok((Start::FirstRecord, None));
    };
    if start.resetting {
        return Ok((Start::Void(start), None));
    }
    let Some(first) = segments.first() else {
        return Ok((Start::FirstRecord, None));
    };
    if start.offset <= first.base {
        return Ok((Start::FirstRecord, None));
    }
    let reached = segments
        .iter()
        .map(|s| s.base.saturating_add(s.reached_entries()))
        .max()
        .unwrap_or(first.base);
    if start.offset > reached && !reach_unknown(segments) {
        let records_end = segments
            .iter()
            .map(|s| s.base.saturating_add(s.entries()))
            .max()
            .unwrap_or(first.base);
        let problem = lost_entries(start, segments, records_end);
        return Ok((Start::PastRecords { start, records_end }, Some(problem)));
    }
    let problem = match linked_crc(layout, segments, start.offset)? {
        Some(found) if found != start.crc => Some(file_problem(
            ProblemKind::SeedCorrupt,
            layout
                .seed_source
                .as_deref()
                .unwrap_or(&wal_store::internal::seed::seed_path(&layout.dir)),
            &format!(
                "the seed file says the log starts at {} chained from {:#010x}, but the log chains from {found:#010x} there",
                start.offset, start.crc
            ),
        )),
        _ => None,
    };
    Ok((Start::Logical(start.offset), problem))
}

/// Whether a damaged stretch may hide how far the records reach: a segment whose scan
/// found valid records after its damage counts the damaged stretch between as one entry,
/// whatever it held, so those records may lie further than counted. A start past the
/// count is then no proof of lost entries. (Damage with no valid record after it ends
/// what is intact: a start past it names an entry that is gone.)
fn reach_unknown(segments: &[SegmentScan]) -> bool {
    segments
        .iter()
        .any(|s| s.problem().is_some() && s.records_after_problem > 0)
}

/// The problem of a plain start past every record (`records_end`, the end of the intact
/// ones): the entries between were durable when the start was written, and are gone.
fn lost_entries(start: LogStart, segments: &[SegmentScan], records_end: u64) -> Problem {
    Problem {
        kind: ProblemKind::MissingEntries,
        segment: segments.last().map(|s| s.base),
        offset: Some(records_end),
        file_offset: None,
        committed: true,
        consumed: false,
        path: None,
        detail: format!(
            "the SEED file says the log starts at {}, but the intact records end before {records_end}: \
             entries {records_end}..{} were durable when the start was written, and are missing",
            start.offset, start.offset
        ),
    }
}

/// What the entry at `offset` chains from, where the records show it: the `prev_crc` of
/// its record (v2, within a segment's valid records), or at the end of a segment's valid
/// records, that segment's last crc. `None` where no v2 record tells.
fn linked_crc(layout: &DirLayout, segments: &[SegmentScan], offset: u64) -> Result<Option<u32>> {
    let Some(segment) = segments.iter().rev().find(|s| s.base <= offset) else {
        return Ok(None);
    };
    let Some(position) = offset.checked_sub(segment.base) else {
        return Ok(None);
    };
    if segment.codec != Codec::V2 {
        return Ok(None);
    }
    if position == segment.entries() {
        return Ok(segment.last_crc);
    }
    if position == 0 {
        return Ok(segment.first_prev_crc);
    }
    let Some(&at) = usize::try_from(position)
        .ok()
        .and_then(|p| segment.offsets.get(p))
    else {
        return Ok(None);
    };
    // The record is within the valid prefix the scan checked: its header is whole.
    let source = layout
        .segments
        .iter()
        .find(|s| s.base == segment.base)
        .map_or(segment.data_path.clone(), |s| s.data_source.clone());
    let file = wal_store::internal::sys::open_read(&source).io_context("open", &source)?;
    let mut prev = [0u8; 4];
    file.read_exact_at(&mut prev, u64::from(at) + 4)
        .io_context("read", &source)?;
    Ok(Some(u32::from_be_bytes(prev)))
}
