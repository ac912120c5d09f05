//! Helpers shared by the integration tests: an independent crc oracle, and scanning into
//! owned values that are easy to compare. Segments are built with `wal_testkit::segment`
//! (re-exported here), which uses the library's encoder.
//!
//! Each integration test file is its own crate and uses a different subset of these.
#![allow(
    dead_code,
    reason = "each test crate uses a different subset of the helpers"
)]

use wal_format::{Codec, Record, ScanSummary, Scanner};

// The segment builders live in the workspace's test-support crate.
#[allow(unused_imports, reason = "each test crate uses a different subset")]
pub use wal_testkit::segment::{
    Segment, Written, encode_index, encode_segment, encode_with_tail, records_len,
};

/// CRC-32C continued from `seed`, computed with the `crc` crate (not the implementation the
/// library uses), so that the library's crcs are checked against an independent oracle.
/// The `crc` crate reflects a custom initial value, so it is given the bit-reversed
/// register `!seed`.
pub fn oracle_crc32c(seed: u32, bytes: &[u8]) -> u32 {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    let mut digest = crc.digest_with_initial((!seed).reverse_bits());
    digest.update(bytes);
    digest.finalize()
}

/// `mask(crc32c_update(prev, payload))` written out from the format facts.
pub fn oracle_chain(prev: u32, payload: &[u8]) -> u32 {
    oracle_crc32c(prev, payload)
        .rotate_right(15)
        .wrapping_add(0xA282_EAD8)
}

/// The bytes of one record, laid out by hand from the format tables (not by the encoder).
pub fn oracle_record(codec: Codec, prev: u32, payload: &[u8]) -> Vec<u8> {
    let size = u32::try_from(payload.len()).unwrap();
    let mut out = size.to_be_bytes().to_vec();
    if codec == Codec::V2 {
        out.extend_from_slice(&prev.to_be_bytes());
        out.extend_from_slice(&oracle_chain(prev, payload).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// A record returned by a scan, owned so that it outlives the scanned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub index: u32,
    pub file_offset: u32,
    pub prev_crc: Option<u32>,
    pub crc: Option<u32>,
    pub payload: Vec<u8>,
}

impl From<Record<'_>> for Scanned {
    fn from(r: Record<'_>) -> Scanned {
        Scanned {
            index: r.index,
            file_offset: r.file_offset.0,
            prev_crc: r.prev_crc,
            crc: r.crc,
            payload: r.payload.to_vec(),
        }
    }
}

/// What a scan of `written` should return for its record at `index`.
pub fn expected_record(codec: Codec, index: usize, written: &Written) -> Scanned {
    Scanned {
        index: u32::try_from(index).unwrap(),
        file_offset: written.file_offset,
        prev_crc: (codec == Codec::V2).then_some(written.prev_crc),
        crc: written.crc,
        payload: written.payload.clone(),
    }
}

/// Scans `bytes` to the end: the records, and the summary. Also checks that iterating and
/// [`Scanner::finish`] agree, and that the scanner's accessors match the summary.
pub fn scan(codec: Codec, bytes: &[u8], seed: Option<u32>) -> (Vec<Scanned>, ScanSummary) {
    let start = || {
        let scanner = Scanner::new(codec, bytes);
        match seed {
            Some(seed) => scanner.with_seed(seed),
            None => scanner,
        }
    };
    let mut scanner = start();
    let records: Vec<Scanned> = scanner.by_ref().map(Scanned::from).collect();
    let summary = start().finish();
    assert_eq!(
        scanner.end(),
        Some(&summary.end),
        "iterator and finish disagree"
    );
    assert_eq!(scanner.records(), summary.records);
    assert_eq!(scanner.valid_len(), summary.valid_len);
    assert_eq!(scanner.last_crc(), summary.last_crc);
    assert_eq!(usize::try_from(summary.records).unwrap(), records.len());
    (records, summary)
}
