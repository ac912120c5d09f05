//! Opening a log: loading a directory's segments (or starting an empty log), building
//! the state its threads share, and the deferred sealed segments checked before the log
//! first changes.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::closed;
use crate::error::{Result, StoreError};
use crate::holes;
use crate::lock::DirLock;
use crate::options::{SyncPolicy, WalOptions};
use crate::scan::{CheckedSegment, Offered};
use crate::seed::{self, LogStart};
use crate::segment::Segment;
use crate::stats::Counters;
use crate::sync::SyncCoordinator;
use crate::waiters::Waiters;
use crate::wal::Wal;
use crate::wal::durability::IntervalSyncer;
use crate::wal::inner::{Inner, Tail};
use crate::wal::reset;

/// What a log starts from: its segments, oldest first, and where appending goes on.
struct Start {
    segments: Vec<Segment>,
    /// The log's first offset: its logical start (see [`start_from`]).
    first_offset: u64,
    next_offset: u64,
    /// The seed of the next v2 record.
    last_crc: Option<u32>,
    holes: Vec<Range<u64>>,
    /// Whether the active segment was taken from the close record on disk.
    close_record_current: bool,
}

/// [`Wal::open_checked`], with `lock` to be checked as `dir`'s.
pub(super) fn open_checked(
    dir: &Path,
    options: WalOptions,
    lock: DirLock,
    checked: Vec<CheckedSegment>,
    set_aside_before: u64,
) -> Result<Wal> {
    let mut offered = Offered::new(checked, dir, &lock);
    options.validate()?;
    check_lock(dir, &lock)?;
    let start = load_or_create(dir, &options, &mut offered, set_aside_before)?;
    assemble(dir, options, lock, start)
}

/// What [`Wal::open_if_closed_cleanly`] found.
#[derive(Debug)]
pub enum CleanOpen {
    /// The log was closed cleanly, and is open.
    Opened(Wal),
    /// The directory holds no log that a clean close left as it is: no log at all, no
    /// close record, a close record that does not describe the active segment, a holes
    /// file to rewrite, or anything [`Wal::open`] refuses. Nothing was opened or changed
    /// on disk, and the directory's lock is handed back, still held. So is a log the
    /// caller's own conditions refused.
    NotClean(DirLock),
}

/// [`Wal::open_if_closed_cleanly`].
pub(super) fn open_if_closed_cleanly(
    dir: &Path,
    options: WalOptions,
    lock: DirLock,
    accept: impl FnOnce(u64, u64) -> bool,
    set_aside_before: u64,
) -> Result<CleanOpen> {
    options.validate()?;
    check_lock(dir, &lock)?;
    // Whatever stops a plain open here (damage, a missing file, a failed read) is for the
    // caller's full check to find and report: the lock goes back, with no error.
    // So is a reset to finish, or a start past every record (lost entries, which the
    // full check reports).
    let Ok(start) = seed::read_seed(dir) else {
        return Ok(CleanOpen::NotClean(lock));
    };
    if start.is_some_and(|s| s.resetting) {
        return Ok(CleanOpen::NotClean(lock));
    }
    let loaded = match crate::open::load(
        dir,
        &mut Offered::default(),
        set_aside_before,
        start.map(|s| s.offset),
    ) {
        Ok(Some(loaded))
            if loaded.active_from_close_record
                && !loaded.stale_holes
                && start.is_none_or(|s| s.offset <= loaded.next_offset) =>
        {
            loaded
        }
        Ok(_) | Err(_) => return Ok(CleanOpen::NotClean(lock)),
    };
    let base = loaded.segments.first().map_or(0, |s| s.base);
    let first_offset = start.map_or(base, |s| s.offset.max(base));
    if !accept(first_offset, loaded.next_offset) {
        return Ok(CleanOpen::NotClean(lock));
    }
    // A segment that fails its check while the start is placed (the start's record is
    // read) sends the open down the full path, which decides on it; the record stays,
    // so that a refusal there changes nothing.
    // Nothing here is known damaged: a set-aside segment holding the start is checked
    // as any (a failure sends the open down the full path).
    let Ok(mut start) = start_from(dir, loaded, start, &options, false) else {
        return Ok(CleanOpen::NotClean(lock));
    };
    // From here the record is trusted only until a segment it let the open defer fails
    // its check.
    for segment in &mut start.segments {
        segment.forget_close_record_on_failure();
    }
    let wal = assemble(dir, options, lock, start)?;
    // Likewise for damage a read finds (see `Inner::note_damage`).
    wal.inner
        .forgets_close_record_on_damage
        .store(true, Ordering::Release);
    // Segments set aside here are not known damaged (the close record vouches for the
    // log): the log may write its record again, until a read finds damage.
    wal.inner.damage_seen.store(false, Ordering::Release);
    Ok(CleanOpen::Opened(wal))
}

