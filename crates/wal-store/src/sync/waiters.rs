//! Who waits for an offset to become durable: the [`Pending`](crate::Pending) handles of
//! submitted batches and the callbacks of [`Wal::on_durable`](crate::Wal::on_durable),
//! queued by offset, each told its outcome exactly once.
//!
//! The queue lives in the sync state, under the lock that guards the durable end, so that
//! whoever moves the durable end (a sync, a truncation, a failure) and whoever takes the
//! waiters it settled see one consistent picture. Waiters are only taken out under that
//! lock; they are told (callbacks run, handles completed) after it is released, by
//! [`Inner::complete_waiters`](crate::wal::Inner), one thread at a time, in offset order.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::Waker;

use crate::error::{Result, StoreError};
use crate::wal::AppendedBatch;

/// A caller's callback, run once its offset is durable (or never will be).
pub(crate) type Callback = Box<dyn FnOnce(Result<u64>) + Send + 'static>;

/// Why a waiter that is not durable is told so.
const TRUNCATED: &str = "a truncation removed the entry before it became durable";

/// One waiter.
pub(crate) enum Waiter {
    /// A submitted batch: its handle is completed with the batch.
    Batch {
        slot: std::sync::Arc<Slot>,
        batch: AppendedBatch,
    },
    /// A callback for one offset.
    Callback { offset: u64, f: Callback },
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waiter::Batch { batch, .. } => f.debug_struct("Batch").field("batch", batch).finish(),
            Waiter::Callback { offset, .. } => {
                f.debug_struct("Callback").field("offset", offset).finish()
            }
        }
    }
}

/// What a waiter is told.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Its entries are durable.
    Durable,
    /// A truncation from `cut` removed its entries before they became durable.
    Truncated { cut: u64 },
    /// The log failed (a failed sync, or it went away) before its entries were durable.
    Failed { cause: String },
    /// The log was shut down before its entries were durable.
    Closed,
}

#[derive(Debug)]
struct Queued {
    waiter: Waiter,
    /// Decided by a truncation, before the durable end it knew was lowered.
    decided: Option<Outcome>,
}

/// The waiters, by the offset each waits for (a batch: its last entry) and then by
/// arrival, so that a waiter for an offset a truncation took back comes before one for
/// the entry that later took its offset.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    queue: BTreeMap<(u64, u64), Queued>,
    arrivals: u64,
}

/// A waiter taken out of the queue with its outcome, to be told once no lock is held.
#[derive(Debug)]
pub(crate) struct Settled {
    waiter: Waiter,
    outcome: Outcome,
}

impl Waiters {
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Queues `waiter`, which waits until `offset` is durable. `failed`: the log has
    /// failed already, for this cause, and the waiter is told so, whatever its offset.
    pub(crate) fn push(&mut self, offset: u64, waiter: Waiter, failed: Option<&str>) {
        let arrival = self.arrivals;
        self.arrivals = self.arrivals.wrapping_add(1);
        let decided = failed.map(|cause| Outcome::Failed {
            cause: cause.to_owned(),
        });
        self.queue
            .insert((offset, arrival), Queued { waiter, decided });
    }

    /// A truncation drops every entry from `cut` on, while everything below `synced_end`
    /// is durable: the waiters of dropped entries are decided now, before the durable end
    /// falls below them (and before new entries take their offsets). Those whose entries
    /// were durable are told so; the others that they never will be.
    pub(crate) fn cut(&mut self, cut: u64, synced_end: u64) {
        for ((offset, _), queued) in self.queue.range_mut((cut, 0)..) {
            if queued.decided.is_none() {
                queued.decided = Some(if *offset < synced_end {
                    Outcome::Durable
                } else {
                    Outcome::Truncated { cut }
                });
            }
        }
    }

