//! Planning what `SkipCorrupted` keeps of one damaged segment: its records that can be
//! trusted, in runs of consecutive entries, and the positions between them (holes) that
//! it skips. Reads only the segment's bytes; nothing here changes a file.

use std::ops::Range;

use wal_format::{Codec, Decoded, FileOffset, FormatError, ScanEnd, Scanner};

use crate::analyze::{Analysis, IndexState, SegmentScan};

/// Consecutive trusted records of one segment: `(start, end)` file offsets, from
/// position `first` on.
#[derive(Debug, Default)]
pub(super) struct Run {
    pub(super) first: u64,
    pub(super) records: Vec<(u32, u32)>,
}

/// What walking a segment's records found.
#[derive(Debug, Default)]
pub(super) struct Walk {
    pub(super) runs: Vec<Run>,
    /// Positions of records skipped.
    pub(super) holes: Vec<Range<u64>>,
    /// Whether the walk knew every record's boundary to the end of the data; if not, the
    /// log is cut after the last run.
    pub(super) complete: bool,
}

impl Walk {
    /// One past the last entry kept, for a segment based at `base`.
    pub(super) fn kept_end(&self, base: u64) -> u64 {
        self.runs
            .last()
            .map_or(base, |r| base + r.first + r.records.len() as u64)
    }

    /// Whether the segment's first record is kept in place.
    pub(super) fn keeps_first(&self) -> bool {
        self.runs.first().is_some_and(|r| r.first == 0)
    }

    /// The file offset of the first byte not kept in place: the end of the run that
    /// starts the segment, if one does.
    pub(super) fn first_moved(&self) -> u32 {
        self.runs
            .first()
            .filter(|r| r.first == 0)
            .map_or(0, |r| r.records.last().map_or(0, |&(_, end)| end))
    }

    fn push_record(&mut self, position: u64, start: u32, end: u32) {
        match self.runs.last_mut() {
            Some(run) if run.first + run.records.len() as u64 == position => {
                run.records.push((start, end));
            }
            _ => self.runs.push(Run {
                first: position,
                records: vec![(start, end)],
            }),
        }
    }

    /// Keeps only positions below `limit`: the runs and holes past it are dropped.
    fn clamp(&mut self, limit: u64) {
        self.runs.retain(|run| run.first < limit);
        if let Some(run) = self.runs.last_mut() {
            let keep = usize::try_from(limit - run.first).unwrap_or(usize::MAX);
            run.records.truncate(keep);
        }
        self.holes.retain(|hole| hole.start < limit);
        if let Some(hole) = self.holes.last_mut() {
            hole.end = hole.end.min(limit);
        }
    }

    fn skip(&mut self, position: u64) {
        match self.holes.last_mut() {
            Some(hole) if hole.end == position => hole.end += 1,
            _ => self.holes.push(position..position + 1),
        }
    }
}

/// Decodes the record at `at`, returning its end and crcs if it is whole and valid.
pub(super) fn valid_record(
    codec: Codec,
    data: &[u8],
    at: u32,
) -> Option<(u32, Option<u32>, Option<u32>)> {
    match codec.decode_record(data, FileOffset(at)) {
        Ok(Decoded::Record { record, next }) => Some((next.0, record.prev_crc, record.crc)),
        _ => None,
    }
}

/// Walks a segment through its valid index: every listed record is checked (its crc, and
/// its link to the record before when that one was kept).
fn walk_with_index(codec: Codec, data: &[u8], offsets: &[u32]) -> Walk {
    let mut walk = Walk {
        complete: true,
        ..Walk::default()
    };
    let mut last_crc: Option<u32> = None;
    for (p, &at) in offsets.iter().enumerate() {
        let position = p as u64;
        let next_listed = offsets.get(p + 1).copied();
        match valid_record(codec, data, at) {
            Some((end, prev, crc))
                if next_listed.is_none_or(|n| n == end)
                    && (last_crc.is_none() || prev.is_none() || prev == last_crc) =>
            {
                walk.push_record(position, at, end);
                last_crc = crc;
            }
            _ => {
                walk.skip(position);
                last_crc = None;
            }
        }
    }
    walk
}

/// Walks a segment with no usable index: the valid prefix, then past each damaged record
/// whose own size leads to a valid record chained from its stored crc.
fn walk_by_size(segment: &SegmentScan, data: &[u8]) -> Walk {
    let codec = segment.codec;
    let mut walk = Walk::default();
    let mut position = 0u64;
    let mut scanner = Scanner::new(codec, data);
    loop {
        while let Some(record) = scanner.next() {
            walk.push_record(position, record.file_offset.0, scanner.valid_len().0);
            position += 1;
        }
        let Some(ScanEnd::Problem(problem)) = scanner.end().cloned() else {
            walk.complete = true;
            return walk;
        };
        let at = scanner.valid_len();
        // Only a record damaged in place has a size to trust; a cut, a lost page or a
        // record from another chain leaves the count of entries unknown.
        let FormatError::ChecksumMismatch {
            actual: stored_crc, ..
        } = problem
        else {
            return walk;
        };
        let Some(size) = data
            .get(at.as_usize()..at.as_usize() + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
        else {
            return walk;
        };
        let header = u32::try_from(codec.header_bytes()).unwrap_or(u32::MAX);
        let Some(next) = at.0.checked_add(header).and_then(|n| n.checked_add(size)) else {
            return walk;
        };
        match valid_record(codec, data, next) {
            Some((_, Some(prev), _)) if prev == stored_crc => {
                walk.skip(position);
                position += 1;
                scanner = Scanner::new(codec, data)
                    .resume_at(
                        FileOffset(next),
                        u32::try_from(position).unwrap_or(u32::MAX),
                    )
                    .with_seed(prev);
            }
            _ => return walk,
        }
    }
}

/// Plans what is kept of the damaged segment `analysis.segments[i]`, whose data is
/// `data`: walked through its valid index when that lists more entries than the valid
/// records, else by the records' own sizes. A sealed segment ends where the next one
/// begins (its name says so): records found past that position belong to no entry and go
/// with the rest of the tail.
pub(super) fn plan(analysis: &Analysis, i: usize, segment: &SegmentScan, data: &[u8]) -> Walk {
    let mut walk = match &segment.index {
        IndexState::Valid(listed)
            if listed.starts_with(&segment.offsets) && listed.len() as u64 > segment.entries() =>
        {
            walk_with_index(segment.codec, data, listed)
        }
        _ => walk_by_size(segment, data),
    };
    if let Some(next) = analysis.segments.get(i + 1) {
        walk.clamp(next.base.saturating_sub(segment.base));
    }
    walk
}
