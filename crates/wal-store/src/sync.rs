//! Group commit: who leads the next sync, who waits for it, and the sticky failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::{Result, StoreError};

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
}

/// The group-commit coordinator.
#[derive(Debug)]
pub(crate) struct SyncCoordinator {
    state: Mutex<SyncState>,
    changed: Condvar,
    /// Mirrors `state.poisoned.is_some()`, so that appends check it without a lock.
    is_poisoned: AtomicBool,
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
            }),
            changed: Condvar::new(),
            is_poisoned: AtomicBool::new(false),
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

    /// Lowers the durable end after a truncation (the caller holds the leadership).
    pub(crate) fn lower(&self, end: u64) {
        let mut state = self.lock();
        state.synced_end = state.synced_end.min(end);
    }

    /// Sets the durable end to `end` after a reset (the caller holds the leadership):
    /// the log holds no entry, and everything it holds is durable.
    pub(crate) fn reset(&self, end: u64) {
        self.lock().synced_end = end;
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
