//! `walctl rebuild-index`, `truncate` and `trim`: one change each to an existing log.

use wal_recovery::{Action, Error};

use crate::cli::{DirArgs, TrimArgs, TruncateArgs};
use crate::error::{CliError, Exit, Result, existing_dir};
use crate::output::Out;

/// Rebuilds the sealed segments' indexes that are missing, corrupt or stale.
///
/// This calls `wal_recovery::rebuild_index`, which takes the directory's lock itself (so
/// it cannot run while this process holds the log open) and changes nothing but index
/// files: it refuses, changing nothing, when a sealed segment's data is damaged.
pub fn rebuild_index(args: &DirArgs, out: &mut Out) -> Result<Exit> {
    existing_dir(&args.dir)?;
    let actions = wal_recovery::rebuild_index(&args.dir)?;
    for action in &actions {
        if let Action::IndexRebuilt { segment, entries } = action {
            out.line(format_args!(
                "rebuilt the index of segment {segment} ({entries} entries)"
            ))?;
        } else {
            // The damaged index of a segment with no entry, moved to quarantine.
            out.line(super::repair::action_line(action))?;
        }
    }
    if actions.is_empty() {
        out.line(format_args!(
            "every sealed segment's index in {} is up to date; nothing rebuilt",
            args.dir.display()
        ))?;
    }
    Ok(Exit::Clean)
}

/// Drops every entry after `--after`; the cursors above it move back to it (the front
/// door does that before it cuts).
pub fn truncate(args: &TruncateArgs, out: &mut Out) -> Result<Exit> {
    let recovered = super::open_existing(&args.dir)?;
    let log = recovered.log;
    let before = log.next_offset();
    let cursors_before = log.cursors();
    log.truncate_after(args.after)?;
    let next = log.next_offset();
    let cursors_after = log.cursors();
    log.close()?;
    out.line(format_args!(
        "truncated after {}: dropped {} entries; next offset {next}",
        args.after,
        before - next
    ))?;
    print_moved_cursors(out, &cursors_before, &cursors_after)?;
    Ok(Exit::Clean)
}

/// Removes the sealed segments whose entries all lie before `--before`: refused if they
/// hold entries after a consumer's cursor, unless `--drop-unread` says to drop them.
pub fn trim(args: &TrimArgs, out: &mut Out) -> Result<Exit> {
    let recovered = super::open_existing(&args.dir)?;
    let log = recovered.log;
    let cursors_before = log.cursors();
    let removed = if args.drop_unread {
        log.trim_before_dropping_unread(args.before)?
    } else {
        match log.trim_before(args.before) {
            Err(e @ Error::TrimDropsUnread { .. }) => {
                return Err(CliError::from(e).with_hint("'--drop-unread' drops them"));
            }
            Err(e @ Error::TrimPastUnreadableCursor { .. }) => {
                return Err(CliError::from(e).with_hint(
                    "set or rewind that cursor ('cursor --name NAME --rewind OFFSET'), or '--drop-unread'",
                ));
            }
            other => other?,
        }
    };
    let first = log.first_offset();
    let cursors_after = log.cursors();
    log.close()?;
    out.line(format_args!(
        "trimmed before {}: removed {removed} segments; first offset now {first}",
        args.before
    ))?;
    print_moved_cursors(out, &cursors_before, &cursors_after)?;
    Ok(Exit::Clean)
}

/// One line per cursor a change moved.
fn print_moved_cursors(
    out: &mut Out,
    before: &[(String, u64)],
    after: &[(String, u64)],
) -> Result<()> {
    for (name, from) in before {
        let to = after.iter().find(|(n, _)| n == name).map(|(_, to)| *to);
        match to {
            Some(to) if to == *from => {}
            Some(to) => out.line(format_args!("moved cursor {name} from {from} to {to}"))?,
            None => out.line(format_args!("removed cursor {name} (was {from})"))?,
        }
    }
    Ok(())
}
