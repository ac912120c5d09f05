//! One writer per directory: while a `Wal` holds a directory, a second open in this
//! process gets `StoreError::Locked`, another process cannot `flock` the lock file, and a
//! lock held by another process refuses our open; once the lock is released, opening
//! works again.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows unwrap only inside #[test] functions)"
)]

mod common_b;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use wal_store::internal::naming::LOCK_FILE_NAME;
use wal_store::{StoreError, Wal, WalOptions};

const FLOCK: &str = "/usr/bin/flock";
/// `flock -n` exits with this status when the lock is held by someone else.
const FLOCK_CONFLICT_STATUS: i32 = 1;
/// How many times to look whether the child holds the lock yet, 10 ms apart.
const MAX_POLLS: u32 = 1000;

/// Taken by every test of this file, so that they run one at a time. A child process
/// spawned by one test holds a copy of every descriptor of this process between its fork
/// and its exec (close-on-exec acts only at the exec), including the lock file of a log
/// another test has open: after that test drops its log, the lock would stay held until
/// the child execs, and its next open would be refused.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn options() -> WalOptions {
    WalOptions::default().with_segment_bytes(4096)
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE_NAME)
}

/// Kills and reaps the child when dropped, so that a failed assert never leaves it
/// holding the lock.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `flock -n <lock> true`: succeeds if the lock is free, exits with 1 if held.
fn try_flock(lock: &Path) -> ExitStatus {
    Command::new(FLOCK)
        .arg("-n")
        .arg(lock)
        .arg("true")
        .stdin(Stdio::null())
        .status()
        .unwrap()
}

fn assert_locked(result: Result<Wal, StoreError>, lock: &Path) {
    match result {
        Err(StoreError::Locked { path }) => assert_eq!(path, lock),
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
fn second_open_in_this_process_is_locked_until_the_first_is_dropped_or_closed() {
    let _serial = one_at_a_time();
    let dir = wal_testkit::tempdir();
    let first = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(first.append(b"held").unwrap().offset, 0);

    assert_locked(Wal::open(dir.path(), options()), &lock_path(dir.path()));
    // The refused open changed nothing for the holder.
    assert_eq!(first.append(b"still held").unwrap().offset, 1);
    assert_eq!(first.read(0).unwrap().payload, b"held");

    drop(first);
    let second = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(second.next_offset(), 2);
    assert_locked(Wal::open(dir.path(), options()), &lock_path(dir.path()));

    second.close().unwrap();
    let third = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(third.next_offset(), 2);
    assert_eq!(third.append(b"third").unwrap().offset, 2);
}

#[test]
fn another_process_cannot_take_the_lock_while_the_log_is_open() {
    let _serial = one_at_a_time();
    let dir = wal_testkit::tempdir();
    let lock = lock_path(dir.path());
    let wal = Wal::open(dir.path(), options()).unwrap();

    let status = try_flock(&lock);
    assert_eq!(status.code(), Some(FLOCK_CONFLICT_STATUS), "{status}");

    drop(wal);
    let status = try_flock(&lock);
    assert!(status.success(), "{status}");
}

#[test]
fn open_is_refused_while_another_process_holds_the_lock() {
    let _serial = one_at_a_time();
    let dir = wal_testkit::tempdir();
    let lock = lock_path(dir.path());
    // `-F`: flock execs `sleep` itself, so killing the child releases the lock (a forked
    // `sleep` would inherit the locked descriptor and keep holding it).
    let mut holder = KillOnDrop(
        Command::new(FLOCK)
            .arg("-F")
            .arg(&lock)
            .arg("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut held = false;
    for _ in 0..MAX_POLLS {
        assert!(
            holder.0.try_wait().unwrap().is_none(),
            "the lock-holding child exited early"
        );
        if try_flock(&lock).code() == Some(FLOCK_CONFLICT_STATUS) {
            held = true;
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(held, "the child never took the lock");

    assert_locked(Wal::open(dir.path(), options()), &lock);
    // The refused open created no segment.
    assert_eq!(common_b::file_names(dir.path()), [LOCK_FILE_NAME]);

    holder.0.kill().unwrap();
    holder.0.wait().unwrap();
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.append(b"after the other process").unwrap().offset, 0);
    assert_eq!(wal.read(0).unwrap().payload, b"after the other process");
}
