//! Index files: the file offset of every record of a sealed segment.
//!
//! v1 (`.idx`): one u32 big-endian file offset per entry, nothing else.
//! v2 (`.idxx`): a u32 big-endian crc, `chain(0, offset bytes)`, then the offsets.
//!
//! Parsing checks everything an index can say about itself (length, crc, order); whether
//! it agrees with its data file is for the layer that has both.

use crate::be::{self, U32_BYTES};
use crate::codec::Codec;
use crate::crc;
use crate::error::FormatError;
use crate::record::FileOffset;

/// Bytes an index of `entries` offsets takes for `codec` (saturating at `usize::MAX` for
/// a count no buffer could hold, so that a caller's value can never overflow it).
pub const fn index_bytes(codec: Codec, entries: usize) -> usize {
    entries
        .saturating_mul(U32_BYTES)
        .saturating_add(codec.index_header_bytes())
}

/// Encodes an index of `offsets` into the start of `out` and returns the bytes written.
/// The offsets are written as given; [`IndexView::parse`] is what checks them. Writes
/// nothing when `out` is too small.
///
/// ```
/// use wal_format::{index, Codec, FileOffset};
/// let offsets = [FileOffset(0), FileOffset(13)];
/// let mut out = vec![0u8; index::index_bytes(Codec::V2, offsets.len())];
/// index::encode(Codec::V2, &offsets, &mut out)?;
/// let view = index::IndexView::parse(Codec::V2, &out)?;
/// assert_eq!(view.iter().collect::<Vec<_>>(), offsets);
/// # Ok::<(), wal_format::FormatError>(())
/// ```
pub fn encode(codec: Codec, offsets: &[FileOffset], out: &mut [u8]) -> Result<usize, FormatError> {
    let needed = index_bytes(codec, offsets.len());
    let available = out.len();
    let out = out
        .get_mut(..needed)
        .ok_or(FormatError::BufferTooSmall { needed, available })?;
    let (header, body) = out.split_at_mut(codec.index_header_bytes());
    for (field, offset) in body.chunks_exact_mut(U32_BYTES).zip(offsets) {
        field.copy_from_slice(&offset.0.to_be_bytes());
    }
    if codec.has_crc() {
        be::write_u32(header, 0, crc::chain(0, body));
    }
    Ok(needed)
}

/// A checked index, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexView<'a> {
    codec: Codec,
    /// The offsets' bytes (after the crc, for v2).
    body: &'a [u8],
}

impl<'a> IndexView<'a> {
    /// Checks an index file's bytes: a whole number of offsets (after a crc for v2), a
    /// matching crc, a first offset of 0 and each next offset at least one minimal record
    /// further. Allocates nothing.
    pub fn parse(codec: Codec, bytes: &'a [u8]) -> Result<IndexView<'a>, FormatError> {
        let len = bytes.len();
        let Some(body) = bytes.get(codec.index_header_bytes()..) else {
            return Err(FormatError::IndexLength {
                len,
                reason: "shorter than the index crc",
            });
        };
        if body.len() % U32_BYTES != 0 {
            return Err(FormatError::IndexLength {
                len,
                reason: "not a whole number of 4-byte offsets",
            });
        }
        if codec.has_crc() {
            let stored = be::read_u32(bytes, 0).ok_or(FormatError::IndexLength {
                len,
                reason: "shorter than the index crc",
            })?;
            let computed = crc::chain(0, body);
            if stored != computed {
                return Err(FormatError::IndexChecksumMismatch {
                    expected: computed,
                    actual: stored,
                });
            }
        }
        let view = IndexView { codec, body };
        view.check_order()?;
        Ok(view)
    }

    fn check_order(&self) -> Result<(), FormatError> {
        // The smallest record is a header and a one-byte payload.
        let min_step = self.codec.header_bytes() as u64 + 1;
        let mut expected_at_least = 0u64;
        for (position, offset) in self.iter().enumerate() {
            let first_must_be_zero = position == 0 && offset.0 != 0;
            if first_must_be_zero || offset.as_u64() < expected_at_least {
                return Err(FormatError::IndexOrder {
                    position,
                    expected_at_least,
                    actual: offset,
                });
            }
            expected_at_least = offset.as_u64() + min_step;
        }
        Ok(())
    }

    /// The codec the index was parsed as.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.body.len() / U32_BYTES
    }

