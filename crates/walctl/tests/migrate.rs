//! `walctl migrate`: v1 segments become v2, entries unchanged, idempotent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

fn write_v1(dir: &std::path::Path, count: u64) {
    run([
        "write",
        s(dir),
        "--count",
        &count.to_string(),
        "--size",
        "24",
        "--segment-size",
        "512",
        "--codec",
        "v1",
    ])
    .ok();
}

#[test]
fn migrate_converts_every_v1_segment_and_keeps_every_entry() {
    let dir = tempdir();
    write_v1(dir.path(), 60);
    let before = run(["dump", s(dir.path()), "--json"]);
    let before: Vec<String> = before
        .json_lines()
        .iter()
        .map(|e| e["payload_hex"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(before.len(), 60);

    let migrated = run(["migrate", s(dir.path()), "--json"]);
    migrated.ok();
    let report = migrated.json();
    assert_keys(
        &report,
        &[
            "converted",
            "rechained",
            "rolled_forward",
            "segment_bytes",
            "segments",
        ],
    );
    assert!(!report["converted"].as_array().unwrap().is_empty());
    assert_eq!(report["rolled_forward"], false);

    let after = run(["dump", s(dir.path()), "--json"]);
    after.ok();
    let entries = after.json_lines();
    assert_eq!(entries.len(), 60);
    for (entry, payload) in entries.iter().zip(&before) {
        assert_eq!(entry["codec"], "v2");
        assert!(entry["crc"].is_u64());
        assert_eq!(entry["payload_hex"].as_str().unwrap(), payload);
    }
    run(["verify", s(dir.path())]).ok();

    // A second run has nothing to do.
    let again = run(["migrate", s(dir.path()), "--json"]);
    again.ok();
    let report = again.json();
    assert_eq!(report["converted"].as_array().unwrap().len(), 0);
    assert_eq!(report["rechained"].as_array().unwrap().len(), 0);
}

#[test]
fn migrate_bad_inputs_exit_2() {
    let dir = tempdir();
    write_v1(dir.path(), 5);
    assert_usage_error(&run(["migrate", s(dir.path()), "--to", "v1"]), "v1");
    let missing = dir.path().join("missing");
    assert_usage_error(&run(["migrate", s(&missing)]), "missing");
}
