//! The model-based target: a sequence of operations decoded from the fuzzer's bytes, run
//! against a real log (tiny segments, so that rotations, growth and multi-segment trims
//! and truncations happen) and against [`LogModel`] side by side. Every result is
//! compared exactly: offsets, payloads, crcs, the error variant of every refusal, the
//! recovery report after a reopen, replay after every consumer's cursor. After every
//! operation the whole log is read back and compared with the model.
//!
//! The runner holds the front door (`wal_recovery::Log`, after a recovery) or the plain
//! store log (after `Wal::open`): through the front door the cursors (the default one and
//! two named ones) are set, rewound, clamped by truncations, guarded by trims (refused, or
//! dropping unread entries) and moved by clears; through the plain store they are not, and
//! the next recovery reports what that left.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::Unstructured;
use wal_format::Codec;
use wal_recovery::{
    Action, CursorState, Log, ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions,
    RecoveryReport,
};
use wal_store::internal::naming::LOCK_FILE_NAME;
use wal_store::{Entry, ReadVisibility, StoreError, SyncPolicy, Wal, WalOptions};
use wal_testkit::scratch::Reaped as Scratch;
use wal_testkit::snapshot::Tree as Snapshot;

use crate::log_model::{DEFAULT, LogModel, ModelEntry, Refusal};
use crate::pick;

/// Most operations in one run.
pub const MAX_OPS: usize = 64;

/// Runs the operations the input describes.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let scratch = Scratch::new();
    let options = options(&mut u);
    trace(format_args!("options {options:?}"));
    let mut model = LogModel::new(
        options.codec,
        options.seed_crc,
        options.first_offset,
        options.max_entry_bytes,
    );
    let mut runner = Runner {
        dir: scratch.path(),
        options: options.clone(),
        model: &mut model,
    };
    let mut wal = runner.recover(RecoveryMode::TolerateCorruptTail, None);
    runner.check_state(&wal);
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        wal = runner.step(&mut u, wal);
        runner.check_state(&wal);
    }
    drop(wal);
    trace(format_args!(
        "final reopen: drop, recover AbsoluteConsistency"
    ));
    runner.model.reopen();
    let wal = runner.recover(RecoveryMode::AbsoluteConsistency, None);
    runner.check_state(&wal);
}

/// Prints the operations as they run when `WAL_FUZZ_TRACE` is set (to turn a finding
/// into a sequence of operations: `WAL_FUZZ_TRACE=1 cargo fuzz run model <input>`).
fn trace(what: std::fmt::Arguments<'_>) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("WAL_FUZZ_TRACE").is_some()) {
        eprintln!("op: {what}");
    }
}

fn options(u: &mut Unstructured<'_>) -> WalOptions {
    let (sync_policy, read_visibility) = pick::one_of(
        u,
        &[
            (SyncPolicy::Always, ReadVisibility::Synced),
            (SyncPolicy::GroupCommit, ReadVisibility::Synced),
            (SyncPolicy::Manual, ReadVisibility::Appended),
            (SyncPolicy::Always, ReadVisibility::Appended),
        ],
    );
    WalOptions::default()
        .with_segment_bytes(pick::int(u, 64, 512) as u32)
        .with_max_entry_bytes(pick::one_of(u, &[1000, 40, 300]))
        .with_codec(pick::one_of(u, &[Codec::V2, Codec::V1]))
        .with_sync_policy(sync_policy)
        .with_read_visibility(read_visibility)
        .with_first_offset(pick::one_of(u, &[0, 1, 17, u64::MAX - 6]))
        .with_seed_crc(if pick::flag(u) { pick::any_u32(u) } else { 0 })
}

struct Runner<'a> {
    dir: &'a Path,
    options: WalOptions,
    model: &'a mut LogModel,
}

/// The log as the runner holds it: the front door, or the plain store log.
enum Handle {
    Front(Log),
    Plain(Wal),
}

impl Handle {
    fn store(&self) -> &Wal {
        match self {
            Handle::Front(log) => log.store(),
            Handle::Plain(wal) => wal,
        }
    }

