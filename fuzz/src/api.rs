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
use wal_recovery::{CursorState, ProblemKind, RecoveryError, RecoveryMode};
use wal_store::{Entry, ReadVisibility, StoreError, SyncPolicy, Wal, WalOptions};
use wal_testkit::scratch::Reaped as Scratch;

use crate::log_model::{LogModel, ModelEntry, Refusal};

mod changes;
mod reopen;

use crate::pick;
use changes::Handle;

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
