//! `walctl dump`: every entry of the valid prefix, read straight from the segment files.

use std::ops::ControlFlow;

use crate::cli::DumpArgs;
use crate::error::{CliError, Exit, Result, existing_dir};
use crate::json::EntryJson;
use crate::output::Out;
use crate::render;
use crate::scan::{self, EntryView, LogProblem, ScanOptions};

/// Payload bytes shown on a readable line.
const SHOWN_PAYLOAD_BYTES: usize = 64;

/// Prints one entry, as JSON or as a readable line (shared with `replay`).
pub fn print_entry(out: &mut Out, entry: &EntryView<'_>, json: bool) -> Result<()> {
    if json {
        return out.json(&EntryJson::from(entry));
    }
    out.line(format_args!(
        "{offset}\tsegment {segment} {codec} @{file_offset}\t{size} bytes\tcrc {crc} (prev {prev})\t{payload}",
        offset = entry.offset,
        segment = entry.segment,
        codec = entry.codec,
        file_offset = entry.file_offset,
        size = entry.payload.len(),
        crc = render::crc(entry.crc),
        prev = render::crc(entry.prev_crc),
        payload = render::quoted_payload(entry.payload, SHOWN_PAYLOAD_BYTES),
    ))
}

/// Reports the problem a read-only walk stopped at, on stderr (after the entries read
/// before it were printed): one `walctl: problem:` line.
pub fn report_problem(out: &mut Out, problem: &LogProblem) -> Result<()> {
    // The entries come first, so that the order of the two streams makes sense on a
    // terminal.
    out.flush()?;
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "walctl: problem: {}\n",
            render::one_line(&problem.to_string())
        )
        .as_bytes(),
    );
    Ok(())
}

pub fn run(args: &DumpArgs, out: &mut Out) -> Result<Exit> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        return Err(CliError::usage(format!("--from {from} is after --to {to}")));
    }
    existing_dir(&args.dir)?;
    let from = args.from.unwrap_or(0);
    let to = args.to.unwrap_or(u64::MAX);
    let outcome = scan::scan_log(&args.dir, ScanOptions::default(), |entry| {
        if entry.offset > to {
            return Ok(ControlFlow::Break(()));
        }
        if entry.offset >= from {
            print_entry(out, entry, args.json)?;
        }
        Ok(ControlFlow::Continue(()))
    })?;
    match &outcome.problem {
        // A problem after the requested range does not concern it.
        Some(problem) if problem.offset.is_some_and(|o| o > to) => Ok(Exit::Clean),
        Some(problem) => {
            report_problem(out, problem)?;
            Ok(Exit::Problems)
        }
        None => Ok(Exit::Clean),
    }
}
