//! walrs side by side with okaywal, commitlog, raft-engine and raw-file baselines.
//!
//! | workload | what one iteration does | counted in |
//! |---|---|---|
//! | A | 1,000,000 appends of 100 B to a new log, one sync at the end | entries/s |
//! | B | 200,000 appends of 1 KiB, one sync at the end | entries/s |
//! | C | 2,000 appends of 100 B, each durable before the next, one writer; p50/p99/max per append | entries/s + latency JSON |
//! | D | 16 threads x 250 durable appends of 100 B to one log (group commit where the log has it) | entries/s + latency JSON |
//! | E | open the cleanly closed log of 1,000,000 x 100 B (warm page cache) and read every entry back, every checksum checked | entries/s |
//! | F | open a cleanly closed log of 128 MiB and of 1 GiB (1 KiB entries, warm), ready to append | time per open |
//! | G | write 4 GiB (1 KiB entries, one sync at the end) in a child process; VmRSS (RssAnon, RssFile) every 256 MiB and VmHWM at the end | MiB (JSON) |
//!
//! Extra walrs rows: `walrs-group-commit` (C: one writer with `SyncPolicy::GroupCommit`),
//! `walrs-pipelined` (C: one writer keeping 1,024 entries in flight through `Wal::submit`,
//! every entry durable at the end; no peer offers that) and `walrs-wal-open` (E, F:
//! `Wal::open` instead of `wal_recovery::open`).
//!
//! What each implementation does to be durable, and how it reads, is in its module of
//! `src/` and in docs/BENCHMARKS.md. Every write iteration starts from a new, empty
//! directory; opening the log before and closing it after are not timed. Data sets for E
//! and F are written once per implementation, closed, and read once before timing.
//!
//! Run everything with `scripts/peer-bench.sh` from the repository root (6-8 minutes on
//! the 2-vCPU development machine, once built), or `cargo bench --manifest-path benches/peers/Cargo.toml`. Environment:
//! `WAL_PEERS_ONLY=A,C,G` runs some workloads only; `WAL_PEERS_SCALE=100` divides every
//! size by 100 (a smoke run; its figures mean nothing); `WAL_PEERS_DATA_DIR` sets where
//! the logs are written (default `benches/peers/target/bench-data`, on the file system
//! being measured).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};

use wal_peers::payload::Payloads;
use wal_peers::results::{self, quote};
use wal_peers::stats::Latency;
use wal_peers::subject::{self, Subject};
use wal_peers::{baseline, commitlog_peer, fsutil, okaywal_peer, raft_engine_peer, rss, walrs};

/// Set in the child processes of workload G: the subject to run.
const ENV_RSS_CHILD: &str = "WAL_PEERS_RSS_CHILD";
/// Set in the child processes of workload G: their directory.
const ENV_RSS_DIR: &str = "WAL_PEERS_RSS_DIR";
/// Comma-separated workload letters to run (all when unset).
const ENV_ONLY: &str = "WAL_PEERS_ONLY";
/// Divides every size (smoke runs).
const ENV_SCALE: &str = "WAL_PEERS_SCALE";
/// Where logs are written.
const ENV_DATA_DIR: &str = "WAL_PEERS_DATA_DIR";
/// Prefix of the line a workload-G child prints its result on.
const RSS_LINE_PREFIX: &str = "WAL_PEERS_RSS ";

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Sizes of the workloads, divided by `WAL_PEERS_SCALE`.
#[derive(Debug, Clone, Copy)]
struct Plan {
    scale: u64,
}

impl Plan {
    fn from_env() -> Plan {
        let scale = std::env::var(ENV_SCALE)
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&s: &u64| s >= 1)
            .unwrap_or(1);
        Plan { scale }
    }

    fn scaled(&self, n: u64) -> u64 {
        (n / self.scale).max(1)
    }

    fn a_entries(&self) -> u64 {
        self.scaled(1_000_000)
    }
    fn b_entries(&self) -> u64 {
        self.scaled(200_000)
    }
    fn c_entries(&self) -> u64 {
        self.scaled(2_000)
    }
    fn d_threads(&self) -> usize {
        16
    }
    fn d_per_thread(&self) -> u64 {
        self.scaled(250)
    }
    fn e_entries(&self) -> u64 {
        self.scaled(1_000_000)
    }
    fn f_sizes(&self) -> [(&'static str, u64); 2] {
        [
            ("F_open_128MiB", self.scaled(128 * MIB)),
            ("F_open_1GiB", self.scaled(GIB)),
        ]
    }
    fn g_bytes(&self) -> u64 {
        self.scaled(4 * GIB)
    }
}

