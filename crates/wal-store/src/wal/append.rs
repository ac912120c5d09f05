//! Appending: the payload checks, the record written, and what makes room for it
//! (rotating to a new segment, or growing an empty one for a large entry).

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use crate::error::{Result, StoreError};
use crate::options::{ReadVisibility, SyncPolicy};
use crate::segment::Segment;
use crate::wal::inner::{Inner, Tail};
use crate::wal::{Appended, AppendedBatch};

impl Inner {
    pub(super) fn check_payload(&self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() {
            return Err(StoreError::EmptyPayload);
        }
        if payload.len() > self.options.max_entry_bytes {
            return Err(StoreError::EntryTooLarge {
                size: payload.len(),
                max: self.options.max_entry_bytes,
            });
        }
        Ok(())
    }

    /// [`Wal::append_batch`](crate::Wal::append_batch), once its lock is to be taken.
    pub(super) fn append_batch<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<AppendedBatch> {
        let (tail, batch) = self.append_batch_locked(payloads)?;
        self.after_append(tail, batch.last_offset)?;
        Ok(batch)
    }

    /// Appends a batch as [`append_batch`](Inner::append_batch) does, without the sync
    /// policy's sync (nor waking readers), and returns it with the tail still held: for
    /// [`Wal::submit`](crate::Wal::submit), which queues its waiter before letting go.
    pub(super) fn append_batch_unsynced<P: AsRef<[u8]>>(
        &self,
        payloads: &[P],
    ) -> Result<(MutexGuard<'_, Tail>, AppendedBatch)> {
        self.append_batch_locked(payloads)
    }

    /// Wakes the waits for entries visible now (see `waiters.rs`). Called after every
    /// change that may raise the end readers see (an append under
    /// [`ReadVisibility::Appended`], a sync or rotation under `Synced`), once the tail
    /// and the segment list are released, never under them: a waker may poll its future
    /// on the spot, and the future's owner may then read or append.
    pub(super) fn wake_visible(&self) {
        self.waiters.published(self.readable_end());
    }

    /// Appends a batch (every payload checked first, so a bad one appends nothing) and
    /// returns it with the tail still held.
    fn append_batch_locked<P: AsRef<[u8]>>(
        &self,
        payloads: &[P],
    ) -> Result<(MutexGuard<'_, Tail>, AppendedBatch)> {
        if payloads.is_empty() {
            return Err(StoreError::EmptyBatch);
        }
        for payload in payloads {
            self.check_payload(payload.as_ref())?;
        }
        let mut tail = self.lock_tail_open()?;
        let first_offset = tail.next_offset;
        // The whole batch must fit below the largest offset, or none of it is appended.
        if first_offset.checked_add(payloads.len() as u64).is_none() {
            // The first entry of the batch that would get no room: the largest offset.
            return Err(StoreError::OffsetOutOfRange {
                offset: u64::MAX,
                first: self.first_offset(),
                next: first_offset,
                reason: "the batch would pass the largest offset",
            });
        }
        // The limits refuse the whole batch or none of it.
        if let Err(e) = self.make_room_for_batch(&tail, payloads) {
            // A trim for room may have synced, and so made entries visible.
            drop(tail);
            self.wake_visible();
            return Err(e);
        }
        let mut last = None;
        for payload in payloads {
            match self.append_locked(&mut tail, payload.as_ref()) {
                Ok(appended) => last = Some(appended),
                Err(e) => {
                    // The entries appended before the failure may be visible already.
                    drop(tail);
                    self.wake_visible();
                    return Err(e);
                }
            }
        }
        let Some(last) = last else {
            return Err(StoreError::EmptyBatch);
        };
        let batch = AppendedBatch {
            first_offset,
            last_offset: last.offset,
            last_crc: last.crc,
        };
        Ok((tail, batch))
    }

