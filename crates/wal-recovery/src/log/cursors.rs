//! The consumers' cursors, kept by the front door: set (never backwards by accident),
//! rewound, listed, replayed after, and kept true through every change the front door
//! makes to the log.
//!
//! Each change writes the cursors it moves before it changes the log, so that a crash in
//! between leaves every cursor inside the log: a truncation clamps the cursors above its
//! cut first (a crash then leaves the entries that were to go, which replay hands out
//! again: nothing is hidden); a trim that drops unread entries moves the cursors it passes
//! to the entry before the first one it keeps, recording the drop in their files, then
//! removes the segments (a crash leaves the segments, whose dropped entries the moved
//! cursors no longer replay, as the caller asked).
//! A reset to `n` sets every cursor to `n - 1` first (those it passes record the drop),
//! so that a crash before the reset leaves each cursor inside the old log or just past
//! its end (clamped by the next open), and after it each one right before the new start.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{MutexGuard, PoisonError};

use wal_store::EntryRef;

use super::{Iter, Log};
use crate::cursor::{self, CursorRecord, DEFAULT_CURSOR, check_cursor_name};
use crate::error::{Error, Result};

/// Every valid cursor of a log, by name, as on disk.
pub(crate) type Cursors = BTreeMap<String, CursorRecord>;

/// The lowest cursor and its name, if any.
fn lowest(cursors: &Cursors) -> Option<(&str, u64)> {
    cursors
        .iter()
        .map(|(name, record)| (name.as_str(), record.offset))
        .min_by_key(|&(_, offset)| offset)
}

impl Log {
    /// Persists the default consumer's cursor: the last offset it has finalized, which
    /// must be durable (at most [`last_synced_offset`](Log::last_synced_offset)) and at
    /// least one before the first entry. From now on [`replay`](Log::replay) starts after
    /// it; after a restart, so does [`Recovered::replay`](crate::Recovered::replay).
    ///
    /// Refuses to move the cursor back ([`Error::CursorRegression`], nothing changed):
    /// call [`rewind_cursor`](Log::rewind_cursor) for that. (walrs before named cursors
    /// let `set_cursor` move it either way.)
    pub fn set_cursor(&self, offset: u64) -> Result<()> {
        self.set_named_cursor(DEFAULT_CURSOR, offset)
    }

    /// Persists the cursor of the consumer `name` (see
    /// [`check_cursor_name`](crate::cursor::check_cursor_name); `default` is the default
    /// cursor, [`set_cursor`](Log::set_cursor)'s), in its own file `CURSOR.<name>`. Each
    /// consumer's cursor is durable on its own, and refuses to move back
    /// ([`Error::CursorRegression`]).
    pub fn set_named_cursor(&self, name: &str, offset: u64) -> Result<()> {
        self.move_cursor(name, offset, false)
    }

    /// Moves the cursor `name` to `offset`, backwards as well as forwards: the consumer
    /// will be handed the entries after `offset` again. The same checks of `offset` as
    /// [`set_named_cursor`](Log::set_named_cursor) apply.
    pub fn rewind_cursor(&self, name: &str, offset: u64) -> Result<()> {
        self.move_cursor(name, offset, true)
    }

    fn move_cursor(&self, name: &str, offset: u64, backwards_too: bool) -> Result<()> {
        check_cursor_name(name)?;
        // Checked under the lock that every change moving cursors holds: a truncation
        // between the check and the write would otherwise leave this cursor past its cut.
        let mut cursors = self.cursors_lock();
        crate::check_cursor_offset(&self.wal, offset)?;
        let found = cursors.get(name);
        if let Some(current) = found.map(|r| r.offset)
            && offset < current
            && !backwards_too
        {
            return Err(Error::CursorRegression {
                name: name.to_owned(),
                current,
                requested: offset,
            });
        }
        if found.is_some_and(|r| offset < r.offset) {
            self.retention.hold_from(offset);
        }
        let record = CursorRecord {
            offset,
            dropped_unread: found.and_then(|r| r.dropped_unread.clone()),
        };
        cursor::write_record(self.dir(), name, &record)?;
        cursors.insert(name.to_owned(), record);
        self.retention.cursor_rewritten(name);
        self.retention.publish(&cursors);
        Ok(())
    }

