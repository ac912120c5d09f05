//! Test support shared by the crates of the walrs workspace, a dev-dependency only: the
//! scratch directory a test's log lives in, and snapshots of a directory's files (to show
//! that an operation changed nothing, or what it changed).
//!
//! It depends on none of the walrs crates, so that each of them can use it in its own
//! tests without a second copy of itself. Its helpers panic on failure: in a test, a
//! panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failure here is a failed test"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
            let shm = PathBuf::from("/dev/shm");
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

/// Every regular file directly in `dir`, by name, with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

/// The names of the regular files directly in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    snapshot(dir).into_keys().collect()
}

/// Every file and directory under `dir`, recursively, by path, with the file's bytes
/// (empty for a directory): to show that a command changed nothing anywhere below it.
pub fn snapshot_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path.clone());
                files.insert(path, Vec::new());
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path, bytes);
            }
        }
    }
    files
}

/// Flips every bit of the byte at `at` of the file `path`.
pub fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let byte = bytes
        .get_mut(at)
        .expect("the byte to flip lies inside the file");
    *byte ^= 0xFF;
    std::fs::write(path, bytes).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_see_files_and_what_changes_in_them() {
        let dir = scratch_dir("wal-testkit-");
        std::fs::write(dir.path().join("b"), b"two").unwrap();
        std::fs::write(dir.path().join("a"), b"one").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c"), b"three").unwrap();
        assert_eq!(file_names(dir.path()), ["a", "b"]);
        let tree = snapshot_tree(dir.path());
        assert_eq!(tree.len(), 4);
        assert_eq!(tree[&dir.path().join("sub/c")], b"three");
        flip_byte(&dir.path().join("a"), 1);
        assert_eq!(snapshot(dir.path())["a"], [b'o', !b'n', b'e']);
        assert_ne!(snapshot_tree(dir.path()), tree);
    }
}
