//! The one-writer lock: an `flock` on `LOCK` in the WAL directory, plus a registry of the
//! directories this process holds.

use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{IoContext, Result, StoreError};
use crate::naming::LOCK_FILE_NAME;

/// The directories (device, inode) whose lock this process holds.
static HELD: Mutex<Option<HashSet<(u64, u64)>>> = Mutex::new(None);

/// The number of the next acquisition of a lock in this process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How long a conflicting `flock` is retried when this process does not hold the lock
/// itself: a child being spawned by another thread holds a copy of every descriptor until
/// it executes its program, so a lock just released can look held for a moment.
const TRANSIENT_CONFLICT: Duration = Duration::from_millis(250);

/// Holds the directory's exclusive lock until dropped. A second writer conflicts whether it
/// is in this process (the registry says so at once) or another (the `flock`); the kernel
/// releases the `flock` when the process dies, so a crash never leaves it stuck.
#[derive(Debug)]
pub struct DirLock {
    file: Option<File>,
    path: PathBuf,
    key: (u64, u64),
    /// Which acquisition this is: unique in the process, so that a scan's word on a file
    /// is taken only under the very lock it was made under (see `scan.rs`).
    id: u64,
}

fn held() -> std::sync::MutexGuard<'static, Option<HashSet<(u64, u64)>>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

impl DirLock {
    /// Takes the lock of `dir`, or fails with [`StoreError::Locked`]: at once if this
    /// process holds it, after retrying briefly (see above) if another process seems to.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE_NAME);
        let meta = std::fs::metadata(dir).io_context("stat", dir)?;
        let key = (meta.dev(), meta.ino());
        let mut registry = held();
        if registry.as_ref().is_some_and(|h| h.contains(&key)) {
            return Err(StoreError::Locked { path });
        }
        // The file's content is never written, so that even a read-only inspection of the
        // directory (which may create the lock file to test it) changes no data.
        let file = crate::sys::create(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
            &path,
        )
        .io_context("open lock file", &path)?;
        let deadline = Instant::now() + TRANSIENT_CONFLICT;
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => return Err(StoreError::Locked { path }),
                Err(TryLockError::Error(e)) => return Err(e).io_context("lock", path),
            }
        }
        registry.get_or_insert_with(HashSet::new).insert(key);
        Ok(DirLock {
            file: Some(file),
            path,
            key,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which acquisition of a lock in this process this is.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Release the flock before the registry entry, so that whoever the registry lets in
        // finds the file unlocked.
        drop(self.file.take());
        if let Some(registry) = held().as_mut() {
            registry.remove(&self.key);
        }
    }
}
