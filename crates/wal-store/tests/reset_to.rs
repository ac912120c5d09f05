//! `reset_to`: every entry dropped and the log continued at any offset (forward past the
//! end, backward below the first entry, or where it was), chained from the seed given,
//! in memory at once and after a restart; a reset interrupted after its commit point is
//! finished by the next open. (Every crash point, through the fault seam, is in
//! `wal-recovery/tests/reset_crash_points.rs`, which reopens with both opens.)

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

mod common_a;

use std::path::Path;

use common_a::{append_all, assert_chain, entries, file_names, options, payload, tempdir};
use wal_store::format::Codec;
use wal_store::internal::seed::{LogStart, read_seed, write_seed};
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};

const SEGMENT_BYTES: u32 = 256;
const ENTRIES: u64 = 60;
const SEED: u32 = 0x5EED_0001;

fn filled(dir: &Path, opts: &WalOptions) -> Wal {
    let wal = Wal::open(dir, opts.clone()).unwrap();
    append_all(&wal, 0..ENTRIES, payload);
    assert!(wal.stats().segments >= 5);
    wal
}

/// The log is the empty one at `next`, chained from `seed`: nothing to read, and the
/// next append lands at `next` with `seed` as its link.
fn assert_empty_at(wal: &Wal, next: u64, seed: Option<u32>) {
    assert_eq!(wal.first_offset(), next);
    assert_eq!(wal.next_offset(), next);
    assert_eq!(wal.last_offset(), None);
    assert_eq!(wal.last_synced_offset(), None);
    assert_eq!(wal.last_crc(), seed);
    assert_eq!(wal.iter().count(), 0);
    assert_eq!(wal.iter_rev().count(), 0);
    for offset in [0, ENTRIES / 2, ENTRIES - 1, next] {
        assert!(
            matches!(wal.read(offset), Err(StoreError::OffsetOutOfRange { .. })),
            "read({offset})"
        );
    }
}

/// Appends three entries at `next` and checks they chain from `seed`.
fn assert_appends_chain(wal: &Wal, next: u64, seed: u32) {
    let appended = append_all(wal, next..next + 3, payload);
    assert_eq!(appended[0].offset, next);
    wal.sync().unwrap();
    let all = entries(wal);
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].prev_crc, Some(seed));
    assert_chain(&all, seed);
}

/// Resets a filled log to `next`, checks it at once, after appends and after a restart.
fn reset_and_check(next: u64) {
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES).with_sync_policy(SyncPolicy::Manual);
    let wal = filled(dir.path(), &opts);
    wal.reset_to(next, SEED).unwrap();
    assert_empty_at(&wal, next, Some(SEED));
    // Only the new segment is left (and the seed file).
    assert_eq!(file_names(dir.path()), [format!("{next}.txnx")]);
    assert_eq!(
        read_seed(dir.path()).unwrap(),
        Some(LogStart::at(next, SEED))
    );
    drop(wal);
    // Restarted (after a crash: nothing was closed), still the empty log at `next`.
    let wal = Wal::open(dir.path(), opts.clone()).unwrap();
    assert_empty_at(&wal, next, Some(SEED));
    assert_appends_chain(&wal, next, SEED);
    let kept = entries(&wal);
    drop(wal);
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_eq!(wal.first_offset(), next);
    assert_eq!(entries(&wal), kept);
    wal.close().unwrap();
}

#[test]
fn a_reset_forward_past_the_end_continues_there() {
    reset_and_check(ENTRIES + 1000);
}

#[test]
fn a_reset_backward_below_the_first_entry_continues_there() {
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES).with_first_offset(500);
    let wal = Wal::open(dir.path(), opts.clone()).unwrap();
    append_all(&wal, 500..520, payload);
    wal.reset_to(7, SEED).unwrap();
    assert_empty_at(&wal, 7, Some(SEED));
    assert_eq!(file_names(dir.path()), ["7.txnx"]);
    drop(wal);
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_empty_at(&wal, 7, Some(SEED));
    assert_appends_chain(&wal, 7, SEED);
    wal.close().unwrap();
    // Back to 0 too.
    reset_and_check(0);
}

#[test]
fn a_reset_to_the_same_offset_drops_every_entry() {
    reset_and_check(ENTRIES);
}

#[test]
fn a_reset_inside_the_old_offsets_drops_every_entry() {
    reset_and_check(ENTRIES / 2);
}

#[test]
fn a_reset_removes_the_holes_file_and_the_close_record() {
    let dir = tempdir();
    let wal = filled(dir.path(), &options(SEGMENT_BYTES));
    wal.close().unwrap();
    assert!(dir.path().join("CLOSED").exists());
    let wal = Wal::open(dir.path(), options(SEGMENT_BYTES)).unwrap();
    std::fs::write(dir.path().join("HOLES"), b"").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"the caller's").unwrap();
    wal.reset_to(3, SEED).unwrap();
    // Files the store does not know stay.
    assert_eq!(file_names(dir.path()), ["3.txnx", "notes.txt"]);
    wal.close().unwrap();
}

