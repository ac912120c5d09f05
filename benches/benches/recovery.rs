//! Recovery speed: opening a cleanly closed 1 GiB WAL and replaying every entry, and
//! rebuilding its indexes, with the raw CRC-32C throughput over the same bytes beside them
//! (every replayed record's crc is checked, so the crc bounds replay).
//!
//! Run: `cargo bench -p wal-benches --bench recovery`. The WAL is built once in a
//! temporary directory under /tmp (`WAL_BENCH_MIB` sets its size in MiB, default 1024)
//! and read from the page cache (warm). Throughput is in bytes of payload-carrying
//! segment data.

// A bench that cannot set up its data is a failed bench, not a crash in a user's process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use wal_recovery::RecoveryOptions;
use wal_store::{SyncPolicy, Wal, WalOptions};

const PAYLOAD_BYTES: usize = 1024;

fn log_mib() -> u64 {
    std::env::var("WAL_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// Writes the WAL: entries of `PAYLOAD_BYTES` until the data reaches the size asked for.
fn build(dir: &Path) -> (u64, u64) {
    let options = WalOptions::default().with_sync_policy(SyncPolicy::Manual);
    let wal = Wal::open(dir, options).unwrap();
    let target = log_mib() << 20;
    let record = (PAYLOAD_BYTES + 12) as u64;
    let entries = target / record;
    let mut payload = vec![0u8; PAYLOAD_BYTES];
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(256);
    let mut written = 0;
    while written < entries {
        batch.clear();
        for _ in 0..256.min(entries - written) {
            for (byte, value) in payload.iter_mut().zip(written.to_le_bytes()) {
                *byte = value;
            }
            batch.push(payload.clone());
            written += 1;
        }
        wal.append_batch(&batch).unwrap();
    }
    wal.close().unwrap();
    (entries, entries * record)
}

/// Every data file's written bytes, read into memory once.
fn data_files(dir: &Path) -> Vec<Vec<u8>> {
    wal_store::list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|(base, codec)| {
            let mut bytes =
                std::fs::read(wal_store::internal::naming::data_path(dir, base, codec)).unwrap();
            let end = wal_format::Scanner::new(codec, &bytes).finish().valid_len;
            bytes.truncate(end.as_usize());
            bytes
        })
        .collect()
}

fn recovery(c: &mut Criterion) {
    let dir = wal_testkit::scratch::on_disk("wal-bench-recovery-");
    let (entries, bytes) = build(dir.path());
    let files = data_files(dir.path());
    let sealed = files.len() - 1;
    assert_eq!(files.iter().map(|f| f.len() as u64).sum::<u64>(), bytes);

    let mut group = c.benchmark_group("recovery");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(bytes));

    group.bench_function("crc32c_raw", |b| {
        b.iter(|| {
            let mut crc = 0u32;
            for file in &files {
                crc ^= wal_format::crc::crc32c_update(0, black_box(file));
            }
            black_box(crc)
        });
    });

    // Dropping the log afterwards (unmapping its segments, about a tenth of the time
    // measured here) is not part of opening and replaying it, so each iteration is timed
    // by hand and the log is dropped outside the timing; it must be dropped before the
    // next iteration opens the directory again (the log holds the directory's lock).
    group.bench_function("open_and_replay", |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                let start = Instant::now();
                let recovered = wal_recovery::open(dir.path(), RecoveryOptions::default()).unwrap();
                let mut seen = 0u64;
                let mut payload_bytes = 0u64;
                recovered
                    .replay_with(|e| {
                        seen += 1;
                        payload_bytes += e.payload.len() as u64;
                        ControlFlow::Continue(())
                    })
                    .unwrap();
                measured += start.elapsed();
                assert_eq!(seen, entries);
                black_box(payload_bytes);
                drop(recovered);
            }
            measured
        });
    });

    group.bench_function("verify", |b| {
        b.iter(|| {
            let verification = wal_recovery::verify(dir.path(), None).unwrap();
            assert!(verification.ok);
            black_box(verification.last_valid_offset)
        });
    });

    group.bench_function("rebuild_index", |b| {
        b.iter_batched(
            || {
                for (base, codec) in wal_store::list_segments(dir.path()).unwrap() {
                    let _ = std::fs::remove_file(wal_store::internal::naming::index_path(
                        dir.path(),
                        base,
                        codec,
                    ));
                }
            },
            |()| {
                let actions = wal_recovery::rebuild_index(dir.path()).unwrap();
                assert_eq!(actions.len(), sealed);
                black_box(actions.len())
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, recovery);
criterion_main!(benches);
