//! The codec versions: what each one's files are called and how big its record header is.

use crate::error::FormatError;
use crate::record::{Decoded, Encoded, FileOffset};
use crate::{v1, v2};

/// The largest segment the format can address: file offsets are u32.
pub const MAX_SEGMENT_BYTES: usize = u32::MAX as usize;

/// Bytes a data file holds past its segment size. The reference implementation creates a
/// data file by writing one zero byte at file offset `segment size`, and never writes a
/// record into that byte; its readers rely on it (its v1 index rebuild reads a size field
/// without checking that four bytes are left). Files made here have the same length.
pub const DATA_FILE_EXTRA_BYTES: u64 = 1;

/// Length of a new data file whose records may take up to `segment_bytes` bytes.
pub const fn data_file_bytes(segment_bytes: u32) -> u64 {
    segment_bytes as u64 + DATA_FILE_EXTRA_BYTES
}

/// A segment format version. The version of a segment is known from its file extension
/// only: there is no header, magic number or version field on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Codec {
    /// `.txn` data and `.idx` index; no checksum.
    V1,
    /// `.txnx` data and `.idxx` index; every record carries a chained CRC-32C.
    V2,
}

impl Codec {
    /// The codec new segments use unless configured otherwise.
    pub const LATEST: Codec = Codec::V2;

    /// Every codec, latest first: the order in which to look for a segment's files.
    pub const ALL_LATEST_FIRST: [Codec; 2] = [Codec::V2, Codec::V1];

