//! Helpers shared by the store's behaviour tests: payloads derived from offsets, a model
//! of where rotation puts each record, and checks of the files on disk.
//!
//! Each test binary uses a different part of this module.
//!
//! Directories are made by `wal_testkit::tempdir`, on tmpfs (`/dev/shm`) when there is
//! one: these tests check what the store does with files, not what the medium keeps after
//! a power loss, and on the development machine an fsync of ext4 costs about 10 ms, so a
//! rotation (about four fsyncs) would make a test of dozens of segments take seconds. Set
//! `WAL_TEST_TMPDIR` to run them in another directory (`WAL_TEST_TMPDIR=/tmp` for a real
//! disk).
#![allow(dead_code, reason = "each test file uses only some of the helpers")]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;

use wal_store::format::{Codec, Decoded, FileOffset, IndexView, crc};
use wal_store::internal::naming::{self, FileName};
use wal_store::{Appended, Entry, Wal, WalOptions};

// Scratch directories and payloads come from the workspace's test-support crate: the
// payload of entry `offset` names it, then pads by a length that varies with it (so that
// records have different sizes); `other_payload` differs from it (written after a
// truncation, so that a dropped entry read back by mistake cannot pass for a new one).
#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::{
    payload::{varied as payload, varied_again as other_payload},
    tempdir,
};

/// Options with tiny segments (so that a few hundred entries span dozens of them).
pub fn options(segment_bytes: u32) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(segment_bytes)
        .with_max_entry_bytes(64 * 1024)
}

/// Appends the entries `offsets` (which must be the next ones) with `make` payloads,
/// checking each returned offset and, for v2, each returned crc against the chain.
pub fn append_all(
    wal: &Wal,
    offsets: std::ops::Range<u64>,
    make: impl Fn(u64) -> Vec<u8>,
) -> Vec<Appended> {
    let mut appended = Vec::new();
    for offset in offsets {
        let prev = wal.last_crc();
        let data = make(offset);
        let got = wal.append(&data).unwrap();
        assert_eq!(got.offset, offset);
        match prev {
            Some(prev) if got.crc.is_some() => {
                assert_eq!(
                    got.crc,
                    Some(crc::chain(prev, &data)),
                    "crc of entry {offset}"
                );
            }
            _ => {}
        }
        assert_eq!(wal.last_crc(), got.crc);
        appended.push(got);
    }
    appended
}

/// Every entry the log shows, oldest first.
pub fn entries(wal: &Wal) -> Vec<Entry> {
    wal.iter().collect::<Result<Vec<_>, _>>().unwrap()
}

/// Checks that `entries` are exactly `offsets`, with the payloads `make` gives.
pub fn assert_payloads(
    entries: &[Entry],
    offsets: std::ops::Range<u64>,
    make: impl Fn(u64) -> Vec<u8>,
) {
    let got: Vec<u64> = entries.iter().map(|e| e.offset).collect();
    let expected: Vec<u64> = offsets.collect();
    assert_eq!(got, expected, "offsets");
    for entry in entries {
        assert_eq!(
            entry.payload,
            make(entry.offset),
            "payload of entry {}",
            entry.offset
        );
    }
}

/// Checks the v2 chain of consecutive `entries`: the first is seeded with `seed`, each
/// crc is `chain(prev_crc, payload)`, and each prev_crc is the crc of the entry before.
pub fn assert_chain(entries: &[Entry], seed: u32) {
    let mut prev = seed;
    for entry in entries {
        assert_eq!(
            entry.prev_crc,
            Some(prev),
            "prev_crc of entry {}",
            entry.offset
        );
        let expected = crc::chain(prev, &entry.payload);
        assert_eq!(entry.crc, Some(expected), "crc of entry {}", entry.offset);
        prev = expected;
    }
}

/// Names of the files in `dir` (not the lock file nor the seed file), sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names = wal_testkit::snapshot::entry_names(dir);
    names.retain(|name| name != naming::LOCK_FILE_NAME && name != wal_store::SEED_FILE_NAME);
    names
}

/// Base offsets of the data files in `dir`, ascending, with their codec.
pub fn data_files(dir: &Path) -> Vec<(u64, Codec)> {
    let mut found: Vec<(u64, Codec)> = file_names(dir)
        .iter()
        .filter_map(|name| match naming::parse_file_name(name) {
            FileName::Data { base, codec } => Some((base, codec)),
            _ => None,
        })
        .collect();
    found.sort_unstable();
    found
}

/// Base offsets of the index files in `dir`, ascending, with their codec.
pub fn index_files(dir: &Path) -> Vec<(u64, Codec)> {
    let mut found: Vec<(u64, Codec)> = file_names(dir)
        .iter()
        .filter_map(|name| match naming::parse_file_name(name) {
            FileName::Index { base, codec } => Some((base, codec)),
            _ => None,
        })
        .collect();
    found.sort_unstable();
    found
}

