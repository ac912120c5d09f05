//! The read-only commands over a log whose migration was interrupted: `dump`, `stat`,
//! `replay` and `verify` see it as the next open will (its committed journal rolled
//! forward in memory), find every entry with its payload, and change nothing on disk.
//!
//! The states are built from a log and a migrated copy of it: the files the migration
//! installs are written as `<name>.pending`, then `JOURNAL` lists them (the commit point),
//! then the journal is applied step by step, as a roll-forward that stopped would leave it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

const ENTRIES: u64 = 180;
const SEED: u64 = 4;
const SIZE: usize = 50;

/// The payload `walctl write --seed 4 --size 50` gives the entry at `offset`.
fn pattern(offset: u64) -> Vec<u8> {
    let unit = format!("{SEED}:{offset};");
    unit.bytes().cycle().take(SIZE).collect()
}

fn write(dir: &Path, extra: &[&str], count: u64) {
    let count = count.to_string();
    let mut args = vec![
        "write",
        s(dir),
        "--count",
        &count,
        "--size",
        "50",
        "--segment-size",
        "4096",
        "--seed",
        "4",
    ];
    args.extend_from_slice(extra);
    run(args).ok();
}

/// Regular files of a directory (the lock file aside), by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file() && e.file_name() != "LOCK")
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Base offset and whether it is an index, for ordering a journal like a migration's:
/// segment by segment, data before index.
fn segment_order(name: &str) -> (u64, bool) {
    let (stem, ext) = name.split_once('.').unwrap();
    (stem.parse().unwrap(), ext.starts_with("idx"))
}

/// The log before the migration (v1 segments 0 and 75, v2 segment 150, as in the issue's
/// reproduction plus a later segment to rechain) and after it.
struct Migration {
    before: BTreeMap<String, Vec<u8>>,
    after: BTreeMap<String, Vec<u8>>,
}

impl Migration {
    fn new() -> Migration {
        let work = tempdir();
        let dir = work.path().join("log");
        write(&dir, &["--codec", "v1"], 100);
        write(&dir, &[], 50);
        write(&dir, &[], 30);
        let before = files(&dir);
        run(["migrate", s(&dir)]).ok();
        let after = files(&dir);
        assert_ne!(before, after);
        Migration { before, after }
    }

    /// The files the migration writes, in the journal's order.
    fn installs(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .after
            .iter()
            .filter(|(name, bytes)| self.before.get(*name) != Some(bytes))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort_by_key(|n| segment_order(n));
        names
    }

    /// The files the migration removes (the close record goes before the journal).
    fn removes(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .before
            .keys()
            .filter(|name| !self.after.contains_key(*name) && *name != "CLOSED")
            .cloned()
            .collect();
        names.sort_by_key(|n| segment_order(n));
        names
    }

    /// A directory in state `state`: 1 pending files written, no journal; 2 journal
    /// written, nothing applied; 3 the first install applied (a data file beside the
    /// file it replaces, its index still pending); 4 every install applied, the first
    /// removal done; 5 everything applied, the journal still there.
    fn state(&self, state: u8) -> tempfile::TempDir {
        let dir = tempdir();
        for (name, bytes) in &self.before {
            if state == 1 || name != "CLOSED" {
                std::fs::write(dir.path().join(name), bytes).unwrap();
            }
        }
        let installs = self.installs();
        let removes = self.removes();
        for name in &installs {
            std::fs::write(
                dir.path().join(format!("{name}.pending")),
                &self.after[name],
            )
            .unwrap();
        }
        if state == 1 {
            return dir;
        }
        let mut journal: String = installs.iter().map(|n| format!("install {n}\n")).collect();
        journal.extend(removes.iter().map(|n| format!("remove {n}\n")));
        std::fs::write(dir.path().join("JOURNAL"), journal).unwrap();
        let applied_installs = match state {
            2 => 0,
            3 => 1,
            _ => installs.len(),
        };
        let applied_removes = match state {
            4 => 1,
            5 => removes.len(),
            _ => 0,
        };
        for name in &installs[..applied_installs] {
            let path = dir.path().join(name);
            std::fs::rename(dir.path().join(format!("{name}.pending")), path).unwrap();
        }
        for name in &removes[..applied_removes] {
            std::fs::remove_file(dir.path().join(name)).unwrap();
        }
        dir
    }
}

