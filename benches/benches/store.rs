//! Criterion benchmarks of `wal-store`, the files: appends, syncs and reads through
//! [`Wal`], each beside a raw baseline measured in the same run, so that the store is judged
//! by ratios rather than by absolute figures that drift on a shared machine.
//!
//! - `append_unsynced`: `Wal::append` of payloads of 100 B, 1 KiB and 64 KiB with
//!   `SyncPolicy::Manual` and `ReadVisibility::Appended` (every append is published to
//!   readers, the more expensive of the two), default 64 MiB segments. One iteration is a
//!   fresh log in a fresh directory receiving about 96 MiB of records, so every iteration
//!   crosses one segment rotation (which seals, and so syncs, the full segment: that is part
//!   of the store's real cost). Opening, dropping and removing the log are not timed, and no
//!   final sync is made: nothing here waits for the disk except the rotation. `store` uses
//!   the default options (the rotation creates its segment with `fallocate`). Baselines:
//!   - `mapping`: the same records (`Codec::V2.encode_record`, crc chained) written back to
//!     back into a `memmap2::MmapMut` of one file preallocated the way the store preallocates
//!     the segments it creates itself (`fallocate`, mode 0: reserved, unwritten extents; not
//!     zero-filled), with no bookkeeping. Creating, preallocating and mapping the file are not
//!     timed; the page faults of the first touch are.
//!   - `plain_file`: each record encoded (crc chained) into a scratch buffer and written with
//!     `write_all` through a 1 MiB `BufWriter<File>` to a new file, flushed to the kernel at
//!     the end (a `write`, not a sync).
//! - `append_durable`: one writer, 100 B payloads, every entry durable before the next.
//!   The store with `SyncPolicy::Always` (an msync of the written range per append), with
//!   the default options (`store_fallocated_segment`: every segment created with
//!   `fallocate`); the log is opened once for all samples.
//!   Baselines: `plain_append` (a file opened for appending: `write_all` + `sync_data` per
//!   entry, so every sync also commits the file's new size) and, for reference,
//!   `prezeroed_pwrite` (a file zero-filled and fsynced beforehand, overwritten in place:
//!   `pwrite` + `fdatasync`), each in a fresh file per sample whose creation is not timed.
//! - `group_commit`: `SyncPolicy::GroupCommit` with 1, 4 and 16 threads appending durable
//!   100 B entries to one log, in its first segment (as for `append_durable`). The threads are spawned once per sample and released together by a
//!   barrier; the time runs until the last one has finished its appends. Throughput is the
//!   total of entries made durable per second, all threads together.
//! - `read_sequential`: `Wal::iter` over a log of 200,000 entries of 100 B (prepared once,
//!   synced, warm in the page cache); the store checks the crc of every record and copies
//!   every payload into an owned `Entry`. Baselines: `wal_format::Scanner` over a read-only
//!   mapping of the same segment file (crc and chain checked, payloads borrowed), and the same
//!   scan copying every payload into a `Vec` as the store does.
//!
//! Durable figures depend on every other process that syncs on the same file system (they
//! share its journal and the disk's cache flushes): compare them within one run, and only
//! when the `prezeroed_pwrite` baseline shows this machine's usual fdatasync latency.
//!
//! Throughput is counted in entries. Temporary directories are made with `tempfile` under
//! `std::env::temp_dir()` (`/tmp` unless `TMPDIR` says otherwise), so the file system of
//! that directory is the one measured.
//!
//! Run all of it (three to four minutes) with
//!
//! ```text
//! cargo bench -p wal-benches --bench store
//! ```
//!
//! or one group with `cargo bench -p wal-benches --bench store -- group_commit`. Criterion
//! writes its estimates to `target/criterion/<group>/<function>/<parameter>/new/`; the
//! figures and the ratios against the targets are in docs/BENCHMARKS.md.

// A benchmark is compiled as an ordinary (non-test) target, so the workspace's library lints
// apply to it. Here a panic can only mean that the benchmark's own setup is wrong or that the
// store failed under it: it fails the benchmark, it is not a crash in a user's process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark that panics is a failed benchmark, not a user's crash"
)]

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use memmap2::{Mmap, MmapMut};
use tempfile::TempDir;
use wal_store::format::{Codec, Scanner};
use wal_store::{ReadVisibility, SyncPolicy, Wal, WalOptions};
use wal_testkit::payload::pseudo_random as pseudo_random_bytes;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// The codec of every record here: the store's default.
const CODEC: Codec = Codec::V2;

