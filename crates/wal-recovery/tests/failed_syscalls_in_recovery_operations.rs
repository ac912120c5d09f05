//! Every system call of every state-changing operation of recovery, failed in turn:
//! the recovery open of a crashed, damaged log, a repair in each mode, an index rebuild,
//! a cursor set, a migration. See `faults/mod.rs` for what each faulted run checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "case builders outside #[test] functions: a panic is a failed test"
)]

mod faults;

use std::os::unix::fs::FileExt;
use std::path::Path;

use faults::{AnyError, Case, Ctx, durable_log, exhaust, options};
use wal_recovery::{RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::format::Codec;
use wal_store::{SyncPolicy, Wal};

/// Bytes of one record here (a 12-byte header and a 39-byte payload).
const RECORD_BYTES: u64 = 51;

/// Writes `bytes` into `name` of `dir` at `at`, as a crash or bit rot would.
fn scribble(dir: &Path, name: &str, at: u64, bytes: &[u8]) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(name))
        .unwrap();
    file.write_all_at(bytes, at).unwrap();
}

/// A crashed log of 12 durable entries (segments 0, 5, 10), with bytes a torn write
/// left after the last record, a sealed segment's index missing and a temporary file.
fn damaged(dir: &Path) -> Ctx {
    let mut ctx = durable_log(dir, SyncPolicy::Always, 12);
    drop(ctx.wal.take());
    scribble(dir, "10.txnx", 2 * RECORD_BYTES + 40, b"torn write");
    std::fs::remove_file(dir.join("5.idxx")).unwrap();
    std::fs::write(dir.join("CURSOR.tmp"), b"left by a crash").unwrap();
    ctx
}

/// The same, with entry 6's payload damaged too (a committed entry in a sealed
/// segment): only skipping it keeps the rest.
fn damaged_in_the_middle(dir: &Path) -> Ctx {
    let mut ctx = damaged(dir);
    scribble(dir, "5.txnx", RECORD_BYTES + 20, b"rot");
    ctx.keep.remove(&6);
    ctx.removable = Some(6..7);
    ctx.settle_mode = RecoveryMode::SkipCorrupted;
    ctx
}

fn repair(ctx: &mut Ctx, mode: RecoveryMode) -> Result<(), AnyError> {
    match wal_recovery::repair(&ctx.dir, mode, None) {
        Ok(_) => Ok(()),
        // Absolute consistency refuses any damage, changing nothing.
        Err(RecoveryError::Inconsistent { .. }) if mode == RecoveryMode::AbsoluteConsistency => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[test]
fn recovery_open_of_a_crashed_log() {
    exhaust(&Case {
        name: "wal_recovery::open",
        setup: damaged,
        op: |ctx| {
            let recovered = wal_recovery::open(
                &ctx.dir,
                RecoveryOptions::default().with_wal(options(SyncPolicy::Always)),
            )?;
            ctx.wal = Some(recovered.log.into_store());
            ctx.append(true)?;
            Ok(())
        },
        deterministic: true,
    });
}

#[test]
fn repair_tolerate_corrupt_tail() {
    exhaust(&Case {
        name: "repair TolerateCorruptTail",
        setup: damaged,
        op: |ctx| repair(ctx, RecoveryMode::TolerateCorruptTail),
        deterministic: true,
    });
}

#[test]
fn repair_point_in_time() {
    exhaust(&Case {
        name: "repair PointInTime",
        setup: damaged,
        op: |ctx| repair(ctx, RecoveryMode::PointInTime),
        deterministic: true,
    });
}

#[test]
fn repair_skip_corrupted() {
    exhaust(&Case {
        name: "repair SkipCorrupted",
        setup: damaged_in_the_middle,
        op: |ctx| repair(ctx, RecoveryMode::SkipCorrupted),
        deterministic: true,
    });
}

#[test]
fn repair_absolute_consistency() {
    exhaust(&Case {
        name: "repair AbsoluteConsistency",
        setup: damaged,
        op: |ctx| repair(ctx, RecoveryMode::AbsoluteConsistency),
        deterministic: true,
    });
}

#[test]
fn rebuild_index() {
    exhaust(&Case {
        name: "rebuild_index",
        setup: |dir| {
            let mut ctx = durable_log(dir, SyncPolicy::Always, 17);
            ctx.wal.take().unwrap().close().unwrap();
            for base in [0, 5, 10] {
                std::fs::remove_file(dir.join(format!("{base}.idxx"))).unwrap();
            }
            ctx
        },
        op: |ctx| {
            let actions = wal_recovery::rebuild_index(&ctx.dir)?;
            assert_eq!(actions.len(), 3);
            Ok(())
        },
        deterministic: true,
    });
}

#[test]
fn set_cursor() {
    exhaust(&Case {
        name: "set_cursor",
        setup: |dir| {
            let ctx = durable_log(dir, SyncPolicy::Always, 9);
            wal_recovery::set_cursor(ctx.wal(), 3).unwrap();
            ctx
        },
        op: |ctx| {
            wal_recovery::set_cursor(ctx.wal(), 7)?;
            Ok(())
        },
        deterministic: true,
    });
}

#[test]
fn migrate_v1_to_v2() {
    exhaust(&Case {
        name: "migrate",
        setup: |dir| {
            let mut ctx = Ctx::new(dir);
            let v1 = options(SyncPolicy::Always).with_codec(Codec::V1);
            ctx.wal = Some(Wal::open(dir, v1.clone()).unwrap());
            for _ in 0..13 {
                ctx.append(true).unwrap();
            }
            ctx.wal.take().unwrap().close().unwrap();
            ctx.next_at_least = 13;
            ctx.settle_options = Some(v1);
            ctx
        },
        op: |ctx| {
            wal_recovery::migrate(&ctx.dir, Codec::V2)?;
            Ok(())
        },
        deterministic: true,
    });
}
