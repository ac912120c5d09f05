//! The raw baselines: no log, no index, no recovery; only the bytes a log must write.
//!
//! Every record is framed the same way: payload length and CRC-32C of the payload (two
//! little-endian u32s), then the payload, back to back in one file, so the baselines
//! do the same checksum work as the logs (walrs's v2 header is 12 bytes).
//!
//! - [`PlainFile`]: a new file written through a 1 MiB `BufWriter`; a sync is `flush` +
//!   `sync_data`. Every sync of a growing file also commits its new size.
//! - [`PwritePrezeroed`]: a file zero-filled (real writes) and fsynced beforehand,
//!   overwritten in place with one `pwrite` per record; a sync is `fdatasync`, which then
//!   has no metadata to commit. The fastest way to make one record durable.
//! - [`MmapPrealloc`]: a file preallocated with `fallocate` (as walrs prepares its
//!   segments) and mapped; records are copied into the mapping; a sync is
//!   `msync(MS_SYNC)` of the bytes written since the last sync.
//!
//! Reading back (workload E): [`PlainFile`] reads the file through a 1 MiB `BufReader`
//! and checks every crc; [`MmapPrealloc`] maps the same file read-only and parses it in
//! place.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use memmap2::{Mmap, MmapOptions, MmapRaw};

use crate::fsutil::{self, FRAME_HEADER_BYTES, frame_header, parse_header};
use crate::payload::Payloads;
use crate::subject::{Kind, PROGRESS_EVERY, Subject, check_read};
use crate::{Result, threads};

/// Name of the one file of a baseline.
const FILE_NAME: &str = "records.bin";
/// Write and read buffer of the plain file.
const BUFFER_BYTES: usize = 1 << 20;

/// A plain file through a 1 MiB `BufWriter`.
#[derive(Debug, Clone, Copy)]
pub struct PlainFile;

/// A pre-zeroed file, `pwrite` per record, `fdatasync` per sync.
#[derive(Debug, Clone, Copy)]
pub struct PwritePrezeroed;

/// A file preallocated with `fallocate` and mapped; records copied in; `msync`.
#[derive(Debug, Clone, Copy)]
pub struct MmapPrealloc;

/// A diagnostic baseline (not in the criterion groups; run it with the `probe` example):
/// [`MmapPrealloc`] over a pre-zeroed file mapped with `MAP_POPULATE`, so that no append
/// takes a page fault. What a mapped log could reach if its next segment's pages were
/// written and faulted in ahead of time.
#[derive(Debug, Clone, Copy)]
pub struct MmapPopulated;

fn record_bytes(payloads: &Payloads, n: u64) -> u64 {
    n * (FRAME_HEADER_BYTES + payloads.size()) as u64
}

fn new_file(dir: &Path) -> io::Result<File> {
    let file = File::create(dir.join(FILE_NAME))?;
    fsutil::sync_dir(dir)?;
    Ok(file)
}

#[inline]
fn write_record(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    out.write_all(&frame_header(payload))?;
    out.write_all(payload)
}

/// Fills `scratch` with the framed record of `payload`.
#[inline]
fn frame_into(scratch: &mut Vec<u8>, payload: &[u8]) {
    scratch.clear();
    scratch.extend_from_slice(&frame_header(payload));
    scratch.extend_from_slice(payload);
}

/// Parses framed records from `bytes` until a zero length or the end; checks each crc.
/// Returns (count, payload bytes, a value depending on every payload).
fn parse_all(bytes: &[u8]) -> Result<(u64, u64, u64)> {
    let (mut count, mut total, mut acc) = (0u64, 0u64, 0u64);
    let mut at = 0;
    while at + FRAME_HEADER_BYTES <= bytes.len() {
        let (len, crc) = parse_header(&bytes[at..at + FRAME_HEADER_BYTES]);
        if len == 0 {
            break;
        }
        let payload = bytes
            .get(at + FRAME_HEADER_BYTES..at + FRAME_HEADER_BYTES + len)
            .ok_or("record past the end of the file")?;
        if crc32c::crc32c(payload) != crc {
            return Err(format!("crc mismatch at file offset {at}").into());
        }
        count += 1;
        total += len as u64;
        acc = acc.wrapping_add(u64::from(payload[0]));
        at += FRAME_HEADER_BYTES + len;
    }
    Ok((count, total, acc))
}

