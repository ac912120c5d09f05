//! What recovery can find wrong in a WAL directory.

use std::fmt;
use std::path::PathBuf;

use wal_format::FormatError;

/// The kinds of problem, each with a stable snake-case name (used by the command line's
/// JSON output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The last record of the log is incomplete or fails its checks, and nothing valid
    /// follows it: what a crash in the middle of a write leaves.
    TornTail,
    /// A record's crc does not match its payload, with valid data after it.
    CrcMismatch,
    /// A record is self-consistent but does not chain from the record before it.
    ChainBreak,
    /// A record runs past the end of its file, with valid data after it.
    OutOfBounds,
    /// The data ends (a size of 0) but non-zero bytes follow: a lost or zeroed page in the
    /// middle looks like this.
    GarbageAfterEnd,
    /// Entries that an independent record (a sealed segment's index, or the caller's
    /// commit offset) says were written are not in the data.
    MissingEntries,
    /// A sealed segment has no index file.
    IndexMissing,
    /// A sealed segment's index file fails its own checks (length, crc, order).
    IndexCorrupt,
    /// A sealed segment's index disagrees with its data.
    IndexStale,
    /// Entries are missing between two segments.
    SegmentGap,
    /// Two segments claim the same entries.
    SegmentOverlap,
    /// A segment with no entries between segments that have some.
    EmptySegment,
    /// Both a v1 and a v2 data file for one base offset.
    DuplicateCodec,
    /// Non-zero bytes after the last entry of a sealed segment whose end is proven by its
    /// index and by the next segment's base: no entry is affected; the bytes are copied to
    /// quarantine and zeroed.
    TailGarbage,
    /// The `HOLES` file cannot be read: its holes count as gaps, and the file goes to
    /// quarantine.
    HolesCorrupt,
    /// The store's `SEED` file (the chain seed of a log with no entry) cannot be read: it
    /// goes to quarantine, and an empty log's seed comes from the options again.
    SeedCorrupt,
    /// The caller's `META` file (its metadata blob, see `Wal::write_meta`) is damaged: it
    /// stays in place, and `Wal::meta` refuses it (never `None`) until the caller writes
    /// a new blob.
    MetaCorrupt,
    /// A leftover temporary file from an interrupted write.
    TempFile,
    /// A file recovery does not know (reported, never deleted).
    UnknownFile,
    /// The cursor file exists but cannot be read.
    CursorCorrupt,
    /// The cursor points outside the log: past its end, or before its first entry where
    /// the cursor's file records that a trim dropped the entries between on its caller's
    /// word (`Log::trim_before_dropping_unread`).
    CursorOutOfRange,
    /// A cursor is before the first entry and nothing records why: entries its consumer
    /// had not finalized are gone (a trim that bypassed the front door, a lost segment).
    UnreadEntriesGone,
}

impl ProblemKind {
    /// The kind of damage a segment's data shows when its scan stops at `problem`, with
    /// valid data after it (recovery calls the same damage at the very end of the log a
    /// [`ProblemKind::TornTail`]).
    pub fn of_data(problem: &FormatError) -> ProblemKind {
        match problem {
            FormatError::ChecksumMismatch { .. } => ProblemKind::CrcMismatch,
            FormatError::ChainBreak { .. } => ProblemKind::ChainBreak,
            FormatError::NonZeroAfterEnd { .. } => ProblemKind::GarbageAfterEnd,
            _ => ProblemKind::OutOfBounds,
        }
    }

