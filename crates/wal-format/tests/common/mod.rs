//! Helpers shared by the integration tests: building segments with the library's encoder,
//! an independent crc oracle, and scanning into owned values that are easy to compare.
//!
//! Each integration test file is its own crate and uses a different subset of these.
#![allow(
    dead_code,
    reason = "each test crate uses a different subset of the helpers"
)]

use wal_format::{Codec, FileOffset, Record, ScanSummary, Scanner, index};

/// One record as the test wrote it, with where it went and (v2) how it was chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Where the record starts in the segment.
    pub file_offset: u32,
    /// Bytes the record takes (header plus payload).
    pub len: usize,
    /// The seed the record was chained from (v2; for v1 the seed the caller passed, which
    /// the encoder ignores).
    pub prev_crc: u32,
    /// The crc the encoder returned (v2), `None` for v1.
    pub crc: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Written {
    /// File offset just past the record.
    pub fn end(&self) -> usize {
        usize::try_from(self.file_offset).unwrap() + self.len
    }
}

/// A zero-filled segment with records encoded back to back from file offset 0.
#[derive(Debug, Clone)]
pub struct Segment {
    pub codec: Codec,
    pub seed: u32,
    pub bytes: Vec<u8>,
    pub records: Vec<Written>,
}

impl Segment {
    /// File offset just past the last record (where the end marker, if any, is).
    pub fn records_end(&self) -> usize {
        self.records.last().map_or(0, Written::end)
    }

    /// The records' file offsets, as an index lists them.
    pub fn offsets(&self) -> Vec<FileOffset> {
        self.records
            .iter()
            .map(|r| FileOffset(r.file_offset))
            .collect()
    }

    /// The crc of the last record, or the seed when there is none (v2); `None` for v1.
    pub fn last_crc(&self) -> Option<u32> {
        match self.codec {
            Codec::V1 => None,
            _ => Some(self.records.last().map_or(self.seed, |r| r.crc.unwrap())),
        }
    }
}

/// Bytes the records of `payloads` take when packed back to back.
pub fn records_len<P: AsRef<[u8]>>(codec: Codec, payloads: &[P]) -> usize {
    payloads
        .iter()
        .map(|p| codec.record_bytes(p.as_ref().len()).unwrap())
        .sum()
}

/// Encodes `payloads` back to back with the library's encoder into a zero-filled buffer of
/// `segment_len` bytes, chaining v2 records from `seed`.
pub fn encode_segment<P: AsRef<[u8]>>(
    codec: Codec,
    seed: u32,
    payloads: &[P],
    segment_len: usize,
) -> Segment {
    let mut bytes = vec![0u8; segment_len];
    let mut records = Vec::with_capacity(payloads.len());
    let (mut at, mut prev) = (0usize, seed);
    for payload in payloads {
        let payload = payload.as_ref();
        let encoded = codec
            .encode_record(&mut bytes[at..], prev, payload)
            .unwrap();
        records.push(Written {
            file_offset: u32::try_from(at).unwrap(),
            len: encoded.len,
            prev_crc: prev,
            crc: encoded.crc,
            payload: payload.to_vec(),
        });
        at += encoded.len;
        prev = encoded.crc.unwrap_or(prev);
    }
    Segment {
        codec,
        seed,
        bytes,
        records,
    }
}

/// Encodes `payloads` followed by `tail_bytes` zero bytes.
pub fn encode_with_tail<P: AsRef<[u8]>>(
    codec: Codec,
    seed: u32,
    payloads: &[P],
    tail_bytes: usize,
) -> Segment {
    let len = records_len(codec, payloads) + tail_bytes;
    encode_segment(codec, seed, payloads, len)
}

/// The index file of `offsets`, encoded with the library's encoder.
pub fn encode_index(codec: Codec, offsets: &[FileOffset]) -> Vec<u8> {
    let mut out = vec![0u8; index::index_bytes(codec, offsets.len())];
    let written = index::encode(codec, offsets, &mut out).unwrap();
    assert_eq!(written, out.len());
    out
}

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
