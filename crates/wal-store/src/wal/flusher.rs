//! The background flusher of [`Wal::submit`](crate::Wal::submit) under
//! `SyncPolicy::Always` and `GroupCommit`: a thread of the log that syncs whenever a
//! waiter is queued, so that no caller has to block for a submit to become durable.
//!
//! One sync covers everything appended before it; submits that arrive while it runs ask
//! for the next one, which starts as soon as it ends. That is the pipelining: a writer
//! keeps appending while the disk works, and each sync carries everything it gathered.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;

use crate::error::{IoContext, Result};
use crate::wal::inner::Inner;

/// The flusher thread and how to reach it.
#[derive(Debug)]
pub(super) struct Flusher {
    shared: Arc<Shared>,
    handle: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// A waiter was queued since the flusher last started a sync.
    wanted: bool,
    stop: bool,
}

impl Shared {
    /// The state: two flags, each set in one assignment, so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Flusher {
    pub(super) fn start(inner: &Arc<Inner>) -> Result<Flusher> {
        let shared = Arc::new(Shared::default());
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("wal-flush".to_owned())
            .spawn(move || run(&thread_shared, &weak))
            .io_context("spawn flush thread", &inner.dir)?;
        Ok(Flusher { shared, handle })
    }

    /// Asks for a sync. Only the first request after a sync started signals the thread,
    /// so that a stream of submits costs one wake-up per sync, not one per submit.
    pub(super) fn wake(&self) {
        let mut state = self.shared.lock();
        if !state.wanted {
            state.wanted = true;
            drop(state);
            self.shared.wake.notify_one();
        }
    }

    /// Stops the thread once the sync it may be running ends.
    pub(super) fn stop(self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        // A callback run by the flusher may drop the last handle of the log: the thread
        // then stops by itself after the callback, and cannot wait for itself.
        if self.handle.thread().id() == std::thread::current().id() {
            return;
        }
        // The thread only syncs and tells waiters (a callback's panic is caught); a panic
        // of its own has been reported by the panic hook, and the log stays consistent.
        let _ = self.handle.join();
    }
}

fn run(shared: &Shared, weak: &Weak<Inner>) {
    loop {
        {
            let mut state = shared.lock();
            while !state.wanted && !state.stop {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if state.stop {
                return;
            }
            state.wanted = false;
        }
        let Some(inner) = weak.upgrade() else { return };
        // A failure poisons the log: the waiters are failed, each later one refused.
        if let Err(e) = inner.sync_all() {
            log::debug!(target: "wal_store::sync", "flusher: {e}");
        }
        inner.complete_waiters();
    }
}
