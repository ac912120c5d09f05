//! The clean restart: a log that a clean close left as it is opens through its close
//! record, without its data being read, in a time that does not grow with the log.
//!
//! The store's close record vouches for the active segment, and the sealed segments'
//! index files for theirs, exactly as for [`Wal::open`]: the first and last records of
//! the active segment and of the sealed one before it are checked at open, older sealed
//! segments at their first use, and every read checks its record's crc. What the record
//! does not cover falls back to the full check: a journal rolled forward just now, a
//! leftover temporary file, a file recovery does not know, a shadowed data file, an index
//! with no data file, a sealed segment with no index file, a damaged `SEED` or `META`
//! file, a cursor that cannot be read or lies outside the log, a commit offset at or past its
//! end, or anything the store's clean open refuses. A deferred segment that fails its check later removes the close
//! record (see `wal_store`), so the next open checks everything. The sealed segments
//! wholly before the replay start are set aside (never checked before an append): they
//! hold only entries the consumer consumed, and damage there must not block the rest.

use std::path::Path;

use wal_format::Codec;
use wal_store::{CleanOpen, DirLock, Wal};

use crate::cursor::{self, CursorRecord, CursorState};
use crate::error::Result;
use crate::inventory;
use crate::journal;
use crate::log::Cursors;
use crate::log::RetentionCell;
use crate::report::{RecoveryReport, SegmentReport};
use crate::{Log, Recovered, RecoveryOptions};

/// What the clean restart came to.
pub(crate) enum Outcome {
    /// The log opened through its close record.
    Opened(Box<Recovered>),
    /// The full check is needed; here is the lock back.
    Full(DirLock),
}

/// Opens `dir` through its close record if nothing but a clean close's files is there
/// and the caller's commit offset and cursor lie within the log; otherwise hands the lock
/// back unchanged. `lock` is `dir`'s, and any journal has been rolled forward.
pub(crate) fn open(
    dir: &Path,
    options: &RecoveryOptions,
    lock: DirLock,
    retention: &RetentionCell,
) -> Result<Outcome> {
    let Some(segments) = only_clean_files(dir)? else {
        return Ok(Outcome::Full(lock));
    };
    let cursors = cursor::read_all_cursors(dir)?;
    if cursors
        .iter()
        .any(|c| matches!(c.state, CursorState::Corrupt(_)))
    {
        return Ok(Outcome::Full(lock));
    }
    let commit_offset = options.commit_offset;
    let within = |first: u64, next: u64| {
        // A commit offset at or past the end claims entries the log lacks, and a cursor
        // outside the log is reported and clamped: both are the full check's to decide.
        commit_offset.is_none_or(|commit| commit < next)
            && cursors.iter().all(|named| {
                named
                    .state
                    .offset()
                    .is_none_or(|c| c.saturating_add(1) >= first && c < next)
            })
    };
    // The segments wholly before the replay start hold only entries the consumer
    // consumed: set aside, so that damage there refuses no append (see `analyze/consumed.rs`).
    let set_aside_before = crate::analyze::replay_start_of(&cursors).unwrap_or(0);
    let wal = match Wal::open_if_closed_cleanly_setting_aside(
        dir,
        options.wal.clone(),
        lock,
        within,
        set_aside_before,
    )? {
        CleanOpen::Opened(wal) => wal,
        CleanOpen::NotClean(lock) => return Ok(Outcome::Full(lock)),
    };
    let found: Cursors = cursors
        .iter()
        .filter_map(|named| {
            let record = CursorRecord {
                offset: named.state.offset()?,
                dropped_unread: named.dropped_unread.clone(),
            };
            Some((named.name.clone(), record))
        })
        .collect();
    let default = cursors
        .into_iter()
        .next()
        .map_or(CursorState::Missing, |c| c.state);
    let report = report(&wal, options, segments, &found, default);
    report.log();
    let log = Log::new(wal, found, retention.clone());
    Ok(Outcome::Opened(Box::new(Recovered { log, report })))
}

/// The segments of `dir`, if its files are those a clean close leaves: v2 data files, each
/// sealed one with its index, a close record, and the log's own small files (a `SEED`
/// file and a `META` file that read as such); `None` for anything else (by name, and the seed file: no
/// segment file is read). A v1 segment always gets the full check: its records carry no
/// crc, so a read could not tell a damaged record (a size field that rotted, say) from an
/// intact one, and the open is the only place such damage is found.
fn only_clean_files(dir: &Path) -> Result<Option<Vec<(u64, Codec)>>> {
    let inventory = inventory::take(journal::read_layout(dir)?);
    let layout = &inventory.layout;
    if layout.close_record_source.is_none()
        || !inventory.temp_files.is_empty()
        || !inventory.unknown_files.is_empty()
        || !layout.duplicates.is_empty()
        || !layout.orphan_indexes.is_empty()
        || wal_store::internal::seed::read_seed(dir).is_err()
        || wal_store::internal::meta::read_meta(dir).is_err()
    {
        return Ok(None);
    }
    let sealed = layout.segments.len().saturating_sub(1);
    let indexed = layout
        .segments
        .iter()
        .take(sealed)
        .all(|s| s.index_source.is_some());
    let all_v2 = layout.segments.iter().all(|s| s.codec == Codec::V2);
    Ok((indexed && all_v2).then(|| layout.segments.iter().map(|s| (s.base, s.codec)).collect()))
}

/// The report of a clean restart: no problem and nothing done, the segments as their
/// names and the log's end show them (their data was not read), replay after the cursor.
fn report(
    wal: &Wal,
    options: &RecoveryOptions,
    segments: Vec<(u64, Codec)>,
    cursors: &Cursors,
    cursor: CursorState,
) -> RecoveryReport {
    let first_offset = wal.first_offset();
    let next_offset = wal.next_offset();
    let ends = segments
        .iter()
        .skip(1)
        .map(|&(base, _)| base)
        .chain([next_offset]);
    let segment_reports = segments
        .iter()
        .zip(ends)
        .map(|(&(base, codec), end)| SegmentReport {
            base,
            codec,
            entries: end.saturating_sub(base),
            data_bytes: 0,
            problems: Vec::new(),
        })
        .collect();
    // As the full check places it (analyze/commit.rs): what the caller and the consumer
    // claim, and a sealed segment before the active one. (The active segment has no
    // index to show more: its entries are all durable, but none is claimed committed.)
    let claimed = [
        options.commit_offset.map(|c| c.saturating_add(1)),
        cursors.values().map(|r| r.offset.saturating_add(1)).max(),
        (segments.len() > 1)
            .then(|| segments.last().map(|&(base, _)| base))
            .flatten(),
    ];
    let committed_end = claimed.into_iter().flatten().max().unwrap_or(0);
    RecoveryReport {
        mode: options.mode,
        commit_offset: options.commit_offset,
        committed_end,
        segments: segment_reports,
        problems: Vec::new(),
        actions: Vec::new(),
        cut: None,
        first_offset,
        last_offset: (next_offset > first_offset).then(|| next_offset - 1),
        last_crc: wal.last_crc(),
        replay_from: crate::replay_from(&cursor, first_offset, next_offset),
        cursor,
        damage_before_cursor: None,
        from_close_record: true,
    }
}
