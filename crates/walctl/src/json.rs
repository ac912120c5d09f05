//! The JSON the commands print with `--json`. The library types have no serde on
//! purpose; these views are the command line's contract, documented in the README, and
//! field names and order here are that contract.

use serde::Serialize;
use wal_recovery::{Action, CursorState, Problem, RecoveryReport};

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
    /// An action this version of walctl does not know field by field: its name (the
    /// variant's, in snake case) and its debug form.
    #[serde(untagged)]
    Other {
        action: String,
        detail: String,
    },
}

/// `HoleLeft { .. }` -> `hole_left`: the name of an action walctl has no case for.
pub fn action_name(action: &Action) -> String {
    let debug = format!("{action:?}");
    let variant = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut name = String::with_capacity(variant.len() + 4);
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
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
            // `Action` is not `#[non_exhaustive]`, but the recovery crate grows new ones
            // (holes, split segments): report them generically rather than break.
            #[allow(unreachable_patterns)]
            other => ActionJson::Other {
                action: action_name(other),
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
        assert_eq!(action_name(&action), "index_rebuilt");
        let value = serde_json::to_value(ActionJson::from(&action)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"action": "index_rebuilt", "segment": 3, "entries": 9})
        );
        let other = ActionJson::Other {
            action: "hole_left".to_owned(),
            detail: "HoleLeft { offsets: 3..5 }".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(other).unwrap(),
            serde_json::json!({"action": "hole_left", "detail": "HoleLeft { offsets: 3..5 }"})
        );
    }
}
