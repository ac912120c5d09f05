//! v2 records (`.txnx`): payload size, previous crc and crc (each a u32 big-endian), then
//! the payload. The crc is `chain(previous crc, payload)`.
//!
//! | bytes     | field                                   |
//! |-----------|-----------------------------------------|
//! | 0..4      | payload size n (n > 0)                  |
//! | 4..8      | previous crc (the seed of this record)  |
//! | 8..12     | crc = chain(previous crc, payload)      |
//! | 12..12+n  | payload                                 |

use crate::be;
use crate::codec::{self, Codec, Header};
use crate::crc;
use crate::error::FormatError;
use crate::record::{Decoded, Encoded, FileOffset, Record};

/// Extension of v2 data files.
pub const DATA_EXTENSION: &str = "txnx";
/// Extension of v2 index files.
pub const INDEX_EXTENSION: &str = "idxx";
/// Size of a v2 record header: payload size, previous crc, crc.
pub const HEADER_BYTES: usize = 12;
/// Size of the crc that starts a v2 index file.
pub const INDEX_HEADER_BYTES: usize = 4;

const SIZE_AT: usize = 0;
const PREV_CRC_AT: usize = 4;
const CRC_AT: usize = 8;
const _: () = assert!(HEADER_BYTES == 3 * be::U32_BYTES);
const _: () = assert!(CRC_AT + be::U32_BYTES == HEADER_BYTES);

/// Encodes a v2 record chained from `prev_crc` at the start of `buf`, and returns its
/// crc. Writes nothing when it fails.
///
/// ```
/// let mut buf = [0u8; 13];
/// let encoded = wal_format::v2::encode(&mut buf, 0, &[0x00])?;
/// assert_eq!(encoded.crc, Some(0x4925_8fd2));
/// assert_eq!(buf, [0, 0, 0, 1, 0, 0, 0, 0, 0x49, 0x25, 0x8f, 0xd2, 0]);
/// # Ok::<(), wal_format::FormatError>(())
/// ```
#[inline]
pub fn encode(buf: &mut [u8], prev_crc: u32, payload: &[u8]) -> Result<Encoded, FormatError> {
    let len = codec::check_payload(Codec::V2, buf.len(), payload)?;
    let size = u32::try_from(payload.len()).map_err(|_| FormatError::PayloadTooLarge {
        size: payload.len(),
        max: Codec::V2.max_payload_bytes(),
    })?;
    let record_crc = crc::chain(prev_crc, payload);
    let (header, rest) = buf.split_at_mut(HEADER_BYTES);
    be::write_u32(header, SIZE_AT, size);
    be::write_u32(header, PREV_CRC_AT, prev_crc);
    be::write_u32(header, CRC_AT, record_crc);
    if let Some(dst) = rest.get_mut(..payload.len()) {
        dst.copy_from_slice(payload);
    }
    Ok(Encoded {
        len,
        crc: Some(record_crc),
    })
}

/// Decodes the v2 record at `at` in `segment` (the whole data file) and checks its crc
/// against its own previous-crc field. Whether that field links to the record before is
/// left to the caller.
#[inline]
pub fn decode(segment: &[u8], at: FileOffset) -> Result<Decoded<'_>, FormatError> {
    decode_inner(segment, at, true)
}

/// Decodes the v2 record at `at` like [`decode`], every bound checked, but without
/// computing its crc: only for bytes whose crc the caller has checked already (and that
/// cannot have changed since).
#[inline]
pub fn decode_checked_before(segment: &[u8], at: FileOffset) -> Result<Decoded<'_>, FormatError> {
    decode_inner(segment, at, false)
}

