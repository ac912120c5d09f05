//! `walctl write`: append generated entries, or the lines of standard input.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{BufRead, Read};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use wal_format::Codec;
use wal_recovery::{Error, Log, Pending};
use wal_store::{Retention, StoreError, SyncPolicy, WalOptions};

use crate::cli::{CodecArg, RetentionArg, SyncArg, WriteArgs};
use crate::error::{CliError, Exit, Result, dir_or_absent};
use crate::output::Out;
use crate::payload;
use crate::progress;

/// Entries per sync under `--sync batch` when `--batch` is not given.
const DEFAULT_BATCH: u64 = 64;

/// When to sync, as decided from the flags.
#[derive(Debug, Clone, Copy)]
enum Syncing {
    /// The store syncs every append (`SyncPolicy::Always`).
    EachEntry,
    /// `sync()` after every this many entries, and at the end.
    Every(u64),
    /// `sync()` once at the end.
    AtEnd,
    /// Up to this many entries in flight through `Log::submit`, each acknowledged once
    /// durable (`SyncPolicy::GroupCommit`: the log's flusher syncs them).
    Pipelined(usize),
}

/// The log being written, and the bookkeeping of syncs and acknowledgements.
struct Writer<'a> {
    log: &'a Log,
    syncing: Syncing,
    ack: bool,
    /// Entries appended since the last sync.
    unsynced: u64,
    written: u64,
    first: Option<u64>,
    last: Option<u64>,
    /// Whether an append was refused at the log's size limit.
    at_capacity: bool,
    /// With `Syncing::Pipelined`: the entries submitted and not yet acknowledged, oldest
    /// first.
    in_flight: VecDeque<Pending>,
}

impl Writer<'_> {
    fn append(&mut self, payload: &[u8], out: &mut Out) -> Result<u64> {
        if let Syncing::Pipelined(window) = self.syncing {
            return self.submit(payload, window, out);
        }
        let appended = self
            .log
            .append(payload)
            .inspect_err(|e| self.note_refusal(e))?;
        self.written += 1;
        self.first.get_or_insert(appended.offset);
        self.last = Some(appended.offset);
        self.unsynced += 1;
        match self.syncing {
            Syncing::EachEntry => self.acknowledge(out)?,
            Syncing::Every(n) if self.unsynced >= n => self.sync(out)?,
            Syncing::Every(_) | Syncing::AtEnd | Syncing::Pipelined(_) => {}
        }
        Ok(appended.offset)
    }

    /// Submits one entry, acknowledges the oldest ones already durable, and waits for the
    /// oldest while `window` are in flight.
    fn submit(&mut self, payload: &[u8], window: usize, out: &mut Out) -> Result<u64> {
        let pending = self
            .log
            .submit(&[payload])
            .inspect_err(|e| self.note_refusal(e))?;
        let offset = *pending.offsets().start();
        self.written += 1;
        self.first.get_or_insert(offset);
        self.last = Some(offset);
        self.in_flight.push_back(pending);
        self.collect(window.saturating_sub(1), out)?;
        Ok(offset)
    }

    /// Notes whether an append was refused at the log's size limit (backpressure, which
    /// the error line then explains).
    fn note_refusal(&mut self, error: &Error) {
        self.at_capacity = matches!(error, Error::Store(StoreError::AtCapacity { .. }));
    }

    /// Takes the oldest in-flight entries that are durable, waiting for them while more
    /// than `keep` are in flight, and acknowledges the last one taken: acknowledgements
    /// come in offset order, each covering every entry before it.
    fn collect(&mut self, keep: usize, out: &mut Out) -> Result<()> {
        let mut durable = None;
        let outcome = loop {
            let result = if self.in_flight.len() > keep {
                match self.in_flight.pop_front() {
                    Some(oldest) => oldest.wait(),
                    None => break Ok(()),
                }
            } else {
                let Some(oldest) = self.in_flight.front_mut() else {
                    break Ok(());
                };
                // A look without waiting: the no-op waker is never woken, nor needed.
                match Pin::new(oldest).poll(&mut Context::from_waker(Waker::noop())) {
                    Poll::Ready(result) => {
                        self.in_flight.pop_front();
                        result
                    }
                    Poll::Pending => break Ok(()),
                }
            };
            match result {
                Ok(batch) => durable = Some(batch.last_offset),
                Err(e) => break Err(e),
            }
        };
        // What became durable before a failure is acknowledged all the same.
        if self.ack
            && let Some(offset) = durable
        {
            out.line(format_args!("synced {offset}"))?;
            out.flush()?;
        }
        Ok(outcome?)
    }

    fn sync(&mut self, out: &mut Out) -> Result<()> {
        if let Syncing::Pipelined(_) = self.syncing {
            return self.collect(0, out);
        }
        if self.unsynced == 0 {
            return Ok(());
        }
        self.log.sync()?;
        self.acknowledge(out)
    }

    fn acknowledge(&mut self, out: &mut Out) -> Result<()> {
        self.unsynced = 0;
        if self.ack
            && let Some(offset) = self.log.last_synced_offset()
        {
            out.line(format_args!("synced {offset}"))?;
            out.flush()?;
        }
        Ok(())
    }

    fn summary(&self, dir: &std::path::Path) -> String {
        let next = self
            .last
            .map_or_else(|| "-".to_owned(), |l| (l + 1).to_string());
        match (self.first, self.last) {
            (Some(first), Some(last)) => format!(
                "wrote {} entries to {}: offsets {first}..={last}, durable; next offset {next}",
                self.written,
                dir.display()
            ),
            _ => format!("wrote 0 entries to {}", dir.display()),
        }
    }
}