    pub(super) fn append_locked(&self, tail: &mut Tail, payload: &[u8]) -> Result<Appended> {
        if let Some(cause) = self.sync.poisoned_fast() {
            return Err(StoreError::Poisoned { cause });
        }
        let offset = tail.next_offset;
        // Built only when needed: `ok_or` would build (and drop) the error on every append.
        let next_offset = offset
            .checked_add(1)
            .ok_or_else(|| StoreError::OffsetOutOfRange {
                offset,
                first: self.first_offset(),
                next: offset,
                reason: "the log has reached the largest offset",
            })?;
        self.check_deferred(tail)?;
        self.forget_close_record(tail)?;
        let needed = record_bytes(tail.active.codec, payload.len())?;
        if tail.sealed_on_disk || !self.fits(&tail.active, needed) {
            // Room for everything this append adds (a growth or a new segment, and the
            // seal right after a record past the segment size), made once by the batch's
            // rule before anything changes: an append the limits refuse changes nothing,
            // and one they accept is never left unsealed for lack of room.
            self.make_room_for_batch(tail, std::slice::from_ref(&payload))?;
            if tail.active.entries()? == 0 {
                self.grow_active(tail, needed)?;
            } else {
                let needed_new = record_bytes(self.options.codec, payload.len())?;
                self.rotate(tail, needed_new, Room::Made)?;
            }
        }
        if tail.active.zero_ahead_due(needed) {
            self.flush_data(|| tail.active.zero_ahead(needed))?;
        }
        let encoded = tail.active.append(tail.last_crc.unwrap_or(0), payload)?;
        tail.next_offset = next_offset;
        tail.last_crc = encoded.crc;
        tail.entries_appended += 1;
        tail.payload_bytes_appended += payload.len() as u64;
        if self.options.read_visibility == ReadVisibility::Appended {
            tail.active.publish(tail.active.data_len());
            self.readable_end.store(next_offset, Ordering::Release);
        }
        self.seal_if_oversized(tail, Room::Made);
        Ok(Appended {
            offset,
            crc: encoded.crc,
        })
    }

    /// Applies the sync policy after appending up to `last_offset`, and wakes the readers
    /// waiting for what became visible once the tail is released.
    pub(super) fn after_append(&self, tail: MutexGuard<'_, Tail>, last_offset: u64) -> Result<()> {
        match self.options.sync_policy {
            SyncPolicy::Always => {
                let synced = self.sync_holding_tail(&tail);
                drop(tail);
                self.wake_visible();
                // Waiters this sync settled (one load when there are none).
                self.complete_waiters();
                synced
            }
            SyncPolicy::GroupCommit => {
                drop(tail);
                self.wake_visible();
                self.sync_until(last_offset.saturating_add(1))
            }
            SyncPolicy::Interval(_) | SyncPolicy::Manual => {
                drop(tail);
                self.wake_visible();
                Ok(())
            }
        }
    }

    /// Seals the active segment at once when its records reach past the segment size (a
    /// segment grown for an entry larger than a segment, just appended or made active
    /// again by a truncation), so that the last segment never holds records past the
    /// segment size: other readers of the format map only that much of the last segment.
    /// The operation that left it so has happened already, so a failure here is logged,
    /// not returned: the next append, which cannot fit after such a segment, rotates then
    /// (and a failed sync has poisoned the log, which every later call reports). An
    /// append makes the seal's room before it writes ([`Room::Made`]); a truncation frees
    /// at least as much as the seal takes, having dropped the segment that followed.
    pub(super) fn seal_if_oversized(&self, tail: &mut Tail, room: Room) {
        if tail.active.data_len() <= self.options.segment_bytes {
            return;
        }
        if let Err(e) = self.rotate(tail, 0, room) {
            log::warn!(
                target: "wal_store::segment",
                "segment {} holds an entry larger than a segment and could not be sealed: {e}",
                tail.active.base
            );
        }
    }

    /// Whether a record of `needed` bytes fits in `active` after its records: they end
    /// within the log's segment size and within the file (one made for a smaller
    /// segment size, or by another writer, may be shorter).
    #[inline]
    fn fits(&self, active: &Segment, needed: usize) -> bool {
        fits(
            active.data_len() as usize,
            active.capacity(),
            self.options.segment_bytes,
            needed,
        )
    }

