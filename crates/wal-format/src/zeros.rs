//! The one check for zero bytes. A data file is preallocated with zeros, so "nothing was
//! written here" and "these bytes are all zero" are the same question, asked by the
//! scanner (after an end marker), by the store (after a close record's end) and by
//! recovery (where the written part of a file ends).

/// Bytes read at a time: OR-ing a whole chunk vectorizes, so a long run of zeros is
/// checked at memory speed; only a chunk holding a non-zero byte is searched byte by byte.
const CHUNK_BYTES: usize = 256;

fn chunk_is_zero(chunk: &[u8]) -> bool {
    chunk.iter().fold(0u8, |acc, &b| acc | b) == 0
}

/// Whether every byte of `bytes` is zero (true for no bytes).
pub fn all_zero(bytes: &[u8]) -> bool {
    bytes.chunks(CHUNK_BYTES).all(chunk_is_zero)
}

/// Position of the first non-zero byte, if any.
pub fn first_nonzero(bytes: &[u8]) -> Option<usize> {
    let mut base = 0usize;
    for chunk in bytes.chunks(CHUNK_BYTES) {
        if !chunk_is_zero(chunk) {
            return chunk.iter().position(|&b| b != 0).map(|i| base + i);
        }
        base += chunk.len();
    }
    None
}

/// Position just past the last non-zero byte (0 when every byte is zero): where the
/// written part of a zero-filled file ends.
pub fn nonzero_len(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    for chunk in bytes.rchunks(CHUNK_BYTES) {
        if let Some(i) = (!chunk_is_zero(chunk))
            .then(|| chunk.iter().rposition(|&b| b != 0))
            .flatten()
        {
            return end - chunk.len() + i + 1;
        }
        end -= chunk.len();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_nonzero_byte_anywhere() {
        for len in [0usize, 1, 255, 256, 257, 1000] {
            let zeros = vec![0u8; len];
            assert_eq!(first_nonzero(&zeros), None);
            assert!(all_zero(&zeros));
            for at in [0, len / 2, len.saturating_sub(1)] {
                if at < len {
                    let mut v = zeros.clone();
                    v[at] = 0x80;
                    if at + 1 < len {
                        v[len - 1] = 1;
                    }
                    assert_eq!(first_nonzero(&v), Some(at), "len {len} at {at}");
                    assert!(!all_zero(&v), "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn nonzero_len_finds_the_last_non_zero_byte() {
        assert_eq!(nonzero_len(&[]), 0);
        assert_eq!(nonzero_len(&[0; 10_000]), 0);
        let mut v = vec![0u8; 10_000];
        v[0] = 1;
        assert_eq!(nonzero_len(&v), 1);
        v[9_999] = 1;
        assert_eq!(nonzero_len(&v), 10_000);
        v[9_999] = 0;
        v[4_096] = 7;
        assert_eq!(nonzero_len(&v), 4_097);
    }
}
