//! Crash tests of a raft node on `wal_raft::LogStore`: a child process runs a single-node
//! openraft cluster and writes through the client API until it is killed with SIGKILL at
//! a random moment; after every kill the next child's recovery must give back every write
//! a client saw acknowledged.
//!
//! The promise under test is what a client of a raft service relies on: once
//! `Raft::client_write` has returned Ok, the write is committed, and a committed entry
//! survives any crash of the process, in its place in the log, applied once. On a single
//! node a write is committed only when the node's own log reports it flushed, so this is
//! the log store's durability promise seen from the client: an append reported flushed is
//! on disk, a truncation or a torn tail never takes it away, and recovery neither loses
//! nor repeats it.
//!
//! This file is both processes (`harness = false`; the child is this same executable, run
//! with `WAL_RAFT_CRASH_CHILD_DIR` set):
//!
//! - The child opens the log directory with `LogStore::open` and the default options but
//!   64 KiB segments (so the log rotates), starts node 1 on it with the support's
//!   recording state machine wrapped so that its snapshots go to a file beside the log
//!   (`crash/snapshot.rs`: reloaded at start, written before openraft may purge up to
//!   them), initializes the cluster if the log is new, waits to lead and to have applied
//!   every entry the log held at open, and prints what the state machine applied, from
//!   the snapshot and the log (`applied` lines, then `ready`). Then 1 to 16 client tasks
//!   write `Request { client, seq, payload }` concurrently, each seq the cycle number in
//!   the high 32 bits and a counter in the low ones (so a client's seqs grow across
//!   cycles and never repeat), each payload a function of (client, seq) of 0 to 300
//!   bytes. In half the cycles (seeded) they write through `wal_raft::Batcher` (up to 2
//!   to 32 writes in one entry), in the others with one `client_write(vec![request])`
//!   each. In a third of the cycles the child takes a snapshot every 20 to 300 entries
//!   and openraft purges the log up to 3 entries before it (the purge recorded in the
//!   raft metadata, then the log trimmed), so kills land inside snapshots and purges too.
//!   After each write returns Ok the child prints `ack client seq index position` (its
//!   entry's raft index and its place among the entry's writes) and flushes. The first
//!   client to fail ends the child with its error. With no clients it only reports and
//!   exits: the final check run.
//! - The parent runs N cycles (16; `WAL_RAFT_CRASH_CYCLES` for more). Every fourth
//!   cycle, from the first, kills its child once it has printed k acknowledgements (k
//!   seeded, 1 to 300): coverage no timing can take away. The others kill it after a
//!   random delay, counted from its start one in four of them (so that some kills land
//!   during its recovery, before it has written anything), else from its `ready` line (a
//!   few kills come before its first write, most while it writes). A child that ends, or
//!   prints nothing for 240 s, before the line its kill waits for fails the test (a
//!   hang, named with the seed and the cycle). After each kill `wal_recovery::verify`
//!   reads the directory as the kill left it, with the last acknowledged index as its
//!   commit offset: it may find an uncommitted torn tail or a temporary file of a
//!   replace (see `check_directory` for why those and no more), and the valid log must
//!   reach that index. The next child opens the log with `LogStore::open` in the default
//!   mode, and its report (or the final check run's) is checked against every
//!   acknowledgement seen so far:
//!   - every acknowledged write is applied, once, at the index and the place in its
//!     entry that its acknowledgement named;
//!   - applied indexes never decrease (the writes of an entry share its index, applied
//!     in the entry's order), each client's seqs increase (so in the order it wrote
//!     them), no (client, seq) is applied twice, every payload is the one written;
//!   - every write an earlier report showed applied is still there, in its place (an
//!     applied entry was committed: acknowledged or not, it must never go);
//!   - writes that were never acknowledged (the ones in flight at the kill) may be there
//!     or not (until a report shows them applied), but they obey the same rules: once, in
//!     order, only what was written.
//!
//!   The run fails unless the kills after acknowledgements happened and the final check
//!   runs' reports held every acknowledgement of the run.
//!
//! What a process crash cannot show: a sync skipped or reported early. A SIGKILL keeps the
//! page cache, and openraft applies (and so acknowledges) only entries it has read back
//! from the log, so an acknowledged entry is in the page cache whether it was synced or
//! not. Making `LogStore` report appends flushed before their sync, or even before they
//! are written, passes this test; only a power-loss test (wal-store's fault injection)
//! sees that. Losing an entry in recovery, or applying one twice or not at all, fails it.
//!
//! The report is the state machine's whole content, so a cycle costs time in proportion
//! to the log (the child's replay costs as much). To keep a long run linear, a log past
//! `DIR_ENTRIES_MAX` entries gets a final check run and the next cycle starts a new
//! directory, as the kill loop of `walctl` does.
//!
//! `WAL_RAFT_CRASH_SEED` picks the seed of the random choices (clients, batching,
//! snapshots, kills); without
//! it the seed comes from the clock. A failure prints the seed and the cycle and keeps
//! the directory; the moment a kill lands still varies from run to run. The long run:
//! `WAL_RAFT_CRASH_CYCLES=500 cargo test --release -p wal-raft --test crash`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, and this target has no harness)"
)]

