//! `walctl dump`: readable and JSON output, ranges, read-only reading, damage, pipes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

#[test]
fn readable_output_has_one_line_per_entry() {
    let dir = tempdir();
    run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "3",
        "--size",
        "10",
        "--seed",
        "7",
    ])
    .ok();
    let run = run(["dump", s(dir.path())]);
    let lines: Vec<String> = run.ok().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("0\tsegment 0 v2 @0\t10 bytes\tcrc 0x"),
        "{lines:?}"
    );
    assert!(lines[2].ends_with("\"7:2;7:2;7:\""), "{lines:?}");
}

#[test]
fn json_lines_follow_the_contract() {
    let dir = tempdir();
    run([
        "write",
        s(dir.path()),
        "--count",
        "40",
        "--size",
        "30",
        "--seed",
        "3",
        "--segment-size",
        "256",
    ])
    .ok();
    let entries = run(["dump", s(dir.path()), "--json"]).json_lines();
    assert_eq!(entries.len(), 40);
    let mut segments = std::collections::BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        assert_keys(
            e,
            &[
                "offset",
                "segment",
                "codec",
                "file_offset",
                "size",
                "prev_crc",
                "crc",
                "payload_hex",
            ],
        );
        let offset = e["offset"].as_u64().unwrap();
        assert_eq!(offset, i as u64);
        let segment = e["segment"].as_u64().unwrap();
        assert!(segment <= offset);
        segments.insert(segment);
        assert_eq!(e["codec"], "v2");
        assert!(e["file_offset"].is_u64());
        assert_eq!(e["size"], 30);
        assert!(e["crc"].is_u64() && e["prev_crc"].is_u64());
        let unit = format!("3:{offset};");
        let payload: Vec<u8> = unit.bytes().cycle().take(30).collect();
        assert_eq!(e["payload_hex"], hex(&payload));
        if i > 0 {
            // The chain: each entry's previous crc is the crc of the entry before.
            assert_eq!(e["prev_crc"], entries[i - 1]["crc"]);
        } else {
            assert_eq!(e["prev_crc"], 0);
            assert_eq!(e["file_offset"], 0);
        }
    }
    assert!(segments.len() > 2, "the entries span several segments");
}

#[test]
fn v1_entries_have_null_crcs() {
    let dir = tempdir();
    run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "2",
        "--size",
        "5",
        "--codec",
        "v1",
    ])
    .ok();
    for e in run(["dump", s(dir.path()), "--json"]).json_lines() {
        assert_eq!(e["codec"], "v1");
        assert!(e["crc"].is_null() && e["prev_crc"].is_null());
    }
}

#[test]
fn from_and_to_select_an_inclusive_range() {
    let dir = tempdir();
    write_entries(dir.path(), 50, 12, 256);
    let d = s(dir.path());
    let offsets = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["dump", d, "--json"];
        all.extend_from_slice(args);
        run(all)
            .json_lines()
            .iter()
            .map(|e| e["offset"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(offsets(&["--from", "10", "--to", "12"]), [10, 11, 12]);
    assert_eq!(offsets(&["--from", "48"]), [48, 49]);
    assert_eq!(offsets(&["--to", "1"]), [0, 1]);
    assert_eq!(offsets(&["--from", "7", "--to", "7"]), [7]);
    assert!(offsets(&["--from", "50"]).is_empty());
}

#[test]
fn dump_is_read_only_and_ignores_the_writer_lock() {
    let dir = tempdir();
    write_entries(dir.path(), 20, 8, 128);
    std::fs::remove_file(dir.path().join("LOCK")).unwrap();
    let before = snapshot(dir.path());
    run(["dump", s(dir.path())]).ok();
    run(["dump", s(dir.path()), "--json"]).ok();
    assert_eq!(snapshot(dir.path()), before, "no file created or changed");

    std::fs::write(dir.path().join("LOCK"), b"").unwrap();
    let _holder = LockHolder::hold(dir.path());
    assert_eq!(
        run(["dump", s(dir.path()), "--json"]).json_lines().len(),
        20
    );
}

#[test]
fn an_empty_directory_dumps_nothing() {
    let dir = tempdir();
    assert_eq!(run(["dump", s(dir.path())]).ok(), "");
}

#[test]
fn damage_stops_the_dump_with_exit_1_after_the_entries_before_it() {
    let dir = tempdir();
    write_entries(dir.path(), 30, 20, 4096);
    // Each v2 record here is 12 + 20 bytes; damage the payload of entry 10.
    let (_, active) = active_segment(dir.path());
    flip_byte(&active, 10 * 32 + 15);
    let run = run(["dump", s(dir.path()), "--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let entries = run.json_lines();
    assert_eq!(entries.len(), 10);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert!(
        lines[0].starts_with("walctl: problem: crc_mismatch in segment 0 at entry 10"),
        "{run:#?}"
    );

    // A range before the damage reads cleanly.
    let before = common::run(["dump", s(dir.path()), "--to", "9"]);
    assert_eq!(before.ok().lines().count(), 10);
}

#[test]
fn a_missing_directory_a_file_and_a_bad_range_are_usage_errors() {
    let dir = tempdir();
    let missing = dir.path().join("missing");
    assert_usage_error(&run(["dump", s(&missing)]), "no such directory");
    assert!(!missing.exists(), "dump never creates the directory");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_usage_error(&run(["dump", s(&file)]), "is not a directory");
    assert_usage_error(
        &run(["dump", s(dir.path()), "--from", "5", "--to", "4"]),
        "--from 5 is after --to 4",
    );
    assert_usage_error(&run(["dump", s(dir.path()), "--from", "x"]), "--from");
    assert_usage_error(&run(["dump"]), "<DIR>");
}

#[test]
fn piping_into_head_ends_quietly() {
    let dir = tempdir();
    // Far more output than a pipe holds, so that dump is still writing when head exits.
    write_entries(dir.path(), 5000, 64, 1 << 20);
    for json in [false, true] {
        let script = format!(
            "set -o pipefail; \"$0\" dump \"$1\" {} | head -1",
            if json { "--json" } else { "" }
        );
        let output = std::process::Command::new("bash")
            .args(["-c", &script, env!("CARGO_BIN_EXE_walctl"), s(dir.path())])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
    }
}
