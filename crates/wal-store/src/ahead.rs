//! Checking crcs ahead of a long visit, on another core.
//!
//! A visit hands out entries in order on the caller's thread, and checking each record's
//! crc is a large part of its cost. A helper thread walks the visit's range ahead of it,
//! a chunk at a time, checking the crcs of the records that were visible when the visit
//! began; the visit reads the records the helper has checked without computing their
//! crcs again, and checks the others itself. The visit never waits for the helper: where
//! the helper has not been yet, the visit checks, and the helper skips ahead of it.
//! Every record handed out has had its crc checked in this process, once.
//!
//! What the helper found holds only while the log's epoch is the one the visit began
//! with: any change of the segment list moves it (a rotation, a trim, a truncation: the
//! last is the only change to records already visible), and then the visit checks
//! everything itself.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::segment::Segment;

/// Whether checking ahead pays off: a range of at least this many bytes, and more than
/// one core.
const MIN_BYTES: u64 = 16 << 20;

/// Records the helper checks per hold of the shared list lock, and per report of its
/// progress (or fewer, see [`CHUNK_BYTES`]).
const CHUNK_RECORDS: u64 = 2048;
/// Bytes of records the helper checks per chunk, at most.
const CHUNK_BYTES: usize = 1 << 20;
/// How far ahead of the visit the helper resumes when the visit has caught up with it
/// (the visit checks these records itself meanwhile): the records of this many bytes, or
/// of at most this many records.
const LEAD_BYTES: u64 = 256 << 10;
const LEAD_RECORDS: u64 = 2048;

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Two positions in one word, so that a reader never sees half an update. Positions in a
/// segment fit in 32 bits (a record takes at least 13 of a segment's at most 2^32 bytes).
fn pack(low: u64, high: u64) -> Option<u64> {
    Some((u64::from(u32::try_from(low).ok()?) << 32) | u64::from(u32::try_from(high).ok()?))
}

fn unpack(word: u64) -> (u64, u64) {
    (word >> 32, word & u64::from(u32::MAX))
}

/// See [`CheckAhead::stop_on_drop`].
pub(crate) struct StopOnDrop<'a>(&'a CheckAhead);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A visit's range, checked ahead of it by a helper thread.
pub(crate) struct CheckAhead {
    /// The segments of the range, in order, from the one the visit starts in.
    segments: Vec<Arc<Segment>>,
    /// Per segment, the positions to check: those visible when the visit began.
    ranges: Vec<Range<u64>>,
    /// Per segment, the positions whose records the helper has checked, packed (see
    /// [`pack`]); empty at first.
    checked: Vec<AtomicU64>,
    /// The log's epoch when the visit began.
    epoch: u64,
    /// Where the visit is: the index of its segment in `segments` and its position there,
    /// packed.
    visitor: AtomicU64,
    stop: AtomicBool,
}

impl CheckAhead {
    /// The plan for a visit from `position` in `segments[start]` up to the offset `end`
    /// (exclusive) at the log's `epoch`, or `None` when checking ahead would not pay off.
    pub(crate) fn plan(
        segments: &[Arc<Segment>],
        start: usize,
        position: u64,
        end: u64,
        epoch: u64,
    ) -> Option<CheckAhead> {
        if cores() < 2 {
            return None;
        }
        let mut planned = Vec::new();
        let mut ranges = Vec::new();
        let mut bytes = 0u64;
        for (i, segment) in segments.iter().enumerate().skip(start) {
            let entries = segment.entries().ok()?;
            let to = entries.min(end.saturating_sub(segment.base));
            // Records recovery has just checked are read without a check anyway, and v1
            // records have no crc.
            let from = if segment.is_checked() || !segment.codec.has_crc() {
                to
            } else if i == start {
                position.min(to)
            } else {
                0
            };
            pack(from, to)?;
            // The bytes of the part visited, in proportion (a hint: a deferred segment
            // gives its file's length), summed only as far as the threshold.
            if bytes < MIN_BYTES && to > from {
                let share = segment
                    .bytes_hint()
                    .saturating_mul(to - from)
                    .checked_div(entries)
                    .unwrap_or(0);
                bytes = bytes.saturating_add(share);
            }
            planned.push(Arc::clone(segment));
            ranges.push(from..to);
        }
        if bytes < MIN_BYTES {
            return None;
        }
        let checked = ranges.iter().map(|_| AtomicU64::new(0)).collect();
        Some(CheckAhead {
            segments: planned,
            ranges,
            checked,
            epoch,
            visitor: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        })
    }

