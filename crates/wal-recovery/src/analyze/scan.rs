//! Scanning the segments: one segment's data (its valid prefix, where and how it ends,
//! what follows the damage) and its index file, read through the directory's view; and
//! every segment of a directory, in parallel when there is enough to read.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wal_format::{Codec, Decoded, FileOffset, FormatError, ScanEnd};
pub(crate) use wal_store::layout::IndexState;
use wal_store::layout::{IndexFit, SegmentFiles};
use wal_store::{CheckedSegment, DataFileScan, DirLock};

use crate::error::{IoContext, Result};

/// One segment as found on disk.
#[derive(Debug)]
pub(crate) struct SegmentScan {
    pub(crate) base: u64,
    pub(crate) codec: Codec,
    pub(crate) data_path: PathBuf,
    pub(crate) index_path: PathBuf,
    /// File offsets of the records of the valid prefix.
    pub(crate) offsets: Vec<u32>,
    /// End of the valid prefix.
    pub(crate) valid_len: u32,
    /// End of the last non-zero byte of the data file.
    pub(crate) written_len: u64,
    /// Previous crc stored by the first record (v2).
    pub(crate) first_prev_crc: Option<u32>,
    /// Crc of the last record of the valid prefix (v2).
    pub(crate) last_crc: Option<u32>,
    /// How the scan of the data ended.
    pub(crate) end: ScanEnd,
    /// A valid record found after the problem, if any (v2 only: v1 has no crc to trust).
    pub(crate) resync: Option<u32>,
    /// Valid records found after the problem (by resynchronising on crcs, v2 only).
    pub(crate) records_after_problem: u64,
    pub(crate) index: IndexState,
    /// The data problem lies after the segment's proven end (its valid index lists
    /// exactly the valid records, and the next segment starts right after them): garbage
    /// in the unused tail, not damage to an entry.
    pub(crate) tail_garbage: bool,
    /// What the store's scan found under the lock, for the log to reuse when it opens
    /// (the store decides how much of it still holds then).
    pub(crate) checked: Option<CheckedSegment>,
}

impl SegmentScan {
    /// The file offset and entry count of the end of the valid prefix.
    pub(crate) fn entries(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// The data problem the scan ended at, unless it is garbage in a sealed segment's
    /// unused tail (see `tail_garbage`).
    pub(crate) fn problem(&self) -> Option<&FormatError> {
        self.end.problem().filter(|_| !self.tail_garbage)
    }

    /// Entries of the segment as far as anything proves: its valid records, or more if
    /// its valid index lists more and agrees with them (an index that disagrees with the
    /// data proves nothing about it, so it cannot say where the next segment starts).
    pub(crate) fn proven_entries(&self) -> u64 {
        match (self.index.fit(&self.offsets), self.index.offsets()) {
            (IndexFit::Matches | IndexFit::ListsMore, Some(offsets)) => {
                self.entries().max(offsets.len() as u64)
            }
            _ => self.entries(),
        }
    }

    /// Entries the segment reached as far as anything shows: its valid records, its
    /// valid index, and, after damage, the damaged record and the valid records found
    /// after it.
    pub(crate) fn reached_entries(&self) -> u64 {
        // A problem with bytes where the next record would be: that (torn or damaged)
        // record, and any valid one found after it.
        let damaged = self.problem().is_some() && self.written_len > u64::from(self.valid_len);
        let after_damage = if damaged {
            self.entries() + 1 + self.records_after_problem
        } else {
            self.entries()
        };
        self.proven_entries().max(after_damage)
    }

    /// Whether the valid index agrees with the valid records.
    pub(crate) fn index_matches(&self) -> bool {
        self.index.fit(&self.offsets) == IndexFit::Matches
    }
}

/// The first position after `from` where a whole v2 record with a matching crc starts.
fn find_next_record(codec: Codec, data: &[u8], from: usize, until: u64) -> Option<u32> {
    if !codec.has_crc() {
        return None;
    }
    let until = usize::try_from(until).unwrap_or(usize::MAX).min(data.len());
    (from..until).find_map(|at| {
        let at = u32::try_from(at).ok()?;
        match codec.decode_record(data, FileOffset(at)) {
            Ok(Decoded::Record { .. }) => Some(at),
            _ => None,
        }
    })
}

/// The store's checking scan of a data file: mapped when the caller holds the
/// directory's lock (nobody can change it then), read into memory otherwise (a reader
/// without the lock must not map a file a writer may be changing).
fn scan_data<'lock>(
    lock: Option<&'lock DirLock>,
    path: &Path,
    codec: Codec,
) -> Result<DataFileScan<'lock>> {
    match lock {
        Some(lock) => DataFileScan::mapped(lock, path, codec).io_context("mmap", path),
        None => DataFileScan::read(path, codec).io_context("read", path),
    }
}

