//! The caller's metadata blob, kept in the `META` file beside the log (FORMAT.md §9): a
//! few bytes of state that belong with the log but are no entry of it (a raft node's
//! vote and commit index, a replicator's term).
//!
//! The store never interprets the blob and never changes it on its own: truncating,
//! trimming and clearing the log leave it as it is. It is replaced whole and atomically
//! (written as `META.tmp`, fsynced, renamed, the directory fsynced), so that after a crash
//! the file holds the old blob or the new one, and it carries its own crc, so that a
//! damaged file is reported, never read as a blob:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `WALM` |
//! | 4..8 | version (u32, 1) |
//! | 8..12 | n, the blob's length (u32, at most [`META_MAX_BYTES`]) |
//! | 12..12+n | the blob |
//! | 12+n..16+n | `crc32c_update(0, bytes 0..12+n)` (u32) |

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use wal_format::crc;

use crate::error::{IoContext, Result, StoreError};
use crate::fs;
use crate::sys;

/// Name of the metadata file in a WAL directory.
pub const META_FILE_NAME: &str = "META";

/// The largest metadata blob [`Wal::write_meta`](crate::Wal::write_meta) accepts: 64 KiB.
pub const META_MAX_BYTES: usize = 64 << 10;

const META_MAGIC: [u8; 4] = *b"WALM";
const META_VERSION: u32 = 1;
/// Magic, version, length.
const HEADER_BYTES: usize = 12;
const CRC_BYTES: usize = 4;
/// The longest file a blob of at most [`META_MAX_BYTES`] makes.
const MAX_FILE_BYTES: usize = HEADER_BYTES + META_MAX_BYTES + CRC_BYTES;
const _: () = assert!(HEADER_BYTES == 4 + 4 + 4);

/// Path of the metadata file of `dir`.
pub fn meta_path(dir: &Path) -> PathBuf {
    dir.join(META_FILE_NAME)
}

/// The file's bytes for `blob` (at most [`META_MAX_BYTES`] long).
fn encode_meta(blob: &[u8]) -> Result<Vec<u8>> {
    let too_large = || StoreError::MetaTooLarge {
        size: blob.len(),
        max: META_MAX_BYTES,
    };
    if blob.len() > META_MAX_BYTES {
        return Err(too_large());
    }
    let len = u32::try_from(blob.len()).map_err(|_| too_large())?;
    let mut bytes = Vec::with_capacity(HEADER_BYTES + blob.len() + CRC_BYTES);
    bytes.extend_from_slice(&META_MAGIC);
    bytes.extend_from_slice(&META_VERSION.to_be_bytes());
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(blob);
    let check = crc::crc32c_update(0, &bytes);
    bytes.extend_from_slice(&check.to_be_bytes());
    Ok(bytes)
}

/// The big-endian u32 at `at` in `bytes`, if there are four bytes there.
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(word))
}

/// The blob in a file's bytes, or what is wrong with them (expected and found).
fn decode_meta(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    if bytes.len() < HEADER_BYTES + CRC_BYTES {
        return Err(format!(
            "{} bytes, shorter than the {} of an empty blob's file",
            bytes.len(),
            HEADER_BYTES + CRC_BYTES
        ));
    }
    let body_len = bytes.len() - CRC_BYTES;
    let (body, check) = bytes.split_at(body_len);
    let stored = u32_at(check, 0).unwrap_or_default();
    let computed = crc::crc32c_update(0, body);
    if stored != computed {
        return Err(format!(
            "its crc is {stored:#010x}, its bytes give {computed:#010x}"
        ));
    }
    if body.get(..4) != Some(&META_MAGIC[..]) {
        return Err("wrong magic, expected WALM".to_owned());
    }
    let version = u32_at(body, 4).unwrap_or_default();
    if version != META_VERSION {
        return Err(format!("version {version}, expected {META_VERSION}"));
    }
    let len = u32_at(body, 8).unwrap_or_default();
    let blob = body.get(HEADER_BYTES..).unwrap_or_default();
    if usize::try_from(len).ok() != Some(blob.len()) {
        return Err(format!(
            "its length field says {len} bytes, the file holds {}",
            blob.len()
        ));
    }
    Ok(blob.to_vec())
}

/// Replaces the metadata file of `dir` with one holding `blob`, atomically and durably.
/// A blob over [`META_MAX_BYTES`] is refused with [`StoreError::MetaTooLarge`] before
/// anything is written.
pub(crate) fn write_meta(dir: &Path, blob: &[u8]) -> Result<()> {
    let bytes = encode_meta(blob)?;
    fs::write_atomically(dir, &meta_path(dir), &bytes)
}

/// Reads the metadata file of `dir`: `None` when there is none. A file that cannot be
/// read is [`StoreError::Io`]; one that was read but is damaged (or longer than any blob
/// makes: nothing is allocated for it) is [`StoreError::MetaCorrupt`].
pub fn read_meta(dir: &Path) -> Result<Option<Vec<u8>>> {
    let path = meta_path(dir);
    let file = match sys::open_read(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).io_context("open", &path),
    };
    let len = file.metadata().io_context("stat", &path)?.len();
    let corrupt = |detail: String| StoreError::MetaCorrupt {
        path: path.clone(),
        detail,
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= MAX_FILE_BYTES)
        .ok_or_else(|| {
            corrupt(format!(
                "{len} bytes, longer than the {MAX_FILE_BYTES} of the largest blob's file"
            ))
        })?;
    let mut bytes = Vec::with_capacity(len);
    // One byte more than the file said: a file that grew meanwhile is seen as too long.
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .io_context("read", &path)?;
    decode_meta(&bytes).map(Some).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_survives_encoding() {
        for blob in [&b""[..], b"x", &[7u8; META_MAX_BYTES]] {
            let bytes = encode_meta(blob).unwrap();
            assert_eq!(bytes.len(), HEADER_BYTES + blob.len() + CRC_BYTES);
            assert_eq!(bytes.get(0..4), Some(&b"WALM"[..]));
            assert_eq!(decode_meta(&bytes).unwrap(), blob);
        }
    }

    #[test]
    fn the_layout_is_big_endian() {
        let bytes = encode_meta(b"ab").unwrap();
        assert_eq!(
            bytes.get(..14),
            Some(&[b'W', b'A', b'L', b'M', 0, 0, 0, 1, 0, 0, 0, 2, b'a', b'b'][..])
        );
        let check = crc::crc32c_update(0, bytes.get(..14).unwrap());
        assert_eq!(bytes.get(14..), Some(&check.to_be_bytes()[..]));
    }

    #[test]
    fn a_blob_over_the_limit_is_refused() {
        assert!(matches!(
            encode_meta(&[0; META_MAX_BYTES + 1]),
            Err(StoreError::MetaTooLarge { size, max: META_MAX_BYTES }) if size == META_MAX_BYTES + 1
        ));
    }

    #[test]
    fn every_damage_is_refused() {
        let good = encode_meta(b"vote=3;commit=17").unwrap();
        for at in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                if let Some(byte) = bad.get_mut(at) {
                    *byte ^= 1 << bit;
                }
                assert!(decode_meta(&bad).is_err(), "byte {at} bit {bit}");
            }
        }
        for len in 0..good.len() + 2 {
            if len != good.len() {
                let mut bytes = good.clone();
                bytes.resize(len, 0);
                assert!(decode_meta(&bytes).is_err(), "{len} bytes");
            }
        }
    }
}