fn check_lock(dir: &Path, lock: &DirLock) -> Result<()> {
    if lock.path().parent() == Some(dir) {
        Ok(())
    } else {
        Err(StoreError::InvalidOption {
            name: "lock",
            value: lock.path().display().to_string(),
            reason: "the lock held is not this directory's",
        })
    }
}

/// The log, built around the segments `start` holds.
fn assemble(dir: &Path, options: WalOptions, lock: DirLock, start: Start) -> Result<Wal> {
    let dir = dir.to_path_buf();
    let Start {
        segments,
        first_offset,
        next_offset,
        last_crc,
        holes,
        close_record_current,
    } = start;
    let close_record_on_disk = closed::exists(&dir)?;
    let deferred_unchecked = segments
        .iter()
        .any(|s| s.is_deferred() && !s.is_set_aside());
    // Segments set aside may hold damage: the next open must check the whole log again,
    // not trust a close record (see `Inner::note_damage`).
    let set_aside = segments.iter().any(Segment::is_set_aside);
    let segments: Vec<Arc<Segment>> = segments.into_iter().map(Arc::new).collect();
    let Some(active) = segments.last() else {
        return Err(StoreError::Layout {
            segment: options.first_offset,
            detail: "no segment after opening".to_owned(),
        });
    };
    let active = Arc::clone(active);
    log::info!(
        target: "wal_store::open",
        "opened {} with {} segments, entries {first_offset}..{next_offset}",
        dir.display(),
        segments.len()
    );
    let inner = Arc::new(Inner {
        tail: Mutex::new(Tail {
            active,
            next_offset,
            last_crc,
            entries_appended: 0,
            payload_bytes_appended: 0,
            close_record_on_disk,
            close_record_current,
            deferred_unchecked,
            sealed_on_disk: false,
        }),
        segments: RwLock::new(segments),
        holes: RwLock::new(holes),
        sync: SyncCoordinator::new(next_offset),
        flushing: Mutex::new(()),
        readable_end: AtomicU64::new(next_offset),
        first_offset: AtomicU64::new(first_offset),
        epoch: AtomicU64::new(0),
        counters: Counters::default(),
        damage_seen: AtomicBool::new(set_aside),
        forgets_close_record_on_damage: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        waiters: Waiters::default(),
        meta_writing: Mutex::new(()),
        dir,
        options,
        _lock: lock,
    });
    let syncer = match inner.options.sync_policy {
        SyncPolicy::Interval(interval) => Some(IntervalSyncer::start(&inner, interval)?),
        _ => None,
    };
    Ok(Wal {
        inner,
        syncer: Mutex::new(syncer),
        flusher: Mutex::new(None),
    })
}

