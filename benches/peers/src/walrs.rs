//! walrs, through its public API only, with its defaults (64 MiB segments preallocated
//! with `fallocate` and mapped, codec v2 with a chained CRC-32C per record,
//! `ReadVisibility::Synced`).
//!
//! - Bulk: `SyncPolicy::Manual`, `Wal::append` per payload, then one `Wal::sync`.
//! - Durable, one writer: `SyncPolicy::Always` (the appender msyncs the written range
//!   while it holds the tail); [`WALRS_GROUP_COMMIT`] runs the same with
//!   `SyncPolicy::GroupCommit`. Both are really durable: `msync(MS_SYNC)` of the range is
//!   an `fdatasync` of it on Linux. [`WALRS_PIPELINED`] keeps up to
//!   [`PIPELINE_WINDOW`] entries in flight instead (`Wal::submit` of one entry at a time
//!   under `SyncPolicy::GroupCommit`, waiting for the oldest when the window is full; the
//!   log's flusher thread syncs them), so that one sync covers many entries; the time
//!   runs until every entry is durable, and an entry's latency is from its submit to the
//!   moment the writer learns it is durable.
//! - Durable, many threads: `SyncPolicy::GroupCommit`, one `Arc`-free shared `Wal`.
//! - Read everything: [`WALRS`] takes the path a restarting process takes,
//!   `wal_recovery::open` and then `Recovered::replay_with` (zero-copy, every record's
//!   crc checked as it is decoded); [`WALRS_WAL_OPEN`] takes `Wal::open` and
//!   `Wal::visit_from` (every crc checked). The data sets are closed cleanly, so both
//!   opens trust the close record and the sealed segments' indexes instead of scanning
//!   (after a crash, `wal_recovery::open` scans and checks every record).
//! - Open: the same two opens, timed alone.

use std::collections::VecDeque;
use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use wal_recovery::RecoveryOptions;
use wal_store::{SyncPolicy, Wal, WalOptions};

use crate::Result;
use crate::payload::Payloads;
use crate::subject::{Kind, PROGRESS_EVERY, Subject, check_read};
use crate::threads;

/// How walrs reads a log back and opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPath {
    /// `wal_recovery::open` + `Recovered::replay_with`.
    Recovery,
    /// `Wal::open` + `Wal::visit_from`.
    WalOpen,
}

/// Entries [`WALRS_PIPELINED`] keeps in flight.
pub const PIPELINE_WINDOW: usize = 1024;

/// walrs, used one way.
#[derive(Debug, Clone, Copy)]
pub struct Walrs {
    name: &'static str,
    durable_policy: SyncPolicy,
    read_path: ReadPath,
    /// Durable appends through `Wal::submit` with up to this many in flight (0: each
    /// append durable before the next).
    in_flight: usize,
}

/// walrs as the headline figures use it: the default options.
pub static WALRS: Walrs = Walrs {
    name: "walrs",
    durable_policy: SyncPolicy::Always,
    read_path: ReadPath::Recovery,
    in_flight: 0,
};

/// One durable writer with group commit instead of `SyncPolicy::Always`.
pub static WALRS_GROUP_COMMIT: Walrs = Walrs {
    name: "walrs-group-commit",
    durable_policy: SyncPolicy::GroupCommit,
    read_path: ReadPath::Recovery,
    in_flight: 0,
};

/// One durable writer keeping [`PIPELINE_WINDOW`] entries in flight through `Wal::submit`.
pub static WALRS_PIPELINED: Walrs = Walrs {
    name: "walrs-pipelined",
    durable_policy: SyncPolicy::GroupCommit,
    read_path: ReadPath::Recovery,
    in_flight: PIPELINE_WINDOW,
};

/// Reading and opening through `Wal::open` (clean logs only) instead of recovery.
pub static WALRS_WAL_OPEN: Walrs = Walrs {
    name: "walrs-wal-open",
    durable_policy: SyncPolicy::Always,
    read_path: ReadPath::WalOpen,
    in_flight: 0,
};

impl Walrs {
    fn options(&self, sync_policy: SyncPolicy) -> WalOptions {
        WalOptions::default().with_sync_policy(sync_policy)
    }
}

