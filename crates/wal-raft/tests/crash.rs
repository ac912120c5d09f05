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
//! nor repeats it. (A SIGKILL keeps the page cache: this checks what the process did and
//! when it said so, not what a power loss would leave.)
//!
//! This file is both processes (`harness = false`; the child is this same executable, run
//! with `WAL_RAFT_CRASH_CHILD_DIR` set):
//!
//! - The child opens the log directory with `LogStore::open` and the default options but
//!   64 KiB segments (so the log rotates), starts node 1 on it with `support::StateMachine`
//!   (in memory, snapshots off, so it rebuilds itself by applying the log from the start),
//!   initializes the cluster if the log is new, waits to lead and to have applied every
//!   entry the log held at open, and prints what the state machine applied (`applied`
//!   lines, then `ready`). Then 1 to 16 client tasks write `Request { client, seq,
//!   payload }` concurrently, each seq the cycle number in the high 32 bits and a counter
//!   in the low ones (so a client's seqs grow across cycles and never repeat), each payload
//!   a function of (client, seq) of 0 to 300 bytes. After each write returns Ok the child
//!   prints `ack client seq index` and flushes. With no clients it only reports and exits:
//!   the final check run.
//! - The parent runs N cycles (16; `WAL_RAFT_CRASH_CYCLES` for more): a child is started
//!   and killed after a random delay, counted from its start one cycle in four (so that
//!   some kills land during its recovery, before it has written anything), else from its
//!   `ready` line (a few kills come before its first write, most while it writes). After
//!   each kill it runs `wal_recovery::verify` on the directory, and the next child's report
//!   (or the final check run's) is checked against every acknowledgement seen so far:
//!   - every acknowledged write is applied, once, at the index its acknowledgement named;
//!   - applied indexes increase, each client's seqs increase (so in the order it wrote
//!     them), no (client, seq) is applied twice, every payload is the one written;
//!   - every entry an earlier report showed applied is still there, in its place (an
//!     applied entry was committed: acknowledged or not, it must never go);
//!   - writes that were never acknowledged (the ones in flight at the kill) may be there
//!     or not (until a report shows them applied), but they obey the same rules: once, in
//!     order, only what was written.
//!
//! The report is the state machine's whole content, so a cycle costs time in proportion
//! to the log (the child's replay costs as much). To keep a long run linear, a log past
//! `DIR_ENTRIES_MAX` entries gets a final check run and the next cycle starts a new
//! directory, as the kill loop of `walctl` does.
//!
//! `WAL_RAFT_CRASH_SEED` picks the seed of the random choices (clients, delays); without
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

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openraft::{BasicNode, Config, Raft, ServerState, SnapshotPolicy};
use support::{Request, Router, StateMachine, TypeConfig};
use wal_raft::{LogStore, Options};
use wal_recovery::ProblemKind;
use wal_testkit::rng::Rng;

/// How many cycles to run.
const CYCLES_VAR: &str = "WAL_RAFT_CRASH_CYCLES";
/// The seed of the random choices.
const SEED_VAR: &str = "WAL_RAFT_CRASH_SEED";
/// Set in a child's environment: its log directory. Its presence makes the process a child.
const CHILD_DIR_VAR: &str = "WAL_RAFT_CRASH_CHILD_DIR";
/// Set in a child's environment: the cycle it runs in (the high half of its seqs).
const CHILD_CYCLE_VAR: &str = "WAL_RAFT_CRASH_CHILD_CYCLE";
/// Set in a child's environment: how many clients write (0: report, then exit).
const CHILD_CLIENTS_VAR: &str = "WAL_RAFT_CRASH_CHILD_CLIENTS";
/// Cycles of the short form, run by `cargo test`.
const DEFAULT_CYCLES: u64 = 16;

/// The node's id: the cluster has this one node.
const NODE_ID: u64 = 1;
/// Segments this small rotate every few hundred entries.
const SEGMENT_BYTES: u32 = 64 << 10;
/// Clients of a cycle: 1 to this many.
const CLIENTS_MAX: u64 = 16;
/// Payloads are 0 to this many bytes.
const PAYLOAD_BYTES_MAX: u64 = 300;
/// A seq is its cycle shifted by this, plus the client's count of writes in the cycle.
const SEQ_CYCLE_SHIFT: u32 = 32;

