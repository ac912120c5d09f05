//! A scanner over one segment's data: every record in order, then a precise account of
//! how the data ended.

use crate::codec::{Codec, MAX_SEGMENT_BYTES};
use crate::error::FormatError;
use crate::record::{Decoded, FileOffset, Record};
use crate::zeros;

/// How a scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// A size field of 0, with only zero bytes after it: the clean end of the data.
    EndMarker {
        /// Where the marker is (where the next record would be written).
        file_offset: FileOffset,
    },
    /// The input ended at a record boundary (or with fewer than a size field's worth of
    /// zero bytes after the last record).
    EndOfInput {
        /// Just past the last record: where the next record would be written.
        file_offset: FileOffset,
    },
    /// Something that is neither a valid record nor a clean end, at the file offset the
    /// error names: a record running past the end, a crc mismatch, a chain break, or
    /// non-zero bytes after the end marker.
    Problem(FormatError),
}

impl ScanEnd {
    /// Whether the data ended cleanly.
    pub fn is_clean(&self) -> bool {
        !matches!(self, ScanEnd::Problem(_))
    }

    /// The problem, if the scan stopped at one.
    pub fn problem(&self) -> Option<&FormatError> {
        match self {
            ScanEnd::Problem(problem) => Some(problem),
            _ => None,
        }
    }
}

/// What a whole scan found, besides the records themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    /// Records that passed every check, in order from the start of the scan.
    pub records: u32,
    /// File offset just past the last good record: the length of the valid prefix.
    pub valid_len: FileOffset,
    /// Crc of the last good record (v2); the scan's seed if there was none; `None` for
    /// v1, or for v2 with neither.
    pub last_crc: Option<u32>,
    /// How the scan ended.
    pub end: ScanEnd,
}

/// Iterates over the records of one segment's data, checking each one (its size against
/// the input, and for v2 its crc and its link to the record before), and records how the
/// data ended. Allocates nothing; payloads borrow from the input.
///
/// ```
/// use wal_format::{Codec, ScanEnd, Scanner, FileOffset};
/// let mut segment = vec![0u8; 64];
/// let first = Codec::V2.encode_record(&mut segment, 0, b"one")?;
/// let seed = first.crc.unwrap_or_default();
/// Codec::V2.encode_record(&mut segment[first.len..], seed, b"two")?;
///
/// let mut scanner = Scanner::new(Codec::V2, &segment).with_seed(0);
/// let payloads: Vec<&[u8]> = scanner.by_ref().map(|r| r.payload).collect();
/// assert_eq!(payloads, [&b"one"[..], &b"two"[..]]);
/// assert_eq!(scanner.end(), Some(&ScanEnd::EndMarker { file_offset: FileOffset(30) }));
/// # Ok::<(), wal_format::FormatError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Scanner<'a> {
    codec: Codec,
    segment: &'a [u8],
    at: FileOffset,
    index: u32,
    /// The crc the next record must store as its previous crc, when known.
    expected_prev: Option<u32>,
    check_zero_tail: bool,
    end: Option<ScanEnd>,
}

impl<'a> Scanner<'a> {
    /// A scanner over `segment` (a whole data file) from file offset 0. The first record's
    /// previous crc is not checked unless [`with_seed`](Self::with_seed) says what it
    /// must be; bytes after an end marker must be zero unless
    /// [`check_zero_tail`](Self::check_zero_tail) turns that off.
    pub fn new(codec: Codec, segment: &'a [u8]) -> Scanner<'a> {
        let end = (segment.len() > MAX_SEGMENT_BYTES).then_some({
            ScanEnd::Problem(FormatError::SegmentTooLarge {
                len: segment.len(),
                max: MAX_SEGMENT_BYTES,
            })
        });
        Scanner {
            codec,
            segment,
            at: FileOffset(0),
            index: 0,
            expected_prev: None,
            check_zero_tail: true,
            end,
        }
    }

    /// Requires the first record's previous crc to be `prev_crc` (v2; ignored for v1).
    pub fn with_seed(mut self, prev_crc: u32) -> Scanner<'a> {
        if self.codec.has_crc() {
            self.expected_prev = Some(prev_crc);
        }
        self
    }

