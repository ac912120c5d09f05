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