impl Subject for PlainFile {
    fn name(&self) -> &'static str {
        "plain-bufwriter"
    }

    fn kind(&self) -> Kind {
        Kind::Baseline
    }

    fn bulk(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Duration> {
        let mut out = BufWriter::with_capacity(BUFFER_BYTES, new_file(dir)?);
        let started = Instant::now();
        for i in 0..n {
            write_record(&mut out, payloads.get(i))?;
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1);
            }
        }
        out.flush()?;
        out.get_ref().sync_data()?;
        Ok(started.elapsed())
    }

    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let mut out = BufWriter::with_capacity(BUFFER_BYTES, new_file(dir)?);
        let started = Instant::now();
        for i in 0..n {
            let op = Instant::now();
            write_record(&mut out, payloads.get(i))?;
            out.flush()?;
            out.get_ref().sync_data()?;
            latencies.push(op.elapsed().as_nanos() as u64);
        }
        Ok(started.elapsed())
    }

    fn durable_threads(
        &self,
        dir: &Path,
        payloads: &Payloads,
        threads: usize,
        per_thread: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let file = new_file(dir)?;
        let sync_handle = file.try_clone()?;
        let out = Mutex::new(BufWriter::with_capacity(BUFFER_BYTES, file));
        threads::run(threads, per_thread, latencies, |t, i| {
            {
                let mut out = out.lock().map_err(|_| "writer mutex poisoned")?;
                write_record(&mut *out, payloads.get(t as u64 * per_thread + i))?;
                out.flush()?;
            }
            sync_handle.sync_data()?;
            Ok(())
        })
    }

    fn dataset_key(&self) -> &'static str {
        "plain"
    }

    fn read_all(&self, dir: &Path, n: u64, size: usize) -> Result<Duration> {
        let (mut count, mut bytes, mut acc) = (0u64, 0u64, 0u64);
        let mut payload = vec![0u8; size];
        let mut header = [0u8; FRAME_HEADER_BYTES];
        let started = Instant::now();
        let mut input = BufReader::with_capacity(BUFFER_BYTES, File::open(dir.join(FILE_NAME))?);
        loop {
            match input.read_exact(&mut header) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
            let (len, crc) = parse_header(&header);
            if len == 0 {
                break;
            }
            if payload.len() < len {
                payload.resize(len, 0);
            }
            input.read_exact(&mut payload[..len])?;
            if crc32c::crc32c(&payload[..len]) != crc {
                return Err(format!("crc mismatch in record {count}").into());
            }
            count += 1;
            bytes += len as u64;
            acc = acc.wrapping_add(u64::from(payload[0]));
        }
        let elapsed = started.elapsed();
        black_box(acc);
        check_read(self.name(), count, bytes, n, size)?;
        Ok(elapsed)
    }
}

impl Subject for PwritePrezeroed {
    fn name(&self) -> &'static str {
        "pwrite-prezeroed"
    }

    fn kind(&self) -> Kind {
        Kind::Baseline
    }

    fn bulk(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Duration> {
        let len = fsutil::round_up_mib(record_bytes(payloads, n));
        let file = fsutil::create_prezeroed(&dir.join(FILE_NAME), len)?;
        let mut scratch = Vec::with_capacity(FRAME_HEADER_BYTES + payloads.size());
        let mut at = 0u64;
        let started = Instant::now();
        for i in 0..n {
            frame_into(&mut scratch, payloads.get(i));
            file.write_all_at(&scratch, at)?;
            at += scratch.len() as u64;
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1);
            }
        }
        file.sync_data()?;
        Ok(started.elapsed())
    }

    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let len = fsutil::round_up_mib(record_bytes(payloads, n));
        let file = fsutil::create_prezeroed(&dir.join(FILE_NAME), len)?;
        let mut scratch = Vec::with_capacity(FRAME_HEADER_BYTES + payloads.size());
        let mut at = 0u64;
        let started = Instant::now();
        for i in 0..n {
            let op = Instant::now();
            frame_into(&mut scratch, payloads.get(i));
            file.write_all_at(&scratch, at)?;
            file.sync_data()?;
            at += scratch.len() as u64;
            latencies.push(op.elapsed().as_nanos() as u64);
        }
        Ok(started.elapsed())
    }

    fn durable_threads(
        &self,
        dir: &Path,
        payloads: &Payloads,
        threads: usize,
        per_thread: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let total = threads as u64 * per_thread;
        let len = fsutil::round_up_mib(record_bytes(payloads, total));
        let file = fsutil::create_prezeroed(&dir.join(FILE_NAME), len)?;
        let next_at = AtomicU64::new(0);
        let record_len = (FRAME_HEADER_BYTES + payloads.size()) as u64;
        threads::run(threads, per_thread, latencies, |t, i| {
            let mut scratch = Vec::with_capacity(record_len as usize);
            frame_into(&mut scratch, payloads.get(t as u64 * per_thread + i));
            let at = next_at.fetch_add(record_len, Ordering::Relaxed);
            file.write_all_at(&scratch, at)?;
            file.sync_data()?;
            Ok(())
        })
    }
}

/// A preallocated, mapped file, ready for records.
struct Mapped {
    _file: File,
    map: MmapRaw,
}

