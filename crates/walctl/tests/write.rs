//! `walctl write`: the payload rule, appending after the last entry, sync modes and their
//! acknowledgements, standard input, and bad input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

/// Every entry `dump --json` shows, as (offset, payload).
fn entries(dir: &std::path::Path) -> Vec<(u64, Vec<u8>)> {
    run(["dump", s(dir), "--json"])
        .json_lines()
        .iter()
        .map(|e| {
            let hex = e["payload_hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (e["offset"].as_u64().unwrap(), bytes)
        })
        .collect()
}

#[test]
fn the_payload_of_offset_o_is_seed_colon_o_semicolon_repeated_and_cut() {
    let dir = tempdir();
    let run = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "13",
        "--size",
        "10",
        "--seed",
        "7",
    ]);
    run.ok();
    let written = entries(dir.path());
    assert_eq!(written.len(), 13);
    assert_eq!(written[12], (12, b"7:12;7:12;".to_vec()));
    assert_eq!(written[0], (0, b"7:0;7:0;7:".to_vec()));
    for (offset, payload) in &written {
        let unit = format!("7:{offset};");
        let expected: Vec<u8> = unit.bytes().cycle().take(10).collect();
        assert_eq!(payload, &expected);
    }
}

#[test]
fn the_seed_defaults_to_zero_and_a_second_write_appends_after_the_last_entry() {
    let dir = tempdir();
    let first = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "5",
        "--size",
        "6",
    ]);
    assert_eq!(
        first.ok(),
        format!(
            "wrote 5 entries to {}: offsets 0..=4, durable; next offset 5\n",
            dir.path().display()
        )
    );
    let second = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "3",
        "--size",
        "4",
    ]);
    assert!(second.ok().contains("offsets 5..=7"));
    let written = entries(dir.path());
    assert_eq!(written.len(), 8);
    assert_eq!(written[4], (4, b"0:4;0:".to_vec()));
    assert_eq!(written[5], (5, b"0:5;".to_vec()));
    assert_eq!(written[7], (7, b"0:7;".to_vec()));
}

#[test]
fn it_creates_the_directory_when_needed() {
    let dir = tempdir();
    let nested = dir.path().join("a").join("b");
    run([
        "write",
        s(&nested),
        "--segment-size",
        "65536",
        "--count",
        "2",
        "--size",
        "3",
    ])
    .ok();
    assert_eq!(entries(&nested).len(), 2);
}

#[test]
fn sync_always_acknowledges_every_entry() {
    let dir = tempdir();
    let run = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "4",
        "--size",
        "8",
        "--sync",
        "always",
        "--ack",
    ]);
    assert_eq!(run.ok(), "synced 0\nsynced 1\nsynced 2\nsynced 3\n");
}

#[test]
fn sync_batch_acknowledges_every_n_entries_and_the_rest_at_the_end() {
    let dir = tempdir();
    let run = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "10",
        "--size",
        "8",
        "--sync",
        "batch",
        "--batch",
        "4",
        "--ack",
    ]);
    assert_eq!(run.ok(), "synced 3\nsynced 7\nsynced 9\n");
}

#[test]
fn sync_batch_is_the_default_with_64_entries_per_sync() {
    let dir = tempdir();
    let run = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "130",
        "--size",
        "8",
        "--ack",
    ]);
    assert_eq!(run.ok(), "synced 63\nsynced 127\nsynced 129\n");
}

#[test]
fn sync_none_acknowledges_once_at_the_end() {
    let dir = tempdir();
    run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "3",
        "--size",
        "8",
    ])
    .ok();
    let run = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "5",
        "--size",
        "8",
        "--sync",
        "none",
        "--ack",
    ]);
    assert_eq!(run.ok(), "synced 7\n");
}

#[test]
fn pipeline_acknowledges_in_offset_order_up_to_the_last_entry() {
    let dir = tempdir();
    let run = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "500",
        "--size",
        "8",
        "--seed",
        "3",
        "--pipeline",
        "16",
        "--ack",
    ]);
    let acks: Vec<u64> = run
        .ok()
        .lines()
        .map(|line| line.strip_prefix("synced ").unwrap().parse().unwrap())
        .collect();
    assert!(acks.windows(2).all(|w| w[0] < w[1]), "{acks:?}");
    assert_eq!(acks.last(), Some(&499));
    // No more than 16 in flight: at least one acknowledgement every 16 entries.
    assert!(acks.len() >= 500 / 16, "{acks:?}");
    let written = entries(dir.path());
    assert_eq!(written.len(), 500);
    assert_eq!(written[499], (499, b"3:499;3:".to_vec()));
}

#[test]
fn pipeline_takes_no_sync_mode() {
    let dir = tempdir();
    let run = run([
        "write",
        s(dir.path()),
        "--count",
        "1",
        "--size",
        "8",
        "--pipeline",
        "4",
        "--sync",
        "always",
    ]);
    assert_usage_error(&run, "--pipeline");
}

#[test]
fn stdin_lines_become_entries() {
    let dir = tempdir();
    let run = run_with_stdin(
        [
            "write",
            s(dir.path()),
            "--segment-size",
            "65536",
            "--stdin",
            "--sync",
            "always",
            "--ack",
        ],
        b"alpha\nbeta\ngamma without newline",
    );
    assert_eq!(run.ok(), "synced 0\nsynced 1\nsynced 2\n");
    let written = entries(dir.path());
    assert_eq!(
        written,
        vec![
            (0, b"alpha".to_vec()),
            (1, b"beta".to_vec()),
            (2, b"gamma without newline".to_vec())
        ]
    );
}

