//! What the fault seam makes testable that was not before: that every sync of segment
//! data goes through the log's one serialized path (a failure there poisons the log),
//! that an open not vouched for by a close record fsyncs the active segment, and that
//! each name a rotation makes is fsynced into the directory before an entry that
//! depends on it is acknowledged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "case builders outside #[test] functions: a panic is a failed test"
)]

mod faults;

use std::path::Path;

use faults::{SEGMENT_BYTES, options, payload, tempdir};
use wal_store::faults::Call;
use wal_store::faults::{EIO, FaultPlan, Rule, Seen};
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};

/// Opens a log of 256-byte segments (five entries each) holding `entries` entries.
fn log_with(dir: &Path, options: WalOptions, entries: u64) -> Wal {
    let wal = Wal::open(dir, options).unwrap();
    for offset in 0..entries {
        wal.append(&payload(offset)).unwrap();
    }
    wal.sync().unwrap();
    wal
}

/// One place the log syncs segment data, and how to make it run.
struct Site {
    name: &'static str,
    options: WalOptions,
    /// Entries appended (and synced) before the fault is armed.
    before: u64,
    /// The sync that fails: the first of this kind on a data file once armed.
    call: Call,
    run: fn(&Wal) -> Result<(), StoreError>,
}

fn append_next(wal: &Wal) -> Result<(), StoreError> {
    wal.append(&payload(wal.next_offset())).map(drop)
}

fn sites() -> Vec<Site> {
    vec![
        Site {
            name: "durable append (Always)",
            options: options(SyncPolicy::Always),
            before: 1,
            call: Call::Msync,
            run: append_next,
        },
        Site {
            name: "group-commit leader",
            options: options(SyncPolicy::GroupCommit),
            before: 1,
            call: Call::Msync,
            run: append_next,
        },
        Site {
            name: "sync()",
            options: options(SyncPolicy::Manual),
            before: 1,
            call: Call::Msync,
            run: |wal| {
                wal.append(&payload(wal.next_offset()))?;
                wal.sync()
            },
        },
        Site {
            name: "rotation's msync of the old segment",
            options: options(SyncPolicy::Manual),
            before: 4,
            call: Call::Msync,
            // The fifth entry, not synced, then the sixth, which seals the segment.
            run: |wal| {
                wal.append(&payload(4))?;
                wal.append(&payload(5)).map(drop)
            },
        },
        Site {
            name: "rotation's fsync of the old segment",
            options: options(SyncPolicy::Manual),
            before: 5,
            call: Call::Fsync,
            run: append_next,
        },
        Site {
            name: "clear's seal of the active segment",
            options: options(SyncPolicy::Manual),
            before: 2,
            call: Call::Fsync,
            run: |wal| {
                wal.append(&payload(wal.next_offset()))?;
                wal.clear()
            },
        },
        Site {
            name: "truncation's cut",
            options: options(SyncPolicy::Manual),
            before: 4,
            call: Call::Msync,
            run: |wal| wal.truncate_after(1),
        },
        Site {
            name: "fsync after growing the active segment",
            options: options(SyncPolicy::Manual),
            // The active segment is empty: an entry larger than a segment grows it.
            before: 0,
            call: Call::Fsync,
            run: |wal| {
                let big = payload(0).repeat(20);
                assert!(big.len() > SEGMENT_BYTES as usize);
                wal.append(&big).map(drop)
            },
        },
        Site {
            name: "zero-ahead",
            // A segment large enough to zero ahead in: the first durable append turns
            // it on, the second zeroes (and msyncs) before its record.
            options: options(SyncPolicy::Always).with_segment_bytes(4 << 20),
            before: 1,
            call: Call::Msync,
            run: |wal| {
                let result = append_next(wal);
                // The zeros' msync failed, before the record was written.
                assert_eq!(wal.next_offset(), 1);
                result
            },
        },
    ]
}

