//! `walctl bench`: a quick look at what this machine's disk allows. Each phase runs for a
//! fixed time (`--phase-ms`) in a new log; the criterion benchmarks in `benches/` are the
//! place for careful measurements.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use wal_recovery::{Log, RecoveryOptions};
use wal_store::{SyncPolicy, WalOptions};

use crate::cli::BenchArgs;
use crate::error::{CliError, Exit, IoContext, Result, existing_dir};
use crate::json::{BenchJson, BenchPhaseJson};
use crate::output::Out;
use crate::progress;

const PAYLOAD_BYTES: usize = 128;
/// Threads of the group commit phase.
const GROUP_THREADS: usize = 8;
/// Unsynced appends between two looks at the clock (durable ones look after each).
const UNSYNCED_CHECK_EVERY: u64 = 64;
/// At most this many unsynced appends (about 70 MiB of records), so that a fast machine
/// does not fill a slow disk.
const MAX_UNSYNCED_ENTRIES: u64 = 500_000;

fn phase_dir(root: &Path) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix("walctl-bench-")
        .tempdir_in(root)
        .context("create a directory in", root)
}

fn open(dir: &Path, sync_policy: SyncPolicy) -> Result<Log> {
    let options =
        RecoveryOptions::default().with_wal(WalOptions::default().with_sync_policy(sync_policy));
    Ok(wal_recovery::open(dir, options)?.log)
}

/// Appends from one thread until `deadline` or `max` entries, looking at the clock every
/// `check_every` appends; returns how many.
fn append_until(
    wal: &Log,
    deadline: Instant,
    max: u64,
    check_every: u64,
    payload: &[u8],
) -> Result<u64> {
    let mut appended = 0u64;
    while appended < max {
        for _ in 0..check_every {
            wal.append(payload)?;
        }
        appended += check_every;
        if Instant::now() >= deadline {
            break;
        }
    }
    Ok(appended)
}

struct Phase {
    name: &'static str,
    threads: usize,
    entries: u64,
    took: Duration,
}

impl Phase {
    fn json(&self) -> BenchPhaseJson {
        let seconds = self.took.as_secs_f64();
        BenchPhaseJson {
            name: self.name,
            threads: self.threads,
            entries: self.entries,
            seconds,
            entries_per_sec: if seconds > 0.0 {
                self.entries as f64 / seconds
            } else {
                0.0
            },
        }
    }
}

/// Appends from one thread into a new log under `root`; returns the phase and the log,
/// still open.
fn single_thread(
    root: &Path,
    name: &'static str,
    policy: SyncPolicy,
    budget: Duration,
    max: u64,
) -> Result<(Phase, Log, TempDir)> {
    let dir = phase_dir(root)?;
    let wal = open(dir.path(), policy)?;
    let payload = [b'w'; PAYLOAD_BYTES];
    let bar = progress::spinner(name);
    let started = Instant::now();
    let check_every = if policy == SyncPolicy::Manual {
        UNSYNCED_CHECK_EVERY
    } else {
        1
    };
    let entries = append_until(&wal, started + budget, max, check_every, &payload)?;
    let took = started.elapsed();
    bar.finish_and_clear();
    let phase = Phase {
        name,
        threads: 1,
        entries,
        took,
    };
    Ok((phase, wal, dir))
}

fn group_commit(root: &Path, budget: Duration) -> Result<Phase> {
    let dir = phase_dir(root)?;
    let wal = open(dir.path(), SyncPolicy::GroupCommit)?;
    let payload = [b'g'; PAYLOAD_BYTES];
    let bar = progress::spinner("group commit");
    let started = Instant::now();
    let deadline = started + budget;
    let counts: Vec<Result<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..GROUP_THREADS)
            .map(|_| {
                let wal = &wal;
                let payload = &payload;
                scope.spawn(move || append_until(wal, deadline, u64::MAX, 1, payload))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(CliError::usage("a writer thread panicked")))
            })
            .collect()
    });
    let took = started.elapsed();
    bar.finish_and_clear();
    let mut entries = 0u64;
    for count in counts {
        entries += count?;
    }
    wal.close()?;
    Ok(Phase {
        name: "group_commit",
        threads: GROUP_THREADS,
        entries,
        took,
    })
}

/// Reads back every entry of `wal` (made durable first, untimed, since readers see only
/// durable entries).
fn replay(wal: &Log) -> Result<Phase> {
    wal.sync()?;
    let bar = progress::spinner("replay");
    let started = Instant::now();
    let mut entries = 0u64;
    for entry in wal.iter() {
        entry?;
        entries += 1;
    }
    let took = started.elapsed();
    bar.finish_and_clear();
    Ok(Phase {
        name: "replay",
        threads: 1,
        entries,
        took,
    })
}

pub fn run(args: &BenchArgs, out: &mut Out) -> Result<Exit> {
    let root: PathBuf = match &args.dir {
        Some(dir) => {
            existing_dir(dir)?;
            dir.clone()
        }
        None => std::env::temp_dir(),
    };
    let budget = Duration::from_millis(args.phase_ms);
    let (unsynced, unsynced_wal, _unsynced_dir) = single_thread(
        &root,
        "append_unsynced",
        SyncPolicy::Manual,
        budget,
        MAX_UNSYNCED_ENTRIES,
    )?;
    let replay = replay(&unsynced_wal)?;
    unsynced_wal.close()?;
    let (durable, durable_wal, _durable_dir) = single_thread(
        &root,
        "append_durable",
        SyncPolicy::Always,
        budget,
        u64::MAX,
    )?;
    durable_wal.close()?;
    let group = group_commit(&root, budget)?;
    let phases = [unsynced, durable, group, replay];
    if args.json {
        out.json(&BenchJson {
            dir: root.display().to_string(),
            payload_bytes: PAYLOAD_BYTES,
            phases: phases.iter().map(Phase::json).collect(),
        })?;
        return Ok(Exit::Clean);
    }
    out.line(format_args!(
        "walctl bench in {} ({PAYLOAD_BYTES}-byte payloads, about {} ms a phase)",
        root.display(),
        args.phase_ms
    ))?;
    for phase in &phases {
        let json = phase.json();
        out.line(format_args!(
            "  {:<16} {:>2} thread{}  {:>9} entries in {:>6.3} s  {:>12.0} entries/s",
            json.name,
            json.threads,
            if json.threads == 1 { " " } else { "s" },
            json.entries,
            json.seconds,
            json.entries_per_sec
        ))?;
    }
    out.line("append_unsynced: no sync per entry; append_durable: each entry synced before the next; group_commit: each append durable, syncs shared; replay: reading the first phase's entries back (synced first, untimed)")?;
    Ok(Exit::Clean)
}