#[test]
fn an_empty_stdin_line_is_an_error_after_writing_the_lines_before_it() {
    let dir = tempdir();
    let run = run_with_stdin(
        ["write", s(dir.path()), "--segment-size", "65536", "--stdin"],
        b"a\nb\n\nc\n",
    );
    assert_usage_error(&run, "line 3 of standard input is empty");
    assert_eq!(
        entries(dir.path()),
        vec![(0, b"a".to_vec()), (1, b"b".to_vec())]
    );
}

#[test]
fn codec_v1_and_small_segments() {
    let dir = tempdir();
    run([
        "write",
        s(dir.path()),
        "--count",
        "100",
        "--size",
        "20",
        "--codec",
        "v1",
        "--segment-size",
        "512",
    ])
    .ok();
    let dumped = run(["dump", s(dir.path()), "--json"]).json_lines();
    assert_eq!(dumped.len(), 100);
    assert!(
        dumped
            .iter()
            .all(|e| e["codec"] == "v1" && e["crc"].is_null())
    );
    assert!(data_files(dir.path()).len() > 3, "small segments rotate");
}

#[test]
fn size_zero_is_a_usage_error() {
    let dir = tempdir();
    let run = run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "1",
        "--size",
        "0",
    ]);
    assert_usage_error(&run, "--size");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn conflicting_and_missing_flags_are_usage_errors() {
    let dir = tempdir();
    let d = s(dir.path());
    assert_usage_error(&run(["write", d, "--stdin", "--count", "3"]), "--stdin");
    assert_usage_error(&run(["write", d, "--count", "3"]), "--size");
    assert_usage_error(
        &run([
            "write", d, "--count", "3", "--size", "4", "--sync", "always", "--batch", "2",
        ]),
        "--batch",
    );
    assert_usage_error(
        &run(["write", d, "--count", "3", "--size", "4", "--batch", "0"]),
        "--batch",
    );
    assert_usage_error(
        &run(["write", d, "--count", "3", "--size", "4", "--codec", "v3"]),
        "--codec",
    );
    assert_usage_error(
        &run([
            "write",
            d,
            "--count",
            "3",
            "--size",
            "4",
            "--segment-size",
            "10",
        ]),
        "segment_bytes",
    );
    assert_usage_error(
        &run(["write", d, "--count", "1", "--size", "999999999999"]),
        "--size",
    );
}

#[test]
fn a_file_where_the_directory_should_be_is_a_usage_error() {
    let dir = tempdir();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let run = run([
        "write",
        s(&file),
        "--segment-size",
        "65536",
        "--count",
        "1",
        "--size",
        "1",
    ]);
    assert_usage_error(&run, "is not a directory");
}

#[test]
fn a_second_writer_is_refused_while_another_process_holds_the_lock() {
    let dir = tempdir();
    run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "2",
        "--size",
        "3",
    ])
    .ok();
    let before = snapshot(dir.path());
    {
        let _holder = LockHolder::hold(dir.path());
        let run = run([
            "write",
            s(dir.path()),
            "--segment-size",
            "65536",
            "--count",
            "1",
            "--size",
            "3",
        ]);
        assert_usage_error(&run, "locked");
    }
    assert_eq!(snapshot(dir.path()), before);
    run([
        "write",
        s(dir.path()),
        "--segment-size",
        "65536",
        "--count",
        "1",
        "--size",
        "3",
    ])
    .ok();
}

/// Writes `count` entries of 38 bytes (50-byte records, five to a 256-byte segment) with
/// `limits`.
fn write_limited(dir: &std::path::Path, count: u64, limits: &[&str]) -> Run {
    let count = count.to_string();
    let mut args = vec![
        "write",
        s(dir),
        "--segment-size",
        "256",
        "--size",
        "38",
        "--count",
        &count,
    ];
    args.extend_from_slice(limits);
    run(args)
}

#[test]
fn a_write_at_capacity_is_one_error_line_and_exit_2_until_the_cursor_moves() {
    let dir = tempdir();
    let limits = ["--max-segments", "3"];
    write_limited(dir.path(), 15, &limits).ok();
    // Two entries fit nowhere: nothing is consumed, so nothing may be removed.
    let refused = write_limited(dir.path(), 2, &limits);
    assert_usage_error(&refused, "at capacity: max_segments is 3");
    assert!(refused.stderr.contains("wrote 0 entries"), "{refused:#?}");
    assert_eq!(entries(dir.path()).len(), 15);
    // The same with a byte limit, after some entries did fit.
    let dir_bytes = tempdir();
    let bytes = ["--max-log-bytes", "800"];
    let refused = write_limited(dir_bytes.path(), 20, &bytes);
    assert_usage_error(&refused, "at capacity: max_log_bytes is 800");
    assert!(
        refused.stderr.contains("wrote 15 entries") && refused.stderr.contains("0..=14, durable"),
        "{refused:#?}"
    );
    assert_eq!(entries(dir_bytes.path()).len(), 15);
    // The consumer has finalized 0..=6: segment 0 may go (5 holds its next entry).
    run(["cursor", s(dir.path()), "--set", "6"]).ok();
    write_limited(dir.path(), 2, &limits).ok();
    let kept: Vec<u64> = entries(dir.path()).iter().map(|(o, _)| *o).collect();
    assert_eq!(kept, (5..17).collect::<Vec<_>>());
}

#[test]
fn limits_that_leave_no_room_for_a_rotation_are_usage_errors() {
    let dir = tempdir();
    assert_usage_error(
        &write_limited(dir.path(), 1, &["--max-segments", "1"]),
        "max_segments",
    );
    assert_usage_error(
        &write_limited(dir.path(), 1, &["--max-log-bytes", "300"]),
        "max_log_bytes",
    );
}