    /// Whether the index lists no entry.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// File offset of entry `position`, if there is one.
    pub fn get(&self, position: usize) -> Option<FileOffset> {
        be::read_u32(self.body, position.checked_mul(U32_BYTES)?).map(FileOffset)
    }

    /// File offset of the last entry.
    pub fn last(&self) -> Option<FileOffset> {
        self.len().checked_sub(1).and_then(|p| self.get(p))
    }

    /// The file offsets in entry order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = FileOffset> + 'a {
        self.body.chunks_exact(U32_BYTES).map(|field| {
            let mut word = [0u8; U32_BYTES];
            word.copy_from_slice(field);
            FileOffset(u32::from_be_bytes(word))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(raw: &[u32]) -> Vec<FileOffset> {
        raw.iter().copied().map(FileOffset).collect()
    }

    #[test]
    fn v1_index_is_bare_offsets() {
        let mut out = [0u8; 8];
        assert_eq!(encode(Codec::V1, &offsets(&[0, 9]), &mut out), Ok(8));
        assert_eq!(out, [0, 0, 0, 0, 0, 0, 0, 9]);
        let view = IndexView::parse(Codec::V1, &out).unwrap();
        assert_eq!(view.len(), 2);
        assert_eq!(view.get(1), Some(FileOffset(9)));
        assert_eq!(view.get(2), None);
        assert_eq!(view.last(), Some(FileOffset(9)));
    }

    #[test]
    fn v2_index_starts_with_the_crc_of_the_offsets() {
        let mut out = [0u8; 12];
        encode(Codec::V2, &offsets(&[0, 13]), &mut out).unwrap();
        let body = [0u8, 0, 0, 0, 0, 0, 0, 13];
        assert_eq!(out[..4], crc::chain(0, &body).to_be_bytes());
        assert_eq!(out[4..], body);
    }

    #[test]
    fn empty_indexes() {
        assert!(IndexView::parse(Codec::V1, &[]).unwrap().is_empty());
        let mut out = [0u8; 4];
        encode(Codec::V2, &[], &mut out).unwrap();
        assert_eq!(u32::from_be_bytes(out), crc::MASK_DELTA);
        assert!(IndexView::parse(Codec::V2, &out).unwrap().is_empty());
        assert!(matches!(
            IndexView::parse(Codec::V2, &[]),
            Err(FormatError::IndexLength { len: 0, .. })
        ));
    }

    #[test]
    fn malformed_indexes_are_typed_errors() {
        assert!(matches!(
            IndexView::parse(Codec::V1, &[0, 0, 0]),
            Err(FormatError::IndexLength { len: 3, .. })
        ));
        let mut out = [0u8; 12];
        encode(Codec::V2, &offsets(&[0, 13]), &mut out).unwrap();
        out[11] ^= 1;
        assert!(matches!(
            IndexView::parse(Codec::V2, &out),
            Err(FormatError::IndexChecksumMismatch { .. })
        ));
        let mut v1 = [0u8; 8];
        encode(Codec::V1, &offsets(&[0, 4]), &mut v1).unwrap();
        assert_eq!(
            IndexView::parse(Codec::V1, &v1),
            Err(FormatError::IndexOrder {
                position: 1,
                expected_at_least: 5,
                actual: FileOffset(4)
            })
        );
        encode(Codec::V1, &offsets(&[3, 40]), &mut v1).unwrap();
        assert!(matches!(
            IndexView::parse(Codec::V1, &v1),
            Err(FormatError::IndexOrder { position: 0, .. })
        ));
    }

    #[test]
    fn index_bytes_saturates_instead_of_overflowing() {
        assert_eq!(index_bytes(Codec::V2, usize::MAX / 4), usize::MAX);
        assert_eq!(index_bytes(Codec::V1, usize::MAX), usize::MAX);
        assert_eq!(index_bytes(Codec::V2, 2), 12);
    }

    #[test]
    fn encode_into_a_short_buffer_fails() {
        let mut out = [0u8; 7];
        assert_eq!(
            encode(Codec::V2, &offsets(&[0]), &mut out),
            Err(FormatError::BufferTooSmall {
                needed: 8,
                available: 7
            })
        );
    }
}
