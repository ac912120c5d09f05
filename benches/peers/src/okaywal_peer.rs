//! okaywal 0.3.1.
//!
//! Its unit of durability is the entry: `EntryWriter::commit` flushes its 16 KiB write
//! buffer and calls `sync_data` (`fdatasync`) on the segment file (`LogFile::synchronize`
//! in `log_file.rs`), with its own group commit: while one thread syncs, others append and
//! queue behind it. A new segment file is also fsynced into its directory. So a commit is
//! really durable and nothing is added here. There is no unsynced append: bulk workloads
//! write one entry holding one chunk per payload (`write_chunk`, each chunk with its own
//! CRC-32C) and commit it once at the end, which is that workload's "one sync".
//!
//! Segments are zero-filled at creation (1 MiB by default) and recycled after a
//! checkpoint. Write workloads use the crate's default configuration with a
//! `LogManager` that checkpoints nothing. Data sets that are read back are written with
//! `checkpoint_after_bytes(u64::MAX)`, otherwise okaywal would hand them to the
//! checkpointer and truncate them.
//!
//! Reading: okaywal has no reader over committed entries except recovery, which hands
//! every entry of every segment to `LogManager::recover` when the log is opened. So
//! "open" and "read everything" are the same operation for it: the manager here reads
//! every chunk into a buffer and calls `check_crc`. It must read each chunk to its end:
//! when a manager leaves a chunk unread, `EntryChunk::skip_remaining_bytes` skips the
//! chunk's crc and its `Drop` skips 4 more bytes, so recovery mis-parses the log (the
//! trap recorded in docs/anchors); a fast open that does not read is therefore not
//! available.

use std::hint::black_box;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use okaywal::{
    Configuration, Entry, EntryId, LogManager, LogVoid, ReadChunkResult, SegmentReader,
    WriteAheadLog,
};

use crate::Result;
use crate::payload::Payloads;
use crate::subject::{Kind, PROGRESS_EVERY, Subject, check_read};
use crate::threads;

/// okaywal 0.3.1.
#[derive(Debug, Clone, Copy)]
pub struct Okaywal;

/// What a read-back found.
#[derive(Debug, Default)]
struct ReadCounts {
    chunks: AtomicU64,
    bytes: AtomicU64,
    bad_crcs: AtomicU64,
    aborted: AtomicU64,
    acc: AtomicU64,
}

/// A manager that reads every chunk of every recovered entry and checks its crc.
#[derive(Debug)]
struct ReadEverything {
    counts: Arc<ReadCounts>,
    buf: Vec<u8>,
}

