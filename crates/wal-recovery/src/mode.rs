//! Recovery modes: what to do with damage. See docs/RECOVERY.md for the decision table.

/// What recovery does with the problems it finds. Whatever a mode cuts is first copied
/// into the directory's quarantine folder, then zeroed (or moved) so that new appends
/// never follow garbage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecoveryMode {
    /// Any problem is an error and nothing on disk changes (leftover temporary and unknown
    /// files are only reported).
    AbsoluteConsistency,
    /// An uncommitted damaged tail (after the commit point) is cut; committed corruption is
    /// an error. Indexes are rebuilt, leftover temporary files removed. The default.
    #[default]
    TolerateCorruptTail,
    /// Cut at the first data problem, committed or not, and report exactly which offsets
    /// went.
    PointInTime,
    /// Skip damaged records and missing segments whose boundaries are known (from a valid
    /// index, from the record's own size when it leads to a valid record chained from it,
    /// or from the segments' names), leaving holes recorded in the `HOLES` file; the chain
    /// is re-anchored after each hole. Where boundaries are not known, cut as
    /// `PointInTime` does. Every hole is reported.
    SkipCorrupted,
}

impl RecoveryMode {
    /// The stable kebab-case name (as the command line spells it).
    pub const fn name(self) -> &'static str {
        match self {
            RecoveryMode::AbsoluteConsistency => "absolute-consistency",
            RecoveryMode::TolerateCorruptTail => "tolerate-corrupt-tail",
            RecoveryMode::PointInTime => "point-in-time",
            RecoveryMode::SkipCorrupted => "skip-corrupted",
        }
    }

    /// The mode with that name.
    pub fn from_name(name: &str) -> Option<RecoveryMode> {
        [
            RecoveryMode::AbsoluteConsistency,
            RecoveryMode::TolerateCorruptTail,
            RecoveryMode::PointInTime,
            RecoveryMode::SkipCorrupted,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}
