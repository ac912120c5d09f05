//! How a segment joins the one before it, and the crc chain across the boundary.

use std::ops::Range;

use wal_format::Codec;

/// How a segment starting at some base joins the segments before it, which end just
/// before an expected offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Join {
    /// It starts where the one before ends.
    Continues,
    /// It starts after a gap that recovery recorded as a hole on purpose (in the `HOLES`
    /// file): no entry is missing, and the chain is not checked across it.
    Hole(Range<u64>),
    /// It starts after the expected offset: the entries between are in no segment.
    Gap {
        /// Where it should have started.
        expected: u64,
    },
    /// It starts before the expected offset: the one before holds entries it starts at.
    Overlap {
        /// Where it should have started.
        expected: u64,
    },
}

impl Join {
    /// What is wrong with a gap or an overlap before the segment at `base`, in words;
    /// `None` for a clean join.
    pub fn problem_detail(&self, base: u64) -> Option<String> {
        match self {
            Join::Continues | Join::Hole(_) => None,
            Join::Gap { expected } => Some(format!("entries {expected}..{base} are in no segment")),
            Join::Overlap { expected } => Some(format!(
                "the segment before holds entries up to {}",
                expected.saturating_sub(1)
            )),
        }
    }
}

/// How the segment at `base` joins the segments before it, which end just before
/// `expected`, given the holes recovery recorded.
pub fn join(expected: u64, base: u64, recorded_holes: &[Range<u64>]) -> Join {
    if base == expected {
        Join::Continues
    } else if base > expected && recorded_holes.contains(&(expected..base)) {
        Join::Hole(expected..base)
    } else if base > expected {
        Join::Gap { expected }
    } else {
        Join::Overlap { expected }
    }
}

/// The crc the first record of a segment of `codec` must chain from, given the last crc
/// of the log before it: the chain is checked across a boundary only into a codec with
/// crcs (and only when the crc before is known).
pub fn seed_for(codec: Codec, crc_before: Option<u32>) -> Option<u32> {
    if codec.has_crc() { crc_before } else { None }
}

/// The last crc of the log after a segment of `codec` holding `entries` entries whose
/// last record's crc is `last_crc`, `crc_before` being the last crc before it. A segment
/// with no entry holds no crc of its own: the one before carries on, whatever its codec;
/// a segment without crcs ends the chain.
pub fn crc_after(
    codec: Codec,
    entries: u64,
    last_crc: Option<u32>,
    crc_before: Option<u32>,
) -> Option<u32> {
    match entries {
        0 => crc_before,
        _ if codec.has_crc() => last_crc.or(crc_before),
        _ => None,
    }
}

/// The break in the chain at a boundary, as `(expected, actual)`: the segment's first
/// record stores `first_prev_crc` as its previous crc, and `seed` (see [`seed_for`]) is
/// what it must be. `None` when they agree or either is unknown.
pub fn chain_break(seed: Option<u32>, first_prev_crc: Option<u32>) -> Option<(u32, u32)> {
    match (seed, first_prev_crc) {
        (Some(expected), Some(actual)) if expected != actual => Some((expected, actual)),
        _ => None,
    }
}

/// A recorded hole that is no gap between segments: one within `log` (from the first
/// segment's base to the end of the last) that is not among `joined`, the holes that
/// [`join`] found between segments. Its range holds entries, or nothing at all.
pub fn stray_hole<'a>(
    recorded: &'a [Range<u64>],
    log: Range<u64>,
    joined: &[Range<u64>],
) -> Option<&'a Range<u64>> {
    recorded
        .iter()
        .find(|h| h.start >= log.start && h.end <= log.end && !joined.contains(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_are_classified() {
        let holes = vec![Range { start: 10, end: 20 }];
        assert_eq!(join(10, 10, &holes), Join::Continues);
        assert_eq!(join(10, 20, &holes), Join::Hole(10..20));
        assert_eq!(join(10, 21, &holes), Join::Gap { expected: 10 });
        assert_eq!(join(12, 20, &holes), Join::Gap { expected: 12 });
        assert_eq!(join(10, 9, &holes), Join::Overlap { expected: 10 });
        assert_eq!(
            join(10, 21, &holes).problem_detail(21).as_deref(),
            Some("entries 10..21 are in no segment")
        );
        assert_eq!(
            join(10, 9, &holes).problem_detail(9).as_deref(),
            Some("the segment before holds entries up to 9")
        );
        assert_eq!(join(10, 20, &holes).problem_detail(20), None);
    }

    #[test]
    fn a_hole_that_joins_nothing_is_stray() {
        let recorded = [2..4, 10..20, 30..40];
        let joined = vec![Range { start: 10, end: 20 }];
        assert_eq!(stray_hole(&recorded, 0..25, &joined), Some(&(2..4)));
        assert_eq!(stray_hole(&recorded, 5..25, &joined), None);
        assert_eq!(stray_hole(&recorded, 5..35, &joined), None);
    }

    #[test]
    fn the_chain_runs_across_boundaries() {
        assert_eq!(seed_for(Codec::V2, Some(7)), Some(7));
        assert_eq!(seed_for(Codec::V1, Some(7)), None);
        assert_eq!(crc_after(Codec::V2, 3, Some(9), Some(7)), Some(9));
        assert_eq!(crc_after(Codec::V2, 0, None, Some(7)), Some(7));
        assert_eq!(crc_after(Codec::V1, 0, None, Some(7)), Some(7));
        assert_eq!(crc_after(Codec::V1, 2, None, Some(7)), None);
        assert_eq!(chain_break(Some(1), Some(2)), Some((1, 2)));
        assert_eq!(chain_break(Some(1), Some(1)), None);
        assert_eq!(chain_break(None, Some(2)), None);
        assert_eq!(chain_break(Some(1), None), None);
    }
}
