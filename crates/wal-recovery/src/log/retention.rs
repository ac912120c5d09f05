//! Retention through the front door: the store's retention hook answers from the
//! cursors the [`Log`] keeps.
//!
//! The store asks its hook at a rotation, holding its write position; the hook must not
//! wait for anything a cursor update could hold. So the answer lives in a shared cell
//! (an atomic): recovery's open makes it before the store opens and installs a hook that
//! only reads it, and the `Log` writes it after every durable move of a cursor. Nothing
//! points back from the store to the `Log`, so there is no cycle, and the hook takes no
//! lock, so a cursor update and a rotation cannot wait for each other.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wal_store::{RetentionHook, WalOptions};

use super::Cursors;

/// The lowest offset the log's consumers still need, as the `Log` last published it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RetentionCell {
    /// Starts at 0 (everything needed) until the `Log` publishes its cursors.
    needed_from: Arc<AtomicU64>,
    /// The cursors whose files recovery found unreadable (corrupt): their consumers
    /// replay from the first entry, so while one is here retention keeps everything and
    /// a trim is refused. The lock also orders publications, so that the last one stored
    /// reads the newest cursors.
    unreadable: Arc<Mutex<BTreeSet<String>>>,
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

impl RetentionCell {
    /// Publishes where the consumers are now: the entry after the lowest cursor, or 0
    /// (keep everything) when no consumer has a cursor. Called, under the cursors' lock,
    /// after every durable change of the cursors (never before a forward move is on disk:
    /// a segment removed for a cursor that a crash then takes back would be a hole in what
    /// the consumer reads).
    pub(crate) fn publish(&self, cursors: &Cursors) {
        let unreadable = self.unreadable();
        let needed_from = cursors
            .values()
            .map(|record| record.offset.saturating_add(1))
            .min()
            .filter(|_| unreadable.is_empty())
            .unwrap_or(0);
        self.needed_from.store(needed_from, Ordering::Release);
    }

    /// Before a cursor moves back to `offset` (a rewind, a truncation's clamp, a reset):
    /// retention keeps from `offset + 1` on at once, before the file says so, so that no
    /// rotation meanwhile removes an entry the consumer is about to be handed again.
    pub(crate) fn hold_from(&self, offset: u64) {
        let _publishing = self.unreadable();
        self.needed_from
            .fetch_min(offset.saturating_add(1), Ordering::AcqRel);
    }

    /// Notes the cursors whose files recovery found unreadable (before the `Log` first
    /// publishes): until each is written again or removed, retention keeps everything.
    pub(crate) fn hold_for_unreadable(&self, names: impl IntoIterator<Item = String>) {
        self.unreadable().extend(names);
    }

    /// The cursor `name` was written (or removed): its file is readable again.
    pub(crate) fn cursor_rewritten(&self, name: &str) {
        self.unreadable().remove(name);
    }

    /// A cursor whose file is unreadable, if any: its consumer has read nothing known.
    pub(crate) fn unreadable_cursor(&self) -> Option<String> {
        self.unreadable().first().cloned()
    }

    fn unreadable(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.unreadable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
