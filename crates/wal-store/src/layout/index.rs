//! What a segment's index file holds, and how it stands against the records found in
//! the segment's data.

use std::io;
use std::path::Path;

use wal_format::{Codec, IndexView};

/// What a segment's index file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexState {
    /// A valid index (its own checks pass: length, crc, order), with its file offsets.
    Valid(Vec<u32>),
    /// No index file.
    Missing,
    /// An index file that fails its own checks, and why.
    Corrupt(String),
}

/// How an index stands against the records found in its segment's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexFit {
    /// A valid index listing exactly the records.
    Matches,
    /// A valid index listing the records and more: entries the data lacks (or holds
    /// past a damaged record).
    ListsMore,
    /// A valid index that disagrees with the records (stale).
    Disagrees,
    /// No index file.
    Missing,
    /// An index file that fails its own checks.
    Corrupt,
}

impl IndexState {
    /// Parses the bytes of an index file of `codec`.
    pub fn parse(codec: Codec, bytes: &[u8]) -> IndexState {
        match IndexView::parse(codec, bytes) {
            Ok(view) => IndexState::Valid(view.iter().map(|o| o.0).collect()),
            Err(e) => IndexState::Corrupt(e.to_string()),
        }
    }

    /// Reads and parses the index file of `codec` at `source` (see
    /// [`SegmentFiles::index_source`](super::SegmentFiles::index_source)): `Missing`
    /// when there is none. A file that cannot be read is the caller's I/O error.
    pub fn read(codec: Codec, source: Option<&Path>) -> io::Result<IndexState> {
        let Some(path) = source else {
            return Ok(IndexState::Missing);
        };
        match std::fs::read(path) {
            Ok(bytes) => Ok(IndexState::parse(codec, &bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(IndexState::Missing),
            Err(e) => Err(e),
        }
    }

    /// The offsets of a valid index.
    pub fn offsets(&self) -> Option<&[u32]> {
        match self {
            IndexState::Valid(offsets) => Some(offsets),
            _ => None,
        }
    }

    /// How the index stands against `records`, the file offsets of the records found in
    /// the data (its valid prefix).
    pub fn fit(&self, records: &[u32]) -> IndexFit {
        match self {
            IndexState::Missing => IndexFit::Missing,
            IndexState::Corrupt(_) => IndexFit::Corrupt,
            IndexState::Valid(listed) if listed.as_slice() == records => IndexFit::Matches,
            IndexState::Valid(listed) if listed.starts_with(records) => IndexFit::ListsMore,
            IndexState::Valid(_) => IndexFit::Disagrees,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_fits_the_records_or_not() {
        let valid = IndexState::Valid(vec![0, 10, 20]);
        assert_eq!(valid.fit(&[0, 10, 20]), IndexFit::Matches);
        assert_eq!(valid.fit(&[0, 10]), IndexFit::ListsMore);
        assert_eq!(valid.fit(&[]), IndexFit::ListsMore);
        assert_eq!(valid.fit(&[0, 10, 20, 30]), IndexFit::Disagrees);
        assert_eq!(valid.fit(&[0, 11]), IndexFit::Disagrees);
        assert_eq!(IndexState::Missing.fit(&[0]), IndexFit::Missing);
        assert_eq!(IndexState::Corrupt("x".into()).fit(&[0]), IndexFit::Corrupt);
        assert_eq!(
            IndexState::parse(Codec::V2, &[1, 2, 3]).fit(&[]),
            IndexFit::Corrupt
        );
    }

    #[test]
    fn a_missing_file_is_a_missing_index() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            IndexState::read(Codec::V2, Some(&dir.path().join("0.idxx"))).unwrap(),
            IndexState::Missing
        );
        assert_eq!(
            IndexState::read(Codec::V2, None).unwrap(),
            IndexState::Missing
        );
    }
}
