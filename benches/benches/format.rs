//! Criterion benchmarks of `wal-format`, the pure codecs: no file, no syscall, only bytes in
//! memory.
//!
//! - `crc`: CRC-32C over buffers of 100 B, 1 KiB, 64 KiB and 1 MiB, four ways: the `crc32c`
//!   crate (the SSE4.2 `crc32` instruction, picked at run time), the `crc` crate with 16
//!   tables (slicing-by-16) and with its default single table, and
//!   `wal_format::crc::crc32c_update`, the one function the project checksums through.
//! - `encode`: `Codec::encode_record` for v1 and v2, filling a 16 MiB buffer with records
//!   whose payloads are 100 B, 1 KiB or 64 KiB. The buffer is allocated and faulted in once,
//!   outside the timed part; each iteration writes it again from offset 0.
//! - `scan`: `Scanner::finish` for v1 and v2 over a 16 MiB segment holding as many such
//!   records as fit, followed by zeros (less than one record's worth). `v1`/`v2` scan with
//!   the default check that the bytes after the end marker are zero;
//!   `v1_no_tail_check`/`v2_no_tail_check` turn it off, to show what the check costs.
//!   `crc_only` is the crc alone over a 16 MiB buffer: the most a v2 scan could reach.
//!
//! Throughput is counted in bytes of the input buffer (`crc`) or of the records written or
//! read, header included (`encode`, `scan`); the zero tail of a segment is not counted
//! (`scan/crc_only` counts its whole buffer).
//!
//! Run all of it (three to four minutes once built) with
//!
//! ```text
//! cargo bench -p wal-benches --bench format
//! ```
//!
//! or one group with `cargo bench -p wal-benches --bench format -- crc`. Criterion writes its
//! estimates to `target/criterion/<group>/<function>/<size>/new/estimates.json`; the figures
//! and what they decided are in docs/BENCHMARKS.md.

// A benchmark is compiled as an ordinary (non-test) target, so the workspace's library lints
// apply to it. Here a panic can only mean that the benchmark's own setup is wrong (a record
// that does not fit, implementations that disagree): it fails the benchmark, it is not a
// crash in a user's process.
#![expect(
    clippy::expect_used,
    reason = "a benchmark that panics is a failed benchmark, not a user's crash"
)]

use std::hint::black_box;
use std::time::Duration;

use crc::{CRC_32_ISCSI, Crc, Table};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use wal_format::{Codec, ScanEnd, Scanner};
use wal_testkit::payload::pseudo_random as pseudo_random_bytes;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Buffer sizes the crc implementations are compared on.
const CRC_SIZES_BYTES: [usize; 4] = [100, KIB, 64 * KIB, MIB];

/// Payload sizes of the records that are encoded and scanned.
const PAYLOAD_SIZES_BYTES: [usize; 3] = [100, KIB, 64 * KIB];

/// Size of the buffer filled by `encode` and of the segment read by `scan`.
const SEGMENT_BYTES: usize = 16 * MIB;

/// Seed of the first record's chain, as for a new log.
const SEED_CRC: u32 = 0;

/// A short label for a size: `100B`, `1KiB`, `64KiB`, `1MiB`.
fn size_label(bytes: usize) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{}KiB", bytes / KIB)
    } else {
        format!("{bytes}B")
    }
}

/// Bytes counted as throughput, as criterion wants them.
fn throughput_bytes(bytes: usize) -> Throughput {
    Throughput::Bytes(u64::try_from(bytes).expect("a buffer size fits in a u64"))
}

/// How many records with a payload of `payload_len` bytes fit in a segment, and their total
/// size in bytes.
fn records_in_segment(codec: Codec, payload_len: usize) -> (usize, usize) {
    let record_bytes = codec
        .record_bytes(payload_len)
        .expect("the benchmark's payload sizes are valid");
    let records = SEGMENT_BYTES / record_bytes;
    (records, records * record_bytes)
}

/// Encodes `records` copies of `payload` from the start of `buf`, chained from
/// [`SEED_CRC`]. Returns the bytes written and the last crc (the seed for v1).
fn encode_records(codec: Codec, buf: &mut [u8], payload: &[u8], records: usize) -> (usize, u32) {
    let record_bytes = codec
        .record_bytes(payload.len())
        .expect("the benchmark's payload sizes are valid");
    let mut written_bytes = 0;
    let mut prev_crc = SEED_CRC;
    // One chunk per record: each encode gets exactly the bytes its record takes.
    for chunk in buf.chunks_exact_mut(record_bytes).take(records) {
        let encoded = codec
            .encode_record(chunk, prev_crc, payload)
            .expect("a record fits in a chunk of its own size");
        written_bytes += encoded.len;
        prev_crc = encoded.crc.unwrap_or(prev_crc);
    }
    (written_bytes, prev_crc)
}

/// Many short samples of equal length (flat sampling), so that the median, the figure
/// quoted in docs/BENCHMARKS.md, ignores the samples in which another process (a fuzzer, a
/// build) took the core away. The `measurement` time per benchmark keeps the whole run
/// to a few minutes.
fn set_timing(group: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(100)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measurement);
}