/// Scans one segment, reading its files from where the directory's layout says they are
/// (see `journal::read_layout`).
fn scan_segment(files: &SegmentFiles, lock: Option<&DirLock>) -> Result<SegmentScan> {
    let (base, codec) = (files.base, files.codec);
    let index_source = files.index_source.as_deref();
    let index = IndexState::read(codec, index_source)
        .io_context("read index", index_source.unwrap_or(&files.index_path))?;
    let scanned = scan_data(lock, &files.data_source, codec)?;
    let data = scanned.bytes();
    let end = scanned.end().clone();
    let valid_len = scanned.valid_len().0;
    // Where the written part of the file ends: zeros follow.
    let written = wal_format::zeros::nonzero_len(data) as u64;
    let resync = match &end {
        ScanEnd::Problem(_) => find_next_record(codec, data, valid_len as usize + 1, written),
        _ => None,
    };
    let records_after_problem = resync.map_or(0, |at| count_records_from(codec, data, at, written));
    let offsets = scanned.record_offsets().to_vec();
    let first_prev_crc = scanned.first_prev_crc();
    let last_crc = scanned.last_crc();
    let checked = scanned.into_checked();
    Ok(SegmentScan {
        base,
        codec,
        data_path: files.data_path.clone(),
        index,
        index_path: files.index_path.clone(),
        valid_len,
        last_crc,
        offsets,
        written_len: written,
        first_prev_crc,
        end,
        resync,
        records_after_problem,
        tail_garbage: false,
        checked,
    })
}

/// Valid records from `at` on, resynchronising after each damaged stretch.
fn count_records_from(codec: Codec, data: &[u8], at: u32, until: u64) -> u64 {
    let mut count = 0u64;
    let mut next = Some(at);
    while let Some(at) = next {
        match codec.decode_record(data, FileOffset(at)) {
            Ok(Decoded::Record { next: after, .. }) => {
                count += 1;
                next = Some(after.0);
            }
            // The end of the data.
            Ok(Decoded::EndMarker | Decoded::EndOfInput) => next = None,
            Err(_) => {
                // A damaged or torn record: at least one entry, then the next valid one.
                count += 1;
                next = find_next_record(codec, data, at as usize + 1, until);
            }
        }
        if next.is_some_and(|n| u64::from(n) >= until) {
            break;
        }
    }
    count
}

/// Scans every segment, on as many threads as there are cores: every v2 record carries
/// its own seed, so segments check independently; the links between them are compared
/// afterwards.
pub(super) fn scan_all(
    listed: &[SegmentFiles],
    lock: Option<&DirLock>,
) -> Result<Vec<SegmentScan>> {
    // Threads pay off only when there is enough to read: a small log (and every fuzz
    // input) is scanned on the calling thread.
    const PARALLEL_FROM_BYTES: u64 = 32 << 20;
    let total_bytes: u64 = listed
        .iter()
        .filter_map(|files| std::fs::metadata(&files.data_source).ok())
        .map(|meta| meta.len())
        .sum();
    let workers = if total_bytes < PARALLEL_FROM_BYTES {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(listed.len())
            .max(1)
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<SegmentScan>)>> =
        Mutex::new(Vec::with_capacity(listed.len()));
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(files) = listed.get(i) else {
                return;
            };
            let scanned = scan_segment(files, lock);
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((i, scanned));
        }
    };
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(work);
            }
        });
    }
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, scanned)| scanned).collect()
}
