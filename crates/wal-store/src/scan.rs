//! The checking scan of a data file, and what it hands back to the store.
//!
//! Recovery must read every record of a log to decide what to trust, and the log it then
//! opens should not read them a second time. The store owns that scan: a
//! [`DataFileScan`] maps a data file under the directory's lock (or reads it, without
//! the lock) and checks its records with the format's [`Scanner`]; recovery classifies
//! what it found through read-only accessors. [`DataFileScan::into_checked`] turns it
//! into a [`CheckedSegment`], which only this module can make and which
//! [`Wal::open_checked`](crate::Wal::open_checked) accepts: the mapping is reused for the
//! very file it was made from, and the records the scan checked are not checked again by
//! the first visit, as long as nothing can have changed them since (see
//! [`Stamp`]). There is no other way to tell the store that bytes were checked.

use std::fs::{File, Metadata};
use std::io;
use std::marker::PhantomData;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use wal_format::{Codec, FileOffset, ScanEnd, Scanner};

use crate::lock::DirLock;
use crate::mmap::SegmentMap;

/// Which file a mapping maps, and how long the file was: a mapping is reused only for the
/// same file at the same length (a mapped page past the end of a file raises SIGBUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    len: u64,
}

impl FileIdentity {
    fn from_metadata(meta: &Metadata) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
        }
    }
}

/// What must be the same when the log opens for a scan's word on a file's records to be
/// taken: the scan and the open hold the very same acquisition of the directory's lock
/// (so no other writer of this library ran in between), no file of the directory was
/// created, opened for writing, written, renamed or removed through the store's system
/// calls since (what recovery does to repair a log), and the file's modification and
/// change times are the ones it had (a write by any other means). When any differs, the
/// mapping may still be reused, but every record is checked as if no scan had run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    lock: u64,
    changes: u64,
    times: FileTimes,
}

