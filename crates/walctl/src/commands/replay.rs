//! `walctl replay`: the entries after the consumer's cursor, read-only.
//!
//! The same entries `wal_recovery::open(...).log.replay_for(name)` would hand out,
//! computed without opening the log: from the cursor's file and a read-only walk over the
//! segments from the one holding the first entry to replay (the segments wholly before it
//! are not read).

use std::ops::ControlFlow;

use wal_recovery::CursorState;
use wal_recovery::cursor::read_named_cursor;

use super::dump::{print_entry, report_problem};
use crate::cli::ReplayArgs;
use crate::error::{Exit, Result, existing_dir, warn};
use crate::output::Out;
use crate::scan::{self, ScanOptions};

pub fn run(args: &ReplayArgs, out: &mut Out) -> Result<Exit> {
    existing_dir(&args.dir)?;
    let cursor = read_named_cursor(&args.dir, &args.name)?.state;
    // Entries after the cursor; with no valid cursor, every entry (as recovery does).
    let from = match &cursor {
        CursorState::At(offset) => offset.saturating_add(1),
        CursorState::Missing => 0,
        CursorState::Corrupt(why) => {
            warn(&format!(
                "the cursor file is corrupt ({why}): replaying from the first entry"
            ));
            0
        }
    };
    // The segments wholly before `from` are not read: damage there is in entries the
    // consumer consumed, and costs none after the cursor (as in recovery's default mode).
    let options = ScanOptions {
        from,
        ..ScanOptions::default()
    };
    let outcome = scan::scan_log(&args.dir, options, |entry| {
        if entry.offset >= from {
            print_entry(out, entry, args.json)?;
        }
        Ok(ControlFlow::Continue(()))
    })?;
    if let Some(problem) = &outcome.problem {
        report_problem(out, problem)?;
        return Ok(Exit::Problems);
    }
    if let (CursorState::At(offset), Some(end)) = (&cursor, outcome.valid_end)
        && *offset >= end
        && outcome.entries() > 0
    {
        warn(&format!(
            "the cursor ({offset}) is past the last entry ({}): nothing to replay",
            end - 1
        ));
    }
    Ok(Exit::Clean)
}
