//! The close record: what a clean close knew about the active segment, so that the next
//! open need not scan it.
//!
//! Opening a log finds the end of its active segment by scanning every record and
//! checking its crc: ~7 ms for a full 64 MiB segment here, most of the time a clean open
//! takes. A clean [`close`](crate::Wal::close), which has just made every entry durable,
//! writes the `CLOSED` file: the active segment's base, codec, data length, last crc and
//! every record's file offset. The next open trusts the segment through it the way it
//! trusts a sealed segment through its index: it checks the first and the last record
//! (the last one's crc in full), that nothing but zeros follows the end, and leaves the
//! records in between to the crc check every read makes.
//!
//! The file is never needed and never relied on blindly. Opening leaves it in place
//! (opening changes nothing on disk); the log removes it, durably (unlink, directory
//! fsync), before it first changes the active segment (an append, a truncation, a
//! clear; a migration too), and a close after an open that took the segment from it and
//! changed nothing leaves it as it is. So nothing is made durable while a record of the
//! old end is on disk, and a record found at open was written by the last close with
//! nothing appended since. Because every byte it describes was durable before it was
//! written, an open that takes the segment from it skips the fsync it otherwise makes.
//! The record is checked all the same, and believed only while it still describes the
//! segment: a record that came back (a removal the file system lost) after appends has
//! bytes right after its end, one left behind by a truncation (or by a recovery that cut
//! the segment) names a last record that is gone, and the open then scans as it would
//! without it. A
//! chained crc commits to the whole history before it, so a last record that still
//! matches ties the record to this segment's history; the offsets and the entry count
//! themselves rest on the record's own crc, and every read checks the record it is
//! pointed at. Only v2 segments get one (v1 has no crc). Recovery's open trusts it the
//! same way when the directory holds nothing a clean close would not leave
//! ([`Wal::open_if_closed_cleanly`](crate::Wal::open_if_closed_cleanly)); otherwise it
//! scans the active segment whatever the file says, and removes the file before a repair
//! changes that segment.
//!
//! Layout, big-endian like every other file of a log directory (docs/FORMAT.md): magic
//! `WCLS`, version (2), codec (2 for v2), two zero bytes, base (u64), data length (u32),
//! entry count (u32), last crc (u32), the entry count's file offsets (u32 each), then
//! `crc32c_update(0, every byte before it)`. Version 1 was the same little-endian: such a
//! record is simply not trusted, and the open that finds one scans.

use std::io;
use std::path::{Path, PathBuf};

use wal_format::{Codec, crc};

use crate::error::{IoContext, Result};
use crate::fs;

/// Name of the close record in a WAL directory.
pub const CLOSED_FILE_NAME: &str = "CLOSED";

const MAGIC: [u8; 4] = *b"WCLS";
const VERSION: u8 = 2;
const CODEC_V2: u8 = 2;
/// Magic, version, codec, two zero bytes, base, data length, entry count, last crc.
const HEADER_BYTES: usize = 4 + 1 + 1 + 2 + 8 + 4 + 4 + 4;
const CRC_BYTES: usize = 4;
const _: () = assert!(HEADER_BYTES == 28);

/// The active segment as a clean close left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseRecord {
    pub(crate) base: u64,
    pub(crate) codec: Codec,
    pub(crate) data_len: u32,
    pub(crate) last_crc: u32,
    /// File offset of every record, in order.
    pub(crate) offsets: Vec<u32>,
}

/// Path of the close record of `dir`.
pub(crate) fn closed_path(dir: &Path) -> PathBuf {
    dir.join(CLOSED_FILE_NAME)
}

