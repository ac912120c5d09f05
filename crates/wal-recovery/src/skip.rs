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

use std::ops::Range;

use wal_format::{Codec, Decoded, FileOffset, FormatError, ScanEnd, Scanner};
use wal_store::{fs as store_fs, holes, naming};

use crate::analyze::{Analysis, IndexState, SegmentScan};
use crate::error::{IoContext, Result};
use crate::journal::{Journal, pending_path};
use crate::problem::ProblemKind;
use crate::quarantine::Quarantine;
use crate::repair::Applied;
use crate::report::{Action, Cut};

/// Consecutive trusted records of one segment: `(start, end)` file offsets, from
/// position `first` on.
#[derive(Debug, Default)]
struct Run {
    first: u64,
    records: Vec<(u32, u32)>,
}

/// What walking a segment's records found.
#[derive(Debug, Default)]
struct Walk {
    runs: Vec<Run>,
    /// Positions of records skipped.
    holes: Vec<Range<u64>>,
    /// Whether the walk knew every record's boundary to the end of the data; if not, the
    /// log is cut after the last run.
    complete: bool,
}

impl Walk {
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
fn valid_record(codec: Codec, data: &[u8], at: u32) -> Option<(u32, Option<u32>, Option<u32>)> {
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

/// Applies `SkipCorrupted` to an analysed directory (the caller holds the lock).
pub(crate) fn apply(analysis: &Analysis) -> Result<Applied> {
    let dir = &analysis.dir;
    let mut actions = Vec::new();
    // The store's close record goes (durably) before any segment is changed.
    if analysis.problems.iter().any(|p| !p.is_informational()) {
        wal_store::closed::consume(dir)?;
    }
    crate::repair::remove_temp_files(analysis, &mut actions)?;
    let mut quarantine = Quarantine::new(dir);
    let mut journal = Journal::default();
    let mut new_holes: Vec<Range<u64>> = analysis.holes.clone();
    let mut cut: Option<Cut> = None;
    let count = analysis.segments.len();
    let mut stop_after: Option<usize> = None;
    let mut touched: Vec<u64> = Vec::new();
    // The base of every segment file the log keeps (a hole ending at one is a gap of its
    // own: two holes meeting there are not one).
    let mut kept_bases: Vec<u64> = Vec::new();
    // Where the entries kept so far end (the next offset the log holds, holes aside).
    let mut kept_end = analysis.first_offset().unwrap_or(0);

    // The crc of the last entry kept so far, to check the link into the next segment
    // (the analysis cannot, where the segment before ended in damage).
    let mut kept_crc: Option<u32> = None;
    for (i, segment) in analysis.segments.iter().enumerate() {
        // A hole recorded just before this segment: the chain does not run across it, so
        // a link broken there is only its consequence.
        let hole_before = new_holes.iter().any(|h| h.end == segment.base);
        let gap = analysis.problems.iter().find(|p| {
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
            && matches!((kept_crc, segment.first_prev_crc), (Some(kept), Some(first)) if kept != first);
        let found = gap
            .map(|p| (p.kind, p.offset))
            .or(link_broken.then_some((ProblemKind::ChainBreak, None)));
        match found {
            // A missing segment: its boundaries are the names around it.
            Some((ProblemKind::SegmentGap, Some(expected))) => {
                new_holes.push(expected..segment.base)
            }
            Some((ProblemKind::ChainBreak, _)) if hole_before => {}
            // Two histories meet here: nothing after can be placed; cut where the
            // entries kept so far end.
            Some(_) => {
                stop_after = i.checked_sub(1);
                // The segment before becomes the last one: holes past what it keeps would
                // lie in the offsets appended next, and its last file is the active
                // segment, which has no index.
                new_holes.retain(|h| h.end <= kept_end);
                if let Some(prev) = i.checked_sub(1).and_then(|j| analysis.segments.get(j))
                    && touched.contains(&prev.base)
                {
                    // Its last run's file if it was split, else its own.
                    let active = kept_bases
                        .last()
                        .copied()
                        .filter(|&base| base >= prev.base)
                        .unwrap_or(prev.base);
                    let index_path = naming::index_path(dir, active, prev.codec);
                    journal.remove(&index_path)?;
                    actions.retain(
                        |a| !matches!(a, Action::IndexRebuilt { segment, .. } if *segment == active),
                    );
                    if index_path.exists() {
                        actions.push(Action::ActiveIndexRemoved { segment: active });
                    }
                }
                let reached = analysis
                    .segments
                    .iter()
                    .map(|s| s.base + s.reached_entries())
                    .max()
                    .unwrap_or(kept_end);
                cut = Some(Cut {
                    offsets: kept_end..reached.max(kept_end),
                    committed: kept_end < analysis.committed_end,
                    quarantine: quarantine.path().to_path_buf(),
                });
                break;
            }
            None => {}
        }
        let is_last = i + 1 == count;
        if !has_damaged_records(analysis, segment.base) {
            kept_end = segment.base + segment.entries();
            if segment.entries() > 0 {
                kept_crc = segment.last_crc;
            }
            // (An empty segment between others goes to quarantine in the housekeeping.)
            if !analysis
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::EmptySegment && p.segment == Some(segment.base))
            {
                kept_bases.push(segment.base);
            }
            // Entries a valid index lists but the data lacks (the data is clean): before
            // another segment, a hole up to it, and an index that agrees with the data;
            // at the end of the log, they are simply gone (a hole needs a segment after
            // it, or the next appends would land inside it).
            if let IndexState::Valid(listed) = &segment.index
                && listed.len() as u64 > segment.entries()
            {
                let listed_end = segment.base + listed.len() as u64;
                if is_last {
                    cut = Some(Cut {
                        offsets: kept_end..listed_end,
                        committed: true,
                        quarantine: quarantine.path().to_path_buf(),
                    });
                } else {
                    new_holes.push(kept_end..listed_end);
                    touched.push(segment.base);
                    if segment.offsets.is_empty() {
                        // Nothing left to list: a sealed segment with no entry has no
                        // index (no index that lists no entry is written).
                        journal.remove(&segment.index_path)?;
                    } else {
                        let pending = pending_path(&segment.index_path);
                        let (base, codec) = (segment.base, segment.codec);
                        store_fs::write_index(dir, &pending, base, codec, &segment.offsets)?;
                        journal.install(&segment.index_path)?;
                        actions.push(Action::IndexRebuilt {
                            segment: segment.base,
                            entries: segment.entries(),
                        });
                    }
                }
            }
            continue;
        }
        touched.push(segment.base);
        let data = std::fs::read(&segment.data_path).io_context("read", &segment.data_path)?;
        let walk = match &segment.index {
            IndexState::Valid(listed)
                if listed.starts_with(&segment.offsets)
                    && listed.len() as u64 > segment.entries() =>
            {
                walk_with_index(segment.codec, &data, listed)
            }
            _ => walk_by_size(segment, &data),
        };
        // A sealed segment ends where the next one begins (its name says so): records
        // found past that position belong to no entry and go with the rest of the tail.
        let mut walk = walk;
        if let Some(next) = analysis.segments.get(i + 1) {
            walk.clamp(next.base.saturating_sub(segment.base));
        }
        let file_len = data.len() as u64;
        // Everything from the first record not kept in place is copied to quarantine.
        let first_moved = walk
            .runs
            .first()
            .filter(|r| r.first == 0)
            .map_or(0, |r| r.records.last().map_or(0, |&(_, end)| end));
        if segment.written_len > u64::from(first_moved) {
            let tail = data
                .get(
                    first_moved as usize
                        ..usize::try_from(segment.written_len).unwrap_or(usize::MAX),
                )
                .unwrap_or_default();
            let to = quarantine.keep_bytes(
                &segment.data_path,
                u64::from(first_moved),
                tail,
                "skip-corrupted",
            )?;
            actions.push(Action::TailCut {
                segment: segment.base,
                file_offset: first_moved,
                bytes: tail.len() as u64,
                quarantined_to: to,
            });
        }
        let last_of_log = is_last || !walk.complete;
        let run_count = walk.runs.len();
        let keeps_first = walk.runs.first().is_some_and(|r| r.first == 0);
        if walk.runs.is_empty() && last_of_log {
            kept_bases.push(segment.base);
        }
        if walk.runs.is_empty() && last_of_log {
            // Nothing kept of the segment the log ends in: it stays, emptied, as the
            // active segment, so that the log keeps its end offset (offsets never go
            // back, and a hole before it stays a gap between segments) and the segment
            // before it stays sealed.
            store_fs::create_with_content(dir, &pending_path(&segment.data_path), &[], file_len)?;
            journal.install(&segment.data_path)?;
            if segment.index_path.exists() {
                journal.remove(&segment.index_path)?;
                actions.push(Action::ActiveIndexRemoved {
                    segment: segment.base,
                });
            }
        } else if !keeps_first {
            journal.remove(&segment.index_path)?;
            journal.remove(&segment.data_path)?;
        }
        for (r, run) in walk.runs.iter().enumerate() {
            let base = segment.base + run.first;
            let (Some(&(start, _)), Some(&(_, end))) = (run.records.first(), run.records.last())
            else {
                continue;
            };
            let bytes = data.get(start as usize..end as usize).unwrap_or_default();
            let active = last_of_log && r + 1 == run_count;
            let len = if active {
                file_len.max(bytes.len() as u64)
            } else {
                bytes.len() as u64
            };
            kept_bases.push(base);
            let data_path = naming::data_path(dir, base, segment.codec);
            let index_path = naming::index_path(dir, base, segment.codec);
            store_fs::create_with_content(dir, &pending_path(&data_path), bytes, len)?;
            journal.install(&data_path)?;
            if active {
                if index_path.exists() {
                    journal.remove(&index_path)?;
                    actions.push(Action::ActiveIndexRemoved { segment: base });
                }
            } else {
                let offsets: Vec<u32> = run.records.iter().map(|&(s, _)| s - start).collect();
                let pending = pending_path(&index_path);
                store_fs::write_index(dir, &pending, base, segment.codec, &offsets)?;
                journal.install(&index_path)?;
                actions.push(Action::IndexRebuilt {
                    segment: base,
                    entries: offsets.len() as u64,
                });
            }
            if run.first > 0 {
                actions.push(Action::SegmentSplit {
                    segment: segment.base,
                    into: base,
                });
            }
        }
        new_holes.extend(
            walk.holes
                .iter()
                .map(|h| segment.base + h.start..segment.base + h.end),
        );
        if let Some(&(start, _)) = walk.runs.last().and_then(|r| r.records.last()) {
            kept_crc = valid_record(segment.codec, &data, start).and_then(|(_, _, crc)| crc);
        }
        kept_end = walk.runs.last().map_or(segment.base, |r| {
            segment.base + r.first + r.records.len() as u64
        });
        // A damaged end of a sealed segment: the hole runs up to the next segment.
        if !is_last && walk.complete {
            let kept_end = walk.runs.last().map_or(segment.base, |r| {
                segment.base + r.first + r.records.len() as u64
            });
            if let Some(next) = analysis.segments.get(i + 1)
                && next.base > kept_end
            {
                new_holes.push(kept_end..next.base);
            }
        }
        if !walk.complete {
            let kept_end = walk.runs.last().map_or(segment.base, |r| {
                segment.base + r.first + r.records.len() as u64
            });
            let reached = analysis
                .segments
                .iter()
                .map(|s| s.base + s.reached_entries())
                .max()
                .unwrap_or(kept_end);
            let committed = kept_end < analysis.committed_end;
            let end = reached.max(kept_end);
            cut = Some(Cut {
                offsets: kept_end..if committed {
                    end.max(analysis.committed_end)
                } else {
                    end
                },
                committed,
                quarantine: quarantine.path().to_path_buf(),
            });
            stop_after = Some(i);
            break;
        }
    }
    // Entries the caller's commit offset names past the end of what is kept: gone, and
    // said so, as a point-in-time cut would.
    let commit_end = analysis.commit_offset.map_or(0, |c| c.saturating_add(1));
    if cut.is_none() && commit_end > kept_end && stop_after.is_none() {
        cut = Some(Cut {
            offsets: kept_end..commit_end,
            committed: true,
            quarantine: quarantine.path().to_path_buf(),
        });
    }
    let last_kept = stop_after.unwrap_or(count.saturating_sub(1));
    if stop_after.is_some() {
        for later in analysis.segments.iter().skip(last_kept + 1).rev() {
            for path in [&later.index_path, &later.data_path] {
                if path.exists() {
                    let to = quarantine.keep_file(path, "after the recovery cut")?;
                    actions.push(Action::FileQuarantined {
                        from: path.clone(),
                        to,
                    });
                }
            }
        }
    }
    crate::repair::housekeeping(analysis, last_kept, &mut quarantine, &mut actions, &touched)?;
    // Merge adjacent holes: the store expects each gap to be exactly one recorded hole.
    new_holes.sort_by_key(|h| h.start);
    let mut merged: Vec<Range<u64>> = Vec::new();
    for hole in new_holes {
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
    if merged != analysis.holes {
        let path = holes::holes_path(dir);
        store_fs::write_atomically(
            dir,
            &pending_path(&path),
            holes::encode_holes(&merged).as_bytes(),
        )?;
        journal.install(&path)?;
        for hole in merged.iter().filter(|h| !analysis.holes.contains(h)) {
            actions.push(Action::HoleLeft {
                offsets: hole.clone(),
            });
        }
    }
    quarantine.finish()?;
    journal.commit(dir)?;
    Ok(Applied { actions, cut })
}
