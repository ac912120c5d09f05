//! The arguments of every command, and how clap's own errors are reported.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::one_line;

/// Command line for the walrs write-ahead log.
///
/// Exit codes: 0 done and clean; 1 the log's data has problems (printed); 2 usage or I/O
/// error (one `walctl: error:` line on stderr).
#[derive(Debug, Parser)]
#[command(name = "walctl", version, about, long_about = None)]
#[command(subcommand_required = true, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a log with group commit, crash it mid-write, recover it, replay it.
    Demo(DemoArgs),
    /// Append generated entries (or lines of stdin) to a log, creating it if needed.
    Write(WriteArgs),
    /// Print entries, reading the segment files directly (read-only).
    Dump(DumpArgs),
    /// Summarize a log: offsets, segments, indexes, cursor (read-only).
    Stat(StatArgs),
    /// Check every record, the chain and the indexes; report every problem (read-only).
    Verify(VerifyArgs),
    /// Apply a recovery mode: cut a damaged tail (copied to quarantine first).
    Repair(RepairArgs),
    /// Rebuild the index files of sealed segments from their data.
    RebuildIndex(DirArgs),
    /// Drop every entry after an offset.
    Truncate(TruncateArgs),
    /// Remove the sealed segments whose entries all lie before an offset.
    Trim(TrimArgs),
    /// Show the consumer's cursor, or set it.
    Cursor(CursorArgs),
    /// Print the entries after the cursor (read-only).
    Replay(ReplayArgs),
    /// A quick benchmark of appends (unsynced, durable, group commit) and replay.
    Bench(BenchArgs),
    /// Convert v1 segments to v2, rechaining every later segment (crash-safe, idempotent).
    Migrate(MigrateArgs),
    /// Find where two logs (a leader's and a replica's) differ, through their crcs.
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// The codec to convert to (only v2: v1 segments become v2).
    #[arg(long, value_enum, default_value = "v2")]
    pub to: CodecArg,
    /// The log's segment size, in bytes: each rewritten segment's records end within it
    /// (default: the last segment's data file length minus one, as writers create it).
    #[arg(long, value_name = "BYTES")]
    pub segment_size: Option<u32>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first log's directory.
    pub dir_a: PathBuf,
    /// The second log's directory.
    pub dir_b: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's log: must be empty or absent. Default: a new temporary
    /// directory, which is kept (its path is printed).
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodecArg {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncArg {
    /// Each entry durable before the next is written.
    Always,
    /// A sync every --batch entries.
    Batch,
    /// One sync at the end.
    None,
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The log's directory (created if needed).
    pub dir: PathBuf,
    /// Number of entries to append.
    #[arg(long, required_unless_present = "stdin")]
    pub count: Option<u64>,
    /// Size of each payload in bytes (at least 1).
    #[arg(long, value_name = "BYTES", required_unless_present = "stdin",
          value_parser = positive)]
    pub size: Option<u64>,
    /// The S of the payload pattern `{S}:{offset};` (default 0).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Codec of new segments.
    #[arg(long, value_enum, default_value = "v2")]
    pub codec: CodecArg,
    /// Size of new segments, in bytes: records never reach past it (default 64 MiB, at
    /// least 64). Data files are one byte longer, as other writers of the format make them.
    #[arg(long, value_name = "BYTES")]
    pub segment_size: Option<u32>,
    /// When entries are made durable.
    #[arg(long, value_enum, default_value = "batch")]
    pub sync: SyncArg,
    /// With --sync batch: entries per sync (default 64).
    #[arg(long, value_name = "N", value_parser = positive)]
    pub batch: Option<u64>,
    /// Keep up to N entries in flight instead: each is submitted without waiting for the
    /// disk (one sync covers all submitted before it), and is durable once acknowledged.
    #[arg(long, value_name = "N", value_parser = positive, conflicts_with_all = ["sync", "batch"])]
    pub pipeline: Option<u64>,
    /// After every sync, print `synced <highest durable offset>` and flush (with
    /// --pipeline: in offset order, as entries become durable).
    #[arg(long)]
    pub ack: bool,
    /// One entry per line of standard input (without its newline).
    #[arg(long, conflicts_with_all = ["count", "size", "seed"])]
    pub stdin: bool,
    /// The most bytes the log's data files may take, each counted at its allocated length
    /// (segment size + 1). Segments wholly at or before the cursor are removed to make
    /// room; when that is not enough the write stops with an 'at capacity' error (exit 2).
    /// For this write only: limits are not stored in the log.
    #[arg(long, value_name = "BYTES")]
    pub max_log_bytes: Option<u64>,
    /// The most segments the log may hold (at least 2), as --max-log-bytes.
    #[arg(long, value_name = "N")]
    pub max_segments: Option<usize>,
    /// When segments wholly at or before the cursor are removed.
    #[arg(long, value_enum, default_value = "when-full")]
    pub retention: RetentionArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetentionArg {
    /// Only to make room under --max-log-bytes or --max-segments.
    WhenFull,
    /// At every new segment, limit or not.
    AtEveryRotation,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// First offset to print.
    #[arg(long, value_name = "O")]
    pub from: Option<u64>,
    /// Last offset to print (inclusive).
    #[arg(long, value_name = "O")]
    pub to: Option<u64>,
    /// One JSON object per line per entry.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// The highest offset known committed: damage at or before it is committed corruption.
    #[arg(long, value_name = "N")]
    pub commit_offset: Option<u64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Cut an uncommitted damaged tail; refuse committed corruption.
    TolerateCorruptTail,
    /// Cut at the first data problem, committed or not.
    PointInTime,
    /// Skip damaged records and segments whose boundaries are known, leaving holes.
    SkipCorrupted,
    /// Move the segments holding damage at or before the consumer's cursor (entries it
    /// consumed) to quarantine, and trim them; nothing after the cursor is touched.
    TrimConsumedDamage,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// What to do with damage.
    #[arg(long, value_enum, default_value = "tolerate-corrupt-tail")]
    pub mode: ModeArg,
    /// The highest offset known committed.
    #[arg(long, value_name = "N")]
    pub commit_offset: Option<u64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// The log's directory.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct TruncateArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// The last offset to keep.
    #[arg(long, value_name = "O")]
    pub after: u64,
}

