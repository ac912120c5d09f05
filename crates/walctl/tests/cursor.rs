//! `walctl cursor`: show the cursor and its status, or set it within the log's range.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;
use serde_json::json;

#[test]
fn a_log_without_a_cursor_shows_missing() {
    let dir = tempdir();
    write_entries(dir.path(), 5, 8, 4096);
    let run = run(["cursor", s(dir.path()), "--json"]);
    run.ok();
    let cursor = run.json();
    assert_keys(&cursor, &["cursor", "status"]);
    assert_eq!(cursor, json!({"cursor": null, "status": "missing"}));
    assert_eq!(
        common::run(["cursor", s(dir.path())]).ok(),
        "no cursor (missing)\n"
    );
}

#[test]
fn set_persists_the_cursor() {
    let dir = tempdir();
    write_entries(dir.path(), 5, 8, 4096);
    let set = run(["cursor", s(dir.path()), "--set", "3", "--json"]);
    set.ok();
    assert_eq!(set.json(), json!({"cursor": 3, "status": "ok"}));
    let shown = common::run(["cursor", s(dir.path()), "--json"]);
    shown.ok();
    assert_eq!(shown.json(), json!({"cursor": 3, "status": "ok"}));
    assert_eq!(
        common::run(["cursor", s(dir.path())]).ok(),
        "cursor 3 (ok)\n"
    );
    assert_eq!(
        common::run(["cursor", s(dir.path()), "--set", "4"]).ok(),
        "cursor 4 (ok)\n"
    );
}

#[test]
fn a_corrupt_cursor_file_shows_corrupt_with_exit_1() {
    let dir = tempdir();
    write_entries(dir.path(), 5, 8, 4096);
    std::fs::write(dir.path().join("CURSOR"), b"garbage").unwrap();
    let run = run(["cursor", s(dir.path()), "--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.json(), json!({"cursor": null, "status": "corrupt"}));
}

#[test]
fn a_cursor_beyond_the_end_is_a_usage_error() {
    let dir = tempdir();
    write_entries(dir.path(), 5, 8, 4096);
    let run = run(["cursor", s(dir.path()), "--set", "5"]);
    assert_usage_error(
        &run,
        "offset 5 is out of range for a cursor: the log holds entries 0..=4",
    );
    assert!(!dir.path().join("CURSOR").exists());
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    assert_usage_error(&run(["cursor", s(&missing)]), "no such directory");
    assert_usage_error(
        &run(["cursor", s(&missing), "--set", "1"]),
        "no such directory",
    );
    assert!(!missing.exists(), "cursor never creates a log");
    assert_usage_error(&run(["cursor", s(dir.path()), "--set", "one"]), "--set");
    write_entries(dir.path(), 3, 8, 4096);
    let _holder = LockHolder::hold(dir.path());
    assert_usage_error(&run(["cursor", s(dir.path()), "--set", "1"]), "locked");
    // Reading the cursor takes no lock.
    assert_eq!(
        common::run(["cursor", s(dir.path())]).ok(),
        "no cursor (missing)\n"
    );
}

#[test]
fn named_cursors_are_set_shown_and_rewound_on_their_own() {
    let dir = tempdir();
    write_entries(dir.path(), 10, 8, 4096);
    run(["cursor", s(dir.path()), "--set", "6"]).ok();
    assert_eq!(
        run(["cursor", s(dir.path()), "--name", "indexer", "--set", "2"]).ok(),
        "cursor indexer 2 (ok)\n"
    );
    assert!(dir.path().join("CURSOR.indexer").exists());
    assert_eq!(
        run(["cursor", s(dir.path()), "--name", "indexer", "--json"]).json(),
        json!({"cursor": 2, "status": "ok"})
    );
    assert_eq!(run(["cursor", s(dir.path())]).ok(), "cursor 6 (ok)\n");
    assert_eq!(
        run(["cursor", s(dir.path()), "--name", "other"]).ok(),
        "no cursor other (missing)\n"
    );

    // Backwards only when asked.
    let refused = run(["cursor", s(dir.path()), "--set", "3"]);
    assert_usage_error(&refused, "would move it back");
    assert!(refused.stderr.contains("--rewind 3"), "{refused:#?}");
    assert_eq!(run(["cursor", s(dir.path())]).ok(), "cursor 6 (ok)\n");
    assert_eq!(
        run(["cursor", s(dir.path()), "--rewind", "3"]).ok(),
        "cursor 3 (ok)\n"
    );
    assert_usage_error(
        &run(["cursor", s(dir.path()), "--set", "4", "--rewind", "3"]),
        "cannot be used with",
    );
    assert_usage_error(
        &run(["cursor", s(dir.path()), "--name", "Bad.Name"]),
        "invalid cursor name",
    );
}
