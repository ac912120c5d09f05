//! Retention through the front door: the store's retention hook answers from the
//! cursors the [`Log`] keeps.
//!
//! The store asks its hook at a rotation, holding its write position; the hook must not
//! wait for anything a cursor update could hold. So the answer lives in a shared cell
//! (an atomic): recovery's open makes it before the store opens and installs a hook that
//! only reads it, and the `Log` writes it after every durable move of a cursor. Nothing
//! points back from the store to the `Log`, so there is no cycle, and the hook takes no
//! lock, so a cursor update and a rotation cannot wait for each other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use wal_store::{RetentionHook, WalOptions};

use super::Log;

/// The lowest offset the log's consumers still need, as the `Log` last published it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RetentionCell {
    /// Starts at 0 (everything needed) until the `Log` publishes its cursors.
    needed_from: Arc<AtomicU64>,
    /// Orders publications, so that the last one stored reads the newest cursors.
    publishing: Arc<Mutex<()>>,
}

impl RetentionCell {
    /// A cell that keeps everything until the `Log` publishes its cursors.
    pub(crate) fn new() -> RetentionCell {
        RetentionCell::default()
    }

    /// `options` with a retention hook that answers from this cell; a hook the caller
    /// gave too is asked as well, and the lower answer wins, so that neither loses an
    /// entry the other still needs.
    pub(crate) fn install(&self, mut options: WalOptions) -> WalOptions {
        let cell = Arc::clone(&self.needed_from);
        let hook = match options.retention_hook.take() {
            Some(theirs) => {
                RetentionHook::new(move || theirs.needed_from().min(cell.load(Ordering::Acquire)))
            }
            None => RetentionHook::new(move || cell.load(Ordering::Acquire)),
        };
        options.with_retention_hook(hook)
    }
}

impl Log {
    /// The lowest offset any consumer of this log still needs, which retention keeps:
    /// the entry after the consumer's cursor (the default cursor's replay start; the
    /// first entry when no cursor was set, so that nothing unread is removed).
    pub(crate) fn retain_from(&self) -> u64 {
        *self.replay_from()
    }

    /// Tells the store's retention where the consumers are now. Called after every
    /// durable move of a cursor (never before: a segment removed for a cursor that a
    /// crash then takes back would be a hole in what the consumer reads).
    pub(crate) fn cursors_moved(&self) {
        let _publishing = self
            .retention
            .publishing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.retention
            .needed_from
            .store(self.retain_from(), Ordering::Release);
    }
}
