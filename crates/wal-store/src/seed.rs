//! The log's logical start, kept in the `SEED` file: the first offset the log holds and
//! the crc its record chains from, and whether a reset to it is under way.
//!
//! A v2 record carries its own seed (its `prev_crc`), so a log whose first record is its
//! first entry needs no other record of it. A log with none (just created, truncated to
//! nothing, cleared, reset, or trimmed to its end) has nowhere else to keep it, and a log
//! trimmed inside a segment still holds records below its first entry: the file says
//! where the log starts.
//!
//! Version 1 (24 bytes) says "the log starts at `offset`, whose record chains from
//! `seed`"; version 2 (28 bytes) adds a flags word whose only flag says "a reset to
//! `offset` is under way: every segment file in the directory is void". Big-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `WALS` |
//! | 4..8 | version (u32, 1 or 2) |
//! | 8..16 | entry offset (u64) |
//! | 16..20 | seed crc (u32) |
//! | 20..24 | v2 only: flags (u32; bit 0: reset under way, every other bit 0) |
//! | last 4 | `chain(0, every byte before)` (u32) |
//!
//! The store writes version 1 unless a reset is under way, so that the file of a log at
//! rest reads the same to every build that knows version 1. It rewrites the file,
//! atomically, whenever its own operations move the log's start: when a log is created
//! (before its first segment, so that a crash leaves no log or a seeded one), when a
//! truncation drops every entry and when the log is cleared (before any record is cut),
//! when a trim moves the first offset (once the entries from it on are durable, before
//! any segment goes), and twice in a reset (the flag first, as the commit point; then
//! without it, once the old files are gone and the new segment exists).
//!
//! What the offset means depends on where it falls (see `open.rs`): at or below the first
//! segment's base, nothing (a stale file: the first record is the start); inside the
//! records, the logical start (the records below it are trimmed); at the records' end or
//! past it, an empty log continuing there.

use std::io;
use std::path::{Path, PathBuf};

use wal_format::crc;

use crate::error::{IoContext, Result, StoreError};
use crate::fs;

/// Name of the seed file in a WAL directory.
pub const SEED_FILE_NAME: &str = "SEED";

const SEED_MAGIC: [u8; 4] = *b"WALS";
/// The version of a file with no flags.
const SEED_VERSION_PLAIN: u32 = 1;
/// The version of a file with a flags word.
const SEED_VERSION_FLAGS: u32 = 2;
/// Length of a version-1 file.
const SEED_V1_BYTES: usize = 24;
/// Length of a version-2 file.
const SEED_V2_BYTES: usize = 28;
const _: () = assert!(4 + 4 + 8 + 4 + 4 == SEED_V1_BYTES);
const _: () = assert!(SEED_V1_BYTES + 4 == SEED_V2_BYTES);
/// Flag (version 2): a reset to the file's offset is under way.
const FLAG_RESETTING: u32 = 1;

/// Where a log starts (the `SEED` file): the first offset it holds and what that entry's
/// record chains from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStart {
    /// The log's first entry offset (or, for a log with no entry, its next one).
    pub offset: u64,
    /// The crc that entry's record is chained from (meaningless for a v1 log, which has
    /// no crcs: written as given, never checked).
    pub crc: u32,
    /// Whether a reset to `offset` is under way: every segment file in the directory is
    /// void, and whoever next holds the lock finishes the reset.
    pub resetting: bool,
}

/// The name the file's contents had before the logical start: still what the open of an
/// empty log reads.
pub type ChainSeed = LogStart;

impl LogStart {
    /// A start at `offset` chained from `crc`, no reset under way.
    pub fn at(offset: u64, crc: u32) -> LogStart {
        LogStart {
            offset,
            crc,
            resetting: false,
        }
    }
}

/// Path of the seed file of `dir`.
pub fn seed_path(dir: &Path) -> PathBuf {
    dir.join(SEED_FILE_NAME)
}

/// The file's bytes for `start`: version 1 unless a reset is under way.
pub fn encode_seed(start: LogStart) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SEED_V2_BYTES);
    bytes.extend_from_slice(&SEED_MAGIC);
    let version = if start.resetting {
        SEED_VERSION_FLAGS
    } else {
        SEED_VERSION_PLAIN
    };
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(&start.offset.to_be_bytes());
    bytes.extend_from_slice(&start.crc.to_be_bytes());
    if start.resetting {
        bytes.extend_from_slice(&FLAG_RESETTING.to_be_bytes());
    }
    let check = crc::chain(0, &bytes);
    bytes.extend_from_slice(&check.to_be_bytes());
    bytes
}

/// Parses the file's bytes, or says what is wrong with them.
fn decode_seed(bytes: &[u8]) -> std::result::Result<LogStart, String> {
    if bytes.len() != SEED_V1_BYTES && bytes.len() != SEED_V2_BYTES {
        return Err(format!(
            "{} bytes, a seed file has {SEED_V1_BYTES} (version 1) or {SEED_V2_BYTES} (version 2)",
            bytes.len()
        ));
    }
    let (body, check) = bytes.split_at(bytes.len() - 4);
    let stored = u32_at(check, 0);
    if stored != crc::chain(0, body) {
        return Err(format!("its crc {stored:#010x} does not match its bytes"));
    }
    if body.get(0..4) != Some(&SEED_MAGIC[..]) {
        return Err("wrong magic".to_owned());
    }
    let version = u32_at(body, 4);
    let expected = if body.len() == SEED_V1_BYTES - 4 {
        SEED_VERSION_PLAIN
    } else {
        SEED_VERSION_FLAGS
    };
    if version != expected {
        return Err(format!(
            "version {version} in {} bytes, expected {expected}",
            bytes.len()
        ));
    }
    let flags = if version == SEED_VERSION_FLAGS {
        u32_at(body, 20)
    } else {
        0
    };
    if flags & !FLAG_RESETTING != 0 {
        return Err(format!("unknown flags {flags:#010x}"));
    }
    let offset = (u64::from(u32_at(body, 8)) << 32) | u64::from(u32_at(body, 12));
    Ok(LogStart {
        offset,
        crc: u32_at(body, 16),
        resetting: flags & FLAG_RESETTING != 0,
    })
}

