//! Crash-safe file operations: every file appears under its final name only once it is
//! complete and synced, and every change to a directory is fsynced before anything relies
//! on it.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use wal_format::{Codec, FileOffset, index};

use crate::error::{IoContext, Result, StoreError};
use crate::naming::temp_path;
use crate::sys;

/// Fsyncs a directory, making the creation, renaming or removal of its entries durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    sys::fsync_dir(dir).io_context("fsync directory", dir)
}

/// Zeros written at a time by [`zero_tail`]: large enough that a whole segment's tail
/// takes few calls, and a static buffer of zeros, so nothing is allocated.
const ZERO_CHUNK_BYTES: usize = 1 << 20;
static ZEROS: [u8; ZERO_CHUNK_BYTES] = [0; ZERO_CHUNK_BYTES];

/// The one way a segment's tail is zeroed, by the store's truncation and by recovery's
/// cut: zeros written over `range` of the data file `file` (known as `path`), so that no
/// dropped record can come back after a crash. Written with `pwrite`, never through a
/// mapping: a file recovery cuts may be sparse (other writers of the format do not
/// preallocate), and a store into an unallocated page of a mapping on a full disk is a
/// SIGBUS, where `pwrite` returns `ENOSPC`. Readers that map the file see the zeros (one
/// page cache). Making them durable is the caller's: the store msyncs the range on its
/// one sync path, recovery fsyncs the file.
pub fn zero_tail(file: &File, range: std::ops::Range<u64>, path: &Path) -> io::Result<()> {
    let mut at = range.start;
    while at < range.end {
        let len =
            usize::try_from(range.end - at).map_or(ZERO_CHUNK_BYTES, |n| n.min(ZERO_CHUNK_BYTES));
        let zeros = ZEROS.get(..len).unwrap_or(&ZEROS);
        sys::write_all_at(file, zeros, at, path)?;
        at += zeros.len() as u64;
    }
    Ok(())
}

/// Starts writing back the dirty pages of `file` in `range`, without waiting for them and
/// without making anything durable (a later fsync or msync still waits for these writes
/// and flushes the disk's cache). `POSIX_FADV_DONTNEED` starts the writeback; it drops
/// only pages that are clean and mapped by no one, and the log keeps every page of its
/// active segment mapped. A hint: an error changes only speed.
pub fn start_writeback(file: &File, range: std::ops::Range<u64>) -> io::Result<()> {
    let Some(len) = std::num::NonZeroU64::new(range.end.saturating_sub(range.start)) else {
        return Ok(());
    };
    rustix::fs::fadvise(file, range.start, Some(len), rustix::fs::Advice::DontNeed)?;
    Ok(())
}

/// Reserves `len` bytes of real blocks for `file` from `from` on, so that writing through
/// a mapping can never fault for lack of space (a sparse mapped file takes SIGBUS when the
/// disk is full). Falls back to writing zeros where the file system cannot preallocate.
fn preallocate(file: &File, from: u64, len: u64, path: &Path) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    match sys::fallocate(file, from, len, path) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) => {
            write_zeros(file, from, len, path)
        }
        Err(e) => Err(e).io_context("fallocate", path),
    }
}

fn write_zeros(file: &File, from: u64, len: u64, path: &Path) -> Result<()> {
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    let mut at = from;
    let end = from.saturating_add(len);
    while at < end {
        let n = usize::try_from(end - at).unwrap_or(CHUNK).min(CHUNK);
        sys::write_all_at(file, zeros.get(..n).unwrap_or(&zeros), at, path)
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
    sys::create_dir_all(dir).io_context("create directory", dir)?;
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
    let file = sys::create(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true),
        temp,
    )
    .io_context("create", temp)?;
    match write(&file) {
        Ok(value) => Ok((file, value)),
        Err(e) => {
            drop(file);
            // The first error is the one to report; the file is a leftover temporary file
            // for recovery to remove if this fails too.
            let _ = sys::unlink(temp);
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
        sys::fsync(file, &temp).io_context("fsync", &temp)
    })?;
    sys::rename(&temp, path).io_context("rename", path)?;
    if let Err(e) = sync_dir(dir) {
        // The file has its name, but the directory may not keep it: the name goes
        // again, so that a log that goes on without this file never meets it later
        // (an empty segment named after entries appended elsewhere).
        let _ = sys::unlink(path);
        return Err(e);
    }
    Ok(file)
}

/// Creates `path` holding `bytes` followed by zeros up to `len` bytes (preallocated, not
/// sparse): written as `path.tmp`, fsynced, renamed, and the directory fsynced. After a
/// crash either no file or the whole file is there under `path`.
pub fn create_with_content(dir: &Path, path: &Path, bytes: &[u8], len: u64) -> Result<()> {
    let temp = temp_path(path);
    let (file, ()) = with_temp(&temp, |file| {
        preallocate(file, 0, len.max(bytes.len() as u64), &temp)?;
        sys::write_all_at(file, bytes, 0, &temp).io_context("write", &temp)?;
        sys::fsync(file, &temp).io_context("fsync", &temp)
    })?;
    drop(file);
    sys::rename(&temp, path).io_context("rename", path)?;
    sync_dir(dir)
}

