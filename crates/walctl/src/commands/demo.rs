//! `walctl demo`: the whole story for a newcomer in a few seconds. Write a log with
//! group commit from several threads, set the consumer's cursor, crash in the middle of a
//! write (tear the last record, leave unsynced garbage after it), recover, replay.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wal_format::Scanner;
use wal_recovery::{Recovered, RecoveryOptions};
use wal_store::internal::naming;
use wal_store::{SyncPolicy, WalOptions, list_segments};

use super::repair::print_report;
use crate::cli::DemoArgs;
use crate::error::{CliError, Exit, IoContext, Result};
use crate::output::Out;
use crate::progress;
use crate::render;

/// Small segments, so that a few thousand entries span several of them.
const SEGMENT_BYTES: u32 = 64 * 1024;
/// Writer threads sharing group commits.
const THREADS: u64 = 4;
const ENTRIES_PER_THREAD: u64 = 1200;
/// Bytes of garbage a crashed write leaves after the torn record.
const GARBAGE_BYTES: usize = 256;
/// Payload bytes shown in the replay summary.
const SHOWN_PAYLOAD_BYTES: usize = 60;

fn options() -> RecoveryOptions {
    RecoveryOptions::default().with_wal(
        WalOptions::default()
            .with_segment_bytes(SEGMENT_BYTES)
            .with_sync_policy(SyncPolicy::GroupCommit),
    )
}

/// The payload of thread `thread`'s `i`-th entry: readable, of varying length.
fn payload(thread: u64, i: u64) -> Vec<u8> {
    let filler_len = usize::try_from((i * 37 + thread * 11) % 90).unwrap_or(0);
    let letter = b"abcdefghijklmnopqrstuvwxyz"
        .get(usize::try_from(i % 26).unwrap_or(0))
        .copied()
        .unwrap_or(b'x');
    let mut text = format!("order {thread}-{i:04}: ").into_bytes();
    text.extend(std::iter::repeat_n(letter, filler_len));
    text
}

/// The directory to use, and whether it is a new temporary one.
fn demo_dir(dir: Option<&Path>) -> Result<(PathBuf, bool)> {
    let Some(dir) = dir else {
        let temp = tempfile::Builder::new()
            .prefix("walctl-demo-")
            .tempdir()
            .context("create temporary directory in", &std::env::temp_dir())?;
        return Ok((temp.keep(), true));
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CliError::usage(format!(
                    "{} is not empty: the demo damages its log on purpose, so it needs an empty or new directory",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(CliError::usage(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        Err(e) => return Err(e).context("read directory", dir),
    }
    Ok((dir.to_path_buf(), false))
}

/// Writes every thread's entries through one shared log.
fn write_from_threads(recovered: &Recovered) -> Result<()> {
    let bar = progress::bar(THREADS * ENTRIES_PER_THREAD, "appending");
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let log = &recovered.log;
                let bar = bar.clone();
                scope.spawn(move || -> Result<()> {
                    for i in 0..ENTRIES_PER_THREAD {
                        log.append(&payload(thread, i))?;
                        bar.inc(1);
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(CliError::usage("a writer thread panicked")))
            })
            .collect()
    });
    bar.finish_and_clear();
    results.into_iter().collect()
}

/// What the simulated crash did to the last record.
struct Tear {
    segment: u64,
    offset: u64,
    file_offset: u32,
    payload_len: usize,
    overwritten: usize,
    garbage: usize,
}

/// Tears the last record of the log on disk: the second half of its payload becomes
/// garbage (a write the crash interrupted), and non-zero bytes follow it (the start of a
/// next record that never got synced).
fn tear_last_record(dir: &Path) -> Result<Tear> {
    let segments = list_segments(dir)?;
    let Some(&(base, codec)) = segments.last() else {
        return Err(CliError::usage("the demo log has no segment"));
    };
    let path = naming::data_path(dir, base, codec);
    let data = std::fs::read(&path).context("read", &path)?;
    let mut scanner = Scanner::new(codec, &data);
    let last = scanner
        .by_ref()
        .last()
        .map(|r| (r.index, r.file_offset.0, r.payload.len()));
    let end = scanner.valid_len().as_usize();
    let Some((index, file_offset, payload_len)) = last else {
        return Err(CliError::usage("the demo log's last segment is empty"));
    };
    let overwritten = payload_len.div_ceil(2);
    let payload_end = u64::try_from(end).unwrap_or(u64::MAX);
    let torn_at = payload_end - overwritten as u64;
    let garbage = GARBAGE_BYTES.min(data.len().saturating_sub(end));
    let file = OpenOptions::new()
        .write(true)
        .open(&path)
        .context("open", &path)?;
    let torn: Vec<u8> = b"\xde\xad\xbe\xef"
        .iter()
        .copied()
        .cycle()
        .take(overwritten)
        .collect();
    file.write_all_at(&torn, torn_at).context("write", &path)?;
    // A simple xorshift: non-zero bytes that are no record.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let trailing: Vec<u8> = (0..garbage)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes().first().copied().unwrap_or(1) | 1
        })
        .collect();
    file.write_all_at(&trailing, payload_end)
        .context("write", &path)?;
    file.sync_all().context("fsync", &path)?;
    Ok(Tear {
        segment: base,
        offset: base + u64::from(index),
        file_offset,
        payload_len,
        overwritten,
        garbage,
    })
}

