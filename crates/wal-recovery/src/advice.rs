//! What the alternatives to a refusal would cost the consumer: advice printed with an
//! error never suggests a mode that drops unread entries without saying how many.

use std::fmt;
use std::ops::Range;

use crate::analyze::{self, Analysis};

/// What [`RecoveryMode::PointInTime`](crate::RecoveryMode::PointInTime), the mode that
/// cuts committed damage, would cost the consumer of a log the default mode refused
/// (carried by [`Error::CommittedCorruption`](crate::Error::CommittedCorruption)).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Advice {
    /// The unread entries a point-in-time recovery would cut: those from the first entry
    /// it cuts on that lie after the consumer's cursor (every entry, with no cursor), up
    /// to the furthest any record or index shows the log reached. Empty when it would cut
    /// none of them.
    pub point_in_time_drops_unread: Range<u64>,
}

impl Advice {
    /// The advice for a log the default mode refuses, from its analysis.
    pub(crate) fn of(analysis: &Analysis) -> Advice {
        let unread_from = analyze::replay_start(analysis)
            .or(analysis.first_offset())
            .unwrap_or(0);
        let end = analysis.reached_end().unwrap_or(unread_from);
        let cut = match analysis.start {
            // A start past every record: point-in-time resets the log to it, and every
            // record goes.
            analyze::Start::PastRecords { .. } => Some(unread_from),
            _ => crate::repair::point_in_time_cut_from(analysis),
        };
        let drops = match cut {
            Some(cut) => cut.max(unread_from)..end.max(cut.max(unread_from)),
            None => end..end,
        };
        Advice {
            point_in_time_drops_unread: drops,
        }
    }

    /// How many unread entries a point-in-time recovery would cut.
    pub fn unread_dropped(&self) -> u64 {
        self.point_in_time_drops_unread
            .end
            .saturating_sub(self.point_in_time_drops_unread.start)
    }
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dropped = &self.point_in_time_drops_unread;
        match self.unread_dropped() {
            0 => f.write_str("point-in-time recovery would drop no unread entry"),
            1 => write!(
                f,
                "point-in-time recovery would drop 1 unread entry ({})",
                dropped.start
            ),
            n => write!(
                f,
                "point-in-time recovery would drop {n} unread entries ({}..={})",
                dropped.start,
                dropped.end - 1
            ),
        }
    }
}
