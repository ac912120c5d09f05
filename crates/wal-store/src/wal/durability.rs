//! Durability: every sync of segment data (one at a time, a failure poisoning the log),
//! group commit's leader, the interval syncer, and the close record written at a clean
//! close and forgotten before the first change.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::closed::{self, CloseRecord};
use crate::error::{IoContext, Result, StoreError};
use crate::options::ReadVisibility;
use crate::segment::Segment;
use crate::wal::inner::{Inner, Tail};

impl Inner {
    /// Runs `flush`, a sync (msync or fsync) of segment data, as the only one running in
    /// this log; a failure poisons the log before the next sync can start, and none
    /// starts once the log is poisoned.
    ///
    /// Linux reports a writeback error of a file once per open file description, to the
    /// first sync of it that looks, whatever range that sync covered. Two syncs of the
    /// active segment at once (a group-commit leader's, and a zero-ahead's or a
    /// rotation's under the tail) could let one take the error of the other's pages, and
    /// the other report success for data that never reached the disk. One at a time,
    /// every error is seen by the sync whose writeback failed or by an earlier one,
    /// which poisons the log first.
    pub(super) fn flush_data<T>(&self, flush: impl FnOnce() -> Result<T>) -> Result<T> {
        let _alone = self
            .flushing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(cause) = self.sync.poisoned_fast() {
            return Err(StoreError::Poisoned { cause });
        }
        flush().inspect_err(|e| {
            self.sync.poison(e.to_string());
            // Nothing becomes visible any more: waiting readers learn why.
            self.waiters.wake_all();
        })
    }

    /// Syncs the active segment while holding the tail: nothing can be appended
    /// meanwhile, so the whole log is durable when it returns.
    pub(super) fn sync_holding_tail(&self, tail: &Tail) -> Result<()> {
        let len = tail.active.data_len();
        let took = self.flush_data(|| {
            let started = Instant::now();
            tail.active.flush_to(len).map(|()| started.elapsed())
        })?;
        self.counters.synced(took);
        self.sync.advance(tail.next_offset);
        self.publish_synced(&tail.active, len, tail.next_offset);
        Ok(())
    }

    pub(super) fn sync_all(&self) -> Result<()> {
        let end = self.lock_tail()?.next_offset;
        self.sync_until(end)
    }

    /// Waits until every entry below `end` is durable (leading a sync if none runs),
    /// then tells the waiters that settled (see `pending.rs`).
    pub(super) fn sync_until(&self, end: u64) -> Result<()> {
        let durable = self.sync.wait_durable(end, || self.lead_sync());
        // The leader's sync may have made entries visible (see `publish_synced`).
        self.wake_visible();
        self.complete_waiters();
        if durable? {
            Ok(())
        } else {
            Err(StoreError::OffsetOutOfRange {
                offset: end.saturating_sub(1),
                first: self.first_offset(),
                next: self.readable_end(),
                reason: "a truncation removed the entry before it became durable",
            })
        }
    }

    /// The leader's sync: msync the active segment up to the end seen now, without
    /// holding the tail, so that appends go on meanwhile. (Sealed segments were made
    /// durable when they were sealed.)
    fn lead_sync(&self) -> Result<u64> {
        let (active, len, end) = {
            let tail = self.lock_tail()?;
            (
                Arc::clone(&tail.active),
                tail.active.data_len(),
                tail.next_offset,
            )
        };
        let took = self.flush_data(|| {
            let started = Instant::now();
            active.flush_to(len).map(|()| started.elapsed())
        })?;
        self.counters.synced(took);
        // No wake-up here: the leadership's release wakes the waiters, once.
        self.sync.advance_quietly(end);
        self.publish_synced(&active, len, end);
        Ok(end)
    }

    /// Lets readers (with `ReadVisibility::Synced`) see what a sync made durable. Called
    /// after the durable end was advanced, never before. The caller wakes the waiting
    /// readers once it holds no lock of the log ([`Inner::wake_visible`]).
    fn publish_synced(&self, segment: &Segment, len: u32, end: u64) {
        if self.options.read_visibility == ReadVisibility::Synced {
            segment.publish(len);
            self.readable_end.fetch_max(end, Ordering::AcqRel);
        }
    }