/// The log in `dir` as `open.rs` loads it, or when the directory holds none, a new empty
/// log: its first segment created, no holes left from a log that is gone. A reset that a
/// crash interrupted (the `SEED` file's flag) is finished first. A start past every record
/// without the flag is refused (`StoreError::Layout`): entries were lost.
fn load_or_create(
    dir: &Path,
    options: &WalOptions,
    offered: &mut Offered,
    set_aside_before: u64,
) -> Result<Start> {
    let mut start = seed::read_seed(dir)?;
    if let Some(resetting) = start.filter(|s| s.resetting) {
        let finished = reset::reset_dir(dir, resetting, options)?;
        drop(finished);
        start = Some(LogStart::at(resetting.offset, resetting.crc));
    }
    let loaded = crate::open::load(dir, offered, set_aside_before, start.map(|s| s.offset))?;
    // A plain start past every record is no empty log: every operation syncs the entries
    // it keeps before it records a start, and those that empty the log record it at the
    // records' end. The entries in between were lost; recovery reports them, and only an
    // explicit repair mode may reset the log there. Nothing is deleted here.
    if let (Some(loaded), Some(start)) = (&loaded, start)
        && start.offset > loaded.next_offset
    {
        return Err(StoreError::Layout {
            segment: loaded.segments.last().map_or(start.offset, |s| s.base),
            detail: format!(
                "the SEED file says the log starts at {}, but the records end at {}: entries {}..{} are lost (recovery reports them)",
                start.offset, loaded.next_offset, loaded.next_offset, start.offset
            ),
        });
    }
    Ok(match loaded {
        Some(loaded) => start_from(dir, loaded, start, options, true)?,
        None => {
            // Holes of a log that is gone (every segment removed, the holes file
            // left) would lie in the new log's offsets, which are all written.
            holes::write_holes(dir, &[])?;
            // The seed goes to disk before the first segment: a crash in between leaves a
            // directory with no log, which the next open creates afresh. A v1 log keeps no
            // seed, but a start left by a log that is gone goes before its first segment:
            // it would misplace the new log's start (past its records: lost entries).
            if options.codec.has_crc() {
                seed::write_seed(dir, LogStart::at(options.first_offset, options.seed_crc))?;
            } else if crate::fs::remove_if_present(&seed::seed_path(dir))? {
                crate::fs::sync_dir(dir)?;
            }
            let segment = Segment::create(
                dir,
                options.first_offset,
                options.codec,
                options.segment_bytes,
            )?;
            Start {
                segments: vec![segment],
                first_offset: options.first_offset,
                next_offset: options.first_offset,
                last_crc: options.codec.has_crc().then_some(options.seed_crc),
                holes: Vec::new(),
                close_record_current: false,
            }
        }
    })
}

/// What a log found in `dir` starts from. A holes file that also lists holes outside
/// the log is rewritten first.
///
/// The log's first offset is its logical start, from the `SEED` file (`start`), where
/// that lies past the first segment's base: inside the records, the entries below it are
/// trimmed, and its record must chain from the file's crc; at the records' end, the log
/// is empty and continues there, chained from the file's crc. (Past the end, the caller
/// has refused the log already.) At or below the first segment's base the file is stale
/// and the first record is the start.
fn start_from(
    dir: &Path,
    loaded: crate::open::Loaded,
    start: Option<LogStart>,
    options: &WalOptions,
    trust_set_aside: bool,
) -> Result<Start> {
    // The first segment not wholly below the start (those are trimmed: the segment after
    // them starts at or before it), as recovery's analysis places the start: a start at
    // that segment's base is its first record, not a logical start to check.
    let base = start
        .and_then(|s| {
            loaded
                .segments
                .iter()
                .rev()
                .find(|seg| seg.base <= s.offset)
        })
        .or_else(|| loaded.segments.first())
        .map_or(loaded.next_offset, |s| s.base);
    let logical = start.filter(|s| s.offset > base && s.offset <= loaded.next_offset);
    let first_offset = logical.map_or(base, |s| s.offset);
    let active_has_crc = loaded.segments.last().is_some_and(|s| s.codec.has_crc());
    let last_crc = if first_offset == loaded.next_offset && active_has_crc {
        // An empty log: the chain's seed comes from the seed file, which the disk keeps
        // for its next offset; without one (a directory written before the file
        // existed) or with a stale one, from the options.
        Some(match start {
            Some(kept) if kept.offset == loaded.next_offset => {
                check_seed_agrees(kept, loaded.last_crc)?;
                kept.crc
            }
            _ => loaded.last_crc.unwrap_or(options.seed_crc),
        })
    } else {
        if let Some(start) = logical {
            check_start_record(&loaded.segments, start, trust_set_aside)?;
        }
        loaded.last_crc
    };
    if loaded.stale_holes {
        holes::write_holes(dir, &loaded.holes)?;
    }
    Ok(Start {
        segments: loaded.segments,
        first_offset,
        next_offset: loaded.next_offset,
        last_crc,
        holes: loaded.holes,
        close_record_current: loaded.active_from_close_record,
    })
}

