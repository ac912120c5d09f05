//! `walctl trim`: drop every entry before an offset (the log starts there), removing the
//! sealed segments wholly before it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

#[test]
fn trim_removes_whole_segments_before_the_offset() {
    let dir = tempdir();
    // 16 entries per segment: segments at 0, 16, 32, 48.
    write_entries(dir.path(), 60, 20, 512);
    let run = run(["trim", s(dir.path()), "--before", "40"]);
    assert_eq!(
        run.ok(),
        "trimmed before 40: removed 2 segments; first offset now 40\n"
    );
    assert_eq!(data_files(dir.path())[0].0, 32);
    let stat = common::run(["stat", s(dir.path()), "--json"]).json();
    assert_eq!(stat["first_offset"], 40);
    assert_eq!(stat["last_offset"], 59);
    assert_eq!(stat["entries"], 20);
    common::run(["verify", s(dir.path())]).ok();
    let dumped = common::run(["dump", s(dir.path()), "--json"]).json_lines();
    assert_eq!(dumped[0]["offset"], 40);
}

#[test]
fn an_offset_beyond_the_end_is_a_usage_error() {
    let dir = tempdir();
    write_entries(dir.path(), 10, 20, 512);
    let before = snapshot(dir.path());
    assert_usage_error(
        &run(["trim", s(dir.path()), "--before", "11"]),
        "out of range",
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    assert_usage_error(
        &run(["trim", s(&missing), "--before", "1"]),
        "no such directory",
    );
    assert!(!missing.exists());
    assert_usage_error(&run(["trim", s(dir.path()), "--before"]), "--before");
    write_entries(dir.path(), 3, 8, 4096);
    let _holder = LockHolder::hold(dir.path());
    assert_usage_error(&run(["trim", s(dir.path()), "--before", "1"]), "locked");
}

/// Issue 20, point 2: cursor 5, trim before 39: refused (exit 2, one line naming how many
/// unread entries would go); with `--drop-unread` it happens, the cursor moves past the
/// dropped entries, and verify does not count it as lost.
#[test]
fn a_trim_past_the_cursor_needs_drop_unread() {
    let dir = tempdir();
    // 16 entries per segment: segments at 0, 16, 32.
    write_entries(dir.path(), 40, 20, 512);
    run(["cursor", s(dir.path()), "--set", "5"]).ok();
    let before = snapshot(dir.path());
    let refused = run(["trim", s(dir.path()), "--before", "39"]);
    assert_usage_error(
        &refused,
        "would drop 33 unread entries of cursor default (at 5)",
    );
    assert!(refused.stderr.contains("--drop-unread"), "{refused:#?}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a refused trim changed the log"
    );

    let dropped = run(["trim", s(dir.path()), "--before", "39", "--drop-unread"]);
    assert_eq!(
        dropped.ok(),
        "trimmed before 39: removed 2 segments; first offset now 39\nmoved cursor default from 5 to 38\n"
    );
    let verdict = common::run(["verify", s(dir.path()), "--json"]);
    verdict.ok();
    assert_eq!(
        verdict.json()["cursors"][0]["dropped_unread"],
        serde_json::json!({"from": 6, "to": 39})
    );
    let replayed = common::run(["replay", s(dir.path()), "--json"]).json_lines();
    assert_eq!(replayed[0]["offset"], 39);
}

#[test]
fn a_trim_is_refused_while_a_cursor_file_is_unreadable() {
    let dir = tempdir();
    write_entries(dir.path(), 40, 20, 512);
    run(["cursor", s(dir.path()), "--set", "5"]).ok();
    std::fs::write(dir.path().join("CURSOR"), b"not a cursor").unwrap();
    let before = snapshot(dir.path());
    let refused = run(["trim", s(dir.path()), "--before", "20"]);
    assert_usage_error(&refused, "cursor default is unreadable");
    assert!(refused.stderr.contains("--rewind"), "{refused:#?}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a refused trim changed the log"
    );

    run(["cursor", s(dir.path()), "--rewind", "19"]).ok();
    run(["trim", s(dir.path()), "--before", "20"]).ok();
}
