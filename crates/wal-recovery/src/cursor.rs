//! The consumers' cursors: for each consumer, the last offset it has finalized, in a small
//! file of its own that is replaced atomically.
//!
//! The default consumer's cursor is `CURSOR`; a named consumer's is `CURSOR.<name>`, where
//! the name is 1 to [`CURSOR_NAME_MAX_BYTES`] bytes of `a-z`, `0-9`, `_` and `-` (see
//! [`check_cursor_name`]); the name `default` stands for `CURSOR` itself.
//!
//! Version 2, which this code writes (44 bytes):
//!
//! | bytes  | field                                                          |
//! |--------|----------------------------------------------------------------|
//! | 0..4   | magic `WALC`                                                   |
//! | 4..8   | version (u32 big-endian, 2)                                    |
//! | 8..12  | size of the file in bytes (u32 big-endian, 44)                 |
//! | 12..16 | the oldest reader version that can read it (u32 big-endian, 2) |
//! | 16..24 | offset (u64 big-endian)                                        |
//! | 24..32 | start of the last drop of unread entries (u64 big-endian)      |
//! | 32..40 | its end, excluded (u64 big-endian; equal to the start: none)   |
//! | 40..44 | crc: `chain(0, bytes 0..40)` (u32 big-endian)                  |
//!
//! A later version may add fields before the crc: a reader takes the fields it knows from a
//! file whose oldest reader version is at most its own, and refuses any other file
//! clearly. Version 1 (20 bytes: magic, version 1, offset, `chain(0, bytes 0..16)`) is
//! still read.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use wal_format::crc;

use crate::error::{Error, IoContext, Result};

/// Name of the default cursor's file in a WAL directory.
pub const CURSOR_FILE_NAME: &str = "CURSOR";
/// The name that stands for the default cursor (`CURSOR`) wherever a cursor is named.
pub const DEFAULT_CURSOR: &str = "default";
/// Names no cursor may have: `CURSOR.<name>` would be another file of the directory.
const RESERVED_NAMES: [&str; 2] = ["tmp", "pending"];
/// The longest cursor name, in bytes.
pub const CURSOR_NAME_MAX_BYTES: usize = 64;
/// The cursor file's magic bytes.
pub const CURSOR_MAGIC: [u8; 4] = *b"WALC";
/// The cursor format version this code writes, and the newest it reads in full.
pub const CURSOR_VERSION: u32 = 2;
/// Size of a version 2 cursor file.
pub const CURSOR_FILE_BYTES: usize = 44;
/// The same, as the file's size field holds it.
const CURSOR_FILE_BYTES_FIELD: u32 = 44;
const _: () = assert!(CURSOR_FILE_BYTES_FIELD as usize == CURSOR_FILE_BYTES);
/// Size of a version 1 cursor file (still read).
pub const CURSOR_V1_FILE_BYTES: usize = 20;
/// A cursor file is never larger: a size field beyond it is refused before any use.
const CURSOR_FILE_MAX_BYTES: u32 = 4096;
const CRC_BYTES: usize = 4;

/// What a cursor file holds.
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

/// A valid cursor file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorRecord {
    /// The last offset the consumer has finalized.
    pub offset: u64,
    /// The last unread entries a trim dropped because its caller said so
    /// (`Log::trim_before_dropping_unread`), if any: the cursor was moved past them.
    pub dropped_unread: Option<Range<u64>>,
}

/// One cursor of a directory, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCursor {
    /// Its name ([`DEFAULT_CURSOR`] for `CURSOR`).
    pub name: String,
    /// What its file holds.
    pub state: CursorState,
    /// The drop its file records, if it is valid and records one.
    pub dropped_unread: Option<Range<u64>>,
}

