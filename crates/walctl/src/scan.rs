//! A read-only walk over a log's segment files, for `dump`, `stat` and `replay`.
//!
//! It takes no lock, maps nothing and creates no file: each data file is read with
//! `std::fs::read` and checked with `wal_format::Scanner`, seeding each segment's chain
//! with the last crc of the one before, so that the whole log is checked, not only each
//! file. The entries of the *valid prefix* (up to the first problem) are handed to the
//! caller; segments after a problem are still summarized for `stat`.

use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;

use wal_format::{Codec, ScanEnd, Scanner};
use wal_recovery::ProblemKind;
use wal_store::StoreError;
use wal_store::layout::{self, IndexFit, IndexState, Join, SegmentFiles};

use crate::error::{CliError, IoContext, Result};

/// One entry of the valid prefix, borrowing its payload from the segment's bytes.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    pub offset: u64,
    /// Base offset of the segment holding it.
    pub segment: u64,
    pub codec: Codec,
    pub file_offset: u32,
    pub prev_crc: Option<u32>,
    pub crc: Option<u32>,
    pub payload: &'a [u8],
}

/// What `stat` says about a segment's index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexStatus {
    /// A sealed segment's index file, read and held against the records of its data.
    Checked(IndexFit),
    /// The last segment, which is written to and has no index.
    Active,
    /// Not looked at.
    Unchecked,
}

impl IndexStatus {
    pub fn name(self) -> &'static str {
        match self {
            IndexStatus::Checked(IndexFit::Matches) => "ok",
            IndexStatus::Checked(IndexFit::Missing) => "missing",
            IndexStatus::Checked(IndexFit::Corrupt) => "corrupt",
            // A valid index that disagrees with the records of the data, or lists more.
            IndexStatus::Checked(IndexFit::ListsMore | IndexFit::Disagrees) => "stale",
            IndexStatus::Active => "active",
            IndexStatus::Unchecked => "unchecked",
        }
    }
}

/// One segment as read.
#[derive(Debug, Clone)]
pub struct SegmentSummary {
    pub base: u64,
    pub codec: Codec,
    /// Valid records from the start of the file.
    pub entries: u64,
    /// Bytes of those records.
    pub data_bytes: u64,
    pub index: IndexStatus,
}

/// The first problem met, where the valid prefix ends. Kinds use the recovery crate's
/// names for the same findings.
#[derive(Debug, Clone)]
pub struct LogProblem {
    pub kind: &'static str,
    pub segment: Option<u64>,
    /// The first entry offset it affects.
    pub offset: Option<u64>,
    pub file_offset: Option<u32>,
    pub detail: String,
}

