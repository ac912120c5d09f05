//! Group commit: who leads the next sync, who waits for it, and the sticky failure; and
//! the queue of those who wait for an offset without blocking (`waiters.rs`).

mod waiters;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};

use crate::error::{Result, StoreError};

use waiters::Never;
use waiters::Waiters;
pub(crate) use waiters::{Settled, Slot, Waiter};

/// What is known durable, and whether a sync is running.
#[derive(Debug)]
pub(crate) struct SyncState {
    /// Every entry below this offset is durable.
    pub(crate) synced_end: u64,
    /// A thread is leading a sync (or an operation that must not overlap one, such as a
    /// truncation, holds the leadership).
    leading: bool,
    /// The error of a failed sync: the log refuses writes from then on.
    poisoned: Option<String>,
    /// Submitted batches and callbacks waiting for an offset to become durable.
    waiters: Waiters,
    /// The log was shut down: a waiter for an entry not durable yet never will be.
    closed: bool,
    /// The log went away (it was dropped), for this reason: likewise.
    abandoned: Option<String>,
}

impl SyncState {
    /// Why a waiter not durable yet never will be, once that is so.
    fn never(&self) -> Option<Never<'_>> {
        never(&self.poisoned, &self.abandoned, self.closed)
    }
}

/// See [`SyncState::never`]: from its fields, so that the queue can be borrowed beside.
fn never<'a>(
    poisoned: &'a Option<String>,
    abandoned: &'a Option<String>,
    closed: bool,
) -> Option<Never<'a>> {
    match (poisoned, abandoned) {
        (Some(cause), _) | (None, Some(cause)) => Some(Never::Failed(cause)),
        (None, None) if closed => Some(Never::Closed),
        (None, None) => None,
    }
}

/// The group-commit coordinator.
#[derive(Debug)]
pub(crate) struct SyncCoordinator {
    state: Mutex<SyncState>,
    changed: Condvar,
    /// Mirrors `state.poisoned.is_some()`, so that appends check it without a lock.
    is_poisoned: AtomicBool,
    /// Mirrors `state.waiters.len()`, so that a durable append checks for waiters to
    /// complete without a lock.
    waiting: AtomicUsize,
    /// Held by the thread telling waiters their outcome, so that they are told in offset
    /// order (see [`Inner::complete_waiters`](crate::wal::Inner)).
    completing: Mutex<()>,
}

/// Leadership of the sync: while it is held no other sync runs. Released on drop.
pub(crate) struct Leadership<'a> {
    coordinator: &'a SyncCoordinator,
}

impl Leadership<'_> {
    /// Publishes that everything below `end` is durable and releases the leadership, in
    /// one step: the waiters wake once, to find both.
    fn release_after_sync(self, end: u64) {
        let coordinator = self.coordinator;
        std::mem::forget(self);
        let mut state = coordinator.lock();
        if end > state.synced_end {
            state.synced_end = end;
        }
        state.leading = false;
        drop(state);
        coordinator.changed.notify_all();
    }
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        let mut state = self.coordinator.lock();
        state.leading = false;
        drop(state);
        self.coordinator.changed.notify_all();
    }
}

impl SyncCoordinator {
    pub(crate) fn new(synced_end: u64) -> SyncCoordinator {
        SyncCoordinator {
            state: Mutex::new(SyncState {
                synced_end,
                leading: false,
                poisoned: None,
                waiters: Waiters::default(),
                closed: false,
                abandoned: None,
            }),
            changed: Condvar::new(),
            is_poisoned: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            completing: Mutex::new(()),
        }
    }