pub fn run(args: &DemoArgs, out: &mut Out) -> Result<Exit> {
    let (dir, temporary) = demo_dir(args.dir.as_deref())?;
    out.line("walctl demo: a write-ahead log, a crash in the middle of a write, and recovery")?;
    out.line(format_args!(
        "directory: {}{}",
        dir.display(),
        if temporary {
            " (a new temporary directory, kept so that you can look at it)"
        } else {
            ""
        }
    ))?;
    out.line("")?;

    // 1. Write with group commit from several threads.
    let recovered = wal_recovery::open(&dir, options())?;
    let started = Instant::now();
    write_from_threads(&recovered)?;
    let took = started.elapsed();
    let log = &recovered.log;
    let stats = log.stats();
    let total = THREADS * ENTRIES_PER_THREAD;
    let last = log.last_offset().unwrap_or(0);
    out.line(format_args!(
        "1. wrote {total} entries from {THREADS} threads with group commit in {:.2} s: offsets {}..={last}, {} segments of {} KiB, {} syncs shared by the threads (every append was durable when it returned)",
        took.as_secs_f64(),
        log.first_offset(),
        stats.segments,
        SEGMENT_BYTES / 1024,
        stats.syncs,
    ))?;

    // 2. The consumer has processed two thirds of it.
    let cursor = log.first_offset() + total * 2 / 3 - 1;
    log.set_cursor(cursor)?;
    out.line(format_args!(
        "2. set the consumer's cursor at {cursor}: entries up to it are processed, and committed"
    ))?;

    // 3. Crash: no close, then the damage a crash in the middle of a write leaves.
    drop(recovered);
    let tear = tear_last_record(&dir)?;
    out.line(format_args!(
        "3. crashed: dropped the log without closing it, then tore the last record on disk (entry {}, segment {}, file offset {}: the last {} of its {} payload bytes overwritten) and left {} bytes of unsynced garbage after it",
        tear.offset, tear.segment, tear.file_offset, tear.overwritten, tear.payload_len, tear.garbage
    ))?;

    // 4. Recover.
    let recovered = wal_recovery::open(&dir, options())?;
    out.line(format_args!(
        "4. reopened with wal_recovery::open (mode {}):",
        recovered.report.mode.name()
    ))?;
    print_report(out, &recovered.report, "   ")?;

    // 5. Replay what the consumer has not processed yet.
    let mut replayed = 0u64;
    let mut first: Option<(u64, Vec<u8>)> = None;
    let mut last: Option<(u64, Vec<u8>)> = None;
    for entry in recovered.replay()? {
        let entry = entry?;
        replayed += 1;
        if first.is_none() {
            first = Some((entry.offset, entry.payload.clone()));
        }
        last = Some((entry.offset, entry.payload));
    }
    out.line(format_args!(
        "5. replayed {replayed} entries after the cursor, from offset {}:",
        recovered.report.replay_from
    ))?;
    for (label, entry) in [("first", &first), ("last ", &last)] {
        if let Some((offset, payload)) = entry {
            out.line(format_args!(
                "   {label} {offset}: {}",
                render::quoted_payload(payload, SHOWN_PAYLOAD_BYTES)
            ))?;
        }
    }
    recovered.log.close()?;

    out.line("")?;
    let shown = dir.display();
    let walctl = walctl_command();
    out.line(format_args!("The log is kept in {shown}. Look at it with:"))?;
    out.line(format_args!("  {walctl} stat {shown}"))?;
    out.line(format_args!("  {walctl} verify {shown}"))?;
    out.line(format_args!(
        "  {walctl} dump {shown} --from {}",
        tear.offset.saturating_sub(3)
    ))?;
    out.line(format_args!("  {walctl} replay {shown} | tail -3"))?;
    if temporary {
        out.line(format_args!("and remove it with: rm -r {shown}"))?;
    }
    Ok(Exit::Clean)
}

/// How a newcomer runs walctl again: through cargo when this binary is the one cargo built
/// in the repository (`cargo run ... -- demo`), by its name when it is installed.
fn walctl_command() -> &'static str {
    let built_by_cargo = std::env::current_exe()
        .is_ok_and(|exe| exe.components().any(|c| c.as_os_str() == "target"));
    if built_by_cargo {
        "cargo run --release -p walctl --"
    } else {
        "walctl"
    }
}
