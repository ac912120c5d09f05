//! The values the codecs hand out: file offsets, decoded records, encoding results.

use std::fmt;

/// A byte position inside one segment's data file. Segments are smaller than 4 GiB, so
/// a file offset is a u32; it is a distinct type so that it is never confused with an
/// entry offset (the u64 position of an entry in the whole log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileOffset(pub u32);

impl FileOffset {
    /// The offset as a `usize`, for slicing.
    #[inline]
    pub const fn as_usize(self) -> usize {
        self.0 as usize
    }

    /// The offset as a `u64`.
    #[inline]
    pub const fn as_u64(self) -> u64 {
        self.0 as u64
    }
}

impl fmt::Display for FileOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One record decoded from a segment, borrowing its payload from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Position of the record in its segment (0 for the first); the entry offset is the
    /// segment's base offset plus this. Set by the [`Scanner`](crate::Scanner); a single
    /// [`Codec::decode_record`](crate::Codec::decode_record), which cannot know how many
    /// records come before, reports 0.
    pub index: u32,
    /// Where the record starts in the segment's data.
    pub file_offset: FileOffset,
    /// The previous crc stored in the record (v2); `None` for v1, which has no crc.
    pub prev_crc: Option<u32>,
    /// The record's own crc (v2); `None` for v1.
    pub crc: Option<u32>,
    /// The payload, borrowed from the input.
    pub payload: &'a [u8],
}

impl Record<'_> {
    /// The payload size as stored in the record's size field.
    #[inline]
    pub fn size(&self) -> u32 {
        // A decoded payload lies inside a segment of at most `MAX_SEGMENT_BYTES`
        // (u32::MAX) bytes, so its length always fits.
        u32::try_from(self.payload.len()).unwrap_or(u32::MAX)
    }
}

/// What one call to a codec's record decoder found at a file offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A complete record whose checks (if the codec has any) passed. `next` is where the
    /// following record starts.
    Record {
        /// The record.
        record: Record<'a>,
        /// The file offset just past the record.
        next: FileOffset,
    },
    /// A size field of 0: the end-of-data marker.
    EndMarker,
    /// The input ended exactly here (or only zero bytes, fewer than a header, remain).
    EndOfInput,
}

/// What encoding one record wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoded {
    /// Bytes written (header plus payload).
    pub len: usize,
    /// The crc stored in the record (v2); `None` for v1.
    pub crc: Option<u32>,
}
