//! `walctl cursor`: show a consumer's cursor, or persist a new one.

use wal_recovery::cursor::{NamedCursor, check_cursor_name, read_named_cursor};
use wal_recovery::{CursorState, Error};

use crate::cli::CursorArgs;
use crate::error::{CliError, Exit, Result, existing_dir};
use crate::json::CursorJson;
use crate::output::Out;

pub fn run(args: &CursorArgs, out: &mut Out) -> Result<Exit> {
    check_cursor_name(&args.name)?;
    let cursor = match (args.set, args.rewind) {
        (Some(offset), _) => move_cursor(args, offset, false)?,
        (None, Some(offset)) => move_cursor(args, offset, true)?,
        (None, None) => {
            existing_dir(&args.dir)?;
            read_named_cursor(&args.dir, &args.name)?
        }
    };
    if args.json {
        out.json(&CursorJson::from(&cursor))?;
    } else {
        let label = match args.name.as_str() {
            wal_recovery::DEFAULT_CURSOR => "cursor".to_owned(),
            name => format!("cursor {name}"),
        };
        match &cursor.state {
            CursorState::At(offset) => out.line(format_args!("{label} {offset} (ok)"))?,
            CursorState::Missing => out.line(format_args!("no {label} (missing)"))?,
            CursorState::Corrupt(why) => out.line(format_args!("{label} file corrupt: {why}"))?,
        }
        if let Some(dropped) = &cursor.dropped_unread {
            out.line(format_args!(
                "  a trim dropped unread entries {}..{} on request",
                dropped.start, dropped.end
            ))?;
        }
    }
    Ok(match cursor.state {
        CursorState::Corrupt(_) => Exit::Problems,
        _ => Exit::Clean,
    })
}

/// Sets (or, with `backwards_too`, rewinds) the cursor through the log, which checks the
/// offset against its range and refuses a regression.
fn move_cursor(args: &CursorArgs, offset: u64, backwards_too: bool) -> Result<NamedCursor> {
    let recovered = super::open_existing(&args.dir)?;
    let log = recovered.log;
    let first = log.first_offset();
    let in_range = match log.last_offset() {
        // The entry before the first one is a valid cursor: everything replays.
        Some(last) => offset <= last && offset.saturating_add(1) >= first,
        None => false,
    };
    if !in_range {
        let holds = match log.last_offset() {
            Some(last) => format!("entries {first}..={last}"),
            None => "no entry".to_owned(),
        };
        return Err(CliError::usage(format!(
            "offset {offset} is out of range for a cursor: the log holds {holds}"
        )));
    }
    let moved = if backwards_too {
        log.rewind_cursor(&args.name, offset)
    } else {
        log.set_named_cursor(&args.name, offset)
    };
    match moved {
        Err(e @ Error::CursorRegression { .. }) => {
            return Err(CliError::from(e)
                .with_hint(&format!("'--rewind {offset}' moves it back on purpose")));
        }
        other => other?,
    }
    log.close()?;
    Ok(read_named_cursor(&args.dir, &args.name)?)
}