#[derive(Debug, Args)]
pub struct TrimArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Segments whose entries all lie before this offset are removed.
    #[arg(long, value_name = "O")]
    pub before: u64,
    /// Remove them even if they hold entries after a consumer's cursor (refused
    /// otherwise): the cursors move past them, and their files record the drop.
    #[arg(long)]
    pub drop_unread: bool,
}

#[derive(Debug, Args)]
pub struct CursorArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// The consumer: `default` is the `CURSOR` file, any other name (a-z, 0-9, `_`,
    /// `-`) its own `CURSOR.<name>`.
    #[arg(long, value_name = "NAME", default_value = wal_recovery::DEFAULT_CURSOR)]
    pub name: String,
    /// Persist this offset as the cursor (the last entry the consumer has finalized);
    /// refused if it would move the cursor back.
    #[arg(long, value_name = "O", conflicts_with = "rewind")]
    pub set: Option<u64>,
    /// Move the cursor to this offset, backwards too: the entries after it are replayed
    /// again.
    #[arg(long, value_name = "O")]
    pub rewind: Option<u64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Replay after this consumer's cursor (`default`: the `CURSOR` file).
    #[arg(long, value_name = "NAME", default_value = wal_recovery::DEFAULT_CURSOR)]
    pub name: String,
    /// One JSON object per line per entry.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Where to create the benchmark's logs (an existing directory; each phase uses a new
    /// subdirectory, removed afterwards). Default: the system's temporary directory.
    #[arg(long, value_name = "D")]
    pub dir: Option<PathBuf>,
    /// How long each phase runs, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 750,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub phase_ms: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// A whole number of at least 1.
fn positive(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Reports a clap error the way the contract says: help and version go to stdout with
/// exit 0; anything else is one `walctl: error:` line on stderr and exit 2.
pub fn exit_for_clap_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // A closed stdout (`walctl --help | head -1`) is not worth reporting.
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = writeln!(
                std::io::stderr(),
                "walctl: error: a command is required (see 'walctl --help')"
            );
            ExitCode::from(2)
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "walctl: error: {} (see 'walctl --help')",
                clap_message(error)
            );
            ExitCode::from(2)
        }
    }
}

/// clap's message without its `error: ` prefix, tips and usage: the lines up to the first
/// blank one, joined.
fn clap_message(error: &clap::Error) -> String {
    let text = error.to_string();
    let head: Vec<&str> = text
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = head.join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    one_line(message)
}
