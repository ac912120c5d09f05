//! Opening an existing directory strictly: the segments must form one clean, contiguous
//! log. The active segment and the sealed one before it are checked at open (or nothing is
//! opened); older sealed segments may be deferred to their first use (see [`load`]), and
//! are all checked before the first append or truncation. Deciding what to keep of a
//! damaged log is the recovery crate's job; the store never appends after a record it has
//! not checked (the records before it are checked by the scan, or by every read where an
//! index or a close record vouches for them).

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::Path;

use wal_format::{Codec, Decoded, FileOffset, IndexView, ScanEnd, Scanner};

use crate::closed::{self, CloseRecord};
use crate::error::{IoContext, Result, StoreError};
use crate::layout::{self, DirLayout, Join};
use crate::mmap::SegmentMap;
use crate::naming;
use crate::scan::{Offered, ScannedRecords};
use crate::segment::{Offsets, Segment};
use crate::sys;

/// The log found in a directory.
pub(crate) struct Loaded {
    pub(crate) segments: Vec<Segment>,
    /// Holes between segments, recorded by recovery.
    pub(crate) holes: Vec<std::ops::Range<u64>>,
    /// Whether the holes file also lists holes outside the log (left by a trim or a
    /// truncation that crashed before rewriting it): they are to be dropped, or the log
    /// would later grow into them.
    pub(crate) stale_holes: bool,
    pub(crate) next_offset: u64,
    /// Crc of the last entry, when the last segment with entries has crcs.
    pub(crate) last_crc: Option<u32>,
    /// Whether the active segment was taken from the close record on disk, which
    /// therefore describes it exactly as it is now.
    pub(crate) active_from_close_record: bool,
}

fn layout_error(segment: u64, detail: String) -> StoreError {
    StoreError::Layout { segment, detail }
}

/// A sealed segment's files, checked: its index (crc, order) and its first and last
/// records, with nothing after the last.
pub(crate) struct SealedParts {
    pub(crate) file: File,
    pub(crate) map: SegmentMap,
    pub(crate) offsets: Offsets,
    /// Where its last record ends.
    pub(crate) data_len: u32,
    /// The crc its first record was chained from (v2).
    first_prev_crc: Option<u32>,
    /// The crc of its last record (v2).
    last_crc: Option<u32>,
    /// What a checked scan found in its data file, when the log may take its word.
    scanned: Option<ScannedRecords>,
}

/// A sealed segment: trusted through its index (crc, order) plus a check of its first
/// and last records; every read checks its record's crc again.
fn load_sealed(
    dir: &Path,
    base: u64,
    codec: Codec,
    prev_crc: Option<u32>,
    offered: &mut Offered,
) -> Result<(Segment, Option<u32>)> {
    let Some(parts) = check_sealed(dir, base, codec, offered)? else {
        // A sealed segment with no entry (recovery can leave one before a hole): nothing
        // to check in its data, and the chain runs on unchanged.
        let segment = Segment::open(dir, base, codec, Vec::new(), 0, false)?;
        return Ok((segment, prev_crc));
    };
    if let Some((expected, actual)) = layout::chain_break(prev_crc, parts.first_prev_crc) {
        return Err(chain_break(base, expected, actual));
    }
    let last_crc = parts.last_crc;
    // The records the scan checked need no second check by the first visit.
    let checked = parts.scanned.as_ref().map_or(0, |scanned| {
        parts.offsets.matching_prefix(&scanned.offsets) as u64
    });
    let segment = Segment::from_parts(
        dir,
        base,
        codec,
        parts.file,
        parts.map,
        parts.offsets,
        parts.data_len,
    );
    segment.note_checked(checked);
    Ok((segment, last_crc))
}

fn chain_break(segment: u64, expected: u32, actual: u32) -> StoreError {
    StoreError::NeedsRecovery {
        segment,
        problem: wal_format::FormatError::ChainBreak {
            file_offset: FileOffset(0),
            expected,
            actual,
        },
    }
}

