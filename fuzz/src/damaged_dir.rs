//! Building a WAL directory from the fuzzer's bytes: optionally a valid log written by the
//! store (reaching the deep paths of recovery), then edits (bit flips, overwrites,
//! truncations, zeroed ranges, deletions, renames, copies, appended bytes) and new files
//! whose names come from a small alphabet that hits every kind of file recovery knows.
//! Contents are raw bytes or generated to be nearly right (chained records, the index of
//! a data file, a valid cursor, a redo journal, a holes file), so that the fuzzer need not
//! guess a CRC-32C to get past the first check.

use std::ops::Range;
use std::path::Path;

use libfuzzer_sys::arbitrary::Unstructured;
use wal_format::{Codec, FileOffset, Scanner, index};
use wal_recovery::{JOURNAL_FILE_NAME, PENDING_SUFFIX, cursor};
use wal_store::internal::holes;
use wal_store::internal::naming::{self, FileName, LOCK_FILE_NAME};
use wal_store::{SyncPolicy, Wal, WalOptions};

use crate::pick;

/// Numbers that file names, cursors, journals and commit offsets are made of (segment
/// bases of a log written by the store are added to them).
pub const NUMBERS: [u64; 5] = [0, 1, 5, 17, 1000];
/// Largest file the fuzzer writes or grows.
pub const MAX_FILE_BYTES: usize = 4096;
/// Most edits applied to one directory.
pub const MAX_EDITS: usize = 6;

/// How to recover the directory.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The commit offset to pass to recovery.
    pub commit_offset: Option<u64>,
    /// The options to open the log with after recovery.
    pub wal: WalOptions,
}

/// Fills the empty directory `dir` from the input and says how to recover it.
pub fn build(u: &mut Unstructured<'_>, dir: &Path) -> Setup {
    if pick::flag(u) {
        write_valid_log(u, dir);
    }
    let edits = pick::size(u, 0, MAX_EDITS);
    for _ in 0..edits {
        edit(u, dir);
    }
    let commit_offset = if pick::flag(u) {
        let mut numbers = numbers_of(dir);
        numbers.push(u64::MAX);
        Some(pick::one_of(u, &numbers))
    } else {
        None
    };
    Setup {
        commit_offset,
        wal: WalOptions::default()
            .with_segment_bytes(pick::int(u, 64, 512) as u32)
            .with_codec(pick::one_of(u, &[Codec::V2, Codec::V1])),
    }
}

/// A small valid log written through the store: appends, truncations, trims, a cursor,
/// and a change of codec (v1 segments followed by v2 ones, or the reverse).
fn write_valid_log(u: &mut Unstructured<'_>, dir: &Path) {
    let mut options = WalOptions::default()
        .with_segment_bytes(pick::int(u, 64, 512) as u32)
        .with_codec(pick::one_of(u, &[Codec::V2, Codec::V1]))
        .with_sync_policy(SyncPolicy::Manual)
        .with_first_offset(pick::one_of(u, &NUMBERS))
        .with_seed_crc(if pick::flag(u) { pick::any_u32(u) } else { 0 });
    let mut wal = Wal::open(dir, options.clone()).expect("a new log opens");
    let steps = pick::size(u, 0, 12);
    for _ in 0..steps {
        let first = wal.first_offset();
        let next = wal.next_offset();
        let target = pick::int(u, first.saturating_sub(1), next.saturating_add(1));
        // Results are not checked here: the model target checks the store's answers.
        match pick::int(u, 0, 6) {
            0..=2 => {
                let count = pick::size(u, 1, 6);
                let payloads: Vec<Vec<u8>> = (0..count)
                    .map(|_| {
                        let len = pick::size(u, 1, 40);
                        pick::exact_bytes(u, len)
                    })
                    .collect();
                wal.append_batch(&payloads).expect("append to a valid log");
            }
            3 => {
                let _ = wal.truncate_after(target);
            }
            4 => {
                let _ = wal.trim_before(target);
            }
            5 => {
                let _ = wal_recovery::set_cursor(&wal, target);
            }
            _ => {
                wal.close().expect("close a valid log");
                options.codec = match options.codec {
                    Codec::V1 => Codec::V2,
                    Codec::V2 => Codec::V1,
                };
                wal = Wal::open(dir, options.clone()).expect("reopen a valid log");
            }
        }
    }
    wal.close().expect("close a valid log");
}

/// The files at the top of `dir` (the lock file aside), sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names = wal_testkit::file_names(dir);
    names.retain(|n| n != LOCK_FILE_NAME);
    names
}

/// [`NUMBERS`] and the numbers that start a file name in `dir` (segment bases).
fn numbers_of(dir: &Path) -> Vec<u64> {
    let mut numbers = NUMBERS.to_vec();
    for name in file_names(dir) {
        let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<u64>()
            && !numbers.contains(&n)
        {
            numbers.push(n);
        }
    }
    numbers
}