/// Refuses a start file whose crc is not that of the last record, when both are known:
/// the next entry would chain from one of them, and which one is right is not for the
/// open to guess.
fn check_seed_agrees(start: LogStart, last_crc: Option<u32>) -> Result<()> {
    match last_crc {
        Some(crc) if crc != start.crc => Err(StoreError::Layout {
            segment: start.offset,
            detail: format!(
                "the SEED file says the log continues at {} from crc {:#010x}, but its last record's crc is {crc:#010x}",
                start.offset, start.crc
            ),
        }),
        _ => Ok(()),
    }
}

/// Refuses a logical start inside the records whose record does not chain from the start
/// file's crc (a v1 record has no link to check). A start with no record of its own names
/// nothing to check: at the end of a v1 log (which keeps no crc for an empty log), or in
/// a hole (entries recovery recorded as lost, past the end of their segment's records).
/// Nor, with `trust_set_aside` (the full path, whose recovery found the damage the
/// consumer has consumed), does a start in a segment set aside: its records are opened
/// only by a read that reaches them. The clean path checks it as any: a failure there
/// sends the open down the full path.
fn check_start_record(segments: &[Segment], start: LogStart, trust_set_aside: bool) -> Result<()> {
    let index = segments.partition_point(|s| s.base <= start.offset);
    let Some(segment) = index.checked_sub(1).and_then(|i| segments.get(i)) else {
        return Ok(());
    };
    if trust_set_aside && segment.is_set_aside() {
        return Ok(());
    }
    let position = start.offset - segment.base;
    if position >= segment.entries()? {
        return Ok(());
    }
    let entry = segment.entry_unpublished(position)?;
    match entry.prev_crc {
        Some(prev) if prev != start.crc => Err(StoreError::Layout {
            segment: segment.base,
            detail: format!(
                "the SEED file says the log starts at {} chained from {:#010x}, but that entry's record chains from {prev:#010x}",
                start.offset, start.crc
            ),
        }),
        _ => Ok(()),
    }
}

impl Inner {
    /// Opens and checks every sealed segment the open deferred, before the log first
    /// changes: nothing is appended after, or truncated into, a log that has not been
    /// checked whole, as if the open had checked it. A failure is returned to each append
    /// or truncation until the log is reopened through recovery; readers of the other
    /// segments go on.
    #[inline]
    pub(super) fn check_deferred(&self, tail: &mut Tail) -> Result<()> {
        if tail.deferred_unchecked {
            // A failed check is damage, as a read's would be: no close record follows.
            self.note_damage(self.open_deferred(tail))
        } else {
            Ok(())
        }
    }