fn data_root() -> PathBuf {
    match std::env::var_os(ENV_DATA_DIR) {
        Some(dir) => PathBuf::from(dir),
        None => results::target_dir().join("bench-data"),
    }
}

fn selected(letter: char) -> bool {
    match std::env::var(ENV_ONLY) {
        Ok(only) if !only.trim().is_empty() => only
            .split(',')
            .any(|w| w.trim().eq_ignore_ascii_case(&letter.to_string())),
        _ => true,
    }
}

/// Lets the machine settle before a workload is measured: every dirty page written back
/// (`sync`), then a pause. Without it the kernel's writeback of what the previous workload
/// (or the data sets just written) left dirty runs during the next measurement and takes
/// a vCPU from whoever runs first; on 2 vCPUs that hits hardest an implementation that
/// uses both (walrs's check-ahead thread in E).
fn settle() {
    rustix::fs::sync();
    std::thread::sleep(SETTLE_PAUSE);
}

/// The pause after `sync` in [`settle`].
const SETTLE_PAUSE: Duration = Duration::from_secs(2);

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// New empty directories under one root, removed with it.
struct Scratch {
    root: PathBuf,
    made: u64,
}

impl Scratch {
    fn new(group: &str) -> Scratch {
        let root = data_root().join(group);
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).expect("create the benchmark's data directory");
        Scratch { root, made: 0 }
    }

    fn fresh(&mut self) -> PathBuf {
        self.made += 1;
        let dir = self.root.join(format!("run-{}", self.made));
        fs::create_dir_all(&dir).expect("create a run directory");
        dir
    }

    fn remove(dir: &Path) {
        fs::remove_dir_all(dir).expect("remove a run directory");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn group<'a>(c: &'a mut Criterion, name: &str, elements: Option<u64>) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    // One iteration of every workload takes a while: criterion then runs one per sample.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    if let Some(n) = elements {
        g.throughput(Throughput::Elements(n));
    }
    g
}

/// The run's facts the plot script prints next to the figures.
#[derive(Default)]
struct RunLog {
    entries: Vec<String>,
}

impl RunLog {
    fn workload(&mut self, name: &str, detail: &str, load_before: &str) {
        self.entries.push(format!(
            "{{\"workload\": {}, \"detail\": {}, \"loadavg_before\": {}, \"loadavg_after\": {}}}",
            quote(name),
            quote(detail),
            quote(load_before),
            quote(&loadavg())
        ));
    }

    fn write(&self, plan: &Plan) {
        let json = format!(
            "{{\"scale\": {}, \"data_dir\": {}, \"workloads\": [\n  {}\n]}}\n",
            plan.scale,
            quote(&data_root().display().to_string()),
            self.entries.join(",\n  ")
        );
        results::write("run.json", &json).expect("write run.json");
    }
}

const WRITERS: [&dyn Subject; 7] = [
    &walrs::WALRS,
    &okaywal_peer::Okaywal,
    &commitlog_peer::Commitlog,
    &raft_engine_peer::RaftEngine,
    &baseline::PlainFile,
    &baseline::PwritePrezeroed,
    &baseline::MmapPrealloc,
];

/// A and B: bulk appends, one sync at the end.
fn bulk(c: &mut Criterion, runs: &mut RunLog, name: &str, n: u64, size: usize) {
    settle();
    let load = loadavg();
    let payloads = Payloads::new(size);
    let mut scratch = Scratch::new(name);
    let mut g = group(c, name, Some(n));
    for s in WRITERS {
        g.bench_function(s.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = scratch.fresh();
                    total += s
                        .bulk(&dir, &payloads, n, &mut |_| {})
                        .unwrap_or_else(|e| panic!("{} {name}: {e}", s.name()));
                    Scratch::remove(&dir);
                }
                total
            })
        });
    }
    g.finish();
    runs.workload(name, &format!("{n} appends of {size} B, one sync at the end"), &load);
}

