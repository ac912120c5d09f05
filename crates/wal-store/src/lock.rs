//! The one-writer lock: an `flock` on `LOCK` in the WAL directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, StoreError};
use crate::naming::LOCK_FILE_NAME;

/// Holds the directory's exclusive lock until dropped. The lock belongs to the open file
/// description, so a second writer conflicts whether it is in this process or another;
/// the kernel releases it when the process dies, so a crash never leaves it stuck.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock of `dir`, or fails at once with [`StoreError::Locked`].
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE_NAME);
        // The file's content is never written, so that even a read-only inspection of the
        // directory (which may create the lock file to test it) changes no data.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .io_context("open lock file", &path)?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked { path }),
            Err(TryLockError::Error(e)) => Err(e).io_context("lock", path),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
