//! Trimming the damage the consumer has consumed, when the caller asks: the default mode
//! leaves it in place, set aside (RECOVERY.md, "Damage before the cursor"), and offers
//! this call instead of forcing it.

use std::path::Path;

use wal_store::{DirLock, Wal, WalOptions};

use crate::analyze;
use crate::error::Result;
use crate::journal;
use crate::mode::RecoveryMode;
use crate::quarantine::Quarantine;
use crate::repair::Applied;
use crate::report::{Action, Cut, RecoveryReport};

/// Moves the segments holding damage the consumer has already consumed (see
/// [`RecoveryReport::damage_before_cursor`]) into the quarantine folder, and trims them
/// from the log: every segment before the first one after the damage, intact entries
/// among them included (all of them at or before the cursor). Nothing after the cursor
/// is touched. With no such damage, nothing changes and the report says so.
///
/// Like [`repair`](crate::repair), it works on a directory no log holds open (it takes
/// the lock). Order, so that a crash at any step leaves a log that the next open treats
/// as trimmed that far: the segments' files are renamed into quarantine oldest first
/// (index before data), then the log is trimmed as the store trims (the new first
/// entry's chain seed kept, holes before it dropped). The report's `cut` names the
/// offsets that went, and its `actions` every file moved.
pub fn trim_consumed_damage(dir: impl AsRef<Path>) -> Result<RecoveryReport> {
    let dir = dir.as_ref();
    let lock = DirLock::acquire(dir)?;
    journal::roll_forward(dir)?;
    let analysis = analyze::analyze(dir, None, Some(&lock))?;
    let before = analysis.consumed_damage.as_ref().map_or(0, |d| d.end);
    let wal = Wal::open_setting_aside(dir, WalOptions::default(), lock, Vec::new(), before)?;
    let mut actions = Vec::new();
    let mut cut = None;
    if let Some(damage) = &analysis.consumed_damage {
        let mut quarantine = Quarantine::new(dir);
        for segment in analysis.segments.iter().take_while(|s| s.base < damage.end) {
            for path in [&segment.index_path, &segment.data_path] {
                if path.exists() {
                    let to = quarantine.keep_file(path, "damage before the consumer's cursor")?;
                    actions.push(Action::FileQuarantined {
                        from: path.clone(),
                        to,
                    });
                }
            }
        }
        let folder = quarantine.path().to_path_buf();
        quarantine.finish()?;
        wal.trim_before(damage.end)?;
        cut = Some(Cut {
            offsets: analysis.first_offset().unwrap_or(damage.start)..damage.end,
            committed: true,
            quarantine: folder,
        });
    }
    let (first, next, last_crc) = (wal.first_offset(), wal.next_offset(), wal.last_crc());
    wal.close()?;
    let mut report = crate::report(
        analysis,
        Applied { actions, cut },
        RecoveryMode::TolerateCorruptTail,
        None,
        first,
        next,
        last_crc,
    );
    report.damage_before_cursor = None;
    report.log();
    Ok(report)
}
