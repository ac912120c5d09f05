//! `reset_to` failed at every system call it makes (through the store's fault seam), then
//! the process crashes (the log is dropped): both opens (the store's and recovery's) of
//! what is left give the old log, whole, or the new empty log at the reset's offset with
//! the reset's seed; nothing in between, and the same answer from both. The reset's
//! commit point is the rename that installs the `SEED` file with the reset flag: a
//! failure before it leaves the old log, one after it the new. A successful reset always
//! leaves the new one. Forward past the end, backward below the first entry, to the same
//! offset, and into the old offsets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::{payload, tempdir};
use wal_store::faults::{Call, EIO, ENOSPC, FaultPlan, Rule, Seen};
use wal_store::{SyncPolicy, Wal, WalOptions};
use wal_testkit::snapshot::Tree;

const SEGMENT_BYTES: u32 = 256;
/// The old log: entries 100..140 (several segments).
const FIRST: u64 = 100;
const END: u64 = 140;
const SEED: u32 = 0x0BAD_5EED;

fn options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_sync_policy(SyncPolicy::Always)
        .with_first_offset(FIRST)
}

fn old_log(dir: &Path) -> Wal {
    let wal = Wal::open(dir, options()).unwrap();
    for offset in FIRST..END {
        assert_eq!(wal.append(&payload(offset)).unwrap().offset, offset);
    }
    assert!(wal.stats().segments >= 2, "{}", wal.stats().segments);
    wal
}

/// What an open found: the old log or the new one.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Old,
    New,
}

/// Classifies a log just opened, panicking on anything but the old or the new log.
fn classify(
    label: &str,
    first: u64,
    next: u64,
    last_crc: Option<u32>,
    entries: &[(u64, Vec<u8>)],
    target: u64,
) -> Found {
    let old: Vec<(u64, Vec<u8>)> = (FIRST..END).map(|o| (o, payload(o))).collect();
    if (first, next) == (FIRST, END) && entries == old.as_slice() {
        return Found::Old;
    }
    assert_eq!(
        (first, next, last_crc, entries.len()),
        (target, target, Some(SEED), 0),
        "{label}: neither the old log nor the new one"
    );
    Found::New
}

/// Opens a copy of `files` with the store's open and one with recovery's, checks both
/// find the same log, that it takes an append chained as it should, and returns it.
fn reopen_both(label: &str, files: &Tree, target: u64) -> Found {
    let store_dir = tempdir();
    files.write_to(store_dir.path());
    let wal = Wal::open(store_dir.path(), options())
        .unwrap_or_else(|e| panic!("{label}: the store's open refused: {e}"));
    let entries: Vec<(u64, Vec<u8>)> = wal
        .iter()
        .map(|e| e.map(|e| (e.offset, e.payload)).unwrap())
        .collect();
    let by_store = classify(
        label,
        wal.first_offset(),
        wal.next_offset(),
        wal.last_crc(),
        &entries,
        target,
    );
    let appended = wal.append(b"after").unwrap();
    if by_store == Found::New {
        assert_eq!(appended.offset, target, "{label}");
        assert_eq!(wal.read(target).unwrap().prev_crc, Some(SEED), "{label}");
    }
    drop(wal);

    let recovery_dir = tempdir();
    files.write_to(recovery_dir.path());
    let recovered = wal_recovery::open(
        recovery_dir.path(),
        wal_recovery::RecoveryOptions::default().with_wal(options()),
    )
    .unwrap_or_else(|e| panic!("{label}: recovery refused: {e}"));
    let log = &recovered.log;
    let entries: Vec<(u64, Vec<u8>)> = log
        .iter()
        .map(|e| e.map(|e| (e.offset, e.payload)).unwrap())
        .collect();
    let by_recovery = classify(
        label,
        recovered.report.first_offset,
        log.next_offset(),
        log.last_crc(),
        &entries,
        target,
    );
    assert_eq!(by_store, by_recovery, "{label}: the two opens disagree");
    drop(recovered);
    let verification = wal_recovery::verify(recovery_dir.path(), None).unwrap();
    assert!(verification.ok, "{label}: {verification:#?}");
    by_store
}

/// The calls a reset to `target` makes, in order.
fn calls_of_reset(target: u64) -> Vec<Seen> {
    let dir = tempdir();
    let wal = old_log(dir.path());
    let plan = FaultPlan::install(dir.path());
    wal.reset_to(target, SEED).unwrap();
    let seen = plan.seen();
    drop(wal);
    assert_eq!(
        reopen_both("no fault", &Tree::take(dir.path()), target),
        Found::New
    );
    seen
}

fn crash_at_every_call_of_a_reset_to(target: u64) {
    let seen = calls_of_reset(target);
    // The commit point: the rename that installs the flagged SEED file.
    let commit = seen
        .iter()
        .position(|s| s.call == Call::Rename && s.path.ends_with("SEED"))
        .expect("the reset renames SEED into place");
    assert!(
        seen.iter().skip(commit + 1).any(|s| s.call == Call::Unlink),
        "old files are removed after the commit point: {seen:?}"
    );
    let mut nth: BTreeMap<Call, usize> = BTreeMap::new();
    for (at, call) in seen.iter().enumerate() {
        let n = *nth.entry(call.call).and_modify(|n| *n += 1).or_insert(1);
        for rule in [
            Rule::once(call.call, n, EIO),
            Rule::from_then_on(call.call, n, ENOSPC),
        ] {
            let label = format!(
                "reset to {target}, {} #{n} ({}) failing with {}{}",
                call.call.name(),
                call.path.file_name().unwrap_or_default().to_string_lossy(),
                rule.errno,
                if rule.persistent { " from then on" } else { "" }
            );
            let dir = tempdir();
            let wal = old_log(dir.path());
            let plan = FaultPlan::install(dir.path());
            plan.fail(rule);
            let result = wal.reset_to(target, SEED);
            drop(wal);
            drop(plan);
            let found = reopen_both(&label, &Tree::take(dir.path()), target);
            let expected = if at <= commit && result.is_err() {
                Found::Old
            } else {
                Found::New
            };
            assert_eq!(found, expected, "{label}: {result:?}");
        }
    }
}

#[test]
fn a_reset_forward_past_the_end_leaves_old_or_new() {
    crash_at_every_call_of_a_reset_to(END + 1000);
}

#[test]
fn a_reset_backward_below_the_first_entry_leaves_old_or_new() {
    crash_at_every_call_of_a_reset_to(3);
}

#[test]
fn a_reset_to_the_same_offset_leaves_old_or_new() {
    crash_at_every_call_of_a_reset_to(END);
}

#[test]
fn a_reset_into_the_old_offsets_leaves_old_or_new() {
    crash_at_every_call_of_a_reset_to(FIRST + 5);
}
