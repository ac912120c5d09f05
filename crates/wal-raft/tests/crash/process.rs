//! Starting a child, killing it, and reading what it printed.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::protocol::{
    Ack, Applied, CHILD_BATCH_VAR, CHILD_CLIENTS_VAR, CHILD_CYCLE_VAR, CHILD_DIR_VAR, Line,
};

/// How long to wait for a child's report before killing it anyway (the kill then counts
/// as one during its recovery). Generous: it decides when the kill lands, never whether
/// the test passes; a healthy child reports within a fraction of a second.
const READY_WAIT: Duration = Duration::from_secs(60);

/// When to kill a child.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kill {
    /// This long after it was started.
    AfterStart(Duration),
    /// This long after its `ready` line.
    AfterReady(Duration),
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

/// What a child is asked to do: its cycle, its clients, and the most writes they put in
/// one entry through the batcher (0: no batcher, an entry per write).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) cycle: u64,
    pub(crate) clients: u64,
    pub(crate) batch: usize,
}

fn spawn_child(dir: &Path, plan: Plan) -> Running {
    let child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_DIR_VAR, dir)
        .env(CHILD_CYCLE_VAR, plan.cycle.to_string())
        .env(CHILD_CLIENTS_VAR, plan.clients.to_string())
        .env(CHILD_BATCH_VAR, plan.batch.to_string())
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
fn collect(child: &mut Running) -> (JoinHandle<Vec<String>>, JoinHandle<String>, Receiver<()>) {
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

/// Runs a child as `plan` says and kills it as `kill` says; returns its output.
pub(crate) fn run_and_kill(dir: &Path, plan: Plan, kill: Kill, context: &str) -> Output {
    let mut child = spawn_child(dir, plan);
    let (lines, errors, ready_seen) = collect(&mut child);
    match kill {
        Kill::AfterStart(delay) => std::thread::sleep(delay),
        Kill::AfterReady(delay) => {
            // Without a report in time (or if the child ended), kill now: the checks
            // below say what happened.
            if ready_seen.recv_timeout(READY_WAIT).is_ok() {
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
pub(crate) fn check_run(dir: &Path, cycle: u64, context: &str) -> Vec<Applied> {
    let plan = Plan {
        cycle,
        clients: 0,
        batch: 0,
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
