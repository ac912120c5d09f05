//! `Wal::open_setting_aside`: the sealed segments wholly before an offset are opened only
//! by a read that reaches them. Damage in one (even in the first record, which an open
//! checks) or a segment missing among them refuses neither the open nor an append, a
//! truncation after them or a trim; reads of the entries set aside fail with a typed
//! error; and the log writes no close record, so the next open checks them again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;

use wal_store::format::Codec;
use wal_store::internal::closed::CLOSED_FILE_NAME;
use wal_store::internal::naming;
use wal_store::{DirLock, StoreError, SyncPolicy, Wal, WalOptions};
use wal_testkit::damage::xor_byte;

/// 20-byte payloads (32-byte records), 8 per segment: segments 0, 8, 16, 24 (sealed) and
/// 32 (active) for 36 entries.
const ENTRIES: u64 = 36;

fn options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(8 * 32)
        .with_sync_policy(SyncPolicy::Manual)
}

fn payload(offset: u64) -> Vec<u8> {
    wal_testkit::payload::tagged(offset, 1, 20)
}

fn log(dir: &Path) {
    let wal = Wal::open(dir, options()).unwrap();
    for offset in 0..ENTRIES {
        wal.append(&payload(offset)).unwrap();
    }
    wal.close().unwrap();
    let bases: Vec<u64> = wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|(base, _)| base)
        .collect();
    assert_eq!(bases, [0, 8, 16, 24, 32], "layout of the test log");
    std::fs::remove_file(dir.join(CLOSED_FILE_NAME)).unwrap();
}

fn open_setting_aside(dir: &Path, before: u64) -> wal_store::Result<Wal> {
    let lock = DirLock::acquire(dir).unwrap();
    Wal::open_setting_aside(dir, options(), lock, Vec::new(), before)
}

fn is_typed_damage(result: &wal_store::Result<wal_store::Entry>) -> bool {
    matches!(
        result,
        Err(StoreError::NeedsRecovery { .. }
            | StoreError::Layout { .. }
            | StoreError::Corrupt { .. })
    )
}

#[test]
fn damage_in_a_segment_set_aside_refuses_no_change() {
    let dir = wal_testkit::tempdir();
    log(dir.path());
    // The first record of segment 8: any open that checks the segment refuses it.
    xor_byte(&naming::data_path(dir.path(), 8, Codec::V2), 12 + 3, 0x40);
    assert!(matches!(
        Wal::open(dir.path(), options()).and_then(|wal| wal.append(b"x").map(|_| ())),
        Err(StoreError::NeedsRecovery { .. })
    ));

    let wal = open_setting_aside(dir.path(), 16).unwrap();
    assert!(is_typed_damage(&wal.read(8)), "{:?}", wal.read(8));
    // Segment 0 is intact, but its check follows the link into segment 8's first record.
    assert!(is_typed_damage(&wal.read(3)), "{:?}", wal.read(3));
    let after: Vec<u64> = wal
        .iter_from(16)
        .unwrap()
        .map(|e| e.unwrap().offset)
        .collect();
    assert_eq!(after, (16..ENTRIES).collect::<Vec<_>>());
    assert_eq!(wal.append(&payload(ENTRIES)).unwrap().offset, ENTRIES);
    wal.truncate_after(ENTRIES - 1).unwrap();
    assert_eq!(wal.trim_before(8).unwrap(), 1);
    wal.close().unwrap();
    assert!(
        !dir.path().join(CLOSED_FILE_NAME).exists(),
        "no close record: the next open checks the segments set aside again"
    );

    // Trimmed past the damage, the log is clean again.
    let wal = open_setting_aside(dir.path(), 16).unwrap();
    assert_eq!(wal.trim_before(16).unwrap(), 1);
    drop(wal);
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.first_offset(), 16);
    assert_eq!(wal.append(&payload(ENTRIES)).unwrap().offset, ENTRIES);
}

#[test]
fn a_segment_missing_among_those_set_aside_is_no_gap() {
    let dir = wal_testkit::tempdir();
    log(dir.path());
    std::fs::remove_file(naming::data_path(dir.path(), 8, Codec::V2)).unwrap();
    std::fs::remove_file(naming::index_path(dir.path(), 8, Codec::V2)).unwrap();
    assert!(matches!(
        Wal::open(dir.path(), options()).and_then(|wal| wal.append(b"x").map(|_| ())),
        Err(StoreError::Layout { .. })
    ));

    let wal = open_setting_aside(dir.path(), 16).unwrap();
    // Segment 0 now claims 0..16: its check fails, for its intact entries too.
    for offset in [0, 7, 8, 15] {
        assert!(is_typed_damage(&wal.read(offset)), "entry {offset}");
    }
    assert_eq!(wal.read(16).unwrap().payload, payload(16));
    assert_eq!(wal.append(&payload(ENTRIES)).unwrap().offset, ENTRIES);
    assert_eq!(wal.trim_before(16).unwrap(), 1);
    assert_eq!(wal.first_offset(), 16);
}

