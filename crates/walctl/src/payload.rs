//! The payloads `walctl write` generates: checkable by anyone who knows the offset.
//!
//! The entry at offset `o` written with seed `S` holds the text `{S}:{o};` repeated and
//! cut to exactly the requested size: seed 7, offset 12, 10 bytes gives `7:12;7:12;`.

/// The payload of the entry at `offset` for `seed`, exactly `size` bytes long.
pub fn pattern(seed: u64, offset: u64, size: usize) -> Vec<u8> {
    let unit = format!("{seed}:{offset};");
    unit.bytes().cycle().take(size).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example() {
        assert_eq!(pattern(7, 12, 10), b"7:12;7:12;");
        assert_eq!(pattern(0, 0, 3), b"0:0");
        assert_eq!(pattern(1, 2, 0), b"");
    }
}
