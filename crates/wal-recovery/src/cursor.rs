//! The cursor sidecar: the last offset the consumer has finalized, in a small file that is
//! replaced atomically.
//!
//! | bytes  | field                                       |
//! |--------|---------------------------------------------|
//! | 0..4   | magic `WALC`                                |
//! | 4..8   | version (u32 big-endian, 1)                 |
//! | 8..16  | offset (u64 big-endian)                     |
//! | 16..20 | crc: `chain(0, bytes 0..16)` (u32 big-endian) |

use std::io;
use std::path::{Path, PathBuf};

use wal_format::crc;

use crate::error::{IoContext, Result};

/// Name of the cursor file in a WAL directory.
pub const CURSOR_FILE_NAME: &str = "CURSOR";
/// The cursor file's magic bytes.
pub const CURSOR_MAGIC: [u8; 4] = *b"WALC";
/// The cursor format version this code writes and reads.
pub const CURSOR_VERSION: u32 = 1;
/// Size of a cursor file.
pub const CURSOR_FILE_BYTES: usize = 20;

/// What the cursor file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorState {
    /// No cursor file: nothing was finalized yet.
    Missing,
    /// A valid cursor.
    At(u64),
    /// A file that is not a valid cursor (why, in words).
    Corrupt(String),
}

impl CursorState {
    /// The stable name of the state: `ok`, `missing` or `corrupt`.
    pub fn status(&self) -> &'static str {
        match self {
            CursorState::Missing => "missing",
            CursorState::At(_) => "ok",
            CursorState::Corrupt(_) => "corrupt",
        }
    }

    /// The offset, if the cursor is valid.
    pub fn offset(&self) -> Option<u64> {
        match self {
            CursorState::At(offset) => Some(*offset),
            _ => None,
        }
    }
}

/// Path of the cursor file of `dir`.
pub fn cursor_path(dir: &Path) -> PathBuf {
    dir.join(CURSOR_FILE_NAME)
}

/// The bytes of a cursor file for `offset`.
pub fn encode_cursor(offset: u64) -> [u8; CURSOR_FILE_BYTES] {
    let [v0, v1, v2, v3] = CURSOR_VERSION.to_be_bytes();
    let [o0, o1, o2, o3, o4, o5, o6, o7] = offset.to_be_bytes();
    let [m0, m1, m2, m3] = CURSOR_MAGIC;
    let body = [
        m0, m1, m2, m3, v0, v1, v2, v3, o0, o1, o2, o3, o4, o5, o6, o7,
    ];
    let [c0, c1, c2, c3] = crc::chain(0, &body).to_be_bytes();
    [
        m0, m1, m2, m3, v0, v1, v2, v3, o0, o1, o2, o3, o4, o5, o6, o7, c0, c1, c2, c3,
    ]
}

/// Parses a cursor file's bytes.
pub fn decode_cursor(bytes: &[u8]) -> CursorState {
    let Ok(bytes) = <[u8; CURSOR_FILE_BYTES]>::try_from(bytes) else {
        return CursorState::Corrupt(format!(
            "{} bytes, a cursor file has {CURSOR_FILE_BYTES}",
            bytes.len()
        ));
    };
    let [
        m0,
        m1,
        m2,
        m3,
        v0,
        v1,
        v2,
        v3,
        o0,
        o1,
        o2,
        o3,
        o4,
        o5,
        o6,
        o7,
        c0,
        c1,
        c2,
        c3,
    ] = bytes;
    if [m0, m1, m2, m3] != CURSOR_MAGIC {
        return CursorState::Corrupt("wrong magic".to_owned());
    }
    let version = u32::from_be_bytes([v0, v1, v2, v3]);
    if version != CURSOR_VERSION {
        return CursorState::Corrupt(format!("unknown version {version}"));
    }
    let stored = u32::from_be_bytes([c0, c1, c2, c3]);
    let computed = crc::chain(0, bytes.get(..16).unwrap_or(&[]));
    if stored != computed {
        return CursorState::Corrupt(format!(
            "crc mismatch: computed {computed:#010x}, stored {stored:#010x}"
        ));
    }
    let offset = u64::from_be_bytes([o0, o1, o2, o3, o4, o5, o6, o7]);
    // The log's offsets end at u64::MAX (exclusive), and a cursor is followed by the
    // next entry to replay: the two largest values name no such position.
    if offset >= u64::MAX - 1 {
        return CursorState::Corrupt(format!("offset {offset} leaves no room for a later entry"));
    }
    CursorState::At(offset)
}

/// Reads the cursor of `dir`.
pub fn read_cursor(dir: &Path) -> Result<CursorState> {
    let path = cursor_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(decode_cursor(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(CursorState::Missing),
        Err(e) => Err(e).io_context("read cursor", path),
    }
}

/// Persists the cursor of `dir`: written to a temporary file, fsynced, renamed over the
/// old one, and the directory fsynced. After a crash the old or the new cursor is there,
/// whole. Crate-internal: it does not check that `offset` names a durable entry, which
/// [`set_cursor`](crate::set_cursor) does.
pub(crate) fn write_cursor(dir: &Path, offset: u64) -> Result<()> {
    wal_store::internal::fs::write_atomically(dir, &cursor_path(dir), &encode_cursor(offset))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for offset in [0, 1, 1 << 40, u64::MAX - 2] {
            assert_eq!(
                decode_cursor(&encode_cursor(offset)),
                CursorState::At(offset)
            );
        }
    }

    #[test]
    fn a_cursor_with_no_room_after_it_is_corrupt() {
        for offset in [u64::MAX - 1, u64::MAX] {
            assert!(matches!(
                decode_cursor(&encode_cursor(offset)),
                CursorState::Corrupt(_)
            ));
        }
    }

    #[test]
    fn every_damage_is_reported_as_corrupt() {
        let good = encode_cursor(42);
        for byte in 0..CURSOR_FILE_BYTES {
            for bit in 0..8 {
                let mut bad = good;
                bad[byte] ^= 1 << bit;
                assert!(
                    matches!(decode_cursor(&bad), CursorState::Corrupt(_)),
                    "byte {byte} bit {bit}"
                );
            }
        }
        for len in 0..CURSOR_FILE_BYTES {
            assert!(matches!(
                decode_cursor(&good[..len]),
                CursorState::Corrupt(_)
            ));
        }
        let mut longer = good.to_vec();
        longer.push(0);
        assert!(matches!(decode_cursor(&longer), CursorState::Corrupt(_)));
    }
}
