//! A full disk: `walctl write` when a segment cannot be created or grown.
//!
//! A full disk is simulated with a file-size limit (RLIMIT_FSIZE), set on the child
//! alone by util-linux's `prlimit` command, with SIGXFSZ ignored (an ignored signal stays
//! ignored across `exec`) so that the system call that would pass the limit fails with
//! EFBIG instead of killing the process. Segments are preallocated with `fallocate`, so
//! the limit is met exactly where a full disk would be: creating a segment, or growing
//! one for a large entry; never while writing through a mapping (which would be SIGBUS).
//!
//! walctl must then exit 2 with one `walctl: error:` line naming the failure (no crash, no
//! signal, no panic), every entry it acknowledged must be in the log after a recovery
//! open (and `walctl verify` clean afterwards), and appends must work again once the
//! limit is gone. The last test does the same in-process against the store, failing a
//! rotation's file creation without any limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Run, run, s, tempdir};
use wal_recovery::RecoveryOptions;
use wal_store::{StoreError, SyncPolicy, Wal, WalOptions};

/// util-linux's `prlimit`.
const PRLIMIT: &str = "/usr/bin/prlimit";
/// The error the system returns past the file-size limit (EFBIG).
const EFBIG_TEXT: &str = "File too large";

/// Runs walctl with `args` under a file-size limit of `fsize_bytes`, SIGXFSZ ignored.
fn run_limited(fsize_bytes: u64, args: &[&str]) -> Run {
    assert!(
        Path::new(PRLIMIT).is_file(),
        "these tests need util-linux's prlimit at {PRLIMIT} to limit a child's file sizes \
         (apt-get install util-linux); without it they cannot simulate a full disk"
    );
    let output = Command::new("/bin/sh")
        .args(["-c", "trap '' XFSZ; exec \"$@\"", "sh", PRLIMIT])
        .arg(format!("--fsize={fsize_bytes}"))
        .arg(env!("CARGO_BIN_EXE_walctl"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let code = output.status.code().unwrap_or_else(|| {
        panic!(
            "walctl was killed by signal {:?} (25 is SIGXFSZ, 7 is SIGBUS); stderr: {stderr}",
            output.status.signal()
        )
    });
    Run {
        code,
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr,
    }
}

/// Asserts the contract of the failure: exit 2, one `walctl: error:` line naming the
/// failed call and EFBIG, no panic.
fn assert_fails_for_the_limit(run: &Run, call: &str) {
    assert_eq!(run.code, 2, "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {run:#?}");
    assert!(lines[0].starts_with("walctl: error: "), "{run:#?}");
    assert!(!lines[0].contains("internal error"), "a panic: {run:#?}");
    assert!(
        lines[0].contains(call) && lines[0].contains(EFBIG_TEXT),
        "the error names {call:?} and {EFBIG_TEXT:?}: {run:#?}"
    );
}

/// The `synced` lines of a run, checked to be in order.
fn acks(run: &Run) -> Vec<u64> {
    let acks: Vec<u64> = run
        .lines()
        .iter()
        .map(|l| {
            l.strip_prefix("synced ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not an acknowledgement: {l:?}: {run:#?}"))
        })
        .collect();
    assert!(acks.windows(2).all(|w| w[0] <= w[1]), "{run:#?}");
    acks
}

/// The payload walctl writes at `offset` with `seed`, `size` bytes.
fn pattern(seed: u64, offset: u64, size: usize) -> Vec<u8> {
    format!("{seed}:{offset};")
        .bytes()
        .cycle()
        .take(size)
        .collect()
}

/// Entries written by `walctl write` runs: `(offsets, seed, size)` each.
type Runs = [(std::ops::Range<u64>, u64, usize)];

/// Opens `dir` through recovery (default mode) and checks it holds exactly the entries
/// of `runs`, chained; returns the report.
fn assert_log(dir: &Path, runs: &Runs) -> wal_recovery::RecoveryReport {
    let recovered = wal_recovery::open(dir, RecoveryOptions::default())
        .unwrap_or_else(|e| panic!("recovery of {}: {e:?}", dir.display()));
    let mut prev = 0u32;
    let mut count = 0u64;
    for entry in recovered.log.iter() {
        let entry = entry.unwrap();
        let (_, seed, size) = runs
            .iter()
            .find(|(range, _, _)| range.contains(&entry.offset))
            .unwrap_or_else(|| panic!("entry {} was never written", entry.offset));
        assert_eq!(entry.offset, count);
        assert_eq!(
            entry.payload,
            pattern(*seed, entry.offset, *size),
            "entry {}",
            entry.offset
        );
        assert_eq!(entry.prev_crc, Some(prev), "entry {} chains", entry.offset);
        prev = entry.crc.unwrap();
        count += 1;
    }
    let end = runs.iter().map(|(r, _, _)| r.end).max().unwrap_or(0);
    assert_eq!(count, end, "entries 0..{end}: {:#?}", recovered.report);
    recovered.report
}

fn assert_verify_clean(dir: &Path) {
    let verify = run(["verify", s(dir)]);
    assert_eq!(verify.code, 0, "{verify:#?}");
}

/// A log of 3 entries in a 16 KiB segment, then a writer limited to 16 KiB files that
/// asks for 64 KiB segments: it fills the segment, and the rotation cannot create the next.
fn segment_creation_fails_at_rotation(sync: &[&str]) {
    let dir = tempdir();
    let log = dir.path().join("log");
    let first = run([
        "write",
        s(&log),
        "--count",
        "3",
        "--size",
        "100",
        "--segment-size",
        "16384",
    ]);
    first.ok();
    let mut args = vec![
        "write",
        s(&log),
        "--count",
        "1000",
        "--size",
        "100",
        "--seed",
        "1",
        "--segment-size",
        "65536",
        "--ack",
    ];
    args.extend_from_slice(sync);
    let limited = run_limited(16384, &args);
    assert_fails_for_the_limit(&limited, "fallocate");
    let acks = acks(&limited);
    let acked = *acks
        .last()
        .expect("entries acknowledged before the rotation");
    // 16 KiB hold 146 records of 112 bytes: the segment was full.
    assert_eq!(acked, 145, "{limited:#?}");

    let report = assert_log(&log, &[(0..3, 0, 100), (3..acked + 1, 1, 100)]);
    // Whatever the failed rotation left behind (its temporary file, the index of the
    // segment that stayed active) is cleaned up, and nothing is cut.
    assert!(report.cut.is_none(), "{report:#?}");
    let leftovers: Vec<String> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    assert_verify_clean(&log);

    let again = run([
        "write",
        s(&log),
        "--count",
        "300",
        "--size",
        "100",
        "--seed",
        "2",
        "--segment-size",
        "65536",
    ]);
    again.ok();
    assert_log(
        &log,
        &[
            (0..3, 0, 100),
            (3..acked + 1, 1, 100),
            (acked + 1..acked + 301, 2, 100),
        ],
    );
    assert_verify_clean(&log);
    assert!(common::data_files(&log).len() >= 2, "the rotation happened");
}

#[test]
fn segment_creation_fails_at_rotation_with_sync_always() {
    segment_creation_fails_at_rotation(&["--sync", "always"]);
}

#[test]
fn segment_creation_fails_at_rotation_with_sync_batch() {
    // Entries appended since the last batch's sync are synced and acknowledged before
    // walctl exits with the error.
    segment_creation_fails_at_rotation(&["--sync", "batch", "--batch", "7"]);
}

#[test]
fn growing_a_segment_for_a_large_entry_fails() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let args = [
        "write",
        s(&log),
        "--count",
        "3",
        "--size",
        "100000",
        "--segment-size",
        "16384",
        "--sync",
        "always",
        "--ack",
    ];
    // The 16 KiB segment is created; growing it for a 100 KB entry passes 64 KiB.
    let limited = run_limited(65536, &args);
    assert_fails_for_the_limit(&limited, "fallocate");
    assert_eq!(acks(&limited), Vec::<u64>::new());
    assert_log(&log, &[]);
    assert_verify_clean(&log);

    let again = run(args);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(acks(&again), [0, 1, 2]);
    assert_log(&log, &[(0..3, 0, 100_000)]);
    assert_verify_clean(&log);
}

