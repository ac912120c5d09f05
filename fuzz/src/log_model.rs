//! An in-memory model of a log, written from the store's and the recovery crate's
//! documentation: which entries it holds, where it starts and ends, the crc the next entry
//! chains from, the consumers' cursors, and what each operation must refuse.
//!
//! The cursors follow the front door's rules (`wal_recovery::Log`) when the runner holds
//! one: a truncation clamps them, a trim past one is refused unless it drops unread
//! entries (then they move and the drop is recorded), a clear moves them. Through the
//! plain store (`kept_true` false) they stay where they are, and the next recovery
//! reports them.
//!
//! What the model cannot know is where segments begin: `trim_before` removes whole sealed
//! segments only, so the runner reads the new first offset from the log, checks that it
//! is one the documentation allows, and tells the model ([`LogModel::trimmed_to`]).

use std::collections::BTreeMap;
use std::ops::Range;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `Error::CursorRegression` from this cursor position.
    CursorRegression {
        /// Where the cursor is.
        current: u64,
    },
    /// `Error::TrimDropsUnread` naming this cursor.
    TrimDropsUnread {
        /// The lowest cursor's name.
        name: String,
        /// Its offset.
        cursor: u64,
        /// How many unread entries the trim would remove.
        unread: u64,
    },
}

/// A consumer's cursor as the model holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCursor {
    /// The last offset the consumer finalized.
    pub offset: u64,
    /// The last unread entries a trim or a clear dropped on request.
    pub dropped: Option<Range<u64>>,
}

