//! `walctl repair`: apply a recovery mode without opening the log for appends.

use std::path::Path;

use wal_recovery::{Action, RecoveryError, RecoveryMode, RecoveryReport};

use super::verify::problem_line;
use crate::cli::{ModeArg, RepairArgs};
use crate::error::{Exit, Result, existing_dir, warn};
use crate::json::{self, RepairJson};
use crate::output::Out;
use crate::render;

/// A recovery action on one readable line.
pub(super) fn action_line(action: &Action) -> String {
    match action {
        Action::IndexRebuilt { segment, entries } => {
            format!("index rebuilt: segment {segment} ({entries} entries)")
        }
        Action::ActiveIndexRemoved { segment } => {
            format!("index of the active segment {segment} removed")
        }
        Action::TailCut {
            segment,
            file_offset,
            bytes,
            quarantined_to,
        } => format!(
            "tail cut: segment {segment}, {bytes} bytes from file offset {file_offset}, copied to {}",
            quarantined_to.display()
        ),
        Action::FileQuarantined { from, to } => {
            format!(
                "file moved to quarantine: {} -> {}",
                from.display(),
                to.display()
            )
        }
        Action::TempFileRemoved { path } => {
            format!("leftover temporary file removed: {}", path.display())
        }
        Action::HolesRewritten {
            holes,
            quarantined_to,
        } => {
            let listed: Vec<String> = holes
                .iter()
                .map(|h| format!("{}..{}", h.start, h.end))
                .collect();
            format!(
                "holes file rewritten to list the gaps alone ({}), the old one copied to {}",
                if listed.is_empty() {
                    "none".to_owned()
                } else {
                    listed.join(", ")
                },
                quarantined_to.display()
            )
        }
        Action::HoleLeft { offsets } => format!(
            "hole left: entries {}..{} skipped (recorded in HOLES)",
            offsets.start, offsets.end
        ),
        Action::SegmentSplit { segment, into } => {
            format!("segment {segment} split: the records after its hole moved to segment {into}")
        }
        Action::LogReset { offset, lost } => format!(
            "log reset to its start {offset}: entries {}..{} were lost",
            lost.start, lost.end
        ),
        Action::CursorClamped { from, to: Some(to) } => {
            format!("cursor {from} was past the end: set to {to}")
        }
        Action::CursorClamped { from, to: None } => {
            format!("cursor {from} was past the end of an empty log: removed")
        }
        Action::NamedCursorClamped {
            name,
            from,
            to: Some(to),
        } => format!("cursor {name} at {from} was past the end: set to {to}"),
        Action::NamedCursorClamped {
            name,
            from,
            to: None,
        } => {
            format!("cursor {name} at {from} was past the end of an empty log: removed")
        }
        // `Action` is `#[non_exhaustive]`: a newer recovery crate may add one.
        other => format!("{}: {other:?}", other.name()),
    }
}

/// Prints a recovery report: problems, actions, the cut, and the log afterwards (shared
/// with `demo`).
pub fn print_report(out: &mut Out, report: &RecoveryReport, indent: &str) -> Result<()> {
    if report.problems.is_empty() {
        out.line(format_args!("{indent}problems: none"))?;
    } else {
        out.line(format_args!(
            "{indent}problems ({}):",
            report.problems.len()
        ))?;
    }
    for problem in &report.problems {
        out.line(format_args!("{indent}  {}", problem_line(problem)))?;
    }
    if report.actions.is_empty() {
        out.line(format_args!("{indent}actions: none"))?;
    } else {
        out.line(format_args!("{indent}actions ({}):", report.actions.len()))?;
    }
    for action in &report.actions {
        out.line(format_args!("{indent}  {}", action_line(action)))?;
    }
    if let Some(damage) = &report.damage_before_cursor {
        out.line(format_args!(
            "{indent}{}",
            super::consumed_damage_note(damage)
        ))?;
    }
    match &report.cut {
        Some(cut) => out.line(format_args!(
            "{indent}cut: {} ({}), quarantine {}",
            // The recovery crate reports an empty range when only a damaged last record
            // went (it counts the entries proven by valid records or an index).
            if cut.offsets.is_empty() {
                format!(
                    "from entry {} on (the damaged record and the bytes after it)",
                    cut.offsets.start
                )
            } else {
                format!("entries {}..{}", cut.offsets.start, cut.offsets.end)
            },
            if cut.committed {
                "some of them committed"
            } else {
                "none of them committed"
            },
            cut.quarantine.display()
        ))?,
        None => out.line(format_args!("{indent}cut: nothing"))?,
    }
    let entries = match report.last_offset {
        Some(last) => format!("entries {}..={last}", report.first_offset),
        None => format!("no entries (next offset {})", report.first_offset),
    };
    out.line(format_args!(
        "{indent}log now: {entries}, last crc {}, replay from {}",
        render::crc(report.last_crc),
        report.replay_from
    ))
}