/// Bytes of the data file of segment `base`.
pub fn read_data(dir: &Path, base: u64, codec: Codec) -> Vec<u8> {
    std::fs::read(naming::data_path(dir, base, codec)).unwrap()
}

/// One segment as the rotation rule should lay it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentModel {
    /// Offset of its first entry (its file name).
    pub base: u64,
    /// Bytes its records may take: its data file is one byte longer (the length other
    /// implementations of the format give their files).
    pub capacity: usize,
    /// File offset of each entry.
    pub file_offsets: Vec<u32>,
    /// Bytes of records written.
    pub data_len: usize,
}

impl SegmentModel {
    /// Number of entries.
    pub fn entries(&self) -> u64 {
        self.file_offsets.len() as u64
    }

    /// Offset one past its last entry.
    pub fn end(&self) -> u64 {
        self.base + self.entries()
    }
}

/// Where the documented rotation rule puts every record: a record that does not fit in
/// the active segment starts a new one of `max(record, segment_bytes)` bytes, unless the
/// active segment is empty, in which case that one grows to fit; a segment whose records
/// then reach past `segment_bytes` is sealed at once.
#[derive(Debug, Clone)]
pub struct LogModel {
    pub codec: Codec,
    pub segment_bytes: usize,
    pub segments: Vec<SegmentModel>,
    /// The logical start (a trim's offset): entries below it are gone, whatever the
    /// segments still hold.
    pub start: u64,
}

impl LogModel {
    /// A new log whose first entry is `first_offset`.
    pub fn new(codec: Codec, segment_bytes: u32, first_offset: u64) -> LogModel {
        let segment_bytes = segment_bytes as usize;
        LogModel {
            codec,
            segment_bytes,
            segments: vec![SegmentModel {
                base: first_offset,
                capacity: segment_bytes,
                file_offsets: Vec::new(),
                data_len: 0,
            }],
            start: first_offset,
        }
    }

    /// The model of appending entries `offsets` with `make` payloads to a new log.
    pub fn of(
        codec: Codec,
        segment_bytes: u32,
        offsets: std::ops::Range<u64>,
        make: impl Fn(u64) -> Vec<u8>,
    ) -> LogModel {
        let mut model = LogModel::new(codec, segment_bytes, offsets.start);
        for offset in offsets {
            model.append(make(offset).len());
        }
        model
    }

    /// Offset the next entry gets.
    pub fn next_offset(&self) -> u64 {
        self.segments.last().unwrap().end()
    }

    /// Places one record of a payload of `payload_len` bytes.
    pub fn append(&mut self, payload_len: usize) {
        let needed = self.codec.record_bytes(payload_len).unwrap();
        let segment_bytes = self.segment_bytes;
        let next = self.next_offset();
        let active = self.segments.last_mut().unwrap();
        if active.data_len + needed > active.capacity.min(segment_bytes) {
            if active.file_offsets.is_empty() {
                active.capacity = needed.max(segment_bytes);
            } else {
                self.segments.push(SegmentModel {
                    base: next,
                    capacity: needed.max(segment_bytes),
                    file_offsets: Vec::new(),
                    data_len: 0,
                });
            }
        }
        let active = self.segments.last_mut().unwrap();
        active
            .file_offsets
            .push(u32::try_from(active.data_len).unwrap());
        active.data_len += needed;
        // A segment grown for an entry larger than a segment is sealed at once.
        if active.data_len > segment_bytes {
            let next = active.end();
            self.segments.push(SegmentModel {
                base: next,
                capacity: segment_bytes,
                file_offsets: Vec::new(),
                data_len: 0,
            });
        }
    }

    /// What `truncate_after(offset)` should leave: the segment holding `offset` (or the
    /// first one, when `offset` is one before the first entry) becomes the last, cut
    /// after `offset`, keeping its size.
    pub fn truncate_after(&mut self, offset: u64) {
        let keep = self
            .segments
            .iter()
            .rposition(|s| s.base <= offset)
            .unwrap_or(0);
        self.segments.truncate(keep + 1);
        let segment = self.segments.last_mut().unwrap();
        let position = usize::try_from((offset + 1).saturating_sub(segment.base)).unwrap();
        if position < segment.file_offsets.len() {
            segment.data_len = segment.file_offsets[position] as usize;
            segment.file_offsets.truncate(position);
        }
    }