    /// Extension (without the dot) of this codec's data files.
    pub const fn data_extension(self) -> &'static str {
        match self {
            Codec::V1 => v1::DATA_EXTENSION,
            Codec::V2 => v2::DATA_EXTENSION,
        }
    }

    /// Extension (without the dot) of this codec's index files.
    pub const fn index_extension(self) -> &'static str {
        match self {
            Codec::V1 => v1::INDEX_EXTENSION,
            Codec::V2 => v2::INDEX_EXTENSION,
        }
    }

    /// Size of a record header in bytes.
    pub const fn header_bytes(self) -> usize {
        match self {
            Codec::V1 => v1::HEADER_BYTES,
            Codec::V2 => v2::HEADER_BYTES,
        }
    }

    /// Size of the header that precedes the offsets in an index file.
    pub const fn index_header_bytes(self) -> usize {
        match self {
            Codec::V1 => 0,
            Codec::V2 => v2::INDEX_HEADER_BYTES,
        }
    }

    /// Whether records of this codec carry a crc.
    pub const fn has_crc(self) -> bool {
        matches!(self, Codec::V2)
    }

    /// The codec whose data files end in `extension` (without the dot).
    ///
    /// ```
    /// use wal_format::Codec;
    /// assert_eq!(Codec::from_data_extension("txnx"), Some(Codec::V2));
    /// assert_eq!(Codec::from_data_extension("idx"), None);
    /// ```
    pub fn from_data_extension(extension: &str) -> Option<Codec> {
        Codec::ALL_LATEST_FIRST
            .into_iter()
            .find(|c| c.data_extension() == extension)
    }

    /// The codec whose index files end in `extension` (without the dot).
    pub fn from_index_extension(extension: &str) -> Option<Codec> {
        Codec::ALL_LATEST_FIRST
            .into_iter()
            .find(|c| c.index_extension() == extension)
    }

    /// A short, stable name: `v1` or `v2`.
    pub const fn name(self) -> &'static str {
        match self {
            Codec::V1 => "v1",
            Codec::V2 => "v2",
        }
    }

    /// The largest payload one record can hold.
    pub const fn max_payload_bytes(self) -> usize {
        MAX_SEGMENT_BYTES - self.header_bytes()
    }

    /// Bytes a record with a payload of `payload_len` bytes takes on disk, or `None` if
    /// no record can hold such a payload (empty, or too large).
    pub const fn record_bytes(self, payload_len: usize) -> Option<usize> {
        if payload_len == 0 || payload_len > self.max_payload_bytes() {
            None
        } else {
            Some(self.header_bytes() + payload_len)
        }
    }

    /// Encodes one record at the start of `buf`. `prev_crc` seeds the chain (v2) and is
    /// ignored by v1. Writes nothing when it fails.
    #[inline]
    pub fn encode_record(
        self,
        buf: &mut [u8],
        prev_crc: u32,
        payload: &[u8],
    ) -> Result<Encoded, FormatError> {
        match self {
            Codec::V1 => v1::encode(buf, payload),
            Codec::V2 => v2::encode(buf, prev_crc, payload),
        }
    }

    /// Decodes the record starting at `at` in a segment's bytes. A v2 record is returned
    /// only if its crc matches; the link to the record before is the caller's to check
    /// (the [`Scanner`](crate::Scanner) does it).
    #[inline]
    pub fn decode_record(self, segment: &[u8], at: FileOffset) -> Result<Decoded<'_>, FormatError> {
        match self {
            Codec::V1 => v1::decode(segment, at),
            Codec::V2 => v2::decode(segment, at),
        }
    }

    /// Decodes the record starting at `at` like [`decode_record`](Codec::decode_record),
    /// every bound checked, but without computing a v2 record's crc: only for bytes whose
    /// records the caller has already decoded with [`decode_record`](Codec::decode_record)
    /// (and that cannot have changed since), to read them again at memory speed.
    #[inline]
    pub fn decode_record_checked_before(
        self,
        segment: &[u8],
        at: FileOffset,
    ) -> Result<Decoded<'_>, FormatError> {
        match self {
            Codec::V1 => v1::decode(segment, at),
            Codec::V2 => v2::decode_checked_before(segment, at),
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What precedes the payload, common to both codecs: where the size field is, and how a
/// partial header at the end of the input is classified.
pub(crate) enum Header {
    /// The size field holds this (non-zero) payload size, and `remaining` bytes are left
    /// in the input from the record's start.
    Size { size: u32, remaining: usize },
    /// A finished decode (end marker, end of input, or a problem).
    Done(Result<Decoded<'static>, FormatError>),
}

/// The part of `segment` a file offset can address; bytes past 4 GiB are not part of
/// any segment.
#[inline]
pub(crate) fn addressable(segment: &[u8]) -> &[u8] {
    segment.get(..MAX_SEGMENT_BYTES).unwrap_or(segment)
}

/// Reads a record's size field at `at`, classifying the ends of the input. `segment`
/// must already be [`addressable`].
#[inline]
pub(crate) fn read_size(segment: &[u8], at: FileOffset) -> Header {
    let start = at.as_usize();
    let Some(rest) = segment.get(start..) else {
        return Header::Done(Err(FormatError::OutOfBounds {
            file_offset: at,
            needed: crate::be::U32_BYTES as u64,
            available: 0,
        }));
    };
    match crate::be::read_u32(rest, 0) {
        Some(0) => Header::Done(Ok(Decoded::EndMarker)),
        Some(size) => Header::Size {
            size,
            remaining: rest.len(),
        },
        // Fewer than four bytes: the end of the data if they are zero (a segment whose
        // length is not a multiple of a header), a cut header otherwise.
        None if crate::zeros::all_zero(rest) => Header::Done(Ok(Decoded::EndOfInput)),
        None => Header::Done(Err(FormatError::OutOfBounds {
            file_offset: at,
            needed: crate::be::U32_BYTES as u64,
            available: rest.len() as u64,
        })),
    }
}

/// Checks that a record of `header + size` bytes fits in `remaining`.
#[inline]
pub(crate) fn check_fits(
    at: FileOffset,
    header_bytes: usize,
    size: u32,
    remaining: usize,
) -> Result<(), FormatError> {
    let needed = header_bytes as u64 + u64::from(size);
    if needed > remaining as u64 {
        Err(FormatError::OutOfBounds {
            file_offset: at,
            needed,
            available: remaining as u64,
        })
    } else {
        Ok(())
    }
}

/// Checks a payload before encoding and returns the record's length.
pub(crate) fn check_payload(
    codec: Codec,
    buf_len: usize,
    payload: &[u8],
) -> Result<usize, FormatError> {
    if payload.is_empty() {
        return Err(FormatError::EmptyPayload);
    }
    let Some(len) = codec.record_bytes(payload.len()) else {
        return Err(FormatError::PayloadTooLarge {
            size: payload.len(),
            max: codec.max_payload_bytes(),
        });
    };
    if len > buf_len {
        return Err(FormatError::BufferTooSmall {
            needed: len,
            available: buf_len,
        });
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_lookup() {
        assert_eq!(Codec::V1.data_extension(), "txn");
        assert_eq!(Codec::V1.index_extension(), "idx");
        assert_eq!(Codec::V2.data_extension(), "txnx");
        assert_eq!(Codec::V2.index_extension(), "idxx");
        for c in Codec::ALL_LATEST_FIRST {
            assert_eq!(Codec::from_data_extension(c.data_extension()), Some(c));
            assert_eq!(Codec::from_index_extension(c.index_extension()), Some(c));
        }
        assert_eq!(Codec::from_data_extension("txnx.tmp"), None);
        assert_eq!(Codec::from_index_extension("txn"), None);
        assert_eq!(Codec::ALL_LATEST_FIRST[0], Codec::LATEST);
    }

    #[test]
    fn header_sizes_and_record_sizes() {
        assert_eq!(Codec::V1.header_bytes(), 4);
        assert_eq!(Codec::V2.header_bytes(), 12);
        assert_eq!(Codec::V2.record_bytes(0), None);
        assert_eq!(Codec::V2.record_bytes(1), Some(13));
        assert_eq!(Codec::V1.record_bytes(1), Some(5));
        assert_eq!(
            Codec::V2.record_bytes(Codec::V2.max_payload_bytes()),
            Some(MAX_SEGMENT_BYTES)
        );
        assert_eq!(
            Codec::V2.record_bytes(Codec::V2.max_payload_bytes() + 1),
            None
        );
    }
}