/// A file name from the alphabet: every kind of segment, index, leftover, pending and
/// sidecar file, and a few that recovery must leave alone (among them the names of an
/// older migration journal).
fn file_name(u: &mut Unstructured<'_>, dir: &Path) -> String {
    let n = pick::one_of(u, &numbers_of(dir));
    match pick::int(u, 0, 17) {
        0 => format!("{n}.txnx"),
        1 => format!("{n}.idxx"),
        2 => format!("{n}.txn"),
        3 => format!("{n}.idx"),
        4 => format!("{n}.txnx.tmp"),
        5 => format!("{n}.idxx.tmp"),
        6 => format!("{n}.txnx{PENDING_SUFFIX}"),
        7 => format!("{n}.idxx{PENDING_SUFFIX}"),
        8 => format!("{n}.txnx{PENDING_SUFFIX}.tmp"),
        9 => cursor::CURSOR_FILE_NAME.to_owned(),
        10 => JOURNAL_FILE_NAME.to_owned(),
        11 => holes::HOLES_FILE_NAME.to_owned(),
        12 => format!("{}{PENDING_SUFFIX}", holes::HOLES_FILE_NAME),
        13 => "junk".to_owned(),
        14 => format!("0{n}.txnx"),
        15 => "MIGRATION".to_owned(),
        16 => format!("{n}.txnx.migrating"),
        _ => format!("{n}.txnx.bak"),
    }
}

/// What a name says a file is: a data or index file (also one still pending), with its
/// base and codec.
fn segment_file(name: &str) -> FileName {
    naming::parse_file_name(name.strip_suffix(PENDING_SUFFIX).unwrap_or(name))
}

/// Contents for a file called `name`.
fn content(u: &mut Unstructured<'_>, dir: &Path, name: &str) -> Vec<u8> {
    let mut kind = pick::int(u, 0, 7);
    if kind == 0 {
        // The kind that fits the name.
        let plain = name.strip_suffix(PENDING_SUFFIX).unwrap_or(name);
        kind = match segment_file(name) {
            FileName::Data { .. } => 2,
            FileName::Index { .. } => 4,
            _ if plain == cursor::CURSOR_FILE_NAME => 5,
            _ if plain == JOURNAL_FILE_NAME => 6,
            _ if plain == holes::HOLES_FILE_NAME => 7,
            _ => 1,
        };
    }
    let mut bytes = match kind {
        1 => pick::bytes(u, MAX_FILE_BYTES),
        2 => records(u, dir, name),
        3 => vec![0; pick::size(u, 0, MAX_FILE_BYTES)],
        4 => index_of(u, dir, name),
        5 => {
            let mut numbers = numbers_of(dir);
            numbers.push(u64::MAX);
            cursor::encode_cursor(pick::one_of(u, &numbers)).to_vec()
        }
        6 => journal(u, dir),
        _ => holes_file(u, dir),
    };
    bytes.truncate(MAX_FILE_BYTES);
    bytes
}

/// A redo journal: lines `install <name>` (rename `<name>.pending` over `<name>`) and
/// `remove <name>`, with names from the alphabet, and now and then a line it must skip.
fn journal(u: &mut Unstructured<'_>, dir: &Path) -> Vec<u8> {
    let lines = pick::size(u, 0, 4);
    let mut text = String::new();
    for _ in 0..lines {
        let name = file_name(u, dir);
        match pick::int(u, 0, 4) {
            0 | 1 => text.push_str(&format!("install {name}\n")),
            2 | 3 => text.push_str(&format!("remove {name}\n")),
            _ => text.push_str(&format!("rename {name} ../{name}\n")),
        }
    }
    text.into_bytes()
}

