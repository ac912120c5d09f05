//! A kill -9 loop: `walctl write --ack` is killed with SIGKILL at random moments, and
//! after every kill the log must hold every entry it acknowledged.
//!
//! Each cycle starts `walctl write` on the same directory with its own seed, payload size,
//! segment size (small, so that rotations happen) and sync mode (`--sync always`,
//! `--sync batch` with a random `--batch`, or `--pipeline` with a random window: entries
//! submitted without waiting, acknowledged by the log's flusher thread as they become
//! durable), reads its `synced <offset>` lines on a thread,
//! and kills it after a random delay of a few ms to about 200 ms, counted from its first
//! acknowledgement, or, one cycle in four, from its start (so that some kills land while
//! it opens the log). One cycle in four then starts a second writer on the directory as
//! the kill left it and kills that one within a few ms of its start, so that kills also
//! land inside a writer's own recovery. After the kills the test opens the directory with
//! `wal_recovery::open` in the default mode, which must succeed, and checks:
//!
//! - offsets are contiguous from 0, every record chains from the one before (from 0 for
//!   the first) and its crc is the chain of its payload;
//! - every entry the log held after the previous cycle is still there, with its payload;
//! - every acknowledged offset is there;
//! - every new entry has exactly the payload of one of this cycle's writers (`{S}:{o};`
//!   repeated and cut to its size), the writers in the order they ran, and no entry at or
//!   below what a writer acknowledged belongs to a later one. Entries written but not
//!   acknowledged may be there or not.
//!
//! Then `walctl verify --json` must exit 0 and agree on the last offset.
//!
//! The consumers' cursors go along (`Cursors`): after each cycle's checks, `walctl cursor
//! --set` moves one of two cursors (the default one and a named one) forward to an entry
//! the log holds, and is itself killed at a random moment two times in three. After the
//! writers' kills and after each cursor kill, the log is opened through recovery and each
//! cursor must be exactly the last one a `--set` acknowledged (or, after a `--set` killed
//! mid-way, that or the one it was setting: the file is replaced atomically), with replay
//! starting right after it.
//!
//! A log past
//! `DIR_BYTES_MAX` is set aside for a fresh directory, so that the checks of a long run
//! stay linear.
//!
//! The short form runs in `cargo test`; the long form is
//! `WAL_KILL_CYCLES=500 cargo test --release -p walctl --test kill_loop -- --nocapture`
//! (see the README's "Crash testing"). `WAL_KILL_SEED` picks the seed of the random
//! choices (sizes, modes, delays); the moment a kill lands still varies from run to run,
//! so a failure prints the seed, the cycle, every writer's arguments, and keeps the
//! directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wal_format::crc;
use wal_recovery::{Recovered, RecoveryOptions};
use wal_store::WalOptions;
use wal_testkit::rng::Rng;

/// How many cycles to run (the long form sets it).
const CYCLES_VAR: &str = "WAL_KILL_CYCLES";
/// The seed of the random choices.
const SEED_VAR: &str = "WAL_KILL_SEED";
/// Where the directories go (default: the system's temporary directory).
const TMPDIR_VAR: &str = "WAL_TEST_TMPDIR";
/// Cycles of the short form, run by `cargo test`.
const DEFAULT_CYCLES: u64 = 16;
const DEFAULT_SEED: u64 = 0x6b69_6c6c;
/// A log larger than this is set aside and the next cycle starts a new directory
/// (smaller in a debug build, whose checks are slower).
const DIR_BYTES_MAX: u64 = if cfg!(debug_assertions) {
    4 << 20
} else {
    16 << 20
};
/// Entries each writer is asked for: more than it can write before it is killed.
const COUNT: u64 = 1_000_000_000;
/// Bounds of the random choices.
const SIZE_BYTES: (u64, u64) = (1, 2000);
const SEGMENT_BYTES: (u64, u64) = (16 << 10, 64 << 10);
const BATCH: (u64, u64) = (1, 64);
/// Bounds of the window of `--pipeline` (entries in flight).
const PIPELINE: (u64, u64) = (1, 1024);
const DELAY_MS: (u64, u64) = (2, 200);
const SECOND_DELAY_MS: (u64, u64) = (0, 30);
/// One first writer in this many is killed at a delay from its start (which may land
/// while it opens the log); the others at a delay from their first acknowledgement.
const FROM_START_ONE_IN: u64 = 4;
/// How long to wait for a first acknowledgement before killing anyway.
const FIRST_ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// A second writer follows the first one's kill, before any recovery, one cycle in this many.
const SECOND_WRITER_ONE_IN: u64 = 4;
/// Seeds of second writers are their cycle plus this.
const SECOND_SEED_BASE: u64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
enum Sync {
    Always,
    Batch(u64),
    /// `--pipeline N`.
    Pipeline(u64),
}

