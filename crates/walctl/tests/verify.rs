//! `walctl verify`: exit 0 clean, exit 1 with problems; the JSON; read-only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

#[test]
fn a_clean_log_verifies_with_exit_0() {
    let dir = tempdir();
    write_entries(dir.path(), 40, 20, 512);
    let run = run(["verify", s(dir.path()), "--json"]);
    run.ok();
    let verdict = run.json();
    assert_keys(
        &verdict,
        &["ok", "first_offset", "last_valid_offset", "problems"],
    );
    assert_eq!(verdict["ok"], true);
    assert_eq!(verdict["first_offset"], 0);
    assert_eq!(verdict["last_valid_offset"], 39);
    assert_eq!(verdict["problems"], serde_json::json!([]));

    let text = common::run(["verify", s(dir.path())]);
    assert!(text.ok().starts_with("ok: "), "{text:#?}");
}

#[test]
fn a_flipped_byte_in_the_active_segment_is_a_problem_with_exit_1() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let (base, active) = active_segment(dir.path());
    // The second record of the active segment; valid records follow it.
    flip_byte(&active, 32 + 14);
    let before = snapshot(dir.path());

    let run = run(["verify", s(dir.path()), "--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stderr, "");
    let verdict = run.json();
    assert_eq!(verdict["ok"], false);
    assert_eq!(verdict["first_offset"], 0);
    assert_eq!(verdict["last_valid_offset"], base);
    let problems = verdict["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{verdict}");
    let problem = &problems[0];
    assert_keys(
        problem,
        &[
            "kind",
            "segment",
            "offset",
            "file_offset",
            "committed",
            "detail",
        ],
    );
    assert_eq!(problem["kind"], "crc_mismatch");
    assert_eq!(problem["segment"], base);
    assert_eq!(problem["offset"], base + 1);
    assert_eq!(problem["file_offset"], 32);
    assert_eq!(problem["committed"], false);
    assert!(problem["detail"].as_str().unwrap().contains("crc mismatch"));

    let text = common::run(["verify", s(dir.path())]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.starts_with("PROBLEMS: "), "{text:#?}");
    assert!(text.stdout.contains(&format!(
        "crc_mismatch in segment {base} at entry {}",
        base + 1
    )));

    assert_eq!(snapshot(dir.path()), before, "verify is read-only");
}

#[test]
fn the_commit_offset_marks_damage_committed() {
    let dir = tempdir();
    write_entries(dir.path(), 20, 20, 4096);
    let (_, active) = active_segment(dir.path());
    flip_byte(&active, 5 * 32 + 20);
    let run = run(["verify", s(dir.path()), "--commit-offset", "19", "--json"]);
    assert_eq!(run.code, 1);
    let verdict = run.json();
    assert_eq!(verdict["problems"][0]["committed"], true);
    assert_eq!(verdict["problems"][0]["offset"], 5);
}

#[test]
fn a_torn_last_record_is_a_torn_tail() {
    let dir = tempdir();
    write_entries(dir.path(), 10, 20, 4096);
    let (_, active) = active_segment(dir.path());
    // The last record's last payload byte.
    flip_byte(&active, 10 * 32 - 1);
    let run = run(["verify", s(dir.path()), "--json"]);
    assert_eq!(run.code, 1);
    let verdict = run.json();
    assert_eq!(verdict["problems"][0]["kind"], "torn_tail");
    assert_eq!(verdict["last_valid_offset"], 8);
}

#[test]
fn a_missing_directory_is_a_usage_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    assert_usage_error(&run(["verify", s(&missing)]), "no such directory");
    assert!(!missing.exists());
    assert_usage_error(
        &run(["verify", s(dir.path()), "--commit-offset=-3"]),
        "--commit-offset",
    );
}
