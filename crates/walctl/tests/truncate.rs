//! `walctl truncate`: drop every entry after an offset.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

fn last_offset(dir: &std::path::Path) -> serde_json::Value {
    let run = run(["stat", s(dir), "--json"]);
    run.ok();
    run.json()["last_offset"].clone()
}

#[test]
fn truncate_drops_the_entries_after_the_offset_and_appends_continue() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let run = run(["truncate", s(dir.path()), "--after", "20"]);
    assert_eq!(
        run.ok(),
        "truncated after 20: dropped 39 entries; next offset 21\n"
    );
    assert_eq!(last_offset(dir.path()), 20);
    common::run(["verify", s(dir.path())]).ok();
    let write = common::run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "1",
        "--size",
        "5",
        "--seed",
        "9",
    ]);
    assert!(write.ok().contains("offsets 21..=21"));
    let dumped = common::run(["dump", s(dir.path()), "--from", "21", "--json"]).json_lines();
    assert_eq!(dumped[0]["payload_hex"], hex(b"9:21;"));
}

#[test]
fn truncating_after_the_last_entry_changes_nothing() {
    let dir = tempdir();
    write_entries(dir.path(), 5, 8, 4096);
    let run = run(["truncate", s(dir.path()), "--after", "4"]);
    assert!(run.ok().contains("dropped 0 entries; next offset 5"));
}

#[test]
fn an_offset_beyond_the_end_is_a_usage_error_and_changes_nothing() {
    let dir = tempdir();
    write_entries(dir.path(), 5, 8, 4096);
    let before = snapshot(dir.path());
    let run = run(["truncate", s(dir.path()), "--after", "5"]);
    assert_usage_error(&run, "out of range");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    assert_usage_error(
        &run(["truncate", s(&missing), "--after", "1"]),
        "no such directory",
    );
    assert!(!missing.exists(), "truncate never creates a log");
    assert_usage_error(&run(["truncate", s(dir.path())]), "--after");
    write_entries(dir.path(), 3, 8, 4096);
    let _holder = LockHolder::hold(dir.path());
    assert_usage_error(&run(["truncate", s(dir.path()), "--after", "1"]), "locked");
}

/// Issue 20, point 1 through the command line: the cursor moves back with the
/// truncation, so the entries appended next are replayed.
#[test]
fn a_truncation_below_the_cursor_moves_it_back() {
    let dir = tempdir();
    write_entries(dir.path(), 10, 8, 4096);
    run(["cursor", s(dir.path()), "--set", "9"]).ok();
    assert_eq!(
        run(["truncate", s(dir.path()), "--after", "4"]).ok(),
        "truncated after 4: dropped 5 entries; next offset 5\nmoved cursor default from 9 to 4\n"
    );
    assert_eq!(run(["cursor", s(dir.path())]).ok(), "cursor 4 (ok)\n");
    write_entries(dir.path(), 8, 8, 4096);
    let replayed = run(["replay", s(dir.path()), "--json"]).json_lines();
    let offsets: Vec<u64> = replayed
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, (5..=12).collect::<Vec<_>>());
}