impl Mapped {
    fn create(dir: &Path, len: u64) -> io::Result<Mapped> {
        let file = fsutil::create_fallocated(&dir.join(FILE_NAME), len)?;
        let map = MmapOptions::new().len(len as usize).map_raw(&file)?;
        Ok(Mapped { _file: file, map })
    }

    fn create_populated(dir: &Path, len: u64) -> io::Result<Mapped> {
        let file = fsutil::create_prezeroed(&dir.join(FILE_NAME), len)?;
        let map = MmapOptions::new().len(len as usize).populate().map_raw(&file)?;
        Ok(Mapped { _file: file, map })
    }

    /// Copies the framed record of `payload` to `at`; returns its length.
    #[inline]
    fn put(&self, at: usize, payload: &[u8]) -> usize {
        let header = frame_header(payload);
        let end = at + FRAME_HEADER_BYTES + payload.len();
        assert!(end <= self.map.len(), "record past the end of the mapping");
        // SAFETY: `at..end` lies inside the live mapping (checked above), and every
        // writer writes a range of its own (each got `at` from a fetch_add or is alone),
        // so no two writes overlap and nothing reads these bytes meanwhile.
        unsafe {
            let dst = self.map.as_mut_ptr().add(at);
            std::ptr::copy_nonoverlapping(header.as_ptr(), dst, FRAME_HEADER_BYTES);
            std::ptr::copy_nonoverlapping(
                payload.as_ptr(),
                dst.add(FRAME_HEADER_BYTES),
                payload.len(),
            );
        }
        FRAME_HEADER_BYTES + payload.len()
    }
}

impl Subject for MmapPrealloc {
    fn name(&self) -> &'static str {
        "mmap-prealloc"
    }

    fn kind(&self) -> Kind {
        Kind::Baseline
    }

    fn bulk(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Duration> {
        let mapped = Mapped::create(dir, fsutil::round_up_mib(record_bytes(payloads, n)))?;
        let mut at = 0usize;
        let started = Instant::now();
        for i in 0..n {
            at += mapped.put(at, payloads.get(i));
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1);
            }
        }
        mapped.map.flush_range(0, at)?;
        Ok(started.elapsed())
    }

    fn durable(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let mapped = Mapped::create(dir, fsutil::round_up_mib(record_bytes(payloads, n)))?;
        let mut at = 0usize;
        let started = Instant::now();
        for i in 0..n {
            let op = Instant::now();
            let len = mapped.put(at, payloads.get(i));
            mapped.map.flush_range(at, len)?;
            at += len;
            latencies.push(op.elapsed().as_nanos() as u64);
        }
        Ok(started.elapsed())
    }

    fn durable_threads(
        &self,
        dir: &Path,
        payloads: &Payloads,
        threads: usize,
        per_thread: u64,
        latencies: &mut Vec<u64>,
    ) -> Result<Duration> {
        let total = threads as u64 * per_thread;
        let mapped = Mapped::create(dir, fsutil::round_up_mib(record_bytes(payloads, total)))?;
        let next_at = AtomicU64::new(0);
        let record_len = (FRAME_HEADER_BYTES + payloads.size()) as u64;
        threads::run(threads, per_thread, latencies, |t, i| {
            let at = next_at.fetch_add(record_len, Ordering::Relaxed) as usize;
            let len = mapped.put(at, payloads.get(t as u64 * per_thread + i));
            mapped.map.flush_range(at, len)?;
            Ok(())
        })
    }

    fn dataset_key(&self) -> &'static str {
        "plain"
    }

    fn write_dataset(&self, dir: &Path, payloads: &Payloads, n: u64) -> Result<()> {
        PlainFile.write_dataset(dir, payloads, n)
    }

    fn read_all(&self, dir: &Path, n: u64, size: usize) -> Result<Duration> {
        let started = Instant::now();
        let file = File::open(dir.join(FILE_NAME))?;
        // SAFETY: the file is private to this benchmark and nobody writes or truncates it
        // while it is mapped.
        let map = unsafe { Mmap::map(&file)? };
        let (count, bytes, acc) = parse_all(&map)?;
        let elapsed = started.elapsed();
        black_box(acc);
        check_read(self.name(), count, bytes, n, size)?;
        Ok(elapsed)
    }
}

impl Subject for MmapPopulated {
    fn name(&self) -> &'static str {
        "mmap-populated"
    }

    fn kind(&self) -> Kind {
        Kind::Baseline
    }

    fn bulk(
        &self,
        dir: &Path,
        payloads: &Payloads,
        n: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Duration> {
        let mapped =
            Mapped::create_populated(dir, fsutil::round_up_mib(record_bytes(payloads, n)))?;
        let mut at = 0usize;
        let started = Instant::now();
        for i in 0..n {
            at += mapped.put(at, payloads.get(i));
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1);
            }
        }
        mapped.map.flush_range(0, at)?;
        Ok(started.elapsed())
    }
}
