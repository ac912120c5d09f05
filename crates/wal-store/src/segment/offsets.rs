//! Where a segment's entry offsets are kept: in memory for the active segment, in its
//! mapped index file for a sealed one.

use std::path::Path;

use wal_format::Codec;

use crate::error::{IoContext, Result};
use crate::mmap::SegmentMap;
use crate::sys;

/// Where a segment's entry offsets (the file offset of each record) are kept: in memory
/// for the active segment, whose offsets grow with each append; in the index file for a
/// sealed one, mapped read-only, so that sealed segments take no heap for their offsets
/// (4 bytes an entry otherwise). The index file was written by this log when it sealed
/// the segment; index files are replaced by renaming, never shrunk, so the mapping stays
/// whole.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    owned: Vec<u32>,
    index: Option<IndexMap>,
}

/// A mapped index file.
#[derive(Debug)]
pub(crate) struct IndexMap {
    map: SegmentMap,
    /// Bytes before the first offset (the crc of a v2 index).
    header: usize,
    len: usize,
}

impl IndexMap {
    fn get(&self, position: usize) -> Option<u32> {
        if position >= self.len {
            return None;
        }
        let at = self.header.checked_add(position.checked_mul(4)?)?;
        let bytes = self
            .map
            .published(self.map.len())
            .get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }

    /// The index file at `path`, mapped; `None` when it holds no whole offset.
    fn open(path: &Path, codec: Codec) -> Result<Option<IndexMap>> {
        let file = sys::open_read(path).io_context("open", path)?;
        let file_len = file.metadata().io_context("stat", path)?.len();
        let header = codec.index_header_bytes();
        let Some(body) = usize::try_from(file_len)
            .ok()
            .and_then(|l| l.checked_sub(header))
        else {
            return Ok(None);
        };
        if body == 0 || body % 4 != 0 {
            return Ok(None);
        }
        let map = SegmentMap::read_only(&file).io_context("mmap", path)?;
        Ok(Some(IndexMap {
            map,
            header,
            len: body / 4,
        }))
    }
}

impl Offsets {
    pub(crate) fn in_memory(owned: Vec<u32>) -> Offsets {
        Offsets { owned, index: None }
    }

    /// The index file at `path`, mapped whole and not yet checked: the caller parses
    /// [`index_bytes`](Offsets::index_bytes) before it trusts any offset. `None` when the
    /// file holds no whole offset.
    pub(crate) fn map_index_file(path: &Path, codec: Codec) -> Result<Option<Offsets>> {
        Ok(IndexMap::open(path, codec)?.map(|index| Offsets {
            owned: Vec::new(),
            index: Some(index),
        }))
    }

    /// The whole index file, when the offsets are read from one.
    pub(crate) fn index_bytes(&self) -> Option<&[u8]> {
        self.index
            .as_ref()
            .map(|index| index.map.published(index.map.len()))
    }

    /// A sealed segment's offsets read from its index file at `path`, when the file holds
    /// `entries` of them (the caller wrote it or has just checked it); `None` otherwise.
    pub(crate) fn from_index_file(
        path: &Path,
        codec: Codec,
        entries: usize,
    ) -> Result<Option<Offsets>> {
        Ok(Offsets::map_index_file(path, codec)?.filter(|offsets| offsets.len() == entries))
    }

    pub(crate) fn len(&self) -> usize {
        self.index
            .as_ref()
            .map_or(self.owned.len(), |index| index.len)
    }

    pub(crate) fn get(&self, position: usize) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(position),
            None => self.owned.get(position).copied(),
        }
    }

    /// How many of the first offsets are `other`'s first ones: a tight loop over the index
    /// bytes, since an open after recovery runs it over every sealed segment.
    pub(crate) fn matching_prefix(&self, other: &[u32]) -> usize {
        match &self.index {
            Some(index) => {
                let bytes = index.map.published(index.map.len());
                let body = bytes.get(index.header..).unwrap_or_default();
                body.chunks_exact(4)
                    .take(index.len)
                    .zip(other)
                    .take_while(|(at, other)| {
                        matches!(at, [a, b, c, d] if u32::from_be_bytes([*a, *b, *c, *d]) == **other)
                    })
                    .count()
            }
            None => self
                .owned
                .iter()
                .zip(other)
                .take_while(|(at, other)| at == other)
                .count(),
        }
    }

    pub(crate) fn to_vec(&self) -> Vec<u32> {
        match &self.index {
            Some(index) => (0..index.len).filter_map(|i| index.get(i)).collect(),
            None => self.owned.clone(),
        }
    }

    /// The offsets in memory, to change them (the active segment's always are).
    pub(super) fn owned(&mut self) -> &mut Vec<u32> {
        if self.index.is_some() {
            self.owned = self.to_vec();
            self.index = None;
        }
        &mut self.owned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::Segment;

    #[test]
    fn a_sealed_segment_reads_its_offsets_from_its_index_file() {
        for codec in [Codec::V1, Codec::V2] {
            let dir = tempfile::tempdir().unwrap();
            let active = Segment::create(dir.path(), 7, codec, 4096).unwrap();
            let mut prev = 0;
            for i in 0..50u8 {
                let encoded = active.append(prev, &[i; 13]).unwrap();
                prev = encoded.crc.unwrap_or(0);
            }
            active.publish(active.data_len());
            active.write_index(dir.path()).unwrap();
            let in_memory = active.offsets_read().unwrap().to_vec();
            let sealed = active.sealed(dir.path()).unwrap();
            let offsets = sealed.offsets_read().unwrap();
            assert!(offsets.index.is_some(), "{codec}: offsets still in memory");
            assert!(offsets.owned.is_empty());
            assert_eq!(offsets.len(), 50);
            assert_eq!(offsets.to_vec(), in_memory);
            assert_eq!(offsets.get(50), None);
            drop(offsets);
            for position in [0, 1, 25, 49] {
                let entry = sealed.read(position).unwrap();
                assert_eq!(entry.payload, vec![u8::try_from(position).unwrap(); 13]);
            }
            // A truncation makes it active again, with its offsets back in memory.
            let active = sealed.remap_writable(dir.path()).unwrap();
            active.cut(20).unwrap();
            assert_eq!(active.offsets_read().unwrap().to_vec(), in_memory[..20]);
        }
    }
}