    /// The helper's work: checks the plan's records in order, a chunk at a time, each
    /// while holding the shared side of the log's segment list (`list`), as every reader
    /// does (rule 3 of the mmap contract), and only while the segment is still in the list
    /// and the log's epoch (`epoch`) has not moved. Never stays behind the visit: it
    /// skips to where the visit is. Stops at the end, at [`stop`](CheckAhead::stop), or at
    /// a change of the log; a damaged record ends its segment's checking (the visit finds
    /// the damage itself and reports it where it lies).
    pub(crate) fn run(&self, list: &RwLock<Vec<Arc<Segment>>>, epoch: &AtomicU64) {
        for (i, ((segment, range), checked)) in self
            .segments
            .iter()
            .zip(&self.ranges)
            .zip(&self.checked)
            .enumerate()
        {
            let mut low = range.start;
            let mut at = range.start;
            // The records in about LEAD_BYTES of this segment.
            let entries = segment.entries().unwrap_or(0).max(1);
            let lead = (LEAD_BYTES.saturating_mul(entries) / segment.bytes_hint().max(1))
                .clamp(1, LEAD_RECORDS);
            while at < range.end {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                let (visitor_segment, visitor_position) =
                    unpack(self.visitor.load(Ordering::Acquire));
                if visitor_segment > i as u64 {
                    break;
                }
                if visitor_segment == i as u64 && visitor_position >= at {
                    // Caught up: the visit checks the next records itself; take those
                    // after them, so that no record is checked twice.
                    low = visitor_position.saturating_add(lead);
                    at = low;
                    continue;
                }
                let to = at.saturating_add(CHUNK_RECORDS).min(range.end);
                let Ok(current) = list.read() else {
                    return;
                };
                if epoch.load(Ordering::Acquire) != self.epoch
                    || !current.iter().any(|s| Arc::ptr_eq(s, segment))
                {
                    return;
                }
                let reached = segment.check_records(at, to, CHUNK_BYTES);
                drop(current);
                let Some(reached) = reached else {
                    break;
                };
                if let Some(word) = pack(low, reached) {
                    checked.store(word, Ordering::Release);
                }
                at = reached;
            }
        }
    }

    /// Tells the helper to finish early (the visit ended).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Tells the helper to finish early when dropped: however the visit ends, a panic
    /// in its callback included.
    pub(crate) fn stop_on_drop(&self) -> StopOnDrop<'_> {
        StopOnDrop(self)
    }

    /// For the visit, about to read `segment` from `position` with the log at `epoch`
    /// (holding the shared list lock, so that the epoch stays): notes where it is, and
    /// gives what the helper checks in that segment, to be looked at record by record
    /// (`None` when nothing it found holds). Never waits.
    pub(crate) fn coverage(
        &self,
        segment: &Arc<Segment>,
        position: u64,
        epoch: u64,
    ) -> Option<&AtomicU64> {
        let i = self.segments.iter().position(|s| Arc::ptr_eq(s, segment))?;
        if let Some(word) = pack(i as u64, position) {
            self.visitor.fetch_max(word, Ordering::AcqRel);
        }
        if epoch != self.epoch {
            return None;
        }
        self.checked.get(i)
    }
}

/// The records of a segment a visit need not check again: those below `below` (checked
/// by recovery just before), and those the check-ahead helper reports in `ahead` as it
/// goes (see [`CheckAhead::coverage`]).
#[derive(Clone, Copy, Default)]
pub(crate) struct Checked<'a> {
    pub(crate) below: u64,
    pub(crate) ahead: Option<&'a AtomicU64>,
}

impl Checked<'_> {
    /// Whether recovery checked the record at `position`.
    #[inline]
    pub(crate) fn by_recovery(&self, position: u64) -> bool {
        position < self.below
    }

    /// Whether the helper checked the record the offsets list at `position`.
    #[inline]
    pub(crate) fn by_helper(&self, position: u64) -> bool {
        self.ahead.is_some_and(|word| {
            let (low, high) = unpack(word.load(Ordering::Acquire));
            (low..high).contains(&position)
        })
    }
}
