//! Damage done to a file the way a crash, a lost page, bit rot or a careless operator
//! would. Each helper is a plain file-system call, so the damage is exactly what the test
//! says, and each panics if the file is not there or the place is not inside it.
//!
//! Bytes are changed in place (the file is never rewritten or cut), so a test may damage
//! a file that an open log has mapped: readers see the damage, never a shorter file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Flips every bit of the byte at `at` of the file `path`.
pub fn flip_byte(path: &Path, at: usize) {
    xor_byte(path, at, 0xFF);
}

/// XORs the byte at `at` of the file `path` with `mask` (a non-zero mask: one that
/// changes nothing damages nothing).
/// XORing again with the same mask puts the byte back.
pub fn xor_byte(path: &Path, at: usize, mask: u8) {
    assert_ne!(mask, 0, "a zero mask changes nothing");
    let file = open_inside(path, at + 1);
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, at as u64).unwrap();
    file.write_all_at(&[byte[0] ^ mask], at as u64).unwrap();
}

/// Zeroes the bytes `range` of the file `path` (a lost or zeroed page).
pub fn zero_range(path: &Path, range: Range<usize>) {
    overwrite(path, range.start, &vec![0u8; range.len()]);
}

/// Writes `bytes` over the file `path` from `at` on (inside the file).
pub fn overwrite(path: &Path, at: usize, bytes: &[u8]) {
    let file = open_inside(path, at + bytes.len());
    file.write_all_at(bytes, at as u64).unwrap();
}

/// Opens `path` for reading and writing, panicking unless it holds `end` bytes or more.
fn open_inside(path: &Path, end: usize) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let len = file.metadata().unwrap().len();
    assert!(
        end as u64 <= len,
        "byte {} of {} is past its end ({len} bytes)",
        end - 1,
        path.display()
    );
    file
}

/// Sets the length of the file `path` to `len` bytes: cuts it, or extends it with zeros.
pub fn set_len(path: &Path, len: u64) {
    let file = OpenOptions::new().write(true).open(path).unwrap();
    file.set_len(len).unwrap();
}

/// Appends `bytes` to the file `path` (garbage past the end of what was written).
pub fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

/// Removes the file `path`.
pub fn remove(path: &Path) {
    std::fs::remove_file(path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch_dir;

    #[test]
    fn each_helper_does_exactly_its_damage() {
        let dir = scratch_dir("wal-testkit-");
        let path = dir.path().join("f");
        std::fs::write(&path, [1u8, 2, 3, 4, 5, 6]).unwrap();
        flip_byte(&path, 0);
        xor_byte(&path, 1, 0x10);
        zero_range(&path, 2..4);
        assert_eq!(std::fs::read(&path).unwrap(), [!1u8, 0x12, 0, 0, 5, 6]);
        overwrite(&path, 4, b"ab");
        set_len(&path, 5);
        assert_eq!(std::fs::read(&path).unwrap(), [!1u8, 0x12, 0, 0, b'a']);
        set_len(&path, 7);
        append(&path, b"zz");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [!1u8, 0x12, 0, 0, b'a', 0, 0, b'z', b'z']
        );
        xor_byte(&path, 1, 0x10);
        assert_eq!(
            std::fs::read(&path).unwrap()[1],
            0x02,
            "a second xor puts it back"
        );
        remove(&path);
        assert!(!path.exists());
    }

    #[test]
    #[should_panic(expected = "past its end")]
    fn damage_outside_the_file_is_a_failed_test() {
        let dir = scratch_dir("wal-testkit-");
        let path = dir.path().join("f");
        std::fs::write(&path, [1u8]).unwrap();
        flip_byte(&path, 1);
    }
}
