//! `walctl demo`: the crash-and-recover story, and the log it leaves behind.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

#[test]
fn demo_recovers_a_torn_tail_and_replays_from_the_cursor() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let run = run(["demo", s(&log)]);
    let text = run.ok();
    for expected in [
        "1. wrote 4800 entries from 4 threads with group commit",
        "2. set the consumer's cursor at 3199",
        "3. crashed",
        "4. reopened with wal_recovery::open (mode tolerate-corrupt-tail)",
        "torn_tail in segment",
        "tail cut: segment",
        "quarantine",
        "log now: entries 0..=4798",
        "5. replayed 1599 entries after the cursor, from offset 3200",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(log.join("quarantine").is_dir());
    // Its closing hints are commands a newcomer can run from the repository (this walctl
    // is the one cargo built).
    let hint = format!("  cargo run --release -p walctl -- stat {}", log.display());
    assert!(text.contains(&hint), "{hint:?} missing from:\n{text}");

    // The log it leaves verifies clean, holds the cursor, and accepts appends.
    common::run(["verify", s(&log)]).ok();
    let stat = common::run(["stat", s(&log), "--json"]).json();
    assert_eq!(stat["cursor"], 3199);
    assert_eq!(stat["last_offset"], 4798);
    assert!(stat["segments"].as_array().unwrap().len() > 3);
    assert_eq!(
        common::run(["replay", s(&log), "--json"])
            .json_lines()
            .len(),
        1599
    );
}

#[test]
fn without_a_directory_it_keeps_a_new_temporary_one_and_prints_it() {
    let temp = tempdir();
    let output = walctl()
        .arg("demo")
        .env("TMPDIR", temp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    let kept: Vec<_> = std::fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(
        text.contains(&format!("directory: {}", kept[0].display())),
        "{text}"
    );
    assert!(text.contains("kept"), "{text}");
}

#[test]
fn a_non_empty_directory_is_refused() {
    let dir = tempdir();
    std::fs::write(dir.path().join("precious"), b"data").unwrap();
    let run = run(["demo", s(dir.path())]);
    assert_usage_error(&run, "is not empty");
    let file = dir.path().join("precious");
    assert_usage_error(&common::run(["demo", s(&file)]), "is not a directory");
}
