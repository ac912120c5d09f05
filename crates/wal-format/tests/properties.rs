//! Properties of the v1 and v2 codecs over generated segments: round trips, truncation at
//! any length, single bit flips anywhere, and what v1 (which has no checksum) cannot see.
//!
//! The generators are seeded with a fixed seed so that every run checks the same cases;
//! set `WAL_FORMAT_QUICKCHECK_SEED=<u64>` to explore other cases (a failure prints the
//! shrunk arguments, which reproduce it whatever the seed).
//!
//! Expected outcomes are computed from the format's rules (the byte tables and the crc
//! oracle in `common`), not by asking the library, so that a property can fail.

// As clippy.toml allows inside `#[test]` functions, for the helpers too: a panic in a test
// crate is a failed test, not a crash in a user's process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod common;

use common::{
    Scanned, Segment, encode_index, encode_with_tail, expected_record, oracle_chain, oracle_crc32c,
    oracle_record, scan,
};
use quickcheck::{Gen, QuickCheck};
use wal_format::{Codec, FileOffset, FormatError, IndexView, ScanEnd};

/// The seed used when `WAL_FORMAT_QUICKCHECK_SEED` is not set.
const DEFAULT_QUICKCHECK_SEED: u64 = 0x5EED_0F0A_7C0D_EC5A;

/// Segments up to this length are cut at every length; longer ones at sampled lengths.
const ALL_CUTS_MAX_BYTES: usize = 512;

/// Zero tails are drawn from `0..TAIL_BYTES_BOUND`: long enough to hold an end marker
/// followed by a whole small record, short enough to also hit tails of 1 to 3 bytes.
const TAIL_BYTES_BOUND: u8 = 48;

/// A QuickCheck running `tests` cases, with lists and payloads shorter than `size`.
fn quickcheck(tests: u64, size: usize) -> QuickCheck {
    let seed = std::env::var("WAL_FORMAT_QUICKCHECK_SEED")
        .ok()
        .map_or(DEFAULT_QUICKCHECK_SEED, |s| {
            s.parse().expect("WAL_FORMAT_QUICKCHECK_SEED must be a u64")
        });
    QuickCheck::new()
        .tests(tests)
        .max_tests(tests)
        .rng(Gen::from_size_and_seed(size, seed))
}

/// Generated payload lists may hold empty payloads, which cannot be written: each becomes
/// the single byte 0x00 (a payload that looks like zero fill, which is worth having).
fn non_empty(raw: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    raw.into_iter()
        .map(|p| if p.is_empty() { vec![0x00] } else { p })
        .collect()
}

fn tail_bytes(tail: u8) -> usize {
    usize::from(tail % TAIL_BYTES_BOUND)
}

/// The end a scan reports when the bytes from `at` (the first byte not taken by a valid
/// record) to the end of the input are all zero: an end marker when a whole size field of
/// zeros is there, the end of the input when fewer than four zero bytes are left.
fn clean_end(at: usize, rest_bytes: usize) -> ScanEnd {
    let file_offset = file_offset(at);
    if rest_bytes >= 4 {
        ScanEnd::EndMarker { file_offset }
    } else {
        ScanEnd::EndOfInput { file_offset }
    }
}

fn file_offset(at: usize) -> FileOffset {
    FileOffset(u32::try_from(at).unwrap())
}

fn u64_of(n: usize) -> u64 {
    u64::try_from(n).unwrap()
}

fn expected_records(seg: &Segment, count: usize) -> Vec<Scanned> {
    seg.records
        .iter()
        .take(count)
        .enumerate()
        .map(|(i, w)| expected_record(seg.codec, i, w))
        .collect()
}

/// The seed a scan of `seg` is given: v2 scans check the first link; v1 has no chain.
fn scan_seed(seg: &Segment) -> Option<u32> {
    (seg.codec == Codec::V2).then_some(seg.seed)
}

/// The crc a scan should report after `kept` good records: the last one's, or the seed.
fn last_crc_after(seg: &Segment, kept: usize) -> Option<u32> {
    match seg.codec {
        Codec::V1 => None,
        _ => Some(
            kept.checked_sub(1)
                .map_or(seg.seed, |k| seg.records[k].crc.unwrap()),
        ),
    }
}

