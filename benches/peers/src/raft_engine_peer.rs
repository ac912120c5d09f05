//! raft-engine 0.4.2 (TiKV's log engine).
//!
//! `Engine::write(batch, sync = true)` is really durable: the write group's leader
//! appends every member's batch and calls `fdatasync` on the log file
//! (`LogFileWriter::sync` -> `LogFd::sync`, `nix::unistd::fdatasync`). But
//! `Engine::sync()` is not: it writes an *empty* batch, and `write` returns early on an
//! empty batch, before any sync (`engine.rs`). So the bulk workloads never call
//! `Engine::sync`: their last append is written with `sync = true`, which makes it and
//! everything before it durable.
//!
//! Each payload is one raft entry: a protobuf message (here `UninterpretedOption`, a
//! message of the `protobuf` crate raft-engine itself depends on, with the entry index
//! in `positive_int_value` and the payload in `string_value`: 2 + 10 bytes of framing at
//! most), one entry per `LogBatch`, in region 1 (region `1 + t` for writer thread `t`,
//! as TiKV gives each raft group its own region). Compression off
//! (`batch_compression_threshold = 0`; payloads are random anyway), other settings at
//! their defaults: 128 MiB files, format v2, 4 recovery threads, log recycling on.
//!
//! Reading: `Engine::open` replays every file (checking each batch's checksum) to rebuild
//! its in-memory index, then `fetch_entries_to` reads entries back (checking each batch's
//! checksum again) and decodes each message.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use protobuf::descriptor::UninterpretedOption;
use raft_engine::{Config, Engine, LogBatch, MessageExt, ReadableSize};

use crate::payload::Payloads;
use crate::subject::{Kind, PROGRESS_EVERY, Subject, check_read};
use crate::{Result, threads};

/// raft-engine 0.4.2.
#[derive(Debug, Clone, Copy)]
pub struct RaftEngine;

/// The message type raft-engine stores for us.
#[derive(Debug, Clone, Copy)]
pub struct Entries;

impl MessageExt for Entries {
    type Entry = UninterpretedOption;

    fn index(e: &UninterpretedOption) -> u64 {
        e.get_positive_int_value()
    }
}

/// Region of the single-writer workloads.
const REGION: u64 = 1;
/// Entries fetched per `fetch_entries_to` call when reading back.
const FETCH_ENTRIES: u64 = 8192;

fn config(dir: &Path) -> Result<Config> {
    let dir = dir.to_str().ok_or("bench directory is not UTF-8")?;
    Ok(Config {
        dir: dir.to_owned(),
        batch_compression_threshold: ReadableSize(0),
        ..Config::default()
    })
}

fn entry(index: u64, payload: &[u8]) -> UninterpretedOption {
    let mut e = UninterpretedOption::new();
    e.set_positive_int_value(index);
    e.set_string_value(payload.to_vec());
    e
}

/// Appends one entry as one batch.
fn append(
    engine: &Engine,
    batch: &mut LogBatch,
    region: u64,
    index: u64,
    payload: &[u8],
    sync: bool,
) -> Result<()> {
    batch.add_entries::<Entries>(region, &[entry(index, payload)])?;
    engine.write(batch, sync)?;
    Ok(())
}

impl Subject for RaftEngine {
    fn name(&self) -> &'static str {
        "raft-engine"
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
        let engine = Engine::open(config(dir)?)?;
        let mut batch = LogBatch::default();
        let started = Instant::now();
        for i in 0..n {
            // The last append syncs (`Engine::sync` would not: see the module docs).
            append(&engine, &mut batch, REGION, i + 1, payloads.get(i), i + 1 == n)?;
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1);
            }
        }
        Ok(started.elapsed())
    }

    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let engine = Engine::open(config(dir)?)?;
        let mut batch = LogBatch::default();
        let started = Instant::now();
        for i in 0..n {
            let op = Instant::now();
            append(&engine, &mut batch, REGION, i + 1, payloads.get(i), true)?;
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
        let engine = Engine::open(config(dir)?)?;
        threads::run(threads, per_thread, latencies, |t, i| {
            // A batch is cheap to create; each thread appends to its own region.
            let mut batch = LogBatch::default();
            let payload = payloads.get(t as u64 * per_thread + i);
            append(&engine, &mut batch, REGION + t as u64, i + 1, payload, true)
        })
    }

    fn read_all(&self, dir: &Path, n: u64, size: usize) -> Result<Duration> {
        let (mut count, mut bytes, mut acc) = (0u64, 0u64, 0u64);
        let mut entries = Vec::with_capacity(FETCH_ENTRIES as usize);
        let started = Instant::now();
        let engine = Engine::open(config(dir)?)?;
        let (first, last) = match (engine.first_index(REGION), engine.last_index(REGION)) {
            (Some(first), Some(last)) => (first, last),
            _ => return Err("raft-engine recovered no entry".into()),
        };
        let mut next = first;
        while next <= last {
            let end = (next + FETCH_ENTRIES).min(last + 1);
            engine.fetch_entries_to::<Entries>(REGION, next, end, None, &mut entries)?;
            for e in entries.drain(..) {
                let payload = e.get_string_value();
                count += 1;
                bytes += payload.len() as u64;
                acc = acc.wrapping_add(u64::from(payload.first().copied().unwrap_or(0)));
            }
            next = end;
        }
        let elapsed = started.elapsed();
        black_box(acc);
        check_read(self.name(), count, bytes, n, size)?;
        Ok(elapsed)
    }

    fn open_only(&self, dir: &Path) -> Result<Duration> {
        let started = Instant::now();
        let engine = Engine::open(config(dir)?)?;
        let elapsed = started.elapsed();
        if engine.last_index(REGION).is_none() {
            return Err("raft-engine opened an empty log".into());
        }
        Ok(elapsed)
    }
}