/// One cycle in this many kills the child at a delay from its start, the others at a
/// delay from its report.
const FROM_START_ONE_IN: u64 = 4;
/// Bounds of a kill's delay from the child's start (its startup takes 10 ms to a few
/// hundred, growing with the log it replays).
const START_DELAY_MS: (u64, u64) = (0, 150);
/// Of the kills counted from the report, one in this many comes at once: before the
/// clients' first writes, or among them.
const AT_READY_ONE_IN: u64 = 8;
/// Bounds of a kill's delay from the child's report.
const READY_DELAY_MS: (u64, u64) = (0, 250);
/// How long a child may take to recover and report. Generous: a busy machine must not
/// fail the test; a healthy child needs a fraction of a second.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// A log with more entries than this gets a final check and a new directory.
const DIR_ENTRIES_MAX: usize = if cfg!(debug_assertions) {
    20_000
} else {
    50_000
};

fn main() -> ExitCode {
    match std::env::var_os(CHILD_DIR_VAR) {
        Some(dir) => child_main(PathBuf::from(dir)),
        None => {
            parent_main();
            ExitCode::SUCCESS
        }
    }
}

// ---------------------------------------------------------------------------------------
// What the child writes, and how both sides spell it.

/// The payload of `seq` of `client`: `client:seq;` repeated and cut to a length that is a
/// function of both, from 0 to `PAYLOAD_BYTES_MAX` bytes.
fn payload(client: u64, seq: u64) -> Vec<u8> {
    let len = Rng::new(client.rotate_left(SEQ_CYCLE_SHIFT) ^ seq).below(PAYLOAD_BYTES_MAX + 1);
    let unit = format!("{client}:{seq};");
    unit.bytes()
        .cycle()
        .take(usize::try_from(len).unwrap())
        .collect()
}

/// One normal entry the state machine applied, as the child reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Applied {
    index: u64,
    client: u64,
    seq: u64,
    /// Whether its payload is `payload(client, seq)`.
    payload_ok: bool,
}

/// A write the child saw acknowledged: `client_write` returned Ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ack {
    client: u64,
    seq: u64,
    /// The index in the state machine's response.
    index: u64,
    /// The index of the response's log id (the same, or the check fails).
    log_index: u64,
}

/// A line of the child's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// `applied <index> <client> <seq> <payload ok: 1 or 0>`: one entry of the report.
    Applied(Applied),
    /// `ready <entries>`: the report is whole, writes begin.
    Ready(usize),
    /// `ack <client> <seq> <index> <log index>`.
    Ack(Ack),
}