/// One writer process: the arguments it ran with.
#[derive(Debug, Clone, Copy)]
struct Writer {
    seed: u64,
    size: usize,
    segment_bytes: u32,
    sync: Sync,
}

impl Writer {
    fn random(rng: &mut Rng, seed: u64) -> Writer {
        Writer {
            seed,
            size: usize::try_from(rng.between(SIZE_BYTES.0, SIZE_BYTES.1)).unwrap(),
            segment_bytes: u32::try_from(rng.between(SEGMENT_BYTES.0, SEGMENT_BYTES.1)).unwrap(),
            sync: match rng.next_u64() % 3 {
                0 => Sync::Always,
                1 => Sync::Batch(rng.between(BATCH.0, BATCH.1)),
                _ => Sync::Pipeline(rng.between(PIPELINE.0, PIPELINE.1)),
            },
        }
    }

    fn args(&self, dir: &Path) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "write".into(),
            dir.to_str().unwrap().into(),
            "--count".into(),
            COUNT.to_string(),
            "--size".into(),
            self.size.to_string(),
            "--seed".into(),
            self.seed.to_string(),
            "--segment-size".into(),
            self.segment_bytes.to_string(),
            "--ack".into(),
        ];
        match self.sync {
            Sync::Always => args.extend(["--sync".into(), "always".into()]),
            Sync::Batch(n) => {
                args.extend([
                    "--sync".into(),
                    "batch".into(),
                    "--batch".into(),
                    n.to_string(),
                ]);
            }
            Sync::Pipeline(n) => args.extend(["--pipeline".into(), n.to_string()]),
        }
        args
    }

    /// Whether `payload` is what this writer writes at `offset`: `{seed}:{offset};`
    /// repeated and cut to its size.
    fn wrote(&self, offset: u64, payload: &[u8]) -> bool {
        let unit = format!("{}:{offset};", self.seed);
        let unit = unit.as_bytes();
        payload.len() == self.size
            && payload
                .chunks(unit.len())
                .all(|chunk| chunk == &unit[..chunk.len()])
    }
}

/// When to kill a writer.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after it was started.
    AfterStart(Duration),
    /// This long after its first acknowledgement.
    AfterFirstAck(Duration),
}

/// What one writer did before it was killed.
#[derive(Debug)]
struct Killed {
    writer: Writer,
    /// Its `synced` lines, in order.
    acks: Vec<u64>,
    stderr: String,
}

impl Killed {
    fn acked(&self) -> Option<u64> {
        self.acks.last().copied()
    }
}