#[path = "support/mod.rs"]
mod support;

#[path = "crash/check.rs"]
mod check;
#[path = "crash/child.rs"]
mod child;
#[path = "crash/process.rs"]
mod process;
#[path = "crash/protocol.rs"]
mod protocol;
#[path = "crash/snapshot.rs"]
mod snapshot;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use check::{Model, Tally, check_directory, check_report};
use process::{Kill, Plan, check_run, run_and_kill};
use protocol::{CHILD_DIR_VAR, CLIENTS_MAX};
use wal_testkit::rng::Rng;

/// How many cycles to run.
const CYCLES_VAR: &str = "WAL_RAFT_CRASH_CYCLES";
/// The seed of the random choices.
const SEED_VAR: &str = "WAL_RAFT_CRASH_SEED";
/// Cycles of the short form, run by `cargo test`.
const DEFAULT_CYCLES: u64 = 16;
/// Every this many cycles, from the first, the child is killed once it has printed a
/// number of acknowledgements (so that what is checked never depends on timing).
const AFTER_ACKS_EVERY: u64 = 4;
/// Bounds of that number.
const AFTER_ACKS: (u64, u64) = (1, 300);
/// Of the other cycles, one in this many kills the child at a delay from its start, the
/// others at a delay from its report.
const FROM_START_ONE_IN: u64 = 4;
/// Bounds of a kill's delay from the child's start (its startup takes 10 ms to a few
/// hundred, growing with the log it replays).
const START_DELAY_MS: (u64, u64) = (0, 150);
/// Of the kills counted from the report, one in this many comes at once: before the
/// clients' first writes, or among them.
const AT_READY_ONE_IN: u64 = 8;
/// Bounds of a kill's delay from the child's report.
const READY_DELAY_MS: (u64, u64) = (0, 250);
/// Of the cycles, one in this many has its clients write through `wal_raft::Batcher`.
const BATCHED_ONE_IN: u64 = 2;
/// Bounds of the most writes the batcher puts in one entry.
const BATCH_WRITES: (u64, u64) = (2, 2 * CLIENTS_MAX);
/// Of the cycles, one in this many takes snapshots and purges the log.
const SNAPSHOTS_ONE_IN: u64 = 3;
/// Bounds of the entries between two snapshots.
const SNAPSHOT_EVERY: (u64, u64) = (20, 300);
/// A log with more entries than this gets a final check and a new directory.
const DIR_ENTRIES_MAX: usize = if cfg!(debug_assertions) {
    20_000
} else {
    50_000
};

fn main() -> ExitCode {
    match std::env::var_os(CHILD_DIR_VAR) {
        Some(dir) => child::child_main(PathBuf::from(dir)),
        None => {
            parent_main();
            ExitCode::SUCCESS
        }
    }
}

/// A directory that is kept, and named, when the test fails.
struct Scratch(Option<tempfile::TempDir>);

impl Scratch {
    fn new() -> Scratch {
        Scratch(Some(wal_testkit::scratch_dir("wal-raft-crash-")))
    }

