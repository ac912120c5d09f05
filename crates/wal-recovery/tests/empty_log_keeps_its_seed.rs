//! The recovering open continues an empty log's chain from the seed the store keeps on
//! disk (`SEED`), without the caller passing it again; a damaged seed file is a problem
//! recovery reports, never a panic nor a wrong chain taken silently.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;

use wal_format::crc;
use wal_recovery::{Action, ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::{SEED_FILE_NAME, SyncPolicy, Wal, WalOptions};

const FIRST: u64 = 1000;
const SEED: u32 = 0x5EED_CAFE;

fn plain() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(512)
        .with_sync_policy(SyncPolicy::Manual)
}

fn seeded() -> WalOptions {
    plain().with_first_offset(FIRST).with_seed_crc(SEED)
}

fn recover(dir: &Path, mode: RecoveryMode, wal: WalOptions) -> Result<Wal, RecoveryError> {
    let options = RecoveryOptions::default().with_mode(mode).with_wal(wal);
    wal_recovery::open(dir, options).map(|recovered| recovered.log.into_store())
}

/// Appends one entry and checks that it chains from `seed`.
fn assert_next_chains_from(wal: &Wal, seed: u32) {
    assert_eq!(wal.last_crc(), Some(seed));
    let appended = wal.append(b"next").unwrap();
    assert_eq!(appended.crc, Some(crc::chain(seed, b"next")));
    wal.sync().unwrap();
    assert_eq!(wal.read(appended.offset).unwrap().prev_crc, Some(seed));
}

#[test]
fn a_new_log_reopens_through_recovery_with_its_seed() {
    let dir = wal_testkit::tempdir();
    drop(recover(dir.path(), RecoveryMode::default(), seeded()).unwrap());
    // Neither the seed nor the first offset is passed again; a different seed loses.
    for options in [plain(), plain().with_seed_crc(!SEED)] {
        let wal = recover(dir.path(), RecoveryMode::default(), options).unwrap();
        assert_eq!((wal.first_offset(), wal.next_offset()), (FIRST, FIRST));
        assert_eq!(wal.last_crc(), Some(SEED));
    }
    let wal = recover(dir.path(), RecoveryMode::default(), plain()).unwrap();
    assert_next_chains_from(&wal, SEED);
}

#[test]
fn a_log_truncated_to_nothing_reopens_through_recovery_with_its_seed() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    for i in 0..30u8 {
        wal.append(&[i + 1; 20]).unwrap();
    }
    wal.sync().unwrap();
    wal.truncate_after(FIRST - 1).unwrap();
    drop(wal);
    let wal = recover(dir.path(), RecoveryMode::default(), plain()).unwrap();
    assert_eq!(wal.next_offset(), FIRST);
    assert_next_chains_from(&wal, SEED);
}

#[test]
fn a_torn_only_entry_cut_by_recovery_leaves_the_seed() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    wal.append(b"torn").unwrap();
    wal.sync().unwrap();
    drop(wal);
    // Its payload half written: the record fails its crc, and nothing follows it.
    let data = dir.path().join(format!("{FIRST}.txnx"));
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[14] ^= 0xFF;
    std::fs::write(&data, bytes).unwrap();
    let recovered =
        wal_recovery::open(dir.path(), RecoveryOptions::default().with_wal(plain())).unwrap();
    assert!(
        recovered
            .report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::TornTail),
        "{:#?}",
        recovered.report
    );
    assert_eq!(recovered.log.next_offset(), FIRST);
    assert_next_chains_from(recovered.log.store(), SEED);
}

#[test]
fn verify_knows_the_seed_file() {
    let dir = wal_testkit::tempdir();
    Wal::open(dir.path(), seeded()).unwrap().close().unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    assert_eq!(verification.problems, []);
}

#[test]
fn a_damaged_seed_file_is_reported_and_quarantined() {
    let make = || {
        let dir = wal_testkit::tempdir();
        Wal::open(dir.path(), seeded()).unwrap().close().unwrap();
        let path = dir.path().join(SEED_FILE_NAME);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[18] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
        dir
    };
    let dir = make();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
    assert!(
        verification
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::SeedCorrupt),
        "{verification:#?}"
    );
    // The store alone refuses it: it cannot know the seed.
    assert!(Wal::open(dir.path(), seeded()).is_err());
    // Absolute consistency refuses any damage.
    assert!(matches!(
        recover(dir.path(), RecoveryMode::AbsoluteConsistency, seeded()),
        Err(RecoveryError::Inconsistent { .. })
    ));
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::PointInTime,
        RecoveryMode::SkipCorrupted,
    ] {
        let dir = make();
        let recovered = wal_recovery::open(
            dir.path(),
            RecoveryOptions::default()
                .with_mode(mode)
                .with_wal(seeded()),
        )
        .unwrap();
        assert!(
            recovered.report.actions.iter().any(|a| matches!(
                a,
                Action::FileQuarantined { from, .. } if from.ends_with(SEED_FILE_NAME)
            )),
            "{mode:?}: {:#?}",
            recovered.report
        );
        // The seed of the empty log is the caller's word again, as for a new log.
        assert_next_chains_from(recovered.log.store(), SEED);
        drop(recovered);
        assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    }
}

#[test]
fn a_trimmed_log_cut_to_nothing_by_recovery_keeps_the_seed_of_its_new_first_entry() {
    let dir = wal_testkit::tempdir();
    let wal = Wal::open(dir.path(), seeded()).unwrap();
    for i in 0..60u8 {
        wal.append(&[i + 1; 20]).unwrap();
    }
    wal.sync().unwrap();
    // Trimmed to a segment's first entry, so that its record starts that data file.
    let base = wal_store::list_segments(dir.path())
        .unwrap()
        .into_iter()
        .map(|(base, _)| base)
        .find(|&base| base >= FIRST + 20)
        .unwrap();
    assert!(wal.trim_before(base).unwrap() > 0);
    let first = wal.first_offset();
    assert_eq!(first, base);
    let seed = wal.read(first).unwrap().prev_crc.unwrap();
    assert_ne!(seed, SEED);
    drop(wal);
    // The first record left is damaged: cutting at the first damage leaves no entry.
    let data = dir.path().join(format!("{first}.txnx"));
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[14] ^= 0xFF;
    std::fs::write(&data, bytes).unwrap();
    let wal = recover(dir.path(), RecoveryMode::PointInTime, plain()).unwrap();
    assert_eq!((wal.first_offset(), wal.next_offset()), (first, first));
    assert_next_chains_from(&wal, seed);
}
