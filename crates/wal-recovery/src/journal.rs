//! A small redo journal for multi-file changes (migration, splitting segments): new files
//! are written under a `.pending` name and synced, then the journal listing every file to
//! install or remove is written atomically (the commit point), then the changes are
//! applied and the journal removed. A crash before the journal leaves the old state (the
//! pending files are leftovers); a crash after it is rolled forward by whoever next holds
//! the directory's lock, before anything looks at the segments.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use wal_store::internal::fs as store_fs;
use wal_store::layout::DirLayout;

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

/// One line of a committed journal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// `<name>.pending` replaces `<name>` (nothing to do once the pending file is gone).
    Install(String),
    /// `<name>` goes.
    Remove(String),
}

/// What the journal file of a directory holds.
enum Read {
    /// No journal.
    Absent,
    /// A journal that is not text: damaged, since one is written whole or not at all.
    /// Rolling it forward is refused; a reader sees the directory as it is.
    Damaged(PathBuf),
    /// The journal's steps.
    Steps(Vec<Step>),
}

/// The journal in `dir`. A journal is written atomically, so it is whole or absent; lines
/// that are not a step are skipped. A failed read is an I/O error.
fn read_steps(dir: &Path) -> Result<Read> {
    let journal = dir.join(JOURNAL_FILE_NAME);
    let bytes = match std::fs::read(&journal) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Read::Absent),
        Err(e) => return Err(e).io_context("read", journal),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Read::Damaged(journal));
    };
    let steps = text
        .lines()
        .filter_map(|line| {
            let (verb, name) = line.split_once(' ')?;
            // Only plain names inside the directory: a damaged journal must not reach out.
            if name.contains(['/', '\0']) || name == ".." || name == "." || name.is_empty() {
                return None;
            }
            match verb {
                "install" => Some(Step::Install(name.to_owned())),
                "remove" => Some(Step::Remove(name.to_owned())),
                _ => None,
            }
        })
        .collect();
    Ok(Read::Steps(steps))
}

/// Applies a committed journal left in `dir`, if any, and removes it. Idempotent. The
/// caller holds the directory's lock. Returns whether there was one.
pub(crate) fn roll_forward(dir: &Path) -> Result<bool> {
    let steps = match read_steps(dir)? {
        Read::Absent => return Ok(false),
        Read::Steps(steps) => steps,
        Read::Damaged(journal) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the redo journal is not text: it cannot be rolled forward",
            ))
            .io_context("read", journal);
        }
    };
    for step in &steps {
        match step {
            Step::Install(name) => {
                let pending = pending_path(&dir.join(name));
                match wal_store::internal::sys::rename(&pending, &dir.join(name)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).io_context("rename", pending),
                }
            }
            Step::Remove(name) => {
                store_fs::remove_if_present(&dir.join(name))?;
            }
        }
    }
    store_fs::sync_dir(dir)?;
    store_fs::remove_if_present(&dir.join(JOURNAL_FILE_NAME))?;
    store_fs::sync_dir(dir)?;
    log::warn!(target: "wal_recovery::journal", "applied a journaled change in {}", dir.display());
    Ok(true)
}

/// Where the bytes of a name come from once a committed journal is rolled forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// From `<name>.pending`.
    Pending,
    /// Nowhere: the journal removes the name.
    Removed,
}

/// The files of the log directory `dir` as the next holder of its lock will find them,
/// read without the lock: for a reader (`walctl dump`, `stat`, `replay`) that must see
/// the log as an open would, without changing anything. Takes no lock and writes
/// nothing.
///
/// A committed journaled change (a migration, a split around a hole) whose roll-forward
/// was interrupted leaves the directory half changed; the layout replays it in memory:
/// each name is removed, read from `<name>.pending`, or read as it is, exactly as the
/// next writer's open will leave it. The journal and the pending files are still listed
/// among [`DirLayout::other_names`], as they are on disk until then. A journal that
/// cannot be read is an I/O error; one that is not text is damaged (the next writer's
/// open refuses to roll it forward), and the directory is then read as it is.
pub fn read_layout(dir: impl AsRef<Path>) -> Result<DirLayout> {
    DirView::read(dir.as_ref())?.layout()
}

/// A WAL directory as the next holder of its lock will find it (see [`read_layout`]).
/// Every read-only path over a log goes through it (`verify`, and the command line's
/// `dump`, `stat` and `replay`), so that none of them reports a log in the middle of a
/// migration as empty or damaged. `*.pending` files the journal does not name (a change
/// interrupted before its commit point) are leftovers, never segments.
#[derive(Debug, Clone)]
struct DirView {
    dir: PathBuf,
    sources: BTreeMap<String, Source>,
}

impl DirView {
    /// Reads the journal of `dir`, if there is one (see [`read_layout`]).
    fn read(dir: &Path) -> Result<DirView> {
        let mut view = DirView {
            dir: dir.to_path_buf(),
            sources: BTreeMap::new(),
        };
        let steps = match read_steps(dir)? {
            Read::Steps(steps) => steps,
            Read::Absent => return Ok(view),
            Read::Damaged(journal) => {
                log::warn!(
                    target: "wal_recovery::journal",
                    "{} is not text: the directory is read as it is",
                    journal.display()
                );
                return Ok(view);
            }
        };
        // The pending files each install can still take (one rename each).
        let mut consumed: BTreeSet<&str> = BTreeSet::new();
        for step in &steps {
            match step {
                Step::Install(name) => {
                    let pending = pending_path(&dir.join(name));
                    let present = match std::fs::symlink_metadata(&pending) {
                        Ok(_) => true,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                        Err(e) => return Err(e).io_context("stat", pending),
                    };
                    if present && consumed.insert(name) {
                        view.sources.insert(name.clone(), Source::Pending);
                    }
                }
                Step::Remove(name) => {
                    view.sources.insert(name.clone(), Source::Removed);
                }
            }
        }
        Ok(view)
    }

    /// The files the directory holds once the journal is rolled forward, each with the
    /// path its bytes are read from until then.
    fn layout(&self) -> Result<DirLayout> {
        let mut names = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir).io_context("list directory", &self.dir)? {
            let entry = entry.io_context("list directory", &self.dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let source = self.dir.join(&name);
            names.insert(name, source);
        }
        for (name, source) in &self.sources {
            match source {
                Source::Pending => {
                    names.insert(name.clone(), pending_path(&self.dir.join(name)));
                }
                Source::Removed => {
                    names.remove(name);
                }
            }
        }
        Ok(DirLayout::from_sources(&self.dir, names))
    }
}
