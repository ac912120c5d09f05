//! The chain seed of the log's first entry, kept in the `SEED` file so that a log with no
//! entry still knows what its next record chains from.
//!
//! A v2 record carries its own seed (its `prev_crc`), so a log with an entry needs no other
//! record of it. A log with none (just created, truncated to nothing, cleared) has nowhere
//! else to keep it: without this file a reopen would have to be told the seed again.
//!
//! The file says "the entry at `offset` is chained from `seed`" (24 bytes, big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `WALS` |
//! | 4..8 | version (u32, 1) |
//! | 8..16 | entry offset (u64) |
//! | 16..20 | seed crc (u32) |
//! | 20..24 | `chain(0, bytes 0..20)` (u32) |
//!
//! The store rewrites it, atomically, whenever its own operations move the log's first
//! offset or drop every entry: when a log is created (before its first segment, so that a
//! crash leaves no log or a seeded one), when a truncation drops every entry and when the
//! log is cleared (before any record is cut, so that a crash leaves the records or the file
//! that replaces them), and when trimming moves the first offset (before the old segments
//! go). The
//! open reads it only for a log with no entry, and only when its offset is that log's next
//! offset; a file about other offsets is stale and the open falls back to
//! [`WalOptions::seed_crc`](crate::WalOptions::seed_crc), as it does for a directory
//! written before the file existed.

use std::io;
use std::path::{Path, PathBuf};

use wal_format::crc;

use crate::error::{IoContext, Result, StoreError};
use crate::fs;

/// Name of the seed file in a WAL directory.
pub const SEED_FILE_NAME: &str = "SEED";

const SEED_MAGIC: [u8; 4] = *b"WALS";
const SEED_VERSION: u32 = 1;
/// Length of the seed file.
const SEED_FILE_BYTES: usize = 24;
/// Bytes covered by the file's own crc: everything before it.
const SEED_BODY_BYTES: usize = SEED_FILE_BYTES - 4;
const _: () = assert!(4 + 4 + 8 + 4 == SEED_BODY_BYTES);

/// The seed of one entry: what the record at `offset` is chained from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSeed {
    /// The entry offset the seed belongs to.
    pub offset: u64,
    /// The crc that entry's record is chained from.
    pub crc: u32,
}

/// Path of the seed file of `dir`.
pub fn seed_path(dir: &Path) -> PathBuf {
    dir.join(SEED_FILE_NAME)
}

/// The file's bytes for `seed`.
fn encode_seed(seed: ChainSeed) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SEED_FILE_BYTES);
    bytes.extend_from_slice(&SEED_MAGIC);
    bytes.extend_from_slice(&SEED_VERSION.to_be_bytes());
    bytes.extend_from_slice(&seed.offset.to_be_bytes());
    bytes.extend_from_slice(&seed.crc.to_be_bytes());
    let check = crc::chain(0, &bytes);
    bytes.extend_from_slice(&check.to_be_bytes());
    bytes
}

/// Parses the file's bytes, or says what is wrong with them.
fn decode_seed(bytes: &[u8]) -> std::result::Result<ChainSeed, String> {
    let Ok(bytes) = <[u8; SEED_FILE_BYTES]>::try_from(bytes) else {
        return Err(format!(
            "{} bytes, a seed file has {SEED_FILE_BYTES}",
            bytes.len()
        ));
    };
    let (body, check) = bytes.split_at(SEED_BODY_BYTES);
    let stored = u32_at(check, 0);
    if stored != crc::chain(0, body) {
        return Err(format!("its crc {stored:#010x} does not match its bytes"));
    }
    if body.get(0..4) != Some(&SEED_MAGIC[..]) {
        return Err("wrong magic".to_owned());
    }
    let version = u32_at(body, 4);
    if version != SEED_VERSION {
        return Err(format!("version {version}, expected {SEED_VERSION}"));
    }
    let offset = (u64::from(u32_at(body, 8)) << 32) | u64::from(u32_at(body, 12));
    Ok(ChainSeed {
        offset,
        crc: u32_at(body, 16),
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

/// Replaces the seed file of `dir` with `seed`, atomically and durably.
pub(crate) fn write_seed(dir: &Path, seed: ChainSeed) -> Result<()> {
    fs::write_atomically(dir, &seed_path(dir), &encode_seed(seed))
}

/// Reads the seed file of `dir`: `None` when there is none. A file that cannot be read is
/// [`StoreError::Io`]; one that was read but is damaged is [`StoreError::Layout`] (at
/// segment 0), never a seed: a wrong seed would chain the next record wrongly, silently.
pub fn read_seed(dir: &Path) -> Result<Option<ChainSeed>> {
    let path = seed_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => decode_seed(&bytes)
            .map(Some)
            .map_err(|why| StoreError::Layout {
                segment: 0,
                detail: format!("{} is corrupt: {why}", path.display()),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).io_context("read", &path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_survives_encoding() {
        for seed in [
            ChainSeed { offset: 0, crc: 0 },
            ChainSeed {
                offset: u64::MAX - 1,
                crc: 0xDEAD_BEEF,
            },
            ChainSeed {
                offset: 0x0102_0304_0506_0708,
                crc: 0x0A0B_0C0D,
            },
        ] {
            let bytes = encode_seed(seed);
            assert_eq!(bytes.len(), SEED_FILE_BYTES);
            assert_eq!(bytes.get(0..4), Some(&b"WALS"[..]));
            assert_eq!(decode_seed(&bytes), Ok(seed));
        }
    }

    #[test]
    fn the_layout_is_big_endian() {
        let bytes = encode_seed(ChainSeed {
            offset: 0x0102_0304_0506_0708,
            crc: 0x0A0B_0C0D,
        });
        assert_eq!(
            bytes.get(4..20),
            Some(&[0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x0C, 0x0D][..])
        );
        let check = crc::chain(0, bytes.get(0..20).unwrap_or_default());
        assert_eq!(bytes.get(20..24), Some(&check.to_be_bytes()[..]));
    }

    #[test]
    fn every_damage_is_refused() {
        let good = encode_seed(ChainSeed {
            offset: 17,
            crc: 0x1234_5678,
        });
        for at in 0..SEED_FILE_BYTES {
            for bit in 0..8 {
                let mut bad = good.clone();
                if let Some(byte) = bad.get_mut(at) {
                    *byte ^= 1 << bit;
                }
                assert!(decode_seed(&bad).is_err(), "byte {at} bit {bit}");
            }
        }
        for len in 0..SEED_FILE_BYTES + 2 {
            if len != SEED_FILE_BYTES {
                let mut bytes = good.clone();
                bytes.resize(len, 0);
                assert!(decode_seed(&bytes).is_err(), "{len} bytes");
            }
        }
    }
}
