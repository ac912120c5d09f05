//! A sidecar file (`HOLES`, `CURSOR`, `JOURNAL`) that cannot be read is an I/O error:
//! exit 2, one `walctl: error:` line, no advice to cut. Only a file that was read and is
//! damaged is a problem of the log. The files are made unreadable by making them
//! directories (the tests may run as root, for whom permissions do not stop a read).
//! The close record (`CLOSED`) is different: walctl opens logs through recovery, which
//! never reads it, and the store treats a failed read of it as no record (see the store's
//! test `a_close_record_that_cannot_be_read_costs_the_open_a_scan`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::path::Path;

use common::*;

/// A log of 60 entries in 512-byte segments (16 per segment) whose second segment went
/// missing and was skipped by `repair --mode skip-corrupted`: a `HOLES` file records
/// 16..32. Without it, the gap is committed damage.
fn log_with_a_hole() -> tempfile::TempDir {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    std::fs::remove_file(dir.path().join("16.txnx")).unwrap();
    std::fs::remove_file(dir.path().join("16.idxx")).unwrap();
    let run = run(["repair", s(dir.path()), "--mode", "skip-corrupted"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(dir.path().join("HOLES").is_file());
    dir
}

/// Replaces the file `name` of `dir` by a directory: any read of it fails.
fn make_unreadable(dir: &Path, name: &str) {
    let path = dir.join(name);
    if path.exists() {
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::create_dir(&path).unwrap();
}

/// Runs `command` on `dir` and checks the I/O error contract: exit 2, nothing on stdout,
/// one error line naming `name`, no advice to cut, and nothing changed on disk.
fn assert_io_error(dir: &Path, command: &str, name: &str) {
    let before = snapshot(dir);
    let mut args = vec![command, s(dir)];
    if command == "write" {
        args.extend(["--count", "1", "--size", "5"]);
    }
    let run = run(args);
    assert_usage_error(&run, name);
    assert!(!run.stderr.contains("point-in-time"), "{command}: {run:#?}");
    assert_eq!(snapshot(dir), before, "{command} changed the directory");
}

#[test]
fn holes_that_cannot_be_read_are_an_io_error() {
    let dir = log_with_a_hole();
    make_unreadable(dir.path(), "HOLES");
    for command in ["verify", "dump", "stat", "replay", "repair", "write"] {
        assert_io_error(dir.path(), command, "HOLES");
    }
}

#[test]
fn damaged_holes_are_still_a_problem_of_the_log() {
    let dir = log_with_a_hole();
    std::fs::write(dir.path().join("HOLES"), b"16 32\ncrc 00000000\n").unwrap();
    let verify = run(["verify", s(dir.path()), "--json"]);
    assert_eq!(verify.code, 1, "{verify:#?}");
    let kinds: Vec<String> = verify.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.iter().any(|k| k == "holes_corrupt"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "segment_gap"), "{kinds:?}");
    let dump = run(["dump", s(dir.path())]);
    assert_eq!(dump.code, 1, "{dump:#?}");
    assert!(dump.stderr.contains("segment_gap"), "{dump:#?}");
}

#[test]
fn a_cursor_that_cannot_be_read_is_an_io_error_where_it_is_read() {
    let dir = log_with_a_hole();
    make_unreadable(dir.path(), "CURSOR");
    for command in ["verify", "stat", "replay", "repair", "write"] {
        assert_io_error(dir.path(), command, "CURSOR");
    }
    // `dump` does not read the cursor.
    assert_eq!(run(["dump", s(dir.path())]).code, 0);
}

#[test]
fn a_journal_that_cannot_be_read_is_an_io_error() {
    let dir = log_with_a_hole();
    make_unreadable(dir.path(), "JOURNAL");
    for command in ["verify", "dump", "stat", "replay", "repair", "write"] {
        assert_io_error(dir.path(), command, "JOURNAL");
    }
}
