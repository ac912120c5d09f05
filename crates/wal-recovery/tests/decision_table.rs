//! The decision table of docs/RECOVERY.md, executed.
//!
//! Each case builds a damaged directory (see `damage`), names the problems recovery must
//! find, and the outcome of `wal_recovery::open` under each of the four modes. For every
//! case there are five tests, `<case>::verify`, `<case>::absolute_consistency`,
//! `<case>::tolerate_corrupt_tail`, `<case>::point_in_time` and `<case>::skip_corrupted`,
//! each on a freshly built directory:
//!
//! - `verify` reports exactly the case's problems, says ok exactly when all of them are
//!   informational or a sealed segment's missing or corrupt index, and changes no byte;
//! - a refusal returns the expected error and changes no byte;
//! - a success recovers exactly the expected entries (the readable offsets: the range
//!   opened, less the holes), reports the case's problems and exactly the expected actions
//!   (each checked on disk: a cut's bytes are in quarantine, a moved file holds what it
//!   held, a rebuilt index agrees with its data, a split segment's files are new, the
//!   `HOLES` file lists exactly the expected holes, a clamped cursor says where it was
//!   clamped to), changes nothing it did not report, says whether the directory was clean,
//!   and leaves a directory that `verify` accepts and that a second `open` in the same
//!   mode leaves alone (recovery is idempotent). After `SkipCorrupted`, an open in the
//!   default mode also leaves it alone: known holes are not problems.
//!
//! Layout of the logs (see `damage`): 40-byte records, 12 per segment; with 30 entries,
//! segments 0 (entries 0..=11) and 12 (12..=23) are sealed, segment 24 (24..=29) is
//! active. Entry `k` of a segment at base `b` starts at file offset `(k - b) * 40`.

// Test code: a panic is a failed test (the workspace's clippy.toml allows these only
// inside #[test] functions, and the helpers here are plain functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod damage;

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use damage::{Log, Node, Snapshot, data_file, index_file};
use wal_recovery::{
    Action, ProblemKind, QUARANTINE_DIR_NAME, RecoveryError, RecoveryMode, RecoveryOptions,
    RecoveryReport,
};
use wal_store::StoreError;
use wal_store::format::{Codec, IndexView};

use ProblemKind as K;

// ---------------------------------------------------------------------------------------
// What a case expects.

/// A problem as the table names it: its kind, the first entry offset it affects, and
/// whether it is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct P {
    kind: ProblemKind,
    offset: Option<u64>,
    committed: bool,
    /// Damage in entries the consumer consumed (wholly before the cursor).
    consumed: bool,
}

/// A problem about entries, at `offset`.
fn at(kind: ProblemKind, offset: u64, committed: bool) -> P {
    P {
        kind,
        offset: Some(offset),
        committed,
        consumed: false,
    }
}

/// Committed damage in entries the consumer consumed, at `offset`.
fn consumed_at(kind: ProblemKind, offset: u64) -> P {
    P {
        consumed: true,
        ..at(kind, offset, true)
    }
}

/// A problem about a file or an index, at no entry offset, never committed.
fn file(kind: ProblemKind) -> P {
    P {
        kind,
        offset: None,
        committed: false,
        consumed: false,
    }
}

/// Whether a problem only needs reporting (docs/RECOVERY.md, "Three notions of clean"):
/// a file recovery does not know, or a cursor before the first entry. `verify`'s ok and
/// `RecoveryReport::is_clean` ignore exactly these. Written out here, not taken from
/// `Problem::is_informational`, so that the table checks the library.
fn informational(p: &P) -> bool {
    match p.kind {
        K::UnknownFile => true,
        K::CursorOutOfRange => !p.committed,
        _ => false,
    }
}

/// Problems `verify` reports and still says ok (docs/RECOVERY.md, "Three notions of
/// clean"): the informational ones, and a sealed segment's missing or corrupt index
/// (derived data every reader of the format rebuilds). Written out here too.
fn verify_ignores(p: &P) -> bool {
    informational(p) || matches!(p.kind, K::IndexMissing | K::IndexCorrupt)
}

/// Problems `AbsoluteConsistency` opens with (docs/RECOVERY.md, the modes): the
/// informational ones and leftover temporary files (which it leaves in place).
fn absolute_ignores(p: &P) -> bool {
    informational(p) || p.kind == K::TempFile
}

/// An action as the table names it (files by name, in the log's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Act {
    IndexRebuilt {
        segment: u64,
        entries: u64,
    },
    ActiveIndexRemoved(u64),
    TailCut {
        file: String,
        file_offset: u32,
        bytes: u64,
    },
    Moved(String),
    HoleLeft(Range<u64>),
    Split {
        segment: u64,
        into: u64,
    },
    CursorClamped {
        from: u64,
        to: Option<u64>,
    },
    TempRemoved(String),
}

fn rebuilt(segment: u64, entries: u64) -> Act {
    Act::IndexRebuilt { segment, entries }
}

fn index_removed(segment: u64) -> Act {
    Act::ActiveIndexRemoved(segment)
}

fn tail_cut(base: u64, file_offset: u32, bytes: u64) -> Act {
    tail_cut_of(&data_file(base), file_offset, bytes)
}

fn tail_cut_of(file: &str, file_offset: u32, bytes: u64) -> Act {
    Act::TailCut {
        file: file.to_owned(),
        file_offset,
        bytes,
    }
}

fn moved(name: &str) -> Act {
    Act::Moved(name.to_owned())
}

fn hole_left(offsets: Range<u64>) -> Act {
    Act::HoleLeft(offsets)
}

fn split(segment: u64, into: u64) -> Act {
    Act::Split { segment, into }
}

fn cursor_clamped(from: u64, to: Option<u64>) -> Act {
    Act::CursorClamped { from, to }
}

fn temp_removed(name: &str) -> Act {
    Act::TempRemoved(name.to_owned())
}

/// How `open` refuses.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// `RecoveryError::Inconsistent`, listing every problem that counts.
    Inconsistent,
    /// `RecoveryError::CommittedCorruption`, naming the first committed data problem.
    Committed(ProblemKind, u64),
}

/// A successful open.
#[derive(Debug, Clone)]
struct Opened {
    first: u64,
    last: Option<u64>,
    replay_from: u64,
    actions: Vec<Act>,
    /// The entries the report says were cut, and whether any was committed.
    cut: Option<(Range<u64>, bool)>,
    /// The holes the `HOLES` file lists afterwards: offsets between `first` and `last`
    /// that cannot be read.
    holes: Vec<Range<u64>>,
    /// What every later `verify` and `open` (same mode, same commit offset) still
    /// reports: things recovery does not remove.
    after: Vec<P>,
    /// Offsets between `first` and `last` set aside by the default mode (damage before
    /// the cursor): reading them fails with a typed error.
    unreadable: Vec<Range<u64>>,
}

#[derive(Debug, Clone)]
enum Outcome {
    Refused(Refusal),
    Opened(Opened),
}

/// Opened, entries `0..=last`, nothing done.
fn unchanged(last: u64) -> Opened {
    Opened {
        first: 0,
        last: Some(last),
        replay_from: 0,
        actions: Vec::new(),
        cut: None,
        holes: Vec::new(),
        after: Vec::new(),
        unreadable: Vec::new(),
    }
}

impl Opened {
    fn did(mut self, actions: Vec<Act>) -> Opened {
        self.actions = actions;
        self
    }

    fn cut(mut self, offsets: Range<u64>, committed: bool) -> Opened {
        self.cut = Some((offsets, committed));
        self
    }

    /// A hole the `HOLES` file lists afterwards (in order).
    fn hole(mut self, offsets: Range<u64>) -> Opened {
        self.holes.push(offsets);
        self
    }

    fn replay_from(mut self, offset: u64) -> Opened {
        self.replay_from = offset;
        self
    }

    fn first(mut self, offset: u64) -> Opened {
        self.first = offset;
        self.replay_from = self.replay_from.max(offset);
        self
    }

    /// Offsets set aside, whose reads fail (damage before the cursor).
    fn unreadable(mut self, offsets: Range<u64>) -> Opened {
        self.unreadable.push(offsets);
        self
    }

    fn still_reports(mut self, problems: &[P]) -> Opened {
        self.after = problems.to_vec();
        self
    }

    fn ok(self) -> Outcome {
        Outcome::Opened(self)
    }