    /// The log's directory, inside the scratch one (a child killed before it creates it
    /// leaves none).
    fn log(&self) -> PathBuf {
        self.0.as_ref().unwrap().path().join("raft-log")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.0.take()
        {
            eprintln!("crash test: kept the directory {}", dir.keep().display());
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
    )
}

/// When to kill the child of `cycle`.
fn choose_kill(rng: &mut Rng, cycle: u64) -> Kill {
    if cycle.is_multiple_of(AFTER_ACKS_EVERY) {
        let acks = rng.between(AFTER_ACKS.0, AFTER_ACKS.1);
        Kill::OnAcks(usize::try_from(acks).unwrap())
    } else if rng.one_in(FROM_START_ONE_IN) {
        let delay_ms = rng.between(START_DELAY_MS.0, START_DELAY_MS.1);
        Kill::SinceStart(Duration::from_millis(delay_ms))
    } else if rng.one_in(AT_READY_ONE_IN) {
        Kill::SinceReady(Duration::ZERO)
    } else {
        let delay_ms = rng.between(READY_DELAY_MS.0, READY_DELAY_MS.1);
        Kill::SinceReady(Duration::from_millis(delay_ms))
    }
}

/// How this cycle's clients write: the most writes in one entry through the batcher, or
/// 0 for an entry per write.
fn choose_batch(rng: &mut Rng) -> usize {
    if rng.one_in(BATCHED_ONE_IN) {
        usize::try_from(rng.between(BATCH_WRITES.0, BATCH_WRITES.1)).unwrap()
    } else {
        0
    }
}

/// How many entries apart this cycle's child takes snapshots (and purges the log up to
/// them), or 0 for never.
fn choose_snapshots(rng: &mut Rng) -> u64 {
    if rng.one_in(SNAPSHOTS_ONE_IN) {
        rng.between(SNAPSHOT_EVERY.0, SNAPSHOT_EVERY.1)
    } else {
        0
    }
}

fn parent_main() {
    let cycles = env_u64(CYCLES_VAR).unwrap_or(DEFAULT_CYCLES);
    assert!(cycles > 0, "{CYCLES_VAR} must be at least 1");
    let seed = env_u64(SEED_VAR).unwrap_or_else(|| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        now.as_secs() ^ u64::from(now.subsec_nanos())
    });
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let mut tally = Tally {
        directories: 1,
        ..Tally::default()
    };
    let mut scratch = Scratch::new();
    let mut model = Model::new(0);
    for cycle in 0..cycles {
        let dir = scratch.log();
        let plan = Plan {
            cycle,
            clients: rng.between(1, CLIENTS_MAX),
            batch: choose_batch(&mut rng),
            snapshot_every: choose_snapshots(&mut rng),
        };
        let kill = choose_kill(&mut rng, cycle);
        let context = format!(
            "{SEED_VAR}={seed} cycle {cycle} (of {cycles}) in {}, {plan:?}, killed {kill:?}",
            dir.display()
        );
        let output = run_and_kill(&dir, plan, kill, &context);
        tally.kills += 1;
        if let Kill::OnAcks(acks) = kill {
            assert!(
                output.acks.len() >= acks,
                "{context}: {} acknowledgements",
                output.acks.len()
            );
            tally.kills_after_acks += 1;
            tally.acks_awaited += acks as u64;
        }
        match &output.report {
            Some(report) => check_report(report, &mut model, cycle, &mut tally, &context),
            None => tally.kills_before_report += 1,
        }
        if output.report.is_some() && output.acks.is_empty() {
            tally.kills_before_first_ack += 1;
        }
        model.add(&output.acks, cycle, plan.batch > 0, &context);
        tally.acked += output.acks.len() as u64;
        check_directory(&dir, &model, &mut tally, &context);

        let full = output
            .report
            .is_some_and(|r| r.len() + output.acks.len() > DIR_ENTRIES_MAX);
        if full || cycle + 1 == cycles {
            let context = format!("{context}; the check run after it");
            let report = check_run(&dir, cycle + 1, &context);
            check_report(&report, &mut model, cycle + 1, &mut tally, &context);
            // Every acknowledgement the directory saw was just found in the report.
            tally.acked_in_final_reports += model.acked_count();
            if cycle + 1 < cycles {
                scratch = Scratch::new();
                model = Model::new(cycle + 1);
                tally.directories += 1;
            }
        }
        if cycles > DEFAULT_CYCLES && (cycle + 1) % 50 == 0 {
            eprintln!(
                "crash test: {} cycles in {:.1} s",
                cycle + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    summarize(cycles, seed, started, &tally);
}

/// Prints the one-line summary, and fails a run that checked nothing.
fn summarize(cycles: u64, seed: u64, started: Instant, tally: &Tally) {
    println!(
        "crash test: {cycles} cycles ({SEED_VAR}={seed}) in {:.1} s: {} kills ({} before the report, {} after it before any acknowledgement, {} after {} acknowledgements awaited), {} writes acknowledged ({} found in the final reports), checked {} times in {} reports, {} unacknowledged writes found applied, at most {} writes in one entry, {} kills left a purged log (first index up to {}), {} directories, largest log {} entries; problems verify found after kills {:?}",
        started.elapsed().as_secs_f64(),
        tally.kills,
        tally.kills_before_report,
        tally.kills_before_first_ack,
        tally.kills_after_acks,
        tally.acks_awaited,
        tally.acked,
        tally.acked_in_final_reports,
        tally.acked_checked,
        tally.reports,
        tally.unacked_applied,
        tally.largest_entry_writes,
        tally.kills_after_purge,
        tally.purged_first_max,
        tally.directories,
        tally.largest_log_entries,
        tally.problems,
    );
    assert!(
        tally.acked_checked > 0,
        "no acknowledged write was ever checked: the test checked nothing"
    );
    // Coverage that timing cannot take away: the kills that waited for acknowledgements
    // came, and the final reports held at least the acknowledgements they waited for.
    assert_eq!(
        tally.acked_in_final_reports, tally.acked,
        "the final reports did not hold every acknowledgement"
    );
    assert!(
        tally.kills_after_acks > 0 && tally.acked_in_final_reports >= tally.acks_awaited,
        "{} kills after acknowledgements awaited {}; the final reports held {}",
        tally.kills_after_acks,
        tally.acks_awaited,
        tally.acked_in_final_reports
    );
}
