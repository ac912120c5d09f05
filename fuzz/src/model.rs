//! A plain reference model of the format, written from the module docs of `wal-format`
//! (v1.rs, v2.rs, index.rs) and not from its code: straight-line slicing, no shared
//! helpers. The targets compare the library against it, so that a decoder that accepts,
//! rejects or reports something other than what the format says is a finding.
//!
//! The only thing taken from the library is the crc function itself (`crc::chain`),
//! which its own unit tests check against a bit-at-a-time CRC-32C.

use wal_format::{Codec, Decoded, FileOffset, FormatError, Record, crc};

/// Bytes of the payload-size field, the first field of every record header.
pub const SIZE_FIELD_BYTES: usize = 4;

/// Bytes of the crc that starts a v2 index.
pub const V2_INDEX_CRC_BYTES: usize = 4;

/// Bytes of one index entry.
pub const INDEX_ENTRY_BYTES: usize = 4;

/// The big-endian u32 at `at`; the caller has checked that four bytes are there.
pub fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Header size of a record, from the tables in v1.rs and v2.rs.
pub fn header_bytes(codec: Codec) -> usize {
    match codec {
        Codec::V1 => 4,
        Codec::V2 => 12,
    }
}

/// What `Codec::decode_record(segment, at)` must return. The model does not handle
/// segments over 4 GiB (the fuzzer never makes one).
pub fn decode(codec: Codec, segment: &[u8], at: FileOffset) -> Result<Decoded<'_>, FormatError> {
    let start = at.0 as usize;
    if start > segment.len() {
        return Err(FormatError::OutOfBounds {
            file_offset: at,
            needed: SIZE_FIELD_BYTES as u64,
            available: 0,
        });
    }
    let rest = &segment[start..];
    if rest.len() < SIZE_FIELD_BYTES {
        // A short tail of zeros is where the data ends; anything else is a cut header.
        return if rest.iter().all(|&b| b == 0) {
            Ok(Decoded::EndOfInput)
        } else {
            Err(FormatError::OutOfBounds {
                file_offset: at,
                needed: SIZE_FIELD_BYTES as u64,
                available: rest.len() as u64,
            })
        };
    }
    let size = be_u32(rest, 0);
    if size == 0 {
        return Ok(Decoded::EndMarker);
    }
    let header = header_bytes(codec);
    let needed = header as u64 + u64::from(size);
    if needed > rest.len() as u64 {
        return Err(FormatError::OutOfBounds {
            file_offset: at,
            needed,
            available: rest.len() as u64,
        });
    }
    let payload = &rest[header..header + size as usize];
    let (prev_crc, record_crc) = match codec {
        Codec::V1 => (None, None),
        Codec::V2 => {
            let prev = be_u32(rest, 4);
            let stored = be_u32(rest, 8);
            let computed = crc::chain(prev, payload);
            if computed != stored {
                return Err(FormatError::ChecksumMismatch {
                    file_offset: at,
                    expected: computed,
                    actual: stored,
                });
            }
            (Some(prev), Some(stored))
        }
    };
    Ok(Decoded::Record {
        record: Record {
            index: 0,
            file_offset: at,
            prev_crc,
            crc: record_crc,
            payload,
        },
        next: FileOffset(at.0 + header as u32 + size),
    })
}

/// What `IndexView::parse(codec, bytes)` must return, as the list of offsets.
pub fn parse_index(codec: Codec, bytes: &[u8]) -> Result<Vec<FileOffset>, FormatError> {
    let len = bytes.len();
    let crc_bytes = match codec {
        Codec::V1 => 0,
        Codec::V2 => V2_INDEX_CRC_BYTES,
    };
    if len < crc_bytes {
        return Err(FormatError::IndexLength {
            len,
            reason: "shorter than the index crc",
        });
    }
    let body = &bytes[crc_bytes..];
    if !body.len().is_multiple_of(INDEX_ENTRY_BYTES) {
        return Err(FormatError::IndexLength {
            len,
            reason: "not a whole number of 4-byte offsets",
        });
    }
    if codec == Codec::V2 {
        let stored = be_u32(bytes, 0);
        let computed = crc::chain(0, body);
        if stored != computed {
            return Err(FormatError::IndexChecksumMismatch {
                expected: computed,
                actual: stored,
            });
        }
    }
    let offsets: Vec<FileOffset> = body
        .chunks(INDEX_ENTRY_BYTES)
        .map(|field| FileOffset(be_u32(field, 0)))
        .collect();
    // The first record starts at 0; each next one at least a header and a one-byte
    // payload after the one before.
    let min_step = header_bytes(codec) as u64 + 1;
    let mut at_least = 0u64;
    for (position, &offset) in offsets.iter().enumerate() {
        let offset_u64 = u64::from(offset.0);
        if (position == 0 && offset_u64 != 0) || offset_u64 < at_least {
            return Err(FormatError::IndexOrder {
                position,
                expected_at_least: at_least,
                actual: offset,
            });
        }
        at_least = offset_u64 + min_step;
    }
    Ok(offsets)
}

/// Asserts that two index errors are the same, ignoring the wording of a length error's
/// reason (its variant and length are what callers act on).
pub fn assert_same_index_error(actual: &FormatError, expected: &FormatError) {
    match (actual, expected) {
        (FormatError::IndexLength { len: a, .. }, FormatError::IndexLength { len: e, .. }) => {
            assert_eq!(a, e, "IndexLength len: {actual:?} vs model {expected:?}");
        }
        _ => assert_eq!(actual, expected, "index error differs from the model"),
    }
}
