//! Readers waiting for entries to become visible: the answer a wait looks for, a thread's
//! blocking wait and a future's poll (the list of waits and their wake-ups are in
//! `waiters.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::{Result, StoreError};
use crate::wal::inner::Inner;

/// The reason [`StoreError::OffsetOutOfRange`] gives when a wait for an offset
/// ([`Wal::wait_visible`](crate::Wal::wait_visible), [`Wal::visible`](crate::Wal::visible))
/// ends because a truncation dropped entries below it: the caller may have read entries
/// that are gone, and goes on from the log's new end.
pub const TRUNCATED_BELOW_WAIT: &str =
    "a truncation dropped entries below the offset waited for: read on from the new end";

impl Inner {
    /// The answer to a wait for `offset` if it has one now; `truncated` says whether a
    /// truncation below `offset` came while it waited. A shutdown comes first, then a
    /// truncation (entries re-appended since do not undo it), then visibility.
    fn look_visible(&self, offset: u64, truncated: bool) -> Option<Result<()>> {
        if self.closed.load(Ordering::Acquire) {
            return Some(Err(StoreError::Closed));
        }
        if truncated {
            return Some(Err(StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: self.readable_end(),
                reason: TRUNCATED_BELOW_WAIT,
            }));
        }
        if offset < self.readable_end() {
            return Some(Ok(()));
        }
        self.sync
            .poisoned_fast()
            .map(|cause| Err(StoreError::Poisoned { cause }))
    }

    /// See [`Wal::wait_visible`](crate::Wal::wait_visible).
    pub(super) fn wait_visible(&self, offset: u64, timeout: Option<Duration>) -> Result<bool> {
        if let Some(found) = self.look_visible(offset, false) {
            return found.map(|()| true);
        }
        // A timeout too long to count from now is no timeout.
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        match self.waiters.wait(offset, deadline, &|truncated| {
            self.look_visible(offset, truncated)
        }) {
            Some(found) => found.map(|()| true),
            None => Ok(false),
        }
    }
}

/// The future of [`Wal::visible`](crate::Wal::visible).
pub(super) struct Visible<'a> {
    inner: &'a Inner,
    offset: u64,
    /// Its slot in the list of waits, from its first poll that did not resolve it.
    slot: Option<u64>,
}

impl<'a> Visible<'a> {
    pub(super) fn new(inner: &'a Inner, offset: u64) -> Visible<'a> {
        Visible {
            inner,
            offset,
            slot: None,
        }
    }
}

impl Future for Visible<'_> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        let (inner, offset) = (this.inner, this.offset);
        if this.slot.is_none()
            && let Some(found) = inner.look_visible(offset, false)
        {
            return Poll::Ready(found);
        }
        let look = |truncated| inner.look_visible(offset, truncated);
        match inner
            .waiters
            .poll(&mut this.slot, offset, cx.waker(), &look)
        {
            Some(found) => Poll::Ready(found),
            None => Poll::Pending,
        }
    }
}

