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
        &[
            "ok",
            "first_offset",
            "last_valid_offset",
            "problems",
            "cursors",
            "damage_before_cursor",
        ],
    );
    assert_eq!(verdict["ok"], true);
    assert_eq!(
        verdict["cursors"],
        serde_json::json!([{"name": "default", "cursor": null, "status": "missing", "dropped_unread": null}])
    );
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
            "consumed",
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

/// Sealed segments and the index file of each, oldest first (the active one has none).
fn sealed_indexes(dir: &std::path::Path) -> Vec<(u64, std::path::PathBuf)> {
    let mut files = data_files(dir);
    files.pop();
    files
        .into_iter()
        .map(|(base, _)| (base, dir.join(format!("{base}.idxx"))))
        .collect()
}

#[test]
fn sealed_segments_without_their_indexes_verify_ok_with_exit_0() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let sealed = sealed_indexes(dir.path());
    assert!(sealed.len() >= 3, "several sealed segments: {sealed:?}");
    for (_, index) in &sealed {
        std::fs::remove_file(index).unwrap();
    }
    let before = snapshot(dir.path());

    let run = run(["verify", s(dir.path()), "--json"]);
    run.ok();
    let verdict = run.json();
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["last_valid_offset"], 59);
    let problems = verdict["problems"].as_array().unwrap();
    assert_eq!(
        problems.len(),
        sealed.len(),
        "each is still reported: {verdict}"
    );
    for (problem, (base, _)) in problems.iter().zip(&sealed) {
        assert_eq!(problem["kind"], "index_missing");
        assert_eq!(problem["segment"], *base);
        assert_eq!(problem["committed"], false);
    }

    let text = common::run(["verify", s(dir.path())]);
    assert!(text.ok().starts_with("ok: "), "{text:#?}");
    assert!(text.stdout.contains("index_missing"), "{text:#?}");
    assert_eq!(snapshot(dir.path()), before, "verify is read-only");
}

#[test]
fn a_corrupt_index_over_intact_data_verifies_ok_with_exit_0() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let sealed = sealed_indexes(dir.path());
    let (base, index) = &sealed[1];
    flip_byte(index, 2);

    let run = run(["verify", s(dir.path()), "--json"]);
    run.ok();
    let verdict = run.json();
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["problems"][0]["kind"], "index_corrupt");
    assert_eq!(verdict["problems"][0]["segment"], *base);
    assert_eq!(verdict["problems"].as_array().unwrap().len(), 1);
}

#[test]
fn an_index_listing_more_entries_than_the_data_is_a_problem_with_exit_1() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let files = data_files(dir.path());
    let (_, first) = &files[0];
    let (next_base, _) = &files[1];
    // The last two 32-byte records of segment 0 zeroed cleanly: its data ends early, and
    // only its index still lists them.
    let end = usize::try_from(*next_base).unwrap() * 32;
    wal_testkit::damage::zero_range(first, end - 64..end);

    let run = run(["verify", s(dir.path()), "--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let verdict = run.json();
    assert_eq!(verdict["ok"], false);
    let kinds: Vec<&str> = verdict["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"missing_entries"), "{verdict}");
}
