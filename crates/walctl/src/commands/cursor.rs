//! `walctl cursor`: show the consumer's cursor, or persist a new one.

use wal_recovery::CursorState;
use wal_recovery::cursor::read_cursor;

use crate::cli::CursorArgs;
use crate::error::{CliError, Exit, Result, existing_dir};
use crate::json::CursorJson;
use crate::output::Out;

pub fn run(args: &CursorArgs, out: &mut Out) -> Result<Exit> {
    let state = match args.set {
        Some(offset) => {
            // Opening the log is what checks the offset against its range.
            let recovered = super::open_existing(&args.dir)?;
            let first = recovered.log.first_offset();
            let in_range = match recovered.log.last_offset() {
                // The entry before the first one is a valid cursor: everything replays.
                Some(last) => offset <= last && offset.saturating_add(1) >= first,
                None => false,
            };
            if !in_range {
                let holds = match recovered.log.last_offset() {
                    Some(last) => format!("entries {first}..={last}"),
                    None => "no entry".to_owned(),
                };
                return Err(CliError::usage(format!(
                    "offset {offset} is out of range for a cursor: the log holds {holds}"
                )));
            }
            recovered.log.set_cursor(offset)?;
            recovered.log.close()?;
            CursorState::At(offset)
        }
        None => {
            existing_dir(&args.dir)?;
            read_cursor(&args.dir)?
        }
    };
    if args.json {
        out.json(&CursorJson::from(&state))?;
    } else {
        match &state {
            CursorState::At(offset) => out.line(format_args!("cursor {offset} (ok)"))?,
            CursorState::Missing => out.line("no cursor (missing)")?,
            CursorState::Corrupt(why) => out.line(format_args!("cursor file corrupt: {why}"))?,
        }
    }
    Ok(match state {
        CursorState::Corrupt(_) => Exit::Problems,
        _ => Exit::Clean,
    })
}
