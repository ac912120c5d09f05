//! Scanning the segments: one segment's data (its valid prefix, where and how it ends,
//! what follows the damage) and its index file, read through the directory's view; and
//! every segment of a directory, in parallel when there is enough to read.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wal_format::{Codec, Decoded, FileOffset, FormatError, IndexView, ScanEnd};
use wal_store::internal::naming;
use wal_store::{CheckedSegment, DataFileScan, DirLock};

use crate::error::{IoContext, Result};
use crate::journal::DirView;

/// What a sealed or last segment's index file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexState {
    /// A valid index (its own checks pass), with its offsets.
    Valid(Vec<u32>),
    /// No index file.
    Missing,
    /// An index file that fails its own checks.
    Corrupt(String),
}

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
        match &self.index {
            IndexState::Valid(offsets) if offsets.starts_with(&self.offsets) => {
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
        matches!(&self.index, IndexState::Valid(offsets) if *offsets == self.offsets)
    }
}

/// Position of the last non-zero byte, plus one (0 for all zeros).
fn written_len(data: &[u8]) -> u64 {
    const CHUNK: usize = 4096;
    let mut end = data.len();
    for chunk in data.rchunks(CHUNK) {
        // The OR of a whole chunk vectorizes; only a chunk with a non-zero byte is searched.
        if chunk.iter().fold(0u8, |acc, &b| acc | b) == 0 {
            end -= chunk.len();
            continue;
        }
        if let Some(i) = chunk.iter().rposition(|&b| b != 0) {
            return (end - chunk.len() + i + 1) as u64;
        }
        end -= chunk.len();
    }
    0
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

fn read_index(path: &Path, codec: Codec) -> Result<IndexState> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(match IndexView::parse(codec, &bytes) {
            Ok(view) => IndexState::Valid(view.iter().map(|o| o.0).collect()),
            Err(e) => IndexState::Corrupt(e.to_string()),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(IndexState::Missing),
        Err(e) => Err(e).io_context("read index", path),
    }
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

/// Scans one segment, reading its files where `view` says they are (see [`DirView`]).
fn scan_segment(
    view: &DirView,
    base: u64,
    codec: Codec,
    lock: Option<&DirLock>,
) -> Result<SegmentScan> {
    let data_path = naming::data_path(view.dir(), base, codec);
    let index_path = naming::index_path(view.dir(), base, codec);
    let data_source = view.source(&data_path).unwrap_or_else(|| data_path.clone());
    let index = match view.source(&index_path) {
        Some(source) => read_index(&source, codec)?,
        None => IndexState::Missing,
    };
    let scanned = scan_data(lock, &data_source, codec)?;
    let data = scanned.bytes();
    let end = scanned.end().clone();
    let valid_len = scanned.valid_len().0;
    let written = written_len(data);
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
        data_path,
        index,
        index_path,
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
    view: &DirView,
    listed: &[(u64, Codec)],
    lock: Option<&DirLock>,
) -> Result<Vec<SegmentScan>> {
    // Threads pay off only when there is enough to read: a small log (and every fuzz
    // input) is scanned on the calling thread.
    const PARALLEL_FROM_BYTES: u64 = 32 << 20;
    let total_bytes: u64 = listed
        .iter()
        .filter_map(|&(base, codec)| view.source(&naming::data_path(view.dir(), base, codec)))
        .filter_map(|path| std::fs::metadata(path).ok())
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
            let Some(&(base, codec)) = listed.get(i) else {
                return;
            };
            let scanned = scan_segment(view, base, codec, lock);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_len_finds_the_last_non_zero_byte() {
        assert_eq!(written_len(&[]), 0);
        assert_eq!(written_len(&[0; 10_000]), 0);
        let mut v = vec![0u8; 10_000];
        v[0] = 1;
        assert_eq!(written_len(&v), 1);
        v[9_999] = 1;
        assert_eq!(written_len(&v), 10_000);
        v[9_999] = 0;
        v[4_096] = 7;
        assert_eq!(written_len(&v), 4_097);
    }
}