/// Seed of the first record's chain, as for a new log.
const SEED_CRC: u32 = 0;

/// Payload sizes of the unsynced appends.
const UNSYNCED_PAYLOAD_BYTES: [usize; 3] = [100, KIB, 64 * KIB];

/// Record bytes appended per iteration of `append_unsynced`: one and a half default
/// (64 MiB) segments, so that each iteration crosses exactly one rotation.
const UNSYNCED_BYTES_PER_ITERATION: usize = 96 * MIB;

/// Payload size of the durable appends and of the read log.
const SMALL_PAYLOAD_BYTES: usize = 100;

/// Writer threads of `group_commit`.
const GROUP_COMMIT_THREADS: [usize; 3] = [1, 4, 16];

/// Entries in the log read by `read_sequential`.
const READ_ENTRIES: usize = 200_000;

/// Capacity of the `BufWriter` of the plain-file baseline.
const PLAIN_BUFFER_BYTES: usize = MIB;

/// A short label for a size: `100B`, `1KiB`, `64KiB`.
fn size_label(bytes: usize) -> String {
    if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{}KiB", bytes / KIB)
    } else {
        format!("{bytes}B")
    }
}

fn entries_throughput(entries: usize) -> Throughput {
    Throughput::Elements(u64::try_from(entries).expect("a count fits in a u64"))
}

/// Bytes one record of `payload_len` bytes takes.
fn record_bytes(payload_len: usize) -> usize {
    CODEC
        .record_bytes(payload_len)
        .expect("the benchmark's payload sizes are valid")
}

/// A fresh directory under the system's temporary directory (a real file system).
fn temp_dir() -> TempDir {
    wal_testkit::scratch::on_disk("wal-bench-store-")
}

fn wal_options(sync_policy: SyncPolicy, read_visibility: ReadVisibility) -> WalOptions {
    WalOptions::default()
        .with_sync_policy(sync_policy)
        .with_read_visibility(read_visibility)
        .with_codec(CODEC)
}

/// A new file of `len` bytes preallocated like a store segment: `fallocate` with mode 0,
/// which reserves blocks as unwritten extents (reads as zeros, nothing written).
fn fallocated_file(path: &Path, len: usize) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .expect("create the baseline file");
    let len = u64::try_from(len).expect("a length fits in a u64");
    rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, len)
        .expect("fallocate the baseline file");
    file
}

/// A new file of at least `len` bytes, zero-filled by writing and fsynced: every block is
/// allocated and written, so overwriting it changes no metadata.
fn prezeroed_file(path: &Path, len: usize) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .expect("create the baseline file");
    let zeros = vec![0u8; MIB];
    let mut written = 0;
    while written < len {
        let n = (len - written).min(MIB);
        file.write_all_at(&zeros[..n], u64::try_from(written).expect("fits"))
            .expect("zero-fill the baseline file");
        written += n;
    }
    file.sync_all().expect("fsync the baseline file");
    file
}

/// Encodes records of `payload` one after the other, chained from [`SEED_CRC`], each into
/// the scratch buffer handed to `sink`: what every file baseline writes.
struct RecordEncoder<'a> {
    payload: &'a [u8],
    prev_crc: u32,
    scratch: Vec<u8>,
}

impl<'a> RecordEncoder<'a> {
    fn new(payload: &'a [u8]) -> RecordEncoder<'a> {
        RecordEncoder {
            payload,
            prev_crc: SEED_CRC,
            scratch: vec![0u8; record_bytes(payload.len())],
        }
    }

    /// The next record's bytes.
    fn next_record(&mut self) -> &[u8] {
        let encoded = CODEC
            .encode_record(&mut self.scratch, self.prev_crc, self.payload)
            .expect("a record fits in its scratch buffer");
        self.prev_crc = encoded.crc.unwrap_or(self.prev_crc);
        &self.scratch[..encoded.len]
    }
}

/// Long iterations (a tenth of a second or more): few samples of one iteration each, a
/// short warm-up.
fn set_long_timing(group: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement);
}

/// Durable appends (one disk round trip each, about 0.1 ms): many entries per sample, so
/// that each sample spans a few thousand syncs and the median shrugs off the samples in
/// which another process used the disk.
fn set_sync_timing(group: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement);
}

/// `iters` appends of `payload` to `wal`, timed.
fn append_timed(wal: &Wal, payload: &[u8], iters: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        black_box(wal.append(black_box(payload)).expect("append"));
    }
    started.elapsed()
}

