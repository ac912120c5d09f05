//! One module per command; this one dispatches and holds what several share.

mod bench;
mod compare;
mod cursor;
mod demo;
mod dump;
mod maintain;
mod migrate;
mod repair;
mod replay;
mod stat;
mod verify;
mod write;

use std::ops::Range;
use std::path::Path;

use wal_recovery::{Advice, Recovered, RecoveryOptions, RecoveryReport};
use wal_store::WalOptions;

use crate::cli::Command;
use crate::error::{CliError, Exit, Result, existing_dir, warn};
use crate::output::Out;

/// Runs one command.
pub fn run(command: Command, out: &mut Out) -> Result<Exit> {
    match command {
        Command::Demo(args) => demo::run(&args, out),
        Command::Write(args) => write::run(&args, out),
        Command::Dump(args) => dump::run(&args, out),
        Command::Stat(args) => stat::run(&args, out),
        Command::Verify(args) => verify::run(&args, out),
        Command::Repair(args) => repair::run(&args, out),
        Command::RebuildIndex(args) => maintain::rebuild_index(&args, out),
        Command::Truncate(args) => maintain::truncate(&args, out),
        Command::Trim(args) => maintain::trim(&args, out),
        Command::Cursor(args) => cursor::run(&args, out),
        Command::Replay(args) => replay::run(&args, out),
        Command::Bench(args) => bench::run(&args, out),
        Command::Migrate(args) => migrate::run(&args, out),
        Command::Compare(args) => compare::run(&args, out),
    }
}

/// Opens an existing log for a change, through recovery in its default mode (which cuts
/// an uncommitted torn tail, copying it to quarantine, and refuses committed corruption).
fn open_existing(dir: &Path) -> Result<Recovered> {
    existing_dir(dir)?;
    open_log(dir, WalOptions::default())
}

/// Opens (or creates) the log in `dir` through recovery in its default mode, warning on
/// stderr about anything recovery changed.
fn open_log(dir: &Path, wal: WalOptions) -> Result<Recovered> {
    let options = RecoveryOptions::default().with_wal(wal);
    let recovered = wal_recovery::open(dir, options).map_err(|e| {
        // The library's message ends with what a point-in-time recovery would cost the
        // consumer (the unread entries it drops); the hint names the command.
        let refused = matches!(e, wal_recovery::RecoveryError::CommittedCorruption { .. });
        let error = CliError::from(e);
        if refused {
            error.with_hint(
                "see 'walctl verify'; 'walctl repair --mode point-in-time' is that recovery",
            )
        } else {
            error
        }
    })?;
    warn_about_recovery(&recovered.report);
    Ok(recovered)
}

/// The suggestion of a point-in-time repair, with what it costs the consumer: advice never
/// suggests a mode that drops unread entries without saying how many.
pub(crate) fn point_in_time_hint(advice: &Advice) -> String {
    let dropped = &advice.point_in_time_drops_unread;
    match advice.unread_dropped() {
        0 => "'walctl repair --mode point-in-time' cuts it, dropping no unread entry".to_owned(),
        1 => format!(
            "'walctl repair --mode point-in-time' cuts it, and would drop 1 unread entry ({})",
            dropped.start
        ),
        n => format!(
            "'walctl repair --mode point-in-time' cuts it, and would drop {n} unread entries ({}..={})",
            dropped.start,
            dropped.end - 1
        ),
    }
}

/// What to say about damage in entries the consumer consumed, which recovery leaves in
/// place: where it is, and the trim on offer.
pub(crate) fn consumed_damage_note(damage: &Range<u64>) -> String {
    format!(
        "damage in consumed entries {}..{} (at or before the cursor) is set aside: nothing after the cursor is lost; 'walctl repair --mode trim-consumed-damage' moves its segments to quarantine",
        damage.start, damage.end
    )
}

/// One warning line per thing recovery did while opening, so that a cut never goes
/// unnoticed.
fn warn_about_recovery(report: &RecoveryReport) {
    if let Some(damage) = &report.damage_before_cursor {
        warn(&consumed_damage_note(damage));
    }
    if let Some(cut) = &report.cut {
        warn(&format!(
            "recovery cut entries {}..{} (a damaged, uncommitted tail), copied to {}",
            cut.offsets.start,
            cut.offsets.end,
            cut.quarantine.display()
        ));
    }
    for action in &report.actions {
        if let wal_recovery::Action::IndexRebuilt { segment, .. } = action {
            warn(&format!("recovery rebuilt the index of segment {segment}"));
        }
    }
}