#[test]
fn the_crc_oracle_matches_the_published_check_values() {
    // The oracle is what the properties trust; check it against the format facts first.
    assert_eq!(oracle_crc32c(0, b"123456789"), 0xE306_9283);
    let c0 = oracle_chain(0, &[0x00]);
    let c1 = oracle_chain(c0, &[0x01]);
    let c2 = oracle_chain(c1, &[0x02]);
    assert_eq!([c0, c1, c2], [0x4925_8fd2, 0x6b86_1046, 0x6248_94c6]);
    assert_eq!(
        oracle_crc32c(oracle_crc32c(0, b"1234"), b"56789"),
        0xE306_9283
    );
}

// ---------------------------------------------------------------------------------------
// (a) Round trips.

fn check_round_trip(codec: Codec, payloads: &[Vec<u8>], seed: u32, tail_bytes: usize) {
    let seg = encode_with_tail(codec, seed, payloads, tail_bytes);

    // The encoder lays records out exactly as the byte tables say.
    let mut expected_bytes = Vec::new();
    let mut prev = seed;
    for p in payloads {
        expected_bytes.extend(oracle_record(codec, prev, p));
        prev = oracle_chain(prev, p);
    }
    let records_end = expected_bytes.len();
    expected_bytes.resize(records_end + tail_bytes, 0);
    assert_eq!(seg.bytes, expected_bytes, "encoded bytes");
    assert_eq!(seg.records_end(), records_end);

    let (records, summary) = scan(codec, &seg.bytes, scan_seed(&seg));
    assert_eq!(records, expected_records(&seg, payloads.len()));
    let scanned_payloads: Vec<&[u8]> = records.iter().map(|r| &r.payload[..]).collect();
    let written_payloads: Vec<&[u8]> = payloads.iter().map(|p| &p[..]).collect();
    assert_eq!(scanned_payloads, written_payloads);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(usize::try_from(r.index).unwrap(), i);
    }
    match codec {
        Codec::V1 => {
            assert!(
                records
                    .iter()
                    .all(|r| r.prev_crc.is_none() && r.crc.is_none())
            );
        }
        _ => {
            // The chain: the first record links to the seed, every other one to the record
            // before it, and each crc covers its seed and payload.
            let mut expected_prev = seed;
            for r in &records {
                assert_eq!(r.prev_crc, Some(expected_prev));
                assert_eq!(r.crc, Some(oracle_chain(expected_prev, &r.payload)));
                expected_prev = r.crc.unwrap();
            }
        }
    }
    assert_eq!(usize::try_from(summary.records).unwrap(), payloads.len());
    assert_eq!(summary.valid_len, file_offset(records_end));
    assert_eq!(summary.last_crc, seg.last_crc());
    assert_eq!(summary.end, clean_end(records_end, tail_bytes));
    assert_eq!(
        matches!(summary.end, ScanEnd::EndOfInput { .. }),
        tail_bytes < 4
    );
    // Without a seed the first link is not checked, and nothing else changes.
    let (unseeded, unseeded_summary) = scan(codec, &seg.bytes, None);
    assert_eq!(unseeded, records);
    assert_eq!(unseeded_summary.end, summary.end);
    // v1 has no chain: a seed changes nothing, and there is still no last crc.
    if codec == Codec::V1 {
        let (seeded, seeded_summary) = scan(codec, &seg.bytes, Some(seed));
        assert_eq!(seeded, records);
        assert_eq!(seeded_summary, summary);
    }

    // Reading again without the crc gives the same records, at every record and at the
    // end, and the same outcome wherever a decode starts (bounds are still checked).
    for at in 0..=seg.bytes.len() {
        let at = file_offset(at);
        let checked = codec.decode_record(&seg.bytes, at);
        let again = codec.decode_record_checked_before(&seg.bytes, at);
        match &checked {
            Ok(_) => assert_eq!(again, checked, "at {at:?}"),
            // A failing crc is what the second read does not compute.
            Err(wal_format::FormatError::ChecksumMismatch { .. }) => {}
            Err(_) => assert_eq!(again, checked, "at {at:?}"),
        }
    }

    // The index of the records' file offsets round-trips.
    let offsets = seg.offsets();
    let index_bytes = encode_index(codec, &offsets);
    let mut body = Vec::new();
    for o in &offsets {
        body.extend_from_slice(&o.0.to_be_bytes());
    }
    let expected_index = match codec {
        Codec::V1 => body,
        _ => [oracle_chain(0, &body).to_be_bytes().to_vec(), body].concat(),
    };
    assert_eq!(index_bytes, expected_index, "index bytes");
    let view = IndexView::parse(codec, &index_bytes).unwrap();
    assert_eq!(view.codec(), codec);
    assert_eq!(view.len(), offsets.len());
    assert_eq!(view.is_empty(), offsets.is_empty());
    assert_eq!(view.iter().collect::<Vec<_>>(), offsets);
    assert_eq!(view.last(), offsets.last().copied());
    for (i, o) in offsets.iter().enumerate() {
        assert_eq!(view.get(i), Some(*o));
    }
    assert_eq!(view.get(offsets.len()), None);
}