fn append_unsynced(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_unsynced");
    set_long_timing(&mut group, Duration::from_secs(8));
    for payload_len in UNSYNCED_PAYLOAD_BYTES {
        let payload = pseudo_random_bytes(payload_len);
        let record_len = record_bytes(payload_len);
        let entries = UNSYNCED_BYTES_PER_ITERATION / record_len;
        let label = size_label(payload_len);
        group.throughput(entries_throughput(entries));

        // With the default options the rotation creates its segment with `fallocate`, as
        // the first one is.
        group.bench_function(BenchmarkId::new("store", &label), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let dir = temp_dir();
                    let options = wal_options(SyncPolicy::Manual, ReadVisibility::Appended);
                    let wal = Wal::open(dir.path(), options).expect("open the log");
                    let started = Instant::now();
                    for _ in 0..entries {
                        black_box(wal.append(black_box(&payload)).expect("append"));
                    }
                    timed += started.elapsed();
                    assert_eq!(wal.stats().rotations, 1, "one rotation per iteration");
                    // Dropped without a sync, as a crash would leave it.
                    drop(wal);
                }
                timed
            });
        });

        group.bench_function(BenchmarkId::new("mapping", &label), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let dir = temp_dir();
                    let file = fallocated_file(&dir.path().join("mapped"), entries * record_len);
                    // SAFETY: the file was just created in a private temporary directory by
                    // this thread; nothing else opens, truncates or maps it while the mapping
                    // lives (it is dropped before the directory is removed).
                    let mut map = unsafe { MmapMut::map_mut(&file) }.expect("map the file");
                    let started = Instant::now();
                    let mut at = 0;
                    let mut prev_crc = SEED_CRC;
                    for _ in 0..entries {
                        let encoded = CODEC
                            .encode_record(&mut map[at..], prev_crc, black_box(&payload))
                            .expect("the record fits in the file");
                        at += encoded.len;
                        prev_crc = encoded.crc.unwrap_or(prev_crc);
                    }
                    timed += started.elapsed();
                    black_box((at, prev_crc));
                    drop(map);
                }
                timed
            });
        });

        group.bench_function(BenchmarkId::new("plain_file", &label), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let dir = temp_dir();
                    let file = File::create(dir.path().join("plain")).expect("create the file");
                    let mut writer = BufWriter::with_capacity(PLAIN_BUFFER_BYTES, file);
                    let mut encoder = RecordEncoder::new(&payload);
                    let started = Instant::now();
                    for _ in 0..entries {
                        writer
                            .write_all(encoder.next_record())
                            .expect("write a record");
                    }
                    writer.flush().expect("flush the buffer");
                    timed += started.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
}

fn append_durable(c: &mut Criterion) {
    let payload = pseudo_random_bytes(SMALL_PAYLOAD_BYTES);
    let record_len = record_bytes(SMALL_PAYLOAD_BYTES);
    let label = size_label(SMALL_PAYLOAD_BYTES);

    let mut group = c.benchmark_group("append_durable");
    set_sync_timing(&mut group, Duration::from_secs(5));
    group.throughput(entries_throughput(1));

    // The log is opened once for all its samples, and measured in its first segment
    // (created with `fallocate`, as every segment is).
    let dir = temp_dir();
    let wal = Wal::open(
        dir.path(),
        wal_options(SyncPolicy::Always, ReadVisibility::Synced),
    )
    .expect("open the log");
    group.bench_function(BenchmarkId::new("store_fallocated_segment", &label), |b| {
        b.iter_custom(|iters| append_timed(&wal, &payload, iters));
    });
    assert_eq!(
        wal.stats().rotations,
        0,
        "measured in the first segment only"
    );
    wal.close().expect("close the log");
    drop(dir);

    group.bench_function(BenchmarkId::new("plain_append", &label), |b| {
        b.iter_custom(|iters| {
            let dir = temp_dir();
            let mut file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(dir.path().join("plain"))
                .expect("create the file");
            let mut encoder = RecordEncoder::new(&payload);
            let started = Instant::now();
            for _ in 0..iters {
                file.write_all(encoder.next_record())
                    .expect("write a record");
                file.sync_data().expect("fdatasync");
            }
            started.elapsed()
        });
    });

    group.bench_function(BenchmarkId::new("prezeroed_pwrite", &label), |b| {
        b.iter_custom(|iters| {
            let dir = temp_dir();
            let entries = usize::try_from(iters).expect("iterations fit in memory");
            let file = prezeroed_file(&dir.path().join("prezeroed"), entries * record_len);
            let mut encoder = RecordEncoder::new(&payload);
            let mut at = 0u64;
            let started = Instant::now();
            for _ in 0..iters {
                let record = encoder.next_record();
                file.write_all_at(record, at).expect("write a record");
                at += u64::try_from(record.len()).expect("fits");
                file.sync_data().expect("fdatasync");
            }
            started.elapsed()
        });
    });
    group.finish();
}

