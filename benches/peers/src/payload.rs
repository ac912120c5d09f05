//! Payloads: the same bytes for every implementation, incompressible (raft-engine would
//! otherwise be tempted to compress), different from one append to the next, and cheap to
//! produce (a slice of a pool, no allocation).

/// Size of the pool of random bytes payloads are cut from.
const POOL_BYTES: usize = 1 << 20;
/// Stride between the starts of consecutive payloads (a prime, so they do not repeat
/// with a short period).
const STRIDE_BYTES: usize = 4099;

/// Payloads of one size.
#[derive(Debug, Clone)]
pub struct Payloads {
    pool: Vec<u8>,
    size: usize,
}

impl Payloads {
    /// Payloads of `size` bytes.
    pub fn new(size: usize) -> Payloads {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut pool = Vec::with_capacity(POOL_BYTES + size);
        while pool.len() < POOL_BYTES + size {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            pool.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        pool.truncate(POOL_BYTES + size);
        Payloads { pool, size }
    }

    /// Size of every payload.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Payload number `i`.
    #[inline]
    pub fn get(&self, i: u64) -> &[u8] {
        let start = (i as usize).wrapping_mul(STRIDE_BYTES) % POOL_BYTES;
        &self.pool[start..start + self.size]
    }
}
