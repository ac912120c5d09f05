//! `walctl stat`: the summary, its JSON, index states, read-only, bad input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;
use serde_json::Value;

fn stat_json(dir: &std::path::Path) -> Value {
    let run = run(["stat", s(dir), "--json"]);
    run.ok();
    run.json()
}

#[test]
fn json_follows_the_contract() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let stat = stat_json(dir.path());
    assert_keys(
        &stat,
        &[
            "first_offset",
            "last_offset",
            "entries",
            "last_crc",
            "cursor",
            "meta",
            "meta_bytes",
            "segments",
        ],
    );
    assert_eq!(stat["first_offset"], 0);
    assert_eq!(stat["last_offset"], 59);
    assert_eq!(stat["entries"], 60);
    assert!(stat["cursor"].is_null());
    assert_eq!(stat["meta"], "none");
    assert!(stat["meta_bytes"].is_null());
    let last = run(["dump", s(dir.path()), "--json", "--from", "59"]).json_lines();
    assert_eq!(stat["last_crc"], last[0]["crc"]);

    let segments = stat["segments"].as_array().unwrap();
    assert!(segments.len() > 2);
    let mut next_base = 0;
    for (i, segment) in segments.iter().enumerate() {
        assert_keys(
            segment,
            &["base_offset", "codec", "entries", "data_bytes", "index"],
        );
        assert_eq!(segment["base_offset"], next_base);
        assert_eq!(segment["codec"], "v2");
        let entries = segment["entries"].as_u64().unwrap();
        assert_eq!(segment["data_bytes"], entries * 32);
        let expected_index = if i + 1 == segments.len() {
            "active"
        } else {
            "ok"
        };
        assert_eq!(segment["index"], expected_index);
        next_base += entries;
    }
    assert_eq!(next_base, 60);

    run(["cursor", s(dir.path()), "--set", "41"]).ok();
    assert_eq!(stat_json(dir.path())["cursor"], 41);
}

#[test]
fn an_empty_log_has_null_offsets() {
    let dir = tempdir();
    let stat = stat_json(dir.path());
    assert!(stat["first_offset"].is_null());
    assert!(stat["last_offset"].is_null());
    assert!(stat["last_crc"].is_null());
    assert_eq!(stat["entries"], 0);
    assert_eq!(stat["segments"], serde_json::json!([]));

    // A log opened but never written has a segment and still no entry.
    run_with_stdin(
        ["write", s(dir.path()), "--segment-size", "65536", "--stdin"],
        b"",
    )
    .ok();
    let stat = stat_json(dir.path());
    assert!(stat["first_offset"].is_null() && stat["last_offset"].is_null());
    assert_eq!(stat["segments"][0]["index"], "active");
}

#[test]
fn index_states_missing_corrupt_and_stale() {
    let dir = tempdir();
    write_entries(dir.path(), 60, 20, 512);
    let files = data_files(dir.path());
    let index_of = |base: u64| dir.path().join(format!("{base}.idxx"));
    std::fs::remove_file(index_of(files[0].0)).unwrap();
    flip_byte(&index_of(files[1].0), 6);
    // A valid index of the first entry only: self-consistent, but stale.
    let stale =
        wal_testkit::segment::encode_index(wal_format::Codec::V2, &[wal_format::FileOffset(0)]);
    std::fs::write(index_of(files[2].0), stale).unwrap();
    let before = snapshot(dir.path());
    let stat = stat_json(dir.path());
    let states: Vec<&str> = stat["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["index"].as_str().unwrap())
        .collect();
    assert_eq!(&states[..3], ["missing", "corrupt", "stale"]);
    assert_eq!(states.last(), Some(&"active"));
    assert_eq!(
        stat["entries"], 60,
        "indexes do not change what the data holds"
    );
    assert_eq!(snapshot(dir.path()), before, "stat is read-only");
}

#[test]
fn readable_output() {
    let dir = tempdir();
    write_entries(dir.path(), 10, 20, 4096);
    let run = run(["stat", s(dir.path())]);
    let text = run.ok();
    assert!(text.contains("entries     10 (offsets 0..=9)"), "{text}");
    assert!(text.contains("cursor      none"), "{text}");
    assert!(text.contains("segments    1"), "{text}");
    assert!(text.contains("active"), "{text}");
}

#[test]
fn a_damaged_log_reports_its_valid_prefix() {
    let dir = tempdir();
    write_entries(dir.path(), 30, 20, 4096);
    let (_, active) = active_segment(dir.path());
    flip_byte(&active, 20 * 32 + 15);
    let stat = stat_json(dir.path());
    assert_eq!(stat["last_offset"], 19);
    assert_eq!(stat["entries"], 20);
    let text = run(["stat", s(dir.path())]).stdout;
    assert!(text.contains("damaged"), "{text}");
}

#[test]
fn a_missing_directory_is_a_usage_error() {
    let dir = tempdir();
    assert_usage_error(
        &run(["stat", s(&dir.path().join("nope")), "--json"]),
        "no such directory",
    );
}

/// The caller's metadata blob: shown with its length, or as corrupt (the valid log is
/// unaffected, and `verify` reports `meta_corrupt`).
#[test]
fn the_metadata_blob_is_shown() {
    let dir = tempdir();
    write_entries(dir.path(), 3, 20, 512);
    {
        let wal = wal_store::Wal::open(dir.path(), wal_store::WalOptions::default()).unwrap();
        wal.write_meta(b"term=7").unwrap();
        wal.close().unwrap();
    }
    let stat = stat_json(dir.path());
    assert_eq!(stat["meta"], "ok");
    assert_eq!(stat["meta_bytes"], 6);
    let text = run(["stat", s(dir.path())]);
    assert!(text.ok().contains("meta        6 bytes"), "{}", text.stdout);

    wal_testkit::damage::xor_byte(&dir.path().join(wal_store::META_FILE_NAME), 12, 1);
    let stat = stat_json(dir.path());
    assert_eq!(stat["meta"], "corrupt");
    assert!(stat["meta_bytes"].is_null());
    assert_eq!(stat["entries"], 3);
    let text = run(["stat", s(dir.path())]);
    assert!(
        text.ok().contains("meta        corrupt ("),
        "{}",
        text.stdout
    );
    let verify = run(["verify", s(dir.path())]);
    assert!(verify.stdout.contains("meta_corrupt"), "{}", verify.stdout);
}