/// `threads` threads appending `iters` entries each to `wal`, released together; timed
/// until the last one is done.
fn concurrent_appends_timed(wal: &Wal, payload: &[u8], threads: usize, iters: u64) -> Duration {
    let barrier = Barrier::new(threads + 1);
    let timed = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..threads)
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
    assert_eq!(
        wal.last_synced_offset(),
        wal.last_offset(),
        "every acknowledged entry is durable"
    );
    timed
}

fn group_commit(c: &mut Criterion) {
    let payload = pseudo_random_bytes(SMALL_PAYLOAD_BYTES);

    let mut group = c.benchmark_group("group_commit");
    set_sync_timing(&mut group, Duration::from_secs(5));
    for threads in GROUP_COMMIT_THREADS {
        // One iteration is one durable append by each thread.
        group.throughput(entries_throughput(threads));

        // As in `append_durable`: a log with the default options in its first (fallocated)
        // segment.
        let dir = temp_dir();
        let wal = Wal::open(
            dir.path(),
            wal_options(SyncPolicy::GroupCommit, ReadVisibility::Synced),
        )
        .expect("open the log");
        group.bench_function(BenchmarkId::new("store_fallocated_segment", threads), |b| {
            b.iter_custom(|iters| concurrent_appends_timed(&wal, &payload, threads, iters));
        });
        assert_eq!(
            wal.stats().rotations,
            0,
            "measured in the first segment only"
        );
        wal.close().expect("close the log");
        drop(dir);
    }
    group.finish();
}

fn read_sequential(c: &mut Criterion) {
    let payload = pseudo_random_bytes(SMALL_PAYLOAD_BYTES);

    // The log, written and synced once; it stays open (and warm) for the whole group.
    let dir = temp_dir();
    let wal = Wal::open(
        dir.path(),
        wal_options(SyncPolicy::Manual, ReadVisibility::Synced),
    )
    .expect("open the log");
    let chunk: Vec<&[u8]> = vec![payload.as_slice(); 1000];
    for _ in 0..READ_ENTRIES / chunk.len() {
        wal.append_batch(&chunk).expect("append a batch");
    }
    wal.sync().expect("sync the log");
    assert_eq!(wal.stats().segments, 1, "the read log fits in one segment");

    // The same bytes, mapped read-only for the baselines. The store's own mapping is
    // writable; this one only reads what has already been synced.
    let data_path = wal_store::internal::naming::data_path(dir.path(), 0, CODEC);
    let file = File::open(&data_path).expect("open the segment file");
    // SAFETY: the segment file is written only by `wal`, which appends nothing more after
    // the sync above and never shrinks a mapped file; the mapping is read-only and dropped
    // before the directory is removed.
    let map = unsafe { Mmap::map(&file) }.expect("map the segment file");

    let mut group = c.benchmark_group("read_sequential");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.throughput(entries_throughput(READ_ENTRIES));
    let label = size_label(SMALL_PAYLOAD_BYTES);

    group.bench_function(BenchmarkId::new("store_iter", &label), |b| {
        b.iter(|| {
            let mut entries = 0;
            for entry in wal.iter() {
                black_box(entry.expect("read an entry"));
                entries += 1;
            }
            assert_eq!(entries, READ_ENTRIES);
        });
    });

    let scan = |copy: bool| {
        let mut scanner = Scanner::new(CODEC, &map)
            .with_seed(SEED_CRC)
            .check_zero_tail(false);
        let mut entries = 0;
        for record in scanner.by_ref() {
            if copy {
                black_box(record.payload.to_vec());
            } else {
                black_box(record.payload);
            }
            entries += 1;
        }
        assert_eq!(entries, READ_ENTRIES);
        assert!(scanner.end().is_some_and(|end| end.is_clean()));
    };
    group.bench_function(BenchmarkId::new("mapping_scan", &label), |b| {
        b.iter(|| scan(false));
    });
    group.bench_function(BenchmarkId::new("mapping_scan_copy", &label), |b| {
        b.iter(|| scan(true));
    });
    group.finish();

    drop(map);
    wal.close().expect("close the log");
}

criterion_group!(
    benches,
    append_unsynced,
    append_durable,
    group_commit,
    read_sequential
);
criterion_main!(benches);
