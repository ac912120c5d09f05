//! The JSON the commands print with `--json`. The library types have no serde on
//! purpose; these views are the command line's contract, documented in its README, and
//! field names and order here are that contract.

use serde::Serialize;
use wal_recovery::{Action, CursorState, NamedCursor, Problem, RecoveryReport};

use crate::render::hex;
use crate::scan::{EntryView, SegmentSummary};

/// One entry, as `dump` and `replay` print it.
#[derive(Debug, Serialize)]
pub struct EntryJson {
    pub offset: u64,
    pub segment: u64,
    pub codec: &'static str,
    pub file_offset: u32,
    pub size: usize,
    pub prev_crc: Option<u32>,
    pub crc: Option<u32>,
    pub payload_hex: String,
}

impl From<&EntryView<'_>> for EntryJson {
    fn from(entry: &EntryView<'_>) -> EntryJson {
        EntryJson {
            offset: entry.offset,
            segment: entry.segment,
            codec: entry.codec.name(),
            file_offset: entry.file_offset,
            size: entry.payload.len(),
            prev_crc: entry.prev_crc,
            crc: entry.crc,
            payload_hex: hex(entry.payload),
        }
    }
}

/// One problem found by recovery or verification.
#[derive(Debug, Serialize)]
pub struct ProblemJson {
    pub kind: &'static str,
    pub segment: Option<u64>,
    pub offset: Option<u64>,
    pub file_offset: Option<u32>,
    pub committed: bool,
    /// Damage in entries the consumer has consumed.
    pub consumed: bool,
    pub detail: String,
}

impl From<&Problem> for ProblemJson {
    fn from(problem: &Problem) -> ProblemJson {
        // A problem about a file rather than a segment (a leftover temporary file, an
        // unknown file, the cursor) names the file first: the detail alone does not.
        let detail = match (&problem.path, problem.segment) {
            (Some(path), None) => format!("{}: {}", path.display(), problem.detail),
            _ => problem.detail.clone(),
        };
        ProblemJson {
            kind: problem.kind.name(),
            segment: problem.segment,
            offset: problem.offset,
            file_offset: problem.file_offset,
            committed: problem.committed,
            consumed: problem.consumed,
            detail,
        }
    }
}

pub fn problems(problems: &[Problem]) -> Vec<ProblemJson> {
    problems.iter().map(ProblemJson::from).collect()
}

/// Something recovery changed on disk.
#[derive(Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionJson {
    IndexRebuilt {
        segment: u64,
        entries: u64,
    },
    ActiveIndexRemoved {
        segment: u64,
    },
    TailCut {
        segment: u64,
        file_offset: u32,
        bytes: u64,
        quarantined_to: String,
    },
    FileQuarantined {
        from: String,
        to: String,
    },
    TempFileRemoved {
        path: String,
    },
    HolesRewritten {
        /// The holes the file lists now, `[start, end)` each.
        holes: Vec<OffsetRangeJson>,
        quarantined_to: String,
    },
    HoleLeft {
        /// The skipped offsets, `[from, to)`.
        from: u64,
        to: u64,
    },
    SegmentSplit {
        segment: u64,
        into: u64,
    },
    LogReset {
        /// The log's start, now its next offset.
        offset: u64,
        /// The lost entries, `[from, to)`.
        lost_from: u64,
        lost_to: u64,
    },
    CursorClamped {
        from: u64,
        /// `null`: the log is empty and the cursor file was removed.
        to: Option<u64>,
    },
    NamedCursorClamped {
        name: String,
        from: u64,
        /// `null`: the log is empty and the cursor file was removed.
        to: Option<u64>,
    },
    /// An action of a newer recovery crate that this walctl has no fields for: its name
    /// and a readable form. (`Action` is `#[non_exhaustive]`.)
    #[serde(untagged)]
    Other {
        action: &'static str,
        detail: String,
    },
}

/// A range of entry offsets, `start` included, `end` excluded.
#[derive(Debug, Serialize)]
pub struct OffsetRangeJson {
    pub start: u64,
    pub end: u64,
}