/// A holes file (its crc right) listing ranges between numbers of the directory, sorted
/// and merged so that it usually parses.
fn holes_file(u: &mut Unstructured<'_>, dir: &Path) -> Vec<u8> {
    let numbers = numbers_of(dir);
    let count = pick::size(u, 0, 3);
    let mut ranges: Vec<Range<u64>> = (0..count)
        .map(|_| {
            let a = pick::one_of(u, &numbers);
            let b = pick::one_of(u, &numbers);
            a.min(b)..a.max(b)
        })
        .filter(|r| !r.is_empty())
        .collect();
    if pick::flag(u) {
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::new();
        for r in ranges {
            match merged.last_mut() {
                Some(last) if last.end >= r.start => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        ranges = merged;
    }
    holes::encode_holes(&ranges).into_bytes()
}

/// Records of the codec the name says, chained from 0, from an arbitrary seed, or from
/// the last record of the data file before it (so that it continues the log); then zeros
/// or a few arbitrary bytes.
fn records(u: &mut Unstructured<'_>, dir: &Path, name: &str) -> Vec<u8> {
    let (codec, base) = match segment_file(name) {
        FileName::Data { codec, base } | FileName::Index { codec, base } => (codec, base),
        _ => (Codec::V2, 0),
    };
    let mut prev_crc = match pick::int(u, 0, 2) {
        0 => 0,
        1 => pick::any_u32(u),
        _ => last_crc_before(dir, base).unwrap_or(0),
    };
    let count = pick::size(u, 0, 8);
    let mut out = Vec::new();
    for _ in 0..count {
        let len = pick::size(u, 1, 48);
        let payload = pick::exact_bytes(u, len);
        let at = out.len();
        out.resize(at + codec.header_bytes() + len, 0);
        let encoded = codec
            .encode_record(&mut out[at..], prev_crc, &payload)
            .expect("encode into a buffer of the right size");
        prev_crc = encoded.crc.unwrap_or(prev_crc);
    }
    if pick::flag(u) {
        out.extend(pick::bytes(u, 32));
    } else {
        out.resize(out.len() + pick::size(u, 0, 256), 0);
    }
    out
}

/// The crc of the last record of the v2 data file with the highest base below `base`.
fn last_crc_before(dir: &Path, base: u64) -> Option<u32> {
    let (_, name) = file_names(dir)
        .into_iter()
        .filter_map(|name| match naming::parse_file_name(&name) {
            FileName::Data {
                base: b,
                codec: Codec::V2,
            } if b < base => Some((b, name)),
            _ => None,
        })
        .max()?;
    let data = std::fs::read(dir.join(name)).ok()?;
    Scanner::new(Codec::V2, &data).finish().last_crc
}

/// An index for the data file the name belongs to: its records' offsets exactly, one
/// short, one too many, or offsets from the input.
fn index_of(u: &mut Unstructured<'_>, dir: &Path, name: &str) -> Vec<u8> {
    let (codec, base) = match segment_file(name) {
        FileName::Data { codec, base } | FileName::Index { codec, base } => (codec, base),
        _ => (Codec::V2, 0),
    };
    let data = std::fs::read(naming::data_path(dir, base, codec)).unwrap_or_default();
    let mut offsets: Vec<FileOffset> = Scanner::new(codec, &data).map(|r| r.file_offset).collect();
    match pick::int(u, 0, 3) {
        0 => {}
        1 => {
            offsets.pop();
        }
        2 => {
            let last = offsets.last().map_or(0, |o| o.0);
            offsets.push(FileOffset(last + pick::int(u, 1, 64) as u32));
        }
        _ => {
            let count = pick::size(u, 0, 8);
            offsets = (0..count)
                .map(|_| FileOffset(pick::int(u, 0, MAX_FILE_BYTES as u64) as u32))
                .collect();
        }
    }
    let mut bytes = vec![0u8; index::index_bytes(codec, offsets.len())];
    index::encode(codec, &offsets, &mut bytes).expect("encode an index of the right size");
    bytes
}

/// One change to the directory.
fn edit(u: &mut Unstructured<'_>, dir: &Path) {
    let names = file_names(dir);
    let kind = pick::int(u, 0, 8);
    if kind == 0 || names.is_empty() {
        let name = file_name(u, dir);
        let bytes = content(u, dir, &name);
        std::fs::write(dir.join(name), bytes).expect("write a new file");
        return;
    }
    let name = pick::one_of(u, &names.iter().map(String::as_str).collect::<Vec<_>>()).to_owned();
    let path = dir.join(&name);
    let mut bytes = std::fs::read(&path).expect("read a file to edit");
    let len = bytes.len();
    match kind {
        1 => {
            if len > 0 {
                let at = pick::size(u, 0, len - 1);
                bytes[at] ^= pick::int(u, 1, 255) as u8;
            }
        }
        2 => {
            let at = pick::size(u, 0, len);
            let patch = pick::bytes(u, 16);
            let end = (at + patch.len()).min(MAX_FILE_BYTES);
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[at..end].copy_from_slice(&patch[..end - at]);
        }
        3 => bytes.truncate(pick::size(u, 0, len)),
        4 => {
            let from = pick::size(u, 0, len);
            let to = pick::size(u, from, len);
            bytes[from..to].fill(0);
        }
        5 => {
            std::fs::remove_file(&path).expect("remove a file");
            return;
        }
        6 | 7 => {
            let to = file_name(u, dir);
            if kind == 6 {
                std::fs::rename(&path, dir.join(to)).expect("rename a file");
            } else {
                std::fs::write(dir.join(to), &bytes).expect("copy a file");
            }
            return;
        }
        _ => {
            let more = content(u, dir, &name);
            bytes.extend(more);
            bytes.truncate(MAX_FILE_BYTES.max(len));
        }
    }
    std::fs::write(&path, bytes).expect("write an edited file");
}
