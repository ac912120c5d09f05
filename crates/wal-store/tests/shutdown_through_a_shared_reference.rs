//! `Wal::shutdown`: what `close` does, through a shared reference. Afterwards every call
//! that reads or changes the log is refused with `Closed`, the accessors go on answering,
//! and appenders racing the shutdown either finish durably or are refused.

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use wal_store::{ReadVisibility, StoreError, SyncPolicy, Wal, WalOptions};
use wal_testkit::tempdir;

fn closed<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Closed))
}

#[test]
fn after_a_shutdown_every_call_is_refused_and_the_accessors_answer() {
    let dir = tempdir();
    let wal = Wal::open(
        dir.path(),
        WalOptions::default().with_sync_policy(SyncPolicy::Manual),
    )
    .unwrap();
    wal.append_batch(&[&b"zero"[..], b"one", b"two"]).unwrap();
    wal.sync().unwrap();
    wal.write_meta(b"meta").unwrap();
    let mut iter = wal.iter();
    assert_eq!(iter.next().unwrap().unwrap().payload, b"zero");
    wal.append(b"three").unwrap();
    assert_eq!(wal.last_synced_offset(), Some(2));

    wal.shutdown().unwrap();
    // Everything appended was made durable.
    assert_eq!(wal.last_synced_offset(), Some(3));

    assert!(closed(wal.append(b"four")));
    assert!(closed(wal.append_batch(&[b"four"])));
    assert!(closed(wal.sync()));
    assert!(closed(wal.read(0)));
    assert!(closed(iter.next().unwrap()));
    assert!(iter.next().is_none());
    assert!(closed(wal.iter().next().unwrap()));
    assert!(closed(wal.iter_rev().next().unwrap()));
    assert!(closed(wal.iter_from(0).and_then(|mut i| i.next().unwrap())));
    assert!(closed(
        wal.visit_from(0, |_| std::ops::ControlFlow::Continue(()))
    ));
    assert!(closed(wal.truncate_after(0)));
    assert!(closed(wal.trim_before(1)));
    assert!(closed(wal.clear()));
    assert!(closed(wal.write_meta(b"other")));
    assert!(closed(wal.meta()));
    assert!(closed(wal.wait_visible(0, Some(Duration::ZERO))));

    assert_eq!(wal.first_offset(), 0);
    assert_eq!(wal.next_offset(), 4);
    assert_eq!(wal.last_offset(), Some(3));
    assert!(wal.last_crc().is_some());
    assert_eq!(wal.stats().entries_appended, 4);
    assert_eq!(wal.dir(), dir.path());

    // Only the first shutdown reports how it went.
    assert!(closed(wal.shutdown()));
    assert!(closed(wal.close()));

    // Nothing changed after the shutdown, and the close record lets the log reopen as
    // it was.
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.next_offset(), 4);
    assert_eq!(wal.read(3).unwrap().payload, b"three");
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"meta"[..]));
}

#[test]
fn a_shutdown_leaves_the_close_record_as_close_does() {
    let dir = tempdir();
    let wal = Arc::new(Wal::open(dir.path(), WalOptions::default()).unwrap());
    wal.append(b"entry").unwrap();
    let other = Arc::clone(&wal);
    other.shutdown().unwrap();
    assert!(dir.path().join("CLOSED").exists());
    drop(other);
    drop(wal);
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.read(0).unwrap().payload, b"entry");
}

/// The shutdown stops (and joins) the interval syncer, and the drop after it finds none
/// to stop.
#[test]
fn a_log_with_an_interval_syncer_shuts_down_and_drops() {
    let dir = tempdir();
    let options =
        WalOptions::default().with_sync_policy(SyncPolicy::Interval(Duration::from_millis(1)));
    let wal = Wal::open(dir.path(), options).unwrap();
    wal.append(b"entry").unwrap();
    wal.shutdown().unwrap();
    assert_eq!(wal.last_synced_offset(), Some(0));
    drop(wal);
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.read(0).unwrap().payload, b"entry");
}

/// Appenders under group commit race a shutdown: each append either returns `Ok`, and is
/// durable and there after a reopen, or is refused with `Closed`; none is lost.
#[test]
fn appenders_racing_a_shutdown_finish_durably_or_are_refused() {
    let dir = tempdir();
    let options = WalOptions::default()
        .with_sync_policy(SyncPolicy::GroupCommit)
        .with_read_visibility(ReadVisibility::Synced);
    let wal = Arc::new(Wal::open(dir.path(), options).unwrap());
    let (started_tx, started_rx) = mpsc::channel();
    let appenders: Vec<_> = (0..4u8)
        .map(|t| {
            let wal = Arc::clone(&wal);
            let started = started_tx.clone();
            thread::spawn(move || {
                let mut acked = Vec::new();
                loop {
                    match wal.append(&[t + 1; 50]) {
                        Ok(appended) => {
                            if acked.is_empty() {
                                started.send(()).unwrap();
                            }
                            acked.push(appended.offset);
                        }
                        Err(StoreError::Closed) => return acked,
                        Err(e) => panic!("append failed: {e}"),
                    }
                }
            })
        })
        .collect();
    for _ in 0..4 {
        started_rx.recv().unwrap();
    }
    wal.shutdown().unwrap();
    let acked: Vec<u64> = appenders
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let last_synced = wal.last_synced_offset().unwrap();
    assert!(acked.iter().all(|&o| o <= last_synced));
    assert_eq!(
        wal.next_offset(),
        last_synced + 1,
        "nothing after the shutdown's sync"
    );
    drop(wal);
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.next_offset(), last_synced + 1);
    for offset in acked {
        wal.read(offset).unwrap();
    }
}
