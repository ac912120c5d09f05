//! The system calls of the log that can fail in a way that matters, in one place: every
//! sync (msync, fsync of a file or a directory), every preallocation, every file created,
//! opened for mapping or writing, written, renamed or removed, by the store and by the
//! recovery crate, goes through a function here.
//!
//! In a normal build each function is the call itself. With the `fault-injection`
//! feature (enabled only by the workspace's tests) each one first asks the plans of
//! `crate::faults` whether this call is to fail, so that a test can fail the k-th call
//! of any kind and check what the log makes of it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A kind of system call that passes through this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Call {
    /// `msync` of a range of a mapped data file.
    Msync,
    /// `fsync` of a file.
    Fsync,
    /// `fsync` of a directory.
    FsyncDir,
    /// `fallocate` (or the zeros written where it is not supported).
    Fallocate,
    /// `open` with `O_CREAT`: a new file, a temporary file, the lock file.
    Create,
    /// `open` of an existing file to map, write or lock it.
    Open,
    /// `write` of a file's bytes.
    Write,
    /// `rename`.
    Rename,
    /// `unlink`.
    Unlink,
    /// `mkdir` of a directory and its missing parents.
    Mkdir,
}

impl Call {
    /// Every kind, in a fixed order.
    pub const ALL: [Call; 10] = [
        Call::Msync,
        Call::Fsync,
        Call::FsyncDir,
        Call::Fallocate,
        Call::Create,
        Call::Open,
        Call::Write,
        Call::Rename,
        Call::Unlink,
        Call::Mkdir,
    ];

    /// The kind's name, as a fault plan spells it (`fsync_dir`, `msync`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Call::Msync => "msync",
            Call::Fsync => "fsync",
            Call::FsyncDir => "fsync_dir",
            Call::Fallocate => "fallocate",
            Call::Create => "create",
            Call::Open => "open",
            Call::Write => "write",
            Call::Rename => "rename",
            Call::Unlink => "unlink",
            Call::Mkdir => "mkdir",
        }
    }

    /// Whether a failure of this call is a failed sync: the kernel may have dropped the
    /// dirty pages it was to write, so that a retry would prove nothing.
    pub fn is_sync(self) -> bool {
        matches!(self, Call::Msync | Call::Fsync | Call::FsyncDir)
    }
}

/// Whether the call `call` on `path` may go ahead: always, unless a fault plan says it
/// fails.
#[inline(always)]
pub(crate) fn check(call: Call, path: &Path) -> io::Result<()> {
    #[cfg(feature = "fault-injection")]
    crate::faults::check(call, path)?;
    #[cfg(not(feature = "fault-injection"))]
    let _ = (call, path);
    Ok(())
}

/// Counters of the changes made through this module, by directory (hashed: two
/// directories may share one, which only makes a change look more likely, and costs the
/// replay after a recovery a second crc pass). 8 KiB, so that directories in use at once
/// seldom share one.
static CHANGES: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

fn changes_of(dir: &Path) -> &'static AtomicU64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    dir.hash(&mut hasher);
    let [first, ..] = &CHANGES;
    let bucket = usize::try_from(hasher.finish() % CHANGES.len() as u64).unwrap_or(0);
    CHANGES.get(bucket).unwrap_or(first)
}

/// Counts a change about to be made to the file at `path`: created, opened (perhaps for
/// writing), written, preallocated, renamed or removed.
fn note_change(path: &Path) {
    changes_of(path.parent().unwrap_or(path)).fetch_add(1, Ordering::AcqRel);
}

/// How many changes to files of `dir` (as spelled in the paths) have gone through this
/// module: a checked scan's word on a file's records holds only while this stays the same
/// (see `scan.rs`).
pub(crate) fn changes_in(dir: &Path) -> u64 {
    changes_of(dir).load(Ordering::Acquire)
}

/// Fsyncs `file` (data and metadata), known as `path`.
pub fn fsync(file: &File, path: &Path) -> io::Result<()> {
    check(Call::Fsync, path)?;
    file.sync_all()
}

/// Fsyncs the directory `dir`.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    check(Call::FsyncDir, dir)?;
    File::open(dir)?.sync_all()
}

/// Reserves `len` bytes of `file` (known as `path`) from `from` on.
pub(crate) fn fallocate(file: &File, from: u64, len: u64, path: &Path) -> io::Result<()> {
    note_change(path);
    check(Call::Fallocate, path)?;
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), from, len)?;
    Ok(())
}

/// Creates (or opens, as `options` say) the file at `path`: `options` include `create`.
pub fn create(options: &OpenOptions, path: &Path) -> io::Result<File> {
    note_change(path);
    check(Call::Create, path)?;
    options.open(path)
}

/// Opens the existing file at `path` as `options` say.
pub fn open(options: &OpenOptions, path: &Path) -> io::Result<File> {
    note_change(path);
    check(Call::Open, path)?;
    options.open(path)
}

/// Opens the existing file at `path` for reading (to map it).
pub fn open_read(path: &Path) -> io::Result<File> {
    check(Call::Open, path)?;
    File::open(path)
}

/// Writes all of `bytes` to `file` (known as `path`) at its current position.
pub fn write_all(mut file: &File, bytes: &[u8], path: &Path) -> io::Result<()> {
    note_change(path);
    check(Call::Write, path)?;
    file.write_all(bytes)
}

/// Writes all of `bytes` to `file` (known as `path`) at `at`.
pub fn write_all_at(file: &File, bytes: &[u8], at: u64, path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    note_change(path);
    check(Call::Write, path)?;
    file.write_all_at(bytes, at)
}

/// Renames `from` to `to` (a plan's path filter sees `to`).
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    note_change(from);
    note_change(to);
    check(Call::Rename, to)?;
    std::fs::rename(from, to)
}

/// Removes the file at `path`.
pub fn unlink(path: &Path) -> io::Result<()> {
    check(Call::Unlink, path)?;
    // Removing a file that is not there (a routine tidying-up) changes nothing.
    let removed = std::fs::remove_file(path);
    if removed
        .as_ref()
        .is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
    {
        return removed;
    }
    note_change(path);
    removed
}

/// Creates the directory `dir` and its missing parents.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    note_change(dir);
    check(Call::Mkdir, dir)?;
    std::fs::create_dir_all(dir)
}
