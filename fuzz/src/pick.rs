//! Reading choices from the fuzzer's bytes. Every helper returns something when the input
//! runs out (the first choice, zero, fewer bytes), so a short input is a short run, never
//! a rejected one.

use libfuzzer_sys::arbitrary::Unstructured;

/// A number in `low..=high` (`low` once the input is used up; `high` if `high < low`).
pub fn int(u: &mut Unstructured<'_>, low: u64, high: u64) -> u64 {
    let low = low.min(high);
    u.int_in_range(low..=high).unwrap_or(low)
}

/// A `usize` in `low..=high`, like [`int`].
pub fn size(u: &mut Unstructured<'_>, low: usize, high: usize) -> usize {
    let low = low.min(high);
    u.int_in_range(low..=high).unwrap_or(low)
}

/// One of `choices` (the first once the input is used up). `choices` is not empty.
pub fn one_of<T: Copy>(u: &mut Unstructured<'_>, choices: &[T]) -> T {
    let i = size(u, 0, choices.len() - 1);
    choices[i]
}

/// A coin that comes up `false` once the input is used up.
pub fn flag(u: &mut Unstructured<'_>) -> bool {
    u.arbitrary::<bool>().unwrap_or(false)
}

/// Any u32 (0 once the input is used up).
pub fn any_u32(u: &mut Unstructured<'_>) -> u32 {
    u.arbitrary::<u32>().unwrap_or(0)
}

/// Up to `max` bytes taken from the input, as many as it still has.
pub fn bytes(u: &mut Unstructured<'_>, max: usize) -> Vec<u8> {
    let len = size(u, 0, max).min(u.len());
    u.bytes(len).map(<[u8]>::to_vec).unwrap_or_default()
}

/// Exactly `len` bytes: from the input while it lasts, then a pattern that depends on
/// the position (so that payloads differ even when the input is used up).
pub fn exact_bytes(u: &mut Unstructured<'_>, len: usize) -> Vec<u8> {
    let from_input = len.min(u.len());
    let mut out = u.bytes(from_input).map(<[u8]>::to_vec).unwrap_or_default();
    let start = out.len();
    out.extend((start..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(7)));
    out
}
