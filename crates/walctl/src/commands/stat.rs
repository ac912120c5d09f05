//! `walctl stat`: a summary of a log, read-only.

use std::ops::ControlFlow;

use wal_recovery::cursor::{self, CursorState};

use crate::cli::StatArgs;
use crate::error::{Exit, Result, existing_dir};
use crate::json::{SegmentJson, StatJson};
use crate::output::Out;
use crate::render;
use crate::scan::{self, ScanOptions};

pub fn run(args: &StatArgs, out: &mut Out) -> Result<Exit> {
    existing_dir(&args.dir)?;
    let options = ScanOptions {
        past_problems: true,
        check_indexes: true,
        ..ScanOptions::default()
    };
    let outcome = scan::scan_log(&args.dir, options, |_| Ok(ControlFlow::Continue(())))?;
    let cursor = cursor::read_cursor(&args.dir)?;
    let meta = read_meta(&args.dir)?;
    let last_offset = outcome.last_offset();
    let stat = StatJson {
        first_offset: last_offset.and(outcome.first_offset),
        last_offset,
        entries: outcome.entries(),
        last_crc: last_offset.and(outcome.last_crc),
        cursor: cursor.offset(),
        meta: meta.status(),
        meta_bytes: meta.bytes(),
        segments: outcome.segments.iter().map(SegmentJson::from).collect(),
    };
    if args.json {
        out.json(&stat)?;
        return Ok(Exit::Clean);
    }
    out.line(format_args!("directory   {}", args.dir.display()))?;
    match (stat.first_offset, stat.last_offset) {
        (Some(first), Some(last)) => out.line(format_args!(
            "entries     {} (offsets {first}..={last})",
            stat.entries
        ))?,
        _ => out.line("entries     0 (empty log)")?,
    }
    out.line(format_args!("last crc    {}", render::crc(stat.last_crc)))?;
    let cursor_text = match &cursor {
        CursorState::At(offset) => offset.to_string(),
        CursorState::Missing => "none".to_owned(),
        CursorState::Corrupt(why) => format!("corrupt ({why})"),
    };
    out.line(format_args!("cursor      {cursor_text}"))?;
    let meta_text = match &meta {
        Meta::None => "none".to_owned(),
        Meta::Blob(bytes) => format!("{bytes} bytes"),
        Meta::Corrupt(why) => format!("corrupt ({why})"),
    };
    out.line(format_args!("meta        {meta_text}"))?;
    out.line(format_args!("segments    {}", stat.segments.len()))?;
    if !stat.segments.is_empty() {
        out.line(format_args!(
            "  {:>20}  {:5}  {:>10}  {:>12}  index",
            "base offset", "codec", "entries", "data bytes"
        ))?;
    }
    for segment in &stat.segments {
        out.line(format_args!(
            "  {:>20}  {:5}  {:>10}  {:>12}  {}",
            segment.base_offset, segment.codec, segment.entries, segment.data_bytes, segment.index
        ))?;
    }
    if let Some(problem) = &outcome.problem {
        out.line(format_args!(
            "damaged     the valid log ends at {problem} (see 'walctl verify')"
        ))?;
    }
    Ok(Exit::Clean)
}

/// The caller's metadata blob (`META`), as `stat` shows it.
enum Meta {
    None,
    /// Its length.
    Blob(usize),
    /// What is wrong with it.
    Corrupt(String),
}

impl Meta {
    fn status(&self) -> &'static str {
        match self {
            Meta::None => "none",
            Meta::Blob(_) => "ok",
            Meta::Corrupt(_) => "corrupt",
        }
    }

    fn bytes(&self) -> Option<usize> {
        match self {
            Meta::Blob(len) => Some(*len),
            Meta::None | Meta::Corrupt(_) => None,
        }
    }
}

/// Reads the metadata file of `dir` (a file that cannot be read at all is an error).
fn read_meta(dir: &std::path::Path) -> Result<Meta> {
    match wal_store::internal::meta::read_meta(dir) {
        Ok(None) => Ok(Meta::None),
        Ok(Some(blob)) => Ok(Meta::Blob(blob.len())),
        Err(wal_store::StoreError::MetaCorrupt { detail, .. }) => Ok(Meta::Corrupt(detail)),
        Err(e) => Err(e.into()),
    }
}
