//! Payload patterns. Each names the offset of its entry, so that an entry read at the
//! wrong offset, or resurrected from an older history, never passes for the right one;
//! most also vary in length, so that records have different sizes.

/// `entry <offset>`, the offset zero-padded to `width` digits: a fixed length for a
/// test that counts records per segment (`width` 4 gives 10 bytes up to offset 9999).
pub fn labelled(offset: u64, width: usize) -> Vec<u8> {
    format!("entry {offset:0width$}").into_bytes()
}

/// `len` bytes (at least 8): the offset little-endian, then the byte `generation`, so that
/// two histories of one log differ in every entry.
pub fn tagged(offset: u64, generation: u8, len: usize) -> Vec<u8> {
    assert!(len >= 8, "a tagged payload holds its 8-byte offset");
    let mut payload = vec![generation; len];
    payload[..8].copy_from_slice(&offset.to_le_bytes());
    payload
}

/// `entry-<offset>-` then 0 to 10 bytes of a letter, both chosen by the offset.
pub fn varied(offset: u64) -> Vec<u8> {
    let pad_len = usize::try_from(offset % 11).unwrap();
    let pad_byte = b'a' + u8::try_from(offset % 26).unwrap();
    let mut bytes = format!("entry-{offset}-").into_bytes();
    bytes.extend(std::iter::repeat_n(pad_byte, pad_len));
    bytes
}

/// A payload for `offset` that differs from [`varied`] (written after a truncation, so
/// that a dropped entry read back by mistake cannot pass for a new one).
pub fn varied_again(offset: u64) -> Vec<u8> {
    let pad_len = usize::try_from(offset % 5).unwrap();
    let mut bytes = format!("again-{offset}+").into_bytes();
    bytes.extend(std::iter::repeat_n(b'#', pad_len));
    bytes
}

/// 5 to 20 bytes: `e<offset>:` then a letter chosen by the offset.
pub fn short(offset: u64) -> Vec<u8> {
    let len = 5 + usize::try_from((offset * 7) % 16).unwrap();
    let mut bytes = format!("e{offset}:").into_bytes();
    let pad = b'a' + u8::try_from(offset % 26).unwrap();
    while bytes.len() < len {
        bytes.push(pad);
    }
    bytes
}

/// A payload for `offset` that differs from [`short`] (appended after a truncation).
pub fn short_again(offset: u64) -> Vec<u8> {
    format!("again-{offset}").into_bytes()
}

/// `len` bytes that are neither zero nor repetitive (xorshift32, the same on every run),
/// so that no implementation meets a special case: the payloads of the benchmarks.
pub fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_their_offset_and_have_their_lengths() {
        assert_eq!(labelled(7, 4), b"entry 0007");
        assert_eq!(labelled(7, 0), b"entry 7");
        let tagged = tagged(0x0102, 9, 12);
        assert_eq!(tagged, [2, 1, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9]);
        assert_eq!(varied(12), b"entry-12-m");
        assert_eq!(varied_again(3), b"again-3+###");
        assert_eq!(short(1), b"e1:bbbbbbbbb");
        assert_eq!(short_again(4), b"again-4");
        let noise = pseudo_random(4096);
        assert_eq!(noise, pseudo_random(4096));
        assert!(noise.iter().filter(|&&b| b == 0).count() < 64);
        assert_ne!(noise[..2048], noise[2048..]);
        for offset in 0..100 {
            assert!((5..=20).contains(&short(offset).len()));
            assert_ne!(varied(offset), varied_again(offset));
            assert_ne!(short(offset), short_again(offset));
            assert_ne!(varied(offset), varied(offset + 1));
        }
    }
}