/// Starts a writer, kills it with SIGKILL after `delay`, and collects what it printed.
fn run_and_kill(dir: &Path, writer: Writer, kill: Kill, context: &str) -> Killed {
    let mut child = Command::new(env!("CARGO_BIN_EXE_walctl"))
        .args(writer.args(dir))
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn walctl");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let (first_line, first_line_seen) = std::sync::mpsc::channel::<()>();
    // Whole lines only: a line cut by the kill is no acknowledgement the writer gave.
    let lines = std::thread::spawn(move || {
        let mut first = Some(first_line);
        wal_testkit::child::whole_lines(stdout, |_| {
            if let Some(first_line) = first.take() {
                let _ = first_line.send(());
            }
        })
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    match kill {
        Kill::AfterStart(delay) => std::thread::sleep(delay),
        Kill::AfterFirstAck(delay) => {
            // Without an acknowledgement in time (or if the writer ended), kill now: the
            // checks below say what happened.
            if first_line_seen.recv_timeout(FIRST_ACK_TIMEOUT).is_ok() {
                std::thread::sleep(delay);
            }
        }
    }
    let early = child.try_wait().unwrap();
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let lines = lines.join().unwrap();
    let stderr = errors.join().unwrap();
    assert!(
        early.is_none() && status.signal() == Some(9),
        "{context}: the writer ended before it was killed ({status:?}); stderr: {stderr}; stdout: {lines:?}"
    );
    let mut acks = Vec::with_capacity(lines.len());
    for line in &lines {
        let offset = line
            .strip_prefix("synced ")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{context}: not an acknowledgement: {line:?}"));
        assert!(
            acks.last().is_none_or(|&last| offset >= last),
            "{context}: acknowledgements went backwards: {lines:?}"
        );
        acks.push(offset);
    }
    Killed {
        writer,
        acks,
        stderr,
    }
}

/// What the log is known to hold: the writer of every entry, by offset.
#[derive(Default)]
struct Model {
    writers: Vec<Writer>,
    /// Index into `writers` of the writer of each entry, from offset 0.
    owners: Vec<usize>,
    /// One past the highest offset ever acknowledged.
    acked_end: u64,
}

/// Counts for the summary of a run.
#[derive(Default)]
struct Tally {
    writers: u64,
    /// Writers that ran with `--pipeline`, and those of them acknowledged before the kill.
    pipelined: u64,
    pipelined_acked: u64,
    kills_before_first_ack: u64,
    /// Entries acknowledged (each counted once), entries acknowledged summed over the
    /// checks after each kill, and all entries summed over those checks.
    acked: u64,
    acked_checked: u64,
    entries_checked: u64,
    /// Entries that survived a kill without having been acknowledged.
    unacked_survivors: u64,
    problems: BTreeMap<&'static str, u64>,
    actions: BTreeMap<&'static str, u64>,
    directories: u64,
    largest_log_bytes: u64,
    largest_log_entries: u64,
    recovery: Duration,
}

/// Which of `killed` (in the order they ran) wrote each of `payloads` (the entries from
/// `first` on), or why none can have.
fn attribute(first: u64, payloads: &[Vec<u8>], killed: &[Killed]) -> Result<Vec<usize>, String> {
    // No entry at or below an offset a writer acknowledged belongs to a later writer.
    let allowed = |offset: u64, payload: &[u8], j: usize| {
        killed[j].writer.wrote(offset, payload)
            && killed[..j]
                .iter()
                .all(|k| k.acked().is_none_or(|acked| offset > acked))
    };
    // The writers that may have written each entry, given those before it.
    let mut possible: Vec<Vec<bool>> = Vec::with_capacity(payloads.len());
    for (i, payload) in payloads.iter().enumerate() {
        let offset = first + i as u64;
        let row: Vec<bool> = (0..killed.len())
            .map(|j| {
                let after = possible
                    .last()
                    .is_none_or(|prev: &Vec<bool>| prev[..=j].iter().any(|&p| p));
                after && allowed(offset, payload, j)
            })
            .collect();
        if !row.iter().any(|&p| p) {
            let shown = String::from_utf8_lossy(&payload[..payload.len().min(40)]).into_owned();
            return Err(format!(
                "entry {offset} ({} bytes, {shown:?}...) is not what any writer of this cycle wrote there, in order",
                payload.len()
            ));
        }
        possible.push(row);
    }
    let mut owners = vec![0; payloads.len()];
    let mut bound = killed.len() - 1;
    for (i, row) in possible.iter().enumerate().rev() {
        let j = (0..=bound).rev().find(|&j| row[j]).unwrap();
        owners[i] = j;
        bound = j;
    }
    Ok(owners)
}

fn recovery_options(segment_bytes: u32) -> RecoveryOptions {
    RecoveryOptions::default().with_wal(WalOptions::default().with_segment_bytes(segment_bytes))
}

/// Recovers the directory after this cycle's kills and checks it against the model,
/// which it then extends with the entries that survived.
fn check_after_kills(
    dir: &Path,
    model: &mut Model,
    killed: &[Killed],
    tally: &mut Tally,
    context: &str,
) {
    let started = Instant::now();
    let recovered: Recovered =
        wal_recovery::open(dir, recovery_options(killed[0].writer.segment_bytes))
            .unwrap_or_else(|e| panic!("{context}: recovery refused: {e:?}"));
    tally.recovery += started.elapsed();
    let report = recovered.report.clone();
    for problem in &report.problems {
        *tally.problems.entry(problem.kind.name()).or_default() += 1;
    }
    for action in &report.actions {
        *tally.actions.entry(action.name()).or_default() += 1;
    }

    let known = model.owners.len() as u64;
    let mut prev_crc = 0u32;
    let mut next = 0u64;
    let mut new_payloads = Vec::new();
    for entry in recovered.log.iter() {
        let entry = entry.unwrap_or_else(|e| panic!("{context}: read after recovery: {e}"));
        assert_eq!(
            entry.offset, next,
            "{context}: offsets are contiguous from 0"
        );
        assert_eq!(
            entry.prev_crc,
            Some(prev_crc),
            "{context}: entry {} chains from the one before",
            entry.offset
        );
        let crc = crc::chain(prev_crc, &entry.payload);
        assert_eq!(
            entry.crc,
            Some(crc),
            "{context}: crc of entry {}",
            entry.offset
        );
        prev_crc = crc;
        if entry.offset < known {
            let writer = &model.writers[model.owners[usize::try_from(entry.offset).unwrap()]];
            assert!(
                writer.wrote(entry.offset, &entry.payload),
                "{context}: entry {} changed since the previous recovery (written by {writer:?}): {:?}",
                entry.offset,
                String::from_utf8_lossy(&entry.payload)
            );
        } else {
            new_payloads.push(entry.payload);
        }
        next += 1;
    }
    let end = next;
    assert!(
        end >= known,
        "{context}: entries {end}..{known}, held after the previous recovery, are gone: {report:#?}"
    );
    let acked = killed.iter().filter_map(Killed::acked).max();
    if let Some(acked) = acked {
        assert!(
            end > acked,
            "{context}: acknowledged entries {end}..={acked} are lost: {report:#?}"
        );
        tally.acked_checked += acked + 1;
        tally.acked += (acked + 1).saturating_sub(model.acked_end);
        model.acked_end = model.acked_end.max(acked + 1);
    }
    let owners = attribute(known, &new_payloads, killed)
        .unwrap_or_else(|why| panic!("{context}: {why}: {report:#?}"));
    let base = model.writers.len();
    model.writers.extend(killed.iter().map(|k| k.writer));
    model.owners.extend(owners.iter().map(|j| base + j));
    tally.entries_checked += end;
    let acked_or_known = acked.map_or(known, |a| (a + 1).max(known));
    tally.unacked_survivors += end.saturating_sub(acked_or_known);
    assert_eq!(recovered.log.last_offset(), end.checked_sub(1), "{context}");
    drop(recovered);

    let verify = Command::new(env!("CARGO_BIN_EXE_walctl"))
        .args(["verify", dir.to_str().unwrap(), "--json"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{context}: walctl verify after recovery: {stdout} {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let last = end
        .checked_sub(1)
        .map_or("null".to_owned(), |l| l.to_string());
    assert!(
        stdout.contains(&format!("\"last_valid_offset\":{last},")),
        "{context}: walctl verify: {stdout}"
    );
}

/// The cursors the loop moves: the default one and a named one.
const CURSOR_NAMES: [&str; 2] = ["default", "kill-loop"];
/// A `walctl cursor --set` is killed this long after its start, when it is killed.
const CURSOR_KILL_DELAY_MS: (u64, u64) = (0, 60);

/// What the cursors are known to be: the last offset a `walctl cursor --set` of each
/// acknowledged, and the one a killed `--set` may have written.
#[derive(Default)]
struct Cursors {
    acked: BTreeMap<&'static str, u64>,
    maybe: Option<(&'static str, u64)>,
    sets_acked: u64,
    sets_killed: u64,
}

impl Cursors {
    /// Opens `dir` through recovery and checks every cursor against what was
    /// acknowledged, and that replay after it starts right after it.
    fn check(&mut self, dir: &Path, segment_bytes: u32, context: &str) {
        let recovered = wal_recovery::open(dir, recovery_options(segment_bytes))
            .unwrap_or_else(|e| panic!("{context}: recovery refused: {e:?}"));
        let log = &recovered.log;
        if let Some((name, offset)) = self.maybe.take() {
            // A killed `--set`: the old cursor or the new one, whole.
            if log.cursor(name).unwrap() == Some(offset) {
                self.acked.insert(name, offset);
            }
        }
        for name in CURSOR_NAMES {
            let expected = self.acked.get(name).copied();
            assert_eq!(
                log.cursor(name).unwrap(),
                expected,
                "{context}: cursor {name} is not the last one acknowledged"
            );
            let first_replayed = log
                .replay_for(name)
                .unwrap()
                .next()
                .map(|e| e.unwrap().offset);
            let expected_first = expected.map_or(0, |c| c + 1);
            assert_eq!(
                first_replayed,
                (expected_first < log.next_offset()).then_some(expected_first),
                "{context}: replay after cursor {name} ({expected:?})"
            );
        }
    }

    /// Moves one cursor forward to an entry of the log (`next` entries from 0) with
    /// `walctl cursor --set`, killed at a random moment two times in three.
    fn set_one(&mut self, dir: &Path, next: u64, rng: &mut Rng, context: &str) {
        let Some(last) = next.checked_sub(1) else {
            return;
        };
        let name = CURSOR_NAMES[usize::try_from(rng.below(2)).unwrap()];
        let from = self.acked.get(name).copied().unwrap_or(0);
        let offset = rng.between(from, last);
        let mut child = Command::new(env!("CARGO_BIN_EXE_walctl"))
            .args(["cursor", dir.to_str().unwrap(), "--name", name])
            .args(["--set", &offset.to_string()])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn walctl cursor");
        if !rng.one_in(3) {
            let delay = rng.between(CURSOR_KILL_DELAY_MS.0, CURSOR_KILL_DELAY_MS.1);
            std::thread::sleep(Duration::from_millis(delay));
            let _ = child.kill();
        }
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.signal() == Some(9) {
            self.sets_killed += 1;
            self.maybe = Some((name, offset));
            return;
        }
        assert!(
            output.status.success() && stdout.ends_with(&format!("{offset} (ok)\n")),
            "{context}: walctl cursor --name {name} --set {offset}: {:?} {stdout} {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        self.sets_acked += 1;
        self.acked.insert(name, offset);
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// A directory that is kept, and named, when the test fails.
struct Scratch(Option<tempfile::TempDir>);

impl Scratch {
    fn new() -> Scratch {
        let parent = std::env::var_os(TMPDIR_VAR).map_or_else(std::env::temp_dir, PathBuf::from);
        let dir = tempfile::Builder::new()
            .prefix("walctl-kill-loop-")
            .tempdir_in(parent)
            .unwrap();
        Scratch(Some(dir))
    }

    /// The log's directory (inside the scratch directory, so that a writer killed before
    /// it creates it leaves none).
    fn log(&self) -> PathBuf {
        self.0.as_ref().unwrap().path().join("log")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.0.take()
        {
            eprintln!("kill loop: kept the directory {}", dir.keep().display());
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

#[test]
fn acknowledged_entries_survive_kill_9_at_random_moments() {
    let cycles = env_u64(CYCLES_VAR, DEFAULT_CYCLES);
    let seed = env_u64(SEED_VAR, DEFAULT_SEED);
    assert!(cycles > 0, "{CYCLES_VAR} must be at least 1");
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let mut scratch = Scratch::new();
    let mut model = Model::default();
    tally.directories = 1;
    // The cursors' own random choices, apart from the writers' (so that a seed still
    // picks the same writers it did before cursors came along).
    let mut cursor_rng = Rng::new(seed ^ 0x6375_7273_6f72);
    let mut cursors = Cursors::default();

    for cycle in 0..cycles {
        let dir = scratch.log();
        let first = Writer::random(&mut rng, cycle);
        let delay = Duration::from_millis(rng.between(DELAY_MS.0, DELAY_MS.1));
        let kill = if rng.next_u64().is_multiple_of(FROM_START_ONE_IN) {
            Kill::AfterStart(delay)
        } else {
            Kill::AfterFirstAck(delay)
        };
        let mut writers = vec![(first, kill)];
        if rng.next_u64().is_multiple_of(SECOND_WRITER_ONE_IN) {
            writers.push((
                Writer::random(&mut rng, SECOND_SEED_BASE + cycle),
                Kill::AfterStart(Duration::from_millis(
                    rng.between(SECOND_DELAY_MS.0, SECOND_DELAY_MS.1),
                )),
            ));
        }
        let plan: Vec<String> = writers
            .iter()
            .map(|(w, kill)| format!("{w:?} killed {kill:?}"))
            .collect();
        let context = format!(
            "{SEED_VAR}={seed} cycle {cycle} (of {cycles}) in {}, writers [{}]",
            dir.display(),
            plan.join("; ")
        );
        let mut killed = Vec::new();
        for (i, (writer, kill)) in writers.into_iter().enumerate() {
            let one = run_and_kill(&dir, writer, kill, &context);
            // The first writer finds a recovered, clean log: it has nothing to say. A
            // second one may warn about what its own recovery cut; never an error.
            if i == 0 {
                assert_eq!(one.stderr, "", "{context}: stderr of the first writer");
            } else {
                assert!(
                    one.stderr
                        .lines()
                        .all(|l| l.starts_with("walctl: warning: ")),
                    "{context}: stderr of the second writer: {}",
                    one.stderr
                );
            }
            tally.writers += 1;
            if let Sync::Pipeline(_) = one.writer.sync {
                tally.pipelined += 1;
                tally.pipelined_acked += u64::from(!one.acks.is_empty());
            }
            if one.acks.is_empty() {
                tally.kills_before_first_ack += 1;
            }
            killed.push(one);
        }
        let context = format!(
            "{context}; acknowledged: {:?}",
            killed.iter().map(Killed::acked).collect::<Vec<_>>()
        );
        check_after_kills(&dir, &mut model, &killed, &mut tally, &context);
        let segment_bytes = killed[0].writer.segment_bytes;
        cursors.check(&dir, segment_bytes, &context);
        let next = model.owners.len() as u64;
        cursors.set_one(&dir, next, &mut cursor_rng, &context);
        cursors.check(
            &dir,
            segment_bytes,
            &format!("{context}; after a cursor --set"),
        );

        let bytes = dir_bytes(&dir);
        tally.largest_log_bytes = tally.largest_log_bytes.max(bytes);
        tally.largest_log_entries = tally.largest_log_entries.max(model.owners.len() as u64);
        if bytes > DIR_BYTES_MAX && cycle + 1 < cycles {
            scratch = Scratch::new();
            model = Model::default();
            cursors.acked.clear();
            tally.directories += 1;
        }
        if cycles > DEFAULT_CYCLES && (cycle + 1) % 50 == 0 {
            eprintln!(
                "kill loop: {} cycles in {:.1} s",
                cycle + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }

    println!(
        "kill loop: cursors set {} times, {} of them killed",
        cursors.sets_acked + cursors.sets_killed,
        cursors.sets_killed
    );
    println!(
        "kill loop: {cycles} cycles ({SEED_VAR}={seed}) in {:.1} s: {} writers killed ({} before their first acknowledgement; {} pipelined, {} of them acknowledged), {} entries acknowledged, checked {} times as acknowledged entries and {} times as entries after kills, {} unacknowledged entries survived, {} directories, largest log {} entries / {} bytes, recovery time {:.1} s; problems found by recovery {:?}; actions {:?}",
        started.elapsed().as_secs_f64(),
        tally.writers,
        tally.kills_before_first_ack,
        tally.pipelined,
        tally.pipelined_acked,
        tally.acked,
        tally.acked_checked,
        tally.entries_checked,
        tally.unacked_survivors,
        tally.directories,
        tally.largest_log_entries,
        tally.largest_log_bytes,
        tally.recovery.as_secs_f64(),
        tally.problems,
        tally.actions,
    );
    assert!(
        tally.writers > tally.kills_before_first_ack,
        "no writer was ever acknowledged before its kill: the loop checked nothing"
    );
}
