//! Crash recovery for the walrs write-ahead log, and its front door.
//!
//! [`open`] is the one call that opens a log: it creates the directory and an empty log
//! if there is none, recovers the log after a crash (with the [`RecoveryMode`] and the
//! commit offset in its [`RecoveryOptions`]), and returns [`Recovered`]: the [`Log`],
//! ready for appends, and a [`RecoveryReport`] of what recovery found and did. Every
//! fallible call, from the open to each append and read, returns this crate's one
//! [`Error`] (which carries the store's [`StoreError`] as [`Error::Store`]).
//!
//! ```
//! use wal_recovery::RecoveryOptions;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! // Open, creating the log or recovering what a crash left.
//! let log = wal_recovery::open(dir.path(), RecoveryOptions::default())?.log;
//! // Append: under the default sync policy (group commit) each entry is durable when
//! // the call returns.
//! for payload in [&b"a"[..], b"b", b"c"] {
//!     log.append(payload)?;
//! }
//! log.sync()?; // what is not durable yet, with a policy that leaves it to the caller
//! assert_eq!(log.read(1)?.payload, b"b");
//! log.set_cursor(0)?; // the consumer has finalized entry 0
//! drop(log); // a crash, as far as unsynced data goes
//!
//! // Reopen: recovery checks the log, and replay hands out what follows the cursor.
//! let recovered = wal_recovery::open(dir.path(), RecoveryOptions::default())?;
//! assert!(recovered.report.is_clean());
//! let replayed: Vec<Vec<u8>> = recovered
//!     .replay()?
//!     .map(|e| e.map(|e| e.payload))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(replayed, [b"b".to_vec(), b"c".to_vec()]);
//! # Ok(())
//! # }
//! ```
//!
//! Recovery scans every segment and checks every record and the chain across segments,
//! classifies every problem ([`ProblemKind`]), applies the mode (copying whatever it cuts
//! into the directory's quarantine folder first) and rebuilds indexes. [`verify`],
//! [`repair`] and [`rebuild_index`] do parts of that without opening the log for appends.
//! A log that a clean close left as it is opens without the scan, through the store's
//! close record, in a time that does not grow with the log (see [`open`]).
//!
//! [`wal_store::Wal::open`] stays the fast path for a log known to be clean: it refuses
//! anything else, and returns the plain store log with the store's error type.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The README's quick start is compiled and run with this crate's doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeQuickStart;

mod advice;
mod analyze;
mod clean_open;
pub mod cursor;
mod divergence;
mod error;
mod inventory;
mod journal;
mod log;
mod migrate;
mod mode;
mod problem;
mod quarantine;
mod repair;
mod report;
mod skip;
mod trim_consumed;

use std::ops::Range;
use std::path::Path;

use wal_store::{DirLock, Wal};

pub use advice::Advice;
pub use cursor::{CursorState, DEFAULT_CURSOR, NamedCursor};
pub use divergence::{Divergence, compare};
pub use error::{Error, RecoveryError, Result};
pub use journal::{JOURNAL_FILE_NAME, PENDING_SUFFIX, read_layout};
pub use log::Pending;
pub use log::{Iter, Log, RevIter, read_meta};
pub use migrate::{Migration, migrate, migrate_with_segment_bytes};
pub use mode::RecoveryMode;
pub use problem::{Problem, ProblemKind};
pub use quarantine::QUARANTINE_DIR_NAME;
pub use report::{Action, Cut, RecoveryReport, SegmentReport};
pub use trim_consumed::trim_consumed_damage;
/// The store's types that the front door's signatures name, so that a user of [`Log`]
/// needs this one crate.
pub use wal_store::{
    Appended, AppendedBatch, Entry, EntryRef, Retention, RetentionHook, Stats, StoreError,
    WalOptions,
};

use analyze::Analysis;