fn assert_every_entry(entries: &[serde_json::Value], what: &str) {
    assert_eq!(entries.len() as u64, ENTRIES, "{what}: every entry");
    for (entry, offset) in entries.iter().zip(0..) {
        assert_eq!(entry["offset"], offset, "{what}");
        assert_eq!(
            entry["payload_hex"],
            hex(&pattern(offset)),
            "{what}: payload of {offset}"
        );
    }
}

/// Base offsets of the data files among `files`, in order.
fn data_bases(files: &BTreeMap<String, Vec<u8>>) -> Vec<u64> {
    let mut bases: Vec<u64> = files
        .keys()
        .filter(|n| n.ends_with(".txn") || n.ends_with(".txnx"))
        .map(|n| segment_order(n).0)
        .collect();
    bases.sort_unstable();
    bases
}

fn check_read_only_commands(migration: &Migration, state: u8) {
    let dir = migration.state(state);
    let dir = dir.path();
    let before = snapshot(dir);
    let what = |command: &str| format!("{command} in state {state}");

    let dump = run(["dump", s(dir), "--json"]);
    dump.ok();
    assert_every_entry(&dump.json_lines(), &what("dump"));

    let replay = run(["replay", s(dir), "--json"]);
    replay.ok();
    assert_every_entry(&replay.json_lines(), &what("replay"));

    let stat = run(["stat", s(dir), "--json"]);
    stat.ok();
    let stat = stat.json();
    assert_eq!(stat["entries"], ENTRIES, "{}: {stat}", what("stat"));
    assert_eq!(stat["first_offset"], 0);
    assert_eq!(stat["last_offset"], ENTRIES - 1);
    let segments = stat["segments"].as_array().unwrap();
    let bases: Vec<u64> = segments
        .iter()
        .map(|s| s["base_offset"].as_u64().unwrap())
        .collect();
    // Before the commit point the segments are the old ones (0, 75 and 150); after it,
    // the migrated ones (laid out again: converted records are longer).
    let expected = if state == 1 {
        data_bases(&migration.before)
    } else {
        data_bases(&migration.after)
    };
    assert_eq!(bases, expected, "{}", what("stat"));
    let indexes: Vec<&str> = segments
        .iter()
        .map(|s| s["index"].as_str().unwrap())
        .collect();
    let mut sealed = vec!["ok"; expected.len() - 1];
    sealed.push("active");
    assert_eq!(indexes, sealed, "{}: {stat}", what("stat"));
    // Before the commit point the log is the old one; after it, the migrated one.
    let codec = if state == 1 { "v1" } else { "v2" };
    assert_eq!(segments[0]["codec"], codec, "{}: {stat}", what("stat"));

    // The journal and the pending files are leftovers of an unfinished change (temporary
    // files: not ok), and nothing else is wrong.
    let verify = run(["verify", s(dir), "--json"]);
    let verdict = verify.json();
    assert_eq!(verdict["first_offset"], 0, "{}: {verdict}", what("verify"));
    assert_eq!(verdict["last_valid_offset"], ENTRIES - 1, "{verdict}");
    let problems = verdict["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{verdict}");
    assert!(
        problems.iter().all(|p| p["kind"] == "temp_file"),
        "{}: {verdict}",
        what("verify")
    );
    assert_eq!(verify.code, 1, "{verify:#?}");

    assert_eq!(
        snapshot(dir),
        before,
        "state {state}: a read-only command changed the directory"
    );

    // And the next open sees the same log.
    write(dir, &[], 0);
    let dump = run(["dump", s(dir), "--json"]);
    dump.ok();
    assert_every_entry(&dump.json_lines(), &what("dump after an open"));
    assert!(!dir.join("JOURNAL").exists());
}

#[test]
fn pending_files_without_a_journal_are_not_segments() {
    let migration = Migration::new();
    check_read_only_commands(&migration, 1);
}

#[test]
fn a_committed_journal_with_nothing_applied_reads_as_migrated() {
    let migration = Migration::new();
    check_read_only_commands(&migration, 2);
}

#[test]
fn a_data_file_installed_beside_the_one_it_replaces_reads_as_migrated() {
    let migration = Migration::new();
    let state = migration.state(3);
    // The situation of the issue: the new v2 data file beside the v1 one.
    assert!(state.path().join("0.txnx").exists() && state.path().join("0.txn").exists());
    check_read_only_commands(&migration, 3);
}

#[test]
fn removals_half_done_read_as_migrated() {
    let migration = Migration::new();
    check_read_only_commands(&migration, 4);
}

#[test]
fn a_journal_left_after_everything_was_applied_reads_as_migrated() {
    let migration = Migration::new();
    check_read_only_commands(&migration, 5);
}
