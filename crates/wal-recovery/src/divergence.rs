//! Where two copies of a log (a leader's and a replica's) part ways, found through the
//! chained crcs: equal crcs at offset k mean equal entries up to k, so a binary search
//! over the stored crcs finds the first divergent entry without reading payloads.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use wal_format::{Codec, Scanner};
use wal_store::layout::{DirLayout, IndexState};

use crate::error::{IoContext, RecoveryError, Result};

/// The outcome of [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Divergence {
    /// Both logs hold the same entries at the same offsets, and nothing else.
    pub identical: bool,
    /// The first offset, within the offsets both logs hold, where they differ; or, when
    /// they agree on all of those, the first offset one holds and the other does not.
    /// `None` when identical.
    pub first_divergent_offset: Option<u64>,
    /// The last offset both hold with equal entries, if any.
    pub common_last_offset: Option<u64>,
}

struct SegmentView {
    base: u64,
    codec: Codec,
    path: std::path::PathBuf,
    offsets: Vec<u32>,
    file: File,
}

/// A read-only view of a log's record positions: sealed segments through their index,
/// the last one by scanning. Reads only headers (v2) or payloads (v1) on demand.
struct LogView {
    segments: Vec<SegmentView>,
    /// The log's logical start (the `SEED` file), when it has one: entries below it are
    /// trimmed, and with the reset flag the log is empty there (a plain start past every
    /// record is lost entries, not an empty log).
    start: Option<wal_store::layout::LogStart>,
}

/// What identifies an entry: its stored crc (v2) or its payload (v1).
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Crc(u32),
    Payload(Vec<u8>),
}

impl LogView {
    fn open(dir: &Path) -> Result<LogView> {
        let files = DirLayout::read(dir)?;
        // A base with data files of two codecs: which one holds the log is not known.
        files.segments_without_duplicates()?;
        // Where the log starts: the segments wholly below it are not read. A damaged
        // seed file says nothing (recovery reports it): the first record is the start.
        let start = files.read_start().ok().flatten();
        let below = files.segments_below(start.as_ref());
        let count = files.segments.len().saturating_sub(below);
        let mut segments = Vec::with_capacity(count);
        for (i, segment) in files.segments.into_iter().skip(below).enumerate() {
            let data_path = segment.data_path;
            let file = File::open(&data_path).io_context("open", &data_path)?;
            // Sealed segments through their index when it is valid (an index that
            // cannot be read or parsed is no help: the data is scanned instead).
            let from_index = (i + 1 < count)
                .then(|| IndexState::read(segment.codec, segment.index_source.as_deref()).ok())
                .flatten()
                .and_then(|index| index.offsets().map(<[u32]>::to_vec));
            let offsets = match from_index {
                Some(offsets) => offsets,
                None => {
                    let data = std::fs::read(&data_path).io_context("read", &data_path)?;
                    Scanner::new(segment.codec, &data)
                        .map(|r| r.file_offset.0)
                        .collect()
                }
            };
            segments.push(SegmentView {
                base: segment.base,
                codec: segment.codec,
                path: data_path,
                offsets,
                file,
            });
        }
        Ok(LogView { segments, start })
    }

    /// First offset and one past the last.
    fn range(&self) -> Option<(u64, u64)> {
        let records = self
            .segments
            .first()
            .zip(self.segments.last())
            .map(|(first, last)| {
                (
                    first.base,
                    last.base.saturating_add(last.offsets.len() as u64),
                )
            });
        match (records, self.start) {
            (_, Some(start)) if start.resetting => Some((start.offset, start.offset)),
            // A plain start past every record: entries were lost (recovery reports
            // them); the records read as they are, from the first.
            (Some((first, end)), Some(start)) if start.offset > end => Some((first, end)),
            (Some((first, end)), Some(start)) => Some((first.max(start.offset), end)),
            (records, _) => records,
        }
    }

    fn identity(&self, offset: u64) -> Result<Option<Identity>> {
        let i = self.segments.partition_point(|s| s.base <= offset);
        let Some(segment) = i.checked_sub(1).and_then(|i| self.segments.get(i)) else {
            return Ok(None);
        };
        let Some(&at) = usize::try_from(offset - segment.base)
            .ok()
            .and_then(|p| segment.offsets.get(p))
        else {
            return Ok(None);
        };
        let mut header = [0u8; 12];
        let header = header
            .get_mut(..segment.codec.header_bytes())
            .unwrap_or_default();
        segment
            .file
            .read_exact_at(header, u64::from(at))
            .map_err(|source| RecoveryError::Io {
                op: "read",
                path: segment.path.clone(),
                source,
            })?;
        let field = |i: usize| -> u32 {
            let mut word = [0u8; 4];
            word.copy_from_slice(header.get(i..i + 4).unwrap_or(&[0; 4]));
            u32::from_be_bytes(word)
        };
        if segment.codec.has_crc() {
            return Ok(Some(Identity::Crc(field(8))));
        }
        let mut payload = vec![0u8; field(0) as usize];
        segment
            .file
            .read_exact_at(&mut payload, u64::from(at) + 4)
            .map_err(|source| RecoveryError::Io {
                op: "read",
                path: segment.path.clone(),
                source,
            })?;
        Ok(Some(Identity::Payload(payload)))
    }

    fn all_v2(&self) -> bool {
        self.segments.iter().all(|s| s.codec.has_crc())
    }
}

/// Finds the first offset where the logs in `dir_a` and `dir_b` differ. Reads only.
///
/// When both logs are v2 throughout, a binary search over the stored crcs finds it in a
/// logarithmic number of header reads; with v1 segments (no crc), payloads are compared
/// one by one.
pub fn compare(dir_a: impl AsRef<Path>, dir_b: impl AsRef<Path>) -> Result<Divergence> {
    let a = LogView::open(dir_a.as_ref())?;
    let b = LogView::open(dir_b.as_ref())?;
    let (Some((first_a, end_a)), Some((first_b, end_b))) = (a.range(), b.range()) else {
        return Ok(Divergence {
            identical: a.range() == b.range(),
            first_divergent_offset: None,
            common_last_offset: None,
        });
    };
    let lo = first_a.max(first_b);
    let hi = end_a.min(end_b); // exclusive
    let differs = |offset: u64| -> Result<bool> { Ok(a.identity(offset)? != b.identity(offset)?) };
    // The first offset in lo..hi where the logs differ, or hi if none.
    let first_difference = if lo >= hi {
        hi.max(lo)
    } else if a.all_v2() && b.all_v2() {
        let (mut low, mut high) = (lo, hi);
        while low < high {
            let mid = low + (high - low) / 2;
            if differs(mid)? {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        low
    } else {
        let mut at = lo;
        while at < hi && !differs(at)? {
            at += 1;
        }
        at
    };
    let identical = first_difference >= hi && first_a == first_b && end_a == end_b;
    Ok(Divergence {
        identical,
        first_divergent_offset: (!identical).then_some(first_difference),
        common_last_offset: (first_difference > lo).then(|| first_difference - 1),
    })
}
