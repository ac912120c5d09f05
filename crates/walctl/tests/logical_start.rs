//! The read-only commands (`dump`, `stat`, `replay`, `verify`) and the log's logical start
//! (the `SEED` file): after a trim inside a segment they start at the trim's offset, after
//! a reset (finished or under way) they show the empty log at the reset's offset, and a
//! plain start past every record is lost entries, not an empty log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::path::Path;

use common::*;
use wal_store::internal::seed::{LogStart, write_seed};
use wal_store::{Wal, WalOptions};

fn options() -> WalOptions {
    WalOptions::default().with_segment_bytes(256)
}

fn offsets_dumped(dir: &Path) -> Vec<u64> {
    run(["dump", s(dir), "--json"])
        .json_lines()
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect()
}

#[test]
fn read_only_commands_start_at_the_logical_start() {
    let dir = tempdir();
    write_entries(dir.path(), 40, 30, 256);
    let wal = Wal::open(dir.path(), options()).unwrap();
    wal.trim_before(17).unwrap();
    wal.close().unwrap();
    assert!(
        data_files(dir.path())[0].0 < 17,
        "the trim is inside a segment"
    );

    assert_eq!(offsets_dumped(dir.path()), (17..40).collect::<Vec<_>>());
    let stat = run(["stat", s(dir.path()), "--json"]).json();
    assert_eq!(stat["first_offset"], 17);
    assert_eq!(stat["last_offset"], 39);
    assert_eq!(stat["entries"], 23);
    let verify = run(["verify", s(dir.path()), "--json"]).json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["first_offset"], 17);
    let replayed = run(["replay", s(dir.path())]).ok().lines().count();
    assert_eq!(replayed, 23);
}

#[test]
fn read_only_commands_show_a_reset_log_empty_at_its_offset() {
    let dir = tempdir();
    write_entries(dir.path(), 40, 30, 256);
    let wal = Wal::open(dir.path(), options()).unwrap();
    wal.reset_to(500, 9).unwrap();
    wal.close().unwrap();
    assert_eq!(offsets_dumped(dir.path()), Vec::<u64>::new());
    let verify = run(["verify", s(dir.path()), "--json"]).json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["first_offset"], 500);

    // A reset under way: every segment file is void, whatever it holds.
    let dir = tempdir();
    write_entries(dir.path(), 40, 30, 256);
    write_seed(
        dir.path(),
        LogStart {
            resetting: true,
            ..LogStart::at(3, 9)
        },
    )
    .unwrap();
    assert_eq!(offsets_dumped(dir.path()), Vec::<u64>::new());
    let stat = run(["stat", s(dir.path()), "--json"]).json();
    assert_eq!(stat["entries"], 0);
    assert_eq!(stat["segments"].as_array().unwrap().len(), 0);
    let verify = run(["verify", s(dir.path()), "--json"]).json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["first_offset"], 3);
}

#[test]
fn read_only_commands_show_a_plain_start_past_every_record_as_lost_entries() {
    // No store operation leaves a start past the records without the reset flag: the
    // entries in between were lost. dump, stat and verify agree: the records as they
    // are, from the first, and the lost entries as the problem they end at.
    let dir = tempdir();
    write_entries(dir.path(), 40, 30, 256);
    write_seed(dir.path(), LogStart::at(100, 9)).unwrap();
    assert_eq!(offsets_dumped(dir.path()), (0..40).collect::<Vec<_>>());
    let stat = run(["stat", s(dir.path()), "--json"]).json();
    assert_eq!(stat["first_offset"], 0);
    assert_eq!(stat["last_offset"], 39);
    let verify = run(["verify", s(dir.path()), "--json"]).json();
    assert_eq!(verify["ok"], false);
    assert_eq!(verify["first_offset"], 0);
    assert_eq!(verify["last_valid_offset"], 39);
    assert_eq!(verify["problems"][0]["kind"], "missing_entries");
    assert_eq!(verify["problems"][0]["offset"], 40);
    assert_eq!(verify["problems"][0]["committed"], true);
}
