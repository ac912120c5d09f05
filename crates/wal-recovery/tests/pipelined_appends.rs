//! Submits that return before they are durable (`Wal::submit`, `Log::submit`): a sync
//! that fails under them, made to fail through the fault seam while it is held in
//! progress, fails every batch it covered and every one submitted meanwhile, and nothing
//! submitted or registered after it succeeds; through the front door, the same calls
//! answer with the crate's one error type.

mod faults;

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Waker};

use faults::tempdir;
use wal_recovery::{Error, RecoveryOptions};
use wal_store::faults::{Call, EIO, FaultPlan, Rule};
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};

fn options(sync_policy: SyncPolicy) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(1 << 20)
        .with_sync_policy(sync_policy)
}

#[test]
fn a_failed_sync_fails_every_covered_pending_and_no_later_one_succeeds() {
    let dir = tempdir();
    let plan = FaultPlan::install(dir.path());
    let wal = Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap();
    // Two durable appends first: the second zeroes ahead (an msync of its own), so that
    // the next msync of the data file is the flusher's sync of the submitted entries.
    wal.append(b"durable 0").unwrap();
    wal.append(b"durable 1").unwrap();
    assert_eq!(wal.last_synced_offset(), Some(1));

    plan.fail(Rule::once(Call::Msync, 1, EIO));
    let gate = plan.hold(Call::Msync, 1);
    let covered = wal.submit(&[b"2".as_slice(), b"3"]).unwrap();
    // The flusher's sync of 2..=3 is in progress (held before its msync, which fails).
    gate.wait_reached();
    let meanwhile = wal.submit(&[b"4".as_slice()]).unwrap();
    let (told_tx, told_rx) = mpsc::channel();
    let tx = told_tx.clone();
    wal.on_durable(4, move |result| {
        tx.send(result.map_err(|e| e.to_string())).unwrap()
    });
    gate.open();

    assert!(
        matches!(covered.wait(), Err(StoreError::Poisoned { ref cause }) if cause.contains("msync")),
        "the batch the failed sync covered fails with its error"
    );
    assert!(matches!(meanwhile.wait(), Err(StoreError::Poisoned { .. })));
    assert!(told_rx.recv().unwrap().is_err());
    assert_eq!(plan.injected(), 1);
    assert_eq!(wal.last_synced_offset(), Some(1), "nothing more is durable");

    // Nothing later succeeds: a submit is refused, a callback is told the failure, even
    // for an offset that was durable before it.
    assert!(matches!(
        wal.submit(&[b"5".as_slice()]),
        Err(StoreError::Poisoned { .. })
    ));
    for offset in [0, 4, 5] {
        let tx = told_tx.clone();
        wal.on_durable(offset, move |result| {
            tx.send(result.map_err(|e| e.to_string())).unwrap()
        });
        assert!(told_rx.recv().unwrap().is_err(), "on_durable({offset})");
    }
    assert!(matches!(wal.close(), Err(StoreError::Poisoned { .. })));
}

/// A batch is never reported durable before the sync that covers it has returned: while
/// the flusher's msync is held in progress, the covered `Pending` stays pending and its
/// callback unrun (a kill loop cannot see this: the page cache outlives a killed
/// process); once the msync goes ahead, both complete.
#[test]
fn a_pending_stays_pending_while_the_sync_covering_it_is_held() {
    let dir = tempdir();
    let plan = FaultPlan::install(dir.path());
    let wal = Wal::open(dir.path(), options(SyncPolicy::GroupCommit)).unwrap();
    // As above: the next msync of the data file is the flusher's sync of the submit.
    wal.append(b"durable 0").unwrap();
    wal.append(b"durable 1").unwrap();

    let gate = plan.hold(Call::Msync, 1);
    let mut covered = wal.submit(&[b"2".as_slice(), b"3"]).unwrap();
    let (told_tx, told_rx) = mpsc::channel();
    wal.on_durable(3, move |result| told_tx.send(result.is_ok()).unwrap());
    gate.wait_reached();

    let waker = Waker::noop();
    assert!(
        Pin::new(&mut covered)
            .poll(&mut Context::from_waker(waker))
            .is_pending(),
        "the batch was reported durable before its msync"
    );
    assert!(
        matches!(told_rx.try_recv(), Err(mpsc::TryRecvError::Empty)),
        "the callback ran before the msync"
    );
    assert_eq!(wal.last_synced_offset(), Some(1));

    gate.open();
    assert_eq!(covered.wait().unwrap().last_offset, 3);
    assert_eq!(told_rx.recv(), Ok(true));
    assert_eq!(wal.last_synced_offset(), Some(3));
    assert_eq!(plan.injected(), 0);
    wal.close().unwrap();
}

#[test]
fn the_front_door_submits_and_answers_with_its_one_error_type() {
    let dir = tempdir();
    let recovery = RecoveryOptions::default().with_wal(options(SyncPolicy::Manual));
    let log = wal_recovery::open(dir.path(), recovery).unwrap().log;
    let pending = log.submit(&[b"a".as_slice(), b"b"]).unwrap();
    assert_eq!(pending.offsets(), 0..=1);
    let (tx, rx) = mpsc::channel();
    log.on_durable(1, move |result| tx.send(result.map(|o| o + 100)).unwrap());
    log.sync().unwrap();
    assert_eq!(pending.wait().unwrap().last_offset, 1);
    assert_eq!(rx.recv().unwrap().unwrap(), 101);
    assert!(matches!(
        log.submit::<&[u8]>(&[]),
        Err(Error::Store(StoreError::EmptyBatch))
    ));
    let cut = log.submit(&[b"c".as_slice()]).unwrap();
    log.truncate_after(1).unwrap();
    assert!(matches!(
        cut.wait(),
        Err(Error::Store(StoreError::OffsetOutOfRange { offset: 2, .. }))
    ));
    log.close().unwrap();
}