#[inline]
fn decode_inner(
    segment: &[u8],
    at: FileOffset,
    check_crc: bool,
) -> Result<Decoded<'_>, FormatError> {
    let segment = codec::addressable(segment);
    let (size, remaining) = match codec::read_size(segment, at) {
        Header::Size { size, remaining } => (size, remaining),
        Header::Done(done) => return done,
    };
    codec::check_fits(at, HEADER_BYTES, size, remaining)?;
    let start = at.as_usize();
    let out_of_bounds = FormatError::OutOfBounds {
        file_offset: at,
        needed: HEADER_BYTES as u64 + u64::from(size),
        available: remaining as u64,
    };
    let payload_start = start + HEADER_BYTES;
    let end = payload_start + size as usize;
    let (Some(prev_crc), Some(stored_crc), Some(payload)) = (
        be::read_u32(segment, start + PREV_CRC_AT),
        be::read_u32(segment, start + CRC_AT),
        segment.get(payload_start..end),
    ) else {
        return Err(out_of_bounds);
    };
    if check_crc
        && let computed = crc::chain(prev_crc, payload)
        && computed != stored_crc
    {
        return Err(FormatError::ChecksumMismatch {
            file_offset: at,
            expected: computed,
            actual: stored_crc,
        });
    }
    Ok(Decoded::Record {
        record: Record {
            index: 0,
            file_offset: at,
            prev_crc: Some(prev_crc),
            crc: Some(stored_crc),
            payload,
        },
        // `end` is within the addressable part of the segment, so it fits in a u32.
        next: FileOffset(u32::try_from(end).unwrap_or(u32::MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(d: Decoded<'_>) -> (Record<'_>, FileOffset) {
        match d {
            Decoded::Record { record, next } => (record, next),
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn a_second_read_skips_only_the_crc() {
        let mut buf = vec![0u8; 20];
        encode(&mut buf, 7, b"payload").unwrap();
        buf[13] ^= 1;
        assert!(matches!(
            decode(&buf, FileOffset(0)),
            Err(FormatError::ChecksumMismatch { .. })
        ));
        let (r, next) = record(decode_checked_before(&buf, FileOffset(0)).unwrap());
        assert_eq!((r.payload.len(), next), (7, FileOffset(19)));
        // Bounds are still checked.
        assert!(matches!(
            decode_checked_before(&buf[..15], FileOffset(0)),
            Err(FormatError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn known_vectors_encode_to_the_documented_bytes() {
        let mut buf = vec![0u8; 3 * 13];
        let mut prev = 0;
        let mut at = 0;
        let mut crcs = vec![];
        for p in [[0x00u8], [0x01], [0x02]] {
            let e = encode(&mut buf[at..], prev, &p).unwrap();
            assert_eq!(e.len, 13);
            prev = e.crc.unwrap();
            crcs.push(prev);
            at += e.len;
        }
        assert_eq!(crcs, [0x4925_8fd2, 0x6b86_1046, 0x6248_94c6]);
        #[rustfmt::skip]
        let expected: [u8; 39] = [
            0, 0, 0, 1,  0x00, 0x00, 0x00, 0x00,  0x49, 0x25, 0x8f, 0xd2,  0x00,
            0, 0, 0, 1,  0x49, 0x25, 0x8f, 0xd2,  0x6b, 0x86, 0x10, 0x46,  0x01,
            0, 0, 0, 1,  0x6b, 0x86, 0x10, 0x46,  0x62, 0x48, 0x94, 0xc6,  0x02,
        ];
        assert_eq!(buf, expected);
        let (r, next) = record(decode(&buf, FileOffset(13)).unwrap());
        assert_eq!(r.prev_crc, Some(0x4925_8fd2));
        assert_eq!(r.crc, Some(0x6b86_1046));
        assert_eq!(r.payload, &[0x01]);
        assert_eq!(next, FileOffset(26));
    }

    #[test]
    fn a_damaged_payload_prev_or_crc_is_a_mismatch() {
        let mut buf = vec![0u8; 20];
        encode(&mut buf, 7, b"abcd").unwrap();
        for byte in 4..16 {
            let mut damaged = buf.clone();
            damaged[byte] ^= 0x10;
            assert!(
                matches!(
                    decode(&damaged, FileOffset(0)),
                    Err(FormatError::ChecksumMismatch {
                        file_offset: FileOffset(0),
                        ..
                    })
                ),
                "byte {byte}"
            );
        }
    }

    #[test]
    fn a_zero_size_is_the_end_marker_even_in_a_short_tail() {
        assert_eq!(
            decode(&[0, 0, 0, 0, 1], FileOffset(0)).unwrap(),
            Decoded::EndMarker
        );
        assert_eq!(
            decode(&[0, 0, 0], FileOffset(0)).unwrap(),
            Decoded::EndOfInput
        );
    }

    #[test]
    fn a_cut_header_is_out_of_bounds() {
        let buf = [0, 0, 0, 1, 0, 0, 0];
        assert_eq!(
            decode(&buf, FileOffset(0)),
            Err(FormatError::OutOfBounds {
                file_offset: FileOffset(0),
                needed: 13,
                available: 7
            })
        );
    }

    #[test]
    fn encode_rejects_bad_input_and_writes_nothing() {
        let mut buf = [0x55u8; 12];
        assert_eq!(encode(&mut buf, 0, &[]), Err(FormatError::EmptyPayload));
        assert_eq!(
            encode(&mut buf, 0, &[1]),
            Err(FormatError::BufferTooSmall {
                needed: 13,
                available: 12
            })
        );
        assert_eq!(buf, [0x55; 12]);
    }
}