pub fn run(args: &WriteArgs, out: &mut Out) -> Result<Exit> {
    let syncing = match (args.pipeline, args.sync, args.batch) {
        (Some(window), _, _) => Syncing::Pipelined(
            usize::try_from(window).map_err(|_| CliError::usage("--pipeline is too large"))?,
        ),
        (None, SyncArg::Always, None) => Syncing::EachEntry,
        (None, SyncArg::Batch, batch) => Syncing::Every(batch.unwrap_or(DEFAULT_BATCH)),
        (None, SyncArg::None, None) => Syncing::AtEnd,
        (None, _, Some(_)) => {
            return Err(CliError::usage("--batch applies only with --sync batch"));
        }
    };
    let mut wal_options = WalOptions::default()
        .with_codec(match args.codec {
            CodecArg::V1 => Codec::V1,
            CodecArg::V2 => Codec::V2,
        })
        .with_segment_bytes(
            args.segment_size
                .unwrap_or(wal_store::DEFAULT_SEGMENT_BYTES),
        )
        .with_sync_policy(match syncing {
            Syncing::EachEntry => SyncPolicy::Always,
            Syncing::Pipelined(_) => SyncPolicy::GroupCommit,
            Syncing::Every(_) | Syncing::AtEnd => SyncPolicy::Manual,
        })
        .with_retention(match args.retention {
            RetentionArg::WhenFull => Retention::WhenFull,
            RetentionArg::AtEveryRotation => Retention::AtEveryRotation,
        });
    wal_options.max_log_bytes = args.max_log_bytes;
    wal_options.max_segments = args.max_segments;
    wal_options.validate()?;
    let size = match args.size.map(usize::try_from) {
        Some(Ok(size)) if size <= wal_options.max_entry_bytes => Some(size),
        Some(_) => {
            return Err(CliError::usage(format!(
                "--size must be at most the maximum entry size, {} bytes",
                wal_options.max_entry_bytes
            )));
        }
        None => None,
    };
    dir_or_absent(&args.dir)?;
    let recovered = super::open_log(&args.dir, wal_options)?;
    let log = recovered.log;
    let mut writer = Writer {
        log: &log,
        syncing,
        ack: args.ack,
        unsynced: 0,
        written: 0,
        first: None,
        last: None,
        at_capacity: false,
        in_flight: VecDeque::new(),
    };
    let outcome = if args.stdin {
        write_stdin(&mut writer, out)
    } else {
        let count = args.count.unwrap_or(0);
        write_generated(
            &mut writer,
            args.seed.unwrap_or(0),
            count,
            size.unwrap_or(1),
            out,
        )
    };
    // Whatever was appended is made durable and acknowledged, even when the input turned
    // out bad half way.
    let synced = writer.sync(out);
    let summary = writer.summary(&args.dir);
    let at_capacity = writer.at_capacity;
    log.close()?;
    // Backpressure, not damage: say what was written before it, and how to make room.
    let outcome = match outcome {
        Err(e) if at_capacity && synced.is_ok() => Err(e.with_hint(&format!(
            "{summary}; move the cursor on ('walctl cursor DIR --set N') to let older segments go"
        ))),
        other => other,
    };
    outcome?;
    synced?;
    if !args.ack {
        out.line(summary)?;
    }
    Ok(Exit::Clean)
}

fn write_generated(
    writer: &mut Writer<'_>,
    seed: u64,
    count: u64,
    size: usize,
    out: &mut Out,
) -> Result<()> {
    let bar = progress::bar(count, "writing");
    let first = writer.log.next_offset();
    for expected in first..first.saturating_add(count) {
        let offset = writer.append(&payload::pattern(seed, expected, size), out)?;
        if offset != expected {
            // Only this process writes (it holds the lock), so offsets are assigned in
            // order; a payload naming another offset would be a lie.
            return Err(CliError::usage(format!(
                "entry written at offset {offset}, expected {expected}"
            )));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

fn write_stdin(writer: &mut Writer<'_>, out: &mut Out) -> Result<()> {
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = input
            .by_ref()
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::usage(format!("read standard input: {e}")))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.is_empty() {
            return Err(CliError::usage(format!(
                "line {number} of standard input is empty, and an entry cannot be (entries written before it: {})",
                writer.written
            )));
        }
        writer.append(&line, out)?;
    }
}
