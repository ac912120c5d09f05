//! Durable notifications without a blocked thread: `Wal::submit` returns before its
//! entries are durable, and its `Pending` (waited on, polled as a future, or dropped)
//! and `Wal::on_durable` callbacks learn when they are: in offset order, each exactly
//! once, from the background flusher (`Always`, `GroupCommit`) or the next `sync()`
//! (`Manual`); a truncation that removes a pending entry fails it.
//!
//! A failed sync under submits, and a sync held in progress, are tested through the fault
//! seam, in wal-recovery's `tests/pipelined_appends.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use wal_store::{Pending, ReadVisibility, StoreError, SyncPolicy, Wal, WalOptions};

/// How long a test waits for the background flusher before failing: only a sync that
/// never comes fails it.
const EVENTUALLY: Duration = Duration::from_secs(30);

fn options(sync_policy: SyncPolicy) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(1024 * 1024)
        .with_sync_policy(sync_policy)
}

fn payload(offset: u64) -> Vec<u8> {
    format!("entry {offset}").into_bytes()
}

/// A waker that unparks the thread that made it, and counts its wake-ups.
struct ThreadWaker {
    thread: Thread,
    woken: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn thread_waker() -> (Arc<ThreadWaker>, Waker) {
    let state = Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicUsize::new(0),
    });
    let waker = Waker::from(Arc::clone(&state));
    (state, waker)
}

/// The smallest executor: poll, park until woken, poll again.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let (_, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

fn poll_once(
    pending: &mut Pending,
    waker: &Waker,
) -> Poll<Result<wal_store::AppendedBatch, StoreError>> {
    std::pin::Pin::new(pending).poll(&mut Context::from_waker(waker))
}

#[test]
fn completions_come_in_offset_order_exactly_once_from_several_submitting_threads() {
    const THREADS: u64 = 4;
    const BATCHES: u64 = 50;
    for policy in [SyncPolicy::GroupCommit, SyncPolicy::Always] {
        let dir = tempfile::tempdir().unwrap();
        let wal = Arc::new(Wal::open(dir.path(), options(policy)).unwrap());
        // Batches of 1 to 3 entries: every thread writes 100 entries.
        let total = THREADS * BATCHES * 2;
        // Callbacks for every offset, registered before any is written, record the order
        // in which they run.
        let order = Arc::new(Mutex::new(Vec::new()));
        for offset in 0..total {
            let order = Arc::clone(&order);
            wal.on_durable(offset, move |result| {
                order
                    .lock()
                    .unwrap()
                    .push((offset, result.map_err(|e| e.to_string())));
            });
        }
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let wal = Arc::clone(&wal);
                thread::spawn(move || {
                    let mut pendings = Vec::new();
                    for b in 0..BATCHES {
                        let size = [1, 3][usize::from((t + b) % 2 == 1)];
                        let payloads: Vec<Vec<u8>> = (0..size).map(payload).collect();
                        pendings.push(wal.submit(&payloads).unwrap());
                    }
                    pendings
                        .into_iter()
                        .map(|p| {
                            let offsets = p.offsets();
                            let batch = p.wait().unwrap();
                            assert_eq!(
                                (batch.first_offset, batch.last_offset),
                                (*offsets.start(), *offsets.end())
                            );
                            batch.last_offset
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut lasts: Vec<u64> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        lasts.sort_unstable();
        assert_eq!(wal.next_offset(), total, "{policy:?}");
        assert_eq!(*lasts.last().unwrap(), total - 1);
        assert!(wal.last_synced_offset() >= lasts.last().copied());
        // Every callback has run once its offset was durable: the last batch's wait
        // returned after its own waiter was told, which comes after every lower one.
        let order = order.lock().unwrap().clone();
        let expected: Vec<(u64, Result<u64, String>)> = (0..total).map(|o| (o, Ok(o))).collect();
        assert_eq!(
            order, expected,
            "{policy:?}: callbacks in offset order, once each"
        );
        // Far fewer syncs than batches: a sync covers everything submitted before it.
        let syncs = wal.stats().syncs;
        assert!(syncs < THREADS * BATCHES, "{policy:?}: {syncs} syncs");
        Arc::into_inner(wal).unwrap().close().unwrap();
    }
}

#[test]
fn a_future_polled_by_a_minimal_executor_resolves_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap();
    wal.append(b"before").unwrap();
    let pending = wal.submit(&[b"one".as_slice(), b"two", b"three"]).unwrap();
    assert_eq!(pending.offsets(), 1..=3);
    let batch = block_on(pending).unwrap();
    assert_eq!((batch.first_offset, batch.last_offset), (1, 3));
    assert!(wal.last_synced_offset() >= Some(3));
    assert_eq!(wal.read(3).unwrap().payload, b"three");
    wal.close().unwrap();
}

#[test]
fn a_pending_dropped_unpolled_still_becomes_durable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap();
        let pending = wal.submit(&[b"kept".as_slice(), b"also kept"]).unwrap();
        let last = *pending.offsets().end();
        drop(pending);
        // Nobody waits: the flusher syncs on its own.
        let started = Instant::now();
        while wal.last_synced_offset() < Some(last) {
            assert!(
                started.elapsed() < EVENTUALLY,
                "the dropped batch never became durable"
            );
            thread::sleep(Duration::from_millis(1));
        }
        // Dropped, not closed: nothing more is synced, as in a crash.
    }
    let wal = Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap();
    assert_eq!(wal.next_offset(), 2);
    assert_eq!(wal.read(1).unwrap().payload, b"also kept");
}

#[test]
fn with_manual_syncs_a_pending_completes_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Manual)).unwrap();
    let mut pending = wal.submit(&[b"a".as_slice()]).unwrap();
    let (ran_tx, ran_rx) = mpsc::channel();
    wal.on_durable(0, move |result| ran_tx.send(result.unwrap()).unwrap());
    let (woken, waker) = thread_waker();
    assert!(poll_once(&mut pending, &waker).is_pending());
    assert!(
        ran_rx.try_recv().is_err(),
        "nothing is durable before the sync"
    );
    assert_eq!(wal.last_synced_offset(), None);

    wal.sync().unwrap();
    // Told by the thread that synced, before `sync` returned.
    assert_eq!(woken.woken.load(Ordering::SeqCst), 1);
    assert_eq!(ran_rx.try_recv().unwrap(), 0);
    match poll_once(&mut pending, &waker) {
        Poll::Ready(Ok(batch)) => assert_eq!(batch.last_offset, 0),
        other => panic!("expected the batch, got {other:?}"),
    }
    wal.close().unwrap();
}