fn round_trip(codec: Codec, raw: Vec<Vec<u8>>, seed: u32, tail: u8) {
    let payloads = non_empty(raw);
    // Always also the exactly full buffer, which must end at the end of the input.
    for tail_bytes in [0, tail_bytes(tail)] {
        check_round_trip(codec, &payloads, seed, tail_bytes);
    }
}

#[test]
fn any_payloads_round_trip_through_a_v2_segment_and_its_index() {
    fn prop(raw: Vec<Vec<u8>>, seed: u32, tail: u8) {
        round_trip(Codec::V2, raw, seed, tail);
    }
    quickcheck(400, 24).quickcheck(prop as fn(Vec<Vec<u8>>, u32, u8));
}

#[test]
fn any_payloads_round_trip_through_a_v1_segment_and_its_index() {
    fn prop(raw: Vec<Vec<u8>>, seed: u32, tail: u8) {
        round_trip(Codec::V1, raw, seed, tail);
    }
    quickcheck(400, 24).quickcheck(prop as fn(Vec<Vec<u8>>, u32, u8));
}

#[test]
fn a_few_large_payloads_round_trip() {
    // Sizes whose size fields use more than the last byte, and a tail of exactly one end
    // marker; the generated payloads above stay small.
    let payloads: Vec<Vec<u8>> = [255usize, 256, 257, 65_536, 70_001]
        .iter()
        .map(|&n| (0..n).map(|i| i.to_le_bytes()[0] ^ 0xA5).collect())
        .collect();
    for codec in Codec::ALL_LATEST_FIRST {
        for tail_bytes in [0, 1, 3, 4, 100] {
            check_round_trip(codec, &payloads, 0xFFFF_FFFF, tail_bytes);
        }
    }
}

// ---------------------------------------------------------------------------------------
// (b) Truncation.

/// Cuts `seg` to `cut` bytes and checks that the scan returns exactly the first k records,
/// k being the number of records that fit entirely, and then ends cleanly if only zero
/// bytes follow them (the cut is on a record boundary, inside the zero tail, or inside a
/// size field whose bytes so far are zeros: a torn size field whose written part is zero
/// cannot be told from zero fill), or with `OutOfBounds` at record k's file offset.
fn check_cut(seg: &Segment, cut: usize) {
    let bytes = &seg.bytes[..cut];
    let kept = seg.records.iter().take_while(|r| r.end() <= cut).count();
    let at = seg.records.get(kept).map_or(seg.records_end(), |r| {
        usize::try_from(r.file_offset).unwrap()
    });
    assert!(at <= cut);
    let rest = &bytes[at..];
    let expected_end = if rest.iter().all(|&b| b == 0) {
        clean_end(at, rest.len())
    } else {
        // Only a record can put a non-zero byte there: the cut is inside record `kept`.
        let size = seg.records[kept].payload.len();
        let needed = if rest.len() >= 4 {
            seg.codec.record_bytes(size).unwrap()
        } else {
            4
        };
        ScanEnd::Problem(FormatError::OutOfBounds {
            file_offset: file_offset(at),
            needed: u64_of(needed),
            available: u64_of(rest.len()),
        })
    };

    let (records, summary) = scan(seg.codec, bytes, scan_seed(seg));
    assert_eq!(records, expected_records(seg, kept), "cut at {cut}");
    assert_eq!(summary.end, expected_end, "cut at {cut}");
    assert_eq!(
        summary.end.is_clean(),
        cut == at || rest.iter().all(|&b| b == 0),
        "cut at {cut}"
    );
    assert_eq!(summary.valid_len, file_offset(at));
    assert_eq!(summary.last_crc, last_crc_after(seg, kept));
}