    #[cold]
    fn open_deferred(&self, tail: &mut Tail) -> Result<()> {
        // Segments wholly below the logical start are trimmed: never read, never checked.
        let first = self.first_offset();
        for segment in self.segments_read()?.iter() {
            if !segment.is_set_aside() && segment.base.saturating_add(segment.entries()?) > first {
                segment.open_if_deferred()?;
            }
        }
        tail.deferred_unchecked = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::lock::DirLock;
    use crate::naming;
    use crate::options::{MIN_SEGMENT_BYTES, WalOptions};
    use crate::scan::{CheckedSegment, DataFileScan};
    use crate::wal::Wal;

    fn options() -> WalOptions {
        WalOptions {
            segment_bytes: MIN_SEGMENT_BYTES * 16,
            ..WalOptions::default()
        }
    }

    fn build(dir: &Path) {
        let wal = Wal::open(dir, options()).unwrap();
        for i in 0..100u8 {
            wal.append(&[i; 40]).unwrap();
        }
        assert!(wal.stats().segments >= 4);
        wal.close().unwrap();
    }

    fn scan(dir: &Path, lock: &DirLock) -> Vec<CheckedSegment> {
        crate::layout::list_segments(dir)
            .unwrap()
            .into_iter()
            .filter_map(|(base, codec)| {
                let path = naming::data_path(dir, base, codec);
                DataFileScan::mapped(lock, &path, codec)
                    .unwrap()
                    .into_checked()
            })
            .collect()
    }

    /// Each segment's entries, and how many of them its first visit will not check
    /// (answered once: the answer is taken).
    fn vouched(wal: &Wal) -> Vec<(u64, u64)> {
        let segments = wal.inner.segments_read().unwrap();
        segments
            .iter()
            .map(|s| (s.entries().unwrap(), s.take_checked()))
            .collect()
    }

    /// Whether no segment's first visit will skip a check (answered once: see
    /// [`vouched`]).
    fn none_vouched(wal: &Wal) -> bool {
        let vouched = vouched(wal);
        vouched
            .iter()
            .all(|&(entries, checked)| entries > 0 && checked == 0)
    }

    #[test]
    fn a_scan_under_the_same_lock_vouches_for_every_record_and_lends_its_maps() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let lock = DirLock::acquire(dir.path()).unwrap();
        let checked = scan(dir.path(), &lock);
        let mapped: Vec<*const u8> = checked.iter().map(CheckedSegment::mapped_at).collect();
        let wal = Wal::open_checked(dir.path(), options(), lock, checked).unwrap();
        let segments: Vec<Option<*const u8>> = {
            let segments = wal.inner.segments_read().unwrap();
            segments.iter().map(|s| s.mapped_at()).collect()
        };
        // The sealed segments read through the scan's mappings (the active one is mapped
        // again, writable).
        assert!(segments.len() >= 4);
        for (i, at) in segments.iter().take(segments.len() - 1).enumerate() {
            assert_eq!(*at, mapped.get(i).copied(), "segment {i}");
        }
        let vouched = vouched(&wal);
        assert!(
            vouched.iter().all(|&(entries, _)| entries > 0),
            "{vouched:?}"
        );
        assert!(vouched.iter().all(|&(entries, checked)| checked == entries));
        // A plain open vouches for nothing.
        wal.close().unwrap();
        let wal = Wal::open(dir.path(), options()).unwrap();
        assert!(none_vouched(&wal));
    }

    #[test]
    fn a_scan_under_another_acquisition_of_the_lock_vouches_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let lock = DirLock::acquire(dir.path()).unwrap();
        let checked = scan(dir.path(), &lock);
        // Released and taken again: another writer may have run in between.
        drop(lock);
        let lock = DirLock::acquire(dir.path()).unwrap();
        let wal = Wal::open_checked(dir.path(), options(), lock, checked).unwrap();
        assert!(none_vouched(&wal));
    }

    #[test]
    fn a_change_through_the_store_after_the_scan_vouches_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let lock = DirLock::acquire(dir.path()).unwrap();
        let checked = scan(dir.path(), &lock);
        // What a repair does (here, writing a file of no segment, which changes no
        // record: the store cannot know that without reading them).
        crate::fs::write_atomically(dir.path(), &dir.path().join("NOTES"), b"x").unwrap();
        let wal = Wal::open_checked(dir.path(), options(), lock, checked).unwrap();
        assert!(none_vouched(&wal));
    }

    #[test]
    fn a_file_whose_times_changed_after_the_scan_is_not_vouched_for() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let lock = DirLock::acquire(dir.path()).unwrap();
        let checked = scan(dir.path(), &lock);
        // Changed by other means than the store's (its modification time, at least).
        let (base, codec) = crate::layout::list_segments(dir.path()).unwrap()[1];
        let path = naming::data_path(dir.path(), base, codec);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(std::time::SystemTime::UNIX_EPOCH)
            .unwrap();
        let wal = Wal::open_checked(dir.path(), options(), lock, checked).unwrap();
        let vouched = vouched(&wal);
        for (i, &(entries, checked)) in vouched.iter().enumerate() {
            let expected = if i == 1 { 0 } else { entries };
            assert_eq!(checked, expected, "segment {i}: {vouched:?}");
        }
    }
}