/// Checks a cursor name: 1 to [`CURSOR_NAME_MAX_BYTES`] bytes of `a-z`, `0-9`, `_` and
/// `-`, but not `tmp` or `pending` (so that every name is a plain, portable file name,
/// and neither `CURSOR.tmp` nor `CURSOR.<name>.tmp` is ever a cursor's).
pub fn check_cursor_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > CURSOR_NAME_MAX_BYTES {
        Some("it is longer than 64 bytes")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        Some("only a-z, 0-9, '_' and '-' are allowed")
    } else if RESERVED_NAMES.contains(&name) {
        // `CURSOR.tmp` is the default cursor's file being replaced, `CURSOR.pending` a
        // journaled change's name for it.
        Some("it names a temporary file of the default cursor")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidCursorName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The file name of the cursor `name` (which must pass [`check_cursor_name`]).
pub fn cursor_file_name(name: &str) -> String {
    if name == DEFAULT_CURSOR {
        CURSOR_FILE_NAME.to_owned()
    } else {
        format!("{CURSOR_FILE_NAME}.{name}")
    }
}

/// The cursor name a directory entry's file name belongs to, if it is a cursor file.
pub fn cursor_name_of_file(file_name: &str) -> Option<&str> {
    if file_name == CURSOR_FILE_NAME {
        return Some(DEFAULT_CURSOR);
    }
    let name = file_name
        .strip_prefix(CURSOR_FILE_NAME)?
        .strip_prefix('.')?;
    (name != DEFAULT_CURSOR && check_cursor_name(name).is_ok()).then_some(name)
}

/// Path of the default cursor file of `dir`.
pub fn cursor_path(dir: &Path) -> PathBuf {
    dir.join(CURSOR_FILE_NAME)
}

/// Path of the cursor file of `name` in `dir`.
pub fn named_cursor_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(cursor_file_name(name))
}

/// The bytes of a cursor file (version 2) for `offset`, recording no drop.
pub fn encode_cursor(offset: u64) -> [u8; CURSOR_FILE_BYTES] {
    encode_record(&CursorRecord {
        offset,
        dropped_unread: None,
    })
}

fn put(bytes: &mut [u8], at: usize, field: &[u8]) {
    if let Some(slot) = bytes.get_mut(at..at + field.len()) {
        slot.copy_from_slice(field);
    }
}

/// The bytes of a cursor file (version 2) holding `record`.
pub fn encode_record(record: &CursorRecord) -> [u8; CURSOR_FILE_BYTES] {
    let mut bytes = [0u8; CURSOR_FILE_BYTES];
    let dropped = record.dropped_unread.clone().unwrap_or(0..0);
    put(&mut bytes, 0, &CURSOR_MAGIC);
    put(&mut bytes, 4, &CURSOR_VERSION.to_be_bytes());
    put(&mut bytes, 8, &CURSOR_FILE_BYTES_FIELD.to_be_bytes());
    put(&mut bytes, 12, &CURSOR_VERSION.to_be_bytes());
    put(&mut bytes, 16, &record.offset.to_be_bytes());
    put(&mut bytes, 24, &dropped.start.to_be_bytes());
    put(&mut bytes, 32, &dropped.end.to_be_bytes());
    let body = bytes.get(..CURSOR_FILE_BYTES - CRC_BYTES).unwrap_or(&[]);
    let crc = crc::chain(0, body);
    put(
        &mut bytes,
        CURSOR_FILE_BYTES - CRC_BYTES,
        &crc.to_be_bytes(),
    );
    bytes
}

