//! `verify` over a directory whose journaled change (here a migration) was interrupted:
//! it takes no lock and rolls nothing forward on disk, so it reads the files as the next
//! holder of the lock will find them (`read_layout`): every entry is there, no data problem is
//! reported, and nothing in the directory changes.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use wal_format::Codec;
use wal_recovery::{JOURNAL_FILE_NAME, ProblemKind, read_layout};

use support::*;

const ENTRIES: u64 = 60;

/// A log of v1 segments followed by v2 ones, and the same log migrated.
fn before_and_after() -> (Files, Files) {
    let dir = tempdir();
    let mut options = options(256);
    options.wal.codec = Codec::V1;
    let recovered = open(dir.path(), &options);
    append_range(&recovered.log, 0..40);
    recovered.log.close().unwrap();
    let recovered = open(dir.path(), &support::options(256));
    append_range(&recovered.log, 40..ENTRIES);
    recovered.log.close().unwrap();
    let before = snapshot(dir.path());
    let migration = wal_recovery::migrate(dir.path(), Codec::V2).unwrap();
    assert!(!migration.converted.is_empty() && !migration.rechained.is_empty());
    (before, snapshot(dir.path()))
}

fn segment_order(name: &str) -> (u64, bool) {
    let (stem, ext) = name.split_once('.').unwrap();
    (stem.parse().unwrap(), ext.starts_with("idx"))
}

/// The directory in state `state` (see the walctl test `interrupted_migration`): 1
/// pending files only; 2 journal written; 3 first install applied; 4 installs applied
/// and the first removal; 5 everything applied, the journal left.
fn state(before: &Files, after: &Files, state: u8) -> tempfile::TempDir {
    let dir = tempdir();
    write_files(dir.path(), before);
    let mut installs: Vec<&String> = after
        .iter()
        .filter(|(name, bytes)| before.get(*name) != Some(bytes))
        .map(|(name, _)| name)
        .collect();
    installs.sort_by_key(|n| segment_order(n));
    let mut removes: Vec<&String> = before.keys().filter(|n| !after.contains_key(*n)).collect();
    removes.sort_by_key(|n| segment_order(n));
    for name in &installs {
        std::fs::write(dir.path().join(format!("{name}.pending")), &after[*name]).unwrap();
    }
    if state == 1 {
        return dir;
    }
    let mut journal: String = installs.iter().map(|n| format!("install {n}\n")).collect();
    journal.extend(removes.iter().map(|n| format!("remove {n}\n")));
    std::fs::write(dir.path().join(wal_recovery::JOURNAL_FILE_NAME), journal).unwrap();
    let installed = match state {
        2 => 0,
        3 => 1,
        _ => installs.len(),
    };
    let removed = match state {
        4 => 1,
        5 => removes.len(),
        _ => 0,
    };
    for name in &installs[..installed] {
        let pending = dir.path().join(format!("{name}.pending"));
        std::fs::rename(pending, dir.path().join(name)).unwrap();
    }
    for name in &removes[..removed] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn verify_reads_every_state_of_an_interrupted_migration_as_the_next_open_will() {
    let (before, after) = before_and_after();
    for n in 1..=5 {
        let dir = state(&before, &after, n);
        let files_before = snapshot(dir.path());
        let names_before = file_names(dir.path());

        let verification = wal_recovery::verify(dir.path(), None).unwrap();
        assert_eq!(verification.first_offset, Some(0), "state {n}");
        assert_eq!(
            verification.last_valid_offset,
            Some(ENTRIES - 1),
            "state {n}: {verification:#?}"
        );
        assert!(
            verification
                .problems
                .iter()
                .all(|p| p.kind == ProblemKind::TempFile),
            "state {n}: only the unfinished change's files: {verification:#?}"
        );
        let codec = if n == 1 { Codec::V1 } else { Codec::V2 };
        assert_eq!(verification.segments[0].codec, codec, "state {n}");
        assert_eq!(
            verification.segments.iter().map(|s| s.entries).sum::<u64>(),
            ENTRIES
        );
        // The layout a reader sees lists the committed journal, still waiting.
        let layout = read_layout(dir.path()).unwrap();
        assert_eq!(
            layout.other_names.iter().any(|n| n == JOURNAL_FILE_NAME),
            n > 1
        );

        assert_eq!(
            snapshot(dir.path()),
            files_before,
            "state {n}: verify wrote"
        );
        assert_eq!(
            file_names(dir.path()),
            names_before,
            "state {n}: verify wrote"
        );

        // The next open agrees.
        let recovered = open(dir.path(), &support::options(256));
        assert_eq!(
            all_entries(&recovered.log),
            expected(0..ENTRIES),
            "state {n}"
        );
    }
}
