//! A read-only walk over a log's segment files, for `dump`, `stat` and `replay`.
//!
//! It takes no lock, maps nothing and creates no file: each data file is read with
//! `std::fs::read` and checked with `wal_format::Scanner`, seeding each segment's chain
//! with the last crc of the one before, so that the whole log is checked, not only each
//! file. The entries of the *valid prefix* (up to the first problem) are handed to the
//! caller; segments after a problem are still summarized for `stat`.

use std::fmt;
use std::io;
use std::ops::ControlFlow;
use std::path::Path;

use wal_format::{Codec, FormatError, IndexView, ScanEnd, Scanner};
use wal_recovery::{DirView, RecoveryError};
use wal_store::{StoreError, naming};

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

/// The state of a segment's index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexStatus {
    /// A valid index that lists exactly the records of the data.
    Ok,
    /// A sealed segment without an index file.
    Missing,
    /// An index file that fails its own checks (length, crc, order).
    Corrupt,
    /// A valid index that disagrees with the records of the data.
    Stale,
    /// The last segment, which is written to and has no index.
    Active,
    /// Not looked at.
    Unchecked,
}

impl IndexStatus {
    pub fn name(self) -> &'static str {
        match self {
            IndexStatus::Ok => "ok",
            IndexStatus::Missing => "missing",
            IndexStatus::Corrupt => "corrupt",
            IndexStatus::Stale => "stale",
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
}

fn kind_of(problem: &FormatError) -> &'static str {
    match problem {
        FormatError::ChecksumMismatch { .. } => "crc_mismatch",
        FormatError::ChainBreak { .. } => "chain_break",
        FormatError::NonZeroAfterEnd { .. } => "garbage_after_end",
        _ => "out_of_bounds",
    }
}

fn index_status(view: &DirView, base: u64, codec: Codec, offsets: &[u32]) -> Result<IndexStatus> {
    let Some(path) = view.source(&naming::index_path(view.dir(), base, codec)) else {
        return Ok(IndexStatus::Missing);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(IndexStatus::Missing),
        Err(e) => return Err(e).context("read", &path),
    };
    Ok(match IndexView::parse(codec, &bytes) {
        Err(_) => IndexStatus::Corrupt,
        Ok(view) if view.iter().map(|o| o.0).eq(offsets.iter().copied()) => IndexStatus::Ok,
        Ok(_) => IndexStatus::Stale,
    })
}

/// Walks the log in `dir`, calling `on_entry` for each entry of the valid prefix, oldest
/// first, until it returns `Break`. `dir` must exist. The files are read as the next
/// holder of the lock will find them (`wal_recovery::DirView`): an interrupted journaled
/// change (a migration, a split around a hole) is rolled forward in memory, never on
/// disk.
pub fn scan_log(
    dir: &Path,
    options: ScanOptions,
    mut on_entry: impl FnMut(&EntryView<'_>) -> Result<ControlFlow<()>>,
) -> Result<ScanOutcome> {
    let mut outcome = ScanOutcome::default();
    let view = DirView::read(dir)?;
    let listed = match view.segments() {
        Ok(listed) => listed,
        Err(RecoveryError::Store(StoreError::Layout { segment, detail })) => {
            outcome.problem = Some(LogProblem {
                kind: "duplicate_codec",
                segment: Some(segment),
                offset: None,
                file_offset: None,
                detail,
            });
            return Ok(outcome);
        }
        Err(e) => return Err(CliError::from(e)),
    };
    let count = listed.len();
    outcome.first_offset = listed.first().map(|&(base, _)| base);
    outcome.valid_end = outcome.first_offset;
    // Whether everything so far was valid: entries are handed out only then.
    let mut in_prefix = true;
    let mut expected_base: Option<u64> = None;
    // The crc the next segment's first record must chain from, when known.
    let mut seed: Option<u32> = None;

    // Gaps recovery left on purpose (SkipCorrupted): stepped over, and the chain is not
    // checked across them. A damaged holes file makes every gap a problem again; one that
    // cannot be read is an I/O error, which says nothing about the holes.
    let holes = match view.holes() {
        Ok(holes) => holes,
        Err(RecoveryError::Store(StoreError::Layout { .. })) => Vec::new(),
        Err(e) => return Err(CliError::from(e)),
    };
    for (i, &(base, codec)) in listed.iter().enumerate() {
        let is_last = i + 1 == count;
        if let Some(expected) = expected_base
            && base > expected
            && holes.contains(&(expected..base))
        {
            expected_base = Some(base);
            seed = None;
        }
        if in_prefix
            && let Some(expected) = expected_base
            && expected != base
        {
            let (kind, detail) = if base > expected {
                (
                    "segment_gap",
                    format!("entries {expected}..{base} are in no segment"),
                )
            } else {
                (
                    "segment_overlap",
                    format!("the segment before holds entries up to {}", expected - 1),
                )
            };
            outcome.problem = Some(LogProblem {
                kind,
                segment: Some(base),
                offset: Some(expected.min(base)),
                file_offset: None,
                detail,
            });
            in_prefix = false;
            if !options.past_problems {
                break;
            }
        }

        let name = naming::data_path(dir, base, codec);
        let path = view.source(&name).unwrap_or(name);
        let data = std::fs::read(&path).context("read", &path)?;
        let mut scanner = Scanner::new(codec, &data);
        if let Some(seed) = seed {
            scanner = scanner.with_seed(seed);
        }
        let mut offsets = Vec::new();
        for record in scanner.by_ref() {
            if options.check_indexes {
                offsets.push(record.file_offset.0);
            }
            if in_prefix {
                let entry = EntryView {
                    offset: base + u64::from(record.index),
                    segment: base,
                    codec,
                    file_offset: record.file_offset.0,
                    prev_crc: record.prev_crc,
                    crc: record.crc,
                    payload: record.payload,
                };
                if on_entry(&entry)?.is_break() {
                    outcome.stopped_early = true;
                    return Ok(outcome);
                }
                outcome.valid_end = Some(entry.offset + 1);
                if record.crc.is_some() {
                    outcome.last_crc = record.crc;
                }
            }
        }
        let entries = u64::from(scanner.records());
        let index = if is_last {
            IndexStatus::Active
        } else if options.check_indexes {
            index_status(&view, base, codec, &offsets)?
        } else {
            IndexStatus::Unchecked
        };
        outcome.segments.push(SegmentSummary {
            base,
            codec,
            entries,
            data_bytes: u64::from(scanner.valid_len().0),
            index,
        });
        let end = scanner.end().cloned();
        if !codec.has_crc() && in_prefix {
            outcome.last_crc = None;
        }
        expected_base = base.checked_add(entries);
        seed = if codec.has_crc() {
            scanner.last_crc()
        } else {
            None
        };
        if let Some(ScanEnd::Problem(problem)) = end {
            seed = None;
            if in_prefix {
                outcome.problem = Some(LogProblem {
                    kind: kind_of(&problem),
                    segment: Some(base),
                    offset: Some(base + entries),
                    file_offset: Some(problem.file_offset().map_or(scanner.valid_len().0, |o| o.0)),
                    detail: problem.to_string(),
                });
                in_prefix = false;
                if !options.past_problems {
                    break;
                }
            }
        }
    }
    Ok(outcome)
}
