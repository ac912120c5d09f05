//! What every implementation under test provides, and the list of them.

use std::path::Path;
use std::time::Duration;

use crate::payload::Payloads;
use crate::{Result, baseline, commitlog_peer, okaywal_peer, raft_engine_peer, walrs};

/// What an implementation is, for the tables: walrs itself, another WAL, or a raw file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// walrs (possibly one of several ways of using it).
    Walrs,
    /// Another Rust write-ahead log.
    Peer,
    /// A plain file or mapping with no log around it: the floor.
    Baseline,
}

impl Kind {
    /// Its name in the JSON files.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Walrs => "walrs",
            Kind::Peer => "peer",
            Kind::Baseline => "baseline",
        }
    }
}

/// How often (in appends) bulk writers report their progress.
pub const PROGRESS_EVERY: u64 = 4096;

fn unsupported<T>(name: &str, what: &str) -> Result<T> {
    Err(format!("{name} does not run the {what} workload").into())
}

/// One implementation under test. Every method starts from a directory it owns (empty,
/// or holding what [`Subject::write_dataset`] left) and returns the time of the part the
/// workload measures; opening a new log before a write workload and closing it after are
/// not timed.
pub trait Subject: Sync {
    /// Its name in benchmark ids, tables and the plot.
    fn name(&self) -> &'static str;

    /// What it is.
    fn kind(&self) -> Kind;

    /// Appends payloads `0..n` to a new log in the empty directory `dir`, then makes them
    /// durable with one sync. Timed from the first append to the return of the sync.
    /// `progress` is called with the number appended so far every [`PROGRESS_EVERY`].
    fn bulk(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Duration>;

    /// Appends payloads `0..n` one at a time, each durable before the next starts; pushes
    /// each append's latency (ns) to `latencies`.
    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let _ = (dir, payloads, n, latencies);
        unsupported(self.name(), "durable")
    }

    /// `threads` writers append `per_thread` payloads each to one log, every append
    /// durable before it returns. Timed from their common start to the last one's end.
    fn durable_threads(
        &self,
        dir: &Path,
        payloads: &Payloads,
        threads: usize,
        per_thread: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let _ = (dir, payloads, threads, per_thread, latencies);
        unsupported(self.name(), "durable from many threads")
    }

    /// Data sets are shared between subjects that read the same files.
    fn dataset_key(&self) -> &'static str {
        self.name()
    }

    /// Writes payloads `0..n` into the empty directory `dir` and closes the log cleanly.
    fn write_dataset(&self, dir: &Path, payloads: &Payloads, n: u64) -> Result<()> {
        self.bulk(dir, payloads, n, &mut |_| {}).map(|_| ())
    }

    /// Opens the data set in `dir` (written by [`Subject::write_dataset`] with `n`
    /// payloads of `size` bytes) and reads every entry back through the implementation's
    /// own read path, checking every checksum. Fails if any entry is missing or bad.
    fn read_all(&self, dir: &Path, n: u64, size: usize) -> Result<Duration> {
        let _ = (dir, n, size);
        unsupported(self.name(), "read everything")
    }

    /// Opens the cleanly closed data set in `dir`, ready to append; only the open is
    /// timed.
    fn open_only(&self, dir: &Path) -> Result<Duration> {
        let _ = dir;
        unsupported(self.name(), "open")
    }
}

/// Every subject, by name (the child processes of the memory workload look them up).
pub fn all() -> Vec<&'static dyn Subject> {
    vec![
        &walrs::WALRS,
        &walrs::WALRS_GROUP_COMMIT,
        &walrs::WALRS_PIPELINED,
        &walrs::WALRS_WAL_OPEN,
        &okaywal_peer::Okaywal,
        &commitlog_peer::Commitlog,
        &raft_engine_peer::RaftEngine,
        &baseline::PlainFile,
        &baseline::PwritePrezeroed,
        &baseline::MmapPrealloc,
        &baseline::MmapPopulated,
    ]
}

/// The subject called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Subject> {
    all().into_iter().find(|s| s.name() == name)
}

/// Checks a read-back: `count` entries of `bytes` in total, as written.
pub fn check_read(name: &str, count: u64, bytes: u64, n: u64, size: usize) -> Result<()> {
    if count != n || bytes != n * size as u64 {
        return Err(format!(
            "{name} read back {count} entries ({bytes} bytes), expected {n} of {size} bytes"
        )
        .into());
    }
    Ok(())
}
