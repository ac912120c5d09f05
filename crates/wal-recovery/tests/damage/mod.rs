//! Builders of damaged WAL directories, for recovery tests, on top of the workspace's
//! test-support crate (`wal_testkit`: its damage helpers, segment builders and snapshots).
//!
//! A [`Log`] is a real log, written by `wal_store::Wal` into its own temporary directory
//! with tiny segments, so that a few dozen entries span several segments and every entry
//! sits at a file offset known in advance (see the layout constants). Its methods then
//! damage the files on disk the way a crash, a lost page, bit rot or a careless operator
//! would: flip a byte, zero a range, truncate, delete, rename, copy a file from another
//! history, write a stray file. Nothing here goes through the library to damage a file:
//! every change is a plain file-system call, so the damage is exactly what the test says.
//!
//! [`snapshot`] captures every file and folder under a directory (a `wal_testkit` tree),
//! to prove that an operation changed nothing (or only what it reported).
//!
//! Each test crate that declares `mod damage;` uses a part of this module, hence the
//! `dead_code` allowance below.

// Helpers of integration tests: a panic here is a failed test, never a crash in a user's
// process (the workspace's clippy.toml allows these only inside #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(dead_code)]

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use wal_store::format::{Codec, FileOffset, Scanner};
use wal_store::{SyncPolicy, Wal, WalOptions};
use wal_testkit::{damage, segment};

pub use wal_testkit::snapshot::{Node, Tree as Snapshot};

/// Size of every data file the builders create.
pub const SEGMENT_BYTES: u32 = 512;
/// Size of every payload the builders write.
pub const PAYLOAD_BYTES: u32 = 28;
/// Size of one v2 record (12-byte header plus the payload).
pub const RECORD_BYTES: u32 = 12 + PAYLOAD_BYTES;
/// Size of one v1 record (4-byte header plus the payload).
pub const V1_RECORD_BYTES: u32 = 4 + PAYLOAD_BYTES;
/// Entries a v2 segment holds before the store rotates: entry `k` of a log starting at 0
/// is record `k % 12` of segment `k / 12 * 12`, at file offset `(k % 12) * 40`.
pub const ENTRIES_PER_SEGMENT: u32 = 12;

const _: () = {
    let full = ENTRIES_PER_SEGMENT * RECORD_BYTES;
    assert!(full <= SEGMENT_BYTES && full + RECORD_BYTES > SEGMENT_BYTES);
};

/// The payload of entry `offset` in history `generation`. Histories differ only in their
/// first entry, so two histories hold the same payloads from entry 1 on but every crc of
/// their chains differs: a file copied from one into the other is a chain break, nothing
/// else. Payloads are printable ASCII (never a zero byte), so the last non-zero byte of a
/// data file is the end of its last record.
pub fn payload(generation: u8, offset: u64) -> Vec<u8> {
    let text = if offset == 0 {
        format!("history {generation} entry {offset:04}")
    } else {
        format!("entry {offset:04}")
    };
    let mut bytes = text.into_bytes();
    bytes.resize(PAYLOAD_BYTES as usize, b'.');
    bytes
}

/// The store options every builder writes with (and every test opens with).
pub fn wal_options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_sync_policy(SyncPolicy::Manual)
}

/// Name of the v2 data file of the segment at `base`.
pub fn data_file(base: u64) -> String {
    segment::data_file_name(base, Codec::V2)
}

/// Name of the v2 index file of the segment at `base`.
pub fn index_file(base: u64) -> String {
    segment::index_file_name(base, Codec::V2)
}

/// A log in a temporary directory (removed on drop), and the payloads written to it.
#[derive(Debug)]
pub struct Log {
    dir: TempDir,
    /// Offset of the first entry written.
    first: u64,
    /// The payloads written, entry `first + i` at `i`.
    payloads: Vec<Vec<u8>>,
}

impl Log {
    /// A clean log of `entries` entries (history 0) from offset 0, every one durable,
    /// left as a crash then would (no close record: after a clean close, recovery would
    /// trust the log instead of checking it): with 30 entries, segments 0 and 12 are
    /// sealed (12 entries and an index each) and segment 24 is active (6 entries, no
    /// index).
    pub fn new(entries: u64) -> Log {
        Log::of_history(0, entries)
    }

    /// Like [`Log::new`], with the payloads of another history.
    pub fn of_history(generation: u8, entries: u64) -> Log {
        let dir = wal_testkit::tempdir();
        let payloads: Vec<Vec<u8>> = (0..entries).map(|i| payload(generation, i)).collect();
        let wal = Wal::open(dir.path(), wal_options()).unwrap();
        for p in &payloads {
            wal.append(p).unwrap();
        }
        wal.sync().unwrap();
        drop(wal);
        Log {
            dir,
            first: 0,
            payloads,
        }
    }