impl Line {
    fn parse(text: &str) -> Option<Line> {
        let mut words = text.split(' ');
        let kind = words.next()?;
        let numbers: Vec<u64> = words.map(|w| w.parse().ok()).collect::<Option<_>>()?;
        match (kind, numbers.as_slice()) {
            ("applied", &[index, client, seq, ok]) if ok <= 1 => Some(Line::Applied(Applied {
                index,
                client,
                seq,
                payload_ok: ok == 1,
            })),
            ("ready", &[entries]) => Some(Line::Ready(usize::try_from(entries).ok()?)),
            ("ack", &[client, seq, index, log_index]) => Some(Line::Ack(Ack {
                client,
                seq,
                index,
                log_index,
            })),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The child: a single-node cluster on the log, reporting, then writing until killed.

type ChildResult<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

fn child_main(dir: PathBuf) -> ExitCode {
    let run = || -> ChildResult {
        let cycle: u64 = std::env::var(CHILD_CYCLE_VAR)?.parse()?;
        let clients: u64 = std::env::var(CHILD_CLIENTS_VAR)?.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(child(dir, cycle, clients))
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash test child: {e}");
            ExitCode::FAILURE
        }
    }
}

fn raft_config() -> ChildResult<Arc<Config>> {
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        // The state machine is in memory: it must rebuild itself from the whole log.
        snapshot_policy: SnapshotPolicy::Never,
        ..Config::default()
    };
    Ok(Arc::new(config.validate()?))
}

async fn child(dir: PathBuf, cycle: u64, clients: u64) -> ChildResult {
    let options = Options::default().with_segment_bytes(SEGMENT_BYTES);
    let store = LogStore::<TypeConfig>::open(&dir, options)?;
    let last_at_open = store.log().last_offset();
    let state_machine = StateMachine::new();
    let router = Router::new();
    let raft = Raft::new(
        NODE_ID,
        raft_config()?,
        router.clone(),
        store,
        state_machine.clone(),
    )
    .await?;
    router.add(NODE_ID, raft.clone());
    // A log with the membership entry in it is initialized already; one killed before
    // that entry was written is new again.
    if !raft.is_initialized().await? {
        let members = BTreeMap::from([(NODE_ID, BasicNode::default())]);
        raft.initialize(members).await?;
    }
    raft.wait(Some(READY_TIMEOUT))
        .metrics(
            |m| m.state == ServerState::Leader && m.last_applied.map(|id| id.index) >= last_at_open,
            "the node leads and has applied the log it opened",
        )
        .await?;
    report(&state_machine)?;
    if clients == 0 {
        raft.shutdown().await?;
        return Ok(());
    }
    let writers: Vec<_> = (1..=clients)
        .map(|client| tokio::spawn(write_forever(raft.clone(), client, cycle)))
        .collect();
    for writer in writers {
        writer.await??;
    }
    Ok(())
}

/// Prints what the state machine applied, then `ready`.
fn report(state_machine: &StateMachine) -> ChildResult {
    let applied = state_machine.applied();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (index, request) in &applied {
        let ok = request.payload == payload(request.client, request.seq);
        writeln!(
            out,
            "applied {index} {} {} {}",
            request.client,
            request.seq,
            u8::from(ok)
        )?;
    }
    writeln!(out, "ready {}", applied.len())?;
    out.flush()?;
    Ok(())
}

/// Writes as `client` until the process is killed (or its output is gone: the parent
/// died), printing each acknowledgement.
async fn write_forever(raft: Raft<TypeConfig>, client: u64, cycle: u64) -> ChildResult {
    for count in 0.. {
        let seq = (cycle << SEQ_CYCLE_SHIFT) | count;
        let request = Request {
            client,
            seq,
            payload: payload(client, seq),
        };
        let response = raft.client_write(request).await?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "ack {client} {seq} {} {}",
            response.data.index, response.log_id.index
        )?;
        out.flush()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The parent: cycles of start, kill, verify, and the check of the next report.

/// When to kill a child.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after it was started.
    AfterStart(Duration),
    /// This long after its `ready` line.
    AfterReady(Duration),
}

/// What a child printed before it was killed (or ended).
#[derive(Debug, Default)]
struct Output {
    /// Its report, if it printed the whole of it.
    report: Option<Vec<Applied>>,
    acks: Vec<Ack>,
}

impl Output {
    fn parse(lines: &[String], context: &str) -> Output {
        let mut output = Output::default();
        let mut applied = Vec::new();
        for line in lines {
            match Line::parse(line) {
                Some(Line::Applied(one)) if output.report.is_none() => applied.push(one),
                Some(Line::Ready(entries)) if output.report.is_none() => {
                    assert_eq!(entries, applied.len(), "{context}: report length");
                    output.report = Some(std::mem::take(&mut applied));
                }
                Some(Line::Ack(ack)) if output.report.is_some() => output.acks.push(ack),
                _ => panic!("{context}: unexpected line from the child: {line:?}"),
            }
        }
        output
    }
}

/// A child process, killed if the parent panics (so that none outlives a failed test).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(dir: &Path, cycle: u64, clients: u64) -> Running {
    let child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_DIR_VAR, dir)
        .env(CHILD_CYCLE_VAR, cycle.to_string())
        .env(CHILD_CLIENTS_VAR, clients.to_string())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child");
    Running(child)
}

/// Collects the child's whole lines on a thread (a line cut by the kill is no
/// acknowledgement), signalling its `ready` line; and its stderr on another.
fn collect(
    child: &mut Running,
) -> (
    std::thread::JoinHandle<Vec<String>>,
    std::thread::JoinHandle<String>,
    Receiver<()>,
) {
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut stderr = child.0.stderr.take().unwrap();
    let (ready, ready_seen) = channel();
    let lines = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = stdout.read_until(b'\n', &mut line).unwrap();
            if read == 0 || line.last() != Some(&b'\n') {
                return lines;
            }
            line.pop();
            let text = String::from_utf8(line.clone()).unwrap();
            if text.starts_with("ready ") {
                let _ = ready.send(());
            }
            lines.push(text);
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    (lines, errors, ready_seen)
}

/// Runs a child with `clients` writers and kills it as `kill` says; returns its output.
fn run_and_kill(dir: &Path, cycle: u64, clients: u64, kill: Kill, context: &str) -> Output {
    let mut child = spawn_child(dir, cycle, clients);
    let (lines, errors, ready_seen) = collect(&mut child);
    match kill {
        Kill::AfterStart(delay) => std::thread::sleep(delay),
        Kill::AfterReady(delay) => {
            // Without a report in time (or if the child ended), kill now: the checks
            // below say what happened.
            if ready_seen.recv_timeout(READY_TIMEOUT).is_ok() {
                std::thread::sleep(delay);
            }
        }
    }
    let early = child.0.try_wait().unwrap();
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    let lines = lines.join().unwrap();
    let stderr = errors.join().unwrap();
    assert!(
        early.is_none() && status.signal() == Some(9),
        "{context}: the child ended before it was killed ({status:?}); stderr: {stderr}"
    );
    Output::parse(&lines, context)
}

