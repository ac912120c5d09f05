//! Holes: ranges of entry offsets that recovery deliberately skipped (its `SkipCorrupted`
//! mode), recorded in the `HOLES` file so that the gap they leave between two segments is
//! known, not a sign of damage.
//!
//! The file is text: one hole per line, `<start> <end>` (end exclusive), sorted and
//! disjoint, then a line `crc <hex>` holding `chain(0, every byte before that line)`. It
//! is replaced atomically.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use wal_format::crc;

use crate::error::{IoContext, Result, StoreError};
use crate::fs;

/// Name of the holes file in a WAL directory.
pub const HOLES_FILE_NAME: &str = "HOLES";

/// Path of the holes file of `dir`.
pub fn holes_path(dir: &Path) -> PathBuf {
    dir.join(HOLES_FILE_NAME)
}

/// The file's bytes for `holes`.
pub fn encode_holes(holes: &[Range<u64>]) -> String {
    let mut text: String = holes
        .iter()
        .map(|h| format!("{} {}\n", h.start, h.end))
        .collect();
    let check = crc::chain(0, text.as_bytes());
    text.push_str(&format!("crc {check:08x}\n"));
    text
}

/// Parses the file's bytes: sorted, disjoint, non-empty ranges and a matching crc.
pub fn decode_holes(text: &str) -> Option<Vec<Range<u64>>> {
    let body_len = text.rfind("crc ")?;
    let (body, tail) = text.split_at(body_len);
    let stored = u32::from_str_radix(tail.strip_prefix("crc ")?.trim_end(), 16).ok()?;
    if stored != crc::chain(0, body.as_bytes()) {
        return None;
    }
    let mut holes: Vec<Range<u64>> = Vec::new();
    for line in body.lines() {
        let (start, end) = line.split_once(' ')?;
        let hole = start.parse().ok()?..end.parse().ok()?;
        if hole.is_empty() || holes.last().is_some_and(|last| last.end > hole.start) {
            return None;
        }
        holes.push(hole);
    }
    Some(holes)
}

/// Reads the holes of `dir` (none when there is no file).
pub fn read_holes(dir: &Path) -> Result<Vec<Range<u64>>> {
    read_holes_from(&holes_path(dir))
}

/// Reads a holes file at `path` (none when there is no file): `HOLES`, or the file a
/// journaled change will install as `HOLES`. A file that cannot be read is
/// [`StoreError::Io`]; one that was read but is not a holes file (bytes that are not
/// text, a crc that does not match, ranges out of order) is [`StoreError::Layout`]. The
/// two call for different answers: a failed read says nothing about the holes, while a
/// damaged file loses them.
pub fn read_holes_from(path: &Path) -> Result<Vec<Range<u64>>> {
    match std::fs::read(path) {
        Ok(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(decode_holes)
            .ok_or(StoreError::Layout {
                segment: 0,
                detail: format!("{} is corrupt", path.display()),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).io_context("read", path),
    }
}

/// Replaces the holes file of `dir` (removing it when there is no hole).
pub fn write_holes(dir: &Path, holes: &[Range<u64>]) -> Result<()> {
    let path = holes_path(dir);
    if holes.is_empty() {
        if fs::remove_if_present(&path)? {
            fs::sync_dir(dir)?;
        }
        return Ok(());
    }
    fs::write_atomically(dir, &path, encode_holes(holes).as_bytes())
}

/// The offsets with no entry around `offset`, if it lies in a hole: that hole, joined
/// with the holes it touches (two gaps on either side of an empty segment are two holes
/// but one stretch without entries).
pub(crate) fn hole_at(holes: &[Range<u64>], offset: u64) -> Option<Range<u64>> {
    let mut stretch = holes.iter().find(|h| h.contains(&offset))?.clone();
    while let Some(after) = holes
        .iter()
        .find(|h| h.start == stretch.end && !h.is_empty())
    {
        stretch.end = after.end;
    }
    while let Some(before) = holes
        .iter()
        .find(|h| h.end == stretch.start && !h.is_empty())
    {
        stretch.start = before.start;
    }
    Some(stretch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_holes_are_one_stretch() {
        let holes = vec![0..17, 17..1000, 2000..2001];
        assert_eq!(hole_at(&holes, 5), Some(0..1000));
        assert_eq!(hole_at(&holes, 17), Some(0..1000));
        assert_eq!(hole_at(&holes, 999), Some(0..1000));
        assert_eq!(hole_at(&holes, 1000), None);
        assert_eq!(hole_at(&holes, 2000), Some(2000..2001));
    }

    #[test]
    fn round_trip_and_damage() {
        let holes = vec![3..5, 9..10, 100..200];
        let text = encode_holes(&holes);
        assert_eq!(decode_holes(&text), Some(holes));
        assert_eq!(decode_holes(&encode_holes(&[])), Some(vec![]));
        let damaged = text.replacen("100", "101", 1);
        assert_eq!(decode_holes(&damaged), None);
        assert_eq!(decode_holes(""), None);
        let empty_hole = vec![Range { start: 5, end: 5 }];
        assert_eq!(decode_holes(&encode_holes(&empty_hole)), None);
        assert_eq!(decode_holes(&encode_holes(&[1..5, 4..8])), None);
    }
}
