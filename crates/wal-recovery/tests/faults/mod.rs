//! The harness of the fault tests: run an operation once to learn the system calls it
//! makes, then again for each of them with that call failing, and check what the log
//! makes of it.
//!
//! A [`Case`] builds a log (without faults), then runs one operation on it, recording in
//! its [`Ctx`] every entry the operation acknowledged as durable. [`exhaust`] counts the
//! operation's calls through a [`FaultPlan`] scoped to the case's own directory (so that
//! the tests of a binary run in parallel), then, for each call, runs the case again with
//! that call failing (EIO once and ENOSPC from then on; all four combinations with
//! `WAL_FAULTS_EXHAUSTIVE=1`), and checks:
//!
//! - the operation panics nowhere, and fails only with the injected error (its errno in
//!   the error's chain) or the log's refusal after a failed sync;
//! - after a failed sync of segment data the log is poisoned: it refuses appends and
//!   syncs, so nothing it covered is acknowledged afterwards;
//! - a log that is not poisoned still works: an entry appended and synced after the fault
//!   is acknowledged, and must survive like the others;
//! - then, without faults, after a crash (the log is dropped unsynced), recovery opens
//!   the directory with every acknowledged entry committed (so damage to any of them is
//!   refused), every entry the case keeps is there with its exact payload, the entries a
//!   successful operation removed are gone, offsets never go back, and verify finds
//!   nothing wrong.
//!
//! Directories are on tmpfs (`/dev/shm`) when there is one: what is checked is what the
//! log does with failing calls, not what a medium keeps; set `WAL_TEST_TMPDIR` for another.
#![allow(dead_code, reason = "each test file uses only some of the helpers")]
// Test helpers: a panic here is a failed test, never a crash in a user's process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::error::Error;
use std::io;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use wal_recovery::{RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::faults::Call;
use wal_store::faults::{EIO, ENOSPC, FaultPlan, Rule, Seen};
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};

/// Any error an operation returns.
pub type AnyError = Box<dyn Error + Send + Sync + 'static>;

/// Segment size of the logs built here: a few entries each, so that an operation crosses
/// segments.
pub const SEGMENT_BYTES: u32 = 256;

/// A fresh temporary directory (see the module's documentation for where).
#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::tempdir;

/// The payload of entry `offset`: 39 bytes naming it (five records a segment).
pub fn payload(offset: u64) -> Vec<u8> {
    format!("entry {offset:06} ").repeat(3).into_bytes()
}

/// Options of the logs built here.
pub fn options(sync_policy: SyncPolicy) -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_sync_policy(sync_policy)
}

/// What a case knows about its log.
#[derive(Debug, Default)]
pub struct Ctx {
    pub dir: PathBuf,
    /// The log, while open.
    pub wal: Option<Wal>,
    /// Entries that must survive: acknowledged, or there before the operation and not
    /// among those it was asked to remove.
    pub keep: BTreeMap<u64, Vec<u8>>,
    /// Every entry appended (acknowledged or not), for what the log later reports durable.
    pub appended: BTreeMap<u64, Vec<u8>>,
    /// Offsets the operation was asked to remove: no promise about them.
    pub removable: Option<Range<u64>>,
    /// Offsets that are gone for good if the operation succeeded.
    pub gone_if_ok: Option<Range<u64>>,
    /// The next offset may never fall below this.
    pub next_at_least: u64,
    /// Mode of the recovery that follows (the operation may leave damage only a repair
    /// in that mode accepts, e.g. a skipped record).
    pub settle_mode: RecoveryMode,
    /// Options the log is reopened with.
    pub settle_options: Option<WalOptions>,
}

impl Ctx {
    pub fn new(dir: &Path) -> Ctx {
        Ctx {
            dir: dir.to_path_buf(),
            ..Ctx::default()
        }
    }

    /// The open log.
    pub fn wal(&self) -> &Wal {
        self.wal.as_ref().expect("the case has an open log")
    }

    /// Appends entry `next` and, if `durable`, records it as acknowledged.
    pub fn append(&mut self, durable: bool) -> Result<u64, StoreError> {
        let wal = self.wal.as_ref().expect("the case has an open log");
        let offset = wal.next_offset();
        let bytes = payload(offset);
        self.appended.insert(offset, bytes.clone());
        let appended = wal.append(&bytes)?;
        assert_eq!(appended.offset, offset);
        if durable {
            self.keep.insert(offset, bytes);
        }
        Ok(offset)
    }

    /// Records as acknowledged every entry appended so far (after a successful sync).
    pub fn ack_appended(&mut self) {
        let removable = self.removable.clone().unwrap_or(0..0);
        for (offset, bytes) in &self.appended {
            if !removable.contains(offset) {
                self.keep.insert(*offset, bytes.clone());
            }
        }
    }

    /// Records as acknowledged what the log reports durable.
    fn ack_reported(&mut self) {
        let Some(wal) = &self.wal else { return };
        let Some(last) = wal.last_synced_offset() else {
            return;
        };
        let first = wal.first_offset();
        let removable = self.removable.clone().unwrap_or(0..0);
        for (offset, bytes) in self.appended.range(first..=last) {
            if !removable.contains(offset) {
                self.keep.insert(*offset, bytes.clone());
            }
        }
    }
}

