//! Durable notifications without a blocked thread: [`Wal::submit`] and its [`Pending`]
//! handle, [`Wal::on_durable`], and telling waiters their outcome.
//!
//! A submit appends as [`Wal::append_batch`] does, queues a waiter for its last offset
//! in the sync state (see `sync/waiters.rs`) and returns. Whatever moves the durable end
//! then completes the waiters it settled, after releasing every lock: the background
//! flusher (`flusher.rs`, under `Always` and `GroupCommit`), the interval syncer, a caller
//! of [`Wal::sync`], a group-commit leader or a durable append; a truncation completes
//! those whose entries it removed.

use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::error::Result;
use crate::options::SyncPolicy;
use crate::sync::{Slot, Waiter};
use crate::wal::flusher::Flusher;
use crate::wal::inner::Inner;
use crate::wal::{AppendedBatch, Wal};

/// A submitted batch on its way to the disk, from [`Wal::submit`]: its entries are
/// appended (and have their offsets) but may not be durable yet.
///
/// [`wait`](Pending::wait) blocks until they are; as a [`Future`] it resolves when they
/// are, with any executor (it needs nothing but the [`Waker`](std::task::Waker) it is
/// polled with). Either way the outcome is the batch once durable, or the error that
/// means it never will be: [`StoreError::Poisoned`](crate::StoreError::Poisoned) when a
/// sync failed (or the log was dropped) first, and
/// [`StoreError::OffsetOutOfRange`](crate::StoreError::OffsetOutOfRange) when a
/// truncation removed entries of the batch before they were durable.
///
/// The handle only observes: dropping it unpolled changes nothing, and the entries
/// become durable all the same. A future that has resolved stays pending if polled again.
#[derive(Debug)]
#[must_use = "a Pending says when its entries are durable; dropping it does not cancel them"]
pub struct Pending {
    offsets: RangeInclusive<u64>,
    slot: Arc<Slot>,
}

impl Pending {
    /// The offsets of the batch's entries.
    pub fn offsets(&self) -> RangeInclusive<u64> {
        self.offsets.clone()
    }

    /// Blocks until every entry of the batch is durable, and returns the batch; or the
    /// error that means it never will be.
    pub fn wait(self) -> Result<AppendedBatch> {
        self.slot.wait()
    }
}

impl Future for Pending {
    type Output = Result<AppendedBatch>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.slot.poll(cx.waker()) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

impl Wal {
    /// Appends entries back to back and returns at once, before they are durable, with a
    /// [`Pending`] handle that says when they are. Every payload is checked first, as by
    /// [`append_batch`](Wal::append_batch): a bad one appends nothing.
    ///
    /// Who makes them durable depends on the [`SyncPolicy`]: under `Always` and
    /// `GroupCommit` a background thread of the log (started by the first submit or
    /// [`on_durable`](Wal::on_durable)) syncs whenever submitted entries are not durable;
    /// one sync covers everything submitted before it, so while it runs the next batch
    /// gathers. Under `Interval` the interval syncer does it, and under `Manual` the next
    /// [`sync`](Wal::sync) (or a rotation, noticed at the next sync). Readers see the
    /// entries as [`ReadVisibility`](crate::ReadVisibility) says, as for any append.
    ///
    /// If the background thread cannot be started, the error is returned with the entries
    /// appended, as [`append_batch`](Wal::append_batch) leaves them after an I/O error:
    /// any later sync makes them durable.
    ///
    /// ```
    /// use wal_store::{SyncPolicy, Wal, WalOptions};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let options = WalOptions::default().with_sync_policy(SyncPolicy::GroupCommit);
    /// let wal = Wal::open(dir.path(), options)?;
    /// let first = wal.submit(&[b"one".as_slice(), b"two"])?; // returns at once
    /// let second = wal.submit(&[b"three".as_slice()])?;
    /// assert_eq!(second.offsets(), 2..=2);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// wal.on_durable(2, move |durable| tx.send(durable.is_ok()).unwrap());
    /// assert_eq!(first.wait()?.last_offset, 1); // durable now
    /// drop(second); // only a handle: entry 2 becomes durable all the same
    /// assert!(rx.recv()?);
    /// wal.close()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn submit<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<Pending> {
        let (tail, batch) = self.inner.append_batch_unsynced(payloads)?;
        let slot = Arc::new(Slot::default());
        let waiter = Waiter::Batch {
            slot: Arc::clone(&slot),
            batch,
        };
        // Queued before the tail is let go: a truncation (which takes the tail) comes
        // either before the append or after the waiter is queued, and then decides it.
        // Were it queued later, a truncation in between would miss it, and the waiter,
        // queued for offsets new entries had taken, would succeed when they are durable.
        let settled = self.inner.sync.queue_waiter(batch.last_offset, waiter);
        drop(tail);
        self.inner.wake_visible();
        self.see_to_sync(settled)?;
        Ok(Pending {
            offsets: batch.first_offset..=batch.last_offset,
            slot,
        })
    }

