//! The front door's waits and shutdown (`Log::wait_visible`, `Log::visible`,
//! `Log::shutdown`): the store's answers, with this crate's one error type.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use wal_recovery::{Error, RecoveryOptions, StoreError};
use wal_store::{ReadVisibility, SyncPolicy, WalOptions};

/// A waker that only records that it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_reader_waits_through_the_front_door_until_shutdown() {
    let dir = wal_testkit::tempdir();
    let options = RecoveryOptions::default().with_wal(
        WalOptions::default()
            .with_sync_policy(SyncPolicy::Manual)
            .with_read_visibility(ReadVisibility::Synced),
    );
    let log = wal_recovery::open(dir.path(), options).unwrap().log;
    log.append(b"zero").unwrap();
    assert!(!log.wait_visible(0, Some(Duration::ZERO)).unwrap());

    let flag = Arc::new(Flag::default());
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut first = pin!(log.visible(0));
    assert!(first.as_mut().poll(&mut cx).is_pending());
    log.sync().unwrap();
    assert!(flag.0.load(Ordering::SeqCst));
    assert!(matches!(first.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    assert!(log.wait_visible(0, None).unwrap());

    let mut second = pin!(log.visible(1));
    assert!(second.as_mut().poll(&mut cx).is_pending());
    log.shutdown().unwrap();
    assert!(matches!(
        second.as_mut().poll(&mut cx),
        Poll::Ready(Err(Error::Store(StoreError::Closed)))
    ));
    assert!(matches!(
        log.wait_visible(1, None),
        Err(Error::Store(StoreError::Closed))
    ));
    assert!(matches!(
        log.shutdown(),
        Err(Error::Store(StoreError::Closed))
    ));
}