    /// Whether to require zero bytes after the end marker (default: yes).
    pub fn check_zero_tail(mut self, check: bool) -> Scanner<'a> {
        self.check_zero_tail = check;
        self
    }

    /// Starts at the record at `at`, which is the `index`-th of the segment (known from an
    /// index file, say), instead of at the first record.
    pub fn resume_at(mut self, at: FileOffset, index: u32) -> Scanner<'a> {
        self.at = at;
        self.index = index;
        self
    }

    /// The codec being scanned.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// How the scan ended, once the iterator has returned `None`.
    pub fn end(&self) -> Option<&ScanEnd> {
        self.end.as_ref()
    }

    /// Records returned so far, counting those skipped by [`resume_at`](Self::resume_at).
    pub fn records(&self) -> u32 {
        self.index
    }

    /// File offset just past the last record returned (where the scan stands).
    pub fn valid_len(&self) -> FileOffset {
        self.at
    }

    /// Crc of the last record returned (or the seed, before any).
    pub fn last_crc(&self) -> Option<u32> {
        self.expected_prev
    }

    /// Runs the scan to its end, discarding the records, and sums it up.
    pub fn finish(mut self) -> ScanSummary {
        for _ in self.by_ref() {}
        ScanSummary {
            records: self.index,
            valid_len: self.at,
            last_crc: self.expected_prev,
            end: self.end.unwrap_or(ScanEnd::EndOfInput {
                file_offset: self.at,
            }),
        }
    }

    fn end_marker(&self) -> ScanEnd {
        let tail = self.segment.get(self.at.as_usize()..).unwrap_or(&[]);
        match self
            .check_zero_tail
            .then(|| zeros::first_nonzero(tail))
            .flatten()
        {
            None => ScanEnd::EndMarker {
                file_offset: self.at,
            },
            Some(i) => ScanEnd::Problem(FormatError::NonZeroAfterEnd {
                end_file_offset: self.at,
                // `tail` lies within the addressable segment, so this fits in a u32.
                file_offset: FileOffset(u32::try_from(self.at.as_usize() + i).unwrap_or(u32::MAX)),
            }),
        }
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.end.is_some() {
            return None;
        }
        let end = match self.codec.decode_record(self.segment, self.at) {
            Ok(Decoded::Record { mut record, next }) => {
                if let (Some(expected), Some(actual)) = (self.expected_prev, record.prev_crc)
                    && expected != actual
                {
                    self.end = Some(ScanEnd::Problem(FormatError::ChainBreak {
                        file_offset: self.at,
                        expected,
                        actual,
                    }));
                    return None;
                }
                record.index = self.index;
                self.index = self.index.saturating_add(1);
                self.at = next;
                if record.crc.is_some() {
                    self.expected_prev = record.crc;
                }
                return Some(record);
            }
            Ok(Decoded::EndMarker) => self.end_marker(),
            Ok(Decoded::EndOfInput) => ScanEnd::EndOfInput {
                file_offset: self.at,
            },
            Err(problem) => ScanEnd::Problem(problem),
        };
        self.end = Some(end);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(codec: Codec, seed: u32, payloads: &[&[u8]], len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        let (mut at, mut prev) = (0, seed);
        for p in payloads {
            let e = codec.encode_record(&mut buf[at..], prev, p).unwrap();
            at += e.len;
            prev = e.crc.unwrap_or(prev);
        }
        buf
    }

    #[test]
    fn clean_segment_with_zero_tail() {
        let buf = segment(Codec::V2, 5, &[b"a", b"bb"], 100);
        let s = Scanner::new(Codec::V2, &buf).with_seed(5).finish();
        assert_eq!(s.records, 2);
        assert_eq!(s.valid_len, FileOffset(27));
        assert_eq!(
            s.end,
            ScanEnd::EndMarker {
                file_offset: FileOffset(27)
            }
        );
        assert!(s.end.is_clean());
    }

    #[test]
    fn exactly_full_segment_ends_at_end_of_input() {
        let buf = segment(Codec::V1, 0, &[b"a", b"bb"], 11);
        // v1 has no crc: a seed is ignored and there is no last crc.
        let s = Scanner::new(Codec::V1, &buf).with_seed(5).finish();
        assert_eq!(s.records, 2);
        assert_eq!(s.last_crc, None);
        assert_eq!(
            s.end,
            ScanEnd::EndOfInput {
                file_offset: FileOffset(11)
            }
        );
    }

    #[test]
    fn wrong_seed_is_a_chain_break_at_the_first_record() {
        let buf = segment(Codec::V2, 5, &[b"a"], 20);
        let s = Scanner::new(Codec::V2, &buf).with_seed(6).finish();
        assert_eq!(s.records, 0);
        assert_eq!(
            s.end,
            ScanEnd::Problem(FormatError::ChainBreak {
                file_offset: FileOffset(0),
                expected: 6,
                actual: 5
            })
        );
        // Without a seed, the first link is the caller's to check.
        assert_eq!(Scanner::new(Codec::V2, &buf).finish().records, 1);
    }

    #[test]
    fn a_record_from_another_chain_in_the_middle_is_a_chain_break() {
        let mut buf = segment(Codec::V2, 0, &[b"a", b"b"], 60);
        // Re-encode the second record with a different (self-consistent) seed.
        Codec::V2.encode_record(&mut buf[13..], 99, b"b").unwrap();
        let s = Scanner::new(Codec::V2, &buf).with_seed(0).finish();
        assert_eq!(s.records, 1);
        assert!(matches!(
            s.end,
            ScanEnd::Problem(FormatError::ChainBreak {
                file_offset: FileOffset(13),
                actual: 99,
                ..
            })
        ));
    }

    #[test]
    fn garbage_after_the_end_marker_is_reported() {
        let mut buf = segment(Codec::V2, 0, &[b"a", b"b", b"c"], 80);
        // A lost page: zero the middle record's size.
        buf[13..17].fill(0);
        let s = Scanner::new(Codec::V2, &buf).with_seed(0).finish();
        assert_eq!(s.records, 1);
        assert_eq!(
            s.end,
            ScanEnd::Problem(FormatError::NonZeroAfterEnd {
                end_file_offset: FileOffset(13),
                file_offset: FileOffset(17)
            })
        );
        let relaxed = Scanner::new(Codec::V2, &buf)
            .check_zero_tail(false)
            .finish();
        assert_eq!(
            relaxed.end,
            ScanEnd::EndMarker {
                file_offset: FileOffset(13)
            }
        );
    }

    #[test]
    fn resume_from_an_index_position() {
        let buf = segment(Codec::V2, 0, &[b"a", b"b", b"c"], 80);
        let mut s = Scanner::new(Codec::V2, &buf).resume_at(FileOffset(26), 2);
        let r = s.next().unwrap();
        assert_eq!((r.index, r.payload), (2, &b"c"[..]));
        assert_eq!(s.next(), None);
        assert_eq!(s.records(), 3);
        assert!(s.end().unwrap().is_clean());
    }

    #[test]
    fn resume_past_the_end_is_out_of_bounds_not_a_panic() {
        let buf = [0u8; 8];
        let s = Scanner::new(Codec::V2, &buf)
            .resume_at(FileOffset(u32::MAX), 0)
            .finish();
        assert!(matches!(
            s.end,
            ScanEnd::Problem(FormatError::OutOfBounds { .. })
        ));
    }
}
