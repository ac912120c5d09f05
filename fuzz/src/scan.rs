//! Checks of a segment scan: every record the scanner returns re-encodes to exactly the
//! bytes it was read from, records are contiguous and counted from 0, the v2 chain links,
//! and the scan ends where the valid prefix ends, for the reason the model gives.

use wal_format::{Codec, Decoded, FileOffset, Record, ScanEnd, ScanSummary, Scanner};

use crate::model;

/// Every check this module has, on one segment's bytes: scans without a seed and (v2)
/// with seeds taken from the input, decodes at offsets taken from the input, and resumes
/// a scan from one of its record boundaries.
pub fn check_segment(codec: Codec, data: &[u8]) {
    let records = check_scan(codec, data, None);
    if codec.has_crc() {
        // The first record's stored previous crc: the seed a caller that trusts the
        // segment would pass. Its complement: a seed the first record cannot match.
        if data.len() >= 8 {
            let stored_prev = model::be_u32(data, 4);
            check_scan(codec, data, Some(stored_prev));
            check_scan(codec, data, Some(!stored_prev));
        }
    } else if let Some(seed) = data.get(..4).map(|b| model::be_u32(b, 0)) {
        check_v1_ignores_seed(data, seed);
    }
    for at in probe_offsets(data) {
        check_decode_at(codec, data, at);
    }
    check_resume(codec, data, &records);
}

/// Scans `data` to its end and checks every record and the end; returns the records.
pub fn check_scan(codec: Codec, data: &[u8], seed: Option<u32>) -> Vec<Record<'_>> {
    let new_scanner = || {
        let scanner = Scanner::new(codec, data);
        match seed {
            Some(seed) => scanner.with_seed(seed),
            None => scanner,
        }
    };
    let mut scanner = new_scanner();
    assert_eq!(scanner.codec(), codec);
    let header = model::header_bytes(codec);
    // The previous crc the next record must store, when the chain says.
    let mut link = if codec.has_crc() { seed } else { None };
    let mut records = Vec::new();
    let mut at = 0usize;
    let mut buf = Vec::new();
    while let Some(record) = scanner.next() {
        assert_eq!(
            record.index as usize,
            records.len(),
            "records count 0, 1, 2..."
        );
        assert_eq!(record.file_offset.as_usize(), at, "records are contiguous");
        if let Some(expected) = link {
            assert_eq!(
                record.prev_crc,
                Some(expected),
                "a record's previous crc is the crc of the record before (or the seed)"
            );
        }
        let next = at + header + record.payload.len();
        check_reencodes(codec, data, &record, &mut buf);
        // The same record, decoded on its own, is the same record.
        assert_eq!(
            codec.decode_record(data, record.file_offset),
            Ok(Decoded::Record {
                record: Record { index: 0, ..record },
                next: FileOffset(next as u32),
            })
        );
        assert_eq!(scanner.valid_len().as_usize(), next);
        assert_eq!(scanner.records() as usize, records.len() + 1);
        if codec.has_crc() {
            link = record.crc;
            assert_eq!(scanner.last_crc(), record.crc);
        }
        records.push(record);
        at = next;
    }
    let end = scanner
        .end()
        .cloned()
        .expect("a scanner that returned None says how it ended");
    assert_eq!(scanner.next(), None, "a finished scan stays finished");
    assert_eq!(scanner.end(), Some(&end));
    let valid_len = scanner.valid_len();
    assert_eq!(
        valid_len.as_usize(),
        at,
        "valid_len is the end of the last record"
    );
    if let ScanEnd::Problem(problem) = &end {
        assert_eq!(
            problem.file_offset(),
            Some(valid_len),
            "a problem is reported where the valid prefix ends"
        );
    }
    assert_eq!(end, expected_end(codec, data, valid_len, link));
    assert_eq!(
        new_scanner().finish(),
        ScanSummary {
            records: records.len() as u32,
            valid_len,
            last_crc: scanner.last_crc(),
            end,
        },
        "finish() sums up the same scan"
    );
    records
}

/// How a scan that stopped at `valid_len` must end, from the model: `link` is the
/// previous crc the chain required of the next record.
fn expected_end(codec: Codec, data: &[u8], valid_len: FileOffset, link: Option<u32>) -> ScanEnd {
    let at = valid_len.as_usize();
    match model::decode(codec, data, valid_len) {
        Ok(Decoded::Record { record, .. }) => {
            // A good record stops the scan only when it does not link.
            let (Some(expected), Some(actual)) = (link, record.prev_crc) else {
                panic!("scan stopped before a good record at {at} without a chain to break");
            };
            assert_ne!(
                expected, actual,
                "scan stopped before a linking record at {at}"
            );
            ScanEnd::Problem(wal_format::FormatError::ChainBreak {
                file_offset: valid_len,
                expected,
                actual,
            })
        }
        Ok(Decoded::EndMarker) => match data[at..].iter().position(|&b| b != 0) {
            None => ScanEnd::EndMarker {
                file_offset: valid_len,
            },
            Some(i) => ScanEnd::Problem(wal_format::FormatError::NonZeroAfterEnd {
                end_file_offset: valid_len,
                file_offset: FileOffset((at + i) as u32),
            }),
        },
        Ok(Decoded::EndOfInput) => ScanEnd::EndOfInput {
            file_offset: valid_len,
        },
        Err(problem) => ScanEnd::Problem(problem),
    }
}