impl Walrs {
    /// `n` entries through `Wal::submit`, up to `self.in_flight` at a time; timed until
    /// the last is durable.
    fn durable_pipelined(
        &self,
        wal: Wal,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let mut window: VecDeque<(Instant, wal_store::Pending)> =
            VecDeque::with_capacity(self.in_flight);
        let mut acknowledge = |(submitted, pending): (Instant, wal_store::Pending)| {
            pending.wait().map(|_| {
                latencies.push(submitted.elapsed().as_nanos() as u64);
            })
        };
        let started = Instant::now();
        for i in 0..n {
            if window.len() == self.in_flight
                && let Some(oldest) = window.pop_front()
            {
                acknowledge(oldest)?;
            }
            window.push_back((Instant::now(), wal.submit(&[payloads.get(i)])?));
        }
        for oldest in window {
            acknowledge(oldest)?;
        }
        let elapsed = started.elapsed();
        wal.close()?;
        Ok(elapsed)
    }
}

impl Subject for Walrs {
    fn name(&self) -> &'static str {
        self.name
    }

    fn kind(&self) -> Kind {
        Kind::Walrs
    }

    fn bulk(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Duration> {
        let wal = Wal::open(dir, self.options(SyncPolicy::Manual))?;
        let started = Instant::now();
        for i in 0..n {
            wal.append(payloads.get(i))?;
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1);
            }
        }
        wal.sync()?;
        let elapsed = started.elapsed();
        wal.close()?;
        Ok(elapsed)
    }

    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let wal = Wal::open(dir, self.options(self.durable_policy))?;
        if self.in_flight > 0 {
            return self.durable_pipelined(wal, payloads, n, latencies);
        }
        let started = Instant::now();
        for i in 0..n {
            let op = Instant::now();
            wal.append(payloads.get(i))?;
            latencies.push(op.elapsed().as_nanos() as u64);
        }
        let elapsed = started.elapsed();
        wal.close()?;
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
        let wal = Wal::open(dir, self.options(SyncPolicy::GroupCommit))?;
        let elapsed = threads::run(threads, per_thread, latencies, |t, i| {
            wal.append(payloads.get(t as u64 * per_thread + i))?;
            Ok(())
        })?;
        wal.close()?;
        Ok(elapsed)
    }

    fn dataset_key(&self) -> &'static str {
        "walrs"
    }

    fn read_all(&self, dir: &Path, n: u64, size: usize) -> Result<Duration> {
        let (mut count, mut bytes, mut acc) = (0u64, 0u64, 0u64);
        let mut visit = |e: wal_store::EntryRef<'_>| {
            count += 1;
            bytes += e.payload.len() as u64;
            acc = acc.wrapping_add(u64::from(e.payload.first().copied().unwrap_or(0)));
            ControlFlow::Continue(())
        };
        let started = Instant::now();
        let wal = match self.read_path {
            ReadPath::Recovery => {
                let recovered = wal_recovery::open(
                    dir,
                    RecoveryOptions::default().with_wal(self.options(SyncPolicy::Manual)),
                )?;
                if !recovered.report.is_clean() {
                    return Err(format!("recovery found problems: {:?}", recovered.report).into());
                }
                recovered.replay_with(&mut visit)?;
                recovered.log.into_store()
            }
            ReadPath::WalOpen => {
                let wal = Wal::open(dir, self.options(SyncPolicy::Manual))?;
                wal.visit_from(wal.first_offset(), &mut visit)?;
                wal
            }
        };
        let elapsed = started.elapsed();
        black_box(acc);
        wal.close()?;
        check_read(self.name, count, bytes, n, size)?;
        Ok(elapsed)
    }

    fn open_only(&self, dir: &Path) -> Result<Duration> {
        let started = Instant::now();
        let wal = match self.read_path {
            ReadPath::Recovery => {
                wal_recovery::open(
                    dir,
                    RecoveryOptions::default().with_wal(self.options(SyncPolicy::Manual)),
                )?
                .log
                .into_store()
            }
            ReadPath::WalOpen => Wal::open(dir, self.options(SyncPolicy::Manual))?,
        };
        let elapsed = started.elapsed();
        wal.close()?;
        Ok(elapsed)
    }
}