#[test]
fn with_interval_syncs_the_interval_syncer_completes_a_pending() {
    let dir = tempfile::tempdir().unwrap();
    let policy = SyncPolicy::Interval(Duration::from_millis(5));
    let wal = Wal::open(dir.path(), options(policy)).unwrap();
    let pending = wal.submit(&[b"a".as_slice(), b"b"]).unwrap();
    // Nobody but the interval syncer syncs.
    assert_eq!(pending.wait().unwrap().last_offset, 1);
    assert!(wal.last_synced_offset() >= Some(1));
    wal.close().unwrap();
}

#[test]
fn on_durable_of_an_offset_already_durable_runs_at_once_on_the_callers_thread() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Manual)).unwrap();
    wal.append(b"a").unwrap();
    wal.sync().unwrap();
    let caller = thread::current().id();
    let ran = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&ran);
    wal.on_durable(0, move |result| {
        *seen.lock().unwrap() = Some((result.unwrap(), thread::current().id()));
    });
    assert_eq!(*ran.lock().unwrap(), Some((0, caller)));
    wal.close().unwrap();
}

#[test]
fn a_truncation_that_removes_a_pending_entry_fails_it_and_spares_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Manual)).unwrap();
    let kept = wal.submit(&[b"0".as_slice(), b"1"]).unwrap();
    wal.sync().unwrap();
    let cut = wal.submit(&[b"2".as_slice(), b"3"]).unwrap();
    let (tx, rx) = mpsc::channel();
    let callback_tx = tx.clone();
    wal.on_durable(3, move |result| {
        callback_tx.send(result.map_err(|e| e.to_string())).unwrap()
    });
    wal.truncate_after(2).unwrap();
    // Told by the truncation, before it returned (nothing below it still waits).
    let told = rx.try_recv().unwrap();
    assert!(told.is_err(), "{told:?}");
    assert!(matches!(
        cut.wait(),
        Err(StoreError::OffsetOutOfRange { offset: 3, .. })
    ));
    // A new entry takes offset 3: the old waiter's failure is not taken back, and the
    // new entry's waiter learns of the new entry.
    let again = wal.submit(&[b"new 3".as_slice()]).unwrap();
    wal.on_durable(3, move |result| {
        tx.send(result.map_err(|e| e.to_string())).unwrap()
    });
    wal.sync().unwrap();
    assert_eq!(rx.try_recv().unwrap(), Ok(3));
    assert_eq!(again.wait().unwrap().last_offset, 3);
    assert_eq!(kept.wait().unwrap().last_offset, 1);
    wal.close().unwrap();
}

