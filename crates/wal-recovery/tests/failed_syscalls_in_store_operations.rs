//! Every system call of every state-changing operation of the store, failed in turn:
//! appends under each sync policy (across rotations), an entry larger than a segment, a
//! close, an open after a crash and after a clean close, truncation, trimming, clearing.
//! See `faults/mod.rs` for what each faulted run checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "case builders outside #[test] functions: a panic is a failed test"
)]

mod faults;

use std::time::Duration;

use faults::{AnyError, Case, Ctx, durable_log, exhaust, options};
use wal_store::faults::Call;
use wal_store::{RetentionHook, SyncPolicy, Wal};

/// Appends that cross two rotations, each acknowledged when it returns.
fn append_durably(ctx: &mut Ctx) -> Result<(), AnyError> {
    for _ in 0..8 {
        ctx.append(true)?;
    }
    Ok(())
}

#[test]
fn append_always() {
    let seen = exhaust(&Case {
        name: "append, Always",
        setup: |dir| durable_log(dir, SyncPolicy::Always, 3),
        op: append_durably,
        deterministic: true,
    });
    // Two rotations: each seals (msync, fsync), writes an index and creates a file.
    assert!(seen.iter().filter(|s| s.call == Call::Rename).count() >= 4);
}

#[test]
fn append_group_commit() {
    exhaust(&Case {
        name: "append, GroupCommit",
        setup: |dir| durable_log(dir, SyncPolicy::GroupCommit, 3),
        op: append_durably,
        deterministic: true,
    });
}

#[test]
fn append_manual_then_sync() {
    exhaust(&Case {
        name: "append, Manual + sync",
        setup: |dir| durable_log(dir, SyncPolicy::Manual, 3),
        op: |ctx| {
            for _ in 0..8 {
                ctx.append(false)?;
            }
            ctx.wal().sync()?;
            ctx.ack_appended();
            Ok(())
        },
        deterministic: true,
    });
}

/// The interval syncer's own syncs: how many there are depends on its timing, so the
/// faults are those of the counting run, and a run whose fault never came is still
/// checked (nothing acknowledged is lost, the log recovers).
#[test]
fn append_interval() {
    exhaust(&Case {
        name: "append, Interval",
        setup: |dir| durable_log(dir, SyncPolicy::Interval(Duration::from_millis(1)), 3),
        op: |ctx| {
            for _ in 0..3 {
                ctx.append(false)?;
            }
            let last = ctx.wal().next_offset() - 1;
            // Wait for the syncer to make them durable or to fail (progress, not time,
            // ends the wait).
            while ctx.wal().last_synced_offset() < Some(last) {
                if poisoned(ctx.wal()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(())
        },
        deterministic: false,
    });
}

/// Whether the log refuses writes; asks without syncing or appending.
fn poisoned(wal: &Wal) -> bool {
    // A truncation to the end changes nothing, and is refused by a poisoned log (every
    // log checked here holds entries, so the last one has an offset).
    wal.truncate_after(wal.next_offset() - 1).is_err()
}

#[test]
fn append_larger_than_a_segment() {
    exhaust(&Case {
        name: "append larger than a segment",
        setup: |dir| {
            let ctx = durable_log(dir, SyncPolicy::Always, 5);
            // The active segment is empty: the large entry grows it.
            assert_eq!(ctx.wal().next_offset() % 5, 0);
            ctx
        },
        op: |ctx| {
            let offset = ctx.wal().next_offset();
            let big = faults::payload(offset).repeat(20);
            ctx.appended.insert(offset, big.clone());
            ctx.wal().append(&big)?;
            ctx.keep.insert(offset, big);
            ctx.append(true)?;
            Ok(())
        },
        deterministic: true,
    });
}

#[test]
fn close() {
    exhaust(&Case {
        name: "close",
        setup: |dir| {
            let mut ctx = durable_log(dir, SyncPolicy::Manual, 3);
            for _ in 0..4 {
                ctx.append(false).unwrap();
            }
            ctx
        },
        op: |ctx| {
            ctx.wal.take().expect("open").close()?;
            ctx.ack_appended();
            Ok(())
        },
        deterministic: true,
    });
}

/// A log left by a crash: three entries durable, two appended and never synced.
fn crashed(dir: &std::path::Path) -> Ctx {
    let mut ctx = durable_log(dir, SyncPolicy::Manual, 8);
    ctx.append(false).unwrap();
    ctx.append(false).unwrap();
    drop(ctx.wal.take());
    ctx
}

#[test]
fn open_after_a_crash() {
    exhaust(&Case {
        name: "Wal::open after a crash",
        setup: crashed,
        op: |ctx| {
            ctx.wal = Some(Wal::open(&ctx.dir, options(SyncPolicy::Always))?);
            ctx.append(true)?;
            Ok(())
        },
        deterministic: true,
    });
}

#[test]
fn open_after_a_clean_close_then_append() {
    exhaust(&Case {
        name: "Wal::open after a close, first append",
        setup: |dir| {
            let mut ctx = durable_log(dir, SyncPolicy::Always, 7);
            ctx.wal.take().unwrap().close().unwrap();
            ctx
        },
        op: |ctx| {
            ctx.wal = Some(Wal::open(&ctx.dir, options(SyncPolicy::Always))?);
            ctx.append(true)?;
            Ok(())
        },
        deterministic: true,
    });
}

#[test]
fn truncate() {
    exhaust(&faults::truncate_case());
}

#[test]
fn trim() {
    exhaust(&Case {
        name: "trim_before",
        setup: |dir| {
            let mut ctx = durable_log(dir, SyncPolicy::Always, 14);
            ctx.removable = Some(0..10);
            ctx.keep.retain(|offset, _| *offset >= 10);
            ctx
        },
        op: |ctx| {
            let removed = ctx.wal().trim_before(10)?;
            assert_eq!(removed, 2);
            Ok(())
        },
        deterministic: true,
    });
}

/// Retention at a rotation (the store's hook says entries from 10 on are needed, and
/// the log is at `max_segments`): segments 0 and 5 are removed before segment 15 is
/// created. A crash at any failed unlink, or at any other call, leaves a log recovery
/// opens with every needed entry.
#[test]
fn retention_at_rotation() {
    let seen = exhaust(&Case {
        name: "retention at rotation",
        setup: |dir| {
            let mut ctx = Ctx::new(dir);
            let options = options(SyncPolicy::Always)
                .with_max_segments(3)
                .with_retention_hook(RetentionHook::new(|| 10));
            ctx.wal = Some(Wal::open(dir, options).unwrap());
            for _ in 0..14 {
                ctx.append(true).unwrap();
            }
            ctx.next_at_least = 14;
            ctx.removable = Some(0..10);
            ctx.gone_if_ok = Some(0..10);
            ctx.keep.retain(|offset, _| *offset >= 10);
            ctx
        },
        op: |ctx| {
            ctx.append(true)?;
            ctx.append(true)?;
            assert_eq!(ctx.wal().first_offset(), 10);
            Ok(())
        },
        deterministic: true,
    });
    // Each removed segment's index and data file: every unlink was failed in turn.
    let unlinked = seen.iter().filter(|s| s.call == Call::Unlink).count();
    assert!(unlinked >= 4, "{unlinked} unlinks");
}

#[test]
fn clear() {
    exhaust(&faults::clear_case());
}