    /// A directory that the test fills by hand (with [`Log::write`] and
    /// [`write_segment`]); `payloads` are the entries it is meant to hold from `first` on.
    /// It gets an empty `LOCK` file, as a directory written by the store has.
    pub fn by_hand(first: u64, payloads: Vec<Vec<u8>>) -> Log {
        let dir = wal_testkit::tempdir();
        fs::write(dir.path().join("LOCK"), b"").unwrap();
        Log {
            dir,
            first,
            payloads,
        }
    }

    /// The log's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path of file `name` in the log's directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The payloads of entries `range` as written (panics outside what was written).
    pub fn payloads(&self, range: Range<u64>) -> Vec<Vec<u8>> {
        let from = usize::try_from(range.start - self.first).unwrap();
        let to = usize::try_from(range.end - self.first).unwrap();
        self.payloads[from..to].to_vec()
    }

    /// Opens the log with the store (strictly: it must be clean), for operations such as
    /// a trim; close the `Wal` before damaging anything.
    pub fn wal(&self) -> Wal {
        Wal::open(self.path(), wal_options()).unwrap()
    }

    /// The bytes of file `name`.
    pub fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.file(name)).unwrap()
    }

    /// Writes `bytes` as the whole of file `name` (created if missing).
    pub fn write(&self, name: &str, bytes: &[u8]) {
        fs::write(self.file(name), bytes).unwrap();
    }

    /// XORs the byte at `at` of file `name` with `mask` (bit rot, or a torn write).
    pub fn flip(&self, name: &str, at: u64, mask: u8) {
        damage::xor_byte(&self.file(name), usize::try_from(at).unwrap(), mask);
    }

    /// Zeroes `range` of file `name` (a lost or zeroed page).
    pub fn zero(&self, name: &str, range: Range<u64>) {
        let range = usize::try_from(range.start).unwrap()..usize::try_from(range.end).unwrap();
        damage::zero_range(&self.file(name), range);
    }

    /// Cuts file `name` to `len` bytes.
    pub fn truncate(&self, name: &str, len: u64) {
        damage::set_len(&self.file(name), len);
    }

    /// Deletes file `name`.
    pub fn remove(&self, name: &str) {
        damage::remove(&self.file(name));
    }

    /// Renames file `from` to `to`.
    pub fn rename(&self, from: &str, to: &str) {
        fs::rename(self.file(from), self.file(to)).unwrap();
    }

    /// Replaces file `name` with the file of the same name from `other` (a file from
    /// another history, or another replica).
    pub fn copy_from(&self, other: &Log, name: &str) {
        self.write(name, &other.read(name));
    }

    /// File offsets of the records of data file `name`, as a scan from the start finds
    /// them (only the valid prefix).
    pub fn record_offsets(&self, name: &str) -> Vec<u32> {
        record_offsets(&self.read(name))
    }

    /// The v2 index that lists the first `entries` records of data file `name`, as the
    /// store writes it when it seals the segment.
    pub fn index_of(&self, name: &str, entries: usize) -> Vec<u8> {
        let offsets = self.record_offsets(name);
        encode_index(Codec::V2, &offsets[..entries])
    }
}

/// File offsets of the records of a v2 data file's valid prefix.
pub fn record_offsets(data: &[u8]) -> Vec<u32> {
    Scanner::new(Codec::V2, data)
        .map(|record| record.file_offset.0)
        .collect()
}

/// The bytes of an index listing `offsets`.
pub fn encode_index(codec: Codec, offsets: &[u32]) -> Vec<u8> {
    let offsets: Vec<FileOffset> = offsets.iter().copied().map(FileOffset).collect();
    segment::encode_index(codec, &offsets)
}

/// Writes segment `base` of `log` by hand: its data file (zero-filled to
/// [`SEGMENT_BYTES`], as the store preallocates it) holding `payloads` chained from `seed`
/// (v2) and, if `sealed`, the index the store writes when it seals it. Returns the crc to
/// seed the next segment with (v2).
pub fn write_segment(
    log: &Log,
    base: u64,
    codec: Codec,
    seed: u32,
    payloads: &[Vec<u8>],
    sealed: bool,
) -> u32 {
    let written = segment::write_segment(
        log.path(),
        base,
        codec,
        seed,
        payloads,
        SEGMENT_BYTES as usize,
        sealed,
    );
    written.last_crc().unwrap_or(seed)
}

/// Takes a [`Snapshot`] of everything under `dir`.
pub fn snapshot(dir: &Path) -> Snapshot {
    Snapshot::take(dir)
}

/// The paths whose content differs between two snapshots (or that are in only one),
/// but the store's close record: a repair removes it before it changes the active
/// segment (it holds no entry; the report need not name it).
pub fn changed_paths(before: &Snapshot, after: &Snapshot) -> Vec<PathBuf> {
    let close_record = Path::new(wal_store::internal::closed::CLOSED_FILE_NAME);
    let mut changed = before.changed(after);
    changed.retain(|path| path.as_path() != close_record);
    changed
}