/// The default cursor's name.
pub const DEFAULT: &str = "default";

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
    /// Every cursor, by name.
    pub cursors: BTreeMap<String, ModelCursor>,
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
            cursors: BTreeMap::new(),
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

    /// `set_named_cursor(name, offset)` (or with `rewind`, `rewind_cursor`): the cursor
    /// names a durable entry of the log (the log says which are durable: `last_durable`,
    /// which the runner has checked against the model), or the one just before the
    /// first; it moves back only on a rewind.
    pub fn set_cursor(
        &mut self,
        name: &str,
        offset: u64,
        last_durable: Option<u64>,
        rewind: bool,
    ) -> Result<(), Refusal> {
        match last_durable {
            // A cursor needs room for a later entry: `u64::MAX - 1` and `u64::MAX` are
            // refused (and read back as corrupt).
            Some(last)
                if offset <= last
                    && offset.saturating_add(1) >= self.first
                    && offset < u64::MAX - 1 => {}
            _ => return Err(Refusal::InvalidArgument),
        }
        let found = self.cursors.get(name);
        if let Some(current) = found.map(|c| c.offset)
            && offset < current
            && !rewind
        {
            return Err(Refusal::CursorRegression { current });
        }
        let dropped = found.and_then(|c| c.dropped.clone());
        self.cursors
            .insert(name.to_owned(), ModelCursor { offset, dropped });
        Ok(())
    }

    /// The default cursor.
    pub fn cursor(&self) -> Option<u64> {
        self.cursors.get(DEFAULT).map(|c| c.offset)
    }

    /// The lowest cursor and its name.
    pub fn lowest(&self) -> Option<(&str, u64)> {
        self.cursors
            .iter()
            .map(|(name, c)| (name.as_str(), c.offset))
            .min_by_key(|&(_, offset)| offset)
    }

    /// After a truncation through the front door: every cursor past the end moves to
    /// the last entry (the cut was checked before, so it is the entry the caller named).
    pub fn clamp_cursors_to_end(&mut self) {
        let Some(last) = self.next.checked_sub(1) else {
            return;
        };
        for cursor in self.cursors.values_mut() {
            cursor.offset = cursor.offset.min(last);
        }
    }

    /// `Log::trim_before`, keeping entries from `keep_from` on: refused if that passes
    /// the lowest cursor.
    pub fn check_trim_past_cursors(&self, offset: u64, keep_from: u64) -> Result<(), Refusal> {
        self.check_trim(offset)?;
        match self.lowest() {
            Some((name, cursor)) if keep_from > cursor.saturating_add(1) => {
                Err(Refusal::TrimDropsUnread {
                    name: name.to_owned(),
                    cursor,
                    unread: keep_from - cursor.saturating_add(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// Every cursor below `to` moves to it, recording the drop of the entries between.
    pub fn move_cursors_up_to(&mut self, to: u64) {
        for cursor in self.cursors.values_mut() {
            if cursor.offset < to {
                cursor.dropped = Some(cursor.offset.saturating_add(1)..to.saturating_add(1));
                cursor.offset = to;
            }
        }
    }

    /// After a reopen: everything is durable, and the chain goes on where it was, even in
    /// an empty log (its seed is kept in the `SEED` file, whatever the options say).
    pub fn reopen(&mut self) {
        self.synced_end = self.next;
    }

    /// Whether a cursor is at or past the end of the log: it finalized entries the log no
    /// longer holds (committed, and clamped by recovery).
    fn is_past_end(&self, cursor: &ModelCursor) -> bool {
        cursor.offset >= self.next
    }

    /// Whether a cursor is before the first entry (a trim or a clear through the plain
    /// store left it behind).
    fn is_before_first(&self, cursor: &ModelCursor) -> bool {
        cursor.offset.saturating_add(1) < self.first
    }

    /// Whether its file records that the entries between it and the first were dropped
    /// on request.
    fn drop_recorded(&self, cursor: &ModelCursor) -> bool {
        cursor
            .dropped
            .as_ref()
            .is_some_and(|d| d.start <= cursor.offset.saturating_add(1) && d.end >= self.first)
    }

    /// The cursors in the order recovery reads them: the default one first, then by name.
    pub fn cursors_in_order(&self) -> Vec<(&str, &ModelCursor)> {
        let default = self.cursors.get_key_value(DEFAULT);
        let named = self.cursors.iter().filter(|(n, _)| n.as_str() != DEFAULT);
        default
            .into_iter()
            .chain(named)
            .map(|(n, c)| (n.as_str(), c))
            .collect()
    }

    /// The problems recovery must report about the cursors, as (offset, kind name, whether
    /// it counts), in its order: by offset, then kind name, then the cursors' order.
    pub fn cursor_problems(&self) -> Vec<(u64, &'static str, bool)> {
        let mut problems: Vec<(u64, &'static str, bool)> = self
            .cursors_in_order()
            .into_iter()
            .filter_map(|(_, c)| {
                if self.is_past_end(c) {
                    Some((c.offset, "cursor_out_of_range", true))
                } else if self.is_before_first(c) && self.drop_recorded(c) {
                    Some((c.offset, "cursor_out_of_range", false))
                } else if self.is_before_first(c) {
                    Some((c.offset, "unread_entries_gone", true))
                } else {
                    None
                }
            })
            .collect();
        problems.sort_by_key(|&(offset, kind, _)| (offset, kind));
        problems
    }

    /// Whether any cursor problem counts (verify not ok, `AbsoluteConsistency` refuses).
    pub fn cursor_problem_counts(&self) -> bool {
        self.cursor_problems().iter().any(|p| p.2)
    }

    /// Whether any cursor is at or past the end of the log.
    pub fn cursor_past_end(&self) -> bool {
        self.cursors.values().any(|c| self.is_past_end(c))
    }

    /// A recovery that does not refuse rewrites a cursor past the end to the last entry,
    /// or removes it when the log is empty. Returns (name, from, to) for each, in the
    /// order recovery does them.
    pub fn clamp_cursor(&mut self) -> Vec<(String, u64, Option<u64>)> {
        let last = self.last();
        let clamped: Vec<(String, u64, Option<u64>)> = self
            .cursors_in_order()
            .into_iter()
            .filter(|(_, c)| self.is_past_end(c))
            .map(|(name, c)| (name.to_owned(), c.offset, last))
            .collect();
        for (name, _, to) in &clamped {
            match to {
                Some(last) => {
                    if let Some(cursor) = self.cursors.get_mut(name) {
                        cursor.offset = *last;
                    }
                }
                None => {
                    self.cursors.remove(name);
                }
            }
        }
        clamped
    }

    /// Where replay after the cursor `name` starts: after it, within the log.
    pub fn replay_from_for(&self, name: &str) -> u64 {
        self.cursors.get(name).map_or(self.first, |c| {
            c.offset.saturating_add(1).clamp(self.first, self.next)
        })
    }

    /// Where replay after the default cursor starts.
    pub fn replay_from(&self) -> u64 {
        self.replay_from_for(DEFAULT)
    }
}
