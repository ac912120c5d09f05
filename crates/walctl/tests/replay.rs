//! `walctl replay`: the entries after the cursor, as dump prints them; read-only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

fn replayed(dir: &std::path::Path) -> Vec<u64> {
    let run = run(["replay", s(dir), "--json"]);
    run.ok();
    run.json_lines()
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect()
}

#[test]
fn without_a_cursor_every_entry_is_replayed() {
    let dir = tempdir();
    write_entries(dir.path(), 30, 20, 512);
    assert_eq!(replayed(dir.path()), (0..30).collect::<Vec<_>>());
}

#[test]
fn with_a_cursor_the_entries_after_it_are_replayed_in_dump_form() {
    let dir = tempdir();
    write_entries(dir.path(), 30, 20, 512);
    run(["cursor", s(dir.path()), "--set", "24"]).ok();
    let before = snapshot(dir.path());
    assert_eq!(replayed(dir.path()), (25..30).collect::<Vec<_>>());
    let dumped = run(["dump", s(dir.path()), "--from", "25", "--json"]).stdout;
    assert_eq!(run(["replay", s(dir.path()), "--json"]).stdout, dumped);
    let dumped_text = run(["dump", s(dir.path()), "--from", "25"]).stdout;
    assert_eq!(run(["replay", s(dir.path())]).ok(), dumped_text);
    assert_eq!(snapshot(dir.path()), before, "replay is read-only");

    run(["cursor", s(dir.path()), "--set", "29"]).ok();
    assert!(replayed(dir.path()).is_empty());
}

#[test]
fn a_cursor_past_the_end_replays_nothing_with_a_warning() {
    let dir = tempdir();
    write_entries(dir.path(), 10, 8, 4096);
    run(["truncate", s(dir.path()), "--after", "4"]).ok();
    // `walctl truncate` keeps the cursor true; a cursor past the end is what a truncation
    // that bypassed the front door leaves.
    std::fs::write(
        dir.path().join("CURSOR"),
        wal_recovery::cursor::encode_cursor(8),
    )
    .unwrap();
    let run = run(["replay", s(dir.path())]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("walctl: warning: the cursor (8) is past the last entry"),
        "{run:#?}"
    );
}

#[test]
fn damage_after_the_cursor_stops_the_replay_with_exit_1() {
    let dir = tempdir();
    write_entries(dir.path(), 20, 20, 4096);
    run(["cursor", s(dir.path()), "--set", "9"]).ok();
    let (_, active) = active_segment(dir.path());
    flip_byte(&active, 15 * 32 + 14);
    let run = run(["replay", s(dir.path()), "--json"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json_lines().len(), 5);
    assert!(
        run.stderr.starts_with("walctl: problem: crc_mismatch"),
        "{run:#?}"
    );
}

#[test]
fn a_missing_directory_is_a_usage_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    assert_usage_error(&run(["replay", s(&missing)]), "no such directory");
    assert!(!missing.exists());
}

#[test]
fn replay_follows_the_named_cursor() {
    let dir = tempdir();
    write_entries(dir.path(), 30, 20, 512);
    run(["cursor", s(dir.path()), "--set", "24"]).ok();
    run(["cursor", s(dir.path()), "--name", "slow", "--set", "9"]).ok();
    assert_eq!(replayed(dir.path()), (25..30).collect::<Vec<_>>());
    let slow = run(["replay", s(dir.path()), "--name", "slow", "--json"]).json_lines();
    let offsets: Vec<u64> = slow.iter().map(|e| e["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, (10..30).collect::<Vec<_>>());
    // A consumer with no cursor yet replays everything.
    let new = run(["replay", s(dir.path()), "--name", "new", "--json"]).json_lines();
    assert_eq!(new.len(), 30);
    assert_usage_error(
        &run(["replay", s(dir.path()), "--name", "No/Good"]),
        "invalid cursor name",
    );
}
