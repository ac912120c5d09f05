//! Fix-ups that turn random bytes into mostly valid v2 data, so that the fuzzer reaches
//! long chains of good records and the order checks of an index without having to guess
//! a CRC-32C. The unrepaired input is always checked too.

use wal_format::crc;

use crate::model;

/// Bytes of a v2 record header.
const V2_HEADER_BYTES: usize = 12;
/// Where a v2 record stores its previous crc and its crc.
const PREV_CRC_AT: usize = 4;
const CRC_AT: usize = 8;
/// A stored crc field whose low byte is this is left as found, so that the fuzzer can
/// still place a chain break or a crc mismatch after a run of repaired records.
const KEEP_MARK: u32 = 0xFF;

fn write_be_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// A copy of `data` in which every v2 record the size fields delimit (up to the first
/// size of 0 or the first that runs past the end) links to the one before and carries a
/// matching crc. The first record keeps its stored previous crc.
pub fn v2_segment(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut at = 0usize;
    let mut prev_crc: Option<u32> = None;
    while let Some(header) = out.get(at..at + V2_HEADER_BYTES) {
        let size = model::be_u32(header, 0) as usize;
        let end = at + V2_HEADER_BYTES + size;
        if size == 0 || end > out.len() {
            break;
        }
        let stored_prev = model::be_u32(&out, at + PREV_CRC_AT);
        let prev_field = match prev_crc {
            Some(link) if stored_prev & 0xFF != KEEP_MARK => link,
            _ => stored_prev,
        };
        write_be_u32(&mut out, at + PREV_CRC_AT, prev_field);
        let record_crc = crc::chain(prev_field, &out[at + V2_HEADER_BYTES..end]);
        if model::be_u32(&out, at + CRC_AT) & 0xFF != KEEP_MARK {
            write_be_u32(&mut out, at + CRC_AT, record_crc);
        }
        prev_crc = Some(record_crc);
        at = end;
    }
    out
}

/// A copy of `data` with a v2 index crc that matches its offsets, when its length allows
/// one (at least the crc, then whole offsets).
pub fn v2_index(data: &[u8]) -> Option<Vec<u8>> {
    let body = data.get(model::V2_INDEX_CRC_BYTES..)?;
    if !body.len().is_multiple_of(model::INDEX_ENTRY_BYTES) {
        return None;
    }
    let mut out = data.to_vec();
    write_be_u32(&mut out, 0, crc::chain(0, body));
    Some(out)
}
