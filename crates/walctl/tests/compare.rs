//! `walctl compare`: where two logs part ways, through their chained crcs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::path::Path;

use common::*;

fn write(dir: &Path, count: u64, seed: u64) {
    run([
        "write",
        s(dir),
        "--count",
        &count.to_string(),
        "--size",
        "16",
        "--segment-size",
        "256",
        "--seed",
        &seed.to_string(),
    ])
    .ok();
}

#[test]
fn identical_logs_exit_0() {
    let (a, b) = (tempdir(), tempdir());
    write(a.path(), 50, 3);
    write(b.path(), 50, 3);
    let run = run(["compare", s(a.path()), s(b.path()), "--json"]);
    run.ok();
    let found = run.json();
    assert_keys(
        &found,
        &["identical", "first_divergent_offset", "common_last_offset"],
    );
    assert_eq!(found["identical"], true);
    assert!(found["first_divergent_offset"].is_null());
    assert_eq!(found["common_last_offset"], 49);
}

#[test]
fn diverging_logs_name_the_first_different_entry_and_exit_1() {
    let (a, b) = (tempdir(), tempdir());
    write(a.path(), 50, 3);
    write(b.path(), 30, 3);
    write(b.path(), 20, 4); // entries 30.. carry another seed's payloads
    let run = run(["compare", s(a.path()), s(b.path()), "--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let found = run.json();
    assert_eq!(found["identical"], false);
    assert_eq!(found["first_divergent_offset"], 30);
    assert_eq!(found["common_last_offset"], 29);
    let text = common::run(["compare", s(a.path()), s(b.path())]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("differ from entry 30"), "{text:#?}");
}

#[test]
fn compare_of_a_missing_directory_exits_2() {
    let a = tempdir();
    write(a.path(), 5, 0);
    let missing = a.path().join("missing");
    assert_usage_error(&run(["compare", s(a.path()), s(&missing)]), "missing");
}
