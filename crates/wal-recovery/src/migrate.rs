//! Migration of v1 segments to v2.
//!
//! Converting a v1 segment gives its entries crcs, and the chain must then run on through
//! every later segment: a v2 segment written after a v1 one was chained from a seed that
//! no longer matches. So migration rewrites every segment from the first v1 one to the
//! end, and must never leave a directory where part of the log carries the new chain and
//! part the old one: the new files are installed through the redo journal
//! ([`crate::journal`]), all or nothing.
//!
//! A v2 record is 8 bytes longer than a v1 one, so a converted segment no longer fits in
//! the segment size. The rewritten records are laid out again as a v2 writer would have
//! written them ([`Packer`]): each segment's records end within the segment size, the
//! next record starts a new segment named after its entry, an entry larger than a
//! segment gets a segment of its own, sealed, and a gap between segments (a recorded
//! hole) stays a gap. Other implementations of the format map only the segment size of
//! the last segment: records past it would be invisible to them.

use std::path::{Path, PathBuf};

use wal_format::{Codec, DATA_FILE_EXTRA_BYTES, Scanner, data_file_bytes};
use wal_store::internal::{fs as store_fs, naming};
use wal_store::layout::{self, Join};
use wal_store::{DirLock, MIN_SEGMENT_BYTES};

use crate::analyze::{self, SegmentScan};
use crate::error::{IoContext, RecoveryError, Result};
use crate::journal::{self, Journal, pending_path};

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    /// Base offsets of the v1 segments converted to v2.
    pub converted: Vec<u64>,
    /// Base offsets of the v2 segments rewritten to continue the new chain.
    pub rechained: Vec<u64>,
    /// Base offsets of the v2 segments that now hold the rewritten entries (more than
    /// were converted and rechained when converted records no longer fit).
    pub segments: Vec<u64>,
    /// The segment size the rewritten segments were laid out for.
    pub segment_bytes: u32,
    /// Whether an interrupted journaled change was completed first.
    pub rolled_forward: bool,
}

/// Converts the v1 segments of `dir` to `to` (only v2 is supported), rechaining every
/// segment from the first v1 one on, crash-safely and idempotently: running it again
/// after it completed changes nothing. Refuses, changing nothing, if the log has a data
/// problem: repair it first.
///
/// The rewritten segments are laid out for the log's segment size, taken from the data
/// files (every writer of the format creates them at the full size, one byte longer than
/// the segment size, zeros after the records; the newest such file counts): see
/// [`migrate_with_segment_bytes`] to give it.
pub fn migrate(dir: impl AsRef<Path>, to: Codec) -> Result<Migration> {
    migrate_with_segment_bytes(dir, to, None)
}

