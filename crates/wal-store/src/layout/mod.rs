//! The one model of a log directory, read-only: what its files are ([`DirLayout`]), how
//! consecutive segments join ([`join`]: continuing, across a recorded hole, or with a gap
//! or an overlap), what crc a segment's first record chains from ([`seed_for`],
//! [`crc_after`], [`chain_break`]), and how a segment's index file stands against the
//! records found in its data ([`IndexState`], [`IndexFit`]), and where the log starts
//! ([`LogStart`], [`DirLayout::read_start`], [`DirLayout::segments_below`]).
//!
//! Every walk over a directory's segments starts here: the store's open (which refuses
//! anything but a clean join), recovery's analysis (which classifies what it finds),
//! `walctl`'s read-only commands, `compare` and migration. The model only describes
//! files; nothing in it makes the store trust a byte. The store's open builds its own
//! from the directory and checks every segment it opens.

mod files;
mod index;
mod join;

pub use crate::seed::LogStart;
pub use files::{DirLayout, SegmentFiles, list_segments};
pub use index::{IndexFit, IndexState};
pub use join::{Join, chain_break, crc_after, join, seed_for, stray_hole};
