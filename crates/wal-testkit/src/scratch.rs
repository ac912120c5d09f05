//! Scratch directories: where a test's (or a fuzz run's, or a benchmark's) log lives.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

/// The RAM file system most Linux machines have.
const RAM_ROOT: &str = "/dev/shm";

/// Where scratch directories are made: `WAL_TEST_TMPDIR` if set, else `/dev/shm` when
/// there is one, else the system's temporary directory.
///
/// tmpfs by default: most tests check what the code does with the files it finds, not
/// what a medium keeps after a power loss, and an fsync of a disk costs milliseconds,
/// which thousands of recoveries cannot afford. Set `WAL_TEST_TMPDIR` to run them on a
/// real file system.
pub fn scratch_parent() -> PathBuf {
    match std::env::var_os("WAL_TEST_TMPDIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let shm = PathBuf::from(RAM_ROOT);
            if shm.is_dir() {
                shm
            } else {
                std::env::temp_dir()
            }
        }
    }
}

/// A new, empty scratch directory named `<prefix>...` (see [`scratch_parent`]), removed
/// when dropped.
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(scratch_parent())
        .unwrap()
}

/// A new, empty directory named `<prefix>...` in the system's temporary directory
/// (`TMPDIR`, else `/tmp`), removed when dropped: for benchmarks, which measure what a real
/// file system's syncs cost (tmpfs makes them free), never [`scratch_parent`].
pub fn on_disk(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

/// A new scratch directory for one test's log: [`scratch_dir`] with the prefix `wal-test-`.
pub fn tempdir() -> tempfile::TempDir {
    scratch_dir("wal-test-")
}

/// Prefix of the names of [`Reaped`] directories, followed by the process id and a counter.
const REAPED_PREFIX: &str = "wal-fuzz-";

static REAPED_NEXT: AtomicU64 = AtomicU64::new(0);
static REAPED_SWEPT: Once = Once::new();

/// A scratch directory for a process that may abort (a fuzzer aborts on a finding, so
/// its directory is never dropped, and `/dev/shm` is memory): the first one a process
/// makes removes those left in [`scratch_parent`] by processes that are gone.
#[derive(Debug)]
pub struct Reaped {
    path: PathBuf,
}

impl Reaped {
    /// Creates an empty directory, unique to this process and call.
    pub fn new() -> Reaped {
        let root = scratch_parent();
        REAPED_SWEPT.call_once(|| sweep_dead(&root));
        let path = root.join(format!(
            "{REAPED_PREFIX}{}-{}",
            std::process::id(),
            REAPED_NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory left by a crashed run of an earlier process with the same id.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        Reaped { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for Reaped {
    fn default() -> Self {
        Reaped::new()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes the [`Reaped`] directories in `root` whose process is gone.
fn sweep_dead(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(REAPED_PREFIX)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_directories_are_empty_distinct_and_removed_on_drop() {
        // Left by a process that is gone (no process has the largest id): the first
        // `Reaped` of this process sweeps it. No other test here makes a `Reaped`.
        let left = scratch_parent().join(format!("{REAPED_PREFIX}{}-0", u32::MAX));
        std::fs::create_dir_all(left.join("sub")).unwrap();
        let (a, b) = (scratch_dir("wal-testkit-"), Reaped::new());
        assert!(!left.exists(), "a dead process's directory is swept");
        assert_ne!(a.path(), b.path());
        assert_eq!(std::fs::read_dir(a.path()).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(b.path()).unwrap().count(), 0);
        let (a_path, b_path) = (a.path().to_path_buf(), b.path().to_path_buf());
        drop((a, b));
        assert!(!a_path.exists() && !b_path.exists());
    }
}