#[test]
fn a_pending_whose_log_is_dropped_before_its_sync_fails() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Manual)).unwrap();
    let pending = wal.submit(&[b"never synced".as_slice()]).unwrap();
    drop(wal);
    assert!(matches!(pending.wait(), Err(StoreError::Poisoned { .. })));
}

#[test]
fn submit_refuses_a_bad_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap();
    assert!(matches!(
        wal.submit(&[b"fine".as_slice(), b""]),
        Err(StoreError::EmptyPayload)
    ));
    assert!(matches!(
        wal.submit::<&[u8]>(&[]),
        Err(StoreError::EmptyBatch)
    ));
    assert_eq!(wal.next_offset(), 0);
    wal.close().unwrap();
}

#[test]
fn a_callback_run_by_the_flusher_may_drop_the_last_handle_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let held = Arc::clone(&wal);
    wal.on_durable(0, move |result| {
        // On the flusher's thread, once the test has let go of its handle.
        go_rx.recv().unwrap();
        drop(held);
        done_tx.send(result.is_ok()).unwrap();
    });
    let pending = wal.submit(&[b"a".as_slice()]).unwrap();
    drop(wal);
    go_tx.send(()).unwrap();
    // The log was dropped on the flusher's own thread, which cannot wait for itself.
    assert_eq!(done_rx.recv(), Ok(true));
    assert_eq!(pending.wait().unwrap().last_offset, 0);
}

/// A shutdown makes every submitted batch durable and completes it; a callback for an
/// offset that never was appended is told `Closed`, as is one registered afterwards for
/// such an offset, while one for a durable offset still gets it.
#[test]
fn a_shutdown_completes_every_pending_and_tells_the_rest_closed() {
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions::default().with_sync_policy(SyncPolicy::Manual);
    let wal = Wal::open(dir.path(), options).unwrap();
    let pending = wal.submit(&[b"one", b"two"]).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let early = tx.clone();
    wal.on_durable(5, move |r| early.send((5, r)).unwrap());
    wal.shutdown().unwrap();
    assert_eq!(pending.wait().unwrap().last_offset, 1);
    let late = tx.clone();
    wal.on_durable(7, move |r| late.send((7, r)).unwrap());
    wal.on_durable(1, move |r| tx.send((1, r)).unwrap());
    let told: Vec<_> = rx.iter().take(3).collect();
    assert!(matches!(told[0], (5, Err(StoreError::Closed))), "{told:?}");
    assert!(matches!(told[1], (7, Err(StoreError::Closed))), "{told:?}");
    assert!(matches!(told[2], (1, Ok(1))), "{told:?}");
    assert!(matches!(wal.submit(&[b"three"]), Err(StoreError::Closed)));
}

/// A reset makes what was submitted durable first (its batches complete), and tells a
/// callback waiting for an offset the old log never reached that it never will be: the
/// offset now belongs to the new log's entries.
#[test]
fn a_reset_completes_what_was_submitted_and_fails_callbacks_past_the_old_end() {
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions::default().with_sync_policy(SyncPolicy::Manual);
    let wal = Wal::open(dir.path(), options).unwrap();
    let pending = wal.submit(&[b"one", b"two"]).unwrap();
    let (tx, rx) = mpsc::channel();
    wal.on_durable(3, move |r| tx.send(r).unwrap());
    wal.reset_to(0, 0).unwrap();
    assert_eq!(pending.wait().unwrap().last_offset, 1);
    assert!(
        matches!(
            rx.recv().unwrap(),
            Err(StoreError::OffsetOutOfRange { offset: 3, .. })
        ),
        "a callback for an offset past the old end must not wait for the new log's entry"
    );
    wal.append_batch(&[b"a", b"b", b"c", b"d"]).unwrap();
    wal.sync().unwrap();
    assert!(rx.try_recv().is_err(), "told twice");
}

