//! Deciding what a mode does with the problems found, and doing it.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use wal_store::internal::{fs as store_fs, sys};

use crate::analyze::{Analysis, SegmentScan};
use crate::error::{IoContext, RecoveryError, Result};
use crate::mode::RecoveryMode;
use crate::problem::{Problem, ProblemKind};
use crate::quarantine::Quarantine;
use crate::report::{Action, Cut};

/// Where the log is cut: segment `segment` keeps its first `keep` records (ending at
/// `file_offset`); every later segment goes.
#[derive(Debug, Clone, Copy)]
struct CutPoint {
    segment: usize,
    keep: u64,
    file_offset: u32,
    committed: bool,
}

/// What a mode will do.
#[derive(Debug, Default)]
struct Plan {
    cut: Option<CutPoint>,
}

fn segment_index_of(analysis: &Analysis, base: Option<u64>) -> Option<usize> {
    let base = base?;
    analysis.segments.iter().position(|s| s.base == base)
}

/// The cut that removes `problem` and everything after it.
fn cut_for(analysis: &Analysis, problem: &Problem) -> Option<CutPoint> {
    let i = segment_index_of(analysis, problem.segment)?;
    let segment = analysis.segments.get(i)?;
    match problem.kind {
        // Everything from the segment's first entry on is suspect: keep the segment
        // before whole, drop this one's entries (its file stays, emptied, if it is the
        // first one, so that the log keeps its base offset).
        ProblemKind::SegmentGap | ProblemKind::SegmentOverlap if i > 0 => {
            let prev = analysis.segments.get(i - 1)?;
            Some(CutPoint {
                segment: i - 1,
                keep: prev.entries(),
                file_offset: prev.valid_len,
                committed: problem.committed,
            })
        }
        ProblemKind::ChainBreak if problem.file_offset == Some(0) => Some(CutPoint {
            segment: i,
            keep: 0,
            file_offset: 0,
            committed: problem.committed,
        }),
        _ => Some(CutPoint {
            segment: i,
            keep: segment.entries(),
            file_offset: segment.valid_len,
            committed: problem.committed,
        }),
    }
}

/// The earliest of the cuts the data problems call for (two problems at one offset, say
/// an overlap and a damaged first record, may call for cuts in different segments: the
/// later cut would keep the other problem).
fn earliest_cut<'a>(
    analysis: &Analysis,
    data_problems: impl Iterator<Item = &'a Problem>,
) -> Option<CutPoint> {
    data_problems
        .filter_map(|p| cut_for(analysis, p))
        .min_by_key(|c| (c.segment, c.keep))
}

/// The first entry `PointInTime` would cut, if it would cut any: where its cut lands.
pub(crate) fn point_in_time_cut_from(analysis: &Analysis) -> Option<u64> {
    let data_problems = analysis.problems.iter().filter(|p| p.kind.is_data());
    let point = earliest_cut(analysis, data_problems)?;
    analysis
        .segments
        .get(point.segment)
        .map(|s| s.base.saturating_add(point.keep))
}

fn decide(analysis: &Analysis, mode: RecoveryMode) -> Result<Plan> {
    let data_problems = analysis.problems.iter().filter(|p| p.kind.is_data());
    match mode {
        RecoveryMode::AbsoluteConsistency => {
            let refused: Vec<Problem> = analysis
                .problems
                .iter()
                .filter(|p| !p.is_informational() && p.kind != ProblemKind::TempFile)
                .cloned()
                .collect();
            if refused.is_empty() {
                Ok(Plan::default())
            } else {
                Err(RecoveryError::Inconsistent { problems: refused })
            }
        }
        // Damage the consumer has consumed stays where it is, set aside: it costs no
        // entry after the cursor, and the caller may trim it (`trim_consumed_damage`).
        RecoveryMode::TolerateCorruptTail => {
            if let Some(committed) = analysis
                .problems
                .iter()
                .find(|p| p.kind.is_data() && p.committed && !p.consumed)
            {
                return Err(RecoveryError::CommittedCorruption {
                    problem: Box::new(committed.clone()),
                    problems: analysis.problems.clone(),
                    advice: crate::advice::Advice::of(analysis),
                });
            }
            Ok(Plan {
                cut: earliest_cut(analysis, data_problems.filter(|p| !p.consumed)),
            })
        }
        RecoveryMode::PointInTime | RecoveryMode::SkipCorrupted => Ok(Plan {
            cut: earliest_cut(analysis, data_problems),
        }),
    }
}