    /// See [`Wal::shutdown`](crate::Wal::shutdown) (the interval syncer is stopped
    /// already). The flag goes up under the tail lock, which every change takes and then
    /// reads it under: a change before it is covered by the sync below, none comes after.
    pub(super) fn shutdown(&self) -> Result<()> {
        {
            let _tail = self.tail_for_reading();
            if self.closed.swap(true, Ordering::AcqRel) {
                return Err(StoreError::Closed);
            }
        }
        self.waiters.wake_all();
        // Calls already past their check of the flag finish first: readers (which hold
        // the shared list lock from their check until they have noted any damage they
        // found) and a replacement of `META` (which checks under its own lock). After
        // these the log's files and its record of damage change no more.
        drop(
            self.segments
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );
        drop(
            self.meta_writing
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let closed = match self.sync.poisoned() {
            Some(cause) => Err(StoreError::Poisoned { cause }),
            None => self.sync_all().and_then(|()| self.write_close_record()),
        };
        // The last sync is done: a submitted batch or callback still waiting is for an
        // entry that never will be durable (or not appended at all).
        self.close_waiters();
        closed
    }

    /// Removes the close record, durably, if one may be on disk: the active segment is
    /// about to change, and the record would no longer describe it.
    pub(super) fn forget_close_record(&self, tail: &mut Tail) -> Result<()> {
        if tail.close_record_on_disk {
            tail.close_record_current = false;
            closed::consume(&self.dir)?;
            tail.close_record_on_disk = false;
        }
        Ok(())
    }

    /// Writes the close record (see `closed.rs`) for the active segment, every entry of
    /// which is durable: the next open need not scan it. Failing to write it costs that
    /// open time, not data, so a failure is logged rather than returned.
    pub(super) fn write_close_record(&self) -> Result<()> {
        let tail = self.lock_tail()?;
        if self.damage_seen.load(Ordering::Acquire) {
            // A read found damage: the next open must check the whole log, not trust a
            // record of its end (see `Inner::note_damage`).
            return Ok(());
        }
        if tail.close_record_on_disk && tail.close_record_current {
            // Opened from this very record, and nothing has changed the segment since.
            return Ok(());
        }
        let active = &tail.active;
        let describable = active.entries()? > 0
            && active.codec.has_crc()
            && active.synced_len() == active.data_len();
        let written = match tail.last_crc {
            Some(last_crc) if describable => closed::write(
                &self.dir,
                &CloseRecord {
                    base: active.base,
                    codec: active.codec,
                    data_len: active.data_len(),
                    last_crc,
                    offsets: active.offsets_read()?.to_vec(),
                },
            ),
            // Nothing to describe (an empty or v1 active segment). Any record from before
            // went when the segment first changed; one that did not describe it was
            // refused at open and is refused again.
            _ => Ok(()),
        };
        if let Err(e) = written {
            log::warn!(target: "wal_store::segment", "close record not written: {e}");
        }
        Ok(())
    }
}

/// The background thread of [`SyncPolicy::Interval`](crate::SyncPolicy::Interval).
#[derive(Debug)]
pub(super) struct IntervalSyncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<()>,
}

impl IntervalSyncer {
    pub(super) fn start(inner: &Arc<Inner>, interval: Duration) -> Result<IntervalSyncer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let thread_stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("wal-sync".to_owned())
            .spawn(move || run_interval(&thread_stop, &weak, interval))
            .io_context("spawn sync thread", &inner.dir)?;
        Ok(IntervalSyncer { stop, handle })
    }

    pub(super) fn stop(self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        // A callback run by the syncer (its syncs tell waiters) may drop the last handle
        // of the log or shut it down: the thread then stops by itself after the
        // callback, and cannot wait for itself.
        if self.handle.thread().id() == std::thread::current().id() {
            return;
        }
        // The thread only syncs and returns; a panic in it has already been reported by
        // the panic hook, and the log's own state stays consistent.
        let _ = self.handle.join();
    }
}

