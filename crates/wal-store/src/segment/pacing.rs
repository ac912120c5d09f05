//! How a segment paces its writes against the page cache and the disk: three rules, each
//! kept because it measured as a gain (figures in docs/ARCHITECTURE.md, "The mmap
//! contract"), with the constants that tune them. None of them changes what is durable:
//! only a sync moves the synced length.
//!
//! Read-around ([`SMALL_SYNC_BYTES`], 1 MiB). A writable mapping starts with the kernel's
//! default advice: a fault reads (or zero-fills) a whole chunk around the page, which makes
//! a bulk load fault a fraction as often. But the chunks become large folios, and an msync
//! writes back every dirty folio it touches whole, so a log synced in small steps would
//! write up to 1 MiB at each sync. The first sync of fewer than 1 MiB (the largest folio
//! read around here) turns read-around off for the rest of the segment
//! ([`before_sync`](Segment::before_sync)).
//!
//! Write-behind ([`WRITE_BEHIND_BYTES`] 8 MiB, [`WRITE_BEHIND_LAG`] 4 MiB,
//! [`WRITE_BEHIND_ALIGN`] 2 MiB). When appends have left more than 8 MiB neither synced nor
//! being written back, up to a point 4 MiB behind the writer (so that no page the writer may
//! still write is written back: it would fault again, or wait on a disk that needs stable
//! pages), rounded down to 2 MiB (the largest folio here), the appender starts their
//! writeback and does not wait ([`write_behind`](Segment::write_behind)): the next sync, or
//! the seal of a full segment, then waits only for what is left. Small syncs keep the
//! backlog below the threshold, so durable appends never start it.
//!
//! Zeros ahead ([`TINY_SYNC_BYTES`] 16 KiB, [`ZERO_AHEAD_BYTES`] 256 KiB,
//! [`ZERO_AHEAD_LEAD`] 64 KiB, [`PAGE_BYTES`] 4 KiB). The sync that first writes a
//! preallocated block also converts it, which makes that sync write the inode too. Once a
//! sync of fewer than 16 KiB has run on a segment (it is synced a few pages at a time), an
//! append that would end within 64 KiB of the bytes written so far first writes the next
//! 256 KiB past them, from a page boundary (the unit in which blocks are converted and
//! msync writes), with zeros and msyncs them: one conversion per 256 KiB, off the records'
//! syncs ([`zero_ahead`](Segment::zero_ahead)).

use std::sync::atomic::Ordering;

use crate::error::{IoContext, Result};
use crate::fs;
use crate::segment::{Body, Segment};

/// A sync of fewer bytes than this turns read-around off for the segment (see
/// `SegmentMap::expect_small_syncs`): 1 MiB, the largest folio a fault read around here.
const SMALL_SYNC_BYTES: u32 = 1 << 20;

/// Appended bytes not yet synced, beyond which their writeback is started (see
/// [`Segment::append`]): 8 MiB.
const WRITE_BEHIND_BYTES: u32 = 8 << 20;
/// Bytes just behind the write position left out of an early writeback, so that no page
/// the writer may still write is written back (it would fault again, or on a disk that
/// needs stable pages, wait): 4 MiB, rounded down to 2 MiB, the largest folio here.
const WRITE_BEHIND_LAG: u32 = 4 << 20;
const WRITE_BEHIND_ALIGN: u32 = 2 << 20;

/// A sync of fewer bytes than this marks the segment as synced a few pages at a time,
/// which makes appends zero ahead of themselves (see [`Segment::zero_ahead`]): 16 KiB.
const TINY_SYNC_BYTES: u32 = 16 << 10;
/// How much an append zeroes ahead at a time (see [`Segment::zero_ahead`]): 256 KiB.
const ZERO_AHEAD_BYTES: usize = 256 << 10;
/// How close an append may come to the end of the zeroed bytes before more are zeroed:
/// 64 KiB.
pub(crate) const ZERO_AHEAD_LEAD: usize = 64 << 10;
/// The unit in which the file system converts written blocks, and msync writes.
const PAGE_BYTES: usize = 4096;

