//! Cheap counters an application can export to its own metrics system.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of the store's counters since it was opened. More counters may come: the
/// struct is `#[non_exhaustive]`, read its fields rather than build or match it whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Entries appended.
    pub entries_appended: u64,
    /// Payload bytes appended.
    pub payload_bytes_appended: u64,
    /// Syncs that reached the disk (msync or fsync rounds): those that make appended
    /// entries durable, a rotation's seal of the old segment included (its index file
    /// and the new segment too). The zeros a durably synced log writes ahead of its
    /// records are synced apart and not counted.
    pub syncs: u64,
    /// Duration of the latest sync, in microseconds.
    pub last_sync_micros: u64,
    /// Duration of the slowest sync, in microseconds.
    pub max_sync_micros: u64,
    /// Time spent in syncs, in microseconds: over `syncs`, the mean sync's duration.
    pub total_sync_micros: u64,
    /// Segments in the log now.
    pub segments: u64,
    /// Segments sealed and replaced by a new one since opening.
    pub rotations: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    syncs: AtomicU64,
    last_sync_micros: AtomicU64,
    max_sync_micros: AtomicU64,
    total_sync_micros: AtomicU64,
    rotations: AtomicU64,
}

impl Counters {
    pub(crate) fn synced(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.last_sync_micros.store(micros, Ordering::Relaxed);
        self.max_sync_micros.fetch_max(micros, Ordering::Relaxed);
        self.total_sync_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub(crate) fn rotated(&self) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, segments: u64) -> Stats {
        Stats {
            // Counted in the log's tail (see `Wal::stats`).
            entries_appended: 0,
            payload_bytes_appended: 0,
            syncs: self.syncs.load(Ordering::Relaxed),
            last_sync_micros: self.last_sync_micros.load(Ordering::Relaxed),
            max_sync_micros: self.max_sync_micros.load(Ordering::Relaxed),
            total_sync_micros: self.total_sync_micros.load(Ordering::Relaxed),
            segments,
            rotations: self.rotations.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_durations_add_up_and_the_slowest_and_latest_are_kept() {
        let counters = Counters::default();
        counters.synced(Duration::from_micros(3000));
        counters.synced(Duration::from_micros(1000));
        let stats = counters.snapshot(1);
        assert_eq!(stats.syncs, 2);
        assert_eq!(stats.total_sync_micros, 4000);
        assert_eq!(stats.max_sync_micros, 3000);
        assert_eq!(stats.last_sync_micros, 1000);
    }
}