/// The bytes of a version 1 cursor file for `offset`: what walrs wrote before named
/// cursors, still read (for tests of that).
pub fn encode_cursor_v1(offset: u64) -> [u8; CURSOR_V1_FILE_BYTES] {
    let mut bytes = [0u8; CURSOR_V1_FILE_BYTES];
    put(&mut bytes, 0, &CURSOR_MAGIC);
    put(&mut bytes, 4, &1u32.to_be_bytes());
    put(&mut bytes, 8, &offset.to_be_bytes());
    let crc = crc::chain(0, bytes.get(..16).unwrap_or(&[]));
    put(&mut bytes, 16, &crc.to_be_bytes());
    bytes
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes(field.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let field = bytes.get(at..at + 8)?;
    Some(u64::from_be_bytes(field.try_into().ok()?))
}

/// Checks that `bytes` end in `chain(0, everything before)`.
fn check_crc(bytes: &[u8]) -> std::result::Result<(), String> {
    let split = bytes.len().saturating_sub(CRC_BYTES);
    let stored = u32_at(bytes, split).ok_or("too short for a crc")?;
    let computed = crc::chain(0, bytes.get(..split).unwrap_or(&[]));
    if stored == computed {
        Ok(())
    } else {
        Err(format!(
            "crc mismatch: computed {computed:#010x}, stored {stored:#010x}"
        ))
    }
}

/// Parses a cursor file's bytes, any version this code reads.
pub fn decode_record(bytes: &[u8]) -> std::result::Result<CursorRecord, String> {
    if bytes.get(..4) != Some(&CURSOR_MAGIC[..]) {
        return Err("wrong magic".to_owned());
    }
    let version = u32_at(bytes, 4).ok_or("too short for a version")?;
    let record = match version {
        1 => decode_v1(bytes)?,
        0 => return Err("unknown version 0".to_owned()),
        _ => decode_v2_or_later(bytes, version)?,
    };
    // The log's offsets end at u64::MAX (exclusive), and a cursor is followed by the
    // next entry to replay: the two largest values name no such position.
    if record.offset >= u64::MAX - 1 {
        return Err(format!(
            "offset {} leaves no room for a later entry",
            record.offset
        ));
    }
    Ok(record)
}

fn decode_v1(bytes: &[u8]) -> std::result::Result<CursorRecord, String> {
    if bytes.len() != CURSOR_V1_FILE_BYTES {
        return Err(format!(
            "{} bytes, a version 1 cursor file has {CURSOR_V1_FILE_BYTES}",
            bytes.len()
        ));
    }
    check_crc(bytes)?;
    let offset = u64_at(bytes, 8).ok_or("too short")?;
    Ok(CursorRecord {
        offset,
        dropped_unread: None,
    })
}

fn decode_v2_or_later(bytes: &[u8], version: u32) -> std::result::Result<CursorRecord, String> {
    let size = u32_at(bytes, 8).ok_or("too short for a size")?;
    if !(CURSOR_FILE_BYTES_FIELD..=CURSOR_FILE_MAX_BYTES).contains(&size)
        || usize::try_from(size).ok() != Some(bytes.len())
    {
        return Err(format!(
            "{} bytes, but the file says {size} (version {version})",
            bytes.len()
        ));
    }
    check_crc(bytes)?;
    let readable_by = u32_at(bytes, 12).ok_or("too short")?;
    if readable_by > CURSOR_VERSION {
        return Err(format!(
            "version {version} needs a reader of version {readable_by}; this one reads up to {CURSOR_VERSION}"
        ));
    }
    let offset = u64_at(bytes, 16).ok_or("too short")?;
    let start = u64_at(bytes, 24).ok_or("too short")?;
    let end = u64_at(bytes, 32).ok_or("too short")?;
    if end < start {
        return Err(format!(
            "a drop record that ends ({end}) before it starts ({start})"
        ));
    }
    Ok(CursorRecord {
        offset,
        dropped_unread: (end > start).then_some(start..end),
    })
}

/// Parses a cursor file's bytes.
pub fn decode_cursor(bytes: &[u8]) -> CursorState {
    match decode_record(bytes) {
        Ok(record) => CursorState::At(record.offset),
        Err(why) => CursorState::Corrupt(why),
    }
}

/// Reads the cursor file at `path`: its state and the drop it records.
fn read_at(path: &Path) -> Result<(CursorState, Option<Range<u64>>)> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(match decode_record(&bytes) {
            Ok(record) => (CursorState::At(record.offset), record.dropped_unread),
            Err(why) => (CursorState::Corrupt(why), None),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((CursorState::Missing, None)),
        Err(e) => Err(e).io_context("read cursor", path),
    }
}

/// Reads the default cursor of `dir`.
pub fn read_cursor(dir: &Path) -> Result<CursorState> {
    Ok(read_at(&cursor_path(dir))?.0)
}

/// Reads the cursor `name` of `dir` (which must pass [`check_cursor_name`]).
pub fn read_named_cursor(dir: &Path, name: &str) -> Result<NamedCursor> {
    check_cursor_name(name)?;
    let (state, dropped_unread) = read_at(&named_cursor_path(dir, name))?;
    Ok(NamedCursor {
        name: name.to_owned(),
        state,
        dropped_unread,
    })
}

/// Reads every cursor of `dir`, the default one first (even when it is missing), then
/// the named ones in the order of their names.
pub fn read_all_cursors(dir: &Path) -> Result<Vec<NamedCursor>> {
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(vec![read_named_cursor(dir, DEFAULT_CURSOR)?]);
        }
        Err(e) => return Err(e).io_context("list", dir),
    };
    for entry in entries {
        let entry = entry.io_context("list", dir)?;
        if let Some(name) = entry.file_name().to_str().and_then(cursor_name_of_file)
            && name != DEFAULT_CURSOR
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    let mut cursors = vec![read_named_cursor(dir, DEFAULT_CURSOR)?];
    for name in names {
        cursors.push(read_named_cursor(dir, &name)?);
    }
    Ok(cursors)
}