fn write_latency(group: &str, s: &dyn Subject, threads: usize, samples: &mut [u64]) {
    let Some(latency) = Latency::from_samples(samples) else {
        return;
    };
    println!(
        "{group}/{}: {} appends, p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
        s.name(),
        latency.count,
        latency.p50_us,
        latency.p99_us,
        latency.p999_us,
        latency.max_us
    );
    let json = format!(
        "{{\"workload\": {}, \"subject\": {}, \"kind\": {}, \"threads\": {threads}, \"latency\": {}}}\n",
        quote(group),
        quote(s.name()),
        quote(s.kind().name()),
        latency.to_json()
    );
    results::write(&format!("latency/{group}/{}.json", s.name()), &json)
        .expect("write latency JSON");
}

/// C: one durable writer.
fn durable_one(c: &mut Criterion, runs: &mut RunLog, plan: &Plan) {
    const NAME: &str = "C_durable_1_writer";
    settle();
    let load = loadavg();
    let n = plan.c_entries();
    let payloads = Payloads::new(100);
    let mut scratch = Scratch::new(NAME);
    let subjects: [&dyn Subject; 9] = [
        &walrs::WALRS,
        &walrs::WALRS_GROUP_COMMIT,
        &walrs::WALRS_PIPELINED,
        &okaywal_peer::Okaywal,
        &commitlog_peer::Commitlog,
        &raft_engine_peer::RaftEngine,
        &baseline::PlainFile,
        &baseline::PwritePrezeroed,
        &baseline::MmapPrealloc,
    ];
    let mut g = group(c, NAME, Some(n));
    for s in subjects {
        let mut latencies = Vec::new();
        g.bench_function(s.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = scratch.fresh();
                    total += s
                        .durable(&dir, &payloads, n, &mut latencies)
                        .unwrap_or_else(|e| panic!("{} {NAME}: {e}", s.name()));
                    Scratch::remove(&dir);
                }
                total
            })
        });
        write_latency(NAME, s, 1, &mut latencies);
    }
    g.finish();
    runs.workload(NAME, &format!("{n} durable appends of 100 B per iteration, one writer"), &load);
}

/// D: durable appends from many threads.
fn durable_threads(c: &mut Criterion, runs: &mut RunLog, plan: &Plan) {
    const NAME: &str = "D_durable_16_threads";
    settle();
    let load = loadavg();
    let (threads, per_thread) = (plan.d_threads(), plan.d_per_thread());
    let payloads = Payloads::new(100);
    let mut scratch = Scratch::new(NAME);
    let subjects: [&dyn Subject; 7] = [
        &walrs::WALRS,
        &okaywal_peer::Okaywal,
        &commitlog_peer::Commitlog,
        &raft_engine_peer::RaftEngine,
        &baseline::PlainFile,
        &baseline::PwritePrezeroed,
        &baseline::MmapPrealloc,
    ];
    let mut g = group(c, NAME, Some(threads as u64 * per_thread));
    for s in subjects {
        let mut latencies = Vec::new();
        g.bench_function(s.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = scratch.fresh();
                    total += s
                        .durable_threads(&dir, &payloads, threads, per_thread, &mut latencies)
                        .unwrap_or_else(|e| panic!("{} {NAME}: {e}", s.name()));
                    Scratch::remove(&dir);
                }
                total
            })
        });
        write_latency(NAME, s, threads, &mut latencies);
    }
    g.finish();
    runs.workload(
        NAME,
        &format!("{threads} threads x {per_thread} durable appends of 100 B per iteration"),
        &load,
    );
}