/// Runs a child with no writers to the end: its report is the check after the last kill.
fn check_run(dir: &Path, cycle: u64, context: &str) -> Vec<Applied> {
    let mut child = spawn_child(dir, cycle, 0);
    let (lines, errors, _) = collect(&mut child);
    let status = child.0.wait().unwrap();
    let lines = lines.join().unwrap();
    let stderr = errors.join().unwrap();
    assert!(
        status.success(),
        "{context}: the check run failed ({status:?}); stderr: {stderr}"
    );
    Output::parse(&lines, context)
        .report
        .unwrap_or_else(|| panic!("{context}: the check run printed no report"))
}

/// What one log directory is known to hold.
#[derive(Debug, Default)]
struct Model {
    /// The first cycle that wrote to it.
    first_cycle: u64,
    /// Every write acknowledged in it, in the order of the acknowledgements.
    acked: Vec<Ack>,
    /// The highest index acknowledged in it.
    acked_last: Option<u64>,
    /// The last report checked: every entry in it was applied, so committed, and stays.
    last_report: Vec<Applied>,
    /// How many writes had been acknowledged at the last report.
    acked_at_last_report: usize,
}

impl Model {
    /// Adds the acknowledgements of the child of `cycle`, after checking them alone.
    fn add(&mut self, acks: &[Ack], cycle: u64, context: &str) {
        let mut last_seq = HashMap::new();
        for ack in acks {
            assert!(
                (1..=CLIENTS_MAX).contains(&ack.client) && ack.seq >> SEQ_CYCLE_SHIFT == cycle,
                "{context}: an acknowledgement of something this child did not write: {ack:?}"
            );
            assert_eq!(
                ack.index, ack.log_index,
                "{context}: the response names another index than its log id"
            );
            let before = last_seq.insert(ack.client, ack.seq);
            assert!(
                before < Some(ack.seq),
                "{context}: client {} was acknowledged {:?} after {before:?}",
                ack.client,
                ack.seq
            );
            self.acked_last = self.acked_last.max(Some(ack.index));
        }
        self.acked.extend_from_slice(acks);
    }
}

/// Counts for the summary.
#[derive(Debug, Default)]
struct Tally {
    kills: u64,
    /// Kills that came before the child's report (during its startup and recovery).
    kills_before_report: u64,
    /// Kills after the report, before any acknowledgement.
    kills_before_first_ack: u64,
    acked: u64,
    /// Acknowledged writes found in reports, summed over the reports.
    acked_checked: u64,
    reports: u64,
    /// Writes found applied, never acknowledged: those in flight at a kill that made it.
    unacked_applied: u64,
    directories: u64,
    largest_log_entries: usize,
    problems: BTreeMap<&'static str, u64>,
}

/// Checks a report (what the state machine applied after recovery) against the model.
fn check_report(
    report: &[Applied],
    model: &mut Model,
    cycle: u64,
    tally: &mut Tally,
    context: &str,
) {
    let mut at = HashMap::with_capacity(report.len());
    let mut last_seq: HashMap<u64, u64> = HashMap::new();
    let mut last_index = None;
    for one in report {
        let written = (model.first_cycle..cycle).contains(&(one.seq >> SEQ_CYCLE_SHIFT));
        assert!(
            (1..=CLIENTS_MAX).contains(&one.client) && written && one.payload_ok,
            "{context}: applied {one:?}, which no child wrote to this log"
        );
        assert!(
            last_index < Some(one.index),
            "{context}: applied index {} after {last_index:?}",
            one.index
        );
        last_index = Some(one.index);
        if let Some(first) = at.insert((one.client, one.seq), one.index) {
            panic!(
                "{context}: client {} seq {} applied twice, at {first} and {}",
                one.client, one.seq, one.index
            );
        }
        let before = last_seq.insert(one.client, one.seq);
        assert!(
            before < Some(one.seq),
            "{context}: client {} seq {} applied after its seq {before:?}",
            one.client,
            one.seq
        );
    }
    for ack in &model.acked {
        assert_eq!(
            at.get(&(ack.client, ack.seq)),
            Some(&ack.index),
            "{context}: an acknowledged write is not applied at its index: {ack:?}"
        );
    }
    tally.reports += 1;
    tally.acked_checked += model.acked.len() as u64;
    // An applied entry was committed: applied once, it is applied after every restart.
    assert!(
        report.starts_with(&model.last_report),
        "{context}: the {} entries of the last report are not where they were",
        model.last_report.len()
    );
    // Every acknowledged write is in the report, so what is new since the last report and
    // not acknowledged since is what the kills let through unacknowledged.
    let new_entries = report.len() - model.last_report.len();
    let new_acked = model.acked.len() - model.acked_at_last_report;
    tally.unacked_applied += new_entries.saturating_sub(new_acked) as u64;
    model.last_report = report.to_vec();
    model.acked_at_last_report = model.acked.len();
    tally.largest_log_entries = tally.largest_log_entries.max(report.len());
}

