//! What files a WAL directory holds: the store's model of the directory
//! ([`DirLayout`]), with the names it leaves to its caller sorted into recovery's own
//! files, leftovers of interrupted writes, and files recovery does not know.

use std::path::PathBuf;

use wal_store::internal::naming;
use wal_store::layout::DirLayout;

use crate::cursor::cursor_name_of_file;
use crate::journal::{JOURNAL_FILE_NAME, PENDING_SUFFIX};
use crate::quarantine::QUARANTINE_DIR_NAME;

/// The files of a WAL directory, sorted into what recovery knows.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    /// The directory's files as the store names them.
    pub(crate) layout: DirLayout,
    /// Leftovers of interrupted writes: the store's (`*.tmp` of its files), the cursors',
    /// and an interrupted journaled change's (its journal and pending files), in the
    /// order of their names.
    pub(crate) temp_files: Vec<PathBuf>,
    /// Anything else (never deleted).
    pub(crate) unknown_files: Vec<PathBuf>,
}

/// Sorts the names `layout` leaves to recovery.
pub(crate) fn take(layout: DirLayout) -> Inventory {
    let dir = layout.dir.clone();
    let mut temp_files = layout.temp_files.clone();
    let mut unknown_files = Vec::new();
    for name in &layout.other_names {
        let path = dir.join(name);
        let inner = name.strip_suffix(naming::TEMP_SUFFIX);
        // An interrupted journaled change (its journal and pending files): whoever holds
        // the lock rolls the change forward before taking the inventory, so a reader
        // only reports them. The cursor, interrupted while being replaced atomically.
        if name == JOURNAL_FILE_NAME
            || name.ends_with(PENDING_SUFFIX)
            || inner
                .is_some_and(|n| n.ends_with(PENDING_SUFFIX) || cursor_name_of_file(n).is_some())
        {
            temp_files.push(path);
        } else if cursor_name_of_file(name).is_none() && name != QUARANTINE_DIR_NAME {
            unknown_files.push(path);
        }
    }
    temp_files.sort();
    Inventory {
        layout,
        temp_files,
        unknown_files,
    }
}
