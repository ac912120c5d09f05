//! The checksum: CRC-32C continued from a seed, LevelDB-style masking, and the chain.
//!
//! Every v2 record stores `chain(prev, payload)` where `prev` is the crc stored in the
//! record before it. The whole of this project's checksumming goes through
//! [`crc32c_update`], so the implementation behind it is a one-line choice (see
//! docs/BENCHMARKS.md for why the hardware-accelerated `crc32c` crate was chosen).

/// The constant added after rotating, so that a crc stored inside data does not look
/// like the crc of that data.
pub const MASK_DELTA: u32 = 0xA282_EAD8;

/// The rotation (to the right) applied by [`mask`].
pub const MASK_ROTATION: u32 = 15;

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `bytes`, continued from
/// `seed` the way a streaming crc continues: `crc32c_update(crc32c_update(0, a), b)`
/// equals `crc32c_update(0, a ++ b)`. With seed 0 this is the ordinary CRC-32C.
///
/// ```
/// assert_eq!(wal_format::crc::crc32c_update(0, b"123456789"), 0xE306_9283);
/// ```
#[inline]
pub fn crc32c_update(seed: u32, bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(seed, bytes)
}

/// Masks a crc: rotate right by 15 bits, then add [`MASK_DELTA`] (wrapping).
#[inline]
pub const fn mask(crc: u32) -> u32 {
    crc.rotate_right(MASK_ROTATION).wrapping_add(MASK_DELTA)
}

/// Inverse of [`mask`].
#[inline]
pub const fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(MASK_ROTATION)
}

/// The chained crc of a record: `mask(crc32c_update(prev, payload))`, where `prev` is the
/// crc of the record before (0 for the first record of a new log).
///
/// ```
/// use wal_format::crc::chain;
/// let first = chain(0, &[0x00]);
/// assert_eq!(first, 0x4925_8fd2);
/// assert_eq!(chain(first, &[0x01]), 0x6b86_1046);
/// ```
#[inline]
pub fn chain(prev: u32, payload: &[u8]) -> u32 {
    mask(crc32c_update(prev, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bit-at-a-time CRC-32C straight from the definition, to check the fast one against.
    fn crc32c_reference(seed: u32, bytes: &[u8]) -> u32 {
        let mut register = !seed;
        for &byte in bytes {
            register ^= u32::from(byte);
            for _ in 0..8 {
                let lsb = register & 1;
                register >>= 1;
                if lsb == 1 {
                    register ^= 0x82F6_3B78;
                }
            }
        }
        !register
    }

    /// The `crc` crate's table-driven CRC-32C, continued from a seed by feeding it the
    /// register the way the crate expects it (reflected algorithms take the bit-reversed
    /// initial value).
    fn crc32c_table16(seed: u32, bytes: &[u8]) -> u32 {
        let crc = ::crc::Crc::<u32, ::crc::Table<16>>::new(&::crc::CRC_32_ISCSI);
        let mut digest = crc.digest_with_initial((!seed).reverse_bits());
        digest.update(bytes);
        digest.finalize()
    }

    #[test]
    fn check_value_of_123456789() {
        assert_eq!(crc32c_update(0, b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_reference(0, b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_table16(0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn empty_input_returns_the_seed() {
        for seed in [0, 1, 0xDEAD_BEEF, u32::MAX] {
            assert_eq!(crc32c_update(seed, &[]), seed);
        }
    }

    #[test]
    fn continuing_equals_concatenating() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3).to_le_bytes()[0]).collect();
        let whole = crc32c_update(0, &data);
        for split in [0, 1, 7, 500, 999, 1000] {
            let (a, b) = data.split_at(split);
            assert_eq!(
                crc32c_update(crc32c_update(0, a), b),
                whole,
                "split at {split}"
            );
        }
    }

    #[test]
    fn chain_vectors_from_the_format_facts() {
        let c0 = chain(0, &[0x00]);
        let c1 = chain(c0, &[0x01]);
        let c2 = chain(c1, &[0x02]);
        assert_eq!([c0, c1, c2], [0x4925_8fd2, 0x6b86_1046, 0x6248_94c6]);
    }

    #[test]
    fn mask_round_trips() {
        for c in [0, 1, 0x8000_0000, 0xA282_EAD8, u32::MAX, 0x1234_5678] {
            assert_eq!(unmask(mask(c)), c);
        }
        assert_eq!(mask(0), MASK_DELTA);
    }

    quickcheck::quickcheck! {
        fn hardware_table_and_bitwise_crcs_agree(seed: u32, bytes: Vec<u8>) -> bool {
            let fast = crc32c_update(seed, &bytes);
            fast == crc32c_reference(seed, &bytes) && fast == crc32c_table16(seed, &bytes)
        }
    }
}