    fn front(&self) -> Option<&Log> {
        match self {
            Handle::Front(log) => Some(log),
            Handle::Plain(_) => None,
        }
    }

    fn close(self) -> Result<(), String> {
        match self {
            Handle::Front(log) => log.close().map_err(|e| e.to_string()),
            Handle::Plain(wal) => wal.close().map_err(|e| e.to_string()),
        }
    }
}

/// The consumers the runner moves cursors of.
const CURSOR_NAMES: [&str; 3] = [DEFAULT, "a", "b-2"];

/// The entry the model holds at `offset`, as the store returns it.
fn model_entry(offset: u64, entry: &ModelEntry) -> Entry {
    Entry {
        offset,
        payload: entry.payload.clone(),
        prev_crc: entry.prev_crc,
        crc: entry.crc,
    }
}

/// The problem kind of a stable name the model uses.
fn problem_kind(name: &str) -> ProblemKind {
    match name {
        "unread_entries_gone" => ProblemKind::UnreadEntriesGone,
        _ => ProblemKind::CursorOutOfRange,
    }
}

/// The store's error inside a front-door error (a refusal the model expects from the
/// store, passed through).
fn store_error(error: RecoveryError) -> StoreError {
    match error {
        RecoveryError::Store(error) => error,
        other => panic!("expected the store's refusal, got {other}"),
    }
}

fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    expected: Refusal,
    first: u64,
    what: &str,
) {
    match (&result, expected.clone()) {
        (Err(StoreError::EmptyPayload), Refusal::EmptyPayload)
        | (Err(StoreError::EmptyBatch), Refusal::EmptyBatch) => {}
        (
            Err(StoreError::EntryTooLarge { size, max }),
            Refusal::EntryTooLarge { size: s, max: m },
        ) if (*size, *max) == (s, m) => {}
        (
            Err(StoreError::OffsetOutOfRange {
                offset, first: f, ..
            }),
            Refusal::OffsetOutOfRange { offset: o },
        ) if *offset == o && *f == first => {}
        _ => panic!("{what}: expected {expected:?} (first {first}), got {result:?}"),
    }
}