    /// Grows the (empty) active segment so that a record of `needed` bytes fits. The
    /// caller has made the room for the growth (see `capacity.rs`).
    fn grow_active(&self, tail: &mut Tail, needed: usize) -> Result<()> {
        let len = u32::try_from(needed.max(self.options.segment_bytes as usize)).map_err(|_| {
            StoreError::EntryTooLarge {
                size: needed,
                max: self.options.max_entry_bytes,
            }
        })?;
        // A full disk here is an error of this append alone; only the fsync is a sync
        // of the segment's data (invariant 6).
        tail.active.grow(len)?;
        self.flush_data(|| tail.active.fsync_file())?;
        let grown = Arc::new(tail.active.remap_writable(&self.dir)?);
        let mut segments = self.segments_write()?;
        if let Some(last) = segments.last_mut() {
            *last = Arc::clone(&grown);
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        drop(segments);
        log::info!(target: "wal_store::segment", "grew segment {} to {len} bytes for a large entry", grown.base);
        tail.active = grown;
        Ok(())
    }

    /// Seals the active segment and starts a new one of at least `needed` bytes.
    ///
    /// Order, for crash safety: the old data is made durable, then its index is written
    /// (temp file, fsync, rename, directory fsync), then the new data file is created the
    /// same way; only then does the log report the old segment's entries durable and
    /// start appending to the new one. Before all that, unless the caller has made it
    /// already, room is made for the new data file (see `capacity.rs`): an append the
    /// limits refuse changes nothing.
    fn rotate(&self, tail: &mut Tail, needed: usize, room: Room) -> Result<()> {
        let len = u32::try_from(needed.max(self.options.segment_bytes as usize)).map_err(|_| {
            StoreError::EntryTooLarge {
                size: needed,
                max: self.options.max_entry_bytes,
            }
        })?;
        if room == Room::ToMake {
            self.make_room(tail, 1, wal_format::data_file_bytes(len))?;
        }
        let old = Arc::clone(&tail.active);
        // Timed from the seal's first sync on, not from the wait for its turn.
        let started = self.flush_data(|| {
            let started = Instant::now();
            old.flush_to(old.data_len())
                .and_then(|()| old.fsync_file())
                .map(|()| started)
        })?;
        old.write_index(&self.dir)?;
        tail.sealed_on_disk = true;
        let sealed = Arc::new(old.sealed(&self.dir)?);
        let new = Arc::new(Segment::create(
            &self.dir,
            tail.next_offset,
            self.options.codec,
            len,
        )?);
        let mut segments = self.segments_write()?;
        if let Some(last) = segments.last_mut() {
            *last = Arc::clone(&sealed);
        }
        segments.push(Arc::clone(&new));
        self.epoch.fetch_add(1, Ordering::AcqRel);
        drop(segments);
        self.counters.rotated();
        self.counters.synced(started.elapsed());
        // Durable first, visible second: a reader that sees an entry always finds it
        // within `last_synced_offset()`.
        self.sync.advance(tail.next_offset);
        sealed.publish(sealed.data_len());
        // (Its waiters are woken by the caller, once the tail is released.)
        self.readable_end
            .fetch_max(tail.next_offset, Ordering::AcqRel);
        log::info!(
            target: "wal_store::segment",
            "sealed segment {} ({} entries), next segment {}",
            sealed.base,
            tail.next_offset - sealed.base,
            new.base
        );
        tail.active = new;
        tail.sealed_on_disk = false;
        Ok(())
    }
}

/// Whether the room (under the log's limits) for what a rotation adds has been made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Room {
    /// Made by the caller, for this and what follows it (an append's growth or new
    /// segment and its seal, asked for together).
    Made,
    /// Still to make, by the rotation itself.
    ToMake,
}

/// Whether a record of `needed` bytes fits after `data_len` bytes of records in a data
/// file of `file_bytes`, in a log of `segment_bytes` segments: the one rule, for appends
/// and for the batch's plan of the room it takes (`capacity.rs`).
#[inline]
pub(super) fn fits(data_len: usize, file_bytes: usize, segment_bytes: u32, needed: usize) -> bool {
    let limit = file_bytes.min(segment_bytes as usize);
    data_len.saturating_add(needed) <= limit
}

/// Bytes a record of `payload_len` takes in `codec`.
pub(super) fn record_bytes(codec: wal_format::Codec, payload_len: usize) -> Result<usize> {
    codec
        .record_bytes(payload_len)
        .ok_or_else(|| StoreError::EntryTooLarge {
            size: payload_len,
            max: codec.max_payload_bytes(),
        })
}

#[cfg(test)]
mod tests {
    use crate::options::{SyncPolicy, WalOptions};
    use crate::wal::Wal;

    /// Durable appends (tiny syncs) zero ahead of themselves through the log's append
    /// path; a log synced once at the end does not.
    #[test]
    fn durable_appends_zero_ahead_and_bulk_appends_do_not() {
        for (policy, zeroes) in [
            (SyncPolicy::Always, true),
            (SyncPolicy::GroupCommit, true),
            (SyncPolicy::Manual, false),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let options = WalOptions::default().with_sync_policy(policy);
            let wal = Wal::open(dir.path(), options).unwrap();
            for i in 0..300u32 {
                wal.append(&[u8::try_from(i % 200).unwrap() + 1; 1000])
                    .unwrap();
            }
            wal.sync().unwrap();
            let tail = wal.inner.lock_tail().unwrap();
            let (written, zeroed) = (tail.active.data_len() as usize, tail.active.zeroed_to());
            if zeroes {
                assert!(
                    zeroed >= written + crate::segment::ZERO_AHEAD_LEAD,
                    "{policy:?}: records end at {written}, zeros at {zeroed}"
                );
            } else {
                assert_eq!(zeroed, 0, "{policy:?}");
            }
        }
    }
}
