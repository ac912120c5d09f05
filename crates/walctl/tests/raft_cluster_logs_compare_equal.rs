//! wal-raft's example cluster (`crates/wal-raft/examples/cluster.rs`), run exactly as the
//! example runs it, then read by this crate's binary: `walctl compare` finds each follower's
//! raft log identical to the leader's, and, once one of them is changed, names the first
//! changed entry.
//!
//! The scenario is the example's own file, included here, so the example cannot drift from
//! what is tested; it lives in walctl's tests because only they have the `walctl` binary.

#[path = "../../wal-raft/examples/cluster/scenario.rs"]
mod scenario;

mod common;

use std::path::Path;

use common::*;
use wal_recovery::RecoveryOptions;

#[test]
fn raft_cluster_logs_compare_equal_until_one_is_changed() {
    let base = tempdir();
    let outcome = scenario::run(base.path()).unwrap();
    let leader = outcome.leader_dir.as_path();
    let last = outcome.last_index;
    // Index 0 is the membership, then the leader's first entry and every write.
    assert!(last > 2 * scenario::WRITES_PER_PHASE, "{outcome:#?}");
    assert_eq!(outcome.follower_dirs.len(), 2, "{outcome:#?}");
    assert!(
        outcome.comparisons.iter().all(|found| found.identical),
        "{outcome:#?}"
    );

    for follower in &outcome.follower_dirs {
        let same = run(["compare", s(leader), s(follower)]);
        assert_eq!(
            same.ok(),
            format!("identical (equal up to entry {last})\n"),
            "{same:#?}"
        );
    }

    // A node whose log holds other entries from `changed_from` on, as many as the others.
    let changed_from = last - scenario::WRITES_PER_PHASE / 2;
    let [changed, untouched] = outcome.follower_dirs.as_slice() else {
        unreachable!("two followers, checked above");
    };
    rewrite_from(changed, changed_from, last).unwrap();
    let differ = run(["compare", s(leader), s(changed), "--json"]);
    assert_eq!(differ.code, 1, "{differ:#?}");
    let found = differ.json();
    assert_eq!(found["identical"], false, "{differ:#?}");
    assert_eq!(found["first_divergent_offset"], changed_from, "{differ:#?}");
    assert_eq!(found["common_last_offset"], changed_from - 1, "{differ:#?}");
    let same = run(["compare", s(leader), s(untouched)]);
    assert_eq!(same.code, 0, "the other follower is untouched: {same:#?}");
}

/// Replaces the entries of the log in `dir` from `from` to `last` with others.
fn rewrite_from(dir: &Path, from: u64, last: u64) -> Result<(), wal_recovery::Error> {
    let log = wal_recovery::open(dir, RecoveryOptions::default())?.log;
    log.truncate_after(from - 1)?;
    for offset in from..=last {
        let appended = log.append(format!("not a raft entry {offset}").as_bytes())?;
        assert_eq!(appended.offset, offset, "appended where the old entry was");
    }
    log.close()
}