/// Makes the index of a sealed segment that stays agree with its data: rebuilt from its
/// records, or, for a segment with no entry (which has no index: none that lists no entry
/// is written), the damaged file moved to quarantine, since the store would refuse it.
pub(crate) fn mend_index(
    segment: &SegmentScan,
    quarantine: &mut Quarantine,
    actions: &mut Vec<Action>,
) -> Result<()> {
    if !segment.offsets.is_empty() {
        write_index(segment, &segment.offsets)?;
        actions.push(Action::IndexRebuilt {
            segment: segment.base,
            entries: segment.entries(),
        });
    } else if segment.index_path.exists() {
        let to = quarantine.keep_file(&segment.index_path, "index of a segment with no entry")?;
        actions.push(Action::FileQuarantined {
            from: segment.index_path.clone(),
            to,
        });
    }
    Ok(())
}

pub(crate) fn write_index(segment: &SegmentScan, offsets: &[u32]) -> Result<()> {
    let dir = segment
        .index_path
        .parent()
        .ok_or_else(|| RecoveryError::InvalidArgument("index path has no directory".to_owned()))?;
    store_fs::write_index(
        dir,
        &segment.index_path,
        segment.base,
        segment.codec,
        offsets,
    )?;
    Ok(())
}

/// The outcome of applying a mode.
pub(crate) struct Applied {
    pub(crate) actions: Vec<Action>,
    pub(crate) cut: Option<Cut>,
}

/// Applies `mode` to the analysed directory. The caller holds the directory's lock.
/// Order, so that a crash at any step leaves a directory the next recovery handles the
/// same way: copies into quarantine first (synced), then later segments moved out, then
/// the tail zeroed and synced, then indexes rebuilt, then leftovers removed.
pub(crate) fn apply(analysis: &Analysis, mode: RecoveryMode) -> Result<Applied> {
    if mode == RecoveryMode::SkipCorrupted {
        return crate::skip::apply(analysis);
    }
    let plan = decide(analysis, mode)?;
    let mut actions = Vec::new();
    if mode == RecoveryMode::AbsoluteConsistency {
        return Ok(Applied { actions, cut: None });
    }
    // The store's close record goes (durably) before a cut changes the active segment.
    if plan.cut.is_some() {
        wal_store::internal::closed::consume(&analysis.dir)?;
    }
    let mut quarantine = Quarantine::new(&analysis.dir);
    let mut cut = None;
    let last_kept = plan
        .cut
        .map_or(analysis.segments.len().saturating_sub(1), |c| c.segment);

    if let Some(point) = plan.cut
        && let Some(segment) = analysis.segments.get(point.segment)
    {
        let from = segment.base.saturating_add(point.keep);
        // The offsets that went: as far as any record or index showed, and at least to
        // the commit point when the cut reaches below it.
        let end = analysis
            .reached_end()
            .unwrap_or(from)
            .max(from)
            .max(if point.committed {
                analysis.committed_end
            } else {
                from
            });
        quarantine_later_segments(analysis, point.segment, &mut quarantine, &mut actions)?;
        // The segment becomes the active one: its index goes first, so that a crash
        // after the zeroing never leaves an index listing entries the data lacks.
        remove_active_index(analysis, segment, &mut actions)?;
        // The cut segment's tail: copy, then zero in place.
        zero_tail(
            segment,
            point.file_offset,
            &mut quarantine,
            &mut actions,
            "cut by recovery",
        )?;
        cut = Some(Cut {
            offsets: from..end,
            committed: point.committed,
            quarantine: quarantine.path().to_path_buf(),
        });
    }

    let sets_aside = mode == RecoveryMode::TolerateCorruptTail;
    housekeeping(
        analysis,
        last_kept,
        &mut quarantine,
        &mut actions,
        &[],
        sets_aside,
    )?;
    remove_temp_files(analysis, &mut actions)?;
    quarantine.finish()?;
    Ok(Applied { actions, cut })
}

/// Moves the files of every segment after the `last_kept`-th to quarantine, whole,
/// newest first.
pub(crate) fn quarantine_later_segments(
    analysis: &Analysis,
    last_kept: usize,
    quarantine: &mut Quarantine,
    actions: &mut Vec<Action>,
) -> Result<()> {
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
    Ok(())
}

