//! A sealed segment's index is derived from its data: one that is missing or fails its own
//! checks over intact data is reported by `verify`, which stays ok, and the writing modes
//! rebuild it. The reference implementation writes an index only when it seals a segment,
//! so after a crash its sealed segments without one are normal. An index that lists
//! entries the data no longer holds is evidence of a loss, and stays a problem.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use wal_recovery::{Action, ProblemKind, RecoveryError, RecoveryMode};

use support::*;

/// 40 entries in 256-byte segments: several sealed segments and an active one.
fn log_with_sealed_segments() -> (tempfile::TempDir, Vec<u64>) {
    let dir = tempdir();
    write_log(dir.path(), 40, 256);
    let bases = segment_bases(dir.path());
    assert!(bases.len() >= 4, "several sealed segments: {bases:?}");
    let sealed = bases[..bases.len() - 1].to_vec();
    (dir, sealed)
}

fn problem_kinds(verification: &wal_recovery::Verification) -> Vec<ProblemKind> {
    verification.problems.iter().map(|p| p.kind).collect()
}

#[test]
fn verify_is_ok_when_sealed_segments_have_no_index() {
    let (dir, sealed) = log_with_sealed_segments();
    for &base in &sealed {
        std::fs::remove_file(index_path(dir.path(), base)).unwrap();
    }
    let before = snapshot(dir.path());

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    assert_eq!(
        problem_kinds(&verification),
        vec![ProblemKind::IndexMissing; sealed.len()],
        "each missing index is still reported"
    );
    assert!(verification.problems.iter().all(|p| !p.committed));
    assert_eq!(verification.first_offset, Some(0));
    assert_eq!(verification.last_valid_offset, Some(39));
    assert_eq!(snapshot(dir.path()), before, "verify changed the directory");

    // Informational for verify, but still work for the writing modes: each index is
    // rebuilt, and only that is done.
    let recovered = open(dir.path(), &options(256));
    let rebuilt: Vec<u64> = recovered
        .report
        .actions
        .iter()
        .map(|a| match a {
            Action::IndexRebuilt { segment, .. } => *segment,
            other => panic!("only index rebuilds expected, got {other:?}"),
        })
        .collect();
    assert_eq!(rebuilt, sealed);
    assert_eq!(all_entries(&recovered.log), expected(0..40));
    drop(recovered);
    for &base in &sealed {
        assert!(index_path(dir.path(), base).is_file(), "index of {base}");
    }
    let after = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(after.ok && after.problems.is_empty(), "{after:#?}");
}

#[test]
fn absolute_consistency_still_refuses_a_missing_index() {
    let (dir, sealed) = log_with_sealed_segments();
    std::fs::remove_file(index_path(dir.path(), sealed[1])).unwrap();
    let before = snapshot(dir.path());
    let options = options(256).with_mode(RecoveryMode::AbsoluteConsistency);
    let refused = wal_recovery::open(dir.path(), options);
    assert!(
        matches!(&refused, Err(RecoveryError::Inconsistent { problems })
            if problems.iter().all(|p| p.kind == ProblemKind::IndexMissing)),
        "{refused:#?}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn verify_is_ok_with_a_corrupt_index_over_intact_data() {
    let (dir, sealed) = log_with_sealed_segments();
    let index = index_path(dir.path(), sealed[1]);
    let last = std::fs::read(&index).unwrap().len() - 1;
    wal_testkit::damage::xor_byte(&index, last, 0x10);

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    assert_eq!(
        problem_kinds(&verification),
        vec![ProblemKind::IndexCorrupt]
    );
    assert_eq!(verification.last_valid_offset, Some(39));

    let recovered = open(dir.path(), &options(256));
    assert!(
        matches!(
            recovered.report.actions.as_slice(),
            [Action::IndexRebuilt { segment, .. }] if *segment == sealed[1]
        ),
        "{:#?}",
        recovered.report
    );
}

#[test]
fn an_index_listing_more_entries_than_the_data_is_not_ok() {
    let (dir, sealed) = log_with_sealed_segments();
    // The last two records of a sealed segment zeroed cleanly: its data ends early at a
    // record boundary, and only its index says the entries existed.
    let data = data_path(dir.path(), sealed[1]);
    let records = records(&std::fs::read(&data).unwrap());
    let (cut_from, _) = records[records.len() - 2];
    let end = records[records.len() - 1].1;
    wal_testkit::damage::zero_range(&data, cut_from..end);

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok, "{verification:#?}");
    // The loss counts on its own, not only through the chain break it brings along.
    let missing = verification
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::MissingEntries)
        .unwrap_or_else(|| panic!("missing_entries reported: {verification:#?}"));
    assert!(!missing.keeps_verify_ok() && !missing.is_informational());
    assert!(missing.committed);
    assert_eq!(missing.segment, Some(sealed[1]));
}