/// The interval syncer's loop: a sync every `interval` until stopped, or the log fails
/// or goes away. The stop flag is not held while syncing, so that a callback the sync
/// runs may stop the syncer (see [`IntervalSyncer::stop`]).
fn run_interval(stop: &(Mutex<bool>, Condvar), weak: &Weak<Inner>, interval: Duration) {
    let (flag, wake) = stop;
    loop {
        {
            let stopped = flag.lock().unwrap_or_else(|p| p.into_inner());
            // Checked before every wait: a stop that came before this thread first took
            // the lock (or during the last sync) must not wait out a whole interval.
            if *stopped {
                return;
            }
            let (stopped, _) = wake
                .wait_timeout(stopped, interval)
                .unwrap_or_else(|p| p.into_inner());
            if *stopped {
                return;
            }
        }
        let Some(inner) = weak.upgrade() else { return };
        // A failure poisons the log, which reports it to every later caller.
        if inner.sync_all().is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::options::WalOptions;
    use crate::wal::Wal;

    fn failed_msync() -> StoreError {
        StoreError::Io {
            op: "msync",
            path: PathBuf::from("segment"),
            source: std::io::Error::from_raw_os_error(5),
        }
    }

    /// The error a sync of the file returns may belong to pages another sync wrote: the
    /// log's syncs run one at a time, and the first failure refuses every later sync and
    /// append, so that no sync reports success after another took its error.
    #[test]
    fn a_failed_data_sync_refuses_every_sync_after_it_and_syncs_run_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        wal.append(b"before").unwrap();
        let inner = Arc::clone(&wal.inner);

        // A sync holds its turn while it runs: one started meanwhile waits for it, then
        // finds the log failed and does not run at all.
        let (inside_tx, inside_rx) = mpsc::channel();
        let (finish_tx, finish_rx) = mpsc::channel::<()>();
        let first_inside = Arc::new(AtomicBool::new(false));
        let first = {
            let inner = Arc::clone(&inner);
            let first_inside = Arc::clone(&first_inside);
            std::thread::spawn(move || {
                inner.flush_data(|| -> Result<()> {
                    first_inside.store(true, Ordering::SeqCst);
                    inside_tx.send(()).unwrap();
                    finish_rx.recv().unwrap();
                    first_inside.store(false, Ordering::SeqCst);
                    Err(failed_msync())
                })
            })
        };
        inside_rx.recv().unwrap();
        assert!(
            inner.flushing.try_lock().is_err(),
            "a sync runs without holding its turn"
        );
        let second_ran = Arc::new(AtomicBool::new(false));
        let second = {
            let inner = Arc::clone(&inner);
            let first_inside = Arc::clone(&first_inside);
            let second_ran = Arc::clone(&second_ran);
            std::thread::spawn(move || {
                inner.flush_data(|| -> Result<()> {
                    // Never while the first runs.
                    assert!(!first_inside.load(Ordering::SeqCst));
                    second_ran.store(true, Ordering::SeqCst);
                    Ok(())
                })
            })
        };
        // Room for the second sync to reach the lock while the first holds it (the
        // outcome is the same whichever comes first).
        std::thread::sleep(Duration::from_millis(20));
        finish_tx.send(()).unwrap();
        assert!(matches!(
            first.join().unwrap(),
            Err(StoreError::Io { op: "msync", .. })
        ));
        assert!(matches!(
            second.join().unwrap(),
            Err(StoreError::Poisoned { .. })
        ));
        assert!(!second_ran.load(Ordering::SeqCst));

        // The log refuses appends and syncs from then on.
        assert!(matches!(
            wal.append(b"after"),
            Err(StoreError::Poisoned { .. })
        ));
        assert!(matches!(wal.sync(), Err(StoreError::Poisoned { .. })));
    }
}
