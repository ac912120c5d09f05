//! Crash-safe file operations: every file appears under its final name only once it is
//! complete and synced, and every change to a directory is fsynced before anything relies
//! on it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::naming::temp_path;

/// Fsyncs a directory, making the creation, renaming or removal of its entries durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .io_context("fsync directory", dir)
}

/// Reserves `len` bytes of real blocks for `file` from `from` on, so that writing through
/// a mapping can never fault for lack of space (a sparse mapped file takes SIGBUS when the
/// disk is full). Falls back to writing zeros where the file system cannot preallocate.
fn preallocate(file: &File, from: u64, len: u64, path: &Path) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), from, len) {
        Ok(()) => Ok(()),
        Err(errno) if errno == rustix::io::Errno::OPNOTSUPP => write_zeros(file, from, len, path),
        Err(errno) => Err(io::Error::from(errno)).io_context("fallocate", path),
    }
}

fn write_zeros(file: &File, from: u64, len: u64, path: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    let mut at = from;
    let end = from.saturating_add(len);
    while at < end {
        let n = usize::try_from(end - at).unwrap_or(CHUNK).min(CHUNK);
        file.write_all_at(zeros.get(..n).unwrap_or(&zeros), at)
            .io_context("write zeros", path)?;
        at += n as u64;
    }
    Ok(())
}

/// Creates `dir` and any missing parents, and fsyncs the parent of every directory it
/// created, so that the directory itself survives a power loss before anything in it is
/// reported durable.
pub fn create_dir_durably(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at {
        if path.as_os_str().is_empty() || path.exists() {
            break;
        }
        missing.push(path);
        at = path.parent();
    }
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).io_context("create directory", dir)?;
    for created in missing.iter().rev() {
        let parent = created
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(parent)?;
    }
    Ok(())
}

/// Runs `write` on a new temporary file `temp`, removing the file if it fails (a full
/// disk must not leave a half-made file behind).
fn with_temp<T>(temp: &Path, write: impl FnOnce(&File) -> Result<T>) -> Result<(File, T)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)
        .io_context("create", temp)?;
    match write(&file) {
        Ok(value) => Ok((file, value)),
        Err(e) => {
            drop(file);
            // The first error is the one to report; the file is a leftover temporary file
            // for recovery to remove if this fails too.
            let _ = fs::remove_file(temp);
            Err(e)
        }
    }
}

/// Creates `path` as a zero-filled, preallocated file of `len` bytes: written as
/// `path.tmp`, fsynced, renamed, and the directory fsynced. Returns the file opened for
/// reading and writing.
pub fn create_preallocated(dir: &Path, path: &Path, len: u64) -> Result<File> {
    let temp = temp_path(path);
    let (file, ()) = with_temp(&temp, |file| {
        preallocate(file, 0, len, &temp)?;
        file.sync_all().io_context("fsync", &temp)
    })?;
    fs::rename(&temp, path).io_context("rename", path)?;
    sync_dir(dir)?;
    Ok(file)
}

/// Creates `path` holding `bytes` followed by zeros up to `len` bytes (preallocated, not
/// sparse): written as `path.tmp`, fsynced, renamed, and the directory fsynced. After a
/// crash either no file or the whole file is there under `path`.
pub fn create_with_content(dir: &Path, path: &Path, bytes: &[u8], len: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let temp = temp_path(path);
    let (file, ()) = with_temp(&temp, |file| {
        preallocate(file, 0, len.max(bytes.len() as u64), &temp)?;
        file.write_all_at(bytes, 0).io_context("write", &temp)?;
        file.sync_all().io_context("fsync", &temp)
    })?;
    drop(file);
    fs::rename(&temp, path).io_context("rename", path)?;
    sync_dir(dir)
}

/// Grows `file` to `len` bytes of preallocated zeros and fsyncs it. A mapped file is only
/// ever grown, never shrunk.
pub fn grow(file: &File, path: &Path, len: u64) -> Result<()> {
    let current = file.metadata().io_context("stat", path)?.len();
    if len > current {
        preallocate(file, current, len - current, path)?;
        file.sync_all().io_context("fsync", path)?;
    }
    Ok(())
}

/// Writes `bytes` as the whole content of `path`: to `path.tmp` first, fsynced, renamed
/// into place, and the directory fsynced. After a crash either the old file or the new
/// one is there, complete.
pub fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = temp_path(path);
    let (file, ()) = with_temp(&temp, |mut file| {
        file.write_all(bytes).io_context("write", &temp)?;
        file.sync_all().io_context("fsync", &temp)
    })?;
    drop(file);
    fs::rename(&temp, path).io_context("rename", path)?;
    sync_dir(dir)
}

/// Removes a file; one that is already gone is not an error. The caller fsyncs the
/// directory before relying on the removal.
pub fn remove_if_present(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).io_context("remove", path),
    }
}