    /// The offsets that can be read: `first..=last`, less the holes and the offsets set
    /// aside.
    fn readable(&self) -> Vec<u64> {
        let end = self.last.map_or(self.first, |l| l + 1);
        (self.first..end)
            .filter(|o| !self.holes.iter().any(|h| h.contains(o)))
            .filter(|o| !self.unreadable.iter().any(|h| h.contains(o)))
            .collect()
    }
}

fn inconsistent() -> Outcome {
    Outcome::Refused(Refusal::Inconsistent)
}

fn committed(kind: ProblemKind, offset: u64) -> Outcome {
    Outcome::Refused(Refusal::Committed(kind, offset))
}

/// One row of the decision table.
struct Case {
    log: Log,
    commit_offset: Option<u64>,
    problems: Vec<P>,
    absolute: Outcome,
    tolerate: Outcome,
    point_in_time: Outcome,
    skip: Outcome,
}

impl Case {
    fn outcome(&self, mode: RecoveryMode) -> &Outcome {
        match mode {
            RecoveryMode::AbsoluteConsistency => &self.absolute,
            RecoveryMode::TolerateCorruptTail => &self.tolerate,
            RecoveryMode::PointInTime => &self.point_in_time,
            RecoveryMode::SkipCorrupted => &self.skip,
            other => panic!("the table has no column for {other:?}"),
        }
    }
}

/// The same outcome in the three modes that write (`TolerateCorruptTail`, `PointInTime`,
/// `SkipCorrupted`).
fn writing(outcome: Outcome) -> (Outcome, Outcome, Outcome) {
    (outcome.clone(), outcome.clone(), outcome)
}

/// The same outcome in every mode.
fn every_mode(outcome: Outcome) -> (Outcome, Outcome, Outcome, Outcome) {
    (outcome.clone(), outcome.clone(), outcome.clone(), outcome)
}

// ---------------------------------------------------------------------------------------
// The rows. Offsets below assume the 30-entry layout described at the top.

mod cases {
    use super::*;
    use damage::{encode_index, payload, write_segment};