/// How to recover.
///
/// Start from [`RecoveryOptions::default`] (the default mode, no commit offset, the default
/// [`WalOptions`]) and change what differs with the `with_*` methods, one per field; the
/// fields stay public to read. The struct is `#[non_exhaustive]` so that a new option is not a
/// breaking change:
///
/// ```
/// use wal_recovery::{RecoveryMode, RecoveryOptions};
/// use wal_store::{SyncPolicy, WalOptions};
///
/// let options = RecoveryOptions::default()
///     .with_mode(RecoveryMode::PointInTime)
///     .with_commit_offset(Some(41))
///     .with_wal(WalOptions::default().with_sync_policy(SyncPolicy::Manual));
/// assert_eq!(options.commit_offset, Some(41));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RecoveryOptions {
    /// What to do with damage.
    pub mode: RecoveryMode,
    /// The highest offset the caller knows committed *and* durable on this node: damage
    /// at or before it is committed corruption. Not a cluster's commit index as such (see
    /// [`with_commit_offset`](RecoveryOptions::with_commit_offset)).
    pub commit_offset: Option<u64>,
    /// How to open the log afterwards (and to create it, if the directory holds none).
    pub wal: WalOptions,
}

impl RecoveryOptions {
    /// Sets [`mode`](RecoveryOptions::mode): what to do with damage.
    #[must_use]
    pub fn with_mode(mut self, mode: RecoveryMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets [`commit_offset`](RecoveryOptions::commit_offset): the highest offset the caller
    /// knows committed *and* made durable on this node, or `None` when it knows none.
    ///
    /// Recovery treats every entry up to it as promised: a torn or missing entry there is
    /// committed corruption, which [`RecoveryMode::TolerateCorruptTail`] refuses
    /// ([`Error::CommittedCorruption`], nothing changed) and the cutting modes report as
    /// committed loss. So it must never exceed what this log itself made durable
    /// ([`Wal::last_synced_offset`](wal_store::Wal::last_synced_offset) when the caller
    /// recorded it). A raft follower learns a commit index that can run ahead of its own
    /// durable tail (the leader counted other nodes' acknowledgements); after a crash the
    /// entries past its durable tail are an ordinary torn tail, which the leader sends
    /// again. Pass `min(commit index, own durable tail)`: passing the commit index turns
    /// that torn tail into committed corruption and the open is refused (see
    /// docs/RECOVERY.md, "What to pass as the commit offset", and the test
    /// `commit_offset_of_a_follower`).
    #[must_use]
    pub fn with_commit_offset(mut self, commit_offset: Option<u64>) -> Self {
        self.commit_offset = commit_offset;
        self
    }

    /// Sets [`wal`](RecoveryOptions::wal): how to open (or create) the log afterwards.
    #[must_use]
    pub fn with_wal(mut self, wal: WalOptions) -> Self {
        self.wal = wal;
        self
    }
}

/// What [`open`] returns: the log, ready for appends, and what recovery did to it.
#[derive(Debug)]
pub struct Recovered {
    /// The log.
    pub log: Log,
    /// What recovery found and did.
    pub report: RecoveryReport,
}

impl Recovered {
    /// The entries after the cursor recovery found (from
    /// [`report.replay_from`](RecoveryReport::replay_from)), oldest first, to the end.
    pub fn replay(&self) -> Result<Iter<'_>> {
        self.log.iter_from(self.report.replay_from)
    }