#[test]
fn a_reset_leaves_room_for_an_entry() {
    let dir = tempdir();
    let wal = filled(dir.path(), &options(SEGMENT_BYTES));
    assert!(matches!(
        wal.reset_to(u64::MAX, SEED),
        Err(StoreError::OffsetOutOfRange {
            offset: u64::MAX,
            ..
        })
    ));
    assert_eq!(entries(&wal).len() as u64, ENTRIES);
    wal.reset_to(u64::MAX - 1, SEED).unwrap();
    let appended = wal.append(b"last").unwrap();
    assert_eq!(appended.offset, u64::MAX - 1);
    wal.close().unwrap();
}

#[test]
fn a_v1_log_resets_without_a_chain() {
    // A v1 record has no crc: the seed is kept in the seed file but links nothing.
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES).with_codec(Codec::V1);
    let wal = filled(dir.path(), &opts);
    wal.reset_to(200, SEED).unwrap();
    assert_empty_at(&wal, 200, None);
    assert_eq!(file_names(dir.path()), ["200.txn"]);
    let appended = wal.append(b"after").unwrap();
    assert_eq!((appended.offset, appended.crc), (200, None));
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_eq!(wal.first_offset(), 200);
    assert_eq!(wal.next_offset(), 201);
    assert_eq!(wal.read(200).unwrap().payload, b"after");
    wal.close().unwrap();
}

#[test]
fn an_interrupted_reset_is_finished_by_the_next_open() {
    // What a crash right after the commit point leaves: the flag, and the old files.
    for next in [5, ENTRIES, ENTRIES + 50] {
        let dir = tempdir();
        let opts = options(SEGMENT_BYTES);
        filled(dir.path(), &opts).close().unwrap();
        write_seed(
            dir.path(),
            LogStart {
                resetting: true,
                ..LogStart::at(next, SEED)
            },
        )
        .unwrap();
        let wal = Wal::open(dir.path(), opts.clone()).unwrap();
        assert_empty_at(&wal, next, Some(SEED));
        assert_eq!(file_names(dir.path()), [format!("{next}.txnx")]);
        assert_eq!(
            read_seed(dir.path()).unwrap(),
            Some(LogStart::at(next, SEED))
        );
        assert_appends_chain(&wal, next, SEED);
        wal.close().unwrap();
    }
}

#[test]
fn a_plain_start_past_every_record_is_refused_and_nothing_is_deleted() {
    // A start file past the records' end with no flag: no operation leaves one (each
    // syncs what it keeps before it records a start, and those that empty the log record
    // it at the records' end), so the entries in between were lost. The open refuses
    // and deletes nothing; recovery reports the loss.
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    filled(dir.path(), &opts).close().unwrap();
    write_seed(dir.path(), LogStart::at(ENTRIES + 7, SEED)).unwrap();
    let before = file_names(dir.path());
    let refused = Wal::open(dir.path(), opts);
    assert!(
        matches!(refused, Err(StoreError::Layout { .. })),
        "{refused:?}"
    );
    assert_eq!(file_names(dir.path()), before);
    assert_eq!(
        read_seed(dir.path()).unwrap(),
        Some(LogStart::at(ENTRIES + 7, SEED))
    );
}

#[test]
fn a_flagged_start_past_every_record_finishes_the_reset() {
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    filled(dir.path(), &opts).close().unwrap();
    let resetting = LogStart {
        resetting: true,
        ..LogStart::at(ENTRIES + 7, SEED)
    };
    write_seed(dir.path(), resetting).unwrap();
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_empty_at(&wal, ENTRIES + 7, Some(SEED));
    assert_eq!(file_names(dir.path()), [format!("{}.txnx", ENTRIES + 7)]);
    assert_appends_chain(&wal, ENTRIES + 7, SEED);
    wal.close().unwrap();
}

#[test]
fn a_reset_syncs_what_was_appended_before_dropping_it() {
    // A thread waiting for one of the dropped entries to be durable learns the truth.
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES).with_sync_policy(SyncPolicy::Manual);
    let wal = filled(dir.path(), &opts);
    let before = wal.stats().syncs;
    wal.reset_to(ENTRIES + 10, SEED).unwrap();
    assert_eq!(wal.stats().syncs, before + 1);
    wal.close().unwrap();
}

#[test]
fn a_reset_keeps_the_callers_metadata_blob() {
    // The blob (a raft vote, say) is the caller's: a reset drops entries, not it.
    let dir = tempdir();
    let opts = options(SEGMENT_BYTES);
    let wal = filled(dir.path(), &opts);
    wal.write_meta(b"term 7, voted for 2").unwrap();
    wal.reset_to(9, SEED).unwrap();
    assert_eq!(
        wal.meta().unwrap().as_deref(),
        Some(&b"term 7, voted for 2"[..])
    );
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), opts).unwrap();
    assert_eq!(
        wal.meta().unwrap().as_deref(),
        Some(&b"term 7, voted for 2"[..])
    );
    assert_empty_at(&wal, 9, Some(SEED));
    wal.close().unwrap();
}
