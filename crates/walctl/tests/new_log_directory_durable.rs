//! Found by the crash-testing work: a new log directory is not made durable in its
//! parent before the first entry is acknowledged.
//!
//! `walctl write` (through `wal_recovery::open` and `Wal::open`) creates the log's
//! directory with `create_dir_all`, then creates, syncs and renames the first segment and
//! fsyncs the log directory, and acknowledges entries once their bytes are synced. The
//! directory's own entry in its parent is never fsynced, so after a power loss the whole
//! directory, acknowledged entries included, may be gone: a file system persists a new
//! directory entry only when its parent is synced (ext4's journal happens to commit the
//! mkdir together with the child's fsync; POSIX promises nothing of the kind). The
//! recovery crate does fsync the parent when it creates its quarantine folder.
//!
//! No power-loss image shows this (an image without the directory recovers, correctly,
//! to an empty log), so the test reads the system calls with `strace`: between the
//! `mkdir` of the log directory and the first `synced` line, the parent directory must be
//! opened and fsynced.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

use std::path::Path;
use std::process::{Command, Stdio};

const STRACE: &str = "/usr/bin/strace";

/// The number in `= N` at the end of a finished system call line.
fn returned(line: &str) -> Option<i64> {
    line.rsplit_once(" = ")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn the_parent_of_a_new_log_directory_is_fsynced_before_the_first_acknowledgement() {
    assert!(
        Path::new(STRACE).is_file(),
        "this test needs strace at {STRACE} to see the system calls (apt-get install strace)"
    );
    let parent = wal_testkit::scratch::on_disk("walctl-new-log-");
    let parent = parent.path().canonicalize().unwrap();
    let log = parent.join("log");
    let trace = parent.join("strace.txt");
    let status = Command::new(STRACE)
        .args(["-f", "-qq", "-e", "signal=none"])
        .args([
            "-e",
            "trace=mkdir,mkdirat,open,openat,fsync,fdatasync,write",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_walctl"))
        .args(["write", log.to_str().unwrap()])
        .args(["--count", "1", "--size", "10", "--sync", "always", "--ack"])
        .args(["--segment-size", "4096"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "walctl under strace: {status:?}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    let quoted = |p: &Path| format!("\"{}", p.display());
    let mkdir = lines
        .iter()
        .position(|l| l.contains("mkdir") && l.contains(&format!("{}\"", quoted(&log))))
        .unwrap_or_else(|| panic!("no mkdir of {} in the trace:\n{text}", log.display()));
    let ack = lines
        .iter()
        .position(|l| l.contains("write(1, \"synced "))
        .unwrap_or_else(|| panic!("no acknowledgement in the trace:\n{text}"));
    assert!(mkdir < ack);

    // The parent, however it is spelled, opened after the mkdir; its fd fsynced before
    // the acknowledgement.
    let spellings = [
        format!("{}\"", quoted(&parent)),
        format!("{}/\"", quoted(&parent)),
        format!("{}/..\"", quoted(&log)),
    ];
    let parent_fds: Vec<(String, i64)> = lines[mkdir..ack]
        .iter()
        .filter(|l| l.contains("open") && spellings.iter().any(|s| l.contains(s.as_str())))
        .filter_map(|l| Some((l.split_whitespace().next()?.to_owned(), returned(l)?)))
        .collect();
    let synced = lines[mkdir..ack].iter().any(|l| {
        parent_fds.iter().any(|(pid, fd)| {
            l.starts_with(&format!("{pid} "))
                && ["fsync", "fdatasync"].iter().any(|call| {
                    l.contains(&format!("{call}({fd})")) || l.contains(&format!("{call}({fd} "))
                })
        })
    });
    assert!(
        synced,
        "{} was created but its parent {} was never fsynced before entry 0 was acknowledged: \
         a power loss may take the whole log with it. System calls between the mkdir and the \
         acknowledgement:\n{}",
        log.display(),
        parent.display(),
        lines[mkdir..=ack].join("\n")
    );
}
