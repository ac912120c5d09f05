//! Big-endian u32 fields, read and written without panicking.

/// Size of every integer field on disk.
pub(crate) const U32_BYTES: usize = 4;

/// The u32 stored big-endian at `at`, or `None` if fewer than four bytes remain.
#[inline]
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(U32_BYTES)?;
    let field: [u8; U32_BYTES] = bytes.get(at..end)?.try_into().ok()?;
    Some(u32::from_be_bytes(field))
}

/// Writes `value` big-endian at `at`; `false` if fewer than four bytes remain.
#[inline]
pub(crate) fn write_u32(bytes: &mut [u8], at: usize, value: u32) -> bool {
    let Some(end) = at.checked_add(U32_BYTES) else {
        return false;
    };
    match bytes.get_mut(at..end) {
        Some(field) => {
            field.copy_from_slice(&value.to_be_bytes());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_at_the_edges() {
        let mut buf = [0u8; 6];
        assert!(write_u32(&mut buf, 2, 0x0102_0304));
        assert_eq!(buf, [0, 0, 1, 2, 3, 4]);
        assert_eq!(read_u32(&buf, 2), Some(0x0102_0304));
        assert_eq!(read_u32(&buf, 3), None);
        assert_eq!(read_u32(&buf, usize::MAX), None);
        assert!(!write_u32(&mut buf, 3, 1));
        assert!(!write_u32(&mut buf, usize::MAX - 1, 1));
    }
}