impl LogManager for ReadEverything {
    fn recover(&mut self, entry: &mut Entry<'_>) -> io::Result<()> {
        let (mut chunks, mut bytes, mut bad, mut acc) = (0u64, 0u64, 0u64, 0u64);
        loop {
            match entry.read_chunk()? {
                ReadChunkResult::Chunk(mut chunk) => {
                    let len = chunk.bytes_remaining() as usize;
                    if self.buf.len() < len {
                        self.buf.resize(len, 0);
                    }
                    chunk.read_exact(&mut self.buf[..len])?;
                    if !chunk.check_crc()? {
                        bad += 1;
                    }
                    chunks += 1;
                    bytes += len as u64;
                    acc = acc.wrapping_add(u64::from(self.buf.first().copied().unwrap_or(0)));
                }
                ReadChunkResult::EndOfEntry => break,
                ReadChunkResult::AbortedEntry => {
                    self.counts.aborted.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
        let c = &self.counts;
        c.chunks.fetch_add(chunks, Ordering::Relaxed);
        c.bytes.fetch_add(bytes, Ordering::Relaxed);
        c.bad_crcs.fetch_add(bad, Ordering::Relaxed);
        c.acc.fetch_add(acc, Ordering::Relaxed);
        Ok(())
    }

    fn checkpoint_to(
        &mut self,
        _last_checkpointed_id: EntryId,
        _checkpointed_entries: &mut SegmentReader,
        _wal: &WriteAheadLog,
    ) -> io::Result<()> {
        // Refusing keeps the data set: okaywal truncates a segment once it is checkpointed.
        Err(io::Error::other("the benchmark keeps its data set: no checkpoints"))
    }
}

fn open_reading(dir: &Path) -> io::Result<(WriteAheadLog, Arc<ReadCounts>)> {
    let counts = Arc::new(ReadCounts::default());
    let manager = ReadEverything {
        counts: Arc::clone(&counts),
        buf: Vec::new(),
    };
    let wal = Configuration::default_for(dir)
        .checkpoint_after_bytes(u64::MAX)
        .open(manager)?;
    Ok((wal, counts))
}

fn bulk_with(
    config: Configuration,
    payloads: &Payloads,
    n: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Duration> {
    let wal = config.open(LogVoid)?;
    let started = Instant::now();
    let mut entry = wal.begin_entry()?;
    for i in 0..n {
        entry.write_chunk(payloads.get(i))?;
        if (i + 1) % PROGRESS_EVERY == 0 {
            progress(i + 1);
        }
    }
    entry.commit()?;
    let elapsed = started.elapsed();
    wal.shutdown()?;
    Ok(elapsed)
}

impl Subject for Okaywal {
    fn name(&self) -> &'static str {
        "okaywal"
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
        bulk_with(Configuration::default_for(dir), payloads, n, progress)
    }

    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let wal = WriteAheadLog::recover(dir, LogVoid)?;
        let started = Instant::now();
        for i in 0..n {
            let op = Instant::now();
            let mut entry = wal.begin_entry()?;
            entry.write_chunk(payloads.get(i))?;
            entry.commit()?;
            latencies.push(op.elapsed().as_nanos() as u64);
        }
        let elapsed = started.elapsed();
        wal.shutdown()?;
        Ok(elapsed)
    }

    fn durable_threads(
        &self,
        dir: &Path,
        payloads: &Payloads,
        threads: usize,
        per_thread: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let wal = WriteAheadLog::recover(dir, LogVoid)?;
        let elapsed = threads::run(threads, per_thread, latencies, |t, i| {
            let mut entry = wal.begin_entry()?;
            entry.write_chunk(payloads.get(t as u64 * per_thread + i))?;
            entry.commit()?;
            Ok(())
        })?;
        wal.shutdown()?;
        Ok(elapsed)
    }

    fn write_dataset(&self, dir: &Path, payloads: &Payloads, n: u64) -> Result<()> {
        let config = Configuration::default_for(dir).checkpoint_after_bytes(u64::MAX);
        bulk_with(config, payloads, n, &mut |_| {}).map(|_| ())
    }

    fn read_all(&self, dir: &Path, n: u64, size: usize) -> Result<Duration> {
        let started = Instant::now();
        let (wal, counts) = open_reading(dir)?;
        let elapsed = started.elapsed();
        black_box(counts.acc.load(Ordering::Relaxed));
        wal.shutdown()?;
        let bad = counts.bad_crcs.load(Ordering::Relaxed);
        let aborted = counts.aborted.load(Ordering::Relaxed);
        if bad != 0 || aborted != 0 {
            return Err(format!("okaywal: {bad} bad crcs, {aborted} aborted entries").into());
        }
        check_read(
            self.name(),
            counts.chunks.load(Ordering::Relaxed),
            counts.bytes.load(Ordering::Relaxed),
            n,
            size,
        )?;
        Ok(elapsed)
    }

    fn open_only(&self, dir: &Path) -> Result<Duration> {
        let started = Instant::now();
        let (wal, counts) = open_reading(dir)?;
        let elapsed = started.elapsed();
        wal.shutdown()?;
        if counts.chunks.load(Ordering::Relaxed) == 0 {
            return Err("okaywal opened an empty log".into());
        }
        Ok(elapsed)
    }
}
