//! A first end-to-end pass: a torn tail is cut and quarantined, a committed one refused.

use std::fs;

use wal_recovery::{ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::WalOptions;

fn options() -> RecoveryOptions {
    RecoveryOptions::default().with_wal(WalOptions::default().with_segment_bytes(1024))
}

#[test]
fn torn_tail_of_the_active_segment_is_cut_and_quarantined() {
    let dir = wal_testkit::tempdir();
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    for i in 0..100u32 {
        recovered
            .log
            .append(format!("entry-{i}").as_bytes())
            .unwrap();
    }
    let active = wal_store::list_segments(dir.path())
        .unwrap()
        .last()
        .unwrap()
        .0;
    drop(recovered);
    // Tear the last record: cut its payload short by overwriting its tail with garbage
    // that does not match, after the valid records.
    let path = dir.path().join(format!("{active}.txnx"));
    let bytes = fs::read(&path).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
    wal_testkit::flip_byte(&path, end - 3);

    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    let report = &recovered.report;
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::TornTail && !p.committed),
        "{report:#?}"
    );
    assert_eq!(report.last_offset, Some(98));
    let cut = report.cut.as_ref().unwrap();
    assert_eq!(cut.offsets, 99..99.max(cut.offsets.end));
    assert!(cut.quarantine.exists());
    let replayed: Vec<_> = recovered
        .replay()
        .unwrap()
        .map(|e| e.unwrap().offset)
        .collect();
    assert_eq!(replayed, (0..99).collect::<Vec<u64>>());
    recovered.log.append(b"after").unwrap();
    drop(recovered);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    assert_eq!(verification.last_valid_offset, Some(99));
}

#[test]
fn damage_at_or_before_the_commit_offset_is_refused_and_nothing_changes() {
    let dir = wal_testkit::tempdir();
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    for i in 0..20u32 {
        recovered
            .log
            .append(format!("entry-{i}").as_bytes())
            .unwrap();
    }
    drop(recovered);
    let path = dir.path().join("0.txnx");
    wal_testkit::damage::xor_byte(&path, 20, 1); // inside the second record's payload
    let before = fs::read(&path).unwrap();
    let err = wal_recovery::open(dir.path(), options().with_commit_offset(Some(5))).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::CommittedCorruption { problem, .. } if problem.segment == Some(0) && problem.offset == Some(1)),
        "{err}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    let recovered = wal_recovery::open(
        dir.path(),
        options()
            .with_mode(RecoveryMode::PointInTime)
            .with_commit_offset(Some(5)),
    )
    .unwrap();
    assert_eq!(recovered.report.last_offset, Some(0));
    assert_eq!(recovered.report.cut.as_ref().unwrap().offsets, 1..20);
    assert!(recovered.report.cut.as_ref().unwrap().committed);
}

#[test]
fn replay_with_borrowed_entries_matches_replay() {
    let dir = wal_testkit::tempdir();
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    for i in 0..500u32 {
        recovered
            .log
            .append(format!("entry-{i}").as_bytes())
            .unwrap();
    }
    recovered.log.set_cursor(99).unwrap();
    drop(recovered);
    let recovered = wal_recovery::open(dir.path(), options()).unwrap();
    let copied: Vec<(u64, Vec<u8>, Option<u32>)> = recovered
        .replay()
        .unwrap()
        .map(|e| e.map(|e| (e.offset, e.payload, e.crc)).unwrap())
        .collect();
    let mut borrowed = Vec::new();
    let end = recovered
        .replay_with(|e| {
            borrowed.push((e.offset, e.payload.to_vec(), e.crc));
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(end, 500);
    assert_eq!(copied.len(), 400);
    assert_eq!(borrowed, copied);
    // A visit can stop early.
    let mut seen = 0;
    let end = recovered
        .log
        .visit_from(100, |_| {
            seen += 1;
            if seen == 7 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((seen, end), (7, 107));
}
