//! An in-memory model of a log, written from the store's and the recovery crate's
//! documentation: which entries it holds, where it starts and ends, the crc the next entry
//! chains from, the cursor, and what each operation must refuse.
//!
//! What the model cannot know is where segments begin: `trim_before` removes whole sealed
//! segments only, so the runner reads the new first offset from the log, checks that it
//! is one the documentation allows, and tells the model ([`LogModel::trimmed_to`]).

use std::collections::BTreeMap;

use wal_format::{Codec, crc};

/// An entry as the model holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    /// The payload as appended.
    pub payload: Vec<u8>,
    /// The crc it was chained from (v2).
    pub prev_crc: Option<u32>,
    /// `chain(prev_crc, payload)` (v2).
    pub crc: Option<u32>,
}

/// What an operation must fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `StoreError::EmptyPayload`.
    EmptyPayload,
    /// `StoreError::EmptyBatch`.
    EmptyBatch,
    /// `StoreError::EntryTooLarge` with these fields.
    EntryTooLarge {
        /// The payload's length.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// `StoreError::OffsetOutOfRange` for this offset.
    OffsetOutOfRange {
        /// The offset refused.
        offset: u64,
    },
    /// `RecoveryError::InvalidArgument`.
    InvalidArgument,
}

/// The model of one log.
#[derive(Debug, Clone)]
pub struct LogModel {
    /// Codec of every segment (the runner never changes it).
    pub codec: Codec,
    /// `WalOptions::seed_crc`: what the new log chains from (kept on disk after).
    pub seed_crc: u32,
    /// `WalOptions::max_entry_bytes`.
    pub max_entry_bytes: usize,
    /// Offset of the first entry (or of the next one, when empty).
    pub first: u64,
    /// Offset the next append gets.
    pub next: u64,
    /// The entries, `first..next`.
    pub entries: BTreeMap<u64, ModelEntry>,
    /// What the next entry chains from.
    pub last_crc: Option<u32>,
    /// The cursor last persisted.
    pub cursor: Option<u64>,
    /// Entries below this are known durable.
    pub synced_end: u64,
}

impl LogModel {
    /// A new, empty log.
    pub fn new(codec: Codec, seed_crc: u32, first_offset: u64, max_entry_bytes: usize) -> Self {
        LogModel {
            codec,
            seed_crc,
            max_entry_bytes,
            first: first_offset,
            next: first_offset,
            entries: BTreeMap::new(),
            // A new log chains from the seed, if its codec has crcs.
            last_crc: codec.has_crc().then_some(seed_crc),
            cursor: None,
            synced_end: first_offset,
        }
    }

    /// Offset of the last entry.
    pub fn last(&self) -> Option<u64> {
        (self.next > self.first).then(|| self.next - 1)
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), Refusal> {
        if payload.is_empty() {
            return Err(Refusal::EmptyPayload);
        }
        if payload.len() > self.max_entry_bytes {
            return Err(Refusal::EntryTooLarge {
                size: payload.len(),
                max: self.max_entry_bytes,
            });
        }
        Ok(())
    }

    fn push(&mut self, payload: &[u8]) -> Result<(u64, Option<u32>), Refusal> {
        let offset = self.next;
        let next = offset
            .checked_add(1)
            .ok_or(Refusal::OffsetOutOfRange { offset })?;
        let prev = self.last_crc.unwrap_or(0);
        let (prev_crc, crc) = if self.codec.has_crc() {
            (Some(prev), Some(crc::chain(prev, payload)))
        } else {
            (None, None)
        };
        self.entries.insert(
            offset,
            ModelEntry {
                payload: payload.to_vec(),
                prev_crc,
                crc,
            },
        );
        self.next = next;
        self.last_crc = crc;
        Ok((offset, crc))
    }

    /// `append`: the offset and crc it must return.
    pub fn append(&mut self, payload: &[u8]) -> Result<(u64, Option<u32>), Refusal> {
        self.check_payload(payload)?;
        self.push(payload)
    }

    /// Whether `append_batch(payloads)` runs out of offsets part way, after its payloads
    /// passed their checks.
    pub fn batch_overflows(&self, payloads: &[Vec<u8>]) -> bool {
        !payloads.is_empty()
            && payloads.iter().all(|p| self.check_payload(p).is_ok())
            && self.next.checked_add(payloads.len() as u64).is_none()
    }

