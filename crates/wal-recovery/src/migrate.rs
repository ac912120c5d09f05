//! Migration of v1 segments to v2.
//!
//! Converting a v1 segment gives its entries crcs, and the chain must then run on through
//! every later segment: a v2 segment written after a v1 one was chained from a seed that
//! no longer matches. So migration rewrites every segment from the first v1 one to the
//! end, and must never leave a directory where part of the log carries the new chain and
//! part the old one: the new files are installed through the redo journal
//! ([`crate::journal`]), all or nothing.

use std::path::Path;

use wal_format::{Codec, FileOffset, MAX_SEGMENT_BYTES, Scanner, index};
use wal_store::{DirLock, fs as store_fs, naming};

use crate::analyze;
use crate::error::{IoContext, RecoveryError, Result};
use crate::journal::{self, Journal, pending_path};

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    /// Base offsets of the v1 segments converted to v2.
    pub converted: Vec<u64>,
    /// Base offsets of the v2 segments rewritten to continue the new chain.
    pub rechained: Vec<u64>,
    /// Whether an interrupted journaled change was completed first.
    pub rolled_forward: bool,
}

/// Converts the v1 segments of `dir` to `to` (only v2 is supported), rechaining every
/// segment from the first v1 one on, crash-safely and idempotently: running it again
/// after it completed changes nothing. Refuses, changing nothing, if the log has a data
/// problem: repair it first.
pub fn migrate(dir: impl AsRef<Path>, to: Codec) -> Result<Migration> {
    let dir = dir.as_ref();
    if to != Codec::V2 {
        return Err(RecoveryError::InvalidArgument(format!(
            "migration goes from v1 to v2 only, not to {to}"
        )));
    }
    let lock = DirLock::acquire(dir)?;
    let mut migration = Migration {
        rolled_forward: journal::roll_forward(dir)?,
        ..Migration::default()
    };
    let analysis = analyze::analyze(dir, None, Some(&lock))?;
    let data_problems: Vec<_> = analysis
        .problems
        .iter()
        .filter(|p| p.kind.is_data())
        .cloned()
        .collect();
    if !data_problems.is_empty() {
        return Err(RecoveryError::Inconsistent {
            problems: data_problems,
        });
    }
    let Some(first_v1) = analysis.segments.iter().position(|s| s.codec == Codec::V1) else {
        return Ok(migration);
    };
    let last = analysis.segments.len() - 1;
    let mut prev_crc = first_v1
        .checked_sub(1)
        .and_then(|i| analysis.segments.get(i))
        .and_then(|s| s.last_crc)
        .unwrap_or(0);
    let mut journal = Journal::default();
    for (i, segment) in analysis.segments.iter().enumerate().skip(first_v1) {
        let data = std::fs::read(&segment.data_path).io_context("read", &segment.data_path)?;
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        for record in Scanner::new(segment.codec, &data) {
            let start = out.len();
            let needed = Codec::V2
                .record_bytes(record.payload.len())
                .ok_or_else(|| {
                    RecoveryError::InvalidArgument("record too large for v2".to_owned())
                })?;
            out.resize(start + needed, 0);
            let encoded = Codec::V2
                .encode_record(
                    out.get_mut(start..).unwrap_or_default(),
                    prev_crc,
                    record.payload,
                )
                .map_err(|e| RecoveryError::InvalidArgument(e.to_string()))?;
            prev_crc = encoded.crc.unwrap_or(prev_crc);
            offsets.push(FileOffset(u32::try_from(start).map_err(|_| {
                RecoveryError::InvalidArgument(format!(
                    "segment {} does not fit in a v2 segment",
                    segment.base
                ))
            })?));
        }
        let old_len = std::fs::metadata(&segment.data_path)
            .io_context("stat", &segment.data_path)?
            .len();
        let new_len = old_len.max(out.len() as u64);
        if new_len > MAX_SEGMENT_BYTES as u64 {
            return Err(RecoveryError::InvalidArgument(format!(
                "segment {} would exceed the largest segment once converted",
                segment.base
            )));
        }
        let data_path = naming::data_path(dir, segment.base, Codec::V2);
        store_fs::create_with_content(dir, &pending_path(&data_path), &out, new_len)?;
        journal.install(&data_path)?;
        if i < last {
            let mut bytes = vec![0u8; index::index_bytes(Codec::V2, offsets.len())];
            index::encode(Codec::V2, &offsets, &mut bytes)
                .map_err(|e| RecoveryError::InvalidArgument(e.to_string()))?;
            let index_path = naming::index_path(dir, segment.base, Codec::V2);
            store_fs::write_atomically(dir, &pending_path(&index_path), &bytes)?;
            journal.install(&index_path)?;
        }
        if segment.codec != Codec::V2 {
            journal.remove(&naming::index_path(dir, segment.base, segment.codec))?;
            journal.remove(&segment.data_path)?;
        }
        if segment.codec == Codec::V1 {
            migration.converted.push(segment.base);
        } else {
            migration.rechained.push(segment.base);
        }
    }
    // A clean close's record describes the active segment, which is rewritten (rechained
    // or converted): it goes before anything is installed, as before any change of the
    // active segment.
    wal_store::closed::consume(dir)?;
    // The commit point: from here on the migration is completed, now or by the next
    // recovery.
    journal.commit(dir)?;
    log::info!(
        target: "wal_recovery::migrate",
        "migrated {} v1 segments to v2 and rechained {} v2 segments",
        migration.converted.len(),
        migration.rechained.len()
    );
    Ok(migration)
}
