//! File operations the workloads need around the implementations: syncs the peers leave
//! out, pre-zeroed and preallocated files for the baselines, and record framing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bytes of the baselines' record header: payload length and CRC-32C, little-endian u32s.
pub const FRAME_HEADER_BYTES: usize = 8;

/// The baselines' header of a record holding `payload`.
#[inline]
pub fn frame_header(payload: &[u8]) -> [u8; FRAME_HEADER_BYTES] {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    header[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[4..].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    header
}

/// Splits a header into (payload length, crc).
#[inline]
pub fn parse_header(header: &[u8]) -> (usize, u32) {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    (len, crc)
}

/// Fsyncs a directory (creations and removals of its entries become durable).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `fdatasync` of the file at `path` through a descriptor of our own: Linux syncs the
/// inode's dirty pages whichever descriptor (or shared mapping) dirtied them.
pub fn sync_data_path(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_data()
}

/// The files of `dir` whose extension is one of `extensions`, sorted.
pub fn files_with_extension(dir: &Path, extensions: &[&str]) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let matches = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e));
        if matches {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Creates `path` as `len` bytes of written zeros (real, initialised blocks), fsynced, and
/// fsyncs its directory. Returns it opened for reading and writing.
pub fn create_prezeroed(path: &Path, len: u64) -> io::Result<File> {
    const CHUNK: usize = 1 << 20;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let zeros = vec![0u8; CHUNK];
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(file)
}

/// Creates `path` with `len` bytes reserved by `fallocate` (mode 0: allocated, unwritten
/// extents that read as zeros), the way walrs prepares its segments; fsynced, and its
/// directory fsynced.
pub fn create_fallocated(path: &Path, len: u64) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, len)?;
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(file)
}

/// Total size of the regular files under `dir` (not following links).
pub fn dir_bytes(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += dir_bytes(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// Reads every file under `dir` once, so that a data set is in the page cache.
pub fn warm(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            warm(&entry.path())?;
        } else {
            let mut file = File::open(entry.path())?;
            io::copy(&mut file, &mut io::sink())?;
        }
    }
    Ok(())
}

/// Rounds `bytes` up to a whole MiB (at least one).
pub fn round_up_mib(bytes: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    bytes.div_ceil(MIB).max(1) * MIB
}
