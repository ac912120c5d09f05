//! Segment and index files built with `wal-format`'s encoders, for the tests that write
//! a log's files by hand (a segment from another history, one the store never wrote, a
//! format fixture).

use std::path::Path;

use wal_format::{Codec, FileOffset, index};

/// One record as it was written, with where it went and (v2) how it was chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Where the record starts in the segment.
    pub file_offset: u32,
    /// Bytes the record takes (header plus payload).
    pub len: usize,
    /// The seed the record was chained from (v2; for v1 the seed the caller passed, which
    /// the encoder ignores).
    pub prev_crc: u32,
    /// The crc the encoder returned (v2), `None` for v1.
    pub crc: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Written {
    /// File offset just past the record.
    pub fn end(&self) -> usize {
        usize::try_from(self.file_offset).unwrap() + self.len
    }
}

/// The bytes of a data file: records encoded back to back from file offset 0, then zeros.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The codec of its records.
    pub codec: Codec,
    /// The crc its first record is chained from (v2).
    pub seed: u32,
    /// The whole data file.
    pub bytes: Vec<u8>,
    /// Its records, in order.
    pub records: Vec<Written>,
}

impl Segment {
    /// File offset just past the last record (where the end marker, if any, is).
    pub fn records_end(&self) -> usize {
        self.records.last().map_or(0, Written::end)
    }

    /// The records' file offsets, as an index lists them.
    pub fn offsets(&self) -> Vec<FileOffset> {
        self.records
            .iter()
            .map(|r| FileOffset(r.file_offset))
            .collect()
    }

    /// The crc of the last record, or the seed when there is none (v2); `None` for v1.
    pub fn last_crc(&self) -> Option<u32> {
        match self.codec {
            Codec::V1 => None,
            _ => Some(self.records.last().map_or(self.seed, |r| r.crc.unwrap())),
        }
    }

    /// The index file the store writes when it seals this segment: every record listed.
    pub fn index(&self) -> Vec<u8> {
        encode_index(self.codec, &self.offsets())
    }
}

/// Bytes the records of `payloads` take when packed back to back.
pub fn records_len<P: AsRef<[u8]>>(codec: Codec, payloads: &[P]) -> usize {
    payloads
        .iter()
        .map(|p| codec.record_bytes(p.as_ref().len()).unwrap())
        .sum()
}

/// Encodes `payloads` back to back into a zero-filled data file of `segment_len` bytes
/// (as the store preallocates one), chaining v2 records from `seed`.
pub fn encode_segment<P: AsRef<[u8]>>(
    codec: Codec,
    seed: u32,
    payloads: &[P],
    segment_len: usize,
) -> Segment {
    let mut bytes = vec![0u8; segment_len];
    let mut records = Vec::with_capacity(payloads.len());
    let (mut at, mut prev) = (0usize, seed);
    for payload in payloads {
        let payload = payload.as_ref();
        let encoded = codec
            .encode_record(&mut bytes[at..], prev, payload)
            .unwrap();
        records.push(Written {
            file_offset: u32::try_from(at).unwrap(),
            len: encoded.len,
            prev_crc: prev,
            crc: encoded.crc,
            payload: payload.to_vec(),
        });
        at += encoded.len;
        prev = encoded.crc.unwrap_or(prev);
    }
    Segment {
        codec,
        seed,
        bytes,
        records,
    }
}

/// Encodes `payloads` followed by `tail_bytes` zero bytes.
pub fn encode_with_tail<P: AsRef<[u8]>>(
    codec: Codec,
    seed: u32,
    payloads: &[P],
    tail_bytes: usize,
) -> Segment {
    let len = records_len(codec, payloads) + tail_bytes;
    encode_segment(codec, seed, payloads, len)
}

/// The bytes of one record of `payload` chained from `prev_crc`, and its crc (v2).
pub fn encode_record(codec: Codec, prev_crc: u32, payload: &[u8]) -> (Vec<u8>, Option<u32>) {
    let segment = encode_with_tail(codec, prev_crc, &[payload], 0);
    let crc = segment.last_crc();
    (segment.bytes, crc)
}

/// The index file listing `offsets`.
pub fn encode_index(codec: Codec, offsets: &[FileOffset]) -> Vec<u8> {
    let mut out = vec![0u8; index::index_bytes(codec, offsets.len())];
    let written = index::encode(codec, offsets, &mut out).unwrap();
    assert_eq!(written, out.len());
    out
}

/// The name of the data file of the segment at `base`.
pub fn data_file_name(base: u64, codec: Codec) -> String {
    format!("{base}.{}", codec.data_extension())
}

/// The name of the index file of the segment at `base`.
pub fn index_file_name(base: u64, codec: Codec) -> String {
    format!("{base}.{}", codec.index_extension())
}

/// Writes the segment at `base` into `dir` by hand: its data file of `segment_len` bytes
/// holding `payloads` chained from `seed` and, if `sealed`, its index. Returns what it
/// wrote ([`Segment::last_crc`] seeds the next segment).
pub fn write_segment<P: AsRef<[u8]>>(
    dir: &Path,
    base: u64,
    codec: Codec,
    seed: u32,
    payloads: &[P],
    segment_len: usize,
    sealed: bool,
) -> Segment {
    let segment = encode_segment(codec, seed, payloads, segment_len);
    std::fs::write(dir.join(data_file_name(base, codec)), &segment.bytes).unwrap();
    if sealed {
        std::fs::write(dir.join(index_file_name(base, codec)), segment.index()).unwrap();
    }
    segment
}

#[cfg(test)]
mod tests {
    use super::*;
    use wal_format::{IndexView, Scanner};

    #[test]
    fn segments_built_here_scan_back_as_written() {
        for codec in [Codec::V1, Codec::V2] {
            let payloads = [b"first".to_vec(), b"second one".to_vec()];
            let segment = encode_with_tail(codec, 9, &payloads, 7);
            assert_eq!(segment.bytes.len(), records_len(codec, &payloads) + 7);
            let scanned: Vec<(u32, Vec<u8>, Option<u32>)> = Scanner::new(codec, &segment.bytes)
                .with_seed(9)
                .map(|r| (r.file_offset.0, r.payload.to_vec(), r.crc))
                .collect();
            let written: Vec<(u32, Vec<u8>, Option<u32>)> = segment
                .records
                .iter()
                .map(|r| (r.file_offset, r.payload.clone(), r.crc))
                .collect();
            assert_eq!(scanned, written);
            let index = segment.index();
            let listed: Vec<FileOffset> = IndexView::parse(codec, &index).unwrap().iter().collect();
            assert_eq!(listed, segment.offsets());
            let (record, crc) = encode_record(codec, 9, b"first");
            assert_eq!(record, segment.bytes[..segment.records[0].len]);
            assert_eq!(crc, segment.records[0].crc);
        }
    }

    #[test]
    fn a_written_segment_has_its_files() {
        let dir = crate::scratch_dir("wal-testkit-");
        let first = write_segment(dir.path(), 0, Codec::V2, 0, &[b"a"], 64, true);
        write_segment(
            dir.path(),
            1,
            Codec::V2,
            first.last_crc().unwrap(),
            &[b"b"],
            64,
            false,
        );
        assert_eq!(
            crate::file_names(dir.path()),
            ["0.idxx", "0.txnx", "1.txnx"]
        );
        assert_eq!(
            std::fs::read(dir.path().join("0.txnx")).unwrap(),
            first.bytes
        );
    }
}