/// One operation under test.
pub struct Case {
    pub name: &'static str,
    /// Builds the log (no faults yet).
    pub setup: fn(&Path) -> Ctx,
    /// The operation.
    pub op: fn(&mut Ctx) -> Result<(), AnyError>,
    /// Whether the calls happen in the same order each time (not for a background
    /// thread's syncs, whose timing decides how many there are).
    pub deterministic: bool,
}

/// What one faulted run is.
#[derive(Debug, Clone)]
pub struct Fault {
    pub call: Call,
    pub nth: usize,
    pub errno: i32,
    pub persistent: bool,
    /// The path the call was made on in the counting run.
    pub path: PathBuf,
}

impl Fault {
    fn rule(&self) -> Rule {
        if self.persistent {
            Rule::from_then_on(self.call, self.nth, self.errno)
        } else {
            Rule::once(self.call, self.nth, self.errno)
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} #{} ({}) errno {} {}",
            self.call.name(),
            self.nth,
            self.path.file_name().unwrap_or_default().to_string_lossy(),
            self.errno,
            if self.persistent {
                "from then on"
            } else {
                "once"
            }
        )
    }
}

/// Whether the long form was asked for.
pub fn exhaustive() -> bool {
    std::env::var_os("WAL_FAULTS_EXHAUSTIVE").is_some_and(|v| v != "0")
}

/// The calls a case's operation makes, in order.
pub fn count(case: &Case) -> Vec<Seen> {
    let dir = tempdir();
    let mut ctx = (case.setup)(dir.path());
    let plan = FaultPlan::install(dir.path());
    let result = (case.op)(&mut ctx);
    if let Err(e) = result {
        panic!("{}: fails without a fault: {e}", case.name);
    }
    let seen = plan.seen();
    drop(ctx);
    seen
}

/// Every fault to try for the calls `seen`.
pub fn faults_for(seen: &[Seen]) -> Vec<Fault> {
    let kinds: &[(i32, bool)] = if exhaustive() {
        &[(EIO, false), (EIO, true), (ENOSPC, false), (ENOSPC, true)]
    } else {
        &[(EIO, false), (ENOSPC, true)]
    };
    let mut faults = Vec::new();
    let mut nth: BTreeMap<Call, usize> = BTreeMap::new();
    for call in seen {
        let n = nth.entry(call.call).or_insert(0);
        *n += 1;
        for &(errno, persistent) in kinds {
            faults.push(Fault {
                call: call.call,
                nth: *n,
                errno,
                persistent,
                path: call.path.clone(),
            });
        }
    }
    faults
}

/// Counts the case's calls, then fails each in turn; returns the calls counted.
pub fn exhaust(case: &Case) -> Vec<Seen> {
    let seen = count(case);
    assert!(!seen.is_empty(), "{}: no call counted", case.name);
    let faults = faults_for(&seen);
    for fault in &faults {
        run_faulted(case, fault);
    }
    eprintln!(
        "{}: {} calls, {} faulted runs",
        case.name,
        seen.len(),
        faults.len()
    );
    seen
}

/// Whether `seen` is a sync of a segment's data, after whose failure the log must
/// refuse writes.
pub fn is_data_sync(seen: &Seen) -> bool {
    let data_file = matches!(
        seen.path.extension().and_then(|e| e.to_str()),
        Some("txnx" | "txn")
    );
    matches!(seen.call, Call::Msync | Call::Fsync) && data_file
}

/// Whether the error (or one it wraps) is the log's refusal after a failed sync.
pub fn is_poisoned(e: &(dyn Error + 'static)) -> bool {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(StoreError::Poisoned { .. }) = e.downcast_ref::<StoreError>() {
            return true;
        }
        if let Some(RecoveryError::Store(StoreError::Poisoned { .. })) =
            e.downcast_ref::<RecoveryError>()
        {
            return true;
        }
        at = e.source();
    }
    false
}

/// The errno of the first I/O error in the error's chain.
pub fn errno_of(e: &(dyn Error + 'static)) -> Option<i32> {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return io.raw_os_error();
        }
        at = e.source();
    }
    None
}