fn encode(record: &CloseRecord) -> Option<Vec<u8>> {
    if record.codec != Codec::V2 {
        return None;
    }
    let entries = u32::try_from(record.offsets.len()).ok()?;
    let mut bytes = Vec::with_capacity(HEADER_BYTES + 4 * record.offsets.len() + CRC_BYTES);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&[VERSION, CODEC_V2, 0, 0]);
    bytes.extend_from_slice(&record.base.to_be_bytes());
    bytes.extend_from_slice(&record.data_len.to_be_bytes());
    bytes.extend_from_slice(&entries.to_be_bytes());
    bytes.extend_from_slice(&record.last_crc.to_be_bytes());
    for offset in &record.offsets {
        bytes.extend_from_slice(&offset.to_be_bytes());
    }
    let check = crc::crc32c_update(0, &bytes);
    bytes.extend_from_slice(&check.to_be_bytes());
    Some(bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a close record; `None` for anything that is not exactly one, whole and intact.
fn decode(bytes: &[u8]) -> Option<CloseRecord> {
    let body_len = bytes.len().checked_sub(CRC_BYTES)?;
    let body = bytes.get(..body_len)?;
    if u32_at(bytes, body_len)? != crc::crc32c_update(0, body) {
        return None;
    }
    if body.get(..8)?
        != [
            MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, CODEC_V2, 0, 0,
        ]
    {
        return None;
    }
    let base = u64::from_be_bytes(body.get(8..16)?.try_into().ok()?);
    let data_len = u32_at(body, 16)?;
    let entries = usize::try_from(u32_at(body, 20)?).ok()?;
    let last_crc = u32_at(body, 24)?;
    let listed = body.get(HEADER_BYTES..)?;
    if listed.len() != entries.checked_mul(4)? {
        return None;
    }
    let offsets = listed
        .chunks_exact(4)
        .map(|chunk| chunk.try_into().map(u32::from_be_bytes))
        .collect::<std::result::Result<Vec<u32>, _>>()
        .ok()?;
    Some(CloseRecord {
        base,
        codec: Codec::V2,
        data_len,
        last_crc,
        offsets,
    })
}

/// Writes `record` as the close record of `dir` (atomically, synced). Only a v2 segment
/// has one: for any other, nothing is written.
pub(crate) fn write(dir: &Path, record: &CloseRecord) -> Result<()> {
    match encode(record) {
        Some(bytes) => fs::write_atomically(dir, &closed_path(dir), &bytes),
        None => Ok(()),
    }
}

/// Reads the close record of `dir`: `None` when there is none, or when the file is not
/// one (damaged, not a regular file, unreadable, or larger than a record for a data file
/// of `data_file_bytes` bytes could be, which is then not read). The record is only ever
/// an aid: a file that cannot be read costs the open a scan, never the open itself.
pub(crate) fn read(dir: &Path, data_file_bytes: u64) -> Option<CloseRecord> {
    let path = closed_path(dir);
    let metadata = std::fs::symlink_metadata(&path).ok()?;
    // Every record takes at least a header and one payload byte.
    let smallest_record = (Codec::V2.header_bytes() + 1) as u64;
    let largest = (HEADER_BYTES + CRC_BYTES) as u64 + 4 * (data_file_bytes / smallest_record);
    if !metadata.is_file() || metadata.len() > largest {
        return None;
    }
    match std::fs::read(&path) {
        Ok(bytes) => decode(&bytes),
        Err(e) => {
            log::warn!(target: "wal_store::open", "close record not read: {}: {e}", path.display());
            None
        }
    }
}

/// Whether `dir` holds a close record file (valid or not).
pub(crate) fn exists(dir: &Path) -> Result<bool> {
    let path = closed_path(dir);
    match std::fs::symlink_metadata(&path) {
        Ok(metadata) => Ok(metadata.is_file()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).io_context("stat", &path),
    }
}

/// Removes the close record of `dir` durably: the active segment, or the segment it
/// describes, is about to change. The directory is fsynced whether or not the file was
/// still there, so that a retry after a failed fsync does not skip it.
pub fn consume(dir: &Path) -> Result<()> {
    fs::remove_if_present(&closed_path(dir))?;
    fs::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CloseRecord {
        CloseRecord {
            base: 1 << 40,
            codec: Codec::V2,
            data_len: 4096,
            last_crc: 0xDEAD_BEEF,
            offsets: vec![0, 20, 1000, 4000],
        }
    }

    #[test]
    fn a_close_record_round_trips() {
        let bytes = encode(&record()).unwrap();
        assert_eq!(bytes.len(), HEADER_BYTES + 16 + CRC_BYTES);
        assert_eq!(decode(&bytes), Some(record()));
    }

    #[test]
    fn any_damage_or_truncation_makes_it_no_record() {
        let bytes = encode(&record()).unwrap();
        for len in 0..bytes.len() {
            assert_eq!(decode(&bytes[..len]), None, "cut to {len} bytes");
        }
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(decode(&damaged), None, "bit {bit} flipped");
        }
    }

    /// The first version of the record was little-endian: it is not taken for one (the
    /// open scans instead), and its layout is spelled out here, not taken from `encode`.
    #[test]
    fn a_little_endian_record_of_the_first_version_is_no_record() {
        let old = record();
        let mut bytes = b"WCLS".to_vec();
        bytes.extend_from_slice(&[1, 2, 0, 0]);
        bytes.extend_from_slice(&old.base.to_le_bytes());
        bytes.extend_from_slice(&old.data_len.to_le_bytes());
        bytes.extend_from_slice(&4u32.to_le_bytes());
        bytes.extend_from_slice(&old.last_crc.to_le_bytes());
        for offset in &old.offsets {
            bytes.extend_from_slice(&offset.to_le_bytes());
        }
        let check = crc::crc32c_update(0, &bytes);
        bytes.extend_from_slice(&check.to_le_bytes());
        assert_eq!(decode(&bytes), None);
        // The current layout: every field big-endian.
        let new = encode(&old).unwrap();
        assert_eq!(new[..8], *b"WCLS\x02\x02\x00\x00");
        assert_eq!(new[8..16], old.base.to_be_bytes());
        assert_eq!(new[16..20], old.data_len.to_be_bytes());
        assert_eq!(new[20..24], 4u32.to_be_bytes());
    }

    #[test]
    fn a_v1_segment_gets_no_close_record() {
        let v1 = CloseRecord {
            codec: Codec::V1,
            ..record()
        };
        assert_eq!(encode(&v1), None);
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &v1).unwrap();
        assert!(!closed_path(dir.path()).exists());
    }
}