/// Every cut of small segments; for larger ones, the cuts around each record boundary and
/// inside each header, plus one generated cut anywhere.
fn truncation(codec: Codec, raw: Vec<Vec<u8>>, seed: u32, tail: u8, cut: usize) {
    let seg = encode_with_tail(codec, seed, &non_empty(raw), tail_bytes(tail));
    let len = seg.bytes.len();
    if len <= ALL_CUTS_MAX_BYTES {
        for cut in 0..=len {
            check_cut(&seg, cut);
        }
    } else {
        let header = codec.header_bytes();
        let mut cuts = vec![cut % (len + 1), len];
        for r in &seg.records {
            let at = usize::try_from(r.file_offset).unwrap();
            for delta in [0, 1, 3, 4, 5, header - 1, header, header + 1] {
                cuts.push((at + delta).min(len));
            }
            cuts.push(r.end() - 1);
        }
        for cut in cuts {
            check_cut(&seg, cut);
        }
    }
}

#[test]
fn a_v2_segment_cut_at_any_length_scans_as_an_exact_prefix() {
    fn prop(raw: Vec<Vec<u8>>, seed: u32, tail: u8, cut: usize) {
        truncation(Codec::V2, raw, seed, tail, cut);
    }
    quickcheck(100, 24).quickcheck(prop as fn(Vec<Vec<u8>>, u32, u8, usize));
}

#[test]
fn a_v1_segment_cut_at_any_length_scans_as_an_exact_prefix() {
    fn prop(raw: Vec<Vec<u8>>, seed: u32, tail: u8, cut: usize) {
        truncation(Codec::V1, raw, seed, tail, cut);
    }
    quickcheck(150, 24).quickcheck(prop as fn(Vec<Vec<u8>>, u32, u8, usize));
}

#[test]
fn large_segments_cut_near_record_boundaries_scan_as_an_exact_prefix() {
    fn prop(raw: Vec<Vec<u8>>, seed: u32, tail: u8, cut: usize) {
        truncation(Codec::V2, raw.clone(), seed, tail, cut);
        truncation(Codec::V1, raw, seed, tail, cut);
    }
    // Up to 63 payloads of up to 63 bytes: mostly longer than ALL_CUTS_MAX_BYTES.
    quickcheck(25, 64).quickcheck(prop as fn(Vec<Vec<u8>>, u32, u8, usize));
}

// ---------------------------------------------------------------------------------------
// (c) Single bit flips in v2 segments.
//
// What a flip of one bit does, by where it lands (record j starts at file offset `at`):
// - payload, previous-crc or crc field of record j: `ChecksumMismatch` at `at`. CRC-32C
//   detects every single-bit error in the payload; a different seed always gives a different
//   crc (continuing a crc from a seed is an invertible map of the seed); and masking is a
//   bijection. So this is guaranteed, not likely.
// - size field of record j, flipped to another non-zero size s': `OutOfBounds` at `at` if
//   12 + s' bytes are not there, otherwise `ChecksumMismatch` at `at`, because the crc is
//   now computed over s' bytes that are not the payload. That mismatch is NOT guaranteed:
//   the size is not covered by the crc, and a CRC whose register is 0 does not change on
//   zero bytes. When `crc32c_update(prev, shorter) == 0xFFFF_FFFF` (register 0) and the
//   bytes the new size adds or drops are all zero, the crc still matches: the scan returns
//   a payload that was never written (longer or shorter by zero bytes), and may end
//   cleanly. The register is 0 from the start when the seed is 0xFFFF_FFFF, so with that
//   seed every all-zero payload is exposed (found by these properties; see the
//   `v2_cannot_detect_*` tests below). For other inputs a match is a 2^-32 chance, and the
//   test would fail on one (it asserts the exact mismatch it computes).
// - size field flipped to 0: only possible for one bit when the size is a power of two.
//   The size then reads as the end marker at `at`, and the bytes after it (the previous crc,
//   the crc, the payload, later records) are not all zero: `NonZeroAfterEnd` with
//   `end_file_offset = at` and `file_offset` the first non-zero byte after it.
// - the zero tail after the last record, in the four bytes of the end marker: the marker
//   becomes a size, 2^b. If a record of that size does not fit: `OutOfBounds`; if it does,
//   it is a record of zeros whose stored crc (0) is not the crc of its zero payload:
//   `ChecksumMismatch`. With fewer than four tail bytes there is no end marker, and the
//   partial size field that is not zero is `OutOfBounds` (needed 4).
// - the zero tail past the end marker: `NonZeroAfterEnd` at the marker, naming the byte.
// Apart from the zero-register exception, the records before the damage come back exactly
// as written, nothing is returned from the damaged record on, and the scan does not end
// cleanly.