/// Every place the log syncs segment data runs the sync through its serialized path:
/// a failure there, injected once, poisons the log, so that no later sync (which could
/// find nothing to report, the kernel having reported the error once) acknowledges
/// anything. A sync routed around `Inner::flush_data` fails this test.
#[test]
fn a_failed_sync_of_segment_data_poisons_the_log_at_every_call_site() {
    for site in sites() {
        let dir = tempdir();
        let wal = log_with(dir.path(), site.options.clone(), site.before);
        let plan = FaultPlan::install(dir.path());
        plan.fail(Rule::once(site.call, 1, EIO).on_paths(".txnx"));
        let result = (site.run)(&wal);
        let failed: Vec<Seen> = plan
            .seen()
            .into_iter()
            .filter(|s| s.failed.is_some())
            .collect();
        assert_eq!(failed.len(), 1, "{}: the sync was not reached", site.name);
        assert!(
            result.is_err(),
            "{}: the failure was not returned",
            site.name
        );
        assert!(
            matches!(
                wal.append(&payload(wal.next_offset())),
                Err(StoreError::Poisoned { .. })
            ),
            "{}: the log still appends after a failed sync",
            site.name
        );
        assert!(
            matches!(wal.sync(), Err(StoreError::Poisoned { .. })),
            "{}: the log still syncs after a failed sync",
            site.name
        );
    }
}

fn active_data_syncs(seen: &[Seen], active: &str) -> usize {
    seen.iter()
        .filter(|s| s.call == Call::Fsync && s.path.ends_with(active))
        .count()
}

/// After a crash the page cache may hold what the dead process wrote and never synced:
/// an open that scanned the active segment fsyncs it before anything is built on it.
/// One that took the segment from a clean close's record need not.
#[test]
fn an_open_not_from_a_close_record_fsyncs_the_active_segment() {
    let dir = tempdir();
    let wal = log_with(dir.path(), options(SyncPolicy::Manual), 7);
    wal.append(&payload(7)).unwrap();
    drop(wal); // a crash: entry 7 never synced

    let plan = FaultPlan::install(dir.path());
    let wal = Wal::open(dir.path(), options(SyncPolicy::Manual)).unwrap();
    assert_eq!(
        active_data_syncs(&plan.seen(), "5.txnx"),
        1,
        "{:?}",
        plan.seen()
    );
    wal.close().unwrap();

    plan.forget();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Manual)).unwrap();
    assert_eq!(active_data_syncs(&plan.seen(), "5.txnx"), 0);
    drop(wal);

    // That fsync failing fails the open, with its error.
    std::fs::remove_file(dir.path().join("CLOSED")).unwrap();
    plan.fail(Rule::once(Call::Fsync, 1, EIO).on_paths("5.txnx"));
    match Wal::open(dir.path(), options(SyncPolicy::Manual)) {
        Err(StoreError::Io { op, source, .. }) => {
            assert_eq!((op, source.raw_os_error()), ("fsync", Some(EIO)));
        }
        other => panic!("open after a failed fsync: {other:?}"),
    }
}

/// Position of the first call after `from` matching `call` and a path ending in `name`.
fn position(seen: &[Seen], from: usize, call: Call, name: &str) -> Option<usize> {
    seen.iter()
        .skip(from)
        .position(|s| s.call == call && s.path.to_string_lossy().ends_with(name))
        .map(|i| i + from)
}

/// A rotation makes two names (the old segment's index, the new data file), and each
/// is fsynced into the directory before the log acknowledges an entry that depends on
/// it: the old segment's entries are reported durable only with their index, and an
/// entry in the new segment only once its file is sure to be found (anchor 10: entries
/// lost on rotation for want of a directory fsync).
#[test]
fn a_rotation_fsyncs_the_directory_after_each_name_it_makes() {
    let dir = tempdir();
    let wal = log_with(dir.path(), options(SyncPolicy::Always), 5);
    let plan = FaultPlan::install(dir.path());
    wal.append(&payload(5)).unwrap();
    let seen = plan.seen();
    let index_named = position(&seen, 0, Call::Rename, "0.idxx").expect("index renamed");
    let index_synced = position(&seen, index_named, Call::FsyncDir, "").expect("dir fsync");
    let data_named = position(&seen, 0, Call::Rename, "5.txnx").expect("segment renamed");
    assert!(index_synced < data_named, "{seen:?}");
    let data_synced = position(&seen, data_named, Call::FsyncDir, "").expect("dir fsync");
    let first_record_synced =
        position(&seen, 0, Call::Msync, "5.txnx").expect("the new entry's msync");
    assert!(data_synced < first_record_synced, "{seen:?}");
    assert!(
        seen.iter()
            .filter(|s| s.call == Call::FsyncDir)
            .all(|s| s.path == dir.path()),
        "{seen:?}"
    );
}
