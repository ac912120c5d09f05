//! `walctl repair`: exit 0 when the log verifies clean afterwards, exit 1 when the mode
//! refuses (nothing changed); the report and its JSON.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::path::Path;

use common::*;

/// A log of 60 entries whose active segment has a flipped byte in its second record,
/// with valid records after it. Returns the active segment's base.
fn damaged(dir: &Path) -> u64 {
    write_entries(dir, 60, 20, 512);
    let (base, active) = active_segment(dir);
    flip_byte(&active, 32 + 14);
    base
}

#[test]
fn tolerate_corrupt_tail_cuts_an_uncommitted_tail_and_exits_0() {
    let dir = tempdir();
    let base = damaged(dir.path());
    let run = run(["repair", s(dir.path()), "--json"]);
    run.ok();
    let report = run.json();
    assert_keys(
        &report,
        &[
            "ok",
            "refused",
            "error",
            "mode",
            "commit_offset",
            "committed_end",
            "problems",
            "actions",
            "cut",
            "first_offset",
            "last_offset",
            "last_crc",
            "cursor",
            "replay_from",
            "warning",
            "damage_before_cursor",
        ],
    );
    assert_eq!(report["ok"], true);
    assert_eq!(report["refused"], false);
    assert!(report["error"].is_null());
    assert_eq!(report["mode"], "tolerate-corrupt-tail");
    assert!(report["commit_offset"].is_null());
    assert_eq!(report["problems"][0]["kind"], "crc_mismatch");
    assert_eq!(report["problems"][0]["committed"], false);
    let action = &report["actions"][0];
    assert_keys(
        action,
        &[
            "action",
            "segment",
            "file_offset",
            "bytes",
            "quarantined_to",
        ],
    );
    assert_eq!(action["action"], "tail_cut");
    assert_eq!(action["segment"], base);
    assert_eq!(action["file_offset"], 32);
    assert!(Path::new(action["quarantined_to"].as_str().unwrap()).is_file());
    let cut = &report["cut"];
    assert_keys(cut, &["from", "to", "committed", "quarantine"]);
    assert_eq!(cut["from"], base + 1);
    assert_eq!(cut["to"], 60);
    assert_eq!(cut["committed"], false);
    assert!(Path::new(cut["quarantine"].as_str().unwrap()).is_dir());
    assert_eq!(report["first_offset"], 0);
    assert_eq!(report["last_offset"], base);
    assert!(report["last_crc"].is_u64());
    assert_eq!(report["replay_from"], 0);

    common::run(["verify", s(dir.path())]).ok();
    // Appends continue after the cut.
    let write = common::run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "1",
        "--size",
        "4",
    ]);
    assert!(write.ok().contains(&format!("offsets {0}..={0}", base + 1)));
}