/// A truncation racing submits: a batch whose entries the truncation removed never
/// completes with success, whatever entries later took its offsets. The submit queues its
/// waiter before it lets go of the tail, so the truncation (which takes the tail) either
/// comes before the batch is appended or finds its waiter and fails it. Checked under
/// many threads: after the one sync at the end, each batch that succeeded still reads
/// back as written, and each whose entries are gone failed.
#[test]
fn a_truncation_racing_submits_never_lets_a_removed_batch_succeed() {
    const THREADS: u64 = 4;
    const BATCHES: u64 = 300;
    let dir = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(dir.path(), options(SyncPolicy::Manual)).unwrap());
    let writers_done = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = Arc::clone(&wal);
            let writers_done = Arc::clone(&writers_done);
            thread::spawn(move || {
                let submitted = (0..BATCHES)
                    .map(|b| {
                        let payloads: Vec<Vec<u8>> = (0..2)
                            .map(|i| format!("{t}-{b}-{i}").into_bytes())
                            .collect();
                        (payloads.clone(), wal.submit(&payloads).unwrap())
                    })
                    .collect::<Vec<_>>();
                writers_done.fetch_add(1, Ordering::SeqCst);
                submitted
            })
        })
        .collect();
    // Driven by the log's growth, not by time: it cuts the last two entries (often those
    // of a batch just appended) each time eight more were appended, for as long as the
    // writers run and at least once, so that both outcomes always happen: every cut is
    // at offset 6 or later (the first batches always stay), and at least one is made.
    let truncator = {
        let wal = Arc::clone(&wal);
        thread::spawn(move || {
            let mut cut_at = 0;
            let mut cuts = 0;
            while writers_done.load(Ordering::SeqCst) < usize::try_from(THREADS).unwrap()
                || cuts == 0
            {
                let next = wal.next_offset();
                if next >= cut_at + 8 {
                    wal.truncate_after(next - 3).unwrap();
                    cut_at = next - 2;
                    cuts += 1;
                } else {
                    thread::yield_now();
                }
            }
        })
    };
    truncator.join().unwrap();
    let submitted: Vec<_> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    wal.sync().unwrap();
    let (mut kept, mut removed) = (0, 0);
    for (payloads, pending) in submitted {
        let offsets = pending.offsets();
        let in_log: Vec<Option<Vec<u8>>> = offsets
            .clone()
            .map(|o| wal.read(o).ok().map(|e| e.payload.to_vec()))
            .collect();
        let intact = in_log
            .iter()
            .zip(&payloads)
            .all(|(read, written)| read.as_ref() == Some(written));
        match pending.wait() {
            Ok(batch) => {
                assert!(
                    intact,
                    "{offsets:?} succeeded, but the log holds {in_log:?}"
                );
                kept += 1;
                assert_eq!(batch.first_offset, *offsets.start());
            }
            Err(StoreError::OffsetOutOfRange { .. }) => {
                assert!(
                    !intact,
                    "{offsets:?} failed, but its entries are in the log"
                );
                removed += 1;
            }
            Err(e) => panic!("{offsets:?}: {e}"),
        }
    }
    // Both outcomes happened, or the test proved nothing.
    assert!(kept > 0 && removed > 0, "kept {kept}, removed {removed}");
}

