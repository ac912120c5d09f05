//! v1 records (`.txn`): a u32 big-endian payload size, then the payload. No checksum.
//!
//! | bytes    | field                   |
//! |----------|-------------------------|
//! | 0..4     | payload size n (n > 0)  |
//! | 4..4+n   | payload                 |

use crate::be;
use crate::codec::{self, Codec, Header};
use crate::error::FormatError;
use crate::record::{Decoded, Encoded, FileOffset, Record};

/// Extension of v1 data files.
pub const DATA_EXTENSION: &str = "txn";
/// Extension of v1 index files.
pub const INDEX_EXTENSION: &str = "idx";
/// Size of a v1 record header: the payload size.
pub const HEADER_BYTES: usize = 4;

const _: () = assert!(HEADER_BYTES == be::U32_BYTES);

/// Encodes a v1 record at the start of `buf`. Writes nothing when it fails.
///
/// ```
/// let mut buf = [0u8; 8];
/// let encoded = wal_format::v1::encode(&mut buf, b"abc")?;
/// assert_eq!(encoded.len, 7);
/// assert_eq!(&buf[..7], &[0, 0, 0, 3, b'a', b'b', b'c']);
/// # Ok::<(), wal_format::FormatError>(())
/// ```
pub fn encode(buf: &mut [u8], payload: &[u8]) -> Result<Encoded, FormatError> {
    let len = codec::check_payload(Codec::V1, buf.len(), payload)?;
    let (header, rest) = buf.split_at_mut(HEADER_BYTES);
    // check_payload bounds the length by MAX_SEGMENT_BYTES, which fits in a u32.
    let size = u32::try_from(payload.len()).map_err(|_| FormatError::PayloadTooLarge {
        size: payload.len(),
        max: Codec::V1.max_payload_bytes(),
    })?;
    header.copy_from_slice(&size.to_be_bytes());
    if let Some(dst) = rest.get_mut(..payload.len()) {
        dst.copy_from_slice(payload);
    }
    Ok(Encoded { len, crc: None })
}

/// Decodes the v1 record at `at` in `segment` (the whole data file).
///
/// Without a checksum, v1 can only detect a size that runs past the end of the input.
#[inline]
pub fn decode(segment: &[u8], at: FileOffset) -> Result<Decoded<'_>, FormatError> {
    let segment = codec::addressable(segment);
    let (size, remaining) = match codec::read_size(segment, at) {
        Header::Size { size, remaining } => (size, remaining),
        Header::Done(done) => return done,
    };
    codec::check_fits(at, HEADER_BYTES, size, remaining)?;
    let start = at.as_usize() + HEADER_BYTES;
    let end = start + size as usize;
    let payload = segment.get(start..end).ok_or(FormatError::OutOfBounds {
        file_offset: at,
        needed: HEADER_BYTES as u64 + u64::from(size),
        available: remaining as u64,
    })?;
    Ok(Decoded::Record {
        record: Record {
            index: 0,
            file_offset: at,
            prev_crc: None,
            crc: None,
            payload,
        },
        // `end` is within the addressable part of the segment, so it fits in a u32.
        next: FileOffset(u32::try_from(end).unwrap_or(u32::MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode() {
        let mut buf = vec![0u8; 32];
        let e = encode(&mut buf, b"hello").unwrap();
        assert_eq!(e, Encoded { len: 9, crc: None });
        assert_eq!(&buf[..9], b"\0\0\0\x05hello");
        match decode(&buf, FileOffset(0)).unwrap() {
            Decoded::Record { record, next } => {
                assert_eq!(record.payload, b"hello");
                assert_eq!(record.size(), 5);
                assert_eq!(record.crc, None);
                assert_eq!(next, FileOffset(9));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(decode(&buf, FileOffset(9)).unwrap(), Decoded::EndMarker);
        assert_eq!(decode(&buf, FileOffset(32)).unwrap(), Decoded::EndOfInput);
    }

    #[test]
    fn encode_rejects_bad_input_and_writes_nothing() {
        let mut buf = [0xAAu8; 6];
        assert_eq!(encode(&mut buf, b""), Err(FormatError::EmptyPayload));
        assert_eq!(
            encode(&mut buf, b"abc"),
            Err(FormatError::BufferTooSmall {
                needed: 7,
                available: 6
            })
        );
        assert_eq!(buf, [0xAA; 6]);
    }

    #[test]
    fn size_running_past_the_end_is_out_of_bounds() {
        let buf = [0, 0, 0, 9, 1, 2, 3];
        assert_eq!(
            decode(&buf, FileOffset(0)),
            Err(FormatError::OutOfBounds {
                file_offset: FileOffset(0),
                needed: 13,
                available: 7
            })
        );
        let huge = [0xFF, 0xFF, 0xFF, 0xFF, 1];
        assert!(matches!(
            decode(&huge, FileOffset(0)),
            Err(FormatError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn partial_headers_at_the_end() {
        assert_eq!(decode(&[0, 0], FileOffset(0)).unwrap(), Decoded::EndOfInput);
        assert_eq!(
            decode(&[0, 1], FileOffset(0)),
            Err(FormatError::OutOfBounds {
                file_offset: FileOffset(0),
                needed: 4,
                available: 2
            })
        );
        assert_eq!(
            decode(&[0, 1], FileOffset(3)),
            Err(FormatError::OutOfBounds {
                file_offset: FileOffset(3),
                needed: 4,
                available: 0
            })
        );
    }
}