impl Segment {
    /// Before a sync of `bytes` bytes of this segment: a sync of fewer than
    /// [`SMALL_SYNC_BYTES`] turns read-around off, and one of fewer than
    /// [`TINY_SYNC_BYTES`] makes appends zero ahead from then on.
    pub(super) fn before_sync(&self, body: &Body, bytes: u32) {
        // A log synced in small steps (a durable append each time, group commit, a
        // short interval) would write back whole read-around chunks at every sync:
        // from the first small sync on, this segment faults page by page instead. A
        // bulk load, synced rarely, keeps the cheaper faults.
        // The advice only changes speed: a refusal is logged, not an error.
        if bytes < SMALL_SYNC_BYTES {
            match body.map.expect_small_syncs() {
                // Zeros written ahead are worth it only once faults stay single pages.
                Ok(true) if bytes < TINY_SYNC_BYTES => {
                    self.tiny_syncs.store(true, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => log::warn!(
                    target: "wal_store::segment",
                    "madvise(MADV_RANDOM) on {}: {e}",
                    self.data_path.display()
                ),
            }
        }
    }

    /// Starts the writeback of what lies more than [`WRITE_BEHIND_LAG`] behind `end`, once
    /// that is at least [`WRITE_BEHIND_BYTES`] not synced or being written back already.
    pub(super) fn write_behind(&self, body: &Body, end: u32) {
        let from = self
            .written_back
            .load(Ordering::Relaxed)
            .max(self.synced_len());
        let to = end.saturating_sub(WRITE_BEHIND_LAG) / WRITE_BEHIND_ALIGN * WRITE_BEHIND_ALIGN;
        if to <= from || to - from < WRITE_BEHIND_BYTES {
            return;
        }
        self.written_back.store(to, Ordering::Relaxed);
        if let Err(e) = fs::start_writeback(&body.file, u64::from(from)..u64::from(to)) {
            log::debug!(
                target: "wal_store::segment",
                "starting writeback of {}: {e}",
                self.data_path.display()
            );
        }
    }

    /// Whether, before a record of `needed` bytes is appended, this segment has to zero
    /// ahead (see [`zero_ahead`](Segment::zero_ahead)): it is synced a few pages at a time,
    /// and the record would end within [`ZERO_AHEAD_LEAD`] of the zeros written so far.
    #[inline]
    pub(crate) fn zero_ahead_due(&self, needed: usize) -> bool {
        if !self.tiny_syncs.load(Ordering::Relaxed) {
            return false;
        }
        let zeroed = self.zeroed_to.load(Ordering::Relaxed) as usize;
        zeroed < self.capacity()
            && (self.data_len() as usize)
                .saturating_add(needed)
                .saturating_add(ZERO_AHEAD_LEAD)
                > zeroed
    }

    /// Before a record of `needed` bytes is appended to a segment synced a few pages at a
    /// time (a durable append each time, group commit), when
    /// [`zero_ahead_due`](Segment::zero_ahead_due): writes the next [`ZERO_AHEAD_BYTES`]
    /// after the bytes written so far with zeros, and msyncs them.
    ///
    /// The data file is preallocated, and a preallocated block is unwritten until
    /// something is written to it: the first sync that writes a block also converts it,
    /// which changes the file's extent map and so makes the sync write the inode too.
    /// Synced page by page, that happens at every sync that reaches a new page (a
    /// quarter of the durable appends of 1 KiB; 100 B appends crossing into a new page
    /// took 175 us against 90 us for the others here). Zeros written ahead convert the
    /// blocks in one go, a chunk at a time, off the syncs of the records.
    ///
    /// Only bytes past every record are written, by the holder of the log's tail, which
    /// alone appends: they are zeros already, no reader looks at them, and a crash leaves
    /// zeros there either way. The zeros go through the mapping after read-around was
    /// turned off (by the first small sync), so their pages stay single pages that the
    /// records' syncs write back alone. The msync is a sync of the segment's data like
    /// any other: the caller runs it as the log runs every such sync (one at a time, a
    /// failure poisoning the log), since it may report a writeback error of the records.
    pub(crate) fn zero_ahead(&self, needed: usize) -> Result<()> {
        if !self.zero_ahead_due(needed) {
            return Ok(());
        }
        let data_len = self.data_len() as usize;
        let zeroed = self.zeroed_to.load(Ordering::Relaxed) as usize;
        let body = self.body()?;
        let from = zeroed.max(data_len.next_multiple_of(PAGE_BYTES));
        let to = from.saturating_add(ZERO_AHEAD_BYTES).min(body.map.len());
        if from >= to {
            // Nothing left to zero before the end of the file: not due again.
            self.zeroed_to.store(
                u32::try_from(body.map.len()).unwrap_or(u32::MAX),
                Ordering::Relaxed,
            );
            return Ok(());
        }
        if !body.map.zero(from..to) {
            return Ok(());
        }
        body.map
            .flush(from..to, &self.data_path)
            .io_context("msync", &self.data_path)?;
        self.zeroed_to
            .store(u32::try_from(to).unwrap_or(u32::MAX), Ordering::Relaxed);
        Ok(())
    }

    /// Where the zeros written ahead end (the bytes written so far when none were).
    #[cfg(test)]
    pub(crate) fn zeroed_to(&self) -> usize {
        self.zeroed_to.load(Ordering::Relaxed) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wal_format::Codec;

    #[test]
    fn a_small_sync_turns_read_around_off_and_a_large_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let bulk = Segment::create(dir.path(), 0, Codec::V2, 4 << 20).unwrap();
        let mut prev = 0;
        while bulk.data_len() < SMALL_SYNC_BYTES {
            prev = bulk.append(prev, &[7; 4000]).unwrap().crc.unwrap_or(0);
        }
        bulk.flush_to(bulk.data_len()).unwrap();
        assert!(
            !bulk.body().unwrap().map.is_random_advised(),
            "a 1 MiB sync is not small"
        );
        bulk.append(prev, &[8; 100]).unwrap();
        bulk.flush_to(bulk.data_len()).unwrap();
        assert!(
            bulk.body().unwrap().map.is_random_advised(),
            "a 112-byte sync is small"
        );

        let durable = Segment::create(dir.path(), 1 << 20, Codec::V2, 4 << 20).unwrap();
        durable.append(0, &[9; 100]).unwrap();
        assert!(
            !durable.body().unwrap().map.is_random_advised(),
            "advice changes at a sync only"
        );
        durable.flush_to(durable.data_len()).unwrap();
        assert!(durable.body().unwrap().map.is_random_advised());
    }

    #[test]
    fn a_long_unsynced_run_is_written_back_behind_the_writer_and_claimed_durable_only_by_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let segment = Segment::create(dir.path(), 0, Codec::V2, 32 << 20).unwrap();
        let mut prev = 0;
        let mut append = |segment: &Segment, until: u32| {
            while segment.data_len() < until {
                prev = segment.append(prev, &[3; 4000]).unwrap().crc.unwrap_or(0);
            }
        };
        append(&segment, WRITE_BEHIND_BYTES);
        assert_eq!(
            segment.written_back.load(Ordering::Acquire),
            0,
            "less than the lag plus a step behind"
        );
        append(&segment, 20 << 20);
        let written_back = segment.written_back.load(Ordering::Acquire);
        let end = segment.data_len();
        assert!(written_back >= WRITE_BEHIND_BYTES, "{written_back}");
        assert_eq!(written_back % WRITE_BEHIND_ALIGN, 0);
        assert!(
            written_back <= end - WRITE_BEHIND_LAG,
            "{written_back} of {end}"
        );
        assert_eq!(
            segment.synced_len(),
            0,
            "a writeback started is not durable"
        );
        segment.flush_to(end).unwrap();
        assert_eq!(segment.synced_len(), end);

        // Synced in small steps, as durable appends are: nothing is ever started early.
        let durable = Segment::create(dir.path(), 1 << 30, Codec::V2, 32 << 20).unwrap();
        let mut prev = 0;
        let step = vec![4; 60_000];
        while durable.data_len() < 20 << 20 {
            prev = durable.append(prev, &step).unwrap().crc.unwrap_or(0);
            durable.flush_to(durable.data_len()).unwrap();
        }
        assert_eq!(durable.written_back.load(Ordering::Acquire), 0);

        // A truncation below the mark lowers it with the data.
        segment.cut(10).unwrap();
        assert!(segment.written_back.load(Ordering::Acquire) <= segment.data_len());
    }

    #[test]
    fn appends_synced_a_few_pages_at_a_time_zero_ahead_of_themselves_and_never_over_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let len = 1 << 20;
        let segment = Segment::create(dir.path(), 0, Codec::V2, len).unwrap();
        let payload = |i: usize| vec![u8::try_from(i % 251).unwrap() + 1; 100 + i % 900];
        let mut prev = 0;
        let mut appended = 0;
        // The first record's sync is tiny: from then on appends zero ahead.
        loop {
            let needed = 12 + payload(appended).len();
            if segment.data_len() as usize + needed > len as usize {
                break;
            }
            if segment.zero_ahead_due(needed) {
                segment.zero_ahead(needed).unwrap();
            }
            let zeroed = segment.zeroed_to.load(Ordering::Relaxed) as usize;
            let end = segment.data_len() as usize + needed;
            if appended > 0 {
                assert!(
                    zeroed >= (end + ZERO_AHEAD_LEAD).min(len as usize),
                    "record {appended} ends at {end}, zeros end at {zeroed}"
                );
                assert!(
                    zeroed <= end.next_multiple_of(PAGE_BYTES) + ZERO_AHEAD_LEAD + ZERO_AHEAD_BYTES
                );
            }
            prev = segment
                .append(prev, &payload(appended))
                .unwrap()
                .crc
                .unwrap_or(0);
            segment.flush_to(segment.data_len()).unwrap();
            appended += 1;
        }
        assert!(segment.tiny_syncs.load(Ordering::Relaxed));
        // Zeroed to the file's end, one byte past the segment size.
        assert_eq!(segment.zeroed_to.load(Ordering::Relaxed), len + 1);
        // Every record is as appended, and the bytes after the last are zeros.
        segment.publish(segment.data_len());
        for i in 0..appended {
            assert_eq!(segment.read(i as u64).unwrap().payload, payload(i));
        }
        let bytes = std::fs::read(&segment.data_path).unwrap();
        assert!(bytes[segment.data_len() as usize..].iter().all(|&b| b == 0));

        // A log synced rarely, or in larger steps, never zeroes ahead.
        let bulk = Segment::create(dir.path(), 1 << 20, Codec::V2, len).unwrap();
        let mut prev = 0;
        while (bulk.data_len() as usize) < (len as usize) / 2 {
            assert!(!bulk.zero_ahead_due(4012));
            prev = bulk.append(prev, &[5; 4000]).unwrap().crc.unwrap_or(0);
            if bulk.data_len().is_multiple_of(8 * 4012) {
                bulk.flush_to(bulk.data_len()).unwrap();
            }
        }
        assert!(!bulk.tiny_syncs.load(Ordering::Relaxed));
        assert_eq!(bulk.zeroed_to.load(Ordering::Relaxed), 0);
    }
}