impl Runner<'_> {
    fn payload(&self, u: &mut Unstructured<'_>) -> Vec<u8> {
        let segment = self.options.segment_bytes as usize;
        let max = self.options.max_entry_bytes;
        let len = match pick::int(u, 0, 11) {
            0 => 0,
            1 => max + pick::size(u, 1, 8),
            // Around the size of a segment: fills one, or needs one of its own.
            2 => pick::size(
                u,
                segment.saturating_sub(24).max(1),
                (segment + 40).min(max),
            ),
            _ => pick::size(u, 1, 48.min(max)),
        };
        pick::exact_bytes(u, len)
    }

    /// An offset near the places where the rules change.
    fn target(&self, u: &mut Unstructured<'_>) -> u64 {
        let delta = pick::int(u, 0, 6) as i64 - 3;
        match pick::int(u, 0, 4) {
            0 => self.model.first.wrapping_add_signed(delta),
            1 => self.model.next.wrapping_add_signed(delta),
            2 => pick::int(u, self.model.first, self.model.next),
            3 => self
                .model
                .lowest()
                .map_or(self.model.first, |(_, c)| c)
                .wrapping_add_signed(delta),
            _ => pick::one_of(u, &[0, u64::MAX, u64::MAX - 1]),
        }
    }

    fn step(&mut self, u: &mut Unstructured<'_>, handle: Handle) -> Handle {
        let wal = handle.store();
        match pick::int(u, 0, 17) {
            0..=3 => self.append(u, wal),
            4 => self.append_batch(u, wal),
            5 => {
                trace(format_args!("sync()"));
                wal.sync().expect("sync");
                self.model.sync();
            }
            6 => self.truncate(u, &handle),
            7 => self.trim_before(u, &handle),
            8 => self.clear(&handle),
            9 => self.set_cursor(u, &handle),
            10 | 11 => return self.reopen(u, handle),
            12 => self.read(u, wal),
            13 => self.iter_from(u, wal),
            14 => self.iter_rev(wal),
            15 | 16 => self.iter_across(u, &handle),
            _ => self.verify(),
        }
        handle
    }

    fn append(&mut self, u: &mut Unstructured<'_>, wal: &Wal) {
        let payload = self.payload(u);
        trace(format_args!(
            "append({} bytes {:02x?})",
            payload.len(),
            &payload[..payload.len().min(8)]
        ));
        let first = self.model.first;
        let result = wal.append(&payload);
        match self.model.append(&payload) {
            Ok((offset, crc)) => {
                let appended = result.unwrap_or_else(|e| panic!("append failed: {e}"));
                assert_eq!((appended.offset, appended.crc), (offset, crc), "append");
                self.after_append();
            }
            Err(refusal) => assert_refused(result, refusal, first, "append"),
        }
    }

    /// Under `Always` and `GroupCommit` an append returns once it is durable.
    fn after_append(&mut self) {
        if self.options.sync_policy != SyncPolicy::Manual {
            self.model.sync();
        }
    }

    fn append_batch(&mut self, u: &mut Unstructured<'_>, wal: &Wal) {
        let count = pick::size(u, 0, 6);
        let payloads: Vec<Vec<u8>> = (0..count).map(|_| self.payload(u)).collect();
        let first = self.model.first;
        trace(format_args!(
            "append_batch(sizes {:?})",
            payloads.iter().map(Vec::len).collect::<Vec<_>>()
        ));
        let overflows = self.model.batch_overflows(&payloads);
        let result = wal.append_batch(&payloads);
        match self.model.append_batch(&payloads) {
            Ok((first_offset, last_offset, last_crc)) => {
                let batch = result.unwrap_or_else(|e| panic!("append_batch failed: {e}"));
                assert_eq!(
                    (batch.first_offset, batch.last_offset, batch.last_crc),
                    (first_offset, last_offset, last_crc),
                    "append_batch"
                );
                self.after_append();
            }
            Err(refusal) => {
                assert_refused(result, refusal, first, "append_batch");
                if overflows {
                    let next = wal.next_offset();
                    assert_eq!(
                        next, self.model.next,
                        "append_batch ran out of offsets part way and appended a prefix of the batch"
                    );
                }
            }
        }
    }

    /// `truncate_after(k)` (through the front door when the runner holds it: cursors
    /// above `k` move back to it) or the store's `truncate_from(k)` (cursors stay).
    fn truncate(&mut self, u: &mut Unstructured<'_>, handle: &Handle) {
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

    /// Trimming removes whole sealed segments: the model checks that the first offset the
    /// store says a trim keeps is one the rules allow, then follows it. Through the front
    /// door a trim past a cursor is refused, or with the caller's word drops the unread
    /// entries, moving the cursors.
    fn trim_before(&mut self, u: &mut Unstructured<'_>, handle: &Handle) {
        let offset = self.target(u);
        let first = self.model.first;
        let next = self.model.next;
        let wal = handle.store();
        let preview = wal.first_offset_after_trim(offset);
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
        assert_eq!(
            new_first, keep_from,
            "trim_before({offset}) kept another offset than it said"
        );
        assert!(
            new_first >= first && new_first <= first.max(offset) && new_first <= next,
            "trim_before({offset}) moved the first offset from {first} to {new_first} (next {next})"
        );
        assert_eq!(
            removed == 0,
            new_first == first,
            "trim_before({offset}) removed {removed} segments, first offset {first} -> {new_first}"
        );
        assert!(
            first == next || new_first < next,
            "trim_before({offset}) emptied a log of entries {first}..{next}: the segment that carries the chain's seed must stay"
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

    fn clear(&mut self, handle: &Handle) {
        match handle.front() {
            Some(log) => {
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
    fn set_cursor(&mut self, u: &mut Unstructured<'_>, handle: &Handle) {
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

    fn read(&mut self, u: &mut Unstructured<'_>, wal: &Wal) {
        let offset = self.target(u);
        trace(format_args!("read({offset})"));
        let result = wal.read(offset);
        match self.model.entries.get(&offset) {
            Some(entry) => assert_eq!(
                result.unwrap_or_else(|e| panic!("read({offset}) failed: {e}")),
                model_entry(offset, entry),
                "read({offset})"
            ),
            None => assert_refused(
                result,
                Refusal::OffsetOutOfRange { offset },
                self.model.first,
                "read",
            ),
        }
    }

    /// `iter_from(k)`, and `visit_from(k)` stopped after a number of entries (or not):
    /// both yield the model's entries from `k` on.
    fn iter_from(&mut self, u: &mut Unstructured<'_>, wal: &Wal) {
        let offset = self.target(u);
        let stop_after = pick::flag(u).then(|| pick::size(u, 0, 8));
        trace(format_args!(
            "iter_from({offset}); visit_from({offset}) breaking after {stop_after:?}"
        ));
        let first = self.model.first;
        let result = wal.iter_from(offset);
        let mut visited = Vec::new();
        let visit = wal.visit_from(offset, |entry| {
            visited.push(Entry {
                offset: entry.offset,
                payload: entry.payload.to_vec(),
                prev_crc: entry.prev_crc,
                crc: entry.crc,
            });
            if stop_after.is_some_and(|n| visited.len() > n) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if offset < first || offset > self.model.next {
            let refusal = Refusal::OffsetOutOfRange { offset };
            assert_refused(result.map(|_| ()), refusal.clone(), first, "iter_from");
            assert_refused(visit, refusal, first, "visit_from");
            return;
        }
        let entries: Vec<Entry> = result
            .unwrap_or_else(|e| panic!("iter_from({offset}) failed: {e}"))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("iter_from({offset}) yielded an error: {e}"));
        let mut expected: Vec<Entry> = self
            .model
            .entries
            .range(offset..)
            .map(|(&o, e)| model_entry(o, e))
            .collect();
        assert_eq!(entries, expected, "iter_from({offset})");
        let reached = visit.unwrap_or_else(|e| panic!("visit_from({offset}) failed: {e}"));
        if let Some(n) = stop_after {
            expected.truncate(n + 1);
        }
        let expected_end = expected.last().map_or(offset.max(self.model.next), |e| {
            if stop_after.is_some() {
                e.offset + 1
            } else {
                self.model.next
            }
        });
        assert_eq!(visited, expected, "visit_from({offset})");
        assert_eq!(
            reached, expected_end,
            "visit_from({offset}) returned where it stopped"
        );
    }

    fn iter_rev(&mut self, wal: &Wal) {
        trace(format_args!("iter_rev()"));
        let entries: Vec<Entry> = wal
            .iter_rev()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("iter_rev yielded an error: {e}"));
        let expected: Vec<Entry> = self
            .model
            .entries
            .iter()
            .rev()
            .map(|(&o, e)| model_entry(o, e))
            .collect();
        assert_eq!(entries, expected, "iter_rev");
    }

    /// An iterator held across a change to the log: before the change it yields the old
    /// entries, after it the entries the log holds then; if the change removed the entry
    /// it was about to read it yields one `OffsetOutOfRange` and ends; it ends at the end.
    fn iter_across(&mut self, u: &mut Unstructured<'_>, handle: &Handle) {
        let wal = handle.store();
        let steps = pick::size(u, 0, 8);
        trace(format_args!("iter() then {steps} next(), then:"));
        let mut iter = wal.iter();
        let mut at = self.model.first;
        let mut ended = false;
        for _ in 0..steps {
            match iter.next() {
                Some(Ok(entry)) => {
                    assert_eq!(entry, model_entry(at, &self.model.entries[&at]), "iter");
                    at += 1;
                }
                None => {
                    assert_eq!(at, self.model.next, "iter ended early");
                    ended = true;
                    break;
                }
                Some(Err(e)) => panic!("iter yielded an error: {e}"),
            }
        }
        match pick::int(u, 0, 4) {
            0 => self.append(u, wal),
            1 => self.append_batch(u, wal),
            2 => self.truncate(u, handle),
            3 => self.trim_before(u, handle),
            _ => self.clear(handle),
        }
        if ended {
            assert!(iter.next().is_none(), "an iterator that ended yields again");
            return;
        }
        loop {
            match iter.next() {
                Some(Ok(entry)) => {
                    let expected = self.model.entries.get(&at).unwrap_or_else(|| {
                        panic!("iter yielded entry {at} which the log does not hold: {entry:?}")
                    });
                    assert_eq!(entry, model_entry(at, expected), "iter after a change");
                    at += 1;
                }
                Some(Err(StoreError::OffsetOutOfRange { offset, .. })) => {
                    assert!(
                        at < self.model.first && offset == at,
                        "iter yielded OffsetOutOfRange for {offset} at {at}, log {}..{}",
                        self.model.first,
                        self.model.next
                    );
                    assert!(iter.next().is_none(), "iter goes on after an error");
                    return;
                }
                Some(Err(e)) => panic!("iter after a change yielded an error: {e}"),
                None => {
                    assert!(
                        at >= self.model.next,
                        "iter ended at {at}, the log holds {}..{}",
                        self.model.first,
                        self.model.next
                    );
                    return;
                }
            }
        }
    }

    /// `verify` beside the open log finds it clean (but for a cursor past the end).
    fn verify(&mut self) {
        trace(format_args!("verify(dir, None)"));
        let verification = wal_recovery::verify(self.dir, None).expect("verify");
        assert_eq!(
            verification.ok,
            !self.model.cursor_problem_counts(),
            "verify of a live log: {verification:#?}"
        );
        assert_eq!(verification.first_offset, Some(self.model.first));
        assert_eq!(verification.last_valid_offset, self.model.last());
        assert_eq!(verification.cursor, self.cursor_state());
        let kinds: Vec<ProblemKind> = verification.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, self.expected_problems(), "verify of a live log");
    }

    fn cursor_state(&self) -> CursorState {
        self.model
            .cursor()
            .map_or(CursorState::Missing, CursorState::At)
    }

    fn expected_problems(&self) -> Vec<ProblemKind> {
        self.model
            .cursor_problems()
            .into_iter()
            .map(|(_, kind, _)| problem_kind(kind))
            .collect()
    }

    /// Drops (or closes) the log and opens it again: through recovery with a mode and a
    /// commit offset, or through the store alone. Before that, maybe: `rebuild_index` and
    /// `repair` find nothing to do, and recovery refuses a commit offset past the end
    /// without changing anything.
    fn reopen(&mut self, u: &mut Unstructured<'_>, handle: Handle) -> Handle {
        if pick::flag(u) {
            trace(format_args!("close()"));
            handle.close().expect("close");
        } else {
            trace(format_args!("drop(log)"));
            drop(handle);
        }
        self.model.reopen();
        if pick::flag(u) {
            trace(format_args!(
                "rebuild_index(dir); repair(dir, TolerateCorruptTail, None)"
            ));
            let actions = wal_recovery::rebuild_index(self.dir).expect("rebuild_index");
            assert!(
                actions.is_empty(),
                "rebuild_index on a clean log: {actions:?}"
            );
            let report = wal_recovery::repair(self.dir, RecoveryMode::TolerateCorruptTail, None)
                .expect("repair");
            // Without opening the log, repair knows no seed: its last crc is that of the
            // last entry.
            let last_crc = self.model.entries.values().next_back().and_then(|e| e.crc);
            self.check_report(&report, RecoveryMode::TolerateCorruptTail, None, last_crc);
            self.model.clamp_cursor();
        }
        if pick::flag(u) {
            self.refuse_commit_past_end();
        }
        match pick::int(u, 0, 5) {
            0 => self.recover(RecoveryMode::TolerateCorruptTail, None),
            1 => self.recover(RecoveryMode::AbsoluteConsistency, None),
            2 => self.recover(RecoveryMode::PointInTime, None),
            3 => self.recover(RecoveryMode::SkipCorrupted, None),
            4 => self.recover(RecoveryMode::TolerateCorruptTail, self.model.last()),
            _ => {
                trace(format_args!("Wal::open(dir, options)"));
                Handle::Plain(
                    Wal::open(self.dir, self.options.clone())
                        .unwrap_or_else(|e| panic!("the store refused a clean log: {e}")),
                )
            }
        }
    }

    /// A commit offset at the end of the log names an entry it does not hold: recovery
    /// refuses and changes nothing.
    fn refuse_commit_past_end(&mut self) {
        let before = Snapshot::take(self.dir).without(LOCK_FILE_NAME);
        let commit = self.model.next;
        trace(format_args!(
            "wal_recovery::open(TolerateCorruptTail, commit {commit}) -> refused"
        ));
        let result = wal_recovery::open(
            self.dir,
            RecoveryOptions::default()
                .with_mode(RecoveryMode::TolerateCorruptTail)
                .with_commit_offset(Some(commit))
                .with_wal(self.options.clone()),
        );
        match result {
            Err(RecoveryError::CommittedCorruption { problem, .. }) => {
                assert_eq!(problem.kind, ProblemKind::MissingEntries, "{problem}");
            }
            other => panic!(
                "a commit offset {commit} past the end of {}..{} was not refused: {:?}",
                self.model.first,
                self.model.next,
                other.map(|r| r.report)
            ),
        }
        let after = Snapshot::take(self.dir).without(LOCK_FILE_NAME);
        assert!(
            after == before,
            "a refused recovery changed files: {:?}",
            before.changed(&after)
        );
    }

    fn recover(&mut self, mode: RecoveryMode, commit_offset: Option<u64>) -> Handle {
        trace(format_args!(
            "wal_recovery::open({mode:?}, commit {commit_offset:?})"
        ));
        if mode == RecoveryMode::AbsoluteConsistency && self.model.cursor_problem_counts() {
            // A cursor past the end says finalized entries are missing, one before the
            // first entry that unread ones are: refused, and nothing changes; the default
            // mode then clamps the first and reports the second.
            let before = Snapshot::take(self.dir).without(LOCK_FILE_NAME);
            let result = wal_recovery::open(
                self.dir,
                RecoveryOptions::default()
                    .with_mode(mode)
                    .with_commit_offset(commit_offset)
                    .with_wal(self.options.clone()),
            );
            match result {
                Err(RecoveryError::Inconsistent { problems }) => {
                    let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
                    let expected: Vec<ProblemKind> = self
                        .model
                        .cursor_problems()
                        .into_iter()
                        .filter(|p| p.2)
                        .map(|(_, kind, _)| problem_kind(kind))
                        .collect();
                    assert_eq!(kinds, expected, "{problems:#?}");
                }
                other => panic!(
                    "AbsoluteConsistency with cursors {:?} outside {}..{}: {:?}",
                    self.model.cursors,
                    self.model.first,
                    self.model.next,
                    other.map(|r| r.report)
                ),
            }
            let after = Snapshot::take(self.dir).without(LOCK_FILE_NAME);
            assert!(
                after == before,
                "a refused recovery changed files: {:?}",
                before.changed(&after)
            );
            return self.recover(RecoveryMode::TolerateCorruptTail, commit_offset);
        }
        let recovered = wal_recovery::open(
            self.dir,
            RecoveryOptions::default()
                .with_mode(mode)
                .with_commit_offset(commit_offset)
                .with_wal(self.options.clone()),
        )
        .unwrap_or_else(|e| panic!("recovering a clean log with {mode:?} failed: {e}"));
        self.check_report(&recovered.report, mode, commit_offset, self.model.last_crc);
        self.model.clamp_cursor();
        let replayed: Vec<Entry> = recovered
            .replay()
            .expect("replay")
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("replay yielded an error: {e}"));
        assert_eq!(
            replayed,
            self.entries_from(self.model.replay_from()),
            "replay after the cursor"
        );
        // Every consumer's replay, and one with no cursor yet, starts right after its
        // durable cursor.
        for name in CURSOR_NAMES.into_iter().chain(["new"]) {
            let replayed: Vec<Entry> = recovered
                .log
                .replay_for(name)
                .expect("replay_for")
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("replay_for({name}) yielded an error: {e}"));
            let expected = self.entries_from(self.model.replay_from_for(name));
            assert_eq!(replayed, expected, "replay after cursor {name}");
        }
        Handle::Front(recovered.log)
    }

    /// The model's entries from `offset` on.
    fn entries_from(&self, offset: u64) -> Vec<Entry> {
        self.model
            .entries
            .range(offset..)
            .map(|(&o, e)| model_entry(o, e))
            .collect()
    }

    /// The report of a recovery of a clean log: nothing found but a cursor out of range,
    /// nothing done but clamping a cursor past the end, the model's offsets and crc.
    fn check_report(
        &self,
        report: &RecoveryReport,
        mode: RecoveryMode,
        commit: Option<u64>,
        last_crc: Option<u32>,
    ) {
        let kinds: Vec<ProblemKind> = report.problems.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            self.expected_problems(),
            "problems in a clean log: {report:#?}"
        );
        let expected_actions: Vec<Action> = self
            .model
            .clone()
            .clamp_cursor()
            .into_iter()
            .map(|(name, from, to)| {
                if name == DEFAULT {
                    Action::CursorClamped { from, to }
                } else {
                    Action::NamedCursorClamped { name, from, to }
                }
            })
            .collect();
        assert_eq!(
            report.actions, expected_actions,
            "recovery of a clean log: {report:#?}"
        );
        assert!(
            report.cut.is_none(),
            "recovery of a clean log cut: {report:#?}"
        );
        assert_eq!(
            report.is_clean(),
            !self.model.cursor_problem_counts(),
            "is_clean: {report:#?}"
        );
        assert_eq!(report.mode, mode);
        assert_eq!(report.commit_offset, commit);
        assert_eq!(
            report.first_offset, self.model.first,
            "report: first offset"
        );
        assert_eq!(report.last_offset, self.model.last(), "report: last offset");
        assert_eq!(report.last_crc, last_crc, "report: last crc");
        assert_eq!(report.cursor, self.cursor_state(), "report: cursor");
        assert_eq!(
            report.replay_from,
            self.model.replay_from(),
            "report: replay from"
        );
    }

    /// The whole log against the model.
    fn check_state(&self, handle: &Handle) {
        let model = &*self.model;
        if let Some(log) = handle.front() {
            let expected: Vec<(String, u64)> = model
                .cursors
                .iter()
                .map(|(name, c)| (name.clone(), c.offset))
                .collect();
            assert_eq!(log.cursors(), expected, "the front door's cursors");
        }
        let wal = handle.store();
        assert_eq!(wal.first_offset(), model.first, "first offset");
        assert_eq!(wal.next_offset(), model.next, "next offset");
        assert_eq!(wal.last_offset(), model.last(), "last offset");
        assert_eq!(wal.last_crc(), model.last_crc, "last crc");
        let synced = wal.last_synced_offset().map_or(model.first, |o| o + 1);
        assert!(
            synced >= model.synced_end.max(model.first) && synced <= model.next,
            "last synced offset {:?}, the model knows {}..{} durable up to {}",
            wal.last_synced_offset(),
            model.first,
            model.next,
            model.synced_end
        );
        let entries: Vec<Entry> = wal
            .iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("iter yielded an error: {e}"));
        let expected: Vec<Entry> = model
            .entries
            .iter()
            .map(|(&o, e)| model_entry(o, e))
            .collect();
        assert_eq!(entries, expected, "the log's entries");
    }
}