/// [`migrate`], with the rewritten segments laid out for `segment_bytes` (records of each
/// segment end within it) instead of the segment size found in the directory.
pub fn migrate_with_segment_bytes(
    dir: impl AsRef<Path>,
    to: Codec,
    segment_bytes: Option<u32>,
) -> Result<Migration> {
    let dir = dir.as_ref();
    if to != Codec::V2 {
        return Err(RecoveryError::InvalidArgument(format!(
            "migration goes from v1 to v2 only, not to {to}"
        )));
    }
    if let Some(bytes) = segment_bytes
        && bytes < MIN_SEGMENT_BYTES
    {
        return Err(RecoveryError::InvalidArgument(format!(
            "a segment size of {bytes} bytes is smaller than the minimum of {MIN_SEGMENT_BYTES}"
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
    let rewritten = analysis.segments.get(first_v1..).unwrap_or_default();
    migration.segment_bytes = match segment_bytes {
        Some(bytes) => bytes,
        None => found_segment_bytes(rewritten)?,
    };
    let prev_crc = first_v1
        .checked_sub(1)
        .and_then(|i| analysis.segments.get(i))
        .and_then(|s| s.last_crc)
        .unwrap_or(0);
    let mut packer = Packer::new(dir, migration.segment_bytes, prev_crc);
    // A logical start inside the rewritten records: its entry gets a new link, which the
    // seed file must carry (installed by the same journal).
    if let analyze::Start::Logical(start) = analysis.start
        && rewritten.first().is_some_and(|s| s.base <= start)
    {
        packer.start = Some(start);
    }
    for (i, segment) in rewritten.iter().enumerate() {
        let previous_end = i
            .checked_sub(1)
            .and_then(|p| rewritten.get(p))
            .map(|p| p.base + p.entries());
        // The log has no data problem, so a segment that does not continue the one
        // before starts after a recorded hole: the gap stays, and the next segment
        // starts after it.
        if previous_end
            .is_some_and(|end| layout::join(end, segment.base, &analysis.holes) != Join::Continues)
        {
            packer.finish_segment()?;
        }
        if segment.entries() == 0 && i + 1 < rewritten.len() {
            // A sealed segment with no entry (what skip-corrupted leaves before a hole)
            // stays, empty and with no index: its base keeps the holes on either side of
            // it apart (each is a gap the holes file lists), or the log's first offset.
            packer.finish_segment()?;
            packer.stage_data(segment.base, &[])?;
        } else {
            let data = std::fs::read(&segment.data_path).io_context("read", &segment.data_path)?;
            for (position, record) in Scanner::new(segment.codec, &data).enumerate() {
                packer.push(segment.base + position as u64, record.payload)?;
            }
        }
        if segment.codec == Codec::V1 {
            migration.converted.push(segment.base);
        } else {
            migration.rechained.push(segment.base);
        }
    }
    let end = rewritten.last().map_or(0, |s| s.base + s.entries());
    packer.stage_start(end)?;
    let journal = packer.finish(end, rewritten)?;
    migration.segments = journal.bases.clone();
    // A clean close's record describes the active segment, which is rewritten (rechained
    // or converted): it goes before anything is installed, as before any change of the
    // active segment.
    wal_store::internal::closed::consume(dir)?;
    // The commit point: from here on the migration is completed, now or by the next
    // recovery.
    journal.journal.commit(dir)?;
    log::info!(
        target: "wal_recovery::migrate",
        "migrated {} v1 segments to v2 and rechained {} v2 segments, now {} segments",
        migration.converted.len(),
        migration.rechained.len(),
        migration.segments.len()
    );
    Ok(migration)
}

/// The log's segment size as its files show it. Every writer creates a data file at the
/// full size (one byte longer than the segment size, here and in the reference
/// implementation; files made here before were exactly the segment size, which then
/// loses a byte of room, not an entry) and leaves zeros after the records; files whose
/// records reach their last byte or the one before say nothing about it (a segment grown
/// for one large entry, a piece of a split segment, a segment a writer filled to the
/// byte). The last file that says something counts: it is the newest writer's setting.
fn found_segment_bytes(segments: &[SegmentScan]) -> Result<u32> {
    let mut last_len = None;
    for segment in segments.iter().rev() {
        let len = std::fs::metadata(&segment.data_path)
            .io_context("stat", &segment.data_path)?
            .len();
        last_len = last_len.or(Some(len));
        if u64::from(segment.valid_len) + 2 <= len {
            return Ok(segment_bytes_of_file(len));
        }
    }
    Ok(last_len.map_or(wal_store::DEFAULT_SEGMENT_BYTES, segment_bytes_of_file))
}

/// The segment size of a data file `len` bytes long, as writers create them.
fn segment_bytes_of_file(len: u64) -> u32 {
    let bytes = len.saturating_sub(DATA_FILE_EXTRA_BYTES);
    u32::try_from(bytes)
        .unwrap_or(u32::MAX)
        .max(MIN_SEGMENT_BYTES)
}

/// The rewritten segments, as staged: their files written under pending names, and the
/// journal that installs them.
struct Staged {
    journal: Journal,
    /// Base offsets of the staged segments, in order.
    bases: Vec<u64>,
    /// Every file the journal installs.
    installed: Vec<PathBuf>,
}

/// Lays records out in v2 segments as a v2 writer would (see the module's comment), each
/// finished segment written at once under its pending name.
struct Packer<'a> {
    dir: &'a Path,
    segment_bytes: u32,
    prev_crc: u32,
    /// The segment being filled: its base, record bytes and their file offsets.
    current: Option<(u64, Vec<u8>, Vec<u32>)>,
    /// The log's logical start, when it lies in the rewritten records, and the crc its
    /// entry's record is chained from once rewritten.
    start: Option<u64>,
    start_seed: Option<u32>,
    /// Finished segments: written (sealed, with their index) and journaled.
    staged: Staged,
}

impl<'a> Packer<'a> {
    fn new(dir: &'a Path, segment_bytes: u32, prev_crc: u32) -> Packer<'a> {
        Packer {
            dir,
            segment_bytes,
            prev_crc,
            current: None,
            start: None,
            start_seed: None,
            staged: Staged {
                journal: Journal::default(),
                bases: Vec::new(),
                installed: Vec::new(),
            },
        }
    }

    /// Stages the seed file of the logical start with its new link, if the start lies
    /// in the rewritten records (at the end of them: the last crc). `end` is where the
    /// rewritten records end.
    fn stage_start(&mut self, end: u64) -> Result<()> {
        let Some(start) = self.start else {
            return Ok(());
        };
        let seed = match self.start_seed {
            Some(seed) => seed,
            None if start == end => self.prev_crc,
            None => return Ok(()),
        };
        let path = wal_store::internal::seed::seed_path(self.dir);
        let bytes = wal_store::internal::seed::encode_seed(
            wal_store::internal::seed::LogStart::at(start, seed),
        );
        store_fs::write_atomically(self.dir, &pending_path(&path), &bytes)?;
        self.install(path)
    }

    /// Appends the entry at `offset`, chained from the entry before.
    fn push(&mut self, offset: u64, payload: &[u8]) -> Result<()> {
        if self.start == Some(offset) {
            self.start_seed = Some(self.prev_crc);
        }
        let needed = Codec::V2.record_bytes(payload.len()).ok_or_else(|| {
            RecoveryError::InvalidArgument(format!("entry {offset} is too large for v2"))
        })?;
        let fits = self.current.as_ref().is_some_and(|(_, bytes, _)| {
            bytes.len().saturating_add(needed) <= self.segment_bytes as usize
        });
        if !fits {
            self.finish_segment()?;
        }
        let (_, bytes, offsets) = self
            .current
            .get_or_insert_with(|| (offset, Vec::new(), Vec::new()));
        let start = bytes.len();
        let at = u32::try_from(start).map_err(|_| {
            RecoveryError::InvalidArgument(format!("entry {offset} lies past 4 GiB in a segment"))
        })?;
        bytes.resize(start + needed, 0);
        let encoded = Codec::V2
            .encode_record(
                bytes.get_mut(start..).unwrap_or_default(),
                self.prev_crc,
                payload,
            )
            .map_err(|e| RecoveryError::InvalidArgument(e.to_string()))?;
        self.prev_crc = encoded.crc.unwrap_or(self.prev_crc);
        offsets.push(at);
        if bytes.len() > self.segment_bytes as usize {
            // An entry larger than a segment: its segment is sealed at once.
            self.finish_segment()?;
        }
        Ok(())
    }

    /// Seals the segment being filled, if any: its data and index files are written
    /// under their pending names, and journaled.
    fn finish_segment(&mut self) -> Result<()> {
        let Some((base, bytes, offsets)) = self.current.take() else {
            return Ok(());
        };
        self.stage_data(base, &bytes)?;
        let index_path = naming::index_path(self.dir, base, Codec::V2);
        let pending = pending_path(&index_path);
        store_fs::write_index(self.dir, &pending, base, Codec::V2, &offsets)?;
        self.install(index_path)
    }

    fn stage_data(&mut self, base: u64, bytes: &[u8]) -> Result<()> {
        let records = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let len = data_file_bytes(records.max(self.segment_bytes));
        let data_path = naming::data_path(self.dir, base, Codec::V2);
        store_fs::create_with_content(self.dir, &pending_path(&data_path), bytes, len)?;
        self.install(data_path)?;
        self.staged.bases.push(base);
        Ok(())
    }

    /// Stages the last segment (the active one: no index), which is a new, empty one at
    /// `end` when the last records were sealed; then journals the removal of every file of
    /// the `replaced` segments that nothing was installed over.
    fn finish(mut self, end: u64, replaced: &[SegmentScan]) -> Result<Staged> {
        let (base, bytes) = match self.current.take() {
            Some((base, bytes, _)) => (base, bytes),
            None => (end, Vec::new()),
        };
        self.stage_data(base, &bytes)?;
        // Removals come after every install in the journal: rolled forward again after a
        // crash, a removal must never hit a file already installed under the same name.
        let mut removals: Vec<PathBuf> = replaced
            .iter()
            .flat_map(|s| [s.data_path.clone(), s.index_path.clone()])
            .collect();
        // The active segment has no index, whatever was at its base before.
        removals.push(naming::index_path(self.dir, base, Codec::V2));
        for path in removals {
            if !self.staged.installed.contains(&path) {
                self.staged.journal.remove(&path)?;
            }
        }
        Ok(self.staged)
    }

    /// Journals `path` to be installed from its pending file.
    fn install(&mut self, path: PathBuf) -> Result<()> {
        self.staged.journal.install(&path)?;
        self.staged.installed.push(path);
        Ok(())
    }
}
