//! One workload of one implementation, outside criterion: for profilers (`perf record`,
//! `strace -c`, `valgrind`) and quick what-ifs.
//!
//! ```text
//! cargo build --release --example probe --manifest-path benches/peers/Cargo.toml
//! benches/peers/target/release/examples/probe <workload> <subject> [entries] [payload bytes] [repeat]
//! ```
//!
//! Workloads: `bulk` (A, B), `durable` (C), `threads` (D, 16 threads), `read` (E) and
//! `open` (F); the last two write their data set once, then repeat. Subjects: see
//! `wal_peers::subject::all` (`walrs`, `okaywal`, ...). Directories
//! go under `WAL_PEERS_DATA_DIR` (default `benches/peers/target/bench-data/probe`).

use std::path::PathBuf;
use std::time::Duration;

use wal_peers::payload::Payloads;
use wal_peers::results;
use wal_peers::stats::Latency;
use wal_peers::subject;

fn main() -> wal_peers::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: probe <bulk|durable|threads|read|open> <subject> [entries] [payload bytes] [repeat]";
    let (Some(workload), Some(name)) = (args.first(), args.get(1)) else {
        return Err(usage.into());
    };
    let s = subject::by_name(name).ok_or_else(|| format!("unknown subject {name}"))?;
    let n: u64 = args.get(2).map_or(Ok(100_000), |a| a.parse())?;
    let size: usize = args.get(3).map_or(Ok(100), |a| a.parse())?;
    let repeat: u32 = args.get(4).map_or(Ok(3), |a| a.parse())?;
    let payloads = Payloads::new(size);
    let root = std::env::var_os("WAL_PEERS_DATA_DIR")
        .map_or_else(|| results::target_dir().join("bench-data"), PathBuf::from)
        .join("probe");
    let _ = std::fs::remove_dir_all(&root);
    let fresh = |k: u32| {
        let dir = root.join(format!("{workload}-{name}-{k}"));
        std::fs::create_dir_all(&dir).map(|()| dir)
    };
    let mut latencies = Vec::new();
    let mut times = Vec::new();
    let dataset = if matches!(workload.as_str(), "read" | "open") {
        let dir = fresh(0)?;
        s.write_dataset(&dir, &payloads, n)?;
        Some(dir)
    } else {
        None
    };
    for k in 1..=repeat {
        let took: Duration = match (workload.as_str(), &dataset) {
            ("bulk", _) => s.bulk(&fresh(k)?, &payloads, n, &mut |_| {})?,
            ("durable", _) => s.durable(&fresh(k)?, &payloads, n, &mut latencies)?,
            ("threads", _) => s.durable_threads(&fresh(k)?, &payloads, 16, n / 16, &mut latencies)?,
            ("read", Some(dir)) => s.read_all(dir, n, size)?,
            ("open", Some(dir)) => s.open_only(dir)?,
            _ => return Err(usage.into()),
        };
        times.push(took);
        let per_s = n as f64 / took.as_secs_f64();
        println!("{workload} {name} run {k}: {:.1} ms, {per_s:.0} entries/s", took.as_secs_f64() * 1e3);
    }
    if let Some(l) = Latency::from_samples(&mut latencies) {
        println!("latency: {}", l.to_json());
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}
