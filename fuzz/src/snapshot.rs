//! Every file under a directory with its bytes, to tell whether an operation changed
//! anything, and to copy a directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wal_store::internal::naming::LOCK_FILE_NAME;

/// The files under a directory (relative paths, `/`-separated, subdirectories included),
/// with their bytes. A directory with no file in it shows as its path with `/` at the end,
/// so that creating an empty folder is a change too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Relative path to bytes (empty for a directory).
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Snapshot {
    /// Reads every file under `dir`.
    pub fn take(dir: &Path) -> Snapshot {
        let mut snapshot = Snapshot::default();
        walk(dir, "", &mut snapshot.files);
        snapshot
    }

    /// The same, without the lock file at the top (which opening for writing creates and
    /// never writes).
    pub fn without_lock(mut self) -> Snapshot {
        self.files.remove(LOCK_FILE_NAME);
        self
    }

    /// The bytes of the top-level file `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    /// Writes every file into the empty directory `dir`.
    pub fn write_to(&self, dir: &Path) {
        for (name, bytes) in &self.files {
            let path: PathBuf = dir.join(name);
            if name.ends_with('/') {
                std::fs::create_dir_all(&path).expect("create directory");
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create directory");
            }
            std::fs::write(&path, bytes).expect("write file");
        }
    }

    /// Names of the files that differ between `self` and `other`, for a failure message.
    pub fn diff(&self, other: &Snapshot) -> Vec<String> {
        let mut names: Vec<String> = self
            .files
            .keys()
            .chain(other.files.keys())
            .filter(|name| self.files.get(*name) != other.files.get(*name))
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    let entries = std::fs::read_dir(dir).expect("list directory");
    let mut any = false;
    for entry in entries {
        let entry = entry.expect("list directory");
        any = true;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            walk(&entry.path(), &format!("{name}/"), out);
        } else {
            out.insert(name, std::fs::read(entry.path()).expect("read file"));
        }
    }
    if !any && !prefix.is_empty() {
        out.insert(prefix.to_owned(), Vec::new());
    }
}