/// The warning for a repaired log that records holes (`SkipCorrupted` leaves them, and
/// every mode keeps those it finds): the `HOLES` file is this implementation's extension
/// of the segment format, and another reader stops at the first gap between segments.
fn holes_warning(dir: &Path) -> Result<Option<String>> {
    let holes = wal_store::internal::holes::read_holes(dir)?;
    if holes.is_empty() {
        return Ok(None);
    }
    let ranges: Vec<String> = holes
        .iter()
        .map(|h| format!("{}..{}", h.start, h.end))
        .collect();
    Ok(Some(format!(
        "the log has holes (entries {} skipped, recorded in HOLES, this implementation's extension): other readers of the segment format stop at the first hole",
        ranges.join(", ")
    )))
}

pub fn run(args: &RepairArgs, out: &mut Out) -> Result<Exit> {
    existing_dir(&args.dir)?;
    let mode = match args.mode {
        ModeArg::TolerateCorruptTail => RecoveryMode::TolerateCorruptTail,
        ModeArg::PointInTime => RecoveryMode::PointInTime,
        ModeArg::SkipCorrupted => RecoveryMode::SkipCorrupted,
        ModeArg::TrimConsumedDamage => return trim_consumed_damage(args, out),
    };
    let report = match wal_recovery::repair(&args.dir, mode, args.commit_offset) {
        Ok(report) => report,
        Err(RecoveryError::CommittedCorruption {
            problem,
            problems,
            advice,
        }) => {
            let reason = format!("committed corruption: {}", problem_line(&problem));
            if args.json {
                out.json(&RepairJson {
                    ok: false,
                    refused: true,
                    error: Some(reason),
                    mode: mode.name(),
                    commit_offset: args.commit_offset,
                    committed_end: None,
                    problems: json::problems(&problems),
                    actions: Vec::new(),
                    cut: None,
                    first_offset: None,
                    last_offset: None,
                    last_crc: None,
                    cursor: None,
                    replay_from: None,
                    warning: None,
                    damage_before_cursor: None,
                })?;
            } else {
                out.line(format_args!(
                    "refused ({}), nothing changed: {reason}",
                    mode.name()
                ))?;
                out.line(format_args!("problems ({}):", problems.len()))?;
                for problem in &problems {
                    out.line(format_args!("  {}", problem_line(problem)))?;
                }
                out.line(format_args!(
                    "{} (it cuts at the first problem, committed or not)",
                    super::point_in_time_hint(&advice)
                ))?;
            }
            return Ok(Exit::Problems);
        }
        Err(e) => return Err(e.into()),
    };
    finish(args, out, &report, mode.name())
}

/// `--mode trim-consumed-damage`: the trim recovery offers for damage in consumed entries.
fn trim_consumed_damage(args: &RepairArgs, out: &mut Out) -> Result<Exit> {
    if args.commit_offset.is_some() {
        return Err(crate::error::CliError::usage(
            "--commit-offset does not apply to --mode trim-consumed-damage",
        ));
    }
    let report = wal_recovery::trim_consumed_damage(&args.dir)?;
    finish(args, out, &report, "trim-consumed-damage")
}

/// Verifies the repaired log and prints the report.
fn finish(
    args: &RepairArgs,
    out: &mut Out,
    report: &RecoveryReport,
    mode: &'static str,
) -> Result<Exit> {
    let ok = wal_recovery::verify(&args.dir, None)?.ok;
    let warning = holes_warning(&args.dir)?;
    if let Some(warning) = &warning {
        warn(warning);
    }
    if args.json {
        let mut json = RepairJson::from_report(report, ok, warning);
        json.mode = mode;
        out.json(&json)?;
    } else {
        out.line(format_args!(
            "repaired {} ({mode}): {}",
            args.dir.display(),
            if ok {
                "verifies clean"
            } else {
                "still has problems (see 'walctl verify')"
            }
        ))?;
        print_report(out, report, "")?;
    }
    Ok(if ok { Exit::Clean } else { Exit::Problems })
}
