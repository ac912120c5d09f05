//! Three openraft nodes in one process, each keeping its raft log in a walrs log directory of
//! its own (`wal_raft::LogStore`).
//!
//! A client writes through the leader; one follower is dropped (its raft shut down and its log
//! closed), more writes go through the two others; the follower is restarted from its
//! directory with an empty state machine, replays its own log, receives the rest from the
//! leader and catches up. Then all three nodes are shut down and their logs compared, entry by
//! entry, the way `walctl compare` compares them: they are identical.
//!
//! ```sh
//! cargo run -p wal-raft --example cluster -- /tmp/cluster
//! cargo run -p walctl -- compare /tmp/cluster/node-1 /tmp/cluster/node-2
//! ```
//!
//! With no argument the logs go to a temporary directory, removed at the end; with one, they
//! stay in that directory (which must be empty or absent) for walctl to read. The story itself
//! is in `cluster/scenario.rs`, which a test of walctl also runs.

#[path = "cluster/scenario.rs"]
mod scenario;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run_and_report() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the scenario in the directory the first argument names, or a temporary one, and
/// says how to compare the logs it leaves.
fn run_and_report() -> scenario::Result<()> {
    let kept = std::env::args_os().nth(1).map(PathBuf::from);
    let temporary;
    let base = match &kept {
        Some(dir) => dir.as_path(),
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path()
        }
    };
    refuse_old_logs(base)?;

    let outcome = scenario::run(base)?;
    if outcome.comparisons.iter().any(|found| !found.identical) {
        return Err("the logs differ (see above)".into());
    }
    println!(
        "the three logs are identical, raft indexes 0 to {}",
        outcome.last_index
    );
    if kept.is_none() {
        println!("(pass a directory as the first argument to keep the logs and compare them)");
        return Ok(());
    }
    println!("compare them yourself (exit status 0: identical):");
    for dir in &outcome.follower_dirs {
        println!(
            "  walctl compare {} {}",
            outcome.leader_dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Refuses a directory that holds anything: the example starts a new cluster, and the logs of
/// an old one would make its nodes resume instead.
fn refuse_old_logs(base: &Path) -> scenario::Result<()> {
    let mut entries = match std::fs::read_dir(base) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if entries.next().is_some() {
        return Err(format!(
            "{} is not empty: give the example an empty or absent directory",
            base.display()
        )
        .into());
    }
    Ok(())
}
