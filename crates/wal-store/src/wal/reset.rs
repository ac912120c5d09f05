//! Resetting the log: every entry dropped and the log continuing at any offset, forward
//! or backward, atomically across a crash.
//!
//! The steps, each durable before the next:
//! 1. `SEED` says "a reset to `offset` (seeded with `crc`) is under way" (version 2, the
//!    reset flag): the commit point. From here on every segment file in the directory is
//!    void, whatever it holds: an open (the store's or recovery's) that finds the flag
//!    finishes the reset, and read-only users see the empty log at `offset`.
//! 2. Every segment's data and index file, every orphan index, `HOLES` and `CLOSED` are
//!    removed, then the directory is fsynced.
//! 3. The new, empty segment at `offset` is created (temp file, fsync, rename, directory
//!    fsync).
//! 4. `SEED` says "the log starts at `offset`" (version 1, no flag).
//!
//! A crash before step 1 leaves the old log; after it, the new one. The new segment is
//! created before the flag is cleared, so that a directory with a `SEED` and no segment
//! keeps the one meaning it had (a log whose creation crashed before its first segment:
//! created afresh from the options).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::{Result, StoreError};
use crate::fs;
use crate::layout::DirLayout;
use crate::options::WalOptions;
use crate::seed::{self, LogStart};
use crate::segment::Segment;
use crate::wal::inner::Inner;

/// Steps 1 to 4 above, for the directory `dir` (whose lock the caller holds): the reset to
/// `start` finished, and the new segment it leaves, mapped for appending.
pub(super) fn reset_dir(dir: &Path, start: LogStart, options: &WalOptions) -> Result<Segment> {
    seed::write_seed(
        dir,
        LogStart {
            resetting: true,
            ..start
        },
    )?;
    remove_log_files(dir)?;
    let segment = Segment::create(dir, start.offset, options.codec, options.segment_bytes)?;
    seed::write_seed(
        dir,
        LogStart {
            resetting: false,
            ..start
        },
    )?;
    log::info!(
        target: "wal_store::reset",
        "reset {}: the log continues at {} (seed {:#010x})",
        dir.display(),
        start.offset,
        start.crc
    );
    Ok(segment)
}

/// Removes every file of the log's segments (data and index, of every codec, and index
/// files of no segment), the holes file and the close record, then fsyncs the directory.
/// Files the store does not know are left alone.
fn remove_log_files(dir: &Path) -> Result<()> {
    let layout = DirLayout::read(dir)?;
    for segment in layout.segments.iter().chain(&layout.duplicates) {
        fs::remove_if_present(&segment.index_path)?;
        fs::remove_if_present(&segment.data_path)?;
    }
    for (_, _, path) in &layout.orphan_indexes {
        fs::remove_if_present(path)?;
    }
    fs::remove_if_present(&crate::holes::holes_path(dir))?;
    fs::remove_if_present(&crate::closed::closed_path(dir))?;
    fs::sync_dir(dir)
}

impl Inner {
    /// See [`Wal::reset_to`](crate::Wal::reset_to).
    pub(super) fn reset_to(&self, next_offset: u64, seed_crc: u32) -> Result<()> {
        if next_offset == u64::MAX {
            return Err(StoreError::OffsetOutOfRange {
                offset: next_offset,
                first: self.first_offset(),
                next: self.readable_end(),
                reason: "a reset leaves room for an entry (the largest offset is u64::MAX - 1)",
            });
        }
        let leadership = self.sync.lead()?;
        let mut tail = self.lock_tail_open()?;
        // Whatever was appended becomes durable first, dropped or not: a thread waiting
        // for one of those entries to be durable then learns the truth.
        self.sync_holding_tail(&tail)?;
        let mut segments = self.segments_write()?;
        // From the flag on, the files no longer match what the log holds in memory until
        // the reset is finished: a failure refuses every later write until a reopen (which
        // finishes the reset) reads what is on disk.
        let start = LogStart::at(next_offset, seed_crc);
        let fresh = reset_dir(&self.dir, start, &self.options).inspect_err(|e| {
            self.sync.poison(format!("reset left unfinished: {e}"));
            self.waiters.wake_all();
        })?;
        let fresh = Arc::new(fresh);
        segments.clear();
        segments.push(Arc::clone(&fresh));
        self.holes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.first_offset.store(next_offset, Ordering::Release);
        self.readable_end.store(next_offset, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.sync.reset(next_offset);
        // Every entry is gone: each reader waiting for one learns it, as from a
        // truncation, and goes on from the new end.
        let wakeups = self.waiters.truncated(0);
        drop(segments);
        tail.active = fresh;
        tail.next_offset = next_offset;
        tail.last_crc = self.options.codec.has_crc().then_some(seed_crc);
        tail.sealed_on_disk = false;
        tail.deferred_unchecked = false;
        tail.close_record_on_disk = false;
        tail.close_record_current = false;
        drop(tail);
        drop(leadership);
        wakeups.wake();
        self.wake_visible();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    use crate::error::StoreError;
    use crate::options::{ReadVisibility, WalOptions};
    use crate::wal::{TRUNCATED_BELOW_WAIT, Wal};

    /// A waker that only notes that it was woken.
    #[derive(Default)]
    struct Noted(AtomicBool);

    impl Wake for Noted {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_reset_wakes_every_waiting_reader_with_the_truncation() {
        for next in [2, 4, 100] {
            let dir = tempfile::tempdir().unwrap();
            let options = WalOptions::default().with_read_visibility(ReadVisibility::Appended);
            let wal = Wal::open(dir.path(), options).unwrap();
            for i in 0..4u8 {
                wal.append(&[i + 1; 10]).unwrap();
            }
            // A reader has read 0..=3 and waits for 4.
            let mut future = pin!(wal.visible(4));
            let noted = Arc::new(Noted::default());
            let waker = Waker::from(Arc::clone(&noted));
            let mut cx = Context::from_waker(&waker);
            assert!(future.as_mut().poll(&mut cx).is_pending());
            wal.reset_to(next, 7).unwrap();
            assert!(noted.0.load(Ordering::SeqCst), "reset to {next}");
            let result = match future.as_mut().poll(&mut cx) {
                Poll::Ready(result) => result,
                Poll::Pending => panic!("reset to {next}: the wait must resolve"),
            };
            assert!(
                matches!(&result, Err(StoreError::OffsetOutOfRange { offset: 4, reason, .. })
                    if *reason == TRUNCATED_BELOW_WAIT),
                "reset to {next}: {result:?}"
            );
        }
    }
}