#[test]
fn the_first_segment_of_a_new_log_cannot_be_created() {
    let dir = tempdir();
    let log = dir.path().join("log");
    let args = [
        "write",
        s(&log),
        "--count",
        "50",
        "--size",
        "10",
        "--segment-size",
        "65536",
        "--sync",
        "always",
        "--ack",
    ];
    let limited = run_limited(8192, &args);
    assert_fails_for_the_limit(&limited, "fallocate");
    assert_eq!(acks(&limited), Vec::<u64>::new());
    // Only the temporary file of the segment is left; the next writer starts over.
    let again = run(args);
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(acks(&again), (0..50).collect::<Vec<u64>>());
    assert_log(&log, &[(0..50, 0, 10)]);
    assert_verify_clean(&log);
}

/// Fails a rotation in-process by putting a directory where it writes a file (`name`;
/// the failing step is one of `ops`), then checks that the append reports it, that
/// the entries before it stay durable and readable, that the log is not poisoned (the
/// next append, once the obstacle is gone, rotates and succeeds), and that the log
/// reopens, strictly and through recovery, with every entry.
fn rotation_step_fails(name: &str, ops: &[&str]) {
    const SEGMENT_BYTES: u32 = 4096;
    /// 36 records of 112 bytes fill 4032 bytes: the 37th rotates.
    const FITTING: u64 = 36;
    let dir = tempdir();
    let options = WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_sync_policy(SyncPolicy::Always);
    let payload = |o: u64| pattern(9, o, 100);
    let wal = Wal::open(dir.path(), options.clone()).unwrap();
    for o in 0..FITTING {
        assert_eq!(wal.append(&payload(o)).unwrap().offset, o);
    }
    let obstacle = dir.path().join(name);
    std::fs::create_dir(&obstacle).unwrap();
    for _ in 0..2 {
        match wal.append(&payload(FITTING)) {
            Err(StoreError::Io { op, path, .. }) => {
                assert!(ops.contains(&op), "{op} failed, expected one of {ops:?}");
                assert_eq!(path, obstacle);
            }
            other => panic!("the rotation must fail at {name}: {other:?}"),
        }
        assert_eq!(wal.last_synced_offset(), Some(FITTING - 1));
        assert_eq!(wal.next_offset(), FITTING);
        assert_eq!(wal.read(FITTING - 1).unwrap().payload, payload(FITTING - 1));
    }
    std::fs::remove_dir(&obstacle).unwrap();
    assert_eq!(wal.append(&payload(FITTING)).unwrap().offset, FITTING);
    assert_eq!(wal.last_synced_offset(), Some(FITTING));
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options.clone()).unwrap();
    assert_eq!(wal.next_offset(), FITTING + 1);
    drop(wal);
    let recovered =
        wal_recovery::open(dir.path(), RecoveryOptions::default().with_wal(options)).unwrap();
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    let entries: Vec<Vec<u8>> = recovered.log.iter().map(|e| e.unwrap().payload).collect();
    assert_eq!(entries, (0..=FITTING).map(payload).collect::<Vec<_>>());
}

#[test]
fn a_rotation_that_cannot_create_its_segment_leaves_the_store_usable() {
    // The segment's own name is taken, whether the rotation creates the file (a
    // temporary file renamed into place) or links a file prepared ahead of time.
    rotation_step_fails("36.txnx", &["rename", "link"]);
}

#[test]
fn a_rotation_that_cannot_write_the_index_leaves_the_store_usable() {
    rotation_step_fails("0.idxx.tmp", &["create"]);
}