    /// Removes the cursor `name` durably: a consumer that is gone for good no longer
    /// holds back trims. Returns whether it existed.
    pub fn remove_cursor(&self, name: &str) -> Result<bool> {
        check_cursor_name(name)?;
        let mut cursors = self.cursors_lock();
        let unreadable = self
            .retention
            .unreadable_cursor()
            .is_some_and(|n| n == name);
        if cursors.remove(name).is_none() && !unreadable {
            return Ok(false);
        }
        cursor::remove_cursor_file(self.dir(), name)?;
        self.retention.cursor_rewritten(name);
        self.retention.publish(&cursors);
        Ok(true)
    }

    /// The cursor `name`, if the consumer has set one (and recovery found it valid).
    pub fn cursor(&self, name: &str) -> Result<Option<u64>> {
        check_cursor_name(name)?;
        Ok(self.cursors_lock().get(name).map(|r| r.offset))
    }

    /// Every cursor, by name (`default` for the default one), with its offset.
    pub fn cursors(&self) -> Vec<(String, u64)> {
        self.cursors_lock()
            .iter()
            .map(|(name, record)| (name.clone(), record.offset))
            .collect()
    }

    /// The entries after the default cursor, oldest first: after the cursor recovery
    /// found (as [`Recovered::replay`](crate::Recovered::replay)), or after the one last
    /// set through this log. With no cursor, every entry.
    pub fn replay(&self) -> Result<Iter<'_>> {
        self.replay_for(DEFAULT_CURSOR)
    }

    /// The same entries as [`replay`](Log::replay), borrowed instead of copied (see
    /// [`visit_from`](Log::visit_from)). Returns the offset after the last entry visited.
    pub fn replay_with(&self, visit: impl FnMut(EntryRef<'_>) -> ControlFlow<()>) -> Result<u64> {
        self.replay_for_with(DEFAULT_CURSOR, visit)
    }

    /// The entries after the cursor `name`, oldest first; with no such cursor (a new
    /// consumer), every entry.
    pub fn replay_for(&self, name: &str) -> Result<Iter<'_>> {
        let from = self.replay_start(name)?;
        self.iter_from(from)
    }

    /// The same entries as [`replay_for`](Log::replay_for), borrowed instead of copied.
    /// Returns the offset after the last entry visited.
    pub fn replay_for_with(
        &self,
        name: &str,
        visit: impl FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<u64> {
        let from = self.replay_start(name)?;
        self.visit_from(from, visit)
    }

    fn replay_start(&self, name: &str) -> Result<u64> {
        let cursor = self.cursor(name)?;
        let (first, next) = (self.first_offset(), self.next_offset());
        Ok(cursor.map_or(first, |c| c.saturating_add(1).clamp(first, next)))
    }

    /// Drops every entry after `offset`, so that the next append gets `offset + 1` (see
    /// [`Wal::truncate_after`](wal_store::Wal::truncate_after)). Durable before it
    /// returns. Every cursor above `offset` is moved back to it first (durably), so that
    /// the entries appended next are replayed; a crash between the two leaves the cursors
    /// inside the log.
    pub fn truncate_after(&self, offset: u64) -> Result<()> {
        let mut cursors = self.cursors_lock();
        let above: Vec<String> = cursors
            .iter()
            .filter(|(_, record)| record.offset > offset)
            .map(|(name, _)| name.clone())
            .collect();
        // Only a cut the store will make moves a cursor: one inside the log (a cut before
        // the first entry or past the end is refused, changing nothing).
        if offset.saturating_add(1) >= self.first_offset() && offset < self.next_offset() {
            for name in above {
                move_to(self, &mut cursors, &name, offset, None)?;
            }
        }
        self.wal.truncate_after(offset)?;
        self.catch_up(&mut cursors)
    }

    /// Drops every entry before `offset`, durably: the log starts there, also after a
    /// restart (anything up to the next offset). Returns how many whole segments were
    /// removed (see [`Wal::trim_before`](wal_store::Wal::trim_before)).
    ///
    /// Refuses, changing nothing, to remove an entry after a cursor
    /// ([`Error::TrimDropsUnread`], naming the lowest such cursor and how many of its
    /// unread entries would go); [`trim_before_dropping_unread`](Log::trim_before_dropping_unread)
    /// removes them. A log with no cursor is trimmed as asked; so is one whose only
    /// cursor files recovery found corrupt (they are reported, and name no position).
    pub fn trim_before(&self, offset: u64) -> Result<usize> {
        let cursors = self.cursors_lock();
        let keep_from = self.wal.first_offset_after_trim(offset)?;
        if let Some(name) = self.retention.unreadable_cursor()
            && keep_from > self.first_offset()
        {
            return Err(Error::TrimPastUnreadableCursor {
                name,
                before: offset,
            });
        }
        if let Some((name, cursor)) = lowest(&cursors)
            && keep_from > cursor.saturating_add(1)
        {
            return Err(Error::TrimDropsUnread {
                name: name.to_owned(),
                cursor,
                before: offset,
                unread: keep_from - cursor.saturating_add(1),
            });
        }
        // Trimming before the first offset kept removes exactly what the check saw, even
        // if appends since have filled the active segment.
        Ok(self.wal.trim_before(keep_from)?)
    }

    /// Drops every entry before `offset`, as [`trim_before`](Log::trim_before), unread
    /// entries included: every cursor before the new first entry moves to the entry
    /// before it, its file recording which unread entries were dropped (so that
    /// [`verify`](crate::verify) does not report them), and only then does the log's
    /// start move. Returns how many whole segments were removed.
    pub fn trim_before_dropping_unread(&self, offset: u64) -> Result<usize> {
        let mut cursors = self.cursors_lock();
        let keep_from = self.wal.first_offset_after_trim(offset)?;
        if let Some(to) = keep_from.checked_sub(1) {
            move_up_to(self, &mut cursors, to)?;
        }
        Ok(self.wal.trim_before(keep_from)?)
    }

    /// Removes every entry; offsets are never reused (see
    /// [`Wal::clear`](wal_store::Wal::clear)). Every cursor moves first to the offset before
    /// the next (the last entry's, in a log that holds one), recording the unread entries
    /// dropped. A log that ends where no cursor can be named (past `u64::MAX - 2`) with a
    /// cursor before that is refused, changing nothing.
    pub fn clear(&self) -> Result<()> {
        let mut cursors = self.cursors_lock();
        if let Some(before_next) = self.next_offset().checked_sub(1) {
            move_up_to(self, &mut cursors, before_next)?;
        }
        self.wal.clear()?;
        // Entries appended while the clear ran went with it.
        if let Some(before_first) = self.first_offset().checked_sub(1) {
            move_up_to(self, &mut cursors, before_first)?;
        }
        Ok(())
    }

    /// Drops every entry and continues the log at `next_offset` (see
    /// [`Wal::reset_to`](wal_store::Wal::reset_to)), moving every cursor to
    /// `next_offset - 1` (with `next_offset` 0, removing them). In the order that keeps each
    /// cursor true at every step: the cursors above move back first (the entries from
    /// `next_offset` on will be new); the files of those below record the drop of their
    /// unread entries next, still where they are; then the reset; then they move up.
    pub fn reset_to(&self, next_offset: u64, seed_crc: u32) -> Result<()> {
        let mut cursors = self.cursors_lock();
        let Some(to) = next_offset.checked_sub(1) else {
            let names: Vec<String> = cursors.keys().cloned().collect();
            for name in names {
                cursors.remove(&name);
                cursor::remove_cursor_file(self.dir(), &name)?;
            }
            self.retention.publish(&cursors);
            return Ok(self.wal.reset_to(next_offset, seed_crc)?);
        };
        // A reset the store refuses (no room for an entry after it) moves no cursor.
        if next_offset < u64::MAX {
            let mut above = Vec::new();
            let mut below = Vec::new();
            for (name, record) in cursors.iter() {
                if record.offset > to {
                    above.push(name.clone());
                } else if record.offset < to {
                    below.push((name.clone(), record.offset));
                }
            }
            for name in above {
                move_to(self, &mut cursors, &name, to, None)?;
            }
            for (name, offset) in below {
                let dropped = offset.saturating_add(1)..next_offset;
                move_to(self, &mut cursors, &name, offset, Some(dropped))?;
            }
        }
        self.wal.reset_to(next_offset, seed_crc)?;
        move_up_to(self, &mut cursors, to)
    }

    /// After a truncation: a cursor past the end (the cut moved before a hole the cursor
    /// was in) is clamped, as the writing open would do.
    fn catch_up(&self, cursors: &mut Cursors) -> Result<()> {
        let next = self.next_offset();
        let past_end: Vec<String> = cursors
            .iter()
            .filter(|(_, record)| record.offset >= next)
            .map(|(name, _)| name.clone())
            .collect();
        for name in past_end {
            match next.checked_sub(1) {
                Some(last) => move_to(self, cursors, &name, last, None)?,
                None => {
                    cursors.remove(&name);
                    cursor::remove_cursor_file(self.dir(), &name)?;
                    self.retention.publish(cursors);
                }
            }
        }
        Ok(())
    }

    /// The cursors, through their lock. The map is rewritten only after its file is, so
    /// whatever a panicking holder left is still true: a poisoned lock is taken over.
    fn cursors_lock(&self) -> MutexGuard<'_, Cursors> {
        self.cursors.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Moves every cursor below `to` up to it, recording in its file that the entries between
/// were dropped unread. A cursor names a durable entry only: when `to` is an entry of the
/// log not yet durable, the log is synced first.
fn move_up_to(log: &Log, cursors: &mut Cursors, to: u64) -> Result<()> {
    let below: Vec<(String, u64)> = cursors
        .iter()
        .filter(|(_, record)| record.offset < to)
        .map(|(name, record)| (name.clone(), record.offset))
        .collect();
    let in_log = log.last_offset().is_some_and(|last| to <= last);
    if !below.is_empty() && in_log && log.last_synced_offset().is_none_or(|d| d < to) {
        log.sync()?;
    }
    for (name, offset) in below {
        let dropped = offset.saturating_add(1)..to.saturating_add(1);
        move_to(log, cursors, &name, to, Some(dropped))?;
    }
    Ok(())
}

/// Writes the cursor `name` at `offset` (keeping its drop record unless `dropped` gives a
/// new one), then notes it in `cursors`.
fn move_to(
    log: &Log,
    cursors: &mut Cursors,
    name: &str,
    offset: u64,
    dropped: Option<std::ops::Range<u64>>,
) -> Result<()> {
    if offset >= u64::MAX - 1 {
        // The cursor file cannot name it (FORMAT.md §9): refused before anything is
        // written, so a change that would move every cursor there changes nothing.
        return Err(Error::InvalidArgument(format!(
            "cursor {name} cannot move to {offset}: it leaves no room for a later entry (the largest cursor is u64::MAX - 2)"
        )));
    }
    if cursors.get(name).is_some_and(|r| offset < r.offset) {
        log.retention.hold_from(offset);
    }
    let dropped_unread = dropped.or_else(|| cursors.get(name)?.dropped_unread.clone());
    let record = CursorRecord {
        offset,
        dropped_unread,
    };
    cursor::write_record(log.dir(), name, &record)?;
    cursors.insert(name.to_owned(), record);
    log.retention.publish(cursors);
    Ok(())
}