impl Drop for Visible<'_> {
    fn drop(&mut self) {
        self.inner.waiters.cancel(&mut self.slot);
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::{self, JoinHandle, Thread};
    use std::time::Duration;

    use crate::error::{Result, StoreError};
    use crate::options::{MIN_SEGMENT_BYTES, ReadVisibility, SyncPolicy, WalOptions};
    use crate::wal::{TRUNCATED_BELOW_WAIT, Wal};

    /// A log whose segments hold a few dozen entries of these tests.
    fn log(visibility: ReadVisibility) -> (tempfile::TempDir, Arc<Wal>) {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            segment_bytes: MIN_SEGMENT_BYTES * 64,
            ..WalOptions::default()
        }
        .with_sync_policy(SyncPolicy::Manual)
        .with_read_visibility(visibility);
        let wal = Arc::new(Wal::open(dir.path(), options).unwrap());
        (dir, wal)
    }

    /// Starts a thread waiting for `offset` (no timeout) and returns once it is
    /// registered: `waiting` waits are registered then (progress, not time, ends this).
    fn waiter(wal: &Arc<Wal>, offset: u64, waiting: usize) -> JoinHandle<Result<bool>> {
        let thread_wal = Arc::clone(wal);
        let handle = thread::spawn(move || thread_wal.wait_visible(offset, None));
        while wal.inner.waiters.registered() < waiting {
            if handle.is_finished() {
                panic!("the waiter returned before waiting: {:?}", handle.join());
            }
            thread::yield_now();
        }
        handle
    }

    fn is_truncated(result: &Result<impl Sized>, waited: u64) -> bool {
        matches!(result, Err(StoreError::OffsetOutOfRange { offset, reason, .. })
            if *offset == waited && *reason == TRUNCATED_BELOW_WAIT)
    }

    /// A waker that unparks the thread that polls: the whole of a minimal executor.
    struct Unpark {
        thread: Thread,
        woken: AtomicBool,
    }

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.woken.store(true, Ordering::SeqCst);
            self.thread.unpark();
        }
    }

    fn unpark_waker() -> (Arc<Unpark>, Waker) {
        let unpark = Arc::new(Unpark {
            thread: thread::current(),
            woken: AtomicBool::new(false),
        });
        (Arc::clone(&unpark), Waker::from(unpark))
    }

    /// Polls `future` on this thread, parking between polls, until it resolves.
    fn block_on<F: Future>(future: F) -> F::Output {
        let (_, waker) = unpark_waker();
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            thread::park();
        }
    }

    #[test]
    fn an_append_wakes_a_waiter_when_appends_are_visible() {
        let (_dir, wal) = log(ReadVisibility::Appended);
        let first = waiter(&wal, 0, 1);
        let third = waiter(&wal, 2, 2);
        wal.append(b"zero").unwrap();
        assert!(first.join().unwrap().unwrap());
        // The other one waits on: its entry is not there yet.
        assert_eq!(wal.inner.waiters.registered(), 1);
        assert!(!third.is_finished());
        wal.append_batch(&[b"one", b"two"]).unwrap();
        assert!(third.join().unwrap().unwrap());
        assert_eq!(wal.inner.waiters.registered(), 0);
        // Visible already: at once, whatever the timeout.
        assert!(wal.wait_visible(1, Some(Duration::ZERO)).unwrap());
    }

    #[test]
    fn a_sync_wakes_a_waiter_when_synced_entries_are_visible() {
        let (_dir, wal) = log(ReadVisibility::Synced);
        wal.append(b"zero").unwrap();
        let handle = waiter(&wal, 0, 1);
        // Appended, not synced: not visible, and the waiter waits on.
        assert!(!wal.wait_visible(0, Some(Duration::ZERO)).unwrap());
        assert!(!handle.is_finished());
        wal.sync().unwrap();
        assert!(handle.join().unwrap().unwrap());
    }

    #[test]
    fn a_rotation_wakes_a_waiter_for_the_sealed_entries() {
        let (_dir, wal) = log(ReadVisibility::Synced);
        let handle = waiter(&wal, 0, 1);
        while wal.stats().segments < 2 {
            wal.append(&[7; 200]).unwrap();
        }
        // No sync was asked for: the seal made the entries durable, and visible.
        assert!(handle.join().unwrap().unwrap());
    }

    #[test]
    fn a_timeout_ends_a_wait_with_false() {
        let (_dir, wal) = log(ReadVisibility::Appended);
        assert!(!wal.wait_visible(0, Some(Duration::ZERO)).unwrap());
        assert!(!wal.wait_visible(5, Some(Duration::from_millis(1))).unwrap());
        assert_eq!(wal.inner.waiters.registered(), 0);
    }

    #[test]
    fn a_truncation_below_the_offset_ends_the_wait_and_one_from_it_does_not() {
        let (_dir, wal) = log(ReadVisibility::Synced);
        for i in 0..5u8 {
            wal.append(&[i + 1; 10]).unwrap();
        }
        wal.sync().unwrap();
        for i in 5..10u8 {
            wal.append(&[i + 1; 10]).unwrap();
        }
        // Readers see 0..=4. One waits for 5: it read 0..=4.
        let at_five = waiter(&wal, 5, 1);
        // Drops 5..=9, none of which it read: it waits on.
        wal.truncate_after(4).unwrap();
        assert!(!at_five.is_finished());
        assert_eq!(wal.inner.waiters.registered(), 1);
        wal.append(b"new five").unwrap();
        wal.sync().unwrap();
        assert!(at_five.join().unwrap().unwrap());

        // Another one read 0..=5 and waits for 6; dropping 4..: entries it read are gone.
        let at_six = waiter(&wal, 6, 1);
        wal.truncate_after(3).unwrap();
        let result = at_six.join().unwrap();
        assert!(is_truncated(&result, 6), "{result:?}");
        assert_eq!(wal.inner.waiters.registered(), 0);
    }

    #[test]
    fn a_truncation_is_reported_even_when_the_entry_came_back_before_the_waiter_looked() {
        let (_dir, wal) = log(ReadVisibility::Appended);
        for i in 0..4u8 {
            wal.append(&[i + 1; 10]).unwrap();
        }
        let mut future = pin!(wal.visible(4));
        let (unpark, waker) = unpark_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        wal.truncate_after(1).unwrap();
        assert!(unpark.woken.load(Ordering::SeqCst));
        for _ in 0..4 {
            wal.append(b"again").unwrap();
        }
        let result = match future.as_mut().poll(&mut cx) {
            Poll::Ready(result) => result,
            Poll::Pending => panic!("a truncated wait must resolve"),
        };
        assert!(is_truncated(&result, 4), "{result:?}");
    }

    #[test]
    fn a_future_resolves_through_its_waker_with_no_runtime() {
        let (_dir, wal) = log(ReadVisibility::Appended);
        // Polled by hand: pending, woken by the append, then ready.
        let mut future = pin!(wal.visible(0));
        let (unpark, waker) = unpark_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert!(!unpark.woken.load(Ordering::SeqCst));
        wal.append(b"zero").unwrap();
        assert!(
            unpark.woken.load(Ordering::SeqCst),
            "the append did not wake it"
        );
        assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        assert_eq!(wal.inner.waiters.registered(), 0);

        // Run by the parking executor on another thread, resolved by appends here.
        let (registered_tx, registered_rx) = mpsc::channel();
        let executor = {
            let wal = Arc::clone(&wal);
            thread::spawn(move || {
                let future = wal.visible(3);
                registered_tx.send(()).unwrap();
                block_on(future)
            })
        };
        registered_rx.recv().unwrap();
        for _ in 0..3 {
            wal.append(b"more").unwrap();
        }
        executor.join().unwrap().unwrap();
    }

    #[test]
    fn a_future_dropped_unresolved_withdraws_its_wait() {
        let (_dir, wal) = log(ReadVisibility::Appended);
        {
            let mut future = pin!(wal.visible(0));
            let (_, waker) = unpark_waker();
            assert!(
                future
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
            assert_eq!(wal.inner.waiters.registered(), 1);
        }
        assert_eq!(wal.inner.waiters.registered(), 0);
        // Appends find nobody waiting.
        wal.append(b"zero").unwrap();
    }

    /// A failed sync: nothing becomes visible any more, so every waiter learns why.
    #[test]
    fn a_failed_sync_wakes_every_waiter_with_the_failure() {
        let (_dir, wal) = log(ReadVisibility::Synced);
        wal.append(b"zero").unwrap();
        let handle = waiter(&wal, 0, 1);
        let mut future = pin!(wal.visible(0));
        let (unpark, waker) = unpark_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        let failed = wal.inner.flush_data(|| -> Result<()> {
            Err(StoreError::Io {
                op: "msync",
                path: "segment".into(),
                source: std::io::Error::from_raw_os_error(5),
            })
        });
        assert!(matches!(failed, Err(StoreError::Io { .. })));
        assert!(unpark.woken.load(Ordering::SeqCst));
        assert!(matches!(
            future.as_mut().poll(&mut cx),
            Poll::Ready(Err(StoreError::Poisoned { .. }))
        ));
        assert!(matches!(
            handle.join().unwrap(),
            Err(StoreError::Poisoned { .. })
        ));
    }

    /// Threads blocked in `wait_visible`, a future pending, a reader in the middle of an
    /// iteration and one in the middle of a visit: the shutdown returns, and each of them
    /// gets `Closed`.
    #[test]
    fn a_shutdown_wakes_every_waiter_and_ends_every_reader_with_closed() {
        let (dir, wal) = log(ReadVisibility::Synced);
        for i in 0..5u8 {
            wal.append(&[i + 1; 10]).unwrap();
        }
        wal.sync().unwrap();
        wal.append(b"not synced").unwrap();
        let first = waiter(&wal, 5, 1);
        let second = waiter(&wal, 100, 2);
        let mut future = pin!(wal.visible(7));
        let (unpark, waker) = unpark_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());

        // A reader that has read one entry and goes on when told.
        let (read_tx, read_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let iterating = {
            let wal = Arc::clone(&wal);
            thread::spawn(move || {
                let mut iter = wal.iter();
                let first = iter.next().unwrap().unwrap();
                read_tx.send(first.offset).unwrap();
                go_rx.recv().unwrap();
                iter.next().unwrap()
            })
        };
        assert_eq!(read_rx.recv().unwrap(), 0);

        wal.shutdown().unwrap();
        assert!(unpark.woken.load(Ordering::SeqCst));
        assert!(matches!(
            future.as_mut().poll(&mut cx),
            Poll::Ready(Err(StoreError::Closed))
        ));
        go_tx.send(()).unwrap();
        assert!(matches!(first.join().unwrap(), Err(StoreError::Closed)));
        assert!(matches!(second.join().unwrap(), Err(StoreError::Closed)));
        assert!(matches!(iterating.join().unwrap(), Err(StoreError::Closed)));
        assert_eq!(wal.inner.waiters.registered(), 0);
        // The shutdown made the last entry durable and left a close record.
        assert_eq!(wal.last_synced_offset(), Some(5));
        assert!(dir.path().join("CLOSED").exists());
        // New waits are refused at once.
        assert!(matches!(wal.wait_visible(0, None), Err(StoreError::Closed)));
        assert!(matches!(block_on(wal.visible(0)), Err(StoreError::Closed)));
    }
}