/// The big-endian u32 at `at` in `bytes`, 0 past the end (callers check lengths first).
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(slice) = bytes.get(at..at + 4) {
        word.copy_from_slice(slice);
    }
    u32::from_be_bytes(word)
}

/// Replaces the seed file of `dir` with `start`, atomically and durably. (Recovery
/// writes one with the reset flag for a log whose every record lies below its start:
/// the store's open finishes the reset.)
pub fn write_seed(dir: &Path, start: LogStart) -> Result<()> {
    fs::write_atomically(dir, &seed_path(dir), &encode_seed(start))
}

/// Reads the seed file of `dir`: `None` when there is none. A file that cannot be read is
/// [`StoreError::Io`]; one that was read but is damaged is [`StoreError::Layout`] (at
/// segment 0), never a start: a wrong one would hide entries or chain the next record
/// wrongly, silently.
pub fn read_seed(dir: &Path) -> Result<Option<LogStart>> {
    read_seed_from(&seed_path(dir))
}

/// [`read_seed`], from the file at `path`.
pub fn read_seed_from(path: &Path) -> Result<Option<LogStart>> {
    match std::fs::read(path) {
        Ok(bytes) => decode_seed(&bytes)
            .map(Some)
            .map_err(|why| StoreError::Layout {
                segment: 0,
                detail: format!("{} is corrupt: {why}", path.display()),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).io_context("read", path),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_survives_encoding() {
        for start in [
            LogStart::at(0, 0),
            LogStart::at(u64::MAX - 1, 0xDEAD_BEEF),
            LogStart::at(0x0102_0304_0506_0708, 0x0A0B_0C0D),
            LogStart {
                resetting: true,
                ..LogStart::at(7, 0x1234_5678)
            },
        ] {
            let bytes = encode_seed(start);
            let expected = if start.resetting {
                SEED_V2_BYTES
            } else {
                SEED_V1_BYTES
            };
            assert_eq!(bytes.len(), expected);
            assert_eq!(bytes.get(0..4), Some(&b"WALS"[..]));
            assert_eq!(decode_seed(&bytes), Ok(start));
        }
    }

    #[test]
    fn the_layout_is_big_endian() {
        let bytes = encode_seed(LogStart::at(0x0102_0304_0506_0708, 0x0A0B_0C0D));
        assert_eq!(
            bytes.get(4..20),
            Some(&[0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x0C, 0x0D][..])
        );
        let check = crc::chain(0, bytes.get(0..20).unwrap_or_default());
        assert_eq!(bytes.get(20..24), Some(&check.to_be_bytes()[..]));
        let resetting = encode_seed(LogStart {
            resetting: true,
            ..LogStart::at(0x0102_0304_0506_0708, 0x0A0B_0C0D)
        });
        assert_eq!(resetting.get(4..8), Some(&[0, 0, 0, 2][..]));
        assert_eq!(resetting.get(20..24), Some(&[0, 0, 0, 1][..]));
        let check = crc::chain(0, resetting.get(0..24).unwrap_or_default());
        assert_eq!(resetting.get(24..28), Some(&check.to_be_bytes()[..]));
    }

    #[test]
    fn every_damage_is_refused() {
        for start in [
            LogStart::at(17, 0x1234_5678),
            LogStart {
                resetting: true,
                ..LogStart::at(17, 0x1234_5678)
            },
        ] {
            let good = encode_seed(start);
            for at in 0..good.len() {
                for bit in 0..8 {
                    let mut bad = good.clone();
                    if let Some(byte) = bad.get_mut(at) {
                        *byte ^= 1 << bit;
                    }
                    assert!(decode_seed(&bad).is_err(), "byte {at} bit {bit}");
                }
            }
            for len in 0..SEED_V2_BYTES + 2 {
                if len != good.len() {
                    let mut bytes = good.clone();
                    bytes.resize(len, 0);
                    assert!(decode_seed(&bytes).is_err(), "{len} bytes");
                }
            }
        }
    }

    #[test]
    fn unknown_flags_and_mismatched_versions_are_refused() {
        let with = |version: u32, flags: Option<u32>| {
            let mut bytes = SEED_MAGIC.to_vec();
            bytes.extend_from_slice(&version.to_be_bytes());
            bytes.extend_from_slice(&5u64.to_be_bytes());
            bytes.extend_from_slice(&9u32.to_be_bytes());
            if let Some(flags) = flags {
                bytes.extend_from_slice(&flags.to_be_bytes());
            }
            let check = crc::chain(0, &bytes);
            bytes.extend_from_slice(&check.to_be_bytes());
            decode_seed(&bytes)
        };
        assert_eq!(with(2, Some(0)), Ok(LogStart::at(5, 9)));
        assert!(with(2, Some(2)).is_err());
        assert!(with(1, Some(0)).is_err());
        assert!(with(2, None).is_err());
        assert!(with(3, Some(0)).is_err());
    }
}