/// Runs `case` with `fault` and checks everything the module's documentation lists.
pub fn run_faulted(case: &Case, fault: &Fault) {
    let label = format!("{}, {fault}", case.name);
    let dir = tempdir();
    let mut ctx = (case.setup)(dir.path());
    let plan = FaultPlan::install(dir.path());
    plan.fail(fault.rule());
    let result = match catch_unwind(AssertUnwindSafe(|| (case.op)(&mut ctx))) {
        Ok(result) => result,
        Err(_) => panic!("{label}: the operation panicked"),
    };
    let seen = plan.seen();
    let injected = seen.iter().find(|s| s.failed.is_some()).cloned();
    if case.deterministic {
        assert!(injected.is_some(), "{label}: the call was never made");
    }
    if let Err(e) = &result {
        assert!(injected.is_some(), "{label}: failed without a fault: {e}");
        let e: &(dyn Error + 'static) = e.as_ref();
        assert!(
            errno_of(e) == Some(fault.errno) || is_poisoned(e),
            "{label}: the error is neither the injected one nor the log's refusal: {e}"
        );
    }
    let data_sync_failed = seen.iter().any(|s| s.failed.is_some() && is_data_sync(s));
    if ctx.wal.is_some() {
        ctx.ack_reported();
        if data_sync_failed {
            let wal = ctx.wal();
            assert!(
                matches!(wal.append(b"probe"), Err(StoreError::Poisoned { .. })),
                "{label}: appends go on after a failed sync of segment data"
            );
            assert!(
                matches!(wal.sync(), Err(StoreError::Poisoned { .. })),
                "{label}: syncs go on after a failed sync of segment data"
            );
        } else {
            // Still working, or failing with a typed error: what it acknowledges now
            // must survive too. (With a persistent fault the probe may fail; never
            // with a panic.)
            plan.heal();
            let probe = catch_unwind(AssertUnwindSafe(|| {
                ctx.append(false).map_err(AnyError::from).and_then(|_| {
                    ctx.wal().sync().map_err(AnyError::from)?;
                    ctx.ack_appended();
                    Ok(())
                })
            }));
            assert!(probe.is_ok(), "{label}: the probe append panicked");
        }
    }
    drop(plan);
    settle(&label, ctx, result.is_ok());
}

/// Crash (drop the log unsynced), recover without faults and check what is there.
pub fn settle(label: &str, mut ctx: Ctx, op_succeeded: bool) {
    drop(ctx.wal.take());
    let commit_offset = ctx.keep.keys().next_back().copied();
    let options = RecoveryOptions::default()
        .with_mode(ctx.settle_mode)
        .with_commit_offset(commit_offset)
        .with_wal(
            ctx.settle_options
                .clone()
                .unwrap_or_else(|| options(SyncPolicy::Manual)),
        );
    let recovered = match wal_recovery::open(&ctx.dir, options) {
        Ok(recovered) => recovered,
        Err(e) => panic!("{label}: the log does not recover: {e}"),
    };
    let wal = &recovered.log;
    for (offset, bytes) in &ctx.keep {
        match wal.read(*offset) {
            Ok(entry) => assert_eq!(
                &entry.payload, bytes,
                "{label}: entry {offset} came back different"
            ),
            Err(e) => panic!("{label}: entry {offset} was lost: {e}"),
        }
    }
    if op_succeeded && let Some(gone) = &ctx.gone_if_ok {
        for offset in gone.clone() {
            assert!(
                wal.read(offset).is_err(),
                "{label}: entry {offset}, removed, came back"
            );
        }
    }
    let next = wal.next_offset();
    assert!(
        next >= ctx.next_at_least,
        "{label}: offsets went back to {next} (at least {} expected)",
        ctx.next_at_least
    );
    drop(recovered);
    let verification = wal_recovery::verify(&ctx.dir, None).unwrap();
    assert!(
        verification.ok,
        "{label}: verify after recovery: {:?}",
        verification.problems
    );
}

/// Opens a log in `dir` and appends `entries` entries, all made durable.
pub fn durable_log(dir: &Path, policy: SyncPolicy, entries: u64) -> Ctx {
    let mut ctx = Ctx::new(dir);
    ctx.wal = Some(Wal::open(dir, options(policy)).unwrap());
    for _ in 0..entries {
        ctx.append(false).unwrap();
    }
    ctx.wal().sync().unwrap();
    ctx.ack_appended();
    ctx.next_at_least = ctx.wal().next_offset();
    ctx
}

/// `truncate_after(6)` on a durable log of 16 entries (entries 7.. go: two segments
/// removed, one cut), then an append: the store suite fails each of its calls, and the
/// regression test of the truncation that failed at an unlink replays one of them.
pub fn truncate_case() -> Case {
    Case {
        name: "truncate_after",
        setup: |dir| {
            let mut ctx = durable_log(dir, wal_store::SyncPolicy::Always, 16);
            ctx.removable = Some(7..16);
            ctx.gone_if_ok = Some(7..16);
            ctx.keep.retain(|offset, _| *offset < 7);
            ctx.next_at_least = 7;
            ctx
        },
        op: |ctx| {
            ctx.wal().truncate_after(6)?;
            ctx.append(true)?;
            Ok(())
        },
        deterministic: true,
    }
}

/// `clear()` on a durable log of 12 entries, then an append: the store suite fails each
/// of its calls, and the regression tests of a failed clear replay some of them.
pub fn clear_case() -> Case {
    Case {
        name: "clear",
        setup: |dir| {
            let mut ctx = durable_log(dir, wal_store::SyncPolicy::Always, 12);
            ctx.removable = Some(0..12);
            ctx.gone_if_ok = Some(0..12);
            ctx.keep.clear();
            ctx
        },
        op: |ctx| {
            ctx.wal().clear()?;
            ctx.append(true)?;
            Ok(())
        },
        deterministic: true,
    }
}
