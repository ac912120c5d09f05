//! The operations that change the log and move the cursors: truncations, trims, clears
//! and cursor moves, through the front door when the runner holds it (the cursors kept
//! true) or through the plain store (the cursors left where they are).

use libfuzzer_sys::arbitrary::Unstructured;
use wal_recovery::{Log, RecoveryError};
use wal_store::Wal;

use super::{Runner, assert_refused, store_error, trace};
use crate::log_model::{DEFAULT, Refusal};
use crate::pick;

/// The log as the runner holds it: the front door, or the plain store log.
pub(super) enum Handle {
    Front(Log),
    Plain(Wal),
}

impl Handle {
    pub(super) fn store(&self) -> &Wal {
        match self {
            Handle::Front(log) => log.store(),
            Handle::Plain(wal) => wal,
        }
    }

    pub(super) fn front(&self) -> Option<&Log> {
        match self {
            Handle::Front(log) => Some(log),
            Handle::Plain(_) => None,
        }
    }

    pub(super) fn close(self) -> Result<(), String> {
        match self {
            Handle::Front(log) => log.close().map_err(|e| e.to_string()),
            Handle::Plain(wal) => wal.close().map_err(|e| e.to_string()),
        }
    }
}

/// The consumers the runner moves cursors of.
pub(super) const CURSOR_NAMES: [&str; 3] = [DEFAULT, "a", "b-2"];