/// Writes each subject's data set once (shared by subjects reading the same files),
/// closes it and reads it once into the page cache. Records its size on disk.
fn datasets(
    scratch: &Scratch,
    group: &str,
    subjects: &[&dyn Subject],
    payloads: &Payloads,
    n: u64,
) -> BTreeMap<&'static str, PathBuf> {
    let mut made = BTreeMap::new();
    let mut sizes = Vec::new();
    for s in subjects {
        let key = s.dataset_key();
        if made.contains_key(key) {
            continue;
        }
        let dir = scratch.root.join(format!("dataset-{key}"));
        fs::create_dir_all(&dir).expect("create a data set directory");
        s.write_dataset(&dir, payloads, n)
            .unwrap_or_else(|e| panic!("{} data set for {group}: {e}", s.name()));
        fsutil::warm(&dir).expect("read a data set into the page cache");
        let bytes = fsutil::dir_bytes(&dir).expect("size of a data set");
        println!("{group}: data set of {key}: {n} entries, {:.1} MiB on disk", bytes as f64 / MIB as f64);
        sizes.push(format!("{}: {bytes}", quote(key)));
        made.insert(key, dir);
    }
    let json = format!(
        "{{\"workload\": {}, \"entries\": {n}, \"entry_bytes\": {}, \"bytes_on_disk\": {{{}}}}}\n",
        quote(group),
        payloads.size(),
        sizes.join(", ")
    );
    results::write(&format!("datasets/{group}.json"), &json).expect("write data set JSON");
    settle();
    made
}

/// E: reopen and read everything back.
fn read_back(c: &mut Criterion, runs: &mut RunLog, plan: &Plan) {
    const NAME: &str = "E_reopen_read_all";
    settle();
    let load = loadavg();
    let (n, size) = (plan.e_entries(), 100usize);
    let payloads = Payloads::new(size);
    let scratch = Scratch::new(NAME);
    let subjects: [&dyn Subject; 7] = [
        &walrs::WALRS,
        &walrs::WALRS_WAL_OPEN,
        &okaywal_peer::Okaywal,
        &commitlog_peer::Commitlog,
        &raft_engine_peer::RaftEngine,
        &baseline::PlainFile,
        &baseline::MmapPrealloc,
    ];
    let dirs = datasets(&scratch, NAME, &subjects, &payloads, n);
    let mut g = group(c, NAME, Some(n));
    for s in subjects {
        let dir = &dirs[s.dataset_key()];
        g.bench_function(s.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += s
                        .read_all(dir, n, size)
                        .unwrap_or_else(|e| panic!("{} {NAME}: {e}", s.name()));
                }
                total
            })
        });
    }
    g.finish();
    runs.workload(NAME, &format!("open + read {n} entries of {size} B, warm page cache"), &load);
}

/// F: open time of a cleanly closed log, at two sizes.
fn open_time(c: &mut Criterion, runs: &mut RunLog, plan: &Plan) {
    let size = KIB as usize;
    let payloads = Payloads::new(size);
    let subjects: [&dyn Subject; 5] = [
        &walrs::WALRS,
        &walrs::WALRS_WAL_OPEN,
        &okaywal_peer::Okaywal,
        &commitlog_peer::Commitlog,
        &raft_engine_peer::RaftEngine,
    ];
    for (name, bytes) in plan.f_sizes() {
        settle();
    let load = loadavg();
        let n = (bytes / KIB).max(1);
        let scratch = Scratch::new(name);
        let dirs = datasets(&scratch, name, &subjects, &payloads, n);
        let mut g = group(c, name, None);
        for s in subjects {
            let dir = &dirs[s.dataset_key()];
            g.bench_function(s.name(), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += s
                            .open_only(dir)
                            .unwrap_or_else(|e| panic!("{} {name}: {e}", s.name()));
                    }
                    total
                })
            });
        }
        g.finish();
        runs.workload(name, &format!("open a cleanly closed log of {n} entries of {size} B, warm"), &load);
    }
}