#[test]
fn nothing_set_aside_is_a_plain_checked_open() {
    let dir = wal_testkit::tempdir();
    log(dir.path());
    xor_byte(&naming::data_path(dir.path(), 8, Codec::V2), 12 + 3, 0x40);
    // Segment 8's successor starts at 16: an offset before it sets nothing aside.
    let wal = open_setting_aside(dir.path(), 15).unwrap();
    assert!(matches!(
        wal.append(b"x"),
        Err(StoreError::NeedsRecovery { .. })
    ));
}

/// A check that fails with `NeedsRecovery` (here: the first record of a deferred or
/// set-aside segment, checked at the first read that reaches it) is damage like a
/// failed read: the log writes no close record, whichever open it came through, so that
/// the next open checks the log again instead of trusting a record written after damage.
#[test]
fn a_failed_check_of_a_deferred_segment_leaves_no_close_record() {
    type Opener = fn(&Path) -> Wal;
    let openers: [(&str, Opener); 3] = [
        ("plain open", |dir| {
            // (A plain open leaves a close record it did not open through where it is.)
            std::fs::remove_file(dir.join(CLOSED_FILE_NAME)).unwrap();
            Wal::open(dir, options()).unwrap()
        }),
        ("through the close record", |dir| {
            let lock = DirLock::acquire(dir).unwrap();
            match Wal::open_if_closed_cleanly(dir, options(), lock, |_, _| true).unwrap() {
                wal_store::CleanOpen::Opened(wal) => wal,
                wal_store::CleanOpen::NotClean(_) => panic!("the log was closed cleanly"),
            }
        }),
        ("through the close record, setting aside", |dir| {
            let lock = DirLock::acquire(dir).unwrap();
            match Wal::open_if_closed_cleanly_setting_aside(dir, options(), lock, |_, _| true, 16)
                .unwrap()
            {
                wal_store::CleanOpen::Opened(wal) => wal,
                wal_store::CleanOpen::NotClean(_) => panic!("the log was closed cleanly"),
            }
        }),
    ];
    for (name, open) in openers {
        let dir = wal_testkit::tempdir();
        log(dir.path());
        Wal::open(dir.path(), options()).unwrap().close().unwrap();
        assert!(dir.path().join(CLOSED_FILE_NAME).exists(), "{name}");
        xor_byte(&naming::data_path(dir.path(), 8, Codec::V2), 12 + 3, 0x40);

        let wal = open(dir.path());
        assert!(
            matches!(wal.read(8), Err(StoreError::NeedsRecovery { .. })),
            "{name}: {:?}",
            wal.read(8)
        );
        wal.close().unwrap();
        assert!(
            !dir.path().join(CLOSED_FILE_NAME).exists(),
            "{name}: the close record would hide the damage from the next open"
        );
    }
}

/// A truncation that keeps a segment set aside makes it the active segment: it checks
/// every record the segment keeps first, and refuses (changing nothing) when one is
/// damaged, since the next open would refuse damage in the log's last segment. One that
/// keeps only intact records goes ahead, and the log opens plainly after it.
#[test]
fn a_truncation_into_a_segment_set_aside_checks_what_it_keeps() {
    let dir = wal_testkit::tempdir();
    log(dir.path());
    // Entry 13: the sixth record of segment 8, which neither an open nor its first use
    // (first and last records, index) checks.
    xor_byte(
        &naming::data_path(dir.path(), 8, Codec::V2),
        5 * 32 + 12 + 3,
        0x40,
    );
    let wal = open_setting_aside(dir.path(), 16).unwrap();
    assert!(matches!(
        wal.truncate_after(14),
        Err(StoreError::NeedsRecovery { segment: 8, .. })
    ));
    assert_eq!(wal.next_offset(), ENTRIES);
    assert_eq!(wal.read(20).unwrap().payload, payload(20));

    // Dropping the damaged record with everything after it.
    wal.truncate_after(11).unwrap();
    assert_eq!(wal.append(&payload(12)).unwrap().offset, 12);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), options()).unwrap();
    assert_eq!(wal.next_offset(), 13);
    assert_eq!(wal.read(12).unwrap().payload, payload(12));
}