/// Checks the directory as the kill left it, before any recovery: what `verify` finds must
/// be what a process killed at any moment may leave, and nothing at or before the last
/// acknowledged index.
fn check_directory(dir: &Path, model: &Model, tally: &mut Tally, context: &str) {
    if !dir.exists() {
        // Killed before `LogStore::open` created it: nothing was written.
        assert!(model.acked.is_empty(), "{context}: the log is gone");
        return;
    }
    let verification = wal_recovery::verify(dir, model.acked_last)
        .unwrap_or_else(|e| panic!("{context}: verify failed: {e}"));
    for problem in &verification.problems {
        *tally.problems.entry(problem.kind.name()).or_default() += 1;
        // A kill may leave a record half written at the end of the log (a torn tail)
        // or the temporary file of a metadata blob being replaced; recovery cuts the one
        // and removes the other. Anything else is damage a kill cannot explain, and any
        // problem at or before an acknowledged index would be the loss of a promise.
        let acceptable = matches!(problem.kind, ProblemKind::TornTail | ProblemKind::TempFile);
        assert!(
            acceptable && !problem.committed,
            "{context}: verify found {problem:?}"
        );
    }
    if let Some(acked_last) = model.acked_last {
        assert!(
            verification.last_valid_offset >= Some(acked_last),
            "{context}: the log's valid entries end at {:?}, before the acknowledged {acked_last}",
            verification.last_valid_offset
        );
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
    let mut model = Model::default();
    for cycle in 0..cycles {
        let dir = scratch.log();
        let clients = rng.between(1, CLIENTS_MAX);
        let kill = if rng.one_in(FROM_START_ONE_IN) {
            Kill::AfterStart(Duration::from_millis(
                rng.between(START_DELAY_MS.0, START_DELAY_MS.1),
            ))
        } else if rng.one_in(AT_READY_ONE_IN) {
            Kill::AfterReady(Duration::ZERO)
        } else {
            Kill::AfterReady(Duration::from_millis(
                rng.between(READY_DELAY_MS.0, READY_DELAY_MS.1),
            ))
        };
        let context = format!(
            "{SEED_VAR}={seed} cycle {cycle} (of {cycles}) in {}, {clients} clients, killed {kill:?}",
            dir.display()
        );
        let output = run_and_kill(&dir, cycle, clients, kill, &context);
        tally.kills += 1;
        match &output.report {
            Some(report) => check_report(report, &mut model, cycle, &mut tally, &context),
            None => tally.kills_before_report += 1,
        }
        if output.report.is_some() && output.acks.is_empty() {
            tally.kills_before_first_ack += 1;
        }
        model.add(&output.acks, cycle, &context);
        tally.acked += output.acks.len() as u64;
        check_directory(&dir, &model, &mut tally, &context);

        let full = output
            .report
            .is_some_and(|r| r.len() + output.acks.len() > DIR_ENTRIES_MAX);
        if full || cycle + 1 == cycles {
            let context = format!("{context}; the check run after it");
            let report = check_run(&dir, cycle + 1, &context);
            check_report(&report, &mut model, cycle + 1, &mut tally, &context);
            if cycle + 1 < cycles {
                scratch = Scratch::new();
                model = Model {
                    first_cycle: cycle + 1,
                    ..Model::default()
                };
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
    println!(
        "crash test: {cycles} cycles ({SEED_VAR}={seed}) in {:.1} s: {} kills ({} before the report, {} after it before any acknowledgement), {} writes acknowledged, checked {} times in {} reports, {} unacknowledged entries found applied, {} directories, largest log {} entries; problems verify found after kills {:?}",
        started.elapsed().as_secs_f64(),
        tally.kills,
        tally.kills_before_report,
        tally.kills_before_first_ack,
        tally.acked,
        tally.acked_checked,
        tally.reports,
        tally.unacked_applied,
        tally.directories,
        tally.largest_log_entries,
        tally.problems,
    );
    assert!(
        tally.acked_checked > 0,
        "no acknowledged write was ever checked: the test checked nothing"
    );
}