/// What a scan of a segment with one flipped bit must give.
#[derive(Debug)]
enum AfterFlip {
    /// The first `kept` records, then the problem.
    Reported { kept: usize, problem: FormatError },
    /// Record `index`'s size was changed and its crc still matches over `misread` (the
    /// zero-register case): the scan returns the records before it and then this payload.
    SizeChangeUndetectable { index: usize, misread: Vec<u8> },
}

/// Whether a record chained from `prev` whose payload `written` is read as `misread`
/// (another length, same start) is the case the crc cannot see: the longer one is the
/// shorter one followed by zero bytes, and the crc register after the shorter one is 0.
fn is_zero_register_size_change(prev: u32, written: &[u8], misread: &[u8]) -> bool {
    let (shorter, longer) = if written.len() < misread.len() {
        (written, misread)
    } else {
        (misread, written)
    };
    longer.starts_with(shorter)
        && longer[shorter.len()..].iter().all(|&b| b == 0)
        && oracle_crc32c(prev, shorter) == 0xFFFF_FFFF
}

/// The scan outcome the flip of a bit in byte `byte` of `seg` (giving `flipped`) must give.
fn expected_after_flip(seg: &Segment, flipped: &[u8], byte: usize) -> AfterFlip {
    let len = flipped.len();
    let u32_at = |at: usize| u32::from_be_bytes(flipped[at..at + 4].try_into().unwrap());
    let first_nonzero_from = |at: usize| at + flipped[at..].iter().position(|&b| b != 0).unwrap();
    // A size field that reads `size` at `at`: out of bounds, or the crc over what it spans.
    let read_as_size = |at: usize, size: u32, prev: u32, stored_crc: u32| {
        let needed = 12 + u64::from(size);
        let available = u64_of(len - at);
        if needed > available {
            return Err(FormatError::OutOfBounds {
                file_offset: file_offset(at),
                needed,
                available,
            });
        }
        let payload_start = at + 12;
        let payload = &flipped[payload_start..payload_start + usize::try_from(size).unwrap()];
        let expected = oracle_chain(prev, payload);
        if expected == stored_crc {
            Ok(payload.to_vec())
        } else {
            Err(FormatError::ChecksumMismatch {
                file_offset: file_offset(at),
                expected,
                actual: stored_crc,
            })
        }
    };
    let reported = |kept: usize, problem: FormatError| AfterFlip::Reported { kept, problem };

    let Some(j) = seg.records.iter().position(|r| byte < r.end()) else {
        // The flip is in the zero tail.
        let at = seg.records_end();
        let kept = seg.records.len();
        let tail = len - at;
        let problem = if tail < 4 {
            FormatError::OutOfBounds {
                file_offset: file_offset(at),
                needed: 4,
                available: u64_of(tail),
            }
        } else if byte < at + 4 {
            let phantom = read_as_size(at, u32_at(at), 0, 0);
            phantom.expect_err("a phantom record of zeros with crc 0 passed its crc check")
        } else {
            FormatError::NonZeroAfterEnd {
                end_file_offset: file_offset(at),
                file_offset: file_offset(byte),
            }
        };
        return reported(kept, problem);
    };
    let r = &seg.records[j];
    let at = usize::try_from(r.file_offset).unwrap();
    let crc = r.crc.unwrap();
    let problem = match byte - at {
        0..4 => match u32_at(at) {
            0 => FormatError::NonZeroAfterEnd {
                end_file_offset: file_offset(at),
                file_offset: file_offset(first_nonzero_from(at)),
            },
            size => match read_as_size(at, size, r.prev_crc, crc) {
                Err(problem) => problem,
                Ok(misread) => {
                    assert!(
                        is_zero_register_size_change(r.prev_crc, &r.payload, &misread),
                        "a size change the crc missed that is not the zero-register case: \
                         seed {:#010x}, written {:02x?}, misread {misread:02x?}",
                        r.prev_crc,
                        r.payload,
                    );
                    return AfterFlip::SizeChangeUndetectable { index: j, misread };
                }
            },
        },
        4..8 => FormatError::ChecksumMismatch {
            file_offset: file_offset(at),
            expected: oracle_chain(u32_at(at + 4), &r.payload),
            actual: crc,
        },
        8..12 => FormatError::ChecksumMismatch {
            file_offset: file_offset(at),
            expected: crc,
            actual: u32_at(at + 8),
        },
        _ => FormatError::ChecksumMismatch {
            file_offset: file_offset(at),
            expected: oracle_chain(r.prev_crc, &flipped[at + 12..r.end()]),
            actual: crc,
        },
    };
    reported(j, problem)
}

