//! A small redo journal for multi-file changes (migration, splitting segments): new files
//! are written under a `.pending` name and synced, then the journal listing every file to
//! install or remove is written atomically (the commit point), then the changes are
//! applied and the journal removed. A crash before the journal leaves the old state (the
//! pending files are leftovers); a crash after it is rolled forward by whoever next holds
//! the directory's lock, before anything looks at the segments.

use std::io;
use std::path::{Path, PathBuf};

use wal_store::fs as store_fs;

use crate::error::{IoContext, RecoveryError, Result};

/// Name of the journal file in a WAL directory.
pub const JOURNAL_FILE_NAME: &str = "JOURNAL";
/// Suffix of a file written for a journaled change, not yet installed.
pub const PENDING_SUFFIX: &str = ".pending";

/// Where a file to be installed as `path` is written first.
pub(crate) fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(PENDING_SUFFIX);
    PathBuf::from(name)
}

/// A set of changes being prepared.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    lines: Vec<String>,
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            RecoveryError::InvalidArgument(format!("{} has no file name", path.display()))
        })
}

impl Journal {
    /// Records that `path` will be replaced by `path.pending`, which the caller has
    /// written and synced.
    pub(crate) fn install(&mut self, path: &Path) -> Result<()> {
        self.lines.push(format!("install {}", file_name(path)?));
        Ok(())
    }

    /// Records that `path` will be removed.
    pub(crate) fn remove(&mut self, path: &Path) -> Result<()> {
        self.lines.push(format!("remove {}", file_name(path)?));
        Ok(())
    }

    /// Writes the journal (the commit point) and applies it.
    pub(crate) fn commit(self, dir: &Path) -> Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let mut text = self.lines.join("\n");
        text.push('\n');
        store_fs::write_atomically(dir, &dir.join(JOURNAL_FILE_NAME), text.as_bytes())?;
        roll_forward(dir)?;
        Ok(())
    }
}

/// Applies a committed journal left in `dir`, if any, and removes it. Idempotent. The
/// caller holds the directory's lock. Returns whether there was one.
pub(crate) fn roll_forward(dir: &Path) -> Result<bool> {
    let journal = dir.join(JOURNAL_FILE_NAME);
    let text = match std::fs::read_to_string(&journal) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).io_context("read", journal),
    };
    for line in text.lines() {
        let Some((verb, name)) = line.split_once(' ') else {
            continue;
        };
        // Only plain names inside the directory: a damaged journal must not reach out.
        if name.contains(['/', '\0']) || name == ".." || name == "." || name.is_empty() {
            continue;
        }
        let path = dir.join(name);
        match verb {
            "install" => {
                let pending = pending_path(&path);
                match std::fs::rename(&pending, &path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).io_context("rename", pending),
                }
            }
            "remove" => {
                store_fs::remove_if_present(&path)?;
            }
            _ => {}
        }
    }
    store_fs::sync_dir(dir)?;
    store_fs::remove_if_present(&journal)?;
    store_fs::sync_dir(dir)?;
    log::warn!(target: "wal_recovery::journal", "applied a journaled change in {}", dir.display());
    Ok(true)
}