    /// The stable snake-case name.
    pub const fn name(self) -> &'static str {
        match self {
            ProblemKind::TornTail => "torn_tail",
            ProblemKind::CrcMismatch => "crc_mismatch",
            ProblemKind::ChainBreak => "chain_break",
            ProblemKind::OutOfBounds => "out_of_bounds",
            ProblemKind::GarbageAfterEnd => "garbage_after_end",
            ProblemKind::MissingEntries => "missing_entries",
            ProblemKind::IndexMissing => "index_missing",
            ProblemKind::IndexCorrupt => "index_corrupt",
            ProblemKind::IndexStale => "index_stale",
            ProblemKind::SegmentGap => "segment_gap",
            ProblemKind::SegmentOverlap => "segment_overlap",
            ProblemKind::EmptySegment => "empty_segment",
            ProblemKind::DuplicateCodec => "duplicate_codec",
            ProblemKind::TailGarbage => "tail_garbage",
            ProblemKind::HolesCorrupt => "holes_corrupt",
            ProblemKind::SeedCorrupt => "seed_corrupt",
            ProblemKind::MetaCorrupt => "meta_corrupt",
            ProblemKind::TempFile => "temp_file",
            ProblemKind::UnknownFile => "unknown_file",
            ProblemKind::CursorCorrupt => "cursor_corrupt",
            ProblemKind::CursorOutOfRange => "cursor_out_of_range",
            ProblemKind::UnreadEntriesGone => "unread_entries_gone",
        }
    }

    /// Whether the problem is about entries (their bytes or their place in the log), as
    /// opposed to an index that can be rebuilt or a file that can be removed or left.
    pub const fn is_data(self) -> bool {
        matches!(
            self,
            ProblemKind::TornTail
                | ProblemKind::CrcMismatch
                | ProblemKind::ChainBreak
                | ProblemKind::OutOfBounds
                | ProblemKind::GarbageAfterEnd
                | ProblemKind::MissingEntries
                | ProblemKind::SegmentGap
                | ProblemKind::SegmentOverlap
        )
    }

    /// Garbage after the last entry of a sealed segment whose end is proven (by its index
    /// and the next segment): no entry is affected.
    pub const fn is_tail_garbage(self) -> bool {
        matches!(self, ProblemKind::TailGarbage)
    }

    /// A sealed segment's index that is missing or fails its own checks. An index is
    /// derived from its segment's data, and every reader of the segment format rebuilds
    /// one that is absent or unreadable (the reference implementation writes a segment's
    /// index only when it seals it, so after a crash its sealed segments often have none).
    /// Such an index says nothing about the entries. An index that disagrees with the data
    /// (`IndexStale`) or lists entries the data lacks (`MissingEntries`) is not one of
    /// these: it may be the only trace of lost entries.
    pub const fn is_rebuildable_index(self) -> bool {
        matches!(self, ProblemKind::IndexMissing | ProblemKind::IndexCorrupt)
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem, where it is, and whether it lies at or before the commit point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Base offset of the segment it is in, if any.
    pub segment: Option<u64>,
    /// The first entry offset it affects, if it affects entries.
    pub offset: Option<u64>,
    /// Where in the segment's data file, if it is about data bytes.
    pub file_offset: Option<u32>,
    /// Whether it affects entries at or before the commit point (committed corruption),
    /// rather than an uncommitted tail.
    pub committed: bool,
    /// Whether it is damage in entries the consumer has already consumed: a data problem
    /// (or an empty segment, which goes with the gap after it) in a sealed segment that
    /// lies wholly at or before the consumer's cursor (see
    /// [`RecoveryReport::damage_before_cursor`](crate::RecoveryReport::damage_before_cursor)).
    /// The default mode leaves it in place instead of refusing the log.
    pub consumed: bool,
    /// The file concerned, if any.
    pub path: Option<PathBuf>,
    /// What was seen, in words (expected and actual values).
    pub detail: String,
}

impl Problem {
    /// Whether the problem is only worth a report and needs no action: a file recovery
    /// does not know, or a cursor before the first entry whose file records that its
    /// caller dropped the entries between (replay starts at the first entry). A cursor
    /// before the first entry with no such record is not
    /// ([`ProblemKind::UnreadEntriesGone`]), nor is one past the end: it is marked
    /// committed (entries the consumer finalized are missing) and recovery clamps it on
    /// disk.
    pub fn is_informational(&self) -> bool {
        match self.kind {
            ProblemKind::UnknownFile => true,
            ProblemKind::CursorOutOfRange => !self.committed,
            _ => false,
        }
    }

    /// Whether [`verify`](crate::verify) reports the problem without counting it against
    /// the log: an informational problem, or a sealed segment's index that is missing or
    /// corrupt ([`ProblemKind::is_rebuildable_index`]). Unlike an informational problem,
    /// the index still needs an action: the writing modes rebuild it, and
    /// `AbsoluteConsistency` refuses it (the store needs a valid index for every sealed
    /// segment).
    pub fn keeps_verify_ok(&self) -> bool {
        self.is_informational() || self.kind.is_rebuildable_index()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(segment) = self.segment {
            write!(f, " in segment {segment}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " at entry {offset}")?;
        }
        if let Some(file_offset) = self.file_offset {
            write!(f, " (file offset {file_offset})")?;
        }
        if self.committed {
            f.write_str(" [committed]")?;
        }
        if self.consumed {
            f.write_str(" [consumed]")?;
        }
        write!(f, ": {}", self.detail)
    }
}