/// A file's modification and change times, to the nanosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileTimes {
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileTimes {
    fn from_metadata(meta: &Metadata) -> FileTimes {
        FileTimes {
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// What a scan found in a data file's records (see [`Scanner`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    offsets: Vec<u32>,
    first_prev_crc: Option<u32>,
    valid_len: u32,
    last_crc: Option<u32>,
    end: ScanEnd,
}

fn check_records(codec: Codec, data: &[u8]) -> Found {
    let mut scanner = Scanner::new(codec, data);
    let mut offsets = Vec::new();
    let mut first_prev_crc = None;
    for record in scanner.by_ref() {
        if offsets.is_empty() {
            first_prev_crc = record.prev_crc;
        }
        offsets.push(record.file_offset.0);
    }
    let end = scanner.end().cloned().unwrap_or(ScanEnd::EndOfInput {
        file_offset: scanner.valid_len(),
    });
    Found {
        offsets,
        first_prev_crc,
        valid_len: scanner.valid_len().0,
        last_crc: scanner.last_crc(),
        end,
    }
}

/// Where a scan's bytes live.
#[derive(Debug)]
enum Bytes {
    /// Mapped under the directory's lock (`None` for an empty file, which cannot be
    /// mapped): the first `scan_len` bytes are scanned.
    Mapped {
        map: Option<SegmentMap>,
        scan_len: usize,
        identity: FileIdentity,
        stamp: Stamp,
    },
    /// Read into memory, by a reader without the lock.
    Read(Vec<u8>),
}

/// A data file whose records the store has just checked: the bytes that may hold
/// anything but zeros, the records found in them with their crcs and links checked, and
/// how the data ended. Recovery classifies what it found; made under the directory's lock,
/// it becomes the [`CheckedSegment`] a log opened with
/// [`Wal::open_checked`](crate::Wal::open_checked) reuses. Only this crate makes one.
#[derive(Debug)]
pub struct DataFileScan<'lock> {
    bytes: Bytes,
    codec: Codec,
    found: Found,
    /// A mapping borrows the directory's lock for its whole life: no writer of this
    /// library (in this process or another) can change the file while it is mapped,
    /// because every writer needs that lock, and the lock cannot be handed to a log while
    /// it is borrowed.
    _lock: PhantomData<&'lock DirLock>,
}

impl<'lock> DataFileScan<'lock> {
    /// Maps the data file at `path` (a file of the directory `lock` locks, written with
    /// `codec`; a path in any other directory is refused with
    /// [`io::ErrorKind::InvalidInput`]) for reading and checks its records. Past the file's last data region
    /// every byte reads as zero: the scan stops a page after it, so that the untouched,
    /// preallocated part of a segment is neither read nor faulted in.
    pub fn mapped(
        lock: &'lock DirLock,
        path: &Path,
        codec: Codec,
    ) -> io::Result<DataFileScan<'lock>> {
        // Only the lock's own directory is safe to map: nobody writes its files meanwhile.
        let dir = path.parent().unwrap_or(path);
        if lock.path().parent() != Some(dir) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a checked scan maps only files of the directory whose lock it holds",
            ));
        }
        // Taken before the bytes are read: a change made during the scan counts too.
        let changes = crate::sys::changes_in(dir);
        let file = crate::sys::open_read(path)?;
        let meta = file.metadata()?;
        let identity = FileIdentity::from_metadata(&meta);
        let stamp = Stamp {
            lock: lock.id(),
            changes,
            times: FileTimes::from_metadata(&meta),
        };
        // An empty file cannot be mapped; it reads as no bytes.
        let map = if meta.len() == 0 {
            None
        } else {
            Some(SegmentMap::read_only(&file)?)
        };
        let scan_len = crate::fs::scan_len(crate::fs::data_end(&file)?, meta.len());
        let scan_len = usize::try_from(scan_len).unwrap_or(usize::MAX);
        let data = map.as_ref().map_or(&[][..], |m| m.published(scan_len));
        let found = check_records(codec, data);
        Ok(DataFileScan {
            bytes: Bytes::Mapped {
                map,
                scan_len,
                identity,
                stamp,
            },
            codec,
            found,
            _lock: PhantomData,
        })
    }

    /// Reads the data file at `path` (written with `codec`) into memory and checks its
    /// records: for a reader that does not hold the directory's lock, which must not map a
    /// file a writer may be changing. What it finds cannot be handed to a log.
    pub fn read(path: &Path, codec: Codec) -> io::Result<DataFileScan<'static>> {
        let bytes = crate::fs::read_for_scan(path)?;
        let found = check_records(codec, &bytes);
        Ok(DataFileScan {
            bytes: Bytes::Read(bytes),
            codec,
            found,
            _lock: PhantomData,
        })
    }

    /// The bytes scanned: those that may hold anything but zeros, plus a page of zeros
    /// after them; every later byte of the file reads as zero.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped { map, scan_len, .. } => {
                map.as_ref().map_or(&[], |m| m.published(*scan_len))
            }
            Bytes::Read(bytes) => bytes,
        }
    }

    /// The codec the file was scanned with.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// File offsets of the records of the valid prefix, in order: each one whole, its crc
    /// (v2) and its link to the one before it checked.
    pub fn record_offsets(&self) -> &[u32] {
        &self.found.offsets
    }

    /// The end of the valid prefix: where the next record would go, or where the scan
    /// stopped at a problem.
    pub fn valid_len(&self) -> FileOffset {
        FileOffset(self.found.valid_len)
    }

    /// The previous crc stored by the first record (v2), which links it to the log's
    /// previous entry (not checked: the scan has no seed).
    pub fn first_prev_crc(&self) -> Option<u32> {
        self.found.first_prev_crc
    }

    /// The crc of the last record of the valid prefix (v2).
    pub fn last_crc(&self) -> Option<u32> {
        self.found.last_crc
    }

    /// How the scan ended: cleanly, or at a problem (and which).
    pub fn end(&self) -> &ScanEnd {
        &self.found.end
    }

    /// What the scan found, to hand to
    /// [`Wal::open_checked`](crate::Wal::open_checked) with the lock it was made under;
    /// `None` for a file that was read rather than mapped, or that is empty.
    pub fn into_checked(self) -> Option<CheckedSegment> {
        let Bytes::Mapped {
            map: Some(map),
            identity,
            stamp,
            ..
        } = self.bytes
        else {
            return None;
        };
        Some(CheckedSegment {
            map,
            identity,
            stamp,
            found: self.found,
        })
    }
}