fn crc(c: &mut Criterion) {
    // Built once: building the 16 tables costs more than checksumming a small buffer.
    let table16 = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);
    let table1 = Crc::<u32>::new(&CRC_32_ISCSI);

    let mut group = c.benchmark_group("crc");
    set_timing(&mut group, Duration::from_secs(3));
    for size_bytes in CRC_SIZES_BYTES {
        let buf = pseudo_random_bytes(size_bytes);
        let expected = crc32c::crc32c_append(0, &buf);
        assert!(
            table16.checksum(&buf) == expected
                && table1.checksum(&buf) == expected
                && wal_format::crc::crc32c_update(0, &buf) == expected,
            "the crc implementations disagree on {size_bytes} bytes"
        );

        let label = size_label(size_bytes);
        group.throughput(throughput_bytes(size_bytes));
        group.bench_with_input(
            BenchmarkId::new("crc32c_hw", &label),
            buf.as_slice(),
            |b, buf| b.iter(|| crc32c::crc32c_append(0, black_box(buf))),
        );
        group.bench_with_input(
            BenchmarkId::new("crc_table16", &label),
            buf.as_slice(),
            |b, buf| {
                b.iter(|| {
                    let mut digest = table16.digest();
                    digest.update(black_box(buf));
                    digest.finalize()
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("crc_table1", &label),
            buf.as_slice(),
            |b, buf| {
                b.iter(|| {
                    let mut digest = table1.digest();
                    digest.update(black_box(buf));
                    digest.finalize()
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("wal_format", &label),
            buf.as_slice(),
            |b, buf| b.iter(|| wal_format::crc::crc32c_update(0, black_box(buf))),
        );
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    // Allocated once for the whole group; the first `encode_records` below also faults its
    // pages in, so no iteration pays for allocation or zeroing.
    let mut buf = vec![0u8; SEGMENT_BYTES];

    let mut group = c.benchmark_group("encode");
    set_timing(&mut group, Duration::from_secs(4));
    for payload_len in PAYLOAD_SIZES_BYTES {
        let payload = pseudo_random_bytes(payload_len);
        for codec in [Codec::V1, Codec::V2] {
            let (records, records_bytes) = records_in_segment(codec, payload_len);
            let (written_bytes, _) = encode_records(codec, &mut buf, &payload, records);
            assert_eq!(written_bytes, records_bytes);

            group.throughput(throughput_bytes(records_bytes));
            group.bench_function(
                BenchmarkId::new(codec.name(), size_label(payload_len)),
                |b| {
                    b.iter(|| {
                        encode_records(codec, black_box(&mut buf), black_box(&payload), records)
                    });
                },
            );
        }
    }
    group.finish();
}

fn scan(c: &mut Criterion) {
    let mut group = c.benchmark_group("scan");
    set_timing(&mut group, Duration::from_secs(4));

    // The ceiling of a v2 scan: the crc alone over a buffer as large as a segment, which,
    // unlike the buffers of the `crc` group, does not fit in the L2 cache.
    let whole = pseudo_random_bytes(SEGMENT_BYTES);
    group.throughput(throughput_bytes(SEGMENT_BYTES));
    group.bench_function(
        BenchmarkId::new("crc_only", size_label(SEGMENT_BYTES)),
        |b| b.iter(|| wal_format::crc::crc32c_update(0, black_box(&whole))),
    );

    for payload_len in PAYLOAD_SIZES_BYTES {
        let payload = pseudo_random_bytes(payload_len);
        for codec in [Codec::V1, Codec::V2] {
            let (records, records_bytes) = records_in_segment(codec, payload_len);
            let mut segment = vec![0u8; SEGMENT_BYTES];
            let (_, last_crc) = encode_records(codec, &mut segment, &payload, records);

            // Check once, outside the timed part, that the scan reads every record and ends
            // cleanly at the end marker, whether or not the zero tail is checked.
            for check_zero_tail in [true, false] {
                let summary = Scanner::new(codec, &segment)
                    .with_seed(SEED_CRC)
                    .check_zero_tail(check_zero_tail)
                    .finish();
                assert!(
                    u32::try_from(records).ok() == Some(summary.records),
                    "{codec} {payload_len} B: scanned {} of {records} records",
                    summary.records
                );
                assert!(summary.valid_len.as_usize() == records_bytes);
                if codec.has_crc() {
                    assert!(summary.last_crc == Some(last_crc));
                }
                assert!(
                    matches!(summary.end, ScanEnd::EndMarker { file_offset } if file_offset == summary.valid_len),
                    "{codec} {payload_len} B: scan ended with {:?}",
                    summary.end
                );
            }

            group.throughput(throughput_bytes(records_bytes));
            for (name, check_zero_tail) in [
                (codec.name().to_owned(), true),
                (format!("{}_no_tail_check", codec.name()), false),
            ] {
                group.bench_function(BenchmarkId::new(name, size_label(payload_len)), |b| {
                    b.iter(|| {
                        Scanner::new(codec, black_box(&segment))
                            .with_seed(SEED_CRC)
                            .check_zero_tail(check_zero_tail)
                            .finish()
                    });
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, crc, encode, scan);
criterion_main!(benches);