/// A record re-encodes, from its stored previous crc and payload, to exactly the bytes
/// it was decoded from, and its payload borrows those bytes in place.
fn check_reencodes(codec: Codec, data: &[u8], record: &Record<'_>, buf: &mut Vec<u8>) {
    let at = record.file_offset.as_usize();
    let header = model::header_bytes(codec);
    let len = header + record.payload.len();
    assert!(!record.payload.is_empty(), "a record has a payload");
    assert_eq!(record.size() as usize, record.payload.len());
    assert_eq!(record.prev_crc.is_some(), codec.has_crc());
    assert_eq!(record.crc.is_some(), codec.has_crc());
    let stored = data
        .get(at..at + len)
        .expect("a record lies within the input");
    assert_eq!(
        record.payload.as_ptr(),
        stored[header..].as_ptr(),
        "the payload is borrowed from its place in the input"
    );
    buf.clear();
    buf.resize(len, 0);
    let encoded = codec
        .encode_record(buf, record.prev_crc.unwrap_or(0), record.payload)
        .expect("a decoded record re-encodes");
    assert_eq!(encoded.len, len);
    assert_eq!(encoded.crc, record.crc);
    assert_eq!(&buf[..], stored, "re-encoding gives the bytes decoded");
}

/// `decode_record` at `at` returns what the model says, without panicking.
pub fn check_decode_at(codec: Codec, data: &[u8], at: FileOffset) {
    let decoded = codec.decode_record(data, at);
    assert_eq!(
        decoded,
        model::decode(codec, data, at),
        "decode_record at {at} differs from the model"
    );
    if let Ok(Decoded::Record { record, next }) = decoded {
        let len = model::header_bytes(codec) + record.payload.len();
        assert_eq!(next.as_usize(), at.as_usize() + len);
        check_reencodes(codec, data, &record, &mut Vec::new());
    }
}

/// Offsets to decode at: every offset near the start, the edges of the input and of the
/// u32 range, and offsets read from the input (raw and folded into its length).
fn probe_offsets(data: &[u8]) -> Vec<FileOffset> {
    let len = data.len() as u32;
    let mut offsets: Vec<u32> = (0..=len.min(64) + 1).collect();
    offsets.extend([len, len + 1, len + 4, u32::MAX - 3, u32::MAX - 1, u32::MAX]);
    for field in data.chunks_exact(4).take(8) {
        let value = model::be_u32(field, 0);
        offsets.extend([value, value % (len + 2)]);
    }
    offsets.into_iter().map(FileOffset).collect()
}

/// Resuming at one of a scan's record boundaries (chosen from the input) with that
/// record's index, and (v2) the crc before it as the seed, gives the rest of the scan.
fn check_resume(codec: Codec, data: &[u8], records: &[Record<'_>]) {
    let full = Scanner::new(codec, data).finish();
    let k = data
        .last()
        .map_or(0, |&b| usize::from(b) % (records.len() + 1));
    let at = records.get(k).map_or(full.valid_len, |r| r.file_offset);
    let mut scanner = Scanner::new(codec, data).resume_at(at, k as u32);
    if let Some(prev) = k.checked_sub(1).and_then(|p| records[p].crc) {
        scanner = scanner.with_seed(prev);
    }
    let rest: Vec<Record<'_>> = scanner.by_ref().collect();
    assert_eq!(rest, records[k..], "resuming at record {k} gives the rest");
    assert_eq!(scanner.records(), full.records);
    assert_eq!(scanner.valid_len(), full.valid_len);
    assert_eq!(scanner.end(), Some(&full.end));
}

/// v1 has no crc, so a seed must change nothing: not the records, not how the scan
/// ends, and there is still no last crc.
fn check_v1_ignores_seed(data: &[u8], seed: u32) {
    let plain = Scanner::new(Codec::V1, data).finish();
    let seeded = Scanner::new(Codec::V1, data).with_seed(seed).finish();
    assert_eq!(seeded, plain, "a seed changes nothing for v1");
    assert_eq!(seeded.last_crc, None, "v1 has no last crc");
    let plain_records: Vec<Record<'_>> = Scanner::new(Codec::V1, data).collect();
    let seeded_records: Vec<Record<'_>> = Scanner::new(Codec::V1, data).with_seed(seed).collect();
    assert_eq!(seeded_records, plain_records);
}
