//! Findings reported to the library's maintainers and not fixed yet. Each switch turns off
//! one check in the one situation where it fails, so that the fuzzer keeps looking for
//! other things meanwhile. When the library is fixed, set the switch to `false` (the check
//! then guards against a regression) and remove it once a named test in `crates/*/tests`
//! covers the finding.
//!
//! Every switch below is `false`: each finding is fixed and has its regression test in
//! `crates/wal-recovery/tests/fuzz_findings.rs`. The switches (and the code paths they
//! guard in `recover.rs`) can go.

/// A directory with no segment file, and a `commit_offset` or a valid `CURSOR`: recovery
/// creates a new log at offset 0 and reports no problem, although the caller (commit
/// offset 0) or the cursor (1000) says entries up to there existed (expected: a committed
/// `missing_entries`, so `TolerateCorruptTail` and `AbsoluteConsistency` refuse). With a
/// cursor, every mode then removes the cursor file (`CursorClamped { from: 1000, to: None
/// }`), `AbsoluteConsistency` included, and offsets start again at 0 (anchors.md #4).
pub const NO_SEGMENT_FORGETS_COMMIT_AND_CURSOR: bool = false;

/// `SkipCorrupted` on a damaged segment with no valid record after another segment.
/// `0.txnx` and `17.txnx` both empty: it records the hole `0..17` and writes an index of
/// no entry for `0`, and the store refuses the result ("empty segment before the last
/// one"), so the open fails. `0.txnx` empty, `5.txnx` = 17 bytes of text, `HOLES` =
/// "0 5": it cuts `5.txnx` (to quarantine) and writes an index of no entry for `0` as if
/// it were sealed, so the log ends at 0, before the recorded hole: the next open removes
/// that index (not idempotent), appends take offsets inside the recorded hole, and after
/// 5 appends every mode fails ("the holes file lists 0..5, which is no gap between
/// segments") while `verify` says ok.
pub const SKIP_DROPS_EMPTY_SEGMENT_AFTER_GAP: bool = false;

/// A `HOLES` file that does not parse (`0.txnx` empty, `HOLES` = `junk\n`, or a byte that
/// is not UTF-8): `verify` reports it as an unknown file and says ok, recovery leaves it,
/// then the store refuses it, so `open` fails in every mode (`Store(Layout)`: "HOLES is
/// corrupt", or `Store(Io)`: "stream did not contain valid UTF-8").
pub const CORRUPT_HOLES_FILE_BLOCKS_OPEN: bool = false;

/// An index file with no data file (`0.idxx` listing three entries, nothing else): verify
/// and recovery report it as an unknown file and leave it, then the store creates the data
/// file `0.txnx` for a new log beside it (or a rotation creates a segment at its base),
/// and the orphan becomes that segment's index. The store no longer removes an active
/// segment's index when it opens, so the next recovery takes it as proof of entries that
/// were never written: after one append, close and open, `TolerateCorruptTail` refuses
/// (committed `missing_entries`: "the index lists 3 entries, the data ends cleanly after
/// 1"). With an index of 0 entries the next open "removes the active index" (not clean).
pub const ORPHAN_INDEX_ADOPTED_BY_NEW_SEGMENT: bool = false;

/// A `HOLES` file listing a range that is no gap between segments, past the end of the
/// log (`0.txnx` empty, `HOLES` = "0 1" with its crc): `verify` says ok and every mode
/// opens, but once the log grows over the range (one append) the store refuses the
/// directory ("the holes file lists 0..1, which is no gap between segments") in every
/// mode, and `verify` still says ok. (`SkipCorrupted` itself leaves such a range, see
/// [`SKIP_DROPS_EMPTY_SEGMENT_AFTER_GAP`].)
pub const STRAY_HOLE_BLOCKS_OPEN_LATER: bool = false;

/// A sealed segment with no entry before a recorded hole (`0.txnx` and `5.txnx` empty,
/// `HOLES` = "0 5" with its crc): recovery reports only the missing index of `0`, writes
/// an index of no entry for it, and the store then refuses the directory ("empty segment
/// before the last one"), so every mode that repairs fails to open.
pub const EMPTY_SEGMENT_BEFORE_HOLE_REFUSED_BY_STORE: bool = false;

/// A redo journal line naming a file with a NUL byte (`JOURNAL` = "remove 1.\0x\n"): the
/// roll-forward that every `open` runs first fails ("file name contained an unexpected
/// NUL byte"), so no mode can open the directory, although the roll-forward skips other
/// names that are not plain (with `/`, `.`, `..`), and `verify` reports the journal only
/// as a leftover file.
pub const JOURNAL_NAME_WITH_NUL_BLOCKS_OPEN: bool = false;

/// Two data problems at the same first offset, one of them an overlap: `PointInTime`
/// cuts for the one whose kind sorts first by name and the overlap stays, so the store
/// refuses the result. `0.txnx` holding 7 valid records, `5.txnx` empty, `17.txnx` =
/// `a2 82 ea d8`: an overlap at 5 in segment 5 and a gap 5..17 in segment 17; the cut for
/// the gap keeps `5.txnx`, and the open fails ("overlap: the previous segment ends before
/// offset 7"). Also seen with `garbage_after_end` and an overlap at one offset in one
/// segment (the cut keeps that segment's valid prefix, none, and the overlap).
pub const POINT_IN_TIME_CUTS_AFTER_AN_EARLIER_PROBLEM: bool = false;

/// An empty v1 segment after a v2 one (`0.txnx` holding entry 0, `1.txn` empty): the
/// log's `last_crc()` and the report's `last_crc` are `None`, though the last entry is a
/// v2 entry with a crc (the documented `None` cases are "after a v1 entry, or for an
/// empty v1 log"); before the reopen the same log said `Some`.
pub const LAST_CRC_LOST_BEHIND_EMPTY_V1_SEGMENT: bool = false;