fn check_flip(seg: &Segment, bit: usize) {
    let byte = bit / 8;
    let mut flipped = seg.bytes.clone();
    flipped[byte] ^= 1 << (bit % 8);
    let expected = expected_after_flip(seg, &flipped, byte);

    let (records, summary) = scan(Codec::V2, &flipped, Some(seg.seed));
    let context = format!(
        "bit {} of byte {byte} of {}, seed {:#010x}",
        bit % 8,
        flipped.len(),
        seg.seed
    );
    let written = expected_records(seg, seg.records.len());
    match expected {
        AfterFlip::Reported { kept, problem } => {
            // Never a payload that was not written at that position.
            for r in &records {
                let i = usize::try_from(r.index).unwrap();
                assert_eq!(Some(r), written.get(i), "{context}");
            }
            assert_eq!(records[..], written[..kept], "{context}");
            assert!(!summary.end.is_clean(), "{context}: a flip went unnoticed");
            assert_eq!(summary.end, ScanEnd::Problem(problem), "{context}");
            let kept_end = kept.checked_sub(1).map_or(0, |k| seg.records[k].end());
            assert_eq!(summary.valid_len, file_offset(kept_end), "{context}");
        }
        AfterFlip::SizeChangeUndetectable { index, misread } => {
            // The known blind spot: the records before are intact, then the misread one.
            let mut expected = written[..=index].to_vec();
            expected[index].payload = misread;
            assert_eq!(records[..=index], expected[..], "{context}");
        }
    }
}

/// A v2 segment of `raw` with a tail, never empty (there must be a bit to flip).
fn flip_segment(raw: Vec<Vec<u8>>, seed: u32, tail: u8) -> Segment {
    let payloads = non_empty(raw);
    let tail_bytes = match tail_bytes(tail) {
        0 if payloads.is_empty() => 1,
        n => n,
    };
    encode_with_tail(Codec::V2, seed, &payloads, tail_bytes)
}

#[test]
fn a_single_bit_flip_anywhere_in_a_v2_segment_is_reported_after_an_exact_prefix() {
    fn prop(raw: Vec<Vec<u8>>, seed: u32, tail: u8, bit: usize) {
        let seg = flip_segment(raw, seed, tail);
        check_flip(&seg, bit % (seg.bytes.len() * 8));
    }
    quickcheck(3000, 24).quickcheck(prop as fn(Vec<Vec<u8>>, u32, u8, usize));
}

#[test]
fn every_single_bit_flip_in_small_v2_segments_is_reported_after_an_exact_prefix() {
    fn prop(raw: Vec<Vec<u8>>, seed: u32, tail: u8) {
        let seg = flip_segment(raw, seed, tail);
        for bit in 0..seg.bytes.len() * 8 {
            check_flip(&seg, bit);
        }
    }
    quickcheck(25, 10).quickcheck(prop as fn(Vec<Vec<u8>>, u32, u8));
}

#[test]
fn every_single_bit_flip_in_a_segment_of_power_of_two_sizes_is_reported() {
    // Sizes that are powers of two are the ones a single flip can turn into the end marker;
    // the 0x00 payloads after a zeroed size make the non-zero byte further away.
    let payloads: [&[u8]; 6] = [&[0; 1], &[0; 2], b"four", &[0; 8], b"odd", &[0xFF; 16]];
    for (seed, tail_bytes) in [(0, 0), (0, 2), (0x8000_0001, 4), (7, 30)] {
        let seg = encode_with_tail(Codec::V2, seed, &payloads, tail_bytes);
        for bit in 0..seg.bytes.len() * 8 {
            check_flip(&seg, bit);
        }
    }
}