/// Records whose crc is right but whose offsets do not describe the segment: only a bug
/// could write one, and the open still refuses it.
#[cfg(test)]
mod forged {
    use super::*;
    use crate::{SyncPolicy, Wal, WalOptions};

    /// A closed log of 10 entries of 20 bytes (32-byte records) and its close record.
    fn closed_log(dir: &Path) -> CloseRecord {
        let options = WalOptions::default().with_sync_policy(SyncPolicy::Manual);
        let wal = Wal::open(dir, options).unwrap();
        for i in 0..10u8 {
            wal.append(&[i; 20]).unwrap();
        }
        wal.close().unwrap();
        decode(&std::fs::read(closed_path(dir)).unwrap()).unwrap()
    }

    fn open_with(record: &CloseRecord) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let honest = closed_log(dir.path());
        assert_eq!(
            honest.offsets,
            (0..10).map(|i| i * 32).collect::<Vec<u32>>()
        );
        write(dir.path(), record).unwrap();
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        for offset in 0..10u8 {
            assert_eq!(wal.read(u64::from(offset)).unwrap().payload, [offset; 20]);
        }
        wal.next_offset()
    }

    fn honest() -> CloseRecord {
        let dir = tempfile::tempdir().unwrap();
        closed_log(dir.path())
    }

    #[test]
    fn offsets_out_of_order_are_refused() {
        let mut record = honest();
        record.offsets = vec![0, 64, 32, 96, 128, 160, 192, 224, 256, 288];
        assert_eq!(open_with(&record), 10);
        record.offsets = vec![0, 32, 32, 64, 96, 128, 160, 192, 224, 256, 288];
        assert_eq!(open_with(&record), 10);
    }

    #[test]
    fn offsets_that_skip_the_first_record_are_refused() {
        let mut record = honest();
        record.offsets.remove(0);
        assert_eq!(open_with(&record), 10);
    }

    #[test]
    fn the_honest_record_opens_the_whole_log() {
        assert_eq!(open_with(&honest()), 10);
    }
}
