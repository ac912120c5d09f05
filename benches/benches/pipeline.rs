//! Criterion benchmark of durable appends without a blocked thread: `Wal::submit` with
//! entries in flight, against the two blocking ways to make 100 B entries durable, in one
//! group so that one run gives the ratios.
//!
//! - `one_at_a_time`: one thread, `SyncPolicy::Always`, `Wal::append` durable before it
//!   returns (one disk round trip per entry).
//! - `group_commit_16_threads`: 16 threads appending with `SyncPolicy::GroupCommit`,
//!   released together by a barrier; one iteration is one durable append by each thread.
//! - `submit_window_1024`: one thread, `SyncPolicy::GroupCommit`, `Wal::submit` of one
//!   entry at a time, keeping up to 1,024 in flight: when 1,024 are, it waits for the
//!   oldest (`Pending::wait`). The log's flusher thread syncs whenever something is
//!   submitted; a sync covers everything submitted before it, so the writer keeps
//!   appending while the disk works. The time runs until the last entry is durable.
//!
//! Throughput is in entries made durable per second. Each case opens one log for all its
//! samples (as the durable cases of `store.rs` do), with the default options but for
//! segments of 1 GiB ([`SEGMENT_BYTES`]): the fastest case writes a few hundred MB in a
//! run, and none may rotate (a rotation seals the segment on the writer's path; every
//! case stays in its first, fallocated segment). The directory is on the disk
//! (`wal_testkit::scratch::on_disk`: `std::env::temp_dir()`, never tmpfs), so syncs cost
//! what the disk charges.
//!
//! ```text
//! cargo bench -p wal-benches --bench pipeline
//! cargo bench -p wal-benches --bench pipeline -- --measurement-time 2 --warm-up-time 1
//! ```
//!
//! Targets (issue 17): `submit_window_1024` at 20x `one_at_a_time` or more and 3x
//! `group_commit_16_threads` or more, in the same run. Figures in docs/BENCHMARKS.md.

// A benchmark is compiled as an ordinary (non-test) target, so the workspace's library lints
// apply to it. Here a panic can only mean that the benchmark's own setup is wrong or that the
// store failed under it: it fails the benchmark, it is not a crash in a user's process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that panics is a failed benchmark, not a user's crash"
)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use tempfile::TempDir;
use wal_store::{Pending, SyncPolicy, Wal, WalOptions};
use wal_testkit::payload::pseudo_random as pseudo_random_bytes;

/// Payload size of every entry.
const PAYLOAD_BYTES: usize = 100;

/// Writer threads of the group-commit case.
const THREADS: usize = 16;

/// Entries the submitting writer keeps in flight.
const WINDOW: usize = 1024;

/// Segment size of every case's log: room for every entry of a run in one segment.
const SEGMENT_BYTES: u32 = 1 << 30;

/// One case: `iters` iterations on the log, timed.
type Case = fn(&Wal, &[u8], u64) -> Duration;

/// A new log with `policy` in a new directory on the disk, opened untimed.
fn fresh_log(policy: SyncPolicy) -> (TempDir, Wal) {
    let dir = wal_testkit::scratch::on_disk("wal-bench-pipeline-");
    let options = WalOptions::default()
        .with_sync_policy(policy)
        .with_segment_bytes(SEGMENT_BYTES);
    let wal = Wal::open(dir.path(), options).expect("open the log");
    (dir, wal)
}

/// Closes a case's log, checking that it never left its first segment.
fn finish(dir: TempDir, wal: Wal) {
    assert_eq!(
        wal.stats().rotations,
        0,
        "measured in the first segment only"
    );
    wal.close().expect("close the log");
    drop(dir);
}

fn one_at_a_time(wal: &Wal, payload: &[u8], iters: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        black_box(wal.append(black_box(payload)).expect("append"));
    }
    started.elapsed()
}

fn group_commit(wal: &Wal, payload: &[u8], iters: u64) -> Duration {
    let barrier = Barrier::new(THREADS + 1);
    let took = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    for _ in 0..iters {
                        black_box(wal.append(black_box(payload)).expect("append"));
                    }
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        for writer in writers {
            writer.join().expect("a writer panicked");
        }
        started.elapsed()
    });
    assert_eq!(wal.last_synced_offset(), wal.last_offset());
    took
}

fn submit_window(wal: &Wal, payload: &[u8], iters: u64) -> Duration {
    let mut in_flight: VecDeque<Pending> = VecDeque::with_capacity(WINDOW);
    let started = Instant::now();
    for _ in 0..iters {
        if in_flight.len() == WINDOW
            && let Some(oldest) = in_flight.pop_front()
        {
            black_box(oldest.wait().expect("durable"));
        }
        in_flight.push_back(wal.submit(&[black_box(payload)]).expect("submit"));
    }
    for pending in in_flight {
        black_box(pending.wait().expect("durable"));
    }
    let took = started.elapsed();
    assert_eq!(wal.last_synced_offset(), wal.last_offset());
    took
}

fn pipelined_durable(c: &mut Criterion) {
    let payload = pseudo_random_bytes(PAYLOAD_BYTES);
    let label = format!("{PAYLOAD_BYTES}B");
    let mut group = c.benchmark_group("pipelined_durable");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let cases: [(&str, SyncPolicy, usize, Case); 3] = [
        ("one_at_a_time", SyncPolicy::Always, 1, one_at_a_time),
        (
            "group_commit_16_threads",
            SyncPolicy::GroupCommit,
            THREADS,
            group_commit,
        ),
        (
            "submit_window_1024",
            SyncPolicy::GroupCommit,
            1,
            submit_window,
        ),
    ];
    for (name, policy, entries_per_iteration, case) in cases {
        let (dir, wal) = fresh_log(policy);
        group.throughput(Throughput::Elements(entries_per_iteration as u64));
        group.bench_function(BenchmarkId::new(name, &label), |b| {
            b.iter_custom(|iters| case(&wal, &payload, iters));
        });
        finish(dir, wal);
    }
    group.finish();
}

criterion_group!(benches, pipelined_durable);
criterion_main!(benches);
