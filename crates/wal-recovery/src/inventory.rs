//! What files a WAL directory holds, by name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wal_format::Codec;
use wal_store::internal::naming::{self, FileName};

use crate::cursor::CURSOR_FILE_NAME;
use crate::error::Result;
use crate::journal::{DirView, JOURNAL_FILE_NAME, PENDING_SUFFIX};
use crate::quarantine::QUARANTINE_DIR_NAME;

/// The files of a WAL directory, sorted into what recovery knows.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    /// Segments by base offset, with the codec whose data file is used (the latest codec
    /// when there are two).
    pub(crate) segments: BTreeMap<u64, Codec>,
    /// Data files shadowed by a later codec's data file for the same base.
    pub(crate) duplicates: Vec<(u64, Codec, PathBuf)>,
    /// Index files with no data file of their codec.
    pub(crate) orphan_indexes: Vec<(u64, PathBuf)>,
    /// Leftover `*.tmp` files of segments.
    pub(crate) temp_files: Vec<PathBuf>,
    /// Anything else (never deleted).
    pub(crate) unknown_files: Vec<PathBuf>,
}

/// Sorts the files of the directory `view` shows: as they are, or, when a committed
/// journal waits for the lock's next holder, as that holder will find them.
pub(crate) fn take(view: &DirView) -> Result<Inventory> {
    let dir = view.dir();
    let mut inventory = Inventory::default();
    let mut data: BTreeMap<u64, Vec<Codec>> = BTreeMap::new();
    let mut indexes: Vec<(u64, Codec, PathBuf)> = Vec::new();
    for name in view.file_names()? {
        let path = dir.join(&name);
        // An interrupted journaled change (its journal and pending files): whoever holds the lock rolls the
        // change forward before taking the inventory, so a reader only reports them.
        if name == JOURNAL_FILE_NAME
            || name.ends_with(PENDING_SUFFIX)
            || name
                .strip_suffix(naming::TEMP_SUFFIX)
                .is_some_and(|n| n.ends_with(PENDING_SUFFIX))
        {
            inventory.temp_files.push(path);
            continue;
        }
        match naming::parse_file_name(&name) {
            FileName::Data { base, codec } => data.entry(base).or_default().push(codec),
            FileName::Index { base, codec } => indexes.push((base, codec, path)),
            FileName::Temp => inventory.temp_files.push(path),
            // Our own small files, interrupted while being replaced atomically.
            FileName::Unknown
                if name.strip_suffix(naming::TEMP_SUFFIX).is_some_and(|n| {
                    [
                        CURSOR_FILE_NAME,
                        wal_store::internal::holes::HOLES_FILE_NAME,
                        wal_store::internal::closed::CLOSED_FILE_NAME,
                    ]
                    .contains(&n)
                }) =>
            {
                inventory.temp_files.push(path);
            }
            FileName::Lock => {}
            FileName::Unknown
                if name == CURSOR_FILE_NAME
                    || name == QUARANTINE_DIR_NAME
                    || name == wal_store::internal::holes::HOLES_FILE_NAME
                    // The store's close record: recovery scans the active segment
                    // whatever it says (and removes it before a repair changes that
                    // segment).
                    || name == wal_store::internal::closed::CLOSED_FILE_NAME => {}
            FileName::Unknown => inventory.unknown_files.push(path),
        }
    }
    for (base, mut codecs) in data {
        codecs.sort_unstable();
        if let Some(&latest) = codecs.last() {
            inventory.segments.insert(base, latest);
            for &older in codecs.iter().filter(|&&c| c != latest) {
                inventory
                    .duplicates
                    .push((base, older, naming::data_path(dir, base, older)));
            }
        }
    }
    inventory.orphan_indexes = indexes
        .into_iter()
        .filter(|(base, codec, _)| inventory.segments.get(base) != Some(codec))
        .map(|(base, _, path)| (base, path))
        .collect();
    Ok(inventory)
}
