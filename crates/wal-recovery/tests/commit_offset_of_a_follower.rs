//! What `commit_offset` must be (docs/RECOVERY.md, "What to pass as the commit offset"):
//! the highest offset known committed *and* durable on this node. A raft follower learns
//! a cluster commit index that can run ahead of what it has itself made durable; after a
//! crash, the entries past its durable tail are a normal torn tail, which the cluster
//! sends again. Opened with `min(cluster commit, own durable tail)` the log recovers;
//! opened with the cluster's commit index, the same torn tail is committed corruption and
//! the open is refused, changing nothing.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::path::Path;

use wal_recovery::{ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions};
use wal_store::format::Codec;
use wal_store::{SyncPolicy, Wal, WalOptions};
use wal_testkit::damage::zero_range;

const PAYLOAD_BYTES: usize = 20;
/// The last entry this follower made durable.
const DURABLE_TAIL: u64 = 9;
/// The last entry the cluster committed (acknowledged by other nodes): past the
/// follower's durable tail.
const CLUSTER_COMMIT: u64 = 14;

fn options() -> WalOptions {
    WalOptions::default().with_sync_policy(SyncPolicy::Manual)
}

/// A follower's log after a crash: entries `0..=DURABLE_TAIL` synced, the entries after
/// them (up to the cluster's commit index) appended but never synced, and the crash left
/// the first of those torn and the rest lost.
fn crashed_follower(dir: &Path) {
    let wal = Wal::open(dir, options()).unwrap();
    for offset in 0..=CLUSTER_COMMIT {
        wal.append(&[u8::try_from(offset).unwrap() + 1; PAYLOAD_BYTES])
            .unwrap();
        if offset == DURABLE_TAIL {
            wal.sync().unwrap();
        }
    }
    assert_eq!(wal.last_synced_offset(), Some(DURABLE_TAIL));
    drop(wal);
    // What the crash leaves of the unsynced records: half of the first one.
    let record = Codec::V2.record_bytes(PAYLOAD_BYTES).unwrap();
    let durable_end = record * usize::try_from(DURABLE_TAIL + 1).unwrap();
    let appended_end = record * usize::try_from(CLUSTER_COMMIT + 1).unwrap();
    zero_range(&dir.join("0.txnx"), durable_end + record / 2..appended_end);
}

fn recover(dir: &Path, commit_offset: u64) -> Result<wal_recovery::Recovered, RecoveryError> {
    wal_recovery::open(
        dir,
        RecoveryOptions::default()
            .with_mode(RecoveryMode::TolerateCorruptTail)
            .with_commit_offset(Some(commit_offset))
            .with_wal(options()),
    )
}

#[test]
fn a_follower_recovers_with_the_commit_it_made_durable() {
    let dir = wal_testkit::tempdir();
    crashed_follower(dir.path());
    let recovered = recover(dir.path(), CLUSTER_COMMIT.min(DURABLE_TAIL)).unwrap();
    let report = &recovered.report;
    // A torn tail past the commit point: cut, not committed.
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::TornTail && !p.committed),
        "{report:#?}"
    );
    assert_eq!(report.last_offset, Some(DURABLE_TAIL));
    let log = recovered.log;
    assert_eq!(log.next_offset(), DURABLE_TAIL + 1);
    // The cluster sends the lost entries again; the follower appends them.
    for offset in DURABLE_TAIL + 1..=CLUSTER_COMMIT {
        let appended = log
            .append(&[u8::try_from(offset).unwrap() + 1; PAYLOAD_BYTES])
            .unwrap();
        assert_eq!(appended.offset, offset);
    }
    log.close().unwrap();
}

#[test]
fn the_clusters_commit_index_makes_the_same_torn_tail_committed_corruption() {
    let dir = wal_testkit::tempdir();
    crashed_follower(dir.path());
    let before = wal_testkit::snapshot(dir.path());
    let refused = recover(dir.path(), CLUSTER_COMMIT);
    match &refused {
        Err(RecoveryError::CommittedCorruption { problem, .. }) => {
            assert_eq!(problem.kind, ProblemKind::TornTail);
            assert!(problem.committed);
            assert_eq!(problem.offset, Some(DURABLE_TAIL + 1));
        }
        other => panic!("expected committed corruption, got {other:?}"),
    }
    // Nothing changed: with the right commit offset it still recovers.
    assert_eq!(wal_testkit::snapshot(dir.path()), before);
    let recovered = recover(dir.path(), DURABLE_TAIL).unwrap();
    assert_eq!(recovered.report.last_offset, Some(DURABLE_TAIL));
}