    /// Runs `f` once entry `offset` is durable, with `Ok(offset)`: at once, on the
    /// caller's thread, if it already is; otherwise on the thread that makes it durable
    /// (see [`submit`](Wal::submit) for which). Callbacks run in offset order, each
    /// exactly once; one registered while another thread is running callbacks runs on
    /// that thread, after those before it. `offset` may be one not yet appended.
    ///
    /// `f` gets an error instead when the entry never will be durable: a failed sync
    /// ([`StoreError::Poisoned`](crate::StoreError::Poisoned); once the log has failed,
    /// every later call gets it, as does every waiter when the log is dropped first), or
    /// a truncation that removed it before it was
    /// ([`StoreError::OffsetOutOfRange`](crate::StoreError::OffsetOutOfRange)).
    ///
    /// `f` runs where syncs run: it should be quick, and must not wait for another
    /// durable notification of this log. A panic in it is caught and logged.
    pub fn on_durable(&self, offset: u64, f: impl FnOnce(Result<u64>) + Send + 'static) {
        let waiter = Waiter::Callback {
            offset,
            f: Box::new(f),
        };
        let settled = self.inner.sync.queue_waiter(offset, waiter);
        if let Err(e) = self.see_to_sync(settled) {
            // No thread could be started to sync: the entry becomes durable when the log
            // syncs otherwise (an append, `sync`, `close`), or the waiter is failed when
            // the log goes away.
            log::warn!(target: "wal_store::sync", "on_durable({offset}): {e}");
        }
    }

    /// After a waiter was queued: tells it at once if its outcome was known already
    /// (`settled`, see `SyncCoordinator::queue_waiter`), else sees to it that a sync
    /// comes. Whatever settles it later (a sync, a truncation, a shutdown) tells it then.
    fn see_to_sync(&self, settled: bool) -> Result<()> {
        if settled {
            // Told in offset order: on this thread, or by the one telling waiters now.
            self.inner.complete_waiters();
            return Ok(());
        }
        match self.inner.options.sync_policy {
            SyncPolicy::Always | SyncPolicy::GroupCommit => self.wake_flusher(),
            SyncPolicy::Interval(_) | SyncPolicy::Manual => Ok(()),
        }
    }

    /// Wakes the background flusher, starting it first if this is the first waiter.
    fn wake_flusher(&self) -> Result<()> {
        // After a shutdown no thread is started: the shutdown's last sync made durable
        // what was appended, and tells (or told) every waiter left its outcome.
        if self.inner.check_open().is_err() {
            return Ok(());
        }
        let mut flusher = self
            .flusher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*flusher {
            Some(running) => running.wake(),
            None => {
                let started = Flusher::start(&self.inner)?;
                started.wake();
                *flusher = Some(started);
            }
        }
        Ok(())
    }

    /// Stops the background flusher, if it runs, after the sync it may be in.
    pub(super) fn stop_flusher(&self) {
        let running = self
            .flusher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(running) = running {
            running.stop();
        }
    }
}

impl Inner {
    /// Tells every waiter whose outcome is known, in offset order, on this thread; unless
    /// another thread is doing so, which then also tells the waiters settled meanwhile.
    /// Called with no lock of the log held, after whatever may have settled waiters.
    pub(crate) fn complete_waiters(&self) {
        if !self.sync.has_waiters() {
            return;
        }
        let mut settled = Vec::new();
        loop {
            let Some(turn) = self.sync.completing_turn() else {
                // The holder checks again after letting go (below).
                return;
            };
            loop {
                self.sync.take_settled(&mut settled);
                if settled.is_empty() {
                    break;
                }
                let (first, next) = (self.first_offset(), self.tail_for_reading().next_offset);
                for one in settled.drain(..) {
                    one.tell(first, next);
                }
            }
            drop(turn);
            // A waiter settled after the last look, whose own thread found the turn
            // taken, is told here.
            if !self.sync.any_settled() {
                return;
            }
        }
    }

    /// Tells every waiter not yet durable that it never will be: the log was shut down
    /// (after its last sync), so they get `StoreError::Closed`, as does every later one.
    /// In offset order, as ever: when another thread is telling waiters (a callback of
    /// which may be what shuts the log down), that thread tells these after its own.
    pub(super) fn close_waiters(&self) {
        self.sync.close_waiters();
        self.complete_waiters();
    }

    /// Fails every waiter not yet durable: the log is going away. Told as those of
    /// [`close_waiters`](Inner::close_waiters) are.
    pub(super) fn abandon_waiters(&self) {
        self.sync
            .abandon_waiters("the log was dropped before the entry became durable");
        self.complete_waiters();
    }
}