    /// What `trim_before(offset)` should leave, and how many segments it removes: the
    /// log starts at `offset` (when that is past its start), and the sealed segments
    /// whose entries all lie before the start go.
    pub fn trim_before(&mut self, offset: u64) -> usize {
        self.start = self.start.max(offset);
        let removable = self.segments[1..]
            .iter()
            .take_while(|next| next.base <= self.start)
            .count();
        self.segments.drain(..removable);
        removable
    }

    /// Offset of the first entry the log holds (its logical start).
    pub fn first_offset(&self) -> u64 {
        self.start.max(self.segments[0].base)
    }

    /// Base offsets of every segment.
    pub fn bases(&self) -> Vec<u64> {
        self.segments.iter().map(|s| s.base).collect()
    }

    /// The segment holding `offset`.
    pub fn segment_of(&self, offset: u64) -> &SegmentModel {
        self.segments
            .iter()
            .find(|s| s.base <= offset && offset < s.end())
            .unwrap()
    }

    /// File offset of the entry at `offset` in its segment.
    pub fn file_offset_of(&self, offset: u64) -> u32 {
        let segment = self.segment_of(offset);
        segment.file_offsets[usize::try_from(offset - segment.base).unwrap()]
    }
}

/// Checks a sealed segment's files against the model: its index file parses, lists
/// exactly the model's file offsets, and the data file holds the expected records there
/// (chained, for v2), followed by zeros.
pub fn assert_sealed_segment(
    dir: &Path,
    codec: Codec,
    segment: &SegmentModel,
    make: impl Fn(u64) -> Vec<u8>,
) {
    let index_bytes = std::fs::read(naming::index_path(dir, segment.base, codec))
        .unwrap_or_else(|e| panic!("index file of sealed segment {}: {e}", segment.base));
    let view = IndexView::parse(codec, &index_bytes).unwrap();
    let listed: Vec<u32> = view.iter().map(|o| o.0).collect();
    assert_eq!(
        listed, segment.file_offsets,
        "index of segment {}",
        segment.base
    );
    assert_segment_records(dir, codec, segment, make);
}

/// Checks that the data file of `segment` has the model's size and holds the expected
/// records at the model's file offsets, then only zeros.
pub fn assert_segment_records(
    dir: &Path,
    codec: Codec,
    segment: &SegmentModel,
    make: impl Fn(u64) -> Vec<u8>,
) {
    let data = read_data(dir, segment.base, codec);
    assert_eq!(
        data.len(),
        segment.capacity + 1,
        "size of data file {}",
        segment.base
    );
    let mut prev_crc = None;
    for (position, &at) in segment.file_offsets.iter().enumerate() {
        let offset = segment.base + position as u64;
        let Decoded::Record { record, .. } = codec.decode_record(&data, FileOffset(at)).unwrap()
        else {
            panic!("no record of entry {offset} at file offset {at}");
        };
        assert_eq!(
            record.payload,
            make(offset).as_slice(),
            "payload of entry {offset}"
        );
        if codec.has_crc() {
            if let Some(prev) = prev_crc {
                assert_eq!(record.prev_crc, Some(prev), "chain at entry {offset}");
            }
            assert_eq!(
                record.crc,
                Some(crc::chain(record.prev_crc.unwrap(), record.payload))
            );
            prev_crc = record.crc;
        } else {
            assert_eq!((record.prev_crc, record.crc), (None, None));
        }
    }
    assert!(
        data[segment.data_len..].iter().all(|&b| b == 0),
        "bytes after the records of segment {} are not zero",
        segment.base
    );
}

/// Checks that every byte of the data file of segment `base` from `file_offset` on is zero.
pub fn assert_zero_from(dir: &Path, base: u64, codec: Codec, file_offset: usize) {
    let data = read_data(dir, base, codec);
    assert!(file_offset <= data.len());
    if let Some(at) = data[file_offset..].iter().position(|&b| b != 0) {
        panic!(
            "data file {base} has a non-zero byte at {} (after the cut at {file_offset})",
            file_offset + at
        );
    }
}

/// Checks the directory holds exactly the segments of `model`: one data file per
/// segment, an index file for every sealed one and none for the last (active) one, and
/// nothing else but a close record.
pub fn assert_files_match(dir: &Path, model: &LogModel) {
    let codec = model.codec;
    let mut expected: Vec<String> = Vec::new();
    let last = model.segments.len() - 1;
    for (i, segment) in model.segments.iter().enumerate() {
        expected.push(naming::data_file_name(segment.base, codec));
        if i != last {
            expected.push(naming::index_file_name(segment.base, codec));
        }
    }
    expected.sort();
    // The close record a clean close leaves is no segment file (tests/close_record.rs).
    let mut found = file_names(dir);
    found.retain(|name| name != wal_store::internal::closed::CLOSED_FILE_NAME);
    assert_eq!(found, expected);
}
