//! commitlog 0.2.0.
//!
//! Its `CommitLog::flush` does not make anything durable: it calls `File::flush` on the
//! segment (`Segment::flush_sync` in `segment.rs`; a no-op for a `File`) and msyncs only
//! the *whole pages* of the memory-mapped index written since the last flush
//! (`Index::flush_sync` in `index.rs`), leaving the last, partial index page unsynced.
//! On open, the index is what says where the log ends (`Index::open` searches it for the
//! first empty slot; the segment is not scanned), so both files must be synced for an
//! append to survive a crash. So every sync here is `flush()` followed by an `fdatasync`
//! of the active `.log` **and** `.index` files through descriptors of our own (Linux
//! syncs the inode's dirty pages, mapped or not, whatever descriptor dirtied them), and
//! after a bulk write also every other segment and index and the directory (commitlog
//! never fsyncs the directory after creating a file). A durable append therefore costs
//! commitlog two `fdatasync`s.
//!
//! It is single-writer (`&mut self`); the many-thread workload shares it behind a
//! `Mutex` and syncs outside the lock, so that concurrent syncs can overlap (the kernel
//! may then serve several with one journal commit); it has no group commit of its own.
//! Defaults everywhere (1 GB segments, an index of 100,000 slots grown by half when full,
//! messages up to 1 MB).
//!
//! Reading: `CommitLog::read` in slices of up to 1 MiB, which `pread`s the slice and
//! checks every message's CRC-32C (`MessageBuf::from_bytes`).

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use commitlog::message::MessageSet;
use commitlog::{CommitLog, LogOptions, ReadLimit};

use crate::fsutil;
use crate::payload::Payloads;
use crate::subject::{Kind, PROGRESS_EVERY, Subject, check_read};
use crate::{Result, threads};

/// commitlog 0.2.0.
#[derive(Debug, Clone, Copy)]
pub struct Commitlog;

/// Slice size of a read.
const READ_LIMIT_BYTES: usize = 1 << 20;

fn open(dir: &Path) -> std::io::Result<CommitLog> {
    CommitLog::new(LogOptions::new(dir))
}

/// Descriptors of the active segment's data and index files (the newest ones), for
/// syncing them.
fn active_files(dir: &Path) -> Result<(File, File)> {
    let logs = fsutil::files_with_extension(dir, &["log"])?;
    let indexes = fsutil::files_with_extension(dir, &["index"])?;
    match (logs.last(), indexes.last()) {
        (Some(log), Some(index)) => Ok((File::open(log)?, File::open(index)?)),
        _ => Err("commitlog created no segment".into()),
    }
}

/// Makes everything appended durable: commitlog's flush, then what it leaves out.
fn sync_everything(log: &mut CommitLog, dir: &Path) -> Result<()> {
    log.flush()?;
    for path in fsutil::files_with_extension(dir, &["log", "index"])? {
        fsutil::sync_data_path(&path)?;
    }
    fsutil::sync_dir(dir)?;
    Ok(())
}

impl Subject for Commitlog {
    fn name(&self) -> &'static str {
        "commitlog"
    }

    fn kind(&self) -> Kind {
        Kind::Peer
    }

    fn bulk(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Duration> {
        let mut log = open(dir)?;
        let started = Instant::now();
        for i in 0..n {
            log.append_msg(payloads.get(i))?;
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1);
            }
        }
        sync_everything(&mut log, dir)?;
        Ok(started.elapsed())
    }

    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let mut log = open(dir)?;
        fsutil::sync_dir(dir)?;
        let (data, index) = active_files(dir)?;
        let started = Instant::now();
        for i in 0..n {
            let op = Instant::now();
            log.append_msg(payloads.get(i))?;
            log.flush()?;
            data.sync_data()?;
            index.sync_data()?;
            latencies.push(op.elapsed().as_nanos() as u64);
        }
        Ok(started.elapsed())
    }

    fn durable_threads(
        &self,
        dir: &Path,
        payloads: &Payloads,
        threads: usize,
        per_thread: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let log = Mutex::new(open(dir)?);
        fsutil::sync_dir(dir)?;
        let (data, index) = active_files(dir)?;
        threads::run(threads, per_thread, latencies, |t, i| {
            {
                let mut log = log.lock().map_err(|_| "commitlog mutex poisoned")?;
                log.append_msg(payloads.get(t as u64 * per_thread + i))?;
                log.flush()?;
            }
            data.sync_data()?;
            index.sync_data()?;
            Ok(())
        })
    }

    fn read_all(&self, dir: &Path, n: u64, size: usize) -> Result<Duration> {
        let (mut count, mut bytes, mut acc) = (0u64, 0u64, 0u64);
        let started = Instant::now();
        let log = open(dir)?;
        let end = log.next_offset();
        let mut next = 0;
        while next < end {
            let slice = log.read(next, ReadLimit::max_bytes(READ_LIMIT_BYTES))?;
            if slice.len() == 0 {
                return Err(format!("commitlog read nothing at offset {next} of {end}").into());
            }
            for message in slice.iter() {
                let payload = message.payload();
                count += 1;
                bytes += payload.len() as u64;
                acc = acc.wrapping_add(u64::from(payload.first().copied().unwrap_or(0)));
                next = message.offset() + 1;
            }
        }
        let elapsed = started.elapsed();
        black_box(acc);
        check_read(self.name(), count, bytes, n, size)?;
        Ok(elapsed)
    }

    fn open_only(&self, dir: &Path) -> Result<Duration> {
        let started = Instant::now();
        let log = open(dir)?;
        let elapsed = started.elapsed();
        if log.next_offset() == 0 {
            return Err("commitlog opened an empty log".into());
        }
        Ok(elapsed)
    }
}