    /// Moves to `out` the waiters whose outcome is known, lowest offset first, stopping
    /// at the first that must still wait: everything below `synced_end` is durable, and
    /// once `never` is known (the log failed, went away or was shut down) nothing more
    /// will be.
    pub(crate) fn take_settled(
        &mut self,
        synced_end: u64,
        never: Option<Never<'_>>,
        out: &mut Vec<Settled>,
    ) {
        while let Some(first) = self.queue.first_entry() {
            let offset = first.key().0;
            let settled = first.get().decided.is_some() || offset < synced_end;
            if !settled && never.is_none() {
                return;
            }
            let queued = first.remove();
            let outcome = match (queued.decided, never) {
                (Some(decided), _) => decided,
                (None, _) if offset < synced_end => Outcome::Durable,
                (None, Some(Never::Failed(cause))) => Outcome::Failed {
                    cause: cause.to_owned(),
                },
                (None, Some(Never::Closed) | None) => Outcome::Closed,
            };
            out.push(Settled {
                waiter: queued.waiter,
                outcome,
            });
        }
    }

    /// Whether the first waiter's outcome is known (`ended`: nothing more will become
    /// durable, so every waiter's is).
    pub(crate) fn any_settled(&self, synced_end: u64, ended: bool) -> bool {
        self.queue
            .first_key_value()
            .is_some_and(|((offset, _), q)| ended || q.decided.is_some() || *offset < synced_end)
    }
}

/// Why a waiter not durable yet never will be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Never<'a> {
    /// The log failed (a failed sync), or went away, for this cause.
    Failed(&'a str),
    /// The log was shut down after its last sync.
    Closed,
}

impl Settled {
    /// Tells the waiter. `first` and `next` describe the log for the error of a truncated
    /// entry. A callback that panics is caught and logged: the waiters after it are still
    /// told, and the thread running them (a syncing thread, or an appender) goes on.
    pub(crate) fn tell(self, first: u64, next: u64) {
        let Settled { waiter, outcome } = self;
        let error = |offset: u64| match &outcome {
            Outcome::Durable => None,
            Outcome::Truncated { cut } => Some(StoreError::OffsetOutOfRange {
                offset,
                first,
                next: next.min(*cut),
                reason: TRUNCATED,
            }),
            Outcome::Failed { cause } => Some(StoreError::Poisoned {
                cause: cause.clone(),
            }),
            Outcome::Closed => Some(StoreError::Closed),
        };
        match waiter {
            Waiter::Batch { slot, batch } => {
                slot.complete(match error(batch.last_offset) {
                    None => Ok(batch),
                    Some(e) => Err(e),
                });
            }
            Waiter::Callback { offset, f } => {
                let result = match error(offset) {
                    None => Ok(offset),
                    Some(e) => Err(e),
                };
                if catch_unwind(AssertUnwindSafe(|| f(result))).is_err() {
                    log::error!(target: "wal_store::sync", "an on_durable callback for offset {offset} panicked");
                }
            }
        }
    }
}

/// Where a submitted batch's outcome is left for its [`Pending`](crate::Pending) handle.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Result<AppendedBatch>>,
    /// The task to wake when the outcome arrives (a polled future).
    waker: Option<Waker>,
    /// A thread sleeps in [`Slot::wait`]: only then is the condition variable signalled,
    /// so that completing a handle nobody waits on costs no system call.
    sleeping: bool,
}

impl Slot {
    /// The state. Each change of it is one assignment, never half-done, so a lock a
    /// panicking thread left poisoned is taken over.
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn complete(&self, result: Result<AppendedBatch>) {
        let mut state = self.lock();
        state.result = Some(result);
        let waker = state.waker.take();
        let sleeping = state.sleeping;
        drop(state);
        if sleeping {
            self.done.notify_all();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Blocks until the outcome arrives, and takes it.
    pub(crate) fn wait(&self) -> Result<AppendedBatch> {
        let mut state = self.lock();
        loop {
            if let Some(result) = state.result.take() {
                return result;
            }
            state.sleeping = true;
            state = self
                .done
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Takes the outcome if it has arrived; otherwise keeps `waker` to wake when it does.
    pub(crate) fn poll(&self, waker: &Waker) -> Option<Result<AppendedBatch>> {
        let mut state = self.lock();
        if let Some(result) = state.result.take() {
            return Some(result);
        }
        match &mut state.waker {
            Some(kept) if kept.will_wake(waker) => {}
            kept => *kept = Some(waker.clone()),
        }
        None
    }
}