/// What a [`DataFileScan`] under the directory's lock found in a data file, for
/// [`Wal::open_checked`](crate::Wal::open_checked): the read-only mapping the scan read
/// the file through, which the log reads instead of mapping and faulting the pages in a
/// second time, and the records whose crcs the scan checked. It gives no access to the
/// bytes, and only a scan makes one.
///
/// The log takes the mapping only for the file it was made from at the same length (a
/// mapping shows the file's current bytes, so reusing it is the same as mapping the file
/// again), and takes the scan's word on the records only when the same lock was held
/// from the scan to the open and nothing can have changed the file meanwhile; otherwise
/// it checks the records itself.
#[derive(Debug)]
pub struct CheckedSegment {
    map: SegmentMap,
    identity: FileIdentity,
    stamp: Stamp,
    found: Found,
}

#[cfg(test)]
impl CheckedSegment {
    /// Where the scan mapped the file.
    pub(crate) fn mapped_at(&self) -> *const u8 {
        self.map.published(1).as_ptr()
    }
}

/// The records a scan checked in a data file that the open may take its word on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScannedRecords {
    /// File offsets of the records, each checked (crc and link to the one before).
    pub(crate) offsets: Vec<u32>,
    /// Where the last one ends.
    pub(crate) data_len: u32,
    /// The last one's crc.
    pub(crate) last_crc: Option<u32>,
    /// Whether the data ended cleanly after them (no damage, no garbage).
    pub(crate) clean_end: bool,
}

/// What the log takes of an offered [`CheckedSegment`]: the mapping, and the records when
/// their stamp still holds.
pub(crate) struct Taken {
    pub(crate) map: SegmentMap,
    pub(crate) records: Option<ScannedRecords>,
}

/// The [`CheckedSegment`]s offered while a log is opened.
#[derive(Debug, Default)]
pub(crate) struct Offered {
    segments: Vec<CheckedSegment>,
    /// Which acquisition of the lock the log holds.
    lock: u64,
    /// Changes through the system calls in the log's directory, when the open began.
    changes: u64,
}

impl Offered {
    /// The segments offered to a log opening in `dir` under `lock`.
    pub(crate) fn new(segments: Vec<CheckedSegment>, dir: &Path, lock: &DirLock) -> Offered {
        Offered {
            segments,
            lock: lock.id(),
            changes: crate::sys::changes_in(dir),
        }
    }

    /// Whether nothing is offered (a plain open, not one after recovery).
    pub(crate) fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// What was offered for `file`, if anything (same file, same length); the records
    /// only if nothing can have changed them since the scan (see [`Stamp`]).
    pub(crate) fn take(&mut self, file: &File) -> io::Result<Option<Taken>> {
        if self.segments.is_empty() {
            return Ok(None);
        }
        let meta = file.metadata()?;
        let identity = FileIdentity::from_metadata(&meta);
        let Some(i) = self.segments.iter().position(|s| s.identity == identity) else {
            return Ok(None);
        };
        let offered = self.segments.swap_remove(i);
        let stamp = Stamp {
            lock: self.lock,
            changes: self.changes,
            times: FileTimes::from_metadata(&meta),
        };
        let records = (offered.stamp == stamp).then(|| ScannedRecords {
            clean_end: offered.found.end.is_clean(),
            offsets: offered.found.offsets,
            data_len: offered.found.valid_len,
            last_crc: offered.found.last_crc,
        });
        Ok(Some(Taken {
            map: offered.map,
            records,
        }))
    }
}