/// Persists the cursor `name` of `dir`: written to a temporary file, fsynced, renamed over
/// the old one, and the directory fsynced. After a crash the old or the new cursor is
/// there, whole. Crate-internal: it checks neither the name nor that the offset names a
/// durable entry, which its callers do.
pub(crate) fn write_record(dir: &Path, name: &str, record: &CursorRecord) -> Result<()> {
    let path = named_cursor_path(dir, name);
    wal_store::internal::fs::write_atomically(dir, &path, &encode_record(record))?;
    Ok(())
}

/// Removes the cursor `name` of `dir` durably.
pub(crate) fn remove_cursor_file(dir: &Path, name: &str) -> Result<()> {
    wal_store::internal::fs::remove_if_present(&named_cursor_path(dir, name))?;
    wal_store::internal::fs::sync_dir(dir)?;
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
        let record = CursorRecord {
            offset: 38,
            dropped_unread: Some(6..32),
        };
        assert_eq!(decode_record(&encode_record(&record)), Ok(record));
    }

    #[test]
    fn version_1_files_stay_readable() {
        assert_eq!(decode_cursor(&encode_cursor_v1(9)), CursorState::At(9));
        let mut bad = encode_cursor_v1(9);
        bad[10] ^= 1;
        assert!(matches!(decode_cursor(&bad), CursorState::Corrupt(_)));
    }

    /// A later version that appends a field and says version 2 readers can read it is
    /// read; one that says they cannot is refused, naming why.
    #[test]
    fn a_newer_version_is_read_or_refused_clearly() {
        let later = |readable_by: u32| {
            let mut bytes = encode_cursor(17)[..40].to_vec();
            bytes[4..8].copy_from_slice(&3u32.to_be_bytes());
            bytes[8..12].copy_from_slice(&52u32.to_be_bytes());
            bytes[12..16].copy_from_slice(&readable_by.to_be_bytes());
            bytes.extend_from_slice(&[7; 8]);
            let crc = crc::chain(0, &bytes);
            bytes.extend_from_slice(&crc.to_be_bytes());
            bytes
        };
        assert_eq!(decode_cursor(&later(2)), CursorState::At(17));
        match decode_cursor(&later(3)) {
            CursorState::Corrupt(why) => assert!(why.contains("needs a reader of version 3")),
            other => panic!("expected a refusal, got {other:?}"),
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

    #[test]
    fn names_are_checked() {
        for good in ["a", "consumer-1", "x_y", &"z".repeat(64)] {
            assert!(check_cursor_name(good).is_ok(), "{good}");
            assert_eq!(cursor_name_of_file(&cursor_file_name(good)), Some(good));
        }
        for bad in [
            "",
            "A",
            "a.b",
            "a/b",
            "..",
            "a b",
            "é",
            "tmp",
            "pending",
            &"z".repeat(65),
        ] {
            assert!(
                matches!(check_cursor_name(bad), Err(Error::InvalidCursorName { .. })),
                "{bad}"
            );
        }
        assert_eq!(cursor_file_name(DEFAULT_CURSOR), "CURSOR");
        assert_eq!(cursor_name_of_file("CURSOR"), Some(DEFAULT_CURSOR));
        assert_eq!(cursor_name_of_file("CURSOR.default"), None);
        assert_eq!(cursor_name_of_file("CURSOR.a.tmp"), None);
        assert_eq!(cursor_name_of_file("CURSOR.tmp"), None);
        assert_eq!(cursor_name_of_file("CURSORx"), None);
    }
}
