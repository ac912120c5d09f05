//! Issue 20, point 3, through the command line: with the cursor at 30 and a flipped byte
//! in entry 3 (or a segment missing wholly before the cursor), `replay` prints 31..=39
//! and exits 0, `write` and `trim` work (with one warning naming the damage and the trim
//! on offer), `verify` reports the damage as consumed and the cursor as fine, and
//! `repair --mode trim-consumed-damage` moves the damaged segments to quarantine. Where a
//! refusal suggests a point-in-time repair, it names the unread entries it would drop.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::path::Path;

use common::*;

/// 40 entries of 28 bytes (40-byte records), 12 per 512-byte segment: segments 0, 12, 24
/// (sealed) and 36; the cursor at 30; no close record, as a crash leaves it.
fn consumed_to_30(dir: &Path) {
    write_entries(dir, 40, 28, 512);
    run(["cursor", s(dir), "--set", "30"]).ok();
    std::fs::remove_file(dir.join("CLOSED")).unwrap();
}

fn flip_entry_3(dir: &Path) {
    flip_byte(&dir.join("0.txnx"), 3 * 40 + 20);
}

fn replayed(dir: &Path) -> Vec<u64> {
    let run = run(["replay", s(dir), "--json"]);
    run.ok();
    run.json_lines()
        .iter()
        .map(|e| e["offset"].as_u64().unwrap())
        .collect()
}

const NOTE: &str = "walctl: warning: damage in consumed entries";

fn assert_costs_no_unread_entry(dir: &Path, damage: (u64, u64), kind: &str) {
    assert_eq!(replayed(dir), (31..40).collect::<Vec<_>>());

    let verify = run(["verify", s(dir)]);
    assert_eq!(verify.code, 1, "damage is damage: {verify:#?}");
    assert!(
        verify.stdout.starts_with(&format!(
            "PROBLEMS: {} (entries 0..=39 valid, ",
            dir.display()
        )),
        "{verify:#?}"
    );
    assert!(
        verify.stdout.contains("1 problems, cursor 30)"),
        "{verify:#?}"
    );
    assert!(
        !verify.stdout.contains("cursor_out_of_range"),
        "{verify:#?}"
    );
    assert!(
        verify.stdout.contains(&format!("{kind} in segment"))
            && verify.stdout.contains("[committed] [consumed]"),
        "{verify:#?}"
    );
    assert!(
        verify.stdout.contains(&format!(
            "damage in consumed entries {}..{}",
            damage.0, damage.1
        )),
        "{verify:#?}"
    );
    assert!(!verify.stdout.contains("point-in-time"), "{verify:#?}");
    let json = run(["verify", s(dir), "--json"]).json_lines().remove(0);
    assert_eq!(json["problems"][0]["consumed"], true);
    assert_eq!(json["damage_before_cursor"]["from"], damage.0);
    assert_eq!(json["damage_before_cursor"]["to"], damage.1);

    let write = run(["write", s(dir), "--count", "1", "--size", "28"]);
    assert_eq!(write.code, 0, "{write:#?}");
    assert!(write.stderr.starts_with(NOTE), "{write:#?}");
    assert!(write.stderr.contains("trim-consumed-damage"), "{write:#?}");
    let trim = run(["trim", s(dir), "--before", "1"]);
    assert_eq!(trim.code, 0, "{trim:#?}");
    assert_eq!(replayed(dir), (31..41).collect::<Vec<_>>());
}

#[test]
fn a_flipped_byte_in_a_consumed_entry_blocks_nothing() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry_3(dir.path());
    assert_costs_no_unread_entry(dir.path(), (3, 12), "crc_mismatch");
}

#[test]
fn a_segment_missing_before_the_cursor_blocks_nothing() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    std::fs::remove_file(dir.path().join("12.txnx")).unwrap();
    std::fs::remove_file(dir.path().join("12.idxx")).unwrap();
    assert_costs_no_unread_entry(dir.path(), (12, 24), "segment_gap");
}

#[test]
fn repair_trims_the_consumed_damage_into_quarantine_when_asked() {
    let dir = tempdir();
    consumed_to_30(dir.path());
    flip_entry_3(dir.path());
    // The default repair leaves it, and says what is on offer.
    let left = run(["repair", s(dir.path())]);
    assert_eq!(left.code, 1, "{left:#?}");
    assert!(
        left.stdout.contains("damage in consumed entries 3..12"),
        "{left:#?}"
    );
    assert!(dir.path().join("0.txnx").exists());

    let trimmed = run(["repair", s(dir.path()), "--mode", "trim-consumed-damage"]);
    assert_eq!(trimmed.code, 0, "{trimmed:#?}");
    assert!(
        trimmed.stdout.starts_with(&format!(
            "repaired {} (trim-consumed-damage): verifies clean",
            dir.path().display()
        )),
        "{trimmed:#?}"
    );
    assert!(
        trimmed.stdout.contains("cut: entries 0..12"),
        "{trimmed:#?}"
    );
    assert!(!dir.path().join("0.txnx").exists());
    let quarantined = std::fs::read_dir(dir.path().join("quarantine"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(quarantined.join("0.txnx").exists());
    assert!(quarantined.join("0.idxx").exists());
    run(["verify", s(dir.path())]).ok();
    assert_eq!(replayed(dir.path()), (31..40).collect::<Vec<_>>());
}

#[test]
fn a_refusal_names_the_unread_entries_a_point_in_time_repair_drops() {
    // Entry 26 is unread (cursor 25): the default mode refuses, and every suggestion of a
    // point-in-time repair says what it costs.
    let dir = tempdir();
    write_entries(dir.path(), 40, 28, 512);
    run(["cursor", s(dir.path()), "--set", "25"]).ok();
    std::fs::remove_file(dir.path().join("CLOSED")).unwrap();
    flip_byte(&dir.path().join("24.txnx"), 2 * 40 + 20);
    let cost = "would drop 14 unread entries (26..=39)";

    let write = run(["write", s(dir.path()), "--count", "1", "--size", "28"]);
    assert_eq!(write.code, 1, "{write:#?}");
    assert!(write.stderr.contains(cost), "{write:#?}");
    let repair = run(["repair", s(dir.path())]);
    assert_eq!(repair.code, 1, "{repair:#?}");
    assert!(
        repair.stdout.contains(&format!(
            "'walctl repair --mode point-in-time' cuts it, and {cost}"
        )),
        "{repair:#?}"
    );
    let verify = run(["verify", s(dir.path())]);
    assert!(verify.stdout.contains(cost), "{verify:#?}");
}