/// G: peak resident memory while writing, each writer in a child process.
fn memory(runs: &mut RunLog, plan: &Plan) {
    const NAME: &str = "G_rss_write_4GiB";
    settle();
    let load = loadavg();
    let subjects: [&dyn Subject; 6] = [
        &walrs::WALRS,
        &okaywal_peer::Okaywal,
        &commitlog_peer::Commitlog,
        &raft_engine_peer::RaftEngine,
        &baseline::PlainFile,
        &baseline::MmapPrealloc,
    ];
    let exe = std::env::current_exe().expect("path of the benchmark binary");
    let mut lines = Vec::new();
    for s in subjects {
        let dir = data_root().join(NAME).join(s.name());
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a G directory");
        println!("{NAME}/{}: writing {} MiB in a child process", s.name(), plan.g_bytes() / MIB);
        let output = Command::new(&exe)
            .env(ENV_RSS_CHILD, s.name())
            .env(ENV_RSS_DIR, &dir)
            .env(ENV_SCALE, plan.scale.to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("run a G child");
        let _ = fs::remove_dir_all(&dir);
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.lines().find_map(|l| l.strip_prefix(RSS_LINE_PREFIX)) {
            Some(json) if output.status.success() => {
                println!("{NAME}/{}: {json}", s.name());
                lines.push(json.to_owned());
            }
            _ => panic!("G child for {} failed ({}): {stdout}", s.name(), output.status),
        }
    }
    let _ = fs::remove_dir_all(data_root().join(NAME));
    let json = format!(
        "{{\"workload\": {}, \"bytes\": {}, \"entry_bytes\": {KIB}, \"runs\": [\n  {}\n]}}\n",
        quote(NAME),
        plan.g_bytes(),
        lines.join(",\n  ")
    );
    results::write("rss.json", &json).expect("write rss.json");
    runs.workload(
        NAME,
        &format!("write {} MiB of 1 KiB entries, one sync at the end, child process per writer", plan.g_bytes() / MIB),
        &load,
    );
}

/// The body of a workload-G child: write, sample VmRSS, print the result.
fn rss_child(name: &str) -> i32 {
    let plan = Plan::from_env();
    let Some(s) = subject::by_name(name) else {
        eprintln!("unknown subject {name}");
        return 2;
    };
    let Some(dir) = std::env::var_os(ENV_RSS_DIR).map(PathBuf::from) else {
        eprintln!("{ENV_RSS_DIR} is not set");
        return 2;
    };
    let size = KIB as usize;
    let n = plan.g_bytes() / KIB;
    let payloads = Payloads::new(size);
    let rss_start = rss::rss_mib();
    let every = (n / 16).max(1);
    let mut next = every;
    let mut samples: Vec<(u64, f64, f64, f64)> = Vec::new();
    let outcome = s.bulk(&dir, &payloads, n, &mut |done| {
        if done >= next {
            samples.push((done * KIB, rss::rss_mib(), rss::anon_mib(), rss::file_mib()));
            next += every;
        }
    });
    let elapsed = match outcome {
        Ok(elapsed) => elapsed,
        Err(e) => {
            eprintln!("{name}: {e}");
            return 1;
        }
    };
    let samples: Vec<String> = samples
        .iter()
        .map(|(bytes, rss, anon, file)| format!("[{bytes}, {rss:.1}, {anon:.1}, {file:.1}]"))
        .collect();
    println!(
        "{RSS_LINE_PREFIX}{{\"subject\": {}, \"kind\": {}, \"rss_start_mib\": {rss_start:.1}, \"rss_end_mib\": {:.1}, \"hwm_mib\": {:.1}, \"seconds\": {:.2}, \"samples\": [{}]}}",
        quote(name),
        quote(s.kind().name()),
        rss::rss_mib(),
        rss::hwm_mib(),
        elapsed.as_secs_f64(),
        samples.join(", ")
    );
    0
}

fn main() {
    if let Ok(name) = std::env::var(ENV_RSS_CHILD) {
        std::process::exit(rss_child(&name));
    }
    let plan = Plan::from_env();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut runs = RunLog::default();
    if selected('A') {
        bulk(&mut c, &mut runs, "A_bulk_100B", plan.a_entries(), 100);
    }
    if selected('B') {
        bulk(&mut c, &mut runs, "B_bulk_1KiB", plan.b_entries(), KIB as usize);
    }
    if selected('C') {
        durable_one(&mut c, &mut runs, &plan);
    }
    if selected('D') {
        durable_threads(&mut c, &mut runs, &plan);
    }
    if selected('E') {
        read_back(&mut c, &mut runs, &plan);
    }
    if selected('F') {
        open_time(&mut c, &mut runs, &plan);
    }
    if selected('G') {
        memory(&mut runs, &plan);
    }
    runs.write(&plan);
    c.final_summary();
}