/// Copies the bytes of `segment` from `file_offset` to its last non-zero byte into
/// quarantine, then zeroes them in place and syncs.
fn zero_tail(
    segment: &SegmentScan,
    file_offset: u32,
    quarantine: &mut Quarantine,
    actions: &mut Vec<Action>,
    why: &str,
) -> Result<()> {
    let start = u64::from(file_offset);
    if segment.written_len <= start {
        return Ok(());
    }
    let file = sys::open(
        OpenOptions::new().read(true).write(true),
        &segment.data_path,
    )
    .io_context("open", &segment.data_path)?;
    let len = usize::try_from(segment.written_len - start)
        .map_err(|_| RecoveryError::InvalidArgument("cut larger than memory".to_owned()))?;
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, start)
        .io_context("read", &segment.data_path)?;
    let to = quarantine.keep_bytes(&segment.data_path, start, &bytes, why)?;
    store_fs::zero_tail(&file, start..segment.written_len, &segment.data_path)
        .io_context("zero", &segment.data_path)?;
    sys::fsync(&file, &segment.data_path).io_context("fsync", &segment.data_path)?;
    actions.push(Action::TailCut {
        segment: segment.base,
        file_offset,
        bytes: len as u64,
        quarantined_to: to,
    });
    Ok(())
}

/// Removes the index file of the segment that is (or becomes) the active one.
fn remove_active_index(
    analysis: &Analysis,
    segment: &SegmentScan,
    actions: &mut Vec<Action>,
) -> Result<()> {
    if store_fs::remove_if_present(&segment.index_path)? {
        store_fs::sync_dir(&analysis.dir)?;
        actions.push(Action::ActiveIndexRemoved {
            segment: segment.base,
        });
    }
    Ok(())
}

/// What every mode but `AbsoluteConsistency` does besides cutting: files shadowed by a
/// newer codec and empty segments go to quarantine, sealed segments that stay get an index
/// that agrees with their data, the last one kept loses its index (the active segment's
/// index is rebuilt by scanning). Segments in
/// `touched` were rewritten by the caller and are left alone. With `sets_aside` (the
/// default mode, whose store sets consumed damage aside), the segments of damage the
/// consumer has consumed are left as they are; the other modes repair them as any.
pub(crate) fn housekeeping(
    analysis: &Analysis,
    last_kept: usize,
    quarantine: &mut Quarantine,
    actions: &mut Vec<Action>,
    touched: &[u64],
    sets_aside: bool,
) -> Result<()> {
    settle_corrupt_holes_file(analysis, quarantine, actions)?;
    settle_corrupt_seed_file(analysis, quarantine, actions)?;
    // A damaged `META` stays where it is: see `analyze::meta`.
    // Files shadowed by a newer codec's data file, and empty segments in the middle.
    for path in &analysis.duplicates {
        if path.exists() {
            let to = quarantine.keep_file(path, "shadowed by a newer codec's data file")?;
            actions.push(Action::FileQuarantined {
                from: path.clone(),
                to,
            });
        }
    }
    for (i, segment) in analysis.segments.iter().enumerate().take(last_kept) {
        let empty = analysis.problems.iter().any(|p| {
            p.kind == ProblemKind::EmptySegment
                && !(p.consumed && sets_aside)
                && p.segment == Some(segment.base)
        });
        if empty {
            for path in [&segment.index_path, &segment.data_path] {
                if path.exists() {
                    let to = quarantine.keep_file(path, "empty segment between non-empty ones")?;
                    actions.push(Action::FileQuarantined {
                        from: path.clone(),
                        to,
                    });
                }
            }
            continue;
        }
        // Sealed segments that stay need an index that agrees with their data.
        // (A sealed segment with no entry needs none: no index that lists no entry is
        // written.) A damaged one set aside keeps its own: it still tells where its
        // entries were.
        let set_aside = sets_aside && set_aside_damaged(analysis, segment.base);
        if i < last_kept
            && !segment.index_matches()
            && !touched.contains(&segment.base)
            && !set_aside
        {
            mend_index(segment, quarantine, actions)?;
        }
    }
    // Garbage in the unused tail of sealed segments: no entry, but zeros belong there.
    for segment in analysis.segments.iter().take(last_kept) {
        let set_aside = sets_aside && set_aside_damaged(analysis, segment.base);
        if segment.tail_garbage && !touched.contains(&segment.base) && !set_aside {
            zero_tail(
                segment,
                segment.valid_len,
                quarantine,
                actions,
                "garbage after the last entry",
            )?;
        }
    }
    // The last segment kept is the active one: no index file.
    if let Some(segment) = analysis.segments.get(last_kept)
        && !touched.contains(&segment.base)
    {
        remove_active_index(analysis, segment, actions)?;
    }
    Ok(())
}