    /// `append_batch`: first offset, last offset and last crc. Every payload is checked
    /// first; a refused batch appends nothing.
    pub fn append_batch(
        &mut self,
        payloads: &[Vec<u8>],
    ) -> Result<(u64, u64, Option<u32>), Refusal> {
        if payloads.is_empty() {
            return Err(Refusal::EmptyBatch);
        }
        for payload in payloads {
            self.check_payload(payload)?;
        }
        if self.batch_overflows(payloads) {
            return Err(Refusal::OffsetOutOfRange { offset: u64::MAX });
        }
        let first = self.next;
        let mut last = (first, None);
        for payload in payloads {
            last = self.push(payload)?;
        }
        Ok((first, last.0, last.1))
    }

    /// `sync`.
    pub fn sync(&mut self) {
        self.synced_end = self.next;
    }

    /// `truncate_after(offset)`: drops the entries after `offset`.
    pub fn truncate_after(&mut self, offset: u64) -> Result<(), Refusal> {
        let cut = offset
            .checked_add(1)
            .ok_or(Refusal::OffsetOutOfRange { offset })?;
        self.truncate(cut, offset)
    }

    /// `truncate_from(offset)`: drops `offset` and the entries after it.
    pub fn truncate_from(&mut self, offset: u64) -> Result<(), Refusal> {
        self.truncate(offset, offset)
    }

    /// Drops the entries from `cut` on; `asked` is the offset the caller named.
    fn truncate(&mut self, cut: u64, asked: u64) -> Result<(), Refusal> {
        if cut == self.next {
            return Ok(());
        }
        if cut > self.next || cut < self.first {
            return Err(Refusal::OffsetOutOfRange { offset: asked });
        }
        self.last_crc = if cut > self.first {
            self.entries[&(cut - 1)].crc
        } else {
            // Everything goes: the next entry chains from what the first one did.
            self.entries[&self.first].prev_crc
        };
        self.entries.split_off(&cut);
        self.next = cut;
        self.synced_end = self.synced_end.min(cut);
        Ok(())
    }

    /// Whether `trim_before(offset)` is refused.
    pub fn check_trim(&self, offset: u64) -> Result<(), Refusal> {
        if offset > self.next {
            return Err(Refusal::OffsetOutOfRange { offset });
        }
        Ok(())
    }

    /// The log now starts at `first` (after a trim). A trim that moves the start makes
    /// the log durable first when the new start is not durable yet: it syncs everything.
    pub fn trimmed_to(&mut self, first: u64) {
        if first > self.first && self.synced_end < first {
            self.synced_end = self.next;
        }
        self.entries = self.entries.split_off(&first);
        self.first = first;
    }

    /// `clear`: no entry left, offsets and the chain go on.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.first = self.next;
    }

    /// `set_cursor(offset)`: the cursor names a durable entry of the log (the log says
    /// which are durable: `last_durable`, which the runner has checked against the model),
    /// or the one just before the first.
    pub fn set_cursor(&mut self, offset: u64, last_durable: Option<u64>) -> Result<(), Refusal> {
        match last_durable {
            // A cursor needs room for a later entry: `u64::MAX - 1` and `u64::MAX` are
            // refused (and read back as corrupt).
            Some(last)
                if offset <= last
                    && offset.saturating_add(1) >= self.first
                    && offset < u64::MAX - 1 =>
            {
                self.cursor = Some(offset);
                Ok(())
            }
            _ => Err(Refusal::InvalidArgument),
        }
    }

    /// After a reopen: everything is durable, and the chain goes on where it was, even in
    /// an empty log (its seed is kept in the `SEED` file, whatever the options say).
    pub fn reopen(&mut self) {
        self.synced_end = self.next;
    }

    /// Whether recovery must report the cursor as out of range: before the entry just
    /// before the first (the consumer lags behind a trim: only reported), or at or past
    /// the end (it finalized entries the log no longer holds: committed, and clamped).
    pub fn cursor_out_of_range(&self) -> bool {
        self.cursor
            .is_some_and(|c| c.saturating_add(1) < self.first || c >= self.next)
    }

    /// Whether the cursor is at or past the end of the log.
    pub fn cursor_past_end(&self) -> bool {
        self.cursor.is_some_and(|c| c >= self.next)
    }

    /// A recovery that does not refuse rewrites a cursor past the end to the last entry,
    /// or removes it when the log is empty.
    pub fn clamp_cursor(&mut self) {
        if self.cursor_past_end() {
            self.cursor = self.last();
        }
    }

    /// Where replay starts: after the cursor, within the log.
    pub fn replay_from(&self) -> u64 {
        self.cursor.map_or(self.first, |c| {
            c.saturating_add(1).clamp(self.first, self.next)
        })
    }
}