impl Runner<'_> {
    /// `truncate_after(k)` (through the front door when the runner holds it: cursors
    /// above `k` move back to it) or the store's `truncate_from(k)` (cursors stay).
    pub(super) fn truncate(&mut self, u: &mut Unstructured<'_>, handle: &Handle) {
        let offset = self.target(u);
        let first = self.model.first;
        let wal = handle.store();
        if pick::flag(u) {
            trace(format_args!("store: truncate_from({offset})"));
            // The deprecated alias stays public, so the model keeps checking it: it is
            // also the only call that empties a log starting at 0 and restarts it there.
            #[allow(deprecated)]
            let result = wal.truncate_from(offset);
            match self.model.truncate_from(offset) {
                Ok(()) => result.unwrap_or_else(|e| panic!("truncate_from({offset}) failed: {e}")),
                Err(refusal) => assert_refused(result, refusal, first, "truncate_from"),
            }
            return;
        }
        let (result, kept_true) = match handle.front() {
            Some(log) if pick::flag(u) => {
                trace(format_args!("log: truncate_after({offset})"));
                (log.truncate_after(offset).map_err(store_error), true)
            }
            _ => {
                trace(format_args!("store: truncate_after({offset})"));
                (wal.truncate_after(offset), false)
            }
        };
        match self.model.truncate_after(offset) {
            Ok(()) => {
                result.unwrap_or_else(|e| panic!("truncate_after({offset}) failed: {e}"));
                if kept_true {
                    self.model.clamp_cursors_to_end();
                }
            }
            Err(refusal) => assert_refused(result, refusal, first, "truncate_after"),
        }
    }

    /// Trimming is logical: the log starts at the offset asked (when that is past its
    /// start), as the store says beforehand, and the model follows it. Through the front
    /// door a trim past a cursor is refused, or with the caller's word drops the unread
    /// entries, moving the cursors.
    pub(super) fn trim_before(&mut self, u: &mut Unstructured<'_>, handle: &Handle) {
        let offset = self.target(u);
        let first = self.model.first;
        let next = self.model.next;
        let wal = handle.store();
        // The model's durable end is a lower bound (rotations also sync): whether the trim
        // must sync to record its start depends on the store's real one.
        if let Some(durable) = wal.last_synced_offset() {
            self.model.synced_end = self.model.synced_end.max(durable.saturating_add(1));
        }
        let preview = wal.first_offset_after_trim(offset);
        let below_start_before = segments_below_start(wal.dir());
        if let Err(refusal) = self.model.check_trim(offset) {
            assert_refused(preview, refusal.clone(), first, "first_offset_after_trim");
            let result = match handle.front() {
                Some(log) => log.trim_before(offset).map_err(store_error),
                None => wal.trim_before(offset),
            };
            assert_refused(result, refusal, first, "trim_before");
            assert_eq!(
                wal.first_offset(),
                first,
                "a refused trim changed the first offset"
            );
            return;
        }
        let keep_from = preview.unwrap_or_else(|e| panic!("first_offset_after_trim: {e}"));
        let dropping = pick::flag(u);
        if dropping
            && let Some(log) = handle.front()
            && let Some(to) = keep_from.checked_sub(1)
            && cursor_move_unnameable(&self.model, to)
        {
            trace(format_args!(
                "log: trim_before_dropping_unread({offset}), refused"
            ));
            match log.trim_before_dropping_unread(offset) {
                Err(wal_recovery::Error::InvalidArgument(_)) => {}
                other => panic!("trim_before_dropping_unread({offset}) to {to}: {other:?}"),
            }
            assert_eq!(wal.first_offset(), first, "a refused trim changed the log");
            return;
        }
        let result = match handle.front() {
            Some(log) if dropping => {
                trace(format_args!("log: trim_before_dropping_unread({offset})"));
                log.trim_before_dropping_unread(offset)
            }
            Some(log) => {
                trace(format_args!("log: trim_before({offset})"));
                match self.model.check_trim_past_cursors(offset, keep_from) {
                    Err(Refusal::TrimDropsUnread {
                        name,
                        cursor,
                        unread,
                    }) => {
                        match log.trim_before(offset) {
                            Err(wal_recovery::Error::TrimDropsUnread {
                                name: n,
                                cursor: c,
                                before,
                                unread: k,
                            }) if (n.as_str(), c, before, k)
                                == (name.as_str(), cursor, offset, unread) => {}
                            other => panic!(
                                "trim_before({offset}) past cursor {name} at {cursor} ({unread} unread): {other:?}"
                            ),
                        }
                        assert_eq!(wal.first_offset(), first, "a refused trim changed the log");
                        return;
                    }
                    _ => log.trim_before(offset),
                }
            }
            None => {
                trace(format_args!("store: trim_before({offset})"));
                wal.trim_before(offset).map_err(RecoveryError::from)
            }
        };
        let removed = result.unwrap_or_else(|e| panic!("trim_before({offset}) failed: {e}"));
        let new_first = wal.first_offset();
        // Trimming is logical: the log starts at the offset asked (when that is past its
        // start), and whole sealed segments below it go.
        assert_eq!(
            (keep_from, new_first),
            (first.max(offset), first.max(offset)),
            "trim_before({offset}) from {first} (next {next}): said {keep_from}, kept {new_first}"
        );
        // A trim that does not move the start may still remove segments: those an earlier
        // trim left wholly below the start (their unlink failed, or the start was inside
        // a hole), which every trim removes.
        assert!(
            removed == 0 || new_first > first || below_start_before,
            "trim_before({offset}) removed {removed} segments, first offset {first} -> {new_first}"
        );
        assert_eq!(
            wal.next_offset(),
            next,
            "trim_before({offset}) moved the end"
        );
        if dropping
            && handle.front().is_some()
            && let Some(to) = new_first.checked_sub(1)
        {
            self.model.move_cursors_up_to(to);
        }
        self.model.trimmed_to(new_first);
        if let Some(below) = new_first.checked_sub(1) {
            let refusal = Refusal::OffsetOutOfRange { offset: below };
            assert_refused(wal.read(below), refusal, new_first, "read below a trim");
        }
    }

    pub(super) fn clear(&mut self, handle: &Handle) {
        match handle.front() {
            Some(log) => {
                // Every cursor moves to the offset before the next, first.
                if let Some(last) = self.model.next.checked_sub(1)
                    && cursor_move_unnameable(&self.model, last)
                {
                    trace(format_args!("log: clear(), refused"));
                    match log.clear() {
                        Err(wal_recovery::Error::InvalidArgument(_)) => {}
                        other => panic!("clear with its last entry at {last}: {other:?}"),
                    }
                    return;
                }
                trace(format_args!("log: clear()"));
                log.clear().expect("clear");
                if let Some(last) = self.model.last() {
                    self.model.move_cursors_up_to(last);
                }
                self.model.clear();
                if let Some(to) = self.model.first.checked_sub(1) {
                    self.model.move_cursors_up_to(to);
                }
            }
            None => {
                trace(format_args!("store: clear()"));
                handle.store().clear().expect("clear");
                self.model.clear();
            }
        }
    }

    /// A cursor set or rewound: a named one through the front door, the default one
    /// through the free `set_cursor` when the runner holds the plain store log.
    pub(super) fn set_cursor(&mut self, u: &mut Unstructured<'_>, handle: &Handle) {
        let offset = self.target(u);
        let name = pick::one_of(u, &CURSOR_NAMES);
        let rewind = pick::flag(u);
        let wal = handle.store();
        // Checked against the model by `check_state` after every operation.
        let durable = wal.last_synced_offset();
        let (result, name, rewind) = match handle.front() {
            Some(log) if rewind => {
                trace(format_args!(
                    "log: rewind_cursor({name}, {offset}) (last durable {durable:?})"
                ));
                (log.rewind_cursor(name, offset), name, true)
            }
            Some(log) => {
                trace(format_args!(
                    "log: set_named_cursor({name}, {offset}) (last durable {durable:?})"
                ));
                (log.set_named_cursor(name, offset), name, false)
            }
            None => {
                trace(format_args!(
                    "set_cursor({offset}) (last durable {durable:?})"
                ));
                (wal_recovery::set_cursor(wal, offset), DEFAULT, false)
            }
        };
        match self.model.set_cursor(name, offset, durable, rewind) {
            Ok(()) => result.unwrap_or_else(|e| panic!("cursor {name} to {offset} failed: {e}")),
            Err(Refusal::CursorRegression { current }) => assert!(
                matches!(result, Err(RecoveryError::CursorRegression { current: c, requested, .. }) if c == current && requested == offset),
                "cursor {name} from {current} back to {offset}: {result:?}"
            ),
            Err(_) => assert!(
                matches!(result, Err(RecoveryError::InvalidArgument(_))),
                "cursor {name} to {offset} outside {}..{}: {result:?}",
                self.model.first,
                self.model.next
            ),
        }
    }
}

/// Whether moving the cursors below `to` up to it is refused: a cursor file cannot name
/// `u64::MAX - 1` or more, so the front door refuses such a change whole.
fn cursor_move_unnameable(model: &crate::log_model::LogModel, to: u64) -> bool {
    to >= u64::MAX - 1 && model.lowest().is_some_and(|(_, cursor)| cursor < to)
}

/// Whether the directory holds segments wholly below the log's start (left by an earlier
/// trim), which the next trim removes.
fn segments_below_start(dir: &std::path::Path) -> bool {
    let Ok(layout) = wal_store::layout::DirLayout::read(dir) else {
        return false;
    };
    layout
        .read_start()
        .is_ok_and(|start| layout.segments_below(start.as_ref()) > 0)
}
