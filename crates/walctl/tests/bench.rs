//! `walctl bench`: every phase reports entries per second; the logs are removed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

#[test]
fn json_reports_every_phase() {
    let dir = tempdir();
    let run = run([
        "bench",
        "--dir",
        s(dir.path()),
        "--phase-ms",
        "20",
        "--json",
    ]);
    run.ok();
    let bench = run.json();
    assert_keys(&bench, &["dir", "payload_bytes", "phases"]);
    assert_eq!(bench["dir"], s(dir.path()));
    assert_eq!(bench["payload_bytes"], 128);
    let phases = bench["phases"].as_array().unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "append_unsynced",
            "append_durable",
            "group_commit",
            "replay"
        ]
    );
    for phase in phases {
        assert_keys(
            phase,
            &["name", "threads", "entries", "seconds", "entries_per_sec"],
        );
        assert!(phase["entries"].as_u64().unwrap() > 0, "{phase}");
        assert!(phase["seconds"].as_f64().unwrap() > 0.0, "{phase}");
        assert!(phase["entries_per_sec"].as_f64().unwrap() > 0.0, "{phase}");
    }
    assert_eq!(phases[2]["threads"], 8);
    assert_eq!(
        phases[3]["entries"], phases[0]["entries"],
        "replay reads the unsynced log"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the logs are removed"
    );
}

#[test]
fn readable_output_lists_the_phases() {
    let dir = tempdir();
    let run = run(["bench", "--dir", s(dir.path()), "--phase-ms", "20"]);
    let text = run.ok();
    for name in [
        "append_unsynced",
        "append_durable",
        "group_commit",
        "replay",
        "entries/s",
    ] {
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempdir();
    assert_usage_error(
        &run(["bench", "--dir", s(&dir.path().join("nope"))]),
        "no such directory",
    );
    assert_usage_error(&run(["bench", "--phase-ms", "0"]), "--phase-ms");
}