/// Opens a sealed segment that a plain open deferred (see [`load`]), at its first use:
/// the checks of [`load_sealed`], and what the open would have checked across its
/// boundaries: it holds the `entries` entries the layout gives it, and the next
/// segment's first record chains from its last (when both have crcs and no recorded hole
/// lies between them). The next segment is sealed and its files are there: a trim
/// removes older segments first, and a truncation opens every deferred segment before it
/// removes any file.
pub(crate) fn open_deferred(
    dir: &Path,
    (base, codec): (u64, Codec),
    entries: u64,
    (next_base, next_codec): (u64, Codec),
) -> Result<SealedParts> {
    let parts = check_sealed(dir, base, codec, &mut Offered::default())?;
    let found = parts.as_ref().map_or(0, |p| p.offsets.len() as u64);
    let Some(parts) = parts.filter(|_| found == entries) else {
        return Err(layout_error(
            base,
            format!(
                "index lists {found} entries, but the next segment starts {entries} offsets on"
            ),
        ));
    };
    // Across a recorded hole (the entries end before the next segment starts) the chain
    // is not checked.
    if codec.has_crc() && next_codec.has_crc() && base.checked_add(entries) == Some(next_base) {
        let next_path = naming::data_path(dir, next_base, next_codec);
        let file = sys::open_read(&next_path).io_context("open", &next_path)?;
        let map = SegmentMap::read_only(&file).io_context("mmap", &next_path)?;
        let next_first = match next_codec.decode_record(map.published(map.len()), FileOffset(0)) {
            Ok(Decoded::Record { record, .. }) => record.prev_crc,
            Ok(_) => {
                return Err(layout_error(
                    next_base,
                    "sealed segment has no first record".to_owned(),
                ));
            }
            Err(problem) => {
                return Err(StoreError::NeedsRecovery {
                    segment: next_base,
                    problem,
                });
            }
        };
        let seed = layout::seed_for(next_codec, parts.last_crc);
        if let Some((expected, actual)) = layout::chain_break(seed, next_first) {
            return Err(chain_break(next_base, expected, actual));
        }
    }
    Ok(parts)
}

/// The checks of a sealed segment's own files (see [`SealedParts`]); `None` for a
/// segment whose index lists no entry.
fn check_sealed(
    dir: &Path,
    base: u64,
    codec: Codec,
    offered: &mut Offered,
) -> Result<Option<SealedParts>> {
    let index_path = naming::index_path(dir, base, codec);
    match std::fs::symlink_metadata(&index_path) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return if holds_no_record(dir, base, codec)? {
                // No index is written for a segment with no entry (recovery can leave
                // one before a hole).
                Ok(None)
            } else {
                Err(layout_error(
                    base,
                    "sealed segment has no index file".to_owned(),
                ))
            };
        }
        Err(e) => return Err(e).io_context("stat", &index_path),
    }
    // Mapped once: parsed (crc, order) from the mapping, then read through it. A file
    // with no whole offset is not mapped; it is read to be parsed (and refused, unless it
    // is the index of a segment with no entry).
    let mapped = Offsets::map_index_file(&index_path, codec)?;
    let read_bytes;
    let index_bytes = match mapped.as_ref().and_then(Offsets::index_bytes) {
        Some(bytes) => bytes,
        None => {
            read_bytes = std::fs::read(&index_path).io_context("read", &index_path)?;
            read_bytes.as_slice()
        }
    };
    let view = IndexView::parse(codec, index_bytes)
        .map_err(|e| layout_error(base, format!("index file is corrupt: {e}")))?;
    let (Some(first_at), Some(last_at)) = (view.get(0), view.last()) else {
        return Ok(None);
    };
    let data_path = naming::data_path(dir, base, codec);
    let file = sys::open_read(&data_path).io_context("open", &data_path)?;
    let (map, scanned) = match offered.take(&file).io_context("stat", &data_path)? {
        Some(taken) => (taken.map, taken.records),
        None => (
            SegmentMap::read_only(&file).io_context("mmap", &data_path)?,
            None,
        ),
    };
    let data = map.published(map.len());
    let needs_recovery = |problem| StoreError::NeedsRecovery {
        segment: base,
        problem,
    };
    let first_prev_crc = match codec
        .decode_record(data, first_at)
        .map_err(needs_recovery)?
    {
        Decoded::Record { record, .. } => record.prev_crc,
        _ => {
            return Err(layout_error(
                base,
                "index lists an entry the data file lacks".to_owned(),
            ));
        }
    };
    let (last_crc, end) = match codec.decode_record(data, last_at).map_err(needs_recovery)? {
        Decoded::Record { record, next } => (record.crc, next),
        _ => {
            return Err(layout_error(
                base,
                "index lists an entry the data file lacks".to_owned(),
            ));
        }
    };
    if let Decoded::Record { .. } = codec.decode_record(data, end).map_err(needs_recovery)? {
        return Err(layout_error(
            base,
            "data file holds more entries than its index (stale index)".to_owned(),
        ));
    }
    // The index was checked above: the offsets are read from its mapping, not copied.
    let entries = view.len();
    let offsets = match mapped {
        Some(offsets) if offsets.len() == entries => offsets,
        _ => Offsets::in_memory(view.iter().map(|o| o.0).collect()),
    };
    Ok(Some(SealedParts {
        file,
        map,
        offsets,
        data_len: end.0,
        first_prev_crc,
        last_crc,
        scanned,
    }))
}

