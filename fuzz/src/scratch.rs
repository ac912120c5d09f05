//! A fresh directory for one fuzz run, on a RAM file system when there is one (every
//! run creates, maps, fsyncs and removes files: on tmpfs that costs microseconds), removed
//! when dropped, or by the next fuzzing process if this one dies on a finding.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where scratch directories go when `/dev/shm` is not there.
const FALLBACK_ROOT: &str = "/tmp";
/// The RAM file system most Linux machines have.
const RAM_ROOT: &str = "/dev/shm";

/// Prefix of the directories' names, followed by the process id and a counter.
const PREFIX: &str = "wal-fuzz-";

static NEXT: AtomicU64 = AtomicU64::new(0);
static SWEPT: Once = Once::new();

/// Removes the directories left in `root` by fuzzing processes that have died: a finding
/// aborts the process, so its directory is never dropped (and `/dev/shm` is memory).
fn sweep(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

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
        SWEPT.call_once(|| sweep(Path::new(root)));
        let path = PathBuf::from(root).join(format!(
            "{PREFIX}{}-{}",
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