/// Found by `every_single_bit_flip_in_small_v2_segments_...` (seed 0xFFFF_FFFF, payload
/// `[00]`, 2-byte tail, bit 1 of byte 3): the size field is not covered by the crc, and
/// CRC-32C continued from 0xFFFF_FFFF (register 0) is unchanged by zero bytes, so a size
/// flip that adds or drops zero bytes of an all-zero payload passes every check.
/// This is a limit of the on-disk format, not of the decoder; it is pinned here so that the
/// format's documentation of what v2 cannot detect stays true.
#[test]
fn v2_cannot_detect_a_size_flip_over_zero_bytes_when_the_crc_register_is_zero() {
    // (seed, payloads, tail bytes, byte and bit to flip, payload read back, clean end)
    let undetected = [
        // The case the property found: 1 -> 3, into a 2-byte tail; the file is then read
        // to its end.
        (
            0xFFFF_FFFF,
            vec![vec![0x00]],
            2,
            3,
            1,
            vec![0u8; 3],
            eoi(15),
        ),
        // A preallocated file: 1 -> 5, into the zero tail, then an end marker.
        (
            0xFFFF_FFFF,
            vec![vec![0x00]],
            40,
            3,
            2,
            vec![0u8; 5],
            marker(17),
        ),
        // A shrink: 3 -> 1; the two dropped zero bytes then read as an end marker.
        (
            0xFFFF_FFFF,
            vec![vec![0x00; 3]],
            40,
            3,
            1,
            vec![0u8; 1],
            marker(13),
        ),
        // The register is 0 after any payload whose stored crc is 0xFFFF_FFFF: here the
        // 4-byte payload 09 c4 d9 cc chained from seed 0, so a log started normally is
        // exposed too (a writer choosing payloads can do this on purpose).
        (
            0,
            vec![vec![0x09, 0xC4, 0xD9, 0xCC], vec![0x00]],
            40,
            16 + 3,
            2,
            vec![0u8; 5],
            marker(33),
        ),
    ];
    for (seed, payloads, tail, byte, bit, misread, end) in undetected {
        let seg = encode_with_tail(Codec::V2, seed, &payloads, tail);
        let mut damaged = seg.bytes.clone();
        damaged[byte] ^= 1 << bit;
        let (records, summary) = scan(Codec::V2, &damaged, Some(seed));
        let last = payloads.len() - 1;
        let mut expected = expected_records(&seg, payloads.len());
        expected[last].payload = misread;
        assert_eq!(records, expected);
        assert_eq!(summary.end, end);
        assert!(summary.end.is_clean(), "the damage is not detected");
        // What the cases share: the damaged record is seeded with 0xFFFF_FFFF (crc register
        // 0), under which zero bytes do not move the crc.
        assert_eq!(seg.records[last].prev_crc, 0xFFFF_FFFF);
        assert_eq!(oracle_crc32c(0xFFFF_FFFF, &[0; 9]), 0xFFFF_FFFF);
    }
    // The same flip with any other seed is a crc mismatch.
    let seg = encode_with_tail(Codec::V2, 0, &[[0x00]], 40);
    let mut damaged = seg.bytes.clone();
    damaged[3] ^= 1 << 2;
    let (records, summary) = scan(Codec::V2, &damaged, Some(0));
    assert!(records.is_empty());
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::ChecksumMismatch {
            file_offset: FileOffset(0),
            expected: oracle_chain(0, &[0; 5]),
            actual: oracle_chain(0, &[0]),
        })
    );
}

fn eoi(at: u32) -> ScanEnd {
    ScanEnd::EndOfInput {
        file_offset: FileOffset(at),
    }
}

fn marker(at: u32) -> ScanEnd {
    ScanEnd::EndMarker {
        file_offset: FileOffset(at),
    }
}

// ---------------------------------------------------------------------------------------
// (d) v1 has no checksum. It detects a size that runs past the end of the input (and, like
// v2, non-zero bytes after the end marker), and nothing else: these tests pin down that
// limitation so that it stays documented and known.

#[test]
fn v1_does_not_detect_a_flipped_payload_bit() {
    fn prop(raw: Vec<Vec<u8>>, tail: u8, pick: usize, bit: u8) {
        let mut payloads = non_empty(raw);
        if payloads.is_empty() {
            payloads.push(vec![0x00]);
        }
        let seg = encode_with_tail(Codec::V1, 0, &payloads, tail_bytes(tail));
        let j = pick % payloads.len();
        let in_payload = (pick / payloads.len()) % payloads[j].len();
        let mut flipped = seg.bytes.clone();
        let byte = usize::try_from(seg.records[j].file_offset).unwrap() + 4 + in_payload;
        flipped[byte] ^= 1 << (bit % 8);

        let (records, summary) = scan(Codec::V1, &flipped, None);
        let (_, original) = scan(Codec::V1, &seg.bytes, None);
        let mut expected = expected_records(&seg, payloads.len());
        expected[j].payload[in_payload] ^= 1 << (bit % 8);
        // A different payload comes back, and the scan ends exactly as it did before.
        assert_eq!(records, expected);
        assert_ne!(records[j].payload, payloads[j]);
        assert!(summary.end.is_clean());
        assert_eq!(summary, original);
    }
    quickcheck(300, 24).quickcheck(prop as fn(Vec<Vec<u8>>, u8, usize, u8));
}

