//! What recovery found and did: nothing is repaired silently.

use std::ops::Range;
use std::path::PathBuf;

use wal_format::Codec;

use crate::cursor::CursorState;
use crate::mode::RecoveryMode;
use crate::problem::Problem;

/// Something recovery changed on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// A segment's index was written anew from its data (temp file, fsync, rename,
    /// directory fsync).
    IndexRebuilt {
        /// Base offset of the segment.
        segment: u64,
        /// Entries in the new index.
        entries: u64,
    },
    /// The index file of the (new) last segment was removed: the active segment's index
    /// is always rebuilt by scanning.
    ActiveIndexRemoved {
        /// Base offset of the segment.
        segment: u64,
    },
    /// Bytes at the end of a segment's data were copied to quarantine, then zeroed.
    TailCut {
        /// Base offset of the segment.
        segment: u64,
        /// Where the cut starts in the data file.
        file_offset: u32,
        /// Bytes cut (up to the last non-zero byte).
        bytes: u64,
        /// The copy in quarantine.
        quarantined_to: PathBuf,
    },
    /// A whole file was moved into quarantine (a segment after the cut, an empty segment,
    /// a shadowed data file).
    FileQuarantined {
        /// Where it was.
        from: PathBuf,
        /// Where it is now.
        to: PathBuf,
    },
    /// The `HOLES` file listed ranges that are no gap between segments: it now lists the
    /// gaps alone, and the old file was copied into quarantine.
    HolesRewritten {
        /// The holes the file lists now.
        holes: Vec<Range<u64>>,
        /// Where the old file's copy is.
        quarantined_to: PathBuf,
    },
    /// Entries were skipped: recorded as a hole in the `HOLES` file.
    HoleLeft {
        /// The skipped offsets.
        offsets: Range<u64>,
    },
    /// The records after a hole moved into a segment file of their own.
    SegmentSplit {
        /// Base offset of the segment they were in.
        segment: u64,
        /// Base offset of their new segment.
        into: u64,
    },
    /// The records no longer reach the log's start (the `SEED` file, no reset under
    /// way): it lay past every record, or the mode's cut went below it. The log was
    /// reset to the start, empty and chained from the file's seed; every record present
    /// lies below it.
    LogReset {
        /// The log's start, now its next offset.
        offset: u64,
        /// The entries below the start that the start says were durable and the records
        /// no longer hold. They were trimmed; that they are gone shows that entries from
        /// the start on may be gone too.
        lost: Range<u64>,
    },
    /// The cursor pointed past the end of the log and was rewritten to its last entry.
    CursorClamped {
        /// The cursor found.
        from: u64,
        /// The cursor written (`None`: the log is empty and the cursor file was removed).
        to: Option<u64>,
    },
    /// A named consumer's cursor pointed past the end of the log and was rewritten to its
    /// last entry (the default cursor's clamp is [`Action::CursorClamped`]).
    NamedCursorClamped {
        /// The cursor's name.
        name: String,
        /// The cursor found.
        from: u64,
        /// The cursor written (`None`: the log is empty and the cursor file was removed).
        to: Option<u64>,
    },
    /// A leftover temporary file was removed.
    TempFileRemoved {
        /// The file.
        path: PathBuf,
    },
}

impl Action {
    /// A stable snake-case name for the action (used by the command line's JSON).
    pub const fn name(&self) -> &'static str {
        match self {
            Action::IndexRebuilt { .. } => "index_rebuilt",
            Action::ActiveIndexRemoved { .. } => "active_index_removed",
            Action::TailCut { .. } => "tail_cut",
            Action::FileQuarantined { .. } => "file_quarantined",
            Action::HolesRewritten { .. } => "holes_rewritten",
            Action::HoleLeft { .. } => "hole_left",
            Action::SegmentSplit { .. } => "segment_split",
            Action::LogReset { .. } => "log_reset",
            Action::CursorClamped { .. } => "cursor_clamped",
            Action::NamedCursorClamped { .. } => "named_cursor_clamped",
            Action::TempFileRemoved { .. } => "temp_file_removed",
        }
    }
}

