//! Group commit shares syncs: appenders that arrive while a sync is in progress are made
//! durable together by the next one. The first leader's msync is held at a gate of the
//! fault seam (no timing), 15 more threads append meanwhile, and when the gate opens two
//! syncs have made all 16 entries durable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a panic is a failure"
)]

mod faults;

use std::sync::Arc;

use faults::{payload, tempdir};
use wal_store::faults::Call;
use wal_store::faults::FaultPlan;
use wal_store::{SyncPolicy, Wal, WalOptions};

const FOLLOWERS: u64 = 15;

#[test]
fn appenders_waiting_behind_a_sync_share_the_next_one() {
    let dir = tempdir();
    let plan = FaultPlan::install(dir.path());
    let options = WalOptions::default()
        .with_segment_bytes(1 << 20)
        .with_sync_policy(SyncPolicy::GroupCommit);
    let wal = Arc::new(Wal::open(dir.path(), options).unwrap());
    let syncs_before = wal.stats().syncs;
    let gate = plan.hold(Call::Msync, 1);

    // The first entry is large enough (20 KiB) that its sync is no tiny one: after a tiny
    // sync the next appends would first write zeros ahead and sync them, which waits for
    // the held sync while holding the log's tail.
    let leader = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || wal.append(&[7u8; 20 << 10]).unwrap().offset)
    };
    // The leader is inside its sync, which covers entry 0 alone.
    gate.wait_reached();
    let followers: Vec<_> = (1..=FOLLOWERS)
        .map(|_| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                let offset = wal.next_offset();
                wal.append(&payload(offset)).map(|a| a.offset)
            })
        })
        .collect();
    // Every follower has appended (and waits for a sync) before the gate opens.
    while wal.next_offset() < FOLLOWERS + 1 {
        std::thread::yield_now();
    }
    assert_eq!(wal.last_synced_offset(), None, "nothing is durable yet");
    gate.open();

    assert_eq!(leader.join().unwrap(), 0);
    let mut offsets: Vec<u64> = followers
        .into_iter()
        .map(|f| f.join().unwrap().unwrap())
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (1..=FOLLOWERS).collect::<Vec<_>>());
    assert_eq!(wal.last_synced_offset(), Some(FOLLOWERS));
    // The held sync, then one for the 15 who waited: not one per append.
    assert_eq!(wal.stats().syncs - syncs_before, 2, "{:?}", wal.stats());
    assert_eq!(wal.stats().entries_appended, FOLLOWERS + 1);
}
