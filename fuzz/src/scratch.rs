//! A fresh directory for one fuzz run, on a RAM file system when there is one (every
//! run creates, maps, fsyncs and removes files: on tmpfs that costs microseconds), removed
//! when dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where scratch directories go when `/dev/shm` is not there.
const FALLBACK_ROOT: &str = "/tmp";
/// The RAM file system most Linux machines have.
const RAM_ROOT: &str = "/dev/shm";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A directory that exists from [`Scratch::new`] until it is dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates an empty directory, unique to this process and call.
    pub fn new() -> Scratch {
        let root = if Path::new(RAM_ROOT).is_dir() {
            RAM_ROOT
        } else {
            FALLBACK_ROOT
        };
        let path = PathBuf::from(root).join(format!(
            "wal-fuzz-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory left by a crashed run of an earlier process with the same id.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        Scratch { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