#[test]
fn v1_detects_a_size_flipped_past_the_end_of_the_segment() {
    fn prop(raw: Vec<Vec<u8>>, tail: u8, pick: usize) {
        let mut payloads = non_empty(raw);
        if payloads.is_empty() {
            payloads.push(vec![0x00]);
        }
        let seg = encode_with_tail(Codec::V1, 0, &payloads, tail_bytes(tail));
        let j = pick % payloads.len();
        let at = usize::try_from(seg.records[j].file_offset).unwrap();
        let available = seg.bytes.len() - at;
        let mut detected = 0;
        for bit in 0..32 {
            let size = u32::try_from(payloads[j].len()).unwrap() ^ (1 << bit);
            let mut flipped = seg.bytes.clone();
            flipped[at..at + 4].copy_from_slice(&size.to_be_bytes());
            let (records, summary) = scan(Codec::V1, &flipped, None);
            // Whatever the flip, the records before the damage are intact.
            assert_eq!(records[..j], expected_records(&seg, j)[..]);
            let needed = 4 + u64::from(size);
            if needed > u64_of(available) {
                detected += 1;
                assert_eq!(records, expected_records(&seg, j));
                assert_eq!(
                    summary.end,
                    ScanEnd::Problem(FormatError::OutOfBounds {
                        file_offset: file_offset(at),
                        needed,
                        available: u64_of(available),
                    })
                );
            }
        }
        // Bit 31 at least always pushes the size past any test segment.
        assert!(detected >= 1);
    }
    quickcheck(200, 24).quickcheck(prop as fn(Vec<Vec<u8>>, u8, usize));
}

#[test]
fn v1_silently_misreads_a_shrunk_size_whose_bytes_happen_to_parse() {
    // Record 0 holds 5 bytes that look like a v1 header (size 5) after its first byte;
    // record 1 is "b". Flipping bit 2 of record 0's size (5 -> 1) makes the scan read
    // [0xAA], then a 5-byte record that swallows record 1, then the end marker: two wrong
    // records and a clean end.
    let seg = encode_with_tail(Codec::V1, 0, &[&[0xAA, 0, 0, 0, 5][..], b"b"], 20);
    let mut damaged = seg.bytes.clone();
    damaged[3] ^= 0b100;
    let (records, summary) = scan(Codec::V1, &damaged, None);
    let payloads: Vec<&[u8]> = records.iter().map(|r| &r.payload[..]).collect();
    assert_eq!(payloads, [&[0xAA][..], &[0, 0, 0, 1, b'b'][..]]);
    assert_eq!(
        summary.end,
        ScanEnd::EndMarker {
            file_offset: FileOffset(14)
        }
    );
}

#[test]
fn v1_reads_a_flipped_end_marker_as_a_phantom_record() {
    let seg = encode_with_tail(Codec::V1, 0, &[b"abc"], 20);
    let mut damaged = seg.bytes.clone();
    damaged[7 + 3] ^= 1; // the end marker at 7 now says "size 1"
    let (records, summary) = scan(Codec::V1, &damaged, None);
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].payload, [0x00]);
    assert_eq!(records[1].file_offset, 7);
    assert_eq!(
        summary.end,
        ScanEnd::EndMarker {
            file_offset: FileOffset(12)
        }
    );
    // v2 reports the same damage: the phantom record's crc field (0) is not its crc.
    let v2 = encode_with_tail(Codec::V2, 0, &[b"abc"], 40);
    let mut damaged = v2.bytes.clone();
    damaged[15 + 3] ^= 1;
    let (records, summary) = scan(Codec::V2, &damaged, Some(0));
    assert_eq!(records.len(), 1);
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::ChecksumMismatch {
            file_offset: FileOffset(15),
            expected: oracle_chain(0, &[0x00]),
            actual: 0
        })
    );
}

#[test]
fn v1_reports_a_non_zero_byte_after_the_end_marker() {
    let seg = encode_with_tail(Codec::V1, 0, &[b"abc"], 20);
    let mut damaged = seg.bytes.clone();
    damaged[20] = 0x10;
    let (records, summary) = scan(Codec::V1, &damaged, None);
    assert_eq!(records.len(), 1);
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::NonZeroAfterEnd {
            end_file_offset: FileOffset(7),
            file_offset: FileOffset(20)
        })
    );
}