    /// A case whose directory every mode opens as it is.
    fn opened_by_every_mode(
        log: Log,
        commit_offset: Option<u64>,
        problems: Vec<P>,
        opened: Opened,
    ) -> Case {
        let (absolute, tolerate, point_in_time, skip) = every_mode(opened.ok());
        Case {
            log,
            commit_offset,
            problems,
            absolute,
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// A clean log of 30 entries; no cursor (replay starts at the first entry).
    pub fn clean_log() -> Case {
        opened_by_every_mode(Log::new(30), Some(29), vec![], unchanged(29))
    }

    /// A v1 segment (no crcs) followed by a v2 one: the chain cannot be checked across
    /// the boundary, and that is not a problem.
    pub fn clean_log_of_v1_then_v2_segments() -> Case {
        let payloads: Vec<Vec<u8>> = (0..18).map(|i| payload(0, i)).collect();
        let log = Log::by_hand(0, payloads.clone());
        write_segment(&log, 0, Codec::V1, 0, &payloads[..12], true);
        write_segment(&log, 12, Codec::V2, 0, &payloads[12..], false);
        opened_by_every_mode(log, None, vec![], unchanged(17))
    }

    /// A crash right after a rotation created the next (empty) data file.
    pub fn clean_log_with_an_empty_active_segment() -> Case {
        let log = Log::new(24);
        // A rotation seals the old segment (its index) before it creates the new file.
        log.write(&index_file(12), &log.index_of(&data_file(12), 12));
        log.write(&data_file(24), &[0; damage::SEGMENT_BYTES as usize]);
        opened_by_every_mode(log, None, vec![], unchanged(23))
    }

    /// The entries past the cursor are replayed.
    pub fn cursor_inside_the_log() -> Case {
        let log = Log::new(30);
        log.write("CURSOR", &wal_recovery::cursor::encode_cursor(9));
        opened_by_every_mode(log, None, vec![], unchanged(29).replay_from(10))
    }

    /// Leftovers of an interrupted rotation: the next data file and an index, still
    /// under their temporary names. `AbsoluteConsistency` opens and leaves them, but they
    /// are not informational: its report is not clean, and `verify` is not ok.
    pub fn leftover_temp_files() -> Case {
        let log = Log::new(30);
        log.write("24.idxx.tmp", &[0xA2, 0x82]);
        log.write("30.txnx.tmp", &[0; damage::SEGMENT_BYTES as usize]);
        let (tolerate, point_in_time, skip) = writing(
            unchanged(29)
                .did(vec![
                    temp_removed("24.idxx.tmp"),
                    temp_removed("30.txnx.tmp"),
                ])
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![file(K::TempFile), file(K::TempFile)],
            absolute: unchanged(29)
                .still_reports(&[file(K::TempFile), file(K::TempFile)])
                .ok(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// A file recovery does not know, and an index file without a data file.
    pub fn unknown_files() -> Case {
        let log = Log::new(30);
        log.write("notes.txt", b"the operator's notes");
        log.write(&index_file(36), &encode_index(Codec::V2, &[0]));
        let unknown = [file(K::UnknownFile), file(K::UnknownFile)];
        opened_by_every_mode(
            log,
            None,
            unknown.to_vec(),
            unchanged(29).still_reports(&unknown),
        )
    }

    /// The last write was torn: the last record's payload is damaged, nothing follows.
    /// Its size leads to zeros, not to a record chained from it: `SkipCorrupted` cannot
    /// place a hole, and cuts.
    pub fn torn_tail_in_the_active_segment() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(24), 239, 0xFF);
        let (tolerate, point_in_time, skip) = writing(
            unchanged(28)
                .did(vec![tail_cut(24, 200, 40)])
                .cut(29..30, false)
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::TornTail, 29, false)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// The page holding the last record's size field was lost, a later part survived:
    /// a non-zero byte after the end marker, still a torn tail.
    pub fn torn_tail_with_its_size_field_lost() -> Case {
        let log = Log::new(30);
        log.zero(&data_file(24), 200..204);
        let (tolerate, point_in_time, skip) = writing(
            unchanged(28)
                .did(vec![tail_cut(24, 200, 40)])
                .cut(29..30, false)
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::TornTail, 29, false)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// The data file ends in the middle of the last record.
    pub fn torn_tail_cut_short_mid_record() -> Case {
        let log = Log::new(30);
        log.truncate(&data_file(24), 220);
        let (tolerate, point_in_time, skip) = writing(
            unchanged(28)
                .did(vec![tail_cut(24, 200, 20)])
                .cut(29..30, false)
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::TornTail, 29, false)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// A torn tail just after the caller's commit offset: uncommitted.
    pub fn torn_tail_after_the_commit_offset() -> Case {
        let mut case = torn_tail_in_the_active_segment();
        case.commit_offset = Some(28);
        case
    }

    /// A torn tail at the caller's commit offset: committed corruption.
    pub fn torn_tail_at_the_commit_offset() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(24), 239, 0xFF);
        let (point_in_time, skip) = {
            let opened = unchanged(28)
                .did(vec![tail_cut(24, 200, 40)])
                .cut(29..30, true)
                .still_reports(&[at(K::MissingEntries, 29, true)])
                .ok();
            (opened.clone(), opened)
        };
        Case {
            log,
            commit_offset: Some(29),
            problems: vec![at(K::TornTail, 29, true)],
            absolute: inconsistent(),
            tolerate: committed(K::TornTail, 29),
            point_in_time,
            skip,
        }
    }

    /// A torn tail at the consumer's cursor: the consumer finalized entry 29, so it
    /// was durable once; the cursor is a commit point, and past the end of what is
    /// left. The modes that cut clamp the cursor to the new last entry, on disk.
    pub fn torn_tail_at_the_cursor() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(24), 239, 0xFF);
        log.write("CURSOR", &wal_recovery::cursor::encode_cursor(29));
        let (point_in_time, skip) = {
            let opened = unchanged(28)
                .replay_from(29)
                .did(vec![tail_cut(24, 200, 40), cursor_clamped(29, Some(28))])
                .cut(29..30, true)
                .ok();
            (opened.clone(), opened)
        };
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CursorOutOfRange, 29, true), at(K::TornTail, 29, true)],
            absolute: inconsistent(),
            tolerate: committed(K::TornTail, 29),
            point_in_time,
            skip,
        }
    }

    /// v1 has no crc: after a lost page in the middle of its active segment, recovery
    /// cannot find where valid records resume, so the damage is a torn tail, and the
    /// records after it (15..=17) go with it; the cut counts the damaged entry only.
    pub fn lost_page_in_a_v1_active_segment() -> Case {
        let payloads: Vec<Vec<u8>> = (0..18).map(|i| payload(0, i)).collect();
        let log = Log::by_hand(0, payloads.clone());
        write_segment(&log, 0, Codec::V1, 0, &payloads[..12], true);
        write_segment(&log, 12, Codec::V1, 0, &payloads[12..], false);
        let record = u64::from(damage::V1_RECORD_BYTES);
        log.zero("12.txn", 2 * record..3 * record);
        let (tolerate, point_in_time, skip) = writing(
            unchanged(13)
                .did(vec![tail_cut_of("12.txn", 64, 128)])
                .cut(14..15, false)
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::TornTail, 14, false)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// Bit rot in entry 26 of the active segment; entries 27..=29 are valid. No commit
    /// point covers it. Its size field is intact and leads to entry 27, which chains
    /// from the crc entry 26 stored: `SkipCorrupted` leaves a one-entry hole, keeps 24
    /// and 25 in segment 24 (sealed now, with an index), and moves 27..=29 into a new
    /// active segment 27.
    pub fn crc_mismatch_in_the_active_segment_uncommitted() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(24), 2 * 40 + 12 + 5, 0x01);
        let cut = unchanged(25)
            .did(vec![tail_cut(24, 80, 160)])
            .cut(26..30, false)
            .ok();
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CrcMismatch, 26, false)],
            absolute: inconsistent(),
            tolerate: cut.clone(),
            point_in_time: cut,
            skip: skipped_26(),
        }
    }

    /// `SkipCorrupted` on a damaged entry 26 whose size leads to entry 27.
    fn skipped_26() -> Outcome {
        unchanged(29)
            .did(vec![
                tail_cut(24, 80, 160),
                rebuilt(24, 2),
                split(24, 27),
                hole_left(26..27),
            ])
            .hole(26..27)
            .ok()
    }

    /// The same, with the caller's commit offset at 27.
    pub fn crc_mismatch_in_the_active_segment_committed() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(24), 2 * 40 + 12 + 5, 0x01);
        Case {
            log,
            commit_offset: Some(27),
            problems: vec![at(K::CrcMismatch, 26, true)],
            absolute: inconsistent(),
            tolerate: committed(K::CrcMismatch, 26),
            point_in_time: unchanged(25)
                .did(vec![tail_cut(24, 80, 160)])
                .cut(26..30, true)
                .still_reports(&[at(K::MissingEntries, 26, true)])
                .ok(),
            skip: skipped_26(),
        }
    }

    /// Bit rot in entries 25 and 27 of the active segment. `PointInTime` cuts at the
    /// first; `SkipCorrupted` steps over both by their sizes: three segments and two
    /// holes.
    pub fn two_crc_mismatches_in_the_active_segment() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(24), 40 + 12 + 5, 0x01);
        log.flip(&data_file(24), 3 * 40 + 12 + 5, 0x01);
        let cut = unchanged(24)
            .did(vec![tail_cut(24, 40, 200)])
            .cut(25..30, false)
            .ok();
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CrcMismatch, 25, false)],
            absolute: inconsistent(),
            tolerate: cut.clone(),
            point_in_time: cut,
            skip: unchanged(29)
                .did(vec![
                    tail_cut(24, 40, 200),
                    rebuilt(24, 1),
                    rebuilt(26, 1),
                    split(24, 26),
                    split(24, 28),
                    hole_left(25..26),
                    hole_left(27..28),
                ])
                .hole(25..26)
                .hole(27..28)
                .ok(),
        }
    }

    /// Bit rot in entry 5 of sealed segment 0: committed, because later segments exist.
    /// Its valid index gives every record's boundary: `SkipCorrupted` leaves a hole at 5
    /// and moves 6..=11 into a new sealed segment 6.
    pub fn crc_mismatch_in_a_sealed_segment() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(0), 5 * 40 + 12 + 5, 0x10);
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CrcMismatch, 5, true)],
            absolute: inconsistent(),
            tolerate: committed(K::CrcMismatch, 5),
            point_in_time: unchanged(4)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    index_removed(0),
                    tail_cut(0, 200, 280),
                ])
                .cut(5..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![
                    tail_cut(0, 200, 280),
                    rebuilt(0, 5),
                    rebuilt(6, 6),
                    split(0, 6),
                    hole_left(5..6),
                ])
                .hole(5..6)
                .ok(),
        }
    }

    /// The same damage with segment 0's index gone: `SkipCorrupted` finds the boundary
    /// from the damaged record's own size (entry 6 chains from the crc entry 5 stored),
    /// and writes both indexes anew.
    pub fn crc_mismatch_in_a_sealed_segment_without_its_index() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(0), 5 * 40 + 12 + 5, 0x10);
        log.remove(&index_file(0));
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CrcMismatch, 5, true), file(K::IndexMissing)],
            absolute: inconsistent(),
            tolerate: committed(K::CrcMismatch, 5),
            point_in_time: unchanged(4)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    tail_cut(0, 200, 280),
                ])
                .cut(5..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![
                    tail_cut(0, 200, 280),
                    rebuilt(0, 5),
                    rebuilt(6, 6),
                    split(0, 6),
                    hole_left(5..6),
                ])
                .hole(5..6)
                .ok(),
        }
    }

    /// Bit rot in entry 12, the first record of sealed segment 12: `SkipCorrupted`
    /// keeps nothing under base 12 (its files go) and moves 13..=23 into segment 13.
    pub fn crc_mismatch_in_the_first_record_of_a_sealed_segment() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(12), 12 + 5, 0x10);
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CrcMismatch, 12, true)],
            absolute: inconsistent(),
            tolerate: committed(K::CrcMismatch, 12),
            point_in_time: unchanged(11)
                .did(vec![
                    moved(&data_file(24)),
                    index_removed(12),
                    tail_cut(12, 0, 480),
                ])
                .cut(12..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![
                    tail_cut(12, 0, 480),
                    rebuilt(13, 11),
                    split(12, 13),
                    hole_left(12..13),
                ])
                .hole(12..13)
                .ok(),
        }
    }

    /// Bit rot in entry 11, the last record of sealed segment 0: `SkipCorrupted` ends
    /// segment 0 at 10 and leaves a hole up to segment 12; no split.
    pub fn crc_mismatch_in_the_last_record_of_a_sealed_segment() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(0), 11 * 40 + 12 + 5, 0x10);
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CrcMismatch, 11, true)],
            absolute: inconsistent(),
            tolerate: committed(K::CrcMismatch, 11),
            point_in_time: unchanged(10)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    index_removed(0),
                    tail_cut(0, 440, 40),
                ])
                .cut(11..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![
                    tail_cut(0, 440, 40),
                    rebuilt(0, 11),
                    hole_left(11..12),
                ])
                .hole(11..12)
                .ok(),
        }
    }

    /// A lost (zeroed) page over entry 27 of the active segment; 28 and 29 survive.
    /// Nothing gives entry 27's size (the active segment has no index): `SkipCorrupted`
    /// cuts like `PointInTime`.
    pub fn lost_page_in_the_active_segment() -> Case {
        let log = Log::new(30);
        log.zero(&data_file(24), 120..160);
        let (tolerate, point_in_time, skip) = writing(
            unchanged(26)
                .did(vec![tail_cut(24, 120, 120)])
                .cut(27..30, false)
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::GarbageAfterEnd, 27, false)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// The same lost page, but segment 24 had been sealed (its index written) before the
    /// crash, so a leftover `24.idxx` lists all six records: the entries it lists are
    /// committed, and the index gives entry 27's boundaries. `SkipCorrupted` leaves a
    /// hole at 27, seals 24..=26 under the index they need, and moves 28..=29 into a new
    /// active segment.
    pub fn lost_page_in_the_active_segment_with_a_leftover_index() -> Case {
        let log = Log::new(30);
        log.write(&index_file(24), &log.index_of(&data_file(24), 6));
        log.zero(&data_file(24), 120..160);
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::GarbageAfterEnd, 27, true)],
            absolute: inconsistent(),
            tolerate: committed(K::GarbageAfterEnd, 27),
            point_in_time: unchanged(26)
                .did(vec![index_removed(24), tail_cut(24, 120, 120)])
                .cut(27..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![
                    tail_cut(24, 120, 120),
                    rebuilt(24, 3),
                    split(24, 28),
                    hole_left(27..28),
                ])
                .hole(27..28)
                .ok(),
        }
    }

    /// A lost (zeroed) page over entry 3 of sealed segment 0. Its index gives the
    /// boundaries: `SkipCorrupted` leaves a hole.
    pub fn lost_page_in_a_sealed_segment() -> Case {
        let log = Log::new(30);
        log.zero(&data_file(0), 120..160);
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::GarbageAfterEnd, 3, true)],
            absolute: inconsistent(),
            tolerate: committed(K::GarbageAfterEnd, 3),
            point_in_time: unchanged(2)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    index_removed(0),
                    tail_cut(0, 120, 360),
                ])
                .cut(3..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![
                    tail_cut(0, 120, 360),
                    rebuilt(0, 3),
                    rebuilt(4, 8),
                    split(0, 4),
                    hole_left(3..4),
                ])
                .hole(3..4)
                .ok(),
        }
    }

    /// The tail of the active segment zeroed cleanly, and nothing else says how far the
    /// log reached: invisible to any check (FORMAT.md §6.1). The log opens shorter.
    pub fn lost_tail_with_no_independent_record() -> Case {
        let log = Log::new(30);
        log.zero(&data_file(24), 160..240);
        opened_by_every_mode(log, None, vec![], unchanged(27))
    }

    /// Segments 12 and 24 come from another history (another replica, another
    /// generation): segment 12's first record does not chain from entry 11.
    /// `SkipCorrupted` cannot place anything after a chain break: it cuts, moving
    /// segment 12 whole (segment 0 stays the first segment, at base 0).
    pub fn chain_break_at_a_sealed_segment_boundary() -> Case {
        let log = Log::new(30);
        let other = Log::of_history(1, 30);
        for name in [data_file(12), index_file(12), data_file(24)] {
            log.copy_from(&other, &name);
        }
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::ChainBreak, 12, true)],
            absolute: inconsistent(),
            tolerate: committed(K::ChainBreak, 12),
            point_in_time: unchanged(11)
                .did(vec![
                    moved(&data_file(24)),
                    index_removed(12),
                    tail_cut(12, 0, 480),
                ])
                .cut(12..30, true)
                .ok(),
            skip: unchanged(11)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    index_removed(0),
                ])
                .cut(12..30, true)
                .ok(),
        }
    }

    /// Only the active segment comes from another history.
    pub fn chain_break_into_the_active_segment() -> Case {
        let log = Log::new(30);
        let other = Log::of_history(1, 30);
        log.copy_from(&other, &data_file(24));
        let cut = unchanged(23)
            .did(vec![tail_cut(24, 0, 240)])
            .cut(24..30, false)
            .ok();
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::ChainBreak, 24, false)],
            absolute: inconsistent(),
            tolerate: cut.clone(),
            point_in_time: cut,
            skip: unchanged(23)
                .did(vec![moved(&data_file(24)), index_removed(12)])
                .cut(24..30, false)
                .ok(),
        }
    }

    /// Sealed segment 12 is gone (both files): a missing middle segment. Its bounds are
    /// the names around it: `SkipCorrupted` records entries 12..=23 as a hole.
    pub fn segment_gap() -> Case {
        let log = Log::new(30);
        log.remove(&data_file(12));
        log.remove(&index_file(12));
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::SegmentGap, 12, true)],
            absolute: inconsistent(),
            tolerate: committed(K::SegmentGap, 12),
            point_in_time: unchanged(11)
                .did(vec![moved(&data_file(24)), index_removed(0)])
                .cut(12..30, true)
                .ok(),
            skip: unchanged(29).did(vec![hole_left(12..24)]).hole(12..24).ok(),
        }
    }

    /// Sealed segment 12 renamed to 10: it overlaps segment 0, and leaves a gap before
    /// segment 24. Two segments claim entries 10 and 11: `SkipCorrupted` cuts there, as
    /// `PointInTime` does.
    pub fn segment_overlap() -> Case {
        let log = Log::new(30);
        log.rename(&data_file(12), &data_file(10));
        log.rename(&index_file(12), &index_file(10));
        let (point_in_time, skip) = {
            let opened = unchanged(11)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(10)),
                    moved(&data_file(10)),
                    index_removed(0),
                ])
                .cut(12..30, true)
                .ok();
            (opened.clone(), opened)
        };
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::SegmentOverlap, 10, true), at(K::SegmentGap, 22, true)],
            absolute: inconsistent(),
            tolerate: committed(K::SegmentOverlap, 10),
            point_in_time,
            skip,
        }
    }

    /// The active segment renamed from 24 to 20: it overlaps sealed segment 12. Its
    /// base is the commit point, so the overlap is not committed.
    pub fn last_segment_overlaps_the_one_before() -> Case {
        let log = Log::new(30);
        log.rename(&data_file(24), &data_file(20));
        let (tolerate, point_in_time, skip) = writing(
            unchanged(23)
                .did(vec![moved(&data_file(20)), index_removed(12)])
                .cut(24..26, false)
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::SegmentOverlap, 20, false)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// An index problem: every writing mode rebuilds the index, nothing else.
    fn index_rebuilt(log: Log, problem: ProblemKind, segment: u64) -> Case {
        let (tolerate, point_in_time, skip) =
            writing(unchanged(29).did(vec![rebuilt(segment, 12)]).ok());
        Case {
            log,
            commit_offset: None,
            problems: vec![file(problem)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    pub fn sealed_index_missing() -> Case {
        let log = Log::new(30);
        log.remove(&index_file(12));
        index_rebuilt(log, K::IndexMissing, 12)
    }

    /// A bit flipped in the crc of segment 0's index.
    pub fn sealed_index_corrupt() -> Case {
        let log = Log::new(30);
        log.flip(&index_file(0), 1, 0x04);
        index_rebuilt(log, K::IndexCorrupt, 0)
    }

    /// Segment 0's index is an empty file.
    pub fn sealed_index_empty_file() -> Case {
        let log = Log::new(30);
        log.truncate(&index_file(0), 0);
        index_rebuilt(log, K::IndexCorrupt, 0)
    }

    /// Segment 0's index is valid but lists only its first 10 records.
    pub fn sealed_index_stale() -> Case {
        let log = Log::new(30);
        log.write(&index_file(0), &log.index_of(&data_file(0), 10));
        index_rebuilt(log, K::IndexStale, 0)
    }

    /// A crash after sealing segment 24 (its index written), before segment 30 was
    /// created: the last segment has a valid index that agrees with its data. Not a
    /// problem. `AbsoluteConsistency` changes nothing (the file stays); the writing
    /// modes remove it (the active segment has none), and say so.
    pub fn leftover_index_on_the_last_segment() -> Case {
        let log = Log::new(30);
        log.write(&index_file(24), &log.index_of(&data_file(24), 6));
        let (tolerate, point_in_time, skip) =
            writing(unchanged(29).did(vec![index_removed(24)]).ok());
        Case {
            log,
            commit_offset: None,
            problems: vec![],
            absolute: unchanged(29).ok(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// Garbage after the last record of sealed segment 0 (bytes 496..=500 of its unused
    /// tail). Its valid index lists exactly its 12 records and segment 12 starts right
    /// after them: the segment's end is proven, no entry is affected. The writing modes
    /// copy the garbage to quarantine and zero it; nothing is cut.
    pub fn garbage_in_the_unused_tail_of_a_sealed_segment() -> Case {
        let log = Log::new(30);
        for at in 496..=500 {
            log.flip(&data_file(0), at, 0x5A);
        }
        let (tolerate, point_in_time, skip) =
            writing(unchanged(29).did(vec![tail_cut(0, 480, 21)]).ok());
        Case {
            log,
            commit_offset: None,
            problems: vec![file(K::TailGarbage)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// Sealed segment 0's last three records zeroed cleanly: its index lists 12
    /// entries, the data ends after 9. Segment 12 then no longer chains from the valid
    /// data before it. The index gives the bounds of 9..=11: `SkipCorrupted` writes
    /// segment 0's index for its 9 records and leaves the hole up to segment 12, which
    /// (like any segment after a hole) is not chained across it.
    pub fn index_lists_more_entries_than_the_data() -> Case {
        let log = Log::new(30);
        log.zero(&data_file(0), 360..480);
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::MissingEntries, 9, true), at(K::ChainBreak, 12, true)],
            absolute: inconsistent(),
            tolerate: committed(K::MissingEntries, 9),
            point_in_time: unchanged(8)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    index_removed(0),
                ])
                .cut(9..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![rebuilt(0, 9), hole_left(9..12)])
                .hole(9..12)
                .ok(),
        }
    }

    /// The last segment was sealed (index of 6 entries written) and then lost its last
    /// two records cleanly: only the leftover index shows they existed. Nothing follows
    /// them, so there is nothing to leave a hole before: `SkipCorrupted` cuts, as
    /// `PointInTime` does.
    pub fn last_segment_index_lists_more_than_its_data() -> Case {
        let log = Log::new(30);
        log.write(&index_file(24), &log.index_of(&data_file(24), 6));
        log.zero(&data_file(24), 160..240);
        let (point_in_time, skip) = {
            let opened = unchanged(27)
                .did(vec![index_removed(24)])
                .cut(28..30, true)
                .ok();
            (opened.clone(), opened)
        };
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::MissingEntries, 28, true)],
            absolute: inconsistent(),
            tolerate: committed(K::MissingEntries, 28),
            point_in_time,
            skip,
        }
    }

    /// The caller says entry 40 is committed; the clean log ends at 29. Nothing can be
    /// done about entries that are not there; the cut reports them.
    pub fn commit_offset_beyond_the_end() -> Case {
        let (point_in_time, skip) = {
            let opened = unchanged(29)
                .cut(30..41, true)
                .still_reports(&[at(K::MissingEntries, 30, true)])
                .ok();
            (opened.clone(), opened)
        };
        Case {
            log: Log::new(30),
            commit_offset: Some(40),
            problems: vec![at(K::MissingEntries, 30, true)],
            absolute: inconsistent(),
            tolerate: committed(K::MissingEntries, 30),
            point_in_time,
            skip,
        }
    }

    /// Segment 12's data zeroed and its index listing no entry: an empty segment
    /// between non-empty ones. By their names, the entries 12..=23 are then in no
    /// segment: an empty segment in the middle always comes with a gap (or overlap).
    /// `SkipCorrupted` moves the empty segment to quarantine and records the hole.
    pub fn empty_segment_between_non_empty_ones() -> Case {
        let log = Log::new(30);
        log.zero(&data_file(12), 0..u64::from(damage::SEGMENT_BYTES));
        log.write(&index_file(12), &encode_index(Codec::V2, &[]));
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::EmptySegment, 12, false), at(K::SegmentGap, 12, true)],
            absolute: inconsistent(),
            tolerate: committed(K::SegmentGap, 12),
            point_in_time: unchanged(11)
                .did(vec![moved(&data_file(24)), index_removed(12)])
                .cut(12..30, true)
                .ok(),
            skip: unchanged(29)
                .did(vec![
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    hole_left(12..24),
                ])
                .hole(12..24)
                .ok(),
        }
    }

    /// A v1 copy of sealed segment 12 (`12.txn` and `12.idx`) beside its v2 files, as
    /// a migration interrupted after the v2 rename leaves it: the v2 files are the
    /// segment, the v1 segment is shadowed and moved to quarantine whole (its index is
    /// reported as an unknown file, yet leaves with it).
    pub fn v1_and_v2_data_files_for_one_base() -> Case {
        let log = Log::new(30);
        let payloads = log.payloads(12..24);
        write_segment(&log, 12, Codec::V1, 0, &payloads, true);
        let (tolerate, point_in_time, skip) = writing(
            unchanged(29)
                .did(vec![moved("12.txn"), moved("12.idx")])
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![file(K::DuplicateCodec), file(K::UnknownFile)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// The cursor file holds garbage: replay starts at the first entry, and the fact is
    /// reported on every open until the consumer writes a cursor again.
    pub fn cursor_corrupt() -> Case {
        let log = Log::new(30);
        log.write("CURSOR", b"not a cursor");
        let (tolerate, point_in_time, skip) =
            writing(unchanged(29).still_reports(&[file(K::CursorCorrupt)]).ok());
        Case {
            log,
            commit_offset: None,
            problems: vec![file(K::CursorCorrupt)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// Segment 0 trimmed through the plain store (the log starts at 12) and the cursor at
    /// 5: entries 6..=11 were never finalized but are gone, and nothing records that a
    /// caller meant it. A problem (`AbsoluteConsistency` refuses, `verify` is not ok); the
    /// writing modes open, replay from the first entry, 12, and leave the cursor as it is
    /// (reported again until the consumer moves it).
    pub fn cursor_before_the_first_entry() -> Case {
        let log = Log::new(30);
        let wal = log.wal();
        assert_eq!(wal.trim_before(12).unwrap(), 1);
        wal.close().unwrap();
        log.write("CURSOR", &wal_recovery::cursor::encode_cursor(5));
        let gone = [at(K::UnreadEntriesGone, 5, false)];
        let (tolerate, point_in_time, skip) =
            writing(unchanged(29).first(12).still_reports(&gone).ok());
        Case {
            log,
            commit_offset: None,
            problems: gone.to_vec(),
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }

    /// As above, but the cursor's file records that a trim dropped 6..12 on its caller's
    /// word (`trim_before_dropping_unread`): informational, every mode opens, replay
    /// starts at 12.
    pub fn cursor_before_the_first_entry_dropped_on_request() -> Case {
        let log = Log::new(30);
        let wal = log.wal();
        assert_eq!(wal.trim_before(12).unwrap(), 1);
        wal.close().unwrap();
        let record = wal_recovery::cursor::CursorRecord {
            offset: 5,
            dropped_unread: Some(6..12),
        };
        log.write("CURSOR", &wal_recovery::cursor::encode_record(&record));
        let lagging = [at(K::CursorOutOfRange, 5, false)];
        opened_by_every_mode(
            log,
            None,
            lagging.to_vec(),
            unchanged(29).first(12).still_reports(&lagging),
        )
    }

    /// Bit rot in entry 5 of sealed segment 0, with the cursor at 25: the damage is in
    /// entries the consumer consumed. The default mode opens the log with segment 0 set
    /// aside (entry 5 fails to read, the others of segment 0 read), replays 26..=29 and
    /// changes nothing; `PointInTime` still cuts at 5 (and clamps the cursor).
    pub fn crc_mismatch_before_the_cursor() -> Case {
        let log = Log::new(30);
        log.flip(&data_file(0), 5 * 40 + 12 + 5, 0x10);
        log.write("CURSOR", &wal_recovery::cursor::encode_cursor(25));
        let problems = vec![consumed_at(K::CrcMismatch, 5)];
        Case {
            log,
            commit_offset: None,
            problems: problems.clone(),
            absolute: inconsistent(),
            tolerate: unchanged(29)
                .replay_from(26)
                .unreadable(5..6)
                .still_reports(&problems)
                .ok(),
            point_in_time: unchanged(4)
                .replay_from(5)
                .did(vec![
                    moved(&data_file(24)),
                    moved(&index_file(12)),
                    moved(&data_file(12)),
                    index_removed(0),
                    tail_cut(0, 200, 280),
                    cursor_clamped(25, Some(4)),
                ])
                .cut(5..30, true)
                .ok(),
            skip: unchanged(29)
                .replay_from(26)
                .did(vec![
                    tail_cut(0, 200, 280),
                    rebuilt(0, 5),
                    rebuilt(6, 6),
                    split(0, 6),
                    hole_left(5..6),
                ])
                .hole(5..6)
                .ok(),
        }
    }

    /// Segment 12 deleted, with the cursor at 25: the gap lies before the cursor. The
    /// default mode opens with segment 0 set aside (it claims 0..=23 now: none of them
    /// reads), replays 26..=29 and changes nothing.
    pub fn segment_gap_before_the_cursor() -> Case {
        let log = Log::new(30);
        log.remove(&data_file(12));
        log.remove(&index_file(12));
        log.write("CURSOR", &wal_recovery::cursor::encode_cursor(25));
        let problems = vec![consumed_at(K::SegmentGap, 12)];
        Case {
            log,
            commit_offset: None,
            problems: problems.clone(),
            absolute: inconsistent(),
            tolerate: unchanged(29)
                .replay_from(26)
                .unreadable(0..24)
                .still_reports(&problems)
                .ok(),
            point_in_time: unchanged(11)
                .replay_from(12)
                .did(vec![
                    moved(&data_file(24)),
                    index_removed(0),
                    cursor_clamped(25, Some(11)),
                ])
                .cut(12..30, true)
                .ok(),
            skip: unchanged(29)
                .replay_from(26)
                .did(vec![hole_left(12..24)])
                .hole(12..24)
                .ok(),
        }
    }

    /// The cursor at 40, the log ends at 29: the consumer finalized entries the log no
    /// longer holds (committed). The writing modes clamp the cursor to 29 on disk;
    /// nothing is replayed.
    pub fn cursor_past_the_end() -> Case {
        let log = Log::new(30);
        log.write("CURSOR", &wal_recovery::cursor::encode_cursor(40));
        let (tolerate, point_in_time, skip) = writing(
            unchanged(29)
                .replay_from(30)
                .did(vec![cursor_clamped(40, Some(29))])
                .ok(),
        );
        Case {
            log,
            commit_offset: None,
            problems: vec![at(K::CursorOutOfRange, 40, true)],
            absolute: inconsistent(),
            tolerate,
            point_in_time,
            skip,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running a case.

fn options(mode: RecoveryMode, commit_offset: Option<u64>) -> RecoveryOptions {
    RecoveryOptions::default()
        .with_mode(mode)
        .with_commit_offset(commit_offset)
        .with_wal(damage::wal_options())
}

fn named(problems: &[wal_recovery::Problem]) -> Vec<P> {
    problems
        .iter()
        .map(|p| P {
            kind: p.kind,
            offset: p.offset,
            committed: p.committed,
            consumed: p.consumed,
        })
        .collect()
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn relative(dir: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(dir)
        .unwrap_or_else(|_| panic!("{} is not in {}", path.display(), dir.display()))
        .to_path_buf()
}

fn file_bytes<'s>(snapshot: &'s Snapshot, path: &Path) -> &'s [u8] {
    match snapshot.get(path) {
        Some(Node::File(bytes)) => bytes,
        other => panic!("{} is not a file: {other:?}", path.display()),
    }
}

/// Checks `verify` on the damaged directory: it reports the case's problems and changes
/// nothing.
fn run_verify(case: &Case) {
    let dir = case.log.path();
    let before = damage::snapshot(dir);
    let verification = wal_recovery::verify(dir, case.commit_offset).unwrap();
    assert_eq!(
        named(&verification.problems),
        case.problems,
        "verify's problems: {verification:#?}"
    );
    assert_eq!(
        verification.ok,
        case.problems.iter().all(verify_ignores),
        "verify's ok: {verification:#?}"
    );
    assert_eq!(
        damage::changed_paths(&before, &damage::snapshot(dir)),
        Vec::<PathBuf>::new(),
        "verify changed files"
    );
}

fn run(case: &Case, mode: RecoveryMode) {
    let dir = case.log.path();
    let before = damage::snapshot(dir);
    let result = wal_recovery::open(dir, options(mode, case.commit_offset));
    match (case.outcome(mode), result) {
        (Outcome::Refused(refusal), Err(error)) => {
            check_refusal(case, *refusal, &error);
            assert_eq!(
                damage::changed_paths(&before, &damage::snapshot(dir)),
                Vec::<PathBuf>::new(),
                "a refusal changed files"
            );
        }
        (Outcome::Refused(refusal), Ok(recovered)) => panic!(
            "expected a refusal ({refusal:?}), got an open: {:#?}",
            recovered.report
        ),
        (Outcome::Opened(_), Err(error)) => panic!("expected an open, got: {error:#?}"),
        (Outcome::Opened(expected), Ok(recovered)) => {
            check_opened(case, mode, expected, &before, &recovered);
            drop(recovered);
            check_after(case, mode, expected);
        }
    }
}

fn check_refusal(case: &Case, refusal: Refusal, error: &RecoveryError) {
    match (refusal, error) {
        (Refusal::Inconsistent, RecoveryError::Inconsistent { problems }) => {
            let expected: Vec<P> = case
                .problems
                .iter()
                .copied()
                .filter(|p| !absolute_ignores(p))
                .collect();
            assert_eq!(named(problems), expected, "Inconsistent's problems");
        }
        (
            Refusal::Committed(kind, offset),
            RecoveryError::CommittedCorruption {
                problem, problems, ..
            },
        ) => {
            assert_eq!(
                named(std::slice::from_ref(problem)),
                vec![at(kind, offset, true)],
                "the committed problem named: {problem}"
            );
            assert_eq!(
                named(problems),
                case.problems,
                "CommittedCorruption's problems"
            );
        }
        (refusal, error) => panic!("expected {refusal:?}, got: {error:#?}"),
    }
}

/// The data file a quarantined copy `<file>@<offset>` was cut from.
fn cut_file_name(copy: &Path) -> String {
    let name = name_of(copy);
    name.split_once('@')
        .map_or(name.clone(), |(file, _)| file.to_owned())
}

fn act_of(dir: &Path, action: &Action) -> Act {
    match action {
        Action::IndexRebuilt { segment, entries } => rebuilt(*segment, *entries),
        Action::ActiveIndexRemoved { segment } => index_removed(*segment),
        Action::TailCut {
            file_offset,
            bytes,
            quarantined_to,
            ..
        } => Act::TailCut {
            file: cut_file_name(quarantined_to),
            file_offset: *file_offset,
            bytes: *bytes,
        },
        Action::FileQuarantined { from, .. } => Act::Moved(name_of(&relative(dir, from))),
        Action::HoleLeft { offsets } => hole_left(offsets.clone()),
        Action::SegmentSplit { segment, into } => split(*segment, *into),
        Action::CursorClamped { from, to } => cursor_clamped(*from, *to),
        Action::TempFileRemoved { path } => Act::TempRemoved(name_of(&relative(dir, path))),
        #[allow(unreachable_patterns)]
        other => panic!("an action the table does not know: {other:?}"),
    }
}

/// Checks that the index file of segment `base`, if there is one in `after`, lists
/// exactly the records of its data file.
fn check_index_agrees(after: &Snapshot, base: u64) {
    let index = PathBuf::from(index_file(base));
    if !after.contains_key(&index) {
        return;
    }
    let view = IndexView::parse(Codec::V2, file_bytes(after, &index)).unwrap();
    let offsets: Vec<u32> = view.iter().map(|o| o.0).collect();
    let data = file_bytes(after, Path::new(&data_file(base)));
    assert_eq!(
        offsets,
        damage::record_offsets(data),
        "{} agrees with its data",
        index.display()
    );
}

fn check_opened(
    case: &Case,
    mode: RecoveryMode,
    expected: &Opened,
    before: &Snapshot,
    recovered: &wal_recovery::Recovered,
) {
    let dir = case.log.path();
    let report: &RecoveryReport = &recovered.report;
    assert_eq!(report.mode, mode);
    assert_eq!(report.commit_offset, case.commit_offset);
    assert_eq!(
        named(&report.problems),
        case.problems,
        "problems: {report:#?}"
    );
    let actions: Vec<Act> = report.actions.iter().map(|a| act_of(dir, a)).collect();
    assert_eq!(actions, expected.actions, "actions: {report:#?}");
    assert_eq!(
        report
            .cut
            .as_ref()
            .map(|c| (c.offsets.clone(), c.committed)),
        expected.cut,
        "cut: {report:#?}"
    );
    assert_eq!(report.first_offset, expected.first, "first offset");
    assert_eq!(
        report.last_offset, expected.last,
        "last offset: {report:#?}"
    );
    assert_eq!(report.replay_from, expected.replay_from, "replay from");
    assert_eq!(
        report.is_clean(),
        expected.actions.is_empty() && case.problems.iter().all(informational),
        "is_clean: {report:#?}"
    );

    check_entries(case, expected, &recovered.log);
    let readable = expected.readable();
    let replayed: Vec<Vec<u8>> = recovered
        .replay()
        .unwrap()
        .map(|e| e.unwrap().payload)
        .collect();
    let expected_replay: Vec<Vec<u8>> = readable
        .iter()
        .filter(|&&o| o >= expected.replay_from)
        .map(|&o| case.log.payloads(o..o + 1).remove(0))
        .collect();
    assert_eq!(replayed, expected_replay, "replayed entries");

    // Every change on disk is one the report names, and each one is as it says.
    let after = damage::snapshot(dir);
    let mut accounted: BTreeSet<PathBuf> = BTreeSet::new();
    let mut quarantined: Vec<PathBuf> = Vec::new();
    for action in &report.actions {
        match action {
            Action::TailCut {
                segment,
                file_offset,
                bytes,
                quarantined_to,
            } => {
                let data = PathBuf::from(cut_file_name(quarantined_to));
                assert!(
                    name_of(&data).starts_with(&format!("{segment}.txn")),
                    "{} is not a data file of segment {segment}",
                    data.display()
                );
                let copy = relative(dir, quarantined_to);
                assert_eq!(name_of(&copy), format!("{}@{file_offset}", data.display()));
                let from = usize::try_from(*file_offset).unwrap();
                let to = from + usize::try_from(*bytes).unwrap();
                let original = file_bytes(before, &data);
                assert_eq!(
                    file_bytes(&after, &copy),
                    &original[from..to],
                    "the quarantined copy holds exactly the cut bytes"
                );
                assert!(
                    original[to..].iter().all(|&b| b == 0),
                    "the cut reaches the last non-zero byte"
                );
                match after.get(&data) {
                    // Zeroed in place, or (SkipCorrupted) rewritten through the journal:
                    // the kept bytes unchanged, zeros after them, and for a segment that
                    // stays sealed, the file ends with its last record.
                    Some(Node::File(now)) => {
                        assert_eq!(&now[..from], &original[..from], "the kept bytes");
                        assert!(now[from..].iter().all(|&b| b == 0), "zeros after the cut");
                        assert!(
                            now.len() == original.len()
                                || (mode == RecoveryMode::SkipCorrupted && now.len() == from),
                            "{} is {} bytes",
                            data.display(),
                            now.len()
                        );
                    }
                    // SkipCorrupted kept no record under this base: the records it kept
                    // are in the segments split from it.
                    other => {
                        assert_eq!(other, None);
                        assert_eq!(from, 0, "{} removed, yet bytes kept", data.display());
                        assert!(
                            report.actions.iter().any(|a| matches!(
                                a,
                                Action::SegmentSplit { segment: s, .. } if s == segment
                            )),
                            "{} removed without a split",
                            data.display()
                        );
                    }
                }
                accounted.extend([data, copy.clone()]);
                if mode == RecoveryMode::SkipCorrupted {
                    // The journaled rewrite of a segment writes the index its kept
                    // records need (or none, for the active segment).
                    check_index_agrees(&after, *segment);
                    accounted.insert(PathBuf::from(index_file(*segment)));
                }
                quarantined.push(copy);
            }
            Action::FileQuarantined { from, to } => {
                let from = relative(dir, from);
                let to = relative(dir, to);
                assert_eq!(name_of(&from), name_of(&to));
                assert!(
                    !after.contains_key(&from),
                    "{} is still there",
                    from.display()
                );
                assert_eq!(
                    file_bytes(&after, &to),
                    file_bytes(before, &from),
                    "a moved file holds what it held"
                );
                accounted.extend([from, to.clone()]);
                quarantined.push(to);
            }
            Action::IndexRebuilt { segment, entries } => {
                let index = PathBuf::from(index_file(*segment));
                let view = IndexView::parse(Codec::V2, file_bytes(&after, &index)).unwrap();
                assert_eq!(view.iter().count() as u64, *entries);
                check_index_agrees(&after, *segment);
                accounted.insert(index);
            }
            Action::ActiveIndexRemoved { segment } => {
                let index = PathBuf::from(index_file(*segment));
                assert!(
                    !after.contains_key(&index),
                    "{} is still there",
                    index.display()
                );
                accounted.insert(index);
            }
            Action::HoleLeft { offsets } => {
                assert!(
                    expected.holes.contains(offsets),
                    "hole {offsets:?} not in the HOLES file"
                );
                accounted.insert(PathBuf::from(wal_store::internal::holes::HOLES_FILE_NAME));
            }
            Action::SegmentSplit { segment, into } => {
                // The records after a hole, in a data file of their own (new), with the
                // index they need if the segment is sealed; the segment split keeps the
                // records before the hole, under an index that lists them.
                let data = PathBuf::from(data_file(*into));
                assert!(!before.contains_key(&data), "{} existed", data.display());
                assert!(
                    !damage::record_offsets(file_bytes(&after, &data)).is_empty(),
                    "{} holds records",
                    data.display()
                );
                check_index_agrees(&after, *into);
                check_index_agrees(&after, *segment);
                accounted.extend([
                    data,
                    PathBuf::from(index_file(*into)),
                    PathBuf::from(index_file(*segment)),
                ]);
            }
            Action::CursorClamped { from, to } => {
                assert_eq!(report.cursor.offset(), Some(*from), "the cursor found");
                let cursor = PathBuf::from("CURSOR");
                match to {
                    Some(to) => assert_eq!(
                        file_bytes(&after, &cursor),
                        wal_recovery::cursor::encode_cursor(*to).as_slice(),
                        "the cursor clamped on disk"
                    ),
                    None => assert!(!after.contains_key(&cursor), "the cursor removed"),
                }
                accounted.insert(cursor);
            }
            Action::TempFileRemoved { path } => {
                let path = relative(dir, path);
                assert!(
                    !after.contains_key(&path),
                    "{} is still there",
                    path.display()
                );
                accounted.insert(path);
            }
            #[allow(unreachable_patterns)]
            other => unreachable!("act_of refused {other:?} already"),
        }
    }
    // One quarantine folder per recovery, `quarantine/<time>/`, with a MANIFEST naming
    // every file in it.
    if let Some(folder) = quarantined.first().and_then(|p| p.parent()) {
        assert_eq!(folder.parent(), Some(Path::new(QUARANTINE_DIR_NAME)));
        if let Some(cut) = &report.cut {
            assert_eq!(relative(dir, &cut.quarantine), folder);
        }
        let manifest = folder.join("MANIFEST");
        let text = String::from_utf8(file_bytes(&after, &manifest).to_vec()).unwrap();
        for path in &quarantined {
            assert_eq!(path.parent(), Some(folder), "one quarantine folder");
            assert!(
                text.contains(&name_of(path)),
                "MANIFEST names {}: {text}",
                path.display()
            );
        }
        accounted.extend([
            PathBuf::from(QUARANTINE_DIR_NAME),
            folder.to_path_buf(),
            manifest,
        ]);
    }
    let unreported: Vec<PathBuf> = damage::changed_paths(before, &after)
        .into_iter()
        .filter(|p| !accounted.contains(p))
        .collect();
    assert_eq!(
        unreported,
        Vec::<PathBuf>::new(),
        "changes the report does not name"
    );
}

/// The entries of the recovered log: exactly the readable offsets, forwards and
/// backwards, and every offset in a hole out of range. The `HOLES` file lists exactly
/// the expected holes.
fn check_entries(case: &Case, expected: &Opened, wal: &wal_recovery::Log) {
    if !expected.unreadable.is_empty() {
        return check_entries_set_aside(case, expected, wal);
    }
    let readable = expected.readable();
    let offsets: Vec<u64> = wal.iter().map(|e| e.unwrap().offset).collect();
    assert_eq!(offsets, readable, "readable offsets");
    let entries: Vec<Vec<u8>> = wal.iter().map(|e| e.unwrap().payload).collect();
    let written: Vec<Vec<u8>> = readable
        .iter()
        .map(|&o| case.log.payloads(o..o + 1).remove(0))
        .collect();
    assert_eq!(entries, written, "entries");
    let backwards: Vec<u64> = wal.iter_rev().map(|e| e.unwrap().offset).collect();
    assert_eq!(
        backwards,
        readable.iter().rev().copied().collect::<Vec<u64>>(),
        "readable offsets, backwards"
    );
    for offset in expected.holes.iter().flat_map(Clone::clone) {
        assert!(
            matches!(
                wal.read(offset),
                Err(RecoveryError::Store(StoreError::OffsetOutOfRange { .. }))
            ),
            "entry {offset} is in a hole"
        );
    }
    assert_eq!(
        wal_store::internal::holes::read_holes(case.log.path()).unwrap(),
        expected.holes,
        "the HOLES file"
    );
}

/// The entries of a log opened with segments set aside (damage before the cursor): each
/// readable offset reads its entry, each offset set aside fails with a typed error, and
/// iteration from the end of what is set aside yields the rest.
fn check_entries_set_aside(case: &Case, expected: &Opened, wal: &wal_recovery::Log) {
    let readable = expected.readable();
    let end = expected.last.map_or(expected.first, |l| l + 1);
    for offset in expected.first..end {
        let read = wal.read(offset);
        if readable.contains(&offset) {
            assert_eq!(
                read.unwrap().payload,
                case.log.payloads(offset..offset + 1).remove(0),
                "entry {offset}"
            );
        } else {
            assert!(
                matches!(
                    read,
                    Err(RecoveryError::Store(
                        StoreError::Corrupt { .. }
                            | StoreError::Layout { .. }
                            | StoreError::NeedsRecovery { .. }
                    ))
                ),
                "entry {offset} is set aside: {read:?}"
            );
        }
    }
    let after = expected.unreadable.iter().map(|r| r.end).max().unwrap();
    let offsets: Vec<u64> = wal
        .iter_from(after)
        .unwrap()
        .map(|e| e.unwrap().offset)
        .collect();
    let tail: Vec<u64> = readable.into_iter().filter(|&o| o >= after).collect();
    assert_eq!(offsets, tail, "readable offsets after what is set aside");
    assert_eq!(
        wal_store::internal::holes::read_holes(case.log.path()).unwrap(),
        expected.holes,
        "the HOLES file"
    );
}

/// After a successful open: `verify` accepts the directory (but for what recovery
/// leaves by design), a second open in the same mode does nothing, and after
/// `SkipCorrupted`, an open in the default mode does nothing either.
fn check_after(case: &Case, mode: RecoveryMode, expected: &Opened) {
    let dir = case.log.path();
    let verification = wal_recovery::verify(dir, case.commit_offset).unwrap();
    assert_eq!(
        named(&verification.problems),
        expected.after,
        "verify after recovery: {verification:#?}"
    );
    assert_eq!(
        verification.ok,
        expected.after.iter().all(verify_ignores),
        "verify's ok after recovery"
    );

    let mut again = vec![mode];
    if mode == RecoveryMode::SkipCorrupted {
        again.push(RecoveryMode::TolerateCorruptTail);
    }
    for mode in again {
        let before = damage::snapshot(dir);
        let result = wal_recovery::open(dir, options(mode, case.commit_offset));
        let refuses = expected
            .after
            .iter()
            .any(|p| p.kind.is_data() && p.committed && !p.consumed);
        if mode == RecoveryMode::TolerateCorruptTail && refuses {
            assert!(
                matches!(result, Err(RecoveryError::CommittedCorruption { .. })),
                "{mode:?} after recovery: {result:#?}"
            );
        } else {
            let again = result.unwrap();
            let report = &again.report;
            assert!(
                report.actions.is_empty(),
                "a second open ({mode:?}) acted: {report:#?}"
            );
            assert_eq!(
                named(&report.problems),
                expected.after,
                "second open ({mode:?}): {report:#?}"
            );
            assert_eq!(
                report.is_clean(),
                expected.after.iter().all(informational),
                "second open ({mode:?}) clean: {report:#?}"
            );
            if report.is_clean() {
                assert_eq!(report.cut, None);
            }
            check_entries(case, expected, &again.log);
        }
        assert_eq!(
            damage::changed_paths(&before, &damage::snapshot(dir)),
            Vec::<PathBuf>::new(),
            "a second open ({mode:?}) changed files"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The tests: five per row.

macro_rules! decision_table {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                use wal_recovery::RecoveryMode;

                #[test]
                fn verify() {
                    super::run_verify(&super::cases::$case());
                }

                #[test]
                fn absolute_consistency() {
                    super::run(&super::cases::$case(), RecoveryMode::AbsoluteConsistency);
                }

                #[test]
                fn tolerate_corrupt_tail() {
                    super::run(&super::cases::$case(), RecoveryMode::TolerateCorruptTail);
                }

                #[test]
                fn point_in_time() {
                    super::run(&super::cases::$case(), RecoveryMode::PointInTime);
                }

                #[test]
                fn skip_corrupted() {
                    super::run(&super::cases::$case(), RecoveryMode::SkipCorrupted);
                }
            }
        )*

        /// Every row of the table, by name.
        const CASES: &[&str] = &[$(stringify!($case)),*];

        /// Every row of the table, built, in the order of `CASES`.
        fn all_cases() -> Vec<Case> {
            vec![$(cases::$case()),*]
        }
    };
}

decision_table! {
    clean_log,
    clean_log_of_v1_then_v2_segments,
    clean_log_with_an_empty_active_segment,
    cursor_inside_the_log,
    leftover_temp_files,
    unknown_files,
    torn_tail_in_the_active_segment,
    torn_tail_with_its_size_field_lost,
    torn_tail_cut_short_mid_record,
    torn_tail_after_the_commit_offset,
    torn_tail_at_the_commit_offset,
    torn_tail_at_the_cursor,
    crc_mismatch_in_the_active_segment_uncommitted,
    crc_mismatch_in_the_active_segment_committed,
    two_crc_mismatches_in_the_active_segment,
    crc_mismatch_in_a_sealed_segment,
    crc_mismatch_in_a_sealed_segment_without_its_index,
    crc_mismatch_in_the_first_record_of_a_sealed_segment,
    crc_mismatch_in_the_last_record_of_a_sealed_segment,
    lost_page_in_the_active_segment,
    lost_page_in_the_active_segment_with_a_leftover_index,
    lost_page_in_a_sealed_segment,
    lost_tail_with_no_independent_record,
    lost_page_in_a_v1_active_segment,
    chain_break_at_a_sealed_segment_boundary,
    chain_break_into_the_active_segment,
    segment_gap,
    segment_overlap,
    last_segment_overlaps_the_one_before,
    sealed_index_missing,
    sealed_index_corrupt,
    sealed_index_empty_file,
    sealed_index_stale,
    leftover_index_on_the_last_segment,
    garbage_in_the_unused_tail_of_a_sealed_segment,
    index_lists_more_entries_than_the_data,
    last_segment_index_lists_more_than_its_data,
    commit_offset_beyond_the_end,
    empty_segment_between_non_empty_ones,
    v1_and_v2_data_files_for_one_base,
    cursor_corrupt,
    cursor_before_the_first_entry,
    cursor_before_the_first_entry_dropped_on_request,
    cursor_past_the_end,
    crc_mismatch_before_the_cursor,
    segment_gap_before_the_cursor,
}

/// docs/RECOVERY.md and this table must agree: every row of the table is in the
/// document's table, and every row of the document's table is a case here.
#[test]
fn every_case_is_a_row_of_recovery_md() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/RECOVERY.md"),
    )
    .unwrap();
    let table = doc
        .split("\n## ")
        .find(|section| section.starts_with("The decision table"))
        .expect("a section \"## The decision table\" in docs/RECOVERY.md");
    let rows: Vec<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    for case in CASES {
        assert!(
            rows.contains(case),
            "{case} is not a row of docs/RECOVERY.md"
        );
    }
    for row in &rows {
        assert!(
            CASES.contains(row),
            "docs/RECOVERY.md row {row} has no case here"
        );
    }
}

/// A cursor past the end is clamped on disk by the writing modes: entries appended after
/// the recovery get offsets 30, 31, ... and must be replayed at the next restart (the
/// stale cursor 40 would claim they were finalized).
#[test]
fn cursor_past_the_end_does_not_hide_entries_appended_after_recovery() {
    let case = cases::cursor_past_the_end();
    let dir = case.log.path();
    let recovered =
        wal_recovery::open(dir, options(RecoveryMode::TolerateCorruptTail, None)).unwrap();
    for i in 30..33 {
        recovered.log.append(&damage::payload(0, i)).unwrap();
    }
    recovered.log.close().unwrap();
    let recovered =
        wal_recovery::open(dir, options(RecoveryMode::TolerateCorruptTail, None)).unwrap();
    let replayed: Vec<u64> = recovered
        .replay()
        .unwrap()
        .map(|e| e.unwrap().offset)
        .collect();
    assert_eq!(
        replayed,
        vec![30, 31, 32],
        "entries appended after the recovery were never consumed: {:#?}",
        recovered.report
    );
}

/// After `SkipCorrupted`, the log must stay usable: appending past where the holes are
/// and reopening in the default mode works, and every entry appended is read back.
/// Checked for every row that `SkipCorrupted` opens.
#[test]
fn appending_after_skip_corrupted_then_reopening_works() {
    let mut failures = Vec::new();
    for (name, case) in CASES.iter().zip(all_cases()) {
        let Outcome::Opened(expected) = &case.skip else {
            continue;
        };
        let dir = case.log.path();
        let Ok(recovered) = wal_recovery::open(
            dir,
            options(RecoveryMode::SkipCorrupted, case.commit_offset),
        ) else {
            failures.push(format!("{name}: SkipCorrupted refused"));
            continue;
        };
        let next = recovered.log.next_offset();
        // Two segments' worth, so that the active segment is sealed and a new one made.
        let appended: Vec<u64> = (0..2 * u64::from(damage::ENTRIES_PER_SEGMENT))
            .map(|i| {
                recovered
                    .log
                    .append(&damage::payload(9, next + i))
                    .unwrap()
                    .offset
            })
            .collect();
        recovered.log.sync().unwrap();
        recovered.log.close().unwrap();
        let expected_offsets: Vec<u64> = expected.readable().into_iter().chain(appended).collect();
        match wal_recovery::open(dir, options(RecoveryMode::TolerateCorruptTail, None)) {
            Ok(again) => {
                let offsets: Vec<u64> = again.log.iter().map(|e| e.unwrap().offset).collect();
                if offsets != expected_offsets {
                    failures.push(format!("{name}: read {offsets:?}"));
                }
            }
            Err(e) => failures.push(format!("{name}: reopening after appends: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
