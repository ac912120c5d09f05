//! `walctl rebuild-index`, `truncate` and `trim`: one change each to an existing log.

use wal_recovery::Action;

use crate::cli::{DirArgs, TrimArgs, TruncateArgs};
use crate::error::{Exit, Result, existing_dir, warn};
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

/// Drops every entry after `--after`.
pub fn truncate(args: &TruncateArgs, out: &mut Out) -> Result<Exit> {
    let recovered = super::open_existing(&args.dir)?;
    let log = recovered.log;
    let before = log.next_offset();
    log.truncate_after(args.after)?;
    let next = log.next_offset();
    log.close()?;
    out.line(format_args!(
        "truncated after {}: dropped {} entries; next offset {next}",
        args.after,
        before - next
    ))?;
    if let Some(cursor) = recovered.report.cursor.offset()
        && cursor >= next
    {
        warn(&format!(
            "the cursor ({cursor}) is now past the last entry; set it again with 'walctl cursor --set'"
        ));
    }
    Ok(Exit::Clean)
}

/// Removes the sealed segments whose entries all lie before `--before`.
pub fn trim(args: &TrimArgs, out: &mut Out) -> Result<Exit> {
    let recovered = super::open_existing(&args.dir)?;
    let log = recovered.log;
    let removed = log.trim_before(args.before)?;
    let first = log.first_offset();
    log.close()?;
    out.line(format_args!(
        "trimmed before {}: removed {removed} segments; first offset now {first}",
        args.before
    ))?;
    Ok(Exit::Clean)
}
