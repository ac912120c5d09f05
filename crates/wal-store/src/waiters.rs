//! Readers waiting for entries to become visible: threads in
//! [`Wal::wait_visible`](crate::Wal::wait_visible) and futures from
//! [`Wal::visible`](crate::Wal::visible), and what wakes them.
//!
//! Every wait is a slot in one list: the offset it waits for, whether a truncation has
//! dropped an entry below that offset since it began, and for a future its waker. The
//! log calls [`Waiters::published`] after it raises the end readers see, once it has
//! released its locks, and [`Waiters::truncated`] after a truncation lowers it (which
//! marks the waits under the truncation's locks and wakes them after). Both cost the log
//! one fence and one load when nobody waits: a counter of slots is read before any lock
//! is taken.
//!
//! The counter and the end readers see are two words a publisher and a waiter each write
//! one of and then read the other (the publisher the end, then the counter; the waiter
//! the counter, then the end), each with a `SeqCst` fence in between: at least one of
//! them sees the other's write. A publisher that sees no waiter is therefore seen by the
//! waiter's look at the end; one that sees a waiter takes the list's lock, which the
//! waiter holds from its look until it sleeps, and wakes it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

/// One wait.
#[derive(Debug)]
struct Slot {
    /// The offset waited for.
    offset: u64,
    /// A truncation dropped an entry below `offset` while the wait was registered.
    truncated: bool,
    /// The future's waker (none for a thread, which sleeps on the condition variable).
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Slots {
    next_id: u64,
    slots: BTreeMap<u64, Slot>,
}

/// What a wait finds when it looks: the caller's verdict on the log's state, given
/// whether a truncation has passed below the offset.
pub(crate) type Look<'a, T> = &'a dyn Fn(bool) -> Option<T>;

/// The list of waits of one log.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// How many slots the list holds: publications look at the list only when not 0.
    registered: AtomicUsize,
    slots: Mutex<Slots>,
    changed: Condvar,
}

impl Waiters {
    fn lock(&self) -> MutexGuard<'_, Slots> {
        // Every change of the list is one insertion or removal: a panic leaves it whole.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether anyone waits, after the caller's publication (see the module's comment).
    #[inline]
    fn anyone_waits(&self) -> bool {
        fence(Ordering::SeqCst);
        self.registered.load(Ordering::Relaxed) != 0
    }

    fn register(&self, slots: &mut Slots, offset: u64) -> u64 {
        let id = slots.next_id;
        slots.next_id = slots.next_id.wrapping_add(1);
        slots.slots.insert(
            id,
            Slot {
                offset,
                truncated: false,
                waker: None,
            },
        );
        self.registered.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        id
    }

    fn unregister(&self, slots: &mut Slots, id: u64) {
        if slots.slots.remove(&id).is_some() {
            self.registered.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Blocks until `look` gives an answer or `deadline` passes (`None` then). `look` is
    /// called with the list's lock held, first at once, then after every wake-up.
    pub(crate) fn wait<T>(
        &self,
        offset: u64,
        deadline: Option<Instant>,
        look: Look<'_, T>,
    ) -> Option<T> {
        let mut slots = self.lock();
        let id = self.register(&mut slots, offset);
        let found = loop {
            let truncated = slots.slots.get(&id).is_some_and(|s| s.truncated);
            if let Some(found) = look(truncated) {
                break Some(found);
            }
            slots = match deadline {
                None => self.changed.wait(slots).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        break None;
                    };
                    self.changed
                        .wait_timeout(slots, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        };
        self.unregister(&mut slots, id);
        found
    }

    /// One poll of a future's wait: registers it (in `*slot`) on its first poll, looks,
    /// and either unregisters it with the answer or keeps `waker` to be woken.
    pub(crate) fn poll<T>(
        &self,
        slot: &mut Option<u64>,
        offset: u64,
        waker: &Waker,
        look: Look<'_, T>,
    ) -> Option<T> {
        let mut slots = self.lock();
        let id = match *slot {
            Some(id) => id,
            None => {
                let id = self.register(&mut slots, offset);
                *slot = Some(id);
                id
            }
        };
        let truncated = slots.slots.get(&id).is_some_and(|s| s.truncated);
        if let Some(found) = look(truncated) {
            self.unregister(&mut slots, id);
            *slot = None;
            return Some(found);
        }
        if let Some(registered) = slots.slots.get_mut(&id) {
            match &registered.waker {
                Some(kept) if kept.will_wake(waker) => {}
                _ => registered.waker = Some(waker.clone()),
            }
        }
        None
    }

    /// How many waits are registered (for tests: a thread known to be waiting).
    #[cfg(test)]
    pub(crate) fn registered(&self) -> usize {
        self.registered.load(Ordering::SeqCst)
    }

    /// Forgets a future's wait (dropped before its answer).
    pub(crate) fn cancel(&self, slot: &mut Option<u64>) {
        if let Some(id) = slot.take() {
            self.unregister(&mut self.lock(), id);
        }
    }

    /// The log raised the end readers see to `end`: wakes the waits it answers. The
    /// caller holds none of the log's locks (see [`Wakeups`]).
    #[inline]
    pub(crate) fn published(&self, end: u64) {
        if self.anyone_waits() {
            self.wake(|slot| slot.offset < end);
        }
    }

    /// A truncation dropped every entry from `cut` on (the end readers see is now at most
    /// `cut`): every wait for an offset past `cut` learns it at once, under the caller's
    /// locks (so that no append after the truncation can answer it first), and the
    /// futures among them are to be woken with [`Wakeups::wake`] once those locks are
    /// released.
    pub(crate) fn truncated(&self, cut: u64) -> Wakeups {
        if !self.anyone_waits() {
            return Wakeups(Vec::new());
        }
        self.pick(|slot| {
            if slot.offset > cut {
                slot.truncated = true;
            }
            slot.truncated
        })
    }

    /// Wakes every wait, whatever it waits for: the log was shut down, or failed.
    pub(crate) fn wake_all(&self) {
        self.wake(|_| true);
    }

    /// Wakes the sleeping threads (they look again) and the futures `pick` picks, out of
    /// the list's lock: a waker may poll its future at once, which takes the lock.
    #[cold]
    fn wake(&self, pick: impl FnMut(&mut Slot) -> bool) {
        self.pick(pick).wake();
    }

    /// Wakes the sleeping threads (their look only loads the log's atomics) and takes the
    /// wakers of the futures `pick` picks, to be woken by the caller.
    #[cold]
    fn pick(&self, mut pick: impl FnMut(&mut Slot) -> bool) -> Wakeups {
        let wakers: Vec<Waker> = {
            let mut slots = self.lock();
            slots
                .slots
                .values_mut()
                .filter_map(|slot| if pick(slot) { slot.waker.take() } else { None })
                .collect()
        };
        self.changed.notify_all();
        Wakeups(wakers)
    }
}

/// Futures' wakers taken under the log's locks, to be woken once they are released: a
/// waker may poll its future on the spot, and whoever owns the future may then read or
/// append, which takes those locks.
#[derive(Debug)]
#[must_use = "the futures are woken only by `Wakeups::wake`, once the log's locks are released"]
pub(crate) struct Wakeups(Vec<Waker>);

impl Wakeups {
    /// Wakes them. The caller holds none of the log's locks.
    pub(crate) fn wake(self) {
        for waker in self.0 {
            waker.wake();
        }
    }
}
