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

    /// A waker that notes whether the log's tail and segment list were free when it ran:
    /// a waker may poll its future on the spot, and the future's owner read or append.
    struct LocksFree {
        wal: Arc<Wal>,
        woken: AtomicBool,
        free: AtomicBool,
    }

    impl Wake for LocksFree {
        fn wake(self: Arc<Self>) {
            let inner = &self.wal.inner;
            let free = inner.tail.try_lock().is_ok() && inner.segments.try_write().is_ok();
            self.free.store(free, Ordering::SeqCst);
            self.woken.store(true, Ordering::SeqCst);
        }
    }

    /// Polls a wait for `offset` once (pending), runs `change`, and says whether the
    /// change woke it with the log's locks free.
    fn woken_with_locks_free(wal: &Arc<Wal>, offset: u64, change: impl FnOnce(&Wal)) -> bool {
        let waker = Arc::new(LocksFree {
            wal: Arc::clone(wal),
            woken: AtomicBool::new(false),
            free: AtomicBool::new(false),
        });
        let woken = Waker::from(Arc::clone(&waker));
        let mut future = pin!(wal.visible(offset));
        assert!(
            future
                .as_mut()
                .poll(&mut Context::from_waker(&woken))
                .is_pending()
        );
        change(wal);
        assert!(waker.woken.load(Ordering::SeqCst), "not woken");
        waker.free.load(Ordering::SeqCst)
    }

    #[test]
    fn wakers_run_after_the_log_releases_its_locks() {
        let (_dir, wal) = log(ReadVisibility::Appended);
        assert!(woken_with_locks_free(&wal, 0, |wal| {
            wal.append(b"zero").unwrap();
        }));
        assert!(woken_with_locks_free(&wal, 2, |wal| {
            let _pending = wal.submit(&[b"one", b"two"]).unwrap();
        }));
        assert!(woken_with_locks_free(&wal, 5, |wal| {
            wal.truncate_after(1).unwrap();
        }));

        let (_dir, wal) = log(ReadVisibility::Synced);
        wal.append(b"zero").unwrap();
        assert!(woken_with_locks_free(&wal, 0, |wal| wal.sync().unwrap()));
        assert!(woken_with_locks_free(&wal, 1, |wal| {
            while wal.stats().segments < 2 {
                wal.append(&[7; 200]).unwrap();
            }
        }));

        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions::default()
            .with_sync_policy(SyncPolicy::Always)
            .with_read_visibility(ReadVisibility::Synced);
        let wal = Arc::new(Wal::open(dir.path(), options).unwrap());
        assert!(woken_with_locks_free(&wal, 0, |wal| {
            wal.append(b"zero").unwrap();
        }));
    }

    /// A batch that fails part way (its rotation cannot create the next segment) leaves
    /// the entries before the failure appended and, under `ReadVisibility::Appended`,
    /// visible: their waiters are woken.
    #[test]
    fn a_batch_failing_part_way_wakes_the_waiters_of_what_it_appended() {
        let (dir, wal) = log(ReadVisibility::Appended);
        // Half the segment: the batch's small entry fits after it, its large one does not,
        // and the segment it would rotate to (at 2) cannot be made.
        wal.append(&[7; 2000]).unwrap();
        let end = wal.next_offset();
        let in_the_way = crate::naming::index_path(dir.path(), end + 1, wal.options().codec);
        std::fs::create_dir(&in_the_way).unwrap();
        let mut future = pin!(wal.visible(end));
        let (unpark, waker) = unpark_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        let small = [1u8; 10];
        let big = [7u8; 3000];
        assert!(wal.append_batch(&[&small[..], &big[..]]).is_err());
        assert_eq!(wal.next_offset(), end + 1, "the batch's first entry");
        assert!(unpark.woken.load(Ordering::SeqCst), "not woken");
        assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
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

    /// Under `ReadVisibility::Synced`, a truncation of entries never synced drops
    /// nothing a reader could have read: a wait past the cut goes on.
    #[test]
    fn a_truncation_of_entries_never_visible_does_not_end_a_wait() {
        let (_dir, wal) = log(ReadVisibility::Synced);
        for i in 0..5u8 {
            wal.append(&[i + 1; 10]).unwrap();
        }
        wal.sync().unwrap();
        for i in 5..10u8 {
            wal.append(&[i + 1; 10]).unwrap();
        }
        // Readers see 0..=4; this one waits for 6, past entry 5 that nobody saw.
        let at_six = waiter(&wal, 6, 1);
        wal.truncate_after(4).unwrap();
        for _ in 0..2 {
            wal.append(b"new").unwrap();
        }
        wal.sync().unwrap();
        assert!(at_six.join().unwrap().unwrap());
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

        // Run by the parking executor on another thread, resolved by appends here once
        // its first poll has registered the wait (so that the appends' wake-up, not the
        // first poll, resolves it).
        let executor = {
            let wal = Arc::clone(&wal);
            thread::spawn(move || block_on(wal.visible(3)))
        };
        while wal.inner.waiters.registered() < 1 {
            assert!(
                !executor.is_finished(),
                "resolved before anything was appended"
            );
            thread::yield_now();
        }
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

    /// A visit under way when the shutdown comes (in its callback, holding the shared
    /// list lock) finishes first, and the damage it then finds keeps the close record
    /// from being written; a visit after the shutdown is refused. (The shutdown is known
    /// to wait once the lock refuses new shared holds: std's lock does while a writer
    /// waits.)
    #[test]
    fn a_shutdown_waits_for_a_visit_under_way_and_the_damage_it_finds() {
        let (dir, wal) = log(ReadVisibility::Appended);
        for i in 0..3u8 {
            wal.append(&[i + 1; 10]).unwrap();
        }
        // Entry 1's first payload byte, flipped in the file (the mapping shows it).
        let (path, at) = {
            let tail = wal.inner.lock_tail().unwrap();
            let record = tail.active.offset_of(1).unwrap().unwrap();
            let header = tail.active.codec.header_bytes();
            (
                tail.active.data_path.clone(),
                u64::from(record) + header as u64,
            )
        };
        {
            use std::os::unix::fs::FileExt;
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            let mut byte = [0u8; 1];
            file.read_exact_at(&mut byte, at).unwrap();
            file.write_all_at(&[byte[0] ^ 0x40], at).unwrap();
        }
        let (inside_tx, inside_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let visiting = {
            let wal = Arc::clone(&wal);
            thread::spawn(move || {
                let mut first = true;
                wal.visit_from(0, |_| {
                    if first {
                        first = false;
                        inside_tx.send(()).unwrap();
                        go_rx.recv().unwrap();
                    }
                    std::ops::ControlFlow::Continue(())
                })
            })
        };
        inside_rx.recv().unwrap();
        let shutdown = {
            let wal = Arc::clone(&wal);
            thread::spawn(move || wal.shutdown())
        };
        while wal.inner.segments.try_read().is_ok() {
            assert!(
                !shutdown.is_finished(),
                "the shutdown did not wait for the visit"
            );
            thread::yield_now();
        }
        go_tx.send(()).unwrap();
        let visited = visiting.join().unwrap();
        assert!(
            matches!(visited, Err(StoreError::Corrupt { .. })),
            "{visited:?}"
        );
        shutdown.join().unwrap().unwrap();
        assert!(
            !dir.path().join("CLOSED").exists(),
            "a close record written over the damage the visit found"
        );
        assert!(matches!(
            wal.visit_from(0, |_| std::ops::ControlFlow::Continue(())),
            Err(StoreError::Closed)
        ));
    }

    /// Threads blocked in `wait_visible`, a future pending and a reader between two steps
    /// of an iteration: the shutdown returns, and each of them gets `Closed`. (A visit
    /// under way: `a_shutdown_waits_for_a_visit_under_way_and_the_damage_it_finds`.)
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
