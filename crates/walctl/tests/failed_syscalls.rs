//! walctl when a system call fails under it: the child runs with a fault plan from
//! `WALRS_FAULTS` (read by a build with wal-store's `fault-injection` feature, which
//! this crate's tests enable). The error is one line on stderr and exit code 2, no entry
//! acknowledged after a failed sync, and the log verifies clean afterwards with every
//! acknowledged entry there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::process::Stdio;

use common::*;

fn write_with_faults(dir: &std::path::Path, faults: &str) -> Run {
    let output = walctl()
        .args([
            "write",
            s(dir),
            "--count",
            "12",
            "--size",
            "40",
            "--segment-size",
            "256",
            "--sync",
            "always",
            "--ack",
        ])
        .env("WALRS_FAULTS", faults)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code().expect("walctl was killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The offsets `--ack` reported durable.
fn acknowledged(run: &Run) -> Vec<u64> {
    run.lines()
        .iter()
        .filter_map(|l| l.strip_prefix("synced "))
        .map(|o| o.parse().unwrap())
        .collect()
}

fn check_failed_write(faults: &str) {
    let dir = tempdir();
    let written = write_with_faults(dir.path(), faults);
    assert_eq!(written.code, 2, "{faults}: {written:#?}");
    let lines: Vec<&str> = written.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{faults}: {written:#?}");
    assert!(
        lines[0].starts_with("walctl: error"),
        "{faults}: {written:#?}"
    );
    let acked = acknowledged(&written);
    assert!(
        acked.len() < 12,
        "{faults}: every entry acknowledged: {written:#?}"
    );
    // Without faults, the log recovers with every acknowledged entry.
    run_ok_repair(dir.path());
    let verify = run(["verify", s(dir.path())]);
    assert_eq!(verify.code, 0, "{faults}: {verify:#?}");
    let dumped = run(["dump", s(dir.path()), "--json"]).json_lines();
    for offset in acked {
        assert!(
            dumped.iter().any(|e| e["offset"].as_u64() == Some(offset)),
            "{faults}: acknowledged entry {offset} lost"
        );
    }
}

fn run_ok_repair(dir: &std::path::Path) {
    let repaired = run(["repair", s(dir)]);
    assert!(matches!(repaired.code, 0 | 1), "{repaired:#?}");
}

#[test]
fn a_failed_msync_stops_the_acknowledgements_with_one_line_and_exit_2() {
    for faults in ["msync:3:EIO:once", "msync:3:ENOSPC:always"] {
        check_failed_write(faults);
    }
}

#[test]
fn a_full_disk_at_a_rotation_is_one_line_and_exit_2() {
    for faults in [
        "fallocate:2:ENOSPC:always",
        "fsync_dir:3:EIO:once",
        "rename:2:EIO:once",
    ] {
        check_failed_write(faults);
    }
}
