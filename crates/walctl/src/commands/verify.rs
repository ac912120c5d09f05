//! `walctl verify`: every problem of a log, read-only.

use wal_recovery::Problem;

use crate::cli::VerifyArgs;
use crate::error::{Exit, Result, existing_dir};
use crate::json::{self, VerifyJson};
use crate::output::Out;
use crate::render;

pub fn run(args: &VerifyArgs, out: &mut Out) -> Result<Exit> {
    existing_dir(&args.dir)?;
    let verification = wal_recovery::verify(&args.dir, args.commit_offset)?;
    let exit = if verification.ok {
        Exit::Clean
    } else {
        Exit::Problems
    };
    if args.json {
        out.json(&VerifyJson {
            ok: verification.ok,
            first_offset: verification.first_offset,
            last_valid_offset: verification.last_valid_offset,
            problems: json::problems(&verification.problems),
            cursors: verification.cursors.iter().map(Into::into).collect(),
            damage_before_cursor: verification.damage_before_cursor.as_ref().map(Into::into),
        })?;
        return Ok(exit);
    }
    let range = match (verification.first_offset, verification.last_valid_offset) {
        (Some(first), Some(last)) => format!("entries {first}..={last}"),
        _ => "no entries".to_owned(),
    };
    let verdict = if verification.ok { "ok" } else { "PROBLEMS" };
    out.line(format_args!(
        "{verdict}: {} ({range} valid, {} segments, {} problems, cursor {})",
        args.dir.display(),
        verification.segments.len(),
        verification.problems.len(),
        match &verification.cursor {
            wal_recovery::CursorState::At(offset) => offset.to_string(),
            other => other.status().to_owned(),
        }
    ))?;
    for problem in &verification.problems {
        out.line(format_args!("  {}", problem_line(problem)))?;
    }
    if let Some(damage) = &verification.damage_before_cursor {
        out.line(format_args!("  {}", super::consumed_damage_note(damage)))?;
    }
    // A cut is suggested only with its cost to the consumer.
    let blocking = verification
        .problems
        .iter()
        .any(|p| p.kind.is_data() && !p.consumed);
    if blocking {
        out.line(format_args!(
            "  {}",
            super::point_in_time_hint(&verification.advice)
        ))?;
    }
    Ok(exit)
}

/// A problem on one readable line: kind, where, whether committed, and what was seen.
pub fn problem_line(problem: &Problem) -> String {
    let view = json::ProblemJson::from(problem);
    let mut line = view.kind.to_owned();
    if let Some(segment) = view.segment {
        line.push_str(&format!(" in segment {segment}"));
    }
    if let Some(offset) = view.offset {
        line.push_str(&format!(" at entry {offset}"));
    }
    if let Some(file_offset) = view.file_offset {
        line.push_str(&format!(" (file offset {file_offset})"));
    }
    if view.committed {
        line.push_str(" [committed]");
    }
    if view.consumed {
        line.push_str(" [consumed]");
    }
    line.push_str(": ");
    line.push_str(&render::one_line(&view.detail));
    line
}