/// Grows `file` to `len` bytes of preallocated zeros, without syncing: whether it grew.
pub(crate) fn extend(file: &File, path: &Path, len: u64) -> Result<bool> {
    let current = file.metadata().io_context("stat", path)?.len();
    if len > current {
        preallocate(file, current, len - current, path)?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Writes `bytes` as the whole content of `path`: to `path.tmp` first, fsynced, renamed
/// into place, and the directory fsynced. After a crash either the old file or the new
/// one is there, complete.
pub fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = temp_path(path);
    let (file, ()) = with_temp(&temp, |file| {
        sys::write_all(file, bytes, &temp).io_context("write", &temp)?;
        sys::fsync(file, &temp).io_context("fsync", &temp)
    })?;
    drop(file);
    sys::rename(&temp, path).io_context("rename", path)?;
    sync_dir(dir)
}

/// Writes the index file of the sealed segment at `base`, listing the file offsets
/// `offsets`, as `path` (its own name, or a pending name for a journaled change),
/// atomically and synced. Every index file is written here.
///
/// An index that lists no entry is refused: other readers of the format refuse such a
/// file, and a sealed segment that holds no entry needs no index (its data says so).
pub fn write_index(
    dir: &Path,
    path: &Path,
    base: u64,
    codec: Codec,
    offsets: &[u32],
) -> Result<()> {
    if offsets.is_empty() {
        return Err(StoreError::Layout {
            segment: base,
            detail: "an index that lists no entry is never written".to_owned(),
        });
    }
    let offsets: Vec<FileOffset> = offsets.iter().copied().map(FileOffset).collect();
    let mut bytes = vec![0u8; index::index_bytes(codec, offsets.len())];
    index::encode(codec, &offsets, &mut bytes)?;
    write_atomically(dir, path, &bytes)
}

/// Removes a file; one that is already gone is not an error. The caller fsyncs the
/// directory before relying on the removal.
pub fn remove_if_present(path: &Path) -> Result<bool> {
    match sys::unlink(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).io_context("remove", path),
    }
}

/// How far `file` may hold anything but zeros: the end of its last data region, as the
/// file system reports it (`SEEK_DATA`/`SEEK_HOLE`: holes and unwritten preallocated
/// extents read as zeros and are not data). Every byte from there to the end of the file
/// reads as zero, so a check for zeros after the last record need not read (nor fault in)
/// the untouched part of a preallocated segment. A file system that cannot tell reports
/// the whole file as data, which is always correct.
///
/// Pages read earlier (even of zeros) are data to the file system: the answer is an upper
/// bound, never below the last non-zero byte.
pub fn data_end(file: &File) -> io::Result<u64> {
    use rustix::fs::SeekFrom;
    let len = file.metadata()?.len();
    let mut end = 0u64;
    let mut at = 0u64;
    while at < len {
        let data = match rustix::fs::seek(file, SeekFrom::Data(at)) {
            Ok(data) => data,
            // No data from `at` on.
            Err(rustix::io::Errno::NXIO) => break,
            // `SEEK_DATA` not supported: all of it is data.
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::OPNOTSUPP) => return Ok(len),
            Err(e) => return Err(e.into()),
        };
        let hole = match rustix::fs::seek(file, SeekFrom::Hole(data)) {
            Ok(hole) => hole,
            Err(rustix::io::Errno::NXIO) => len,
            Err(e) => return Err(e.into()),
        };
        if hole <= at {
            // A file system that does not move forward: treat the rest as data.
            return Ok(len);
        }
        end = hole.min(len);
        at = hole;
    }
    Ok(end)
}

/// How many bytes of a file whose data ends at `data_end` (see [`data_end`]) a scan needs:
/// the data, plus a page of the zeros after it (so that the end marker after the last
/// record is seen as such), never more than the file's `len`.
pub fn scan_len(data_end: u64, len: u64) -> u64 {
    /// Zeros kept after the data.
    const ZEROS_AFTER: u64 = 4096;
    data_end.saturating_add(ZEROS_AFTER).min(len)
}

/// Reads the first [`scan_len`] bytes of the file at `path`: those that may hold anything
/// but zeros, plus a page of zeros (every later byte reads as zero).
pub fn read_for_scan(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = File::open(path)?;
    let len = scan_len(data_end(&file)?, file.metadata()?.len());
    let mut bytes = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    let mut read = 0;
    while read < bytes.len() {
        let Some(rest) = bytes.get_mut(read..) else {
            break;
        };
        match file.read_at(rest, read as u64) {
            // The file shrank meanwhile (a reader without the lock): what is left.
            Ok(0) => {
                bytes.truncate(read);
                break;
            }
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn data_end_covers_every_non_zero_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = create_preallocated(dir.path(), &path, 8 << 20).unwrap();
        assert_eq!(data_end(&file).unwrap() % 4096, 0);
        file.write_all_at(b"x", 5000).unwrap();
        let end = data_end(&file).unwrap();
        assert!(end >= 5001, "{end}");
        file.write_all_at(b"y", (6 << 20) + 3).unwrap();
        let end = data_end(&file).unwrap();
        assert!(end > (6 << 20) + 3, "{end}");
        // Whatever it reports, the bytes after it are zeros.
        let bytes = std::fs::read(&path).unwrap();
        assert!(wal_format::zeros::all_zero(
            &bytes[usize::try_from(end).unwrap()..]
        ));
        assert_eq!(scan_len(end, 8 << 20), (end + 4096).min(8 << 20));
    }
}