/// Under `ReadVisibility::Appended` a submitted entry is visible at once, and a reader
/// waiting for it is woken by the submit itself.
#[test]
fn a_submit_under_appended_visibility_wakes_readers_waiting_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = options(SyncPolicy::Manual).with_read_visibility(ReadVisibility::Appended);
    let wal = Wal::open(dir.path(), options).unwrap();
    let mut visible = std::pin::pin!(wal.visible(0));
    let (woken, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(visible.as_mut().poll(&mut cx).is_pending());
    let _pending = wal.submit(&[b"a".as_slice()]).unwrap();
    assert_eq!(
        woken.woken.load(Ordering::SeqCst),
        1,
        "the reader waiting for entry 0 was not woken"
    );
    assert!(matches!(
        visible.as_mut().poll(&mut cx),
        Poll::Ready(Ok(()))
    ));
}

/// The interval syncer runs callbacks too: one that drops the last handle of the log
/// stops the syncer from its own thread, which must not wait for itself, and the waiters
/// left are still told.
#[test]
fn a_callback_run_by_the_interval_syncer_may_drop_the_last_handle_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let policy = SyncPolicy::Interval(Duration::from_millis(5));
    let wal = Arc::new(Wal::open(dir.path(), options(policy)).unwrap());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let held = Arc::clone(&wal);
    wal.on_durable(0, move |result| {
        // On the interval syncer's thread, once the test has let go of its handle.
        go_rx.recv().unwrap();
        drop(held);
        done_tx.send(result.is_ok()).unwrap();
    });
    let (later_tx, later_rx) = mpsc::channel();
    wal.on_durable(5, move |result| later_tx.send(result.is_err()).unwrap());
    wal.append(b"a").unwrap();
    drop(wal);
    go_tx.send(()).unwrap();
    assert_eq!(done_rx.recv_timeout(EVENTUALLY), Ok(true));
    // Entry 5 was never appended: the dropped log fails its callback.
    assert_eq!(
        later_rx.recv_timeout(EVENTUALLY),
        Ok(true),
        "the callback for entry 5 was never told"
    );
}

/// Under `Manual` an entry larger than a segment is sealed (made durable) by its own
/// submit: the batch completes at once, with no sync to come.
#[test]
fn a_submit_made_durable_by_its_own_append_completes_at_once_under_manual_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions::default()
        .with_segment_bytes(4096)
        .with_sync_policy(SyncPolicy::Manual);
    let wal = Wal::open(dir.path(), options).unwrap();
    let mut pending = wal.submit(&[vec![7u8; 10_000]]).unwrap();
    assert_eq!(wal.last_synced_offset(), Some(0), "sealed at once");
    let (_, waker) = thread_waker();
    assert!(
        matches!(poll_once(&mut pending, &waker), Poll::Ready(Ok(_))),
        "the batch is durable, but its handle was not told"
    );
    wal.close().unwrap();
}

/// Waiters are told in offset order, one thread at a time, also when a shutdown or a
/// dropped log settles them, and when one is refused at once: here a callback run by the
/// flusher shuts the log down (and registers one more) or drops its last handle, and the
/// waiters that settles are told after the one already taken out before them.
#[test]
fn waiters_settled_by_a_shutdown_or_a_drop_are_told_after_the_earlier_ones() {
    for shut in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let wal = Arc::new(Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap());
        let (told_tx, told_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (tx, held) = (told_tx.clone(), Arc::clone(&wal));
        wal.on_durable(1, move |_| {
            tx.send(1).unwrap();
            go_rx.recv().unwrap();
            if shut {
                held.shutdown().unwrap();
                let tx = tx.clone();
                // Refused at once (the log is shut down), yet told after the others.
                held.on_durable(30, move |_| tx.send(30).unwrap());
            }
            drop(held);
        });
        for offset in [2, 20] {
            let tx = told_tx.clone();
            wal.on_durable(offset, move |_| tx.send(offset).unwrap());
        }
        drop(told_tx);
        // The flusher syncs 0..=2 and takes the callbacks of 1 and 2 out together.
        drop(wal.submit(&[b"0".as_slice(), b"1", b"2"]).unwrap());
        drop(wal);
        go_tx.send(()).unwrap();
        let expected: &[u64] = if shut { &[1, 2, 20, 30] } else { &[1, 2, 20] };
        let told: Vec<u64> = expected
            .iter()
            .map(|_| told_rx.recv_timeout(EVENTUALLY).unwrap())
            .collect();
        assert_eq!(told, expected, "shutdown: {shut}");
    }
}
