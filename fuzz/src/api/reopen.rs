//! Reopening the log, and what recovery must report and replay for each consumer.

use libfuzzer_sys::arbitrary::Unstructured;
use wal_recovery::{
    Action, ProblemKind, RecoveryError, RecoveryMode, RecoveryOptions, RecoveryReport,
};
use wal_store::internal::naming::LOCK_FILE_NAME;
use wal_store::{Entry, Wal};
use wal_testkit::snapshot::Tree as Snapshot;

use super::changes::{CURSOR_NAMES, Handle};
use super::{Runner, model_entry, problem_kind, trace};
use crate::log_model::DEFAULT;
use crate::pick;

impl Runner<'_> {
    /// Drops (or closes) the log and opens it again: through recovery with a mode and a
    /// commit offset, or through the store alone. Before that, maybe: `rebuild_index` and
    /// `repair` find nothing to do, and recovery refuses a commit offset past the end
    /// without changing anything.
    pub(super) fn reopen(&mut self, u: &mut Unstructured<'_>, handle: Handle) -> Handle {
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
    pub(super) fn refuse_commit_past_end(&mut self) {
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

    pub(super) fn recover(&mut self, mode: RecoveryMode, commit_offset: Option<u64>) -> Handle {
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
    pub(super) fn entries_from(&self, offset: u64) -> Vec<Entry> {
        self.model
            .entries
            .range(offset..)
            .map(|(&o, e)| model_entry(o, e))
            .collect()
    }

    /// The report of a recovery of a clean log: nothing found but a cursor out of range,
    /// nothing done but clamping a cursor past the end, the model's offsets and crc.
    pub(super) fn check_report(
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
}