impl fmt::Display for LogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)?;
        if let Some(segment) = self.segment {
            write!(f, " in segment {segment}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " at entry {offset}")?;
        }
        if let Some(file_offset) = self.file_offset {
            write!(f, " (file offset {file_offset})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// What a walk found.
#[derive(Debug, Clone, Default)]
pub struct ScanOutcome {
    /// Every segment read (all of them unless the walk stopped early).
    pub segments: Vec<SegmentSummary>,
    /// The first problem, if any: the valid prefix ends there.
    pub problem: Option<LogProblem>,
    /// Base offset of the first segment, if there is one.
    pub first_offset: Option<u64>,
    /// One past the last entry of the valid prefix, if there is a segment.
    pub valid_end: Option<u64>,
    /// Crc of the last entry of the valid prefix (v2).
    pub last_crc: Option<u32>,
    /// Whether the caller stopped the walk before its end.
    pub stopped_early: bool,
}

impl ScanOutcome {
    /// Entries of the valid prefix.
    pub fn entries(&self) -> u64 {
        match (self.first_offset, self.valid_end) {
            (Some(first), Some(end)) => end.saturating_sub(first),
            _ => 0,
        }
    }

    /// The last offset of the valid prefix, if it holds an entry.
    pub fn last_offset(&self) -> Option<u64> {
        (self.entries() > 0)
            .then_some(self.valid_end)
            .flatten()
            .map(|end| end - 1)
    }
}

/// What to do besides handing out entries.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Read every segment even after a problem (for a summary); otherwise stop there.
    pub past_problems: bool,
    /// Read and check sealed segments' index files.
    pub check_indexes: bool,
    /// Skip the segments wholly before this offset (each one whose successor starts at
    /// or before it): `replay` never reaches them, so damage there (in entries the
    /// consumer consumed) does not stop it, as it does not stop recovery's default mode.
    /// The walk starts at the first segment kept, with no chain check into it.
    pub from: u64,
}

fn index_status(segment: &SegmentFiles, offsets: &[u32]) -> Result<IndexStatus> {
    let source = segment.index_source.as_deref();
    let index = IndexState::read(segment.codec, source)
        .context("read", source.unwrap_or(&segment.index_path))?;
    Ok(IndexStatus::Checked(index.fit(offsets)))
}

/// Walks the log in `dir`, calling `on_entry` for each entry of the valid prefix, oldest
/// first, until it returns `Break`. `dir` must exist. The files are read as the next
/// holder of the lock will find them (`wal_recovery::read_layout`): an interrupted
/// journaled change (a migration, a split around a hole) is rolled forward in memory,
/// never on disk.
pub fn scan_log(
    dir: &Path,
    options: ScanOptions,
    mut on_entry: impl FnMut(&EntryView<'_>) -> Result<ControlFlow<()>>,
) -> Result<ScanOutcome> {
    let files = wal_recovery::read_layout(dir)?;
    if let Err(StoreError::Layout { segment, detail }) = files.segments_without_duplicates() {
        let problem = LogProblem {
            kind: ProblemKind::DuplicateCodec.name(),
            segment: Some(segment),
            offset: None,
            file_offset: None,
            detail,
        };
        return Ok(ScanOutcome {
            problem: Some(problem),
            ..ScanOutcome::default()
        });
    }
    // Gaps recovery left on purpose (SkipCorrupted): stepped over, and the chain is not
    // checked across them. A damaged holes file makes every gap a problem again; one that
    // cannot be read is an I/O error, which says nothing about the holes.
    let holes = match files.read_holes() {
        Ok(holes) => holes,
        Err(StoreError::Layout { .. }) => Vec::new(),
        Err(e) => return Err(CliError::from(e)),
    };
    // Where the log starts (the SEED file): segments wholly below it are trimmed and
    // not read, entries below it are not handed out, and a reset under way leaves no
    // segment. A damaged file says nothing: the first record is the start, as after
    // recovery moves it to quarantine.
    let start = files.read_start().ok().flatten();
    let outcome = walk_log(&files, &holes, start, options, &mut on_entry)?;
    // A plain start past every record is no empty log: entries were lost (no store
    // operation leaves one). As recovery does, the records read as they are, from the
    // first, and the lost entries are the problem they end at. (Entries below the start
    // were not handed out, so none is handed out twice.)
    match start {
        Some(start)
            if !start.resetting
                && outcome.problem.is_none()
                && outcome
                    .segments
                    .last()
                    .is_some_and(|last| start.offset > last.base + last.entries) =>
        {
            let mut outcome = walk_log(&files, &holes, None, options, &mut on_entry)?;
            if outcome.problem.is_none() {
                let end = outcome.valid_end.unwrap_or(start.offset);
                outcome.problem = Some(LogProblem {
                    kind: ProblemKind::MissingEntries.name(),
                    segment: outcome.segments.last().map(|s| s.base),
                    offset: Some(end),
                    file_offset: None,
                    detail: format!(
                        "the SEED file says the log starts at {}: entries {end}..{} are missing",
                        start.offset, start.offset
                    ),
                });
            }
            Ok(outcome)
        }
        _ => Ok(outcome),
    }
}

/// Walks the segments of `files` from the log's `start` (see [`scan_log`]).
fn walk_log(
    files: &layout::DirLayout,
    holes: &[std::ops::Range<u64>],
    start: Option<layout::LogStart>,
    options: ScanOptions,
    on_entry: &mut impl FnMut(&EntryView<'_>) -> Result<ControlFlow<()>>,
) -> Result<ScanOutcome> {
    let below = files.segments_below(start.as_ref());
    let skipped = files
        .segments
        .windows(2)
        .take_while(|pair| matches!(pair, [_, next] if next.base <= options.from))
        .count();
    let listed = files.segments.get(below.max(skipped)..).unwrap_or_default();
    let first_base = listed.first().map(|segment| segment.base);
    let start_offset = start.map_or(0, |s| s.offset);
    let first_offset = match (first_base, start) {
        (Some(base), _) => Some(base.max(start_offset)),
        (None, Some(start)) if start.resetting => Some(start.offset),
        (None, _) => None,
    };
    let mut walk = Walk {
        options,
        outcome: ScanOutcome {
            first_offset,
            valid_end: first_offset,
            ..ScanOutcome::default()
        },
        in_prefix: true,
        expected_base: None,
        seed: None,
        start: start_offset,
    };
    for (i, segment) in listed.iter().enumerate() {
        if walk.check_boundary(segment.base, holes).is_break() {
            break;
        }
        let is_last = i + 1 == listed.len();
        if walk.segment(segment, is_last, on_entry)?.is_break() {
            break;
        }
    }
    let mut outcome = walk.outcome;
    // A reset under way: the empty log continuing there.
    if let Some(start) = start
        && start.resetting
        && outcome.problem.is_none()
    {
        outcome.first_offset = Some(start.offset);
        outcome.valid_end = Some(start.offset);
        outcome.last_crc = Some(start.crc);
        outcome.segments.clear();
    }
    Ok(outcome)
}

/// A walk over the segments, in order.
struct Walk {
    options: ScanOptions,
    outcome: ScanOutcome,
    /// Whether everything so far was valid: entries are handed out only then.
    in_prefix: bool,
    /// Where the next segment must start, when known.
    expected_base: Option<u64>,
    /// The crc the next segment's first record must chain from, when known.
    seed: Option<u32>,
    /// The log's logical start: entries below it are trimmed, not handed out.
    start: u64,
}

impl Walk {
    /// How the segment at `base` joins the one before: across a recorded hole the walk
    /// goes on with no chain across; a gap or an overlap ends the valid prefix. `Break`
    /// when the walk stops there.
    fn check_boundary(&mut self, base: u64, holes: &[std::ops::Range<u64>]) -> ControlFlow<()> {
        let Some(expected) = self.expected_base else {
            return ControlFlow::Continue(());
        };
        let join = layout::join(expected, base, holes);
        let kind = match join {
            Join::Continues => return ControlFlow::Continue(()),
            Join::Hole(_) => {
                self.expected_base = Some(base);
                self.seed = None;
                return ControlFlow::Continue(());
            }
            // Only the first problem is reported: it ends the valid prefix.
            _ if !self.in_prefix => return ControlFlow::Continue(()),
            Join::Gap { .. } => ProblemKind::SegmentGap,
            Join::Overlap { .. } => ProblemKind::SegmentOverlap,
        };
        self.end_prefix(LogProblem {
            kind: kind.name(),
            segment: Some(base),
            offset: Some(expected.min(base)),
            file_offset: None,
            detail: join.problem_detail(base).unwrap_or_default(),
        })
    }

    /// The valid prefix ends at `problem`; `Break` unless the walk reads past problems.
    fn end_prefix(&mut self, problem: LogProblem) -> ControlFlow<()> {
        self.outcome.problem = Some(problem);
        self.in_prefix = false;
        if self.options.past_problems {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    /// Reads the segment at `base`, handing out its records while the prefix is valid
    /// and summarizing it; `Break` when the walk stops (the caller stopped it, or a
    /// problem ended the prefix).
    fn segment(
        &mut self,
        files: &SegmentFiles,
        is_last: bool,
        on_entry: &mut impl FnMut(&EntryView<'_>) -> Result<ControlFlow<()>>,
    ) -> Result<ControlFlow<()>> {
        let (base, codec) = (files.base, files.codec);
        let path = &files.data_source;
        let data = std::fs::read(path).context("read", path)?;
        let mut scanner = Scanner::new(codec, &data);
        if let Some(seed) = self.seed {
            scanner = scanner.with_seed(seed);
        }
        let mut offsets = Vec::new();
        for record in scanner.by_ref() {
            if self.options.check_indexes {
                offsets.push(record.file_offset.0);
            }
            if !self.in_prefix {
                continue;
            }
            let offset = base + u64::from(record.index);
            if offset < self.start {
                if record.crc.is_some() {
                    self.outcome.last_crc = record.crc;
                }
                continue;
            }
            let entry = EntryView {
                offset,
                segment: base,
                codec,
                file_offset: record.file_offset.0,
                prev_crc: record.prev_crc,
                crc: record.crc,
                payload: record.payload,
            };
            if on_entry(&entry)?.is_break() {
                self.outcome.stopped_early = true;
                return Ok(ControlFlow::Break(()));
            }
            self.outcome.valid_end = Some(entry.offset + 1);
            if record.crc.is_some() {
                self.outcome.last_crc = record.crc;
            }
        }
        let entries = u64::from(scanner.records());
        let index = if is_last {
            IndexStatus::Active
        } else if self.options.check_indexes {
            index_status(files, &offsets)?
        } else {
            IndexStatus::Unchecked
        };
        self.outcome.segments.push(SegmentSummary {
            base,
            codec,
            entries,
            data_bytes: u64::from(scanner.valid_len().0),
            index,
        });
        if !codec.has_crc() && self.in_prefix {
            self.outcome.last_crc = None;
        }
        self.expected_base = base.checked_add(entries);
        self.seed = layout::crc_after(codec, entries, scanner.last_crc(), self.seed);
        let Some(ScanEnd::Problem(problem)) = scanner.end().cloned() else {
            return Ok(ControlFlow::Continue(()));
        };
        self.seed = None;
        if !self.in_prefix {
            return Ok(ControlFlow::Continue(()));
        }
        let file_offset = problem.file_offset().map_or(scanner.valid_len().0, |o| o.0);
        Ok(self.end_prefix(LogProblem {
            kind: ProblemKind::of_data(&problem).name(),
            segment: Some(base),
            offset: Some(base + entries),
            file_offset: Some(file_offset),
            detail: problem.to_string(),
        }))
    }
}