#[test]
fn committed_corruption_is_refused_with_exit_1_and_nothing_changes() {
    let dir = tempdir();
    damaged(dir.path());
    let before = snapshot(dir.path());
    let run = run(["repair", s(dir.path()), "--commit-offset", "59", "--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stderr, "");
    let report = run.json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["refused"], true);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("committed corruption")
    );
    assert_eq!(report["problems"][0]["committed"], true);
    assert_eq!(report["actions"], serde_json::json!([]));
    assert!(report["cut"].is_null());
    assert_eq!(snapshot(dir.path()), before, "a refusal changes nothing");

    let text = common::run(["repair", s(dir.path()), "--commit-offset", "59"]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout
            .starts_with("refused (tolerate-corrupt-tail), nothing changed"),
        "{text:#?}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn point_in_time_cuts_committed_entries_too() {
    let dir = tempdir();
    let base = damaged(dir.path());
    let run = run([
        "repair",
        s(dir.path()),
        "--mode",
        "point-in-time",
        "--commit-offset",
        "59",
        "--json",
    ]);
    run.ok();
    let report = run.json();
    assert_eq!(report["mode"], "point-in-time");
    assert_eq!(report["commit_offset"], 59);
    assert_eq!(report["cut"]["from"], base + 1);
    assert_eq!(report["cut"]["committed"], true);
    assert_eq!(report["last_offset"], base);
    common::run(["verify", s(dir.path())]).ok();
}

#[test]
fn a_clean_log_needs_nothing() {
    let dir = tempdir();
    write_entries(dir.path(), 10, 8, 4096);
    let run = run(["repair", s(dir.path())]);
    let text = run.ok();
    assert!(text.contains("verifies clean"), "{text}");
    assert!(text.contains("problems: none"), "{text}");
    assert!(text.contains("actions: none"), "{text}");
    assert!(text.contains("cut: nothing"), "{text}");
    assert!(text.contains("log now: entries 0..=9"), "{text}");
}

#[test]
fn readable_report_of_a_cut() {
    let dir = tempdir();
    let base = damaged(dir.path());
    let run = run(["repair", s(dir.path())]);
    let text = run.ok();
    assert!(text.contains("tail cut: segment"), "{text}");
    assert!(
        text.contains(&format!("cut: entries {}..60", base + 1)),
        "{text}"
    );
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    assert_usage_error(&run(["repair", s(&missing)]), "no such directory");
    assert!(!missing.exists());
    assert_usage_error(
        &run(["repair", s(dir.path()), "--mode", "absolute"]),
        "--mode",
    );
    write_entries(dir.path(), 3, 8, 4096);
    let _holder = LockHolder::hold(dir.path());
    assert_usage_error(&run(["repair", s(dir.path())]), "locked");
}

#[test]
fn skip_corrupted_leaves_a_hole_that_dump_and_verify_accept() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    // The second record of the first (sealed) segment: its index gives the boundaries.
    let (_, first) = data_files(dir.path()).remove(0);
    flip_byte(&first, 32 + 14);
    assert_eq!(common::run(["verify", s(dir.path())]).code, 1);
    let run = run([
        "repair",
        s(dir.path()),
        "--mode",
        "skip-corrupted",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_holes_warning(&run.stderr, "1..2");
    let report = run.json();
    assert_eq!(report["mode"], "skip-corrupted");
    assert_eq!(
        report["warning"],
        run.stderr
            .trim_end()
            .trim_start_matches("walctl: warning: ")
    );
    common::run(["verify", s(dir.path())]).ok();
    // Every entry but the skipped one, in order.
    let dump = common::run(["dump", s(dir.path()), "--json"]);
    dump.ok();
    let offsets: Vec<u64> = dump
        .json_lines()
        .iter()
        .map(|entry| entry["offset"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (0..60).filter(|&o| o != 1).collect();
    assert_eq!(offsets, expected);
}

/// Exactly one warning line on stderr, saying that the log has the hole `range` and that
/// other readers stop there.
fn assert_holes_warning(stderr: &str, range: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one warning line: {stderr:?}");
    assert!(lines[0].starts_with("walctl: warning: "), "{stderr:?}");
    assert!(lines[0].contains(range), "{stderr:?}");
    assert!(
        lines[0].contains("other readers of the segment format stop at the first hole"),
        "{stderr:?}"
    );
}

#[test]
fn skip_corrupted_warns_when_it_leaves_holes_and_only_then() {
    // A missing middle segment: skipped as a hole.
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    std::fs::remove_file(dir.path().join("16.txnx")).unwrap();
    std::fs::remove_file(dir.path().join("16.idxx")).unwrap();
    let text = run(["repair", s(dir.path()), "--mode", "skip-corrupted"]);
    assert_eq!(text.code, 0, "{text:#?}");
    assert_holes_warning(&text.stderr, "16..32");
    assert!(dir.path().join("HOLES").is_file());

    // A torn tail: cut, no hole, no warning.
    let dir = tempdir();
    write_entries(dir.path(), 10, 20, 4096);
    let (_, active) = active_segment(dir.path());
    flip_byte(&active, 10 * 32 - 1);
    let json = run([
        "repair",
        s(dir.path()),
        "--mode",
        "skip-corrupted",
        "--json",
    ]);
    json.ok();
    let report = json.json();
    assert_eq!(report["warning"], serde_json::Value::Null, "{report}");
    assert!(report["cut"].is_object(), "{report}");
    assert!(!dir.path().join("HOLES").exists());

    // A clean log: nothing to warn about either.
    let dir = tempdir();
    write_entries(dir.path(), 10, 20, 4096);
    run(["repair", s(dir.path()), "--mode", "skip-corrupted"]).ok();
}
