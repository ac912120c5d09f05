//! `walctl rebuild-index`: missing and corrupt indexes of sealed segments come back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

fn index_states(dir: &std::path::Path) -> Vec<String> {
    let run = run(["stat", s(dir), "--json"]);
    run.ok();
    run.json()["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["index"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn missing_and_corrupt_indexes_are_rebuilt() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let files = data_files(dir.path());
    std::fs::remove_file(dir.path().join(format!("{}.idxx", files[0].0))).unwrap();
    flip_byte(&dir.path().join(format!("{}.idxx", files[1].0)), 5);
    assert_eq!(index_states(dir.path())[..2], ["missing", "corrupt"]);
    // Derived data: verify reports both and still says ok.
    let verdict = run(["verify", s(dir.path()), "--json"]);
    verdict.ok();
    let kinds: Vec<String> = verdict.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["index_corrupt", "index_missing"]);

    let run = run(["rebuild-index", s(dir.path())]);
    assert_eq!(
        run.ok(),
        format!(
            "rebuilt the index of segment {} (16 entries)\nrebuilt the index of segment {} (16 entries)\n",
            files[0].0, files[1].0
        )
    );
    let states = index_states(dir.path());
    assert!(
        states[..states.len() - 1].iter().all(|s| s == "ok"),
        "{states:?}"
    );
    let verdict = common::run(["verify", s(dir.path()), "--json"]);
    verdict.ok();
    assert_eq!(verdict.json()["problems"], serde_json::json!([]));
}

#[test]
fn nothing_to_do_says_so() {
    let dir = tempdir();
    write_entries(dir.path(), 40, 20, 512);
    let before = snapshot(dir.path());
    let run = run(["rebuild-index", s(dir.path())]);
    assert!(run.ok().contains("up to date; nothing rebuilt"), "{run:#?}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempdir();
    let missing = dir.path().join("nope");
    assert_usage_error(&run(["rebuild-index", s(&missing)]), "no such directory");
    assert!(!missing.exists());
    write_entries(dir.path(), 3, 8, 4096);
    let _holder = LockHolder::hold(dir.path());
    assert_usage_error(&run(["rebuild-index", s(dir.path())]), "locked");
}