    /// The same entries as [`replay`](Recovered::replay), borrowed instead of copied (see
    /// [`Log::visit_from`]): the fastest replay. Returns the offset after the last entry
    /// visited.
    pub fn replay_with(
        &self,
        visit: impl FnMut(EntryRef<'_>) -> std::ops::ControlFlow<()>,
    ) -> Result<u64> {
        self.log.visit_from(self.report.replay_from, visit)
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Whether no problem was found that concerns the entries or needs more than a
    /// rebuild of derived data: files recovery does not know, a cursor before the first
    /// entry whose file records that its caller dropped the entries between, and a sealed
    /// segment's missing or corrupt index are reported but do not count (see
    /// [`Problem::keeps_verify_ok`]). A cursor before the first entry with no such record
    /// counts: entries its consumer had not finalized are gone.
    pub ok: bool,
    /// First entry offset, if the directory holds a log.
    pub first_offset: Option<u64>,
    /// Last offset of the valid prefix, if it holds any entry.
    pub last_valid_offset: Option<u64>,
    /// Entries below this offset are treated as committed.
    pub committed_end: u64,
    /// Every segment as scanned.
    pub segments: Vec<SegmentReport>,
    /// Every problem, in offset order.
    pub problems: Vec<Problem>,
    /// The default cursor as found.
    pub cursor: CursorState,
    /// Every cursor as found: the default one first (even when missing), then the named
    /// ones by name.
    pub cursors: Vec<NamedCursor>,
    /// Damaged entries the consumer has already consumed (see
    /// [`RecoveryReport::damage_before_cursor`]): the default mode opens the log with
    /// them set aside, and [`trim_consumed_damage`] moves them to quarantine.
    pub damage_before_cursor: Option<Range<u64>>,
    /// What a point-in-time recovery would cost the consumer (the unread entries it would
    /// cut), for whoever suggests one.
    pub advice: Advice,
}

fn segment_reports(analysis: &Analysis) -> Vec<SegmentReport> {
    analysis
        .segments
        .iter()
        .map(|s| SegmentReport {
            base: s.base,
            codec: s.codec,
            entries: s.entries(),
            data_bytes: u64::from(s.valid_len),
            problems: analysis
                .problems
                .iter()
                .filter(|p| p.segment == Some(s.base))
                .cloned()
                .collect(),
        })
        .collect()
}

/// Checks a directory and reports every problem. Reads only: it changes nothing on disk,
/// takes no lock and creates no file.
pub fn verify(dir: impl AsRef<Path>, commit_offset: Option<u64>) -> Result<Verification> {
    let analysis = analyze::analyze(dir.as_ref(), commit_offset, None)?;
    let ok = analysis.problems.iter().all(Problem::keeps_verify_ok);
    let first_offset = analysis.first_offset();
    let last_valid_offset = match (first_offset, analysis.valid_end()) {
        (Some(first), Some(end)) if end > first => Some(end - 1),
        _ => None,
    };
    Ok(Verification {
        ok,
        first_offset,
        last_valid_offset,
        committed_end: analysis.committed_end,
        segments: segment_reports(&analysis),
        cursor: analysis.cursor.clone(),
        cursors: analysis.cursors.clone(),
        damage_before_cursor: analysis.consumed_damage.clone(),
        advice: Advice::of(&analysis),
        problems: analysis.problems,
    })
}

/// Where replay starts for a cursor, in a log holding `first..next`.
fn replay_from(cursor: &CursorState, first: u64, next: u64) -> u64 {
    match cursor.offset() {
        Some(c) => c.saturating_add(1).clamp(first, next),
        None => first,
    }
}

fn report(
    analysis: Analysis,
    applied: repair::Applied,
    mode: RecoveryMode,
    commit_offset: Option<u64>,
    first_offset: u64,
    next_offset: u64,
    last_crc: Option<u32>,
) -> RecoveryReport {
    RecoveryReport {
        mode,
        commit_offset,
        committed_end: analysis.committed_end,
        segments: segment_reports(&analysis),
        actions: applied.actions,
        cut: applied.cut,
        first_offset,
        last_offset: (next_offset > first_offset).then(|| next_offset - 1),
        last_crc,
        replay_from: replay_from(&analysis.cursor, first_offset, next_offset),
        // Left in place by the default mode alone: the others cut it or skip it.
        damage_before_cursor: analysis
            .consumed_damage
            .filter(|_| mode == RecoveryMode::TolerateCorruptTail),
        cursor: analysis.cursor,
        problems: analysis.problems,
        from_close_record: false,
    }
}

/// Opens `dir` after a crash or a clean close: recovers it with `options.mode`, then
/// opens the log for appending, with a retention hook that follows the consumer's cursor
/// (the store then removes, when a size limit of `options.wal` requires it or at every
/// rotation if asked, the sealed segments wholly at or before the cursor; a hook given in
/// `options.wal` is asked too, and the lower answer wins). If the mode refuses (committed corruption, or any problem
/// under `AbsoluteConsistency`), nothing on disk has changed. An empty or missing
/// directory gets a new log. Damage wholly at or before the consumer's cursor does not
/// make the default mode refuse: it is left in place, set aside, and reported
/// ([`RecoveryReport::damage_before_cursor`]; [`trim_consumed_damage`] removes it).
///
/// After a clean close ([`Log::close`]), nothing is scanned: the log opens through its close
/// record as [`Wal::open`] would, in a time that does not grow with the log, and the
/// report says so ([`RecoveryReport::from_close_record`]; no problem, nothing done). The
/// close record is trusted as the decision of docs/RECOVERY.md says: damage behind it is
/// found by the read that reaches it (every read checks its record's crc), by [`verify`]
/// and by [`repair`], which always check everything. An older sealed segment that fails its check at its first use removes the
/// record, so that the next `open` checks the whole log. Whatever the record does not
/// cover gets the full check: no record or one that no longer holds (a crash), a
/// journaled change rolled forward, a leftover or unknown file, a sealed segment without
/// its index, a cursor that cannot be read or lies outside the log, a commit offset at or
/// past the log's end.
pub fn open(dir: impl AsRef<Path>, mut options: RecoveryOptions) -> Result<Recovered> {
    let dir = dir.as_ref();
    // Retention follows the cursors the Log will keep: its hook is in the options the
    // store opens with, and reads what the Log publishes.
    let retention = log::RetentionCell::new();
    options.wal = retention.install(options.wal);
    wal_store::internal::fs::create_dir_durably(dir)?;
    let lock = DirLock::acquire(dir)?;
    // A clean restart opens through the close record; anything else (an interrupted
    // journaled change among it) is checked whole.
    let lock = if journal::roll_forward(dir)? {
        lock
    } else {
        match clean_open::open(dir, &options, lock, &retention)? {
            clean_open::Outcome::Opened(recovered) => return Ok(*recovered),
            clean_open::Outcome::Full(lock) => lock,
        }
    };
    let mut analysis = analyze::analyze(dir, options.commit_offset, Some(&lock))?;
    let mut applied = repair::apply(&analysis, options.mode)?;
    reset_to_lost_start(dir, &analysis, options.mode, &mut applied)?;
    let checked = analysis.take_checked();
    let mut wal_options = options.wal;
    // A directory with no segment but a cursor: the new log starts after the cursor, so
    // that offsets never go back (and the cursor stays valid).
    if analysis.segments.is_empty()
        && let Some(cursor) = analysis.cursor.offset()
    {
        wal_options.first_offset = wal_options.first_offset.max(cursor.saturating_add(1));
    }
    // The store takes the scan's word on the records only where nothing can have changed
    // them since (a repair just made, say): the replay that follows then need not check
    // them again.
    // Damage the consumer has consumed, which the default mode leaves in place: the store
    // sets its segments aside, so that it blocks nothing after the cursor.
    let set_aside_before = match options.mode {
        RecoveryMode::TolerateCorruptTail => analysis.consumed_damage.as_ref().map_or(0, |d| d.end),
        _ => 0,
    };
    let wal = Wal::open_setting_aside(dir, wal_options, lock, checked, set_aside_before)?;
    let next = wal.next_offset();
    // A consumer whose cursor file is unreadable replays from the first entry: until it
    // is written again, retention keeps everything and a trim is refused.
    retention.hold_for_unreadable(
        analysis
            .cursors
            .iter()
            .filter(|named| matches!(named.state, cursor::CursorState::Corrupt(_)))
            .map(|named| named.name.clone()),
    );
    let cursors = clamp_cursors(
        dir,
        wal.first_offset(),
        next,
        &analysis.cursors,
        &mut applied.actions,
    )?;
    let report = report(
        analysis,
        applied,
        options.mode,
        options.commit_offset,
        wal.first_offset(),
        next,
        wal.last_crc(),
    );
    report.log();
    let log = Log::new(wal, cursors, retention);
    Ok(Recovered { log, report })
}

/// Under a mode that goes on past lost entries (`PointInTime`, `SkipCorrupted`; the
/// others refuse before getting here), the log is reset to its start where the records
/// no longer reach it: a plain start past every record (entries lost, see
/// `analyze::Start::PastRecords`), or a logical start the mode's cut went below (damage
/// below the start in its segment). The log continues at the start, empty, chained from
/// the start's seed, as the trim that wrote it left it; whatever the records hold lies
/// below it. The reset flag is the commit point; the store's next open finishes it.
fn reset_to_lost_start(
    dir: &Path,
    analysis: &analyze::Analysis,
    mode: RecoveryMode,
    applied: &mut repair::Applied,
) -> Result<()> {
    if !matches!(
        mode,
        RecoveryMode::PointInTime | RecoveryMode::SkipCorrupted
    ) {
        return Ok(());
    }
    let (start, records_end) = match analysis.start {
        analyze::Start::PastRecords { start, records_end } => (start, records_end),
        analyze::Start::Logical(offset) => {
            let Some(cut_from) = applied
                .cut
                .as_ref()
                .map(|c| c.offsets.start)
                .filter(|&from| from < offset)
            else {
                return Ok(());
            };
            match wal_store::internal::seed::read_seed(dir)? {
                Some(start) if start.offset == offset => (start, cut_from),
                _ => return Ok(()),
            }
        }
        analyze::Start::FirstRecord | analyze::Start::Void(_) => return Ok(()),
    };
    wal_store::internal::seed::write_seed(
        dir,
        wal_store::layout::LogStart {
            resetting: true,
            ..start
        },
    )?;
    applied.actions.push(Action::LogReset {
        offset: start.offset,
        lost: records_end..start.offset,
    });
    Ok(())
}

/// Every cursor past the end of the recovered log is rewritten to its last entry (or
/// removed when the log is empty), so that entries appended from now on are replayed after
/// the next restart. (`AbsoluteConsistency` refuses such a cursor before getting here.)
/// Returns every valid cursor as it now is on disk.
fn clamp_cursors(
    dir: &Path,
    first: u64,
    next: u64,
    found: &[cursor::NamedCursor],
    actions: &mut Vec<Action>,
) -> Result<log::Cursors> {
    let mut cursors = log::Cursors::new();
    for named in found {
        let Some(cursor) = named.state.offset() else {
            continue;
        };
        let record = cursor::CursorRecord {
            offset: cursor,
            dropped_unread: named.dropped_unread.clone(),
        };
        if cursor < next {
            cursors.insert(named.name.clone(), record);
            continue;
        }
        let to = (next > first).then(|| next - 1);
        match to {
            Some(last) => {
                let record = cursor::CursorRecord {
                    offset: last,
                    ..record
                };
                cursor::write_record(dir, &named.name, &record)?;
                cursors.insert(named.name.clone(), record);
            }
            None => cursor::remove_cursor_file(dir, &named.name)?,
        }
        actions.push(if named.name == cursor::DEFAULT_CURSOR {
            Action::CursorClamped { from: cursor, to }
        } else {
            Action::NamedCursorClamped {
                name: named.name.clone(),
                from: cursor,
                to,
            }
        });
    }
    Ok(cursors)
}

/// Applies `mode` to `dir` without opening the log for appends, and reports. If the mode
/// refuses, nothing on disk has changed.
pub fn repair(
    dir: impl AsRef<Path>,
    mode: RecoveryMode,
    commit_offset: Option<u64>,
) -> Result<RecoveryReport> {
    let dir = dir.as_ref();
    let lock = DirLock::acquire(dir)?;
    journal::roll_forward(dir)?;
    let analysis = analyze::analyze(dir, commit_offset, Some(&lock))?;
    let mut applied = repair::apply(&analysis, mode)?;
    reset_to_lost_start(dir, &analysis, mode, &mut applied)?;
    let after = analyze::analyze(dir, None, Some(&lock))?;
    let first = after.first_offset().unwrap_or(0);
    let next = after.valid_end().unwrap_or(first);
    clamp_cursors(dir, first, next, &analysis.cursors, &mut applied.actions)?;
    // The crc of the last entry: none in an empty log, even where records trimmed below
    // its logical start are still on disk (whether they are depends on where segments end).
    let last_crc = if next > first {
        after.segments.iter().rev().find_map(|s| s.last_crc)
    } else {
        None
    };
    let report = report(
        analysis,
        applied,
        mode,
        commit_offset,
        first,
        next,
        last_crc,
    );
    report.log();
    Ok(report)
}

/// Rebuilds the index of every sealed segment whose index is missing, corrupt or stale,
/// from its data, and returns what was done. (A sealed segment with no entry has no
/// index: a damaged one is moved to quarantine instead.) Refuses (changing nothing) if a sealed
/// segment's data is damaged: that is for [`repair`] to decide.
pub fn rebuild_index(dir: impl AsRef<Path>) -> Result<Vec<Action>> {
    let dir = dir.as_ref();
    let lock = DirLock::acquire(dir)?;
    // An interrupted journaled change first: the indexes are written beside the files
    // it installs, never under them.
    journal::roll_forward(dir)?;
    let analysis = analyze::analyze(dir, None, Some(&lock))?;
    let sealed = analysis.segments.len().saturating_sub(1);
    if let Some(problem) = analysis.problems.iter().find(|p| {
        p.kind.is_data()
            && analysis
                .segments
                .iter()
                .take(sealed)
                .any(|s| Some(s.base) == p.segment)
    }) {
        return Err(RecoveryError::CommittedCorruption {
            problem: Box::new(problem.clone()),
            problems: analysis.problems.clone(),
            advice: advice::Advice::of(&analysis),
        });
    }
    let mut actions = Vec::new();
    let mut quarantine = quarantine::Quarantine::new(dir);
    for segment in analysis.segments.iter().take(sealed) {
        if !segment.index_matches() {
            repair::mend_index(segment, &mut quarantine, &mut actions)?;
        }
    }
    quarantine.finish()?;
    Ok(actions)
}

/// Persists the default consumer's cursor (the last offset it has finalized) for `wal`'s
/// directory: [`Log::set_cursor`] for the plain store log. To drop the segments wholly
/// before it, call `wal.trim_before(offset + 1)` afterwards. The offset must be a durable
/// entry's, and leave room for a later one (at most `u64::MAX - 2`).
///
/// Like [`Log::set_cursor`], it refuses to move the cursor back
/// ([`Error::CursorRegression`]): walrs before named cursors let it, and a consumer that
/// meant to re-read entries now says so with [`Log::rewind_cursor`]. The plain store log
/// does not keep cursors true as it changes (see [`Log::store`]).
pub fn set_cursor(wal: &Wal, offset: u64) -> Result<()> {
    check_cursor_offset(wal, offset)?;
    let found = cursor::read_named_cursor(wal.dir(), DEFAULT_CURSOR)?;
    if let Some(current) = found.state.offset()
        && offset < current
    {
        return Err(Error::CursorRegression {
            name: DEFAULT_CURSOR.to_owned(),
            current,
            requested: offset,
        });
    }
    let record = cursor::CursorRecord {
        offset,
        dropped_unread: found.dropped_unread,
    };
    cursor::write_record(wal.dir(), DEFAULT_CURSOR, &record)
}

/// Checks that `offset` can be a cursor of `wal`: a durable entry's (or the one before the
/// first entry), leaving room for a later one.
pub(crate) fn check_cursor_offset(wal: &Wal, offset: u64) -> Result<()> {
    // Only a durable entry can be finalized: a cursor past what a crash can take back
    // would point past the end after recovery, hiding the entries appended next.
    let durable = wal.last_synced_offset();
    if durable.is_none_or(|durable| offset > durable)
        || offset.saturating_add(1) < wal.first_offset()
    {
        let durable = durable.map_or_else(|| "none".to_owned(), |d| d.to_string());
        return Err(RecoveryError::InvalidArgument(format!(
            "cursor {offset} is outside the durable log (first entry {}, last durable entry {durable}; sync first)",
            wal.first_offset()
        )));
    }
    if offset >= u64::MAX - 1 {
        return Err(RecoveryError::InvalidArgument(format!(
            "cursor {offset} leaves no room for a later entry (the largest cursor is u64::MAX - 2)"
        )));
    }
    Ok(())
}
