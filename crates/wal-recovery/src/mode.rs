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
}

impl RecoveryMode {
    /// The stable kebab-case name (as the command line spells it).
    pub const fn name(self) -> &'static str {
        match self {
            RecoveryMode::AbsoluteConsistency => "absolute-consistency",
            RecoveryMode::TolerateCorruptTail => "tolerate-corrupt-tail",
            RecoveryMode::PointInTime => "point-in-time",
        }
    }

    /// The mode with that name.
    pub fn from_name(name: &str) -> Option<RecoveryMode> {
        [
            RecoveryMode::AbsoluteConsistency,
            RecoveryMode::TolerateCorruptTail,
            RecoveryMode::PointInTime,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}