/// One segment after recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    /// Base offset.
    pub base: u64,
    /// Codec.
    pub codec: Codec,
    /// Entries found valid when scanning.
    pub entries: u64,
    /// Bytes of valid records (0 in a report that came from the close record, whose
    /// segments were not read).
    pub data_bytes: u64,
    /// Problems found in this segment.
    pub problems: Vec<Problem>,
}

/// The entries a recovery cut off the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The offsets that went: from the first cut entry to the end the log reached (as far
    /// as any record or index showed).
    pub offsets: Range<u64>,
    /// Whether any of them was committed (only `PointInTime` cuts committed entries).
    pub committed: bool,
    /// Where the cut bytes and files were copied.
    pub quarantine: PathBuf,
}

/// What recovery found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The mode applied.
    pub mode: RecoveryMode,
    /// The commit offset the caller gave.
    pub commit_offset: Option<u64>,
    /// Entries below this offset were treated as committed.
    pub committed_end: u64,
    /// Every segment as scanned (before any cut).
    pub segments: Vec<SegmentReport>,
    /// Every problem found, in offset order.
    pub problems: Vec<Problem>,
    /// Everything done on disk, in order.
    pub actions: Vec<Action>,
    /// The entries cut, if any.
    pub cut: Option<Cut>,
    /// First entry offset after recovery (where the log starts, even if empty).
    pub first_offset: u64,
    /// Last entry offset after recovery, if the log holds any.
    pub last_offset: Option<u64>,
    /// Crc of the last entry (v2). After [`open`](crate::open), for a log with no entry,
    /// the crc its next entry chains from (the log's seed); [`repair`](crate::repair),
    /// which opens no log, reports `None` then (records trimmed below a logical start are
    /// no entries).
    pub last_crc: Option<u32>,
    /// The cursor as found.
    pub cursor: CursorState,
    /// Where replay starts.
    pub replay_from: u64,
    /// Damage in entries the consumer has already consumed, left in place: from the first
    /// entry it affects to the first entry of the segment after it. The problems are
    /// reported ([`Problem::consumed`]); the segments that hold it are set aside (reads
    /// of their entries fail with a typed error, replay never reaches them, appends and
    /// trims go on), and [`trim_consumed_damage`](crate::trim_consumed_damage) moves them
    /// to quarantine when the caller asks. `None` when there is none, or when the mode
    /// cut or skipped it (only the default mode leaves it).
    pub damage_before_cursor: Option<Range<u64>>,
    /// Whether the log opened through its close record: a clean close left it as it is,
    /// so it was not scanned (no record was read, and `segments` lists each segment's
    /// entries as the names and the log's end show them, with `data_bytes` 0). Every read
    /// still checks its record's crc; [`verify`](crate::verify) checks everything.
    pub from_close_record: bool,
}

impl RecoveryReport {
    /// Whether the directory was already clean: no problem (leftover temporary or unknown
    /// files aside) and nothing done.
    pub fn is_clean(&self) -> bool {
        self.actions.is_empty() && self.problems.iter().all(Problem::is_informational)
    }

    /// Writes the report to the `log` facade: problems as warnings (errors when
    /// committed), actions as warnings, the summary as info.
    pub fn log(&self) {
        for problem in &self.problems {
            if problem.committed {
                log::error!(target: "wal_recovery::report", "{problem}");
            } else {
                log::warn!(target: "wal_recovery::report", "{problem}");
            }
        }
        for action in &self.actions {
            log::warn!(target: "wal_recovery::report", "{action:?}");
        }
        if let Some(cut) = &self.cut {
            log::warn!(
                target: "wal_recovery::report",
                "cut entries {}..{} (copied to {})",
                cut.offsets.start,
                cut.offsets.end,
                cut.quarantine.display()
            );
        }
        log::info!(
            target: "wal_recovery::report",
            "recovered ({}): first {}, last {:?}, replay from {}",
            self.mode.name(),
            self.first_offset,
            self.last_offset,
            self.replay_from
        );
    }
}