impl From<&Action> for ActionJson {
    fn from(action: &Action) -> ActionJson {
        match action {
            Action::IndexRebuilt { segment, entries } => ActionJson::IndexRebuilt {
                segment: *segment,
                entries: *entries,
            },
            Action::ActiveIndexRemoved { segment } => {
                ActionJson::ActiveIndexRemoved { segment: *segment }
            }
            Action::TailCut {
                segment,
                file_offset,
                bytes,
                quarantined_to,
            } => ActionJson::TailCut {
                segment: *segment,
                file_offset: *file_offset,
                bytes: *bytes,
                quarantined_to: quarantined_to.display().to_string(),
            },
            Action::FileQuarantined { from, to } => ActionJson::FileQuarantined {
                from: from.display().to_string(),
                to: to.display().to_string(),
            },
            Action::TempFileRemoved { path } => ActionJson::TempFileRemoved {
                path: path.display().to_string(),
            },
            Action::HolesRewritten {
                holes,
                quarantined_to,
            } => ActionJson::HolesRewritten {
                holes: holes
                    .iter()
                    .map(|h| OffsetRangeJson {
                        start: h.start,
                        end: h.end,
                    })
                    .collect(),
                quarantined_to: quarantined_to.display().to_string(),
            },
            Action::HoleLeft { offsets } => ActionJson::HoleLeft {
                from: offsets.start,
                to: offsets.end,
            },
            Action::SegmentSplit { segment, into } => ActionJson::SegmentSplit {
                segment: *segment,
                into: *into,
            },
            Action::LogReset { offset, lost } => ActionJson::LogReset {
                offset: *offset,
                lost_from: lost.start,
                lost_to: lost.end,
            },
            Action::CursorClamped { from, to } => ActionJson::CursorClamped {
                from: *from,
                to: *to,
            },
            Action::NamedCursorClamped { name, from, to } => ActionJson::NamedCursorClamped {
                name: name.clone(),
                from: *from,
                to: *to,
            },
            // `Action` is `#[non_exhaustive]`: a newer recovery crate may add one.
            other => ActionJson::Other {
                action: other.name(),
                detail: format!("{other:?}"),
            },
        }
    }
}

/// The entries a recovery cut: offsets `from..to` (`to` exclusive).
#[derive(Debug, Serialize)]
pub struct CutJson {
    pub from: u64,
    pub to: u64,
    pub committed: bool,
    pub quarantine: String,
}

/// What `repair` did.
#[derive(Debug, Serialize)]
pub struct RepairJson {
    /// Whether the log verifies clean afterwards.
    pub ok: bool,
    /// Whether the mode refused (nothing changed on disk).
    pub refused: bool,
    /// Why it refused.
    pub error: Option<String>,
    pub mode: &'static str,
    pub commit_offset: Option<u64>,
    pub committed_end: Option<u64>,
    pub problems: Vec<ProblemJson>,
    pub actions: Vec<ActionJson>,
    pub cut: Option<CutJson>,
    pub first_offset: Option<u64>,
    pub last_offset: Option<u64>,
    pub last_crc: Option<u32>,
    pub cursor: Option<u64>,
    pub replay_from: Option<u64>,
    /// The warning printed on stderr, if any: the log has holes that other readers of
    /// the segment format stop at.
    pub warning: Option<String>,
    /// Damaged entries the consumer has consumed, left in place, or null.
    pub damage_before_cursor: Option<RangeJson>,
}

impl RepairJson {
    pub fn from_report(report: &RecoveryReport, ok: bool, warning: Option<String>) -> RepairJson {
        RepairJson {
            ok,
            refused: false,
            error: None,
            mode: report.mode.name(),
            commit_offset: report.commit_offset,
            committed_end: Some(report.committed_end),
            problems: problems(&report.problems),
            actions: report.actions.iter().map(ActionJson::from).collect(),
            cut: report.cut.as_ref().map(|cut| CutJson {
                from: cut.offsets.start,
                to: cut.offsets.end,
                committed: cut.committed,
                quarantine: cut.quarantine.display().to_string(),
            }),
            first_offset: Some(report.first_offset),
            last_offset: report.last_offset,
            last_crc: report.last_crc,
            cursor: report.cursor.offset(),
            replay_from: Some(report.replay_from),
            warning,
            damage_before_cursor: report.damage_before_cursor.as_ref().map(Into::into),
        }
    }
}

/// What `verify` found.
#[derive(Debug, Serialize)]
pub struct VerifyJson {
    pub ok: bool,
    pub first_offset: Option<u64>,
    pub last_valid_offset: Option<u64>,
    pub problems: Vec<ProblemJson>,
    /// Every cursor: the default one first (even when missing), then the named ones.
    pub cursors: Vec<NamedCursorJson>,
    /// Damaged entries the consumer has consumed, `{"from", "to"}`, or null.
    pub damage_before_cursor: Option<RangeJson>,
}

/// A range of entry offsets, `to` exclusive.
#[derive(Debug, Serialize)]
pub struct RangeJson {
    pub from: u64,
    pub to: u64,
}

impl From<&std::ops::Range<u64>> for RangeJson {
    fn from(range: &std::ops::Range<u64>) -> RangeJson {
        RangeJson {
            from: range.start,
            to: range.end,
        }
    }
}