/// Whether the data file of the segment at `base` ends before its first record: an end
/// marker, or nothing, at file offset 0.
fn holds_no_record(dir: &Path, base: u64, codec: Codec) -> Result<bool> {
    let data_path = naming::data_path(dir, base, codec);
    let file = sys::open_read(&data_path).io_context("open", &data_path)?;
    let mut header = vec![0u8; codec.header_bytes()];
    let read = read_up_to(&file, &mut header).io_context("read", &data_path)?;
    Ok(matches!(
        codec.decode_record(header.get(..read).unwrap_or_default(), FileOffset(0)),
        Ok(Decoded::EndMarker | Decoded::EndOfInput)
    ))
}

/// Reads from the start of `file` into `buf` until it is full or the file ends.
fn read_up_to(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match file.read_at(rest, filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The zero check after a close record's end covers the rest of this page and the next.
const ZERO_CHECK_BYTES: usize = 4096;

/// The last segment: scanned record by record, since it has no index to trust; or taken
/// from the records recovery's scan has just found in it, or from the record of a clean
/// close, once its first and last records check out. Also says whether the close record
/// was the one taken.
fn load_active(
    dir: &Path,
    base: u64,
    codec: Codec,
    prev_crc: Option<u32>,
    offered: &mut Offered,
) -> Result<(Segment, Option<u32>, bool)> {
    let data_path = naming::data_path(dir, base, codec);
    let file = sys::open_read(&data_path).io_context("open", &data_path)?;
    // Recovery's mapping, when offered, has the records' pages mapped already.
    let (map, records, from_recovery) = match offered.take(&file).io_context("stat", &data_path)? {
        Some(taken) => (taken.map, taken.records, true),
        None => (
            SegmentMap::read_only(&file).io_context("mmap", &data_path)?,
            None,
            false,
        ),
    };
    let scanned = records.filter(|records| {
        records.clean_end
            && scanned_records_hold(codec, map.published(map.len()), records, prev_crc)
    });
    // A close record is for a plain open after a clean close; an open after recovery
    // (which may have just changed the segment) uses what recovery's scan found, or scans.
    let close_record = if from_recovery {
        None
    } else {
        closed::read(dir, map.len() as u64)
    };
    let checked = scanned
        .as_ref()
        .map_or(0, |records| records.offsets.len() as u64);
    let (offsets, data_len, last_crc, from_close_record) = match (scanned, close_record) {
        (Some(records), _) => (records.offsets, records.data_len, records.last_crc, false),
        (None, Some(record)) if close_record_holds(&map, base, codec, &record, prev_crc) => {
            (record.offsets, record.data_len, Some(record.last_crc), true)
        }
        _ => {
            let (offsets, data_len, last_crc) =
                scan_active(&file, &map, &data_path, base, codec, prev_crc)?;
            (offsets, data_len, last_crc, false)
        }
    };
    // Whatever a crashed process left in the page cache becomes durable now, so that
    // everything this open accepted is durable. A close record is written only once
    // every byte it describes is durable, and removed before any of them changes, so
    // the segment it vouches for needs no fsync (on ext4 an fsync with nothing to
    // write still flushes the disk's cache: ~150 us here, half of a clean open).
    if !from_close_record {
        sys::fsync(&file, &data_path).io_context("fsync", &data_path)?;
    }
    // An index file left for the last segment (a crash after sealing it, before its
    // successor was created) is left alone: opening changes nothing on disk. The next
    // seal replaces it, and a truncation removes it.
    let segment = Segment::open(dir, base, codec, offsets, data_len, true)?;
    // The scan checked every record it found, and they are the segment's.
    segment.note_checked(checked);
    Ok((segment, last_crc, from_close_record))
}

/// Whether records a scan reported for the bytes `data` agree with them: each listed
/// record leads to the next, the first chains from `prev_crc`, the last is whole with the
/// reported crc and ends at the reported length, followed by an end marker or the end of
/// the file. (The crcs in between are the scan's word.)
fn scanned_records_hold(
    codec: Codec,
    data: &[u8],
    records: &ScannedRecords,
    prev_crc: Option<u32>,
) -> bool {
    let after_end = matches!(
        codec.decode_record(data, FileOffset(records.data_len)),
        Ok(Decoded::EndMarker | Decoded::EndOfInput)
    );
    match (records.offsets.first(), records.offsets.last()) {
        (Some(&first), Some(&last)) => {
            let ends = ends_hold(
                codec,
                data,
                (first, last),
                records.data_len,
                records.last_crc,
                prev_crc,
            );
            // Every record in between leads to the next one listed (read for its size
            // only: the scan checked the crcs).
            let chained = records.offsets.windows(2).all(|pair| match pair {
                [at, next] => matches!(
                    codec.decode_record_checked_before(data, FileOffset(*at)),
                    Ok(Decoded::Record { next: found, .. }) if found.0 == *next
                ),
                _ => false,
            });
            ends && after_end && chained
        }
        _ => records.data_len == 0 && after_end,
    }
}

/// Whether the records listed from file offset `first` to `last` can be the active
/// segment's: the first is at file offset 0 and links to the previous segment's last crc,
/// the last is whole (its crc checked) with the crc `last_crc` and ends at `data_len`.
fn ends_hold(
    codec: Codec,
    data: &[u8],
    (first, last): (u32, u32),
    data_len: u32,
    last_crc: Option<u32>,
    prev_crc: Option<u32>,
) -> bool {
    let decode = |at: u32| match codec.decode_record(data, FileOffset(at)) {
        Ok(Decoded::Record { record, next }) => Some((record.prev_crc, record.crc, next)),
        _ => None,
    };
    let first_links = decode(first)
        .is_some_and(|(prev, _, _)| prev.is_none() || prev_crc.is_none() || prev == prev_crc);
    let last_ends =
        decode(last).is_some_and(|(_, crc, next)| next.0 == data_len && crc == last_crc);
    first == 0 && first_links && last_ends
}

/// Whether a clean close's record still describes the active segment (see `closed.rs`):
/// the same base and codec, offsets from 0 in increasing order, the first record links to
/// the previous segment, the last one is whole with the recorded crc and ends at the
/// recorded length, and zeros follow it.
fn close_record_holds(
    map: &SegmentMap,
    base: u64,
    codec: Codec,
    record: &CloseRecord,
    prev_crc: Option<u32>,
) -> bool {
    if record.base != base || record.codec != codec || !codec.has_crc() {
        return false;
    }
    let data = map.published(map.len());
    let (Some(&first), Some(&last)) = (record.offsets.first(), record.offsets.last()) else {
        return false;
    };
    let increasing = record
        .offsets
        .windows(2)
        .all(|pair| matches!(pair, [a, b] if a < b));
    let ends = ends_hold(
        codec,
        data,
        (first, last),
        record.data_len,
        Some(record.last_crc),
        prev_crc,
    );
    if !increasing || !ends {
        return false;
    }
    // The log removes the record durably before it first changes the active segment, so
    // a record on disk has nothing after it. The rest of the page holding
    // its end and the next page are checked all the same, for a record that came back
    // (a removal the file system lost): appends after it would start right there. The
    // file's whole tail is not read: cached pages of zeros count as data for SEEK_DATA,
    // so it may reach to the end of the segment.
    let end = record.data_len as usize;
    let checked_to = (end / ZERO_CHECK_BYTES + 2)
        .saturating_mul(ZERO_CHECK_BYTES)
        .min(data.len());
    let after = data.get(end..checked_to).unwrap_or_default();
    wal_format::zeros::all_zero(after)
}

/// Scans the active segment's records; the check for zeros after the last one reads up
/// to a page past the file's last data region only.
fn scan_active(
    file: &File,
    map: &SegmentMap,
    data_path: &Path,
    base: u64,
    codec: Codec,
    prev_crc: Option<u32>,
) -> Result<(Vec<u32>, u32, Option<u32>)> {
    // Past the file's last data region every byte reads as zero: the scan (and its
    // check for zeros after the last record) stops a page after it, so that the
    // untouched, preallocated part of the segment is neither read nor faulted in.
    let data_end = crate::fs::data_end(file).io_context("seek data", data_path)?;
    let scan_len = crate::fs::scan_len(data_end, map.len() as u64);
    let data = map.published(usize::try_from(scan_len).unwrap_or(usize::MAX));
    let mut scanner = Scanner::new(codec, data);
    if let Some(seed) = prev_crc {
        scanner = scanner.with_seed(seed);
    }
    let mut offsets = Vec::new();
    for record in scanner.by_ref() {
        offsets.push(record.file_offset.0);
    }
    if let Some(ScanEnd::Problem(problem)) = scanner.end() {
        return Err(StoreError::NeedsRecovery {
            segment: base,
            problem: problem.clone(),
        });
    }
    Ok((offsets, scanner.valid_len().0, scanner.last_crc()))
}

/// Where the entries of a sealed segment at `base` that the open defers end, given that
/// the next segment starts at `next_base`: there, or where a recorded hole that ends
/// there starts. `None` (the segment is loaded now instead) when such a hole starts at or
/// before `base`: a segment with no entry, which a deferred open could not tell apart
/// from a lost index.
fn deferred_end(base: u64, next_base: u64, recorded_holes: &[Range<u64>]) -> Option<u64> {
    match recorded_holes.iter().find(|hole| hole.end == next_base) {
        None => Some(next_base),
        Some(hole) if hole.start > base => Some(hole.start),
        Some(_) => None,
    }
}

/// Loads the log in `dir`, or `None` if the directory holds no segment.
///
/// A plain open (no checked segments offered by recovery, no holes recorded) opens only the
/// active segment and the sealed one before it, so that its time does not grow with the
/// log: every older sealed segment is deferred to its first use, which makes the same
/// checks (see [`open_deferred`]). Its entries are known from the layout meanwhile: the
/// next segment starts where it ends.
///
/// Every sealed segment whose successor starts at or before `set_aside_before` is set
/// aside, whatever else the open does: deferred the same way, but never checked before an
/// append or truncation (see [`Wal::open_setting_aside`](crate::Wal::open_setting_aside)).
/// The layout gives it the entries up to its successor, so a missing segment among them
/// is no gap: its offsets belong to the segment before, whose check fails when a read
/// reaches it. A recorded hole before its successor ends its entries early, and is known
/// as any hole between segments is (see [`deferred_end`]).
///
/// Sealed segments whose entries all lie below the log's logical start `start` (the
/// `SEED` file's offset: left by a trim that crashed before removing them) are listed
/// deferred whatever else holds: they are trimmed, never read, never checked, and the
/// next trim removes them.
pub(crate) fn load(
    dir: &Path,
    offered: &mut Offered,
    set_aside_before: u64,
    start: Option<u64>,
) -> Result<Option<Loaded>> {
    let files = DirLayout::read(dir)?;
    let listed = files.segments_without_duplicates()?;
    let Some(&(last_base, _)) = listed.last() else {
        return Ok(None);
    };
    let recorded_holes = files.read_holes()?;
    let plain = if recorded_holes.is_empty() && offered.is_empty() {
        listed.len().saturating_sub(2)
    } else {
        0
    };
    let start = start.unwrap_or(0);
    let below = listed
        .iter()
        .skip(1)
        .take_while(|(next_base, _)| *next_base <= start)
        .count();
    let deferred = plain.max(below);

    let mut holes = Vec::new();
    let mut segments = Vec::with_capacity(listed.len());
    let mut expected_base: Option<u64> = None;
    let mut last_crc: Option<u32> = None;
    let mut active_from_close_record = false;
    for (i, &(base, codec)) in listed.iter().enumerate() {
        if let Some(&(next_base, next_codec)) = listed.get(i + 1)
            && (i < deferred || next_base <= set_aside_before)
            && let Some(end) = deferred_end(base, next_base, &recorded_holes)
        {
            // Bases are listed in increasing order, and a hole after the segment starts
            // past its base, so the entries are at least one.
            let entries = end - base;
            let segment = Segment::deferred(dir, base, codec, entries, (next_base, next_codec));
            segments.push(if next_base <= set_aside_before {
                segment.set_aside()
            } else {
                segment
            });
            if end < next_base {
                holes.push(end..next_base);
            }
            expected_base = Some(next_base);
            // Unknown until the segment is opened, which checks the link itself.
            last_crc = None;
            continue;
        }
        match expected_base.map(|expected| layout::join(expected, base, &recorded_holes)) {
            None | Some(Join::Continues) => {}
            // A gap recorded as a hole is known: the chain is not checked across it.
            Some(Join::Hole(hole)) => {
                holes.push(hole);
                last_crc = None;
            }
            Some(Join::Gap { expected }) => {
                return Err(layout_error(
                    base,
                    format!("gap: the previous segment ends before offset {expected}"),
                ));
            }
            Some(Join::Overlap { expected }) => {
                return Err(layout_error(
                    base,
                    format!("overlap: the previous segment ends before offset {expected}"),
                ));
            }
        }
        let prev_crc = layout::seed_for(codec, last_crc);
        let (segment, crc) = if base == last_base {
            let (segment, crc, from_close_record) =
                load_active(dir, base, codec, prev_crc, offered)?;
            active_from_close_record = from_close_record;
            (segment, crc)
        } else {
            load_sealed(dir, base, codec, prev_crc, offered)?
        };
        let entries = segment.entries()?;
        expected_base = Some(
            base.checked_add(entries)
                .ok_or_else(|| layout_error(base, "entry offsets overflow a u64".to_owned()))?,
        );
        last_crc = layout::crc_after(codec, entries, crc, last_crc);
        segments.push(segment);
    }
    let next_offset = expected_base.unwrap_or(last_base);
    // Holes below the logical start are trimmed with their entries.
    let first_base = listed.first().map_or(last_base, |(b, _)| *b).max(start);
    if let Some(stray) = layout::stray_hole(&recorded_holes, first_base..next_offset, &holes) {
        return Err(layout_error(
            stray.start,
            format!("the holes file lists {stray:?}, which is no gap between segments"),
        ));
    }
    Ok(Some(Loaded {
        segments,
        stale_holes: recorded_holes.len() != holes.len(),
        holes,
        next_offset,
        last_crc,
        active_from_close_record,
    }))
}
