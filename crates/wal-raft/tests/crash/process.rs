//! Starting a child, killing it, and reading what it printed.

use std::io::{BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::protocol::{
    Ack, Applied, CHILD_BATCH_VAR, CHILD_CLIENTS_VAR, CHILD_CYCLE_VAR, CHILD_DIR_VAR,
    CHILD_SNAPSHOT_VAR, Line,
};

/// How long a child may take from its start to the line a kill waits for (its `ready`,
/// or its k-th acknowledgement) before it is taken to hang, which fails the test. Only a
/// guard: a healthy child gets there within a second or two, and this is longer than
/// the child's own guard on its startup (`child::LEAD_TIMEOUT`), so that a child stuck
/// there ends with its own error first.
const PROGRESS_WAIT: Duration = Duration::from_secs(240);

/// When to kill a child.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kill {
    /// This long after it was started.
    SinceStart(Duration),
    /// This long after its `ready` line.
    SinceReady(Duration),
    /// Once it has printed this many acknowledgements (at once after its `ready` line
    /// for 0).
    OnAcks(usize),
}

/// A line of the child that a kill may wait for, as the reader thread sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Ready,
    Ack,
}

/// What a child printed before it was killed (or ended).
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Its report, if it printed the whole of it.
    pub(crate) report: Option<Vec<Applied>>,
    pub(crate) acks: Vec<Ack>,
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

/// What a child is asked to do: its cycle, its clients, the most writes they put in one
/// entry through the batcher (0: no batcher, an entry per write), and how many entries
/// apart it takes snapshots and purges the log (0: never).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) cycle: u64,
    pub(crate) clients: u64,
    pub(crate) batch: usize,
    pub(crate) snapshot_every: u64,
}

fn spawn_child(dir: &Path, plan: Plan) -> Running {
    let child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_DIR_VAR, dir)
        .env(CHILD_CYCLE_VAR, plan.cycle.to_string())
        .env(CHILD_CLIENTS_VAR, plan.clients.to_string())
        .env(CHILD_BATCH_VAR, plan.batch.to_string())
        .env(CHILD_SNAPSHOT_VAR, plan.snapshot_every.to_string())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child");
    Running(child)
}

/// Collects the child's whole lines on a thread (a line cut by the kill is no
/// acknowledgement), signalling its `ready` line and each acknowledgement; and its
/// stderr on another.
fn collect(
    child: &mut Running,
) -> (
    JoinHandle<Vec<String>>,
    JoinHandle<String>,
    Receiver<Progress>,
) {
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut stderr = child.0.stderr.take().unwrap();
    let (progress, progress_seen) = channel();
    let lines = std::thread::spawn(move || {
        wal_testkit::child::whole_lines(stdout, |text| {
            let seen = if text.starts_with("ready ") {
                Some(Progress::Ready)
            } else if text.starts_with("ack ") {
                Some(Progress::Ack)
            } else {
                None
            };
            if let Some(seen) = seen {
                // The parent stops listening once its kill is due.
                let _ = progress.send(seen);
            }
        })
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    (lines, errors, progress_seen)
}

/// Waits for the child's `ready` line, then for `acks` acknowledgements; says what did
/// not come if the child ended first or took longer than [`PROGRESS_WAIT`].
fn wait_for(progress: &Receiver<Progress>, acks: usize) -> Result<(), String> {
    let deadline = Instant::now() + PROGRESS_WAIT;
    let mut ready = false;
    let mut acked = 0;
    while !ready || acked < acks {
        let left = deadline.saturating_duration_since(Instant::now());
        match progress.recv_timeout(left) {
            Ok(Progress::Ready) => ready = true,
            Ok(Progress::Ack) => acked += 1,
            Err(e) => {
                let why = match e {
                    RecvTimeoutError::Timeout => format!("hangs ({PROGRESS_WAIT:?})"),
                    RecvTimeoutError::Disconnected => "ended".to_owned(),
                };
                return Err(format!(
                    "the child {why} before the line its kill waits for: \
                     ready {ready}, {acked} of {acks} acknowledgements"
                ));
            }
        }
    }
    Ok(())
}

/// Runs a child as `plan` says and kills it as `kill` says; returns its output.
pub(crate) fn run_and_kill(dir: &Path, plan: Plan, kill: Kill, context: &str) -> Output {
    let mut child = spawn_child(dir, plan);
    let (lines, errors, progress) = collect(&mut child);
    let waited = match kill {
        Kill::SinceStart(delay) => {
            std::thread::sleep(delay);
            Ok(())
        }
        Kill::SinceReady(delay) => wait_for(&progress, 0).map(|()| std::thread::sleep(delay)),
        Kill::OnAcks(acks) => wait_for(&progress, acks),
    };
    let early = child.0.try_wait().unwrap();
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    let lines = lines.join().unwrap();
    let stderr = errors.join().unwrap();
    if let Err(missing) = waited {
        panic!("{context}: {missing} ({status:?}); stderr: {stderr}");
    }
    assert!(
        early.is_none() && status.signal() == Some(9),
        "{context}: the child ended before it was killed ({status:?}); stderr: {stderr}"
    );
    Output::parse(&lines, context)
}

/// Runs a child with no writers to the end: its report is the check after the last kill.
pub(crate) fn check_run(dir: &Path, cycle: u64, context: &str) -> Vec<Applied> {
    let plan = Plan {
        cycle,
        clients: 0,
        batch: 0,
        snapshot_every: 0,
    };
    let mut child = spawn_child(dir, plan);
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