/// One segment in `stat`.
#[derive(Debug, Serialize)]
pub struct SegmentJson {
    pub base_offset: u64,
    pub codec: &'static str,
    pub entries: u64,
    pub data_bytes: u64,
    pub index: &'static str,
}

impl From<&SegmentSummary> for SegmentJson {
    fn from(segment: &SegmentSummary) -> SegmentJson {
        SegmentJson {
            base_offset: segment.base,
            codec: segment.codec.name(),
            entries: segment.entries,
            data_bytes: segment.data_bytes,
            index: segment.index.name(),
        }
    }
}

/// What `stat` prints.
#[derive(Debug, Serialize)]
pub struct StatJson {
    pub first_offset: Option<u64>,
    pub last_offset: Option<u64>,
    pub entries: u64,
    pub last_crc: Option<u32>,
    pub cursor: Option<u64>,
    /// `"none"`, `"ok"` or `"corrupt"`: the caller's metadata blob (`META`).
    pub meta: &'static str,
    /// The blob's length, when it reads.
    pub meta_bytes: Option<usize>,
    pub segments: Vec<SegmentJson>,
}

/// What `cursor` prints.
#[derive(Debug, Serialize)]
pub struct CursorJson {
    pub cursor: Option<u64>,
    pub status: &'static str,
}

impl From<&CursorState> for CursorJson {
    fn from(state: &CursorState) -> CursorJson {
        CursorJson {
            cursor: state.offset(),
            status: state.status(),
        }
    }
}

impl From<&NamedCursor> for CursorJson {
    fn from(cursor: &NamedCursor) -> CursorJson {
        CursorJson::from(&cursor.state)
    }
}

/// One cursor in `verify`: its name, offset and status, and the unread entries a trim
/// dropped on request, if its file records any.
#[derive(Debug, Serialize)]
pub struct NamedCursorJson {
    pub name: String,
    pub cursor: Option<u64>,
    pub status: &'static str,
    pub dropped_unread: Option<RangeJson>,
}

impl From<&NamedCursor> for NamedCursorJson {
    fn from(cursor: &NamedCursor) -> NamedCursorJson {
        NamedCursorJson {
            name: cursor.name.clone(),
            cursor: cursor.state.offset(),
            status: cursor.state.status(),
            dropped_unread: cursor.dropped_unread.as_ref().map(Into::into),
        }
    }
}

/// One phase of `bench`.
#[derive(Debug, Serialize)]
pub struct BenchPhaseJson {
    pub name: &'static str,
    pub threads: usize,
    pub entries: u64,
    pub seconds: f64,
    pub entries_per_sec: f64,
}

/// What `bench` prints.
#[derive(Debug, Serialize)]
pub struct BenchJson {
    pub dir: String,
    pub payload_bytes: usize,
    pub phases: Vec<BenchPhaseJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_tagged_with_their_snake_case_name() {
        let action = Action::IndexRebuilt {
            segment: 3,
            entries: 9,
        };
        let value = serde_json::to_value(ActionJson::from(&action)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"action": "index_rebuilt", "segment": 3, "entries": 9})
        );
    }

    /// Every action is real JSON with its own fields, none a debug string.
    #[test]
    fn holes_splits_and_clamped_cursors_have_fields_of_their_own() {
        let cases = [
            (
                Action::HoleLeft { offsets: 3..5 },
                serde_json::json!({"action": "hole_left", "from": 3, "to": 5}),
            ),
            (
                Action::SegmentSplit {
                    segment: 10,
                    into: 14,
                },
                serde_json::json!({"action": "segment_split", "segment": 10, "into": 14}),
            ),
            (
                Action::CursorClamped {
                    from: 40,
                    to: Some(29),
                },
                serde_json::json!({"action": "cursor_clamped", "from": 40, "to": 29}),
            ),
            (
                Action::CursorClamped { from: 40, to: None },
                serde_json::json!({"action": "cursor_clamped", "from": 40, "to": null}),
            ),
            (
                Action::NamedCursorClamped {
                    name: "slow".to_owned(),
                    from: 40,
                    to: Some(29),
                },
                serde_json::json!({"action": "named_cursor_clamped", "name": "slow", "from": 40, "to": 29}),
            ),
            (
                Action::HolesRewritten {
                    holes: vec![3..5, 9..12],
                    quarantined_to: "/q/HOLES".into(),
                },
                serde_json::json!({
                    "action": "holes_rewritten",
                    "holes": [{"start": 3, "end": 5}, {"start": 9, "end": 12}],
                    "quarantined_to": "/q/HOLES",
                }),
            ),
        ];
        for (action, expected) in cases {
            let value = serde_json::to_value(ActionJson::from(&action)).unwrap();
            assert_eq!(value, expected);
            assert_eq!(value["action"], action.name());
        }
    }
}