    /// The state, even if a thread panicked while holding it: every update of it is a
    /// single assignment, so it is never half-done.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn check_poisoned(state: &SyncState) -> Result<()> {
        match &state.poisoned {
            Some(cause) => Err(StoreError::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Marks the log failed and wakes every waiter, which then returns the error.
    pub(crate) fn poison(&self, cause: String) {
        let mut state = self.lock();
        if state.poisoned.is_none() {
            log::error!(target: "wal_store::sync", "sync failed, refusing writes until reopened: {cause}");
            state.poisoned = Some(cause);
            self.is_poisoned.store(true, Ordering::Release);
        }
        drop(state);
        self.changed.notify_all();
    }

    pub(crate) fn poisoned(&self) -> Option<String> {
        self.lock().poisoned.clone()
    }

    /// Like [`poisoned`](Self::poisoned), without taking the lock when all is well.
    pub(crate) fn poisoned_fast(&self) -> Option<String> {
        if self.is_poisoned.load(Ordering::Acquire) {
            self.poisoned()
        } else {
            None
        }
    }

    /// Records that everything below `end` is durable.
    pub(crate) fn advance(&self, end: u64) {
        let mut state = self.lock();
        if end > state.synced_end {
            state.synced_end = end;
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Records that everything below `end` is durable without waking anyone: for the
    /// leader, whose release of the leadership wakes the waiters.
    pub(crate) fn advance_quietly(&self, end: u64) {
        let mut state = self.lock();
        if end > state.synced_end {
            state.synced_end = end;
        }
    }

    /// Lowers the durable end after a truncation from `end` (the caller holds the
    /// leadership). The waiters of the dropped entries are decided first, against the
    /// durable end they knew; the caller then completes them.
    pub(crate) fn lower(&self, end: u64) {
        let mut state = self.lock();
        let synced_end = state.synced_end;
        state.waiters.cut(end, synced_end);
        state.synced_end = synced_end.min(end);
    }

    /// Queues `waiter` until `offset` is durable, and returns whether its outcome is
    /// known already (the entry is durable, or never will be: the log was shut down; or
    /// the log failed, which every later waiter is told, even one for a durable entry).
    /// Such a waiter is queued all the same, so that it is told in offset order, by
    /// [`Inner::complete_waiters`](crate::wal::Inner), which the caller then calls.
    pub(crate) fn queue_waiter(&self, offset: u64, waiter: Waiter) -> bool {
        let mut state = self.lock();
        let SyncState {
            poisoned, waiters, ..
        } = &mut *state;
        waiters.push(offset, waiter, poisoned.as_deref());
        self.waiting.store(state.waiters.len(), Ordering::Release);
        offset < state.synced_end || state.never().is_some()
    }

    /// Whether anything waits: one load, for the paths that must stay cheap without waiters.
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// The turn to tell waiters their outcome, unless another thread has it (it then
    /// tells every waiter settled before it lets go, see `any_settled`).
    pub(crate) fn completing_turn(&self) -> Option<MutexGuard<'_, ()>> {
        match self.completing.try_lock() {
            Ok(turn) => Some(turn),
            // The turn guards no data: a panic while holding it left nothing half-done.
            Err(TryLockError::Poisoned(poison)) => Some(poison.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Moves to `out` the waiters whose outcome is known, lowest offset first.
    pub(crate) fn take_settled(&self, out: &mut Vec<Settled>) {
        let mut state = self.lock();
        let SyncState {
            synced_end,
            poisoned,
            waiters,
            closed,
            abandoned,
            ..
        } = &mut *state;
        waiters.take_settled(*synced_end, never(poisoned, abandoned, *closed), out);
        self.waiting.store(waiters.len(), Ordering::Release);
    }

    /// Whether the first waiter's outcome is known.
    pub(crate) fn any_settled(&self) -> bool {
        let state = self.lock();
        state
            .waiters
            .any_settled(state.synced_end, state.never().is_some())
    }

    /// The log goes away (it was dropped) and nothing more will become durable: every
    /// waiter not durable yet, and every later one, is to be failed with `cause`. They
    /// are told by [`Inner::complete_waiters`](crate::wal::Inner), which the caller then
    /// calls, so that they are told in offset order after any being told now.
    pub(crate) fn abandon_waiters(&self, cause: &str) {
        let mut state = self.lock();
        if state.abandoned.is_none() {
            state.abandoned = Some(cause.to_owned());
        }
    }

    /// The log was shut down, after its last sync: every waiter not durable yet is to be
    /// told it never will be (`StoreError::Closed`), and so is every later one; told as
    /// those of [`abandon_waiters`](Self::abandon_waiters) are.
    pub(crate) fn close_waiters(&self) {
        self.lock().closed = true;
    }

    /// Sets the durable end to `end` after a reset (the caller holds the leadership):
    /// the log holds no entry, and everything it holds is durable.
    pub(crate) fn reset(&self, end: u64) {
        let mut state = self.lock();
        // Every entry is dropped: each waiter is decided against the durable end it knew
        // (as by a truncation of everything), before that end moves to the new log's.
        let synced_end = state.synced_end;
        state.waiters.cut(0, synced_end);
        state.synced_end = end;
    }

    /// Takes the leadership, waiting for a running sync to finish.
    pub(crate) fn lead(&self) -> Result<Leadership<'_>> {
        let mut state = self.lock();
        loop {
            Self::check_poisoned(&state)?;
            if !state.leading {
                state.leading = true;
                return Ok(Leadership { coordinator: self });
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poison| poison.into_inner());
        }
    }

    /// Waits until every entry below `end` is durable. If no sync is running, the caller
    /// becomes the leader: `run_sync` is called without any lock held and returns the
    /// end of the log it made durable; the followers wake when that is published. If the
    /// log no longer reaches `end` (a truncation removed the entry before it became
    /// durable), the result is `Ok(false)`.
    pub(crate) fn wait_durable(
        &self,
        end: u64,
        run_sync: impl Fn() -> Result<u64>,
    ) -> Result<bool> {
        let mut state = self.lock();
        loop {
            Self::check_poisoned(&state)?;
            if state.synced_end >= end {
                return Ok(true);
            }
            if state.leading {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(|poison| poison.into_inner());
                continue;
            }
            state.leading = true;
            drop(state);
            let leadership = Leadership { coordinator: self };
            match run_sync() {
                Ok(reached) => {
                    leadership.release_after_sync(reached);
                    if reached < end {
                        return Ok(false);
                    }
                }
                Err(e) => {
                    self.poison(e.to_string());
                    return Err(e);
                }
            }
            state = self.lock();
        }
    }
}
