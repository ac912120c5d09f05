//! The one error type of this crate.

use crate::record::FileOffset;

/// Everything that can go wrong while encoding or decoding segment and index bytes.
///
/// Each variant says where (a file offset, or a position in an index) and what was
/// expected and found, so that the layers above can tell a torn tail from damage in the
/// middle and report it precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// An empty payload cannot be written: a size of 0 marks the end of the data.
    #[error("empty payload: a size of 0 is the end-of-data marker and cannot be written")]
    EmptyPayload,

    /// The payload does not fit in one record (file offsets are u32).
    #[error("payload of {size} bytes is larger than the largest record payload ({max} bytes)")]
    PayloadTooLarge {
        /// The payload's length.
        size: usize,
        /// The largest payload a record can hold.
        max: usize,
    },

    /// The caller's output buffer cannot hold what is being encoded.
    #[error("output buffer too small: {needed} bytes needed, {available} available")]
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },

    /// The input is longer than a segment can be (its file offsets are u32).
    #[error("segment of {len} bytes is larger than the format allows ({max} bytes)")]
    SegmentTooLarge {
        /// The input's length.
        len: usize,
        /// The largest segment the format can address.
        max: usize,
    },

    /// A record (its header, or the payload its size field announces) runs past the end
    /// of the input.
    #[error(
        "record at file offset {file_offset} runs past the end: it needs {needed} bytes, {available} remain"
    )]
    OutOfBounds {
        /// Where the record starts.
        file_offset: FileOffset,
        /// Bytes the record needs: the whole header plus payload when the size field was
        /// readable, only the 4-byte size field when even that was cut.
        needed: u64,
        /// Bytes left in the input from `file_offset`.
        available: u64,
    },

    /// A v2 record's stored crc is not `chain(stored previous crc, payload)`.
    #[error(
        "crc mismatch in record at file offset {file_offset}: computed {expected:#010x}, stored {actual:#010x}"
    )]
    ChecksumMismatch {
        /// Where the record starts.
        file_offset: FileOffset,
        /// The crc computed from the record's previous-crc field and payload.
        expected: u32,
        /// The crc stored in the record.
        actual: u32,
    },

    /// A v2 record is self-consistent, but its stored previous crc is not the crc of the
    /// record before it (or of the seed the scan was given).
    #[error(
        "chain break at file offset {file_offset}: previous crc should be {expected:#010x}, record stores {actual:#010x}"
    )]
    ChainBreak {
        /// Where the record starts.
        file_offset: FileOffset,
        /// The crc of the record before (or the scan's seed).
        expected: u32,
        /// The previous crc stored in this record.
        actual: u32,
    },

    /// The data ended (a size of 0) but a later byte is not zero. A lost page or a
    /// zeroed size field in the middle of a segment looks like this.
    #[error(
        "end marker at file offset {end_file_offset} but a non-zero byte follows at file offset {file_offset}"
    )]
    NonZeroAfterEnd {
        /// Where the size-0 marker is.
        end_file_offset: FileOffset,
        /// The first non-zero byte after it.
        file_offset: FileOffset,
    },

    /// An index file's length is not a whole number of entries (plus the crc, for v2).
    #[error("index of {len} bytes is malformed: {reason}")]
    IndexLength {
        /// The index file's length.
        len: usize,
        /// Why that length is wrong.
        reason: &'static str,
    },

    /// A v2 index's stored crc does not match its offsets.
    #[error("index crc mismatch: computed {expected:#010x}, stored {actual:#010x}")]
    IndexChecksumMismatch {
        /// The crc computed over the stored offsets.
        expected: u32,
        /// The crc stored at the start of the index.
        actual: u32,
    },

    /// An index entry is not where a record can start: the first must be 0 and each one
    /// must be at least one minimal record after the one before.
    #[error(
        "index entry {position} holds file offset {actual}, but it must be at least {expected_at_least}"
    )]
    IndexOrder {
        /// Position of the entry in the index (0 for the first).
        position: usize,
        /// The smallest file offset that entry could hold.
        expected_at_least: u64,
        /// The file offset it holds.
        actual: FileOffset,
    },
}

impl FormatError {
    /// The file offset in a segment's data where the problem was found, when the error is
    /// about a record.
    pub fn file_offset(&self) -> Option<FileOffset> {
        match *self {
            FormatError::OutOfBounds { file_offset, .. }
            | FormatError::ChecksumMismatch { file_offset, .. }
            | FormatError::ChainBreak { file_offset, .. } => Some(file_offset),
            FormatError::NonZeroAfterEnd {
                end_file_offset, ..
            } => Some(end_file_offset),
            _ => None,
        }
    }
}