/// Whether the segment at `base` holds damage the consumer has consumed, which the
/// default mode leaves in place (set aside by the store) instead of cutting: a gap is
/// the segment after it's, and that one is not set aside.
fn set_aside_damaged(analysis: &Analysis, base: u64) -> bool {
    analysis.consumed_damage.as_ref().is_some_and(|range| {
        base < range.end
            && analysis.problems.iter().any(|p| {
                // Damage, not what leaving the segment as it is brings along (a
                // missing index, consumed too): a segment with no damage is mended.
                p.consumed
                    && p.segment == Some(base)
                    && (p.kind.is_data() || p.kind == ProblemKind::EmptySegment)
            })
    })
}

/// A holes file that cannot be read (its holes were treated as gaps): moved to
/// quarantine, or, when the log has gaps to record, copied there and rewritten with them.
fn settle_corrupt_holes_file(
    analysis: &Analysis,
    quarantine: &mut Quarantine,
    actions: &mut Vec<Action>,
) -> Result<()> {
    if let Some(path) = damaged_file(analysis, ProblemKind::HolesCorrupt) {
        if analysis.holes.is_empty() {
            let to = quarantine.keep_file(path, "a holes file that cannot be read")?;
            actions.push(Action::FileQuarantined {
                from: path.clone(),
                to,
            });
        } else {
            // It lists the gaps between segments and more: a copy goes to quarantine,
            // and the file is replaced by the gaps alone.
            let bytes = std::fs::read(path).io_context("read", path)?;
            let to = quarantine.keep_bytes(path, 0, &bytes, "a holes file listing no gap")?;
            wal_store::internal::holes::write_holes(&analysis.dir, &analysis.holes)?;
            actions.push(Action::HolesRewritten {
                holes: analysis.holes.clone(),
                quarantined_to: to,
            });
        }
    }
    Ok(())
}

/// A seed file that cannot be read: moved to quarantine. An empty log then takes its seed
/// from the options, as a log written before the file existed does; a log with entries
/// carries its chain in its records, and its next truncation to nothing or clear writes
/// the file again.
fn settle_corrupt_seed_file(
    analysis: &Analysis,
    quarantine: &mut Quarantine,
    actions: &mut Vec<Action>,
) -> Result<()> {
    if let Some(path) = damaged_file(analysis, ProblemKind::SeedCorrupt) {
        // The segments the start put below it were never analysed: without the start
        // they would be read as part of the log, unchecked. They go first (a crash
        // between leaves them trimmed by the seed file still there).
        for trimmed in analysis.trimmed_files.iter().filter(|p| p.exists()) {
            let to = quarantine.keep_file(trimmed, "below the start of a seed file set aside")?;
            actions.push(Action::FileQuarantined {
                from: trimmed.clone(),
                to,
            });
        }
        let to = quarantine.keep_file(
            path,
            "a seed file that cannot be read, or that the chain disagrees with",
        )?;
        actions.push(Action::FileQuarantined {
            from: path.clone(),
            to,
        });
    }
    Ok(())
}

/// The file a problem of `kind` names, if the analysis found one and it is still there.
fn damaged_file(analysis: &Analysis, kind: ProblemKind) -> Option<&PathBuf> {
    analysis
        .problems
        .iter()
        .find(|p| p.kind == kind)
        .and_then(|p| p.path.as_ref())
        .filter(|path| path.exists())
}

/// Removes the leftover temporary files the analysis found. `SkipCorrupted` does it
/// before it stages its own `*.pending` files (a leftover may have the same name).
pub(crate) fn remove_temp_files(analysis: &Analysis, actions: &mut Vec<Action>) -> Result<()> {
    for path in &analysis.temp_files {
        if store_fs::remove_if_present(path)? {
            actions.push(Action::TempFileRemoved { path: path.clone() });
        }
    }
    if !analysis.temp_files.is_empty() {
        store_fs::sync_dir(&analysis.dir)?;
    }
    Ok(())
}
