//! What the parent knows of a log directory, and the checks of a report and of the
//! directory against it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use wal_recovery::ProblemKind;

use crate::protocol::{Ack, Applied, CLIENTS_MAX, SEQ_CYCLE_SHIFT};

/// What one log directory is known to hold.
#[derive(Debug, Default)]
pub(crate) struct Model {
    /// The first cycle that wrote to it.
    first_cycle: u64,
    /// Every write acknowledged in it, in the order of the acknowledgements.
    acked: Vec<Ack>,
    /// The highest index acknowledged in it.
    acked_last: Option<u64>,
    /// The last report checked: every entry in it was applied, so committed, and stays.
    last_report: Vec<Applied>,
    /// How many writes had been acknowledged at the last report.
    acked_at_last_report: usize,
}

impl Model {
    /// The model of a new directory, which the child of `first_cycle` writes first.
    pub(crate) fn new(first_cycle: u64) -> Model {
        Model {
            first_cycle,
            ..Model::default()
        }
    }

    /// How many writes were acknowledged in it.
    pub(crate) fn acked_count(&self) -> u64 {
        self.acked.len() as u64
    }

    /// Adds the acknowledgements of the child of `cycle`, after checking them alone;
    /// `batched` says whether its clients wrote through the batcher (else every write
    /// had an entry of its own).
    pub(crate) fn add(&mut self, acks: &[Ack], cycle: u64, batched: bool, context: &str) {
        let mut last_seq = HashMap::new();
        let mut places = HashSet::new();
        for ack in acks {
            assert!(
                (1..=CLIENTS_MAX).contains(&ack.client) && ack.seq >> SEQ_CYCLE_SHIFT == cycle,
                "{context}: an acknowledgement of something this child did not write: {ack:?}"
            );
            assert!(
                batched || ack.position == 0,
                "{context}: a write alone in its entry acknowledged at another place: {ack:?}"
            );
            assert!(
                places.insert((ack.index, ack.position)),
                "{context}: two writes acknowledged at the same place: {ack:?}"
            );
            let before = last_seq.insert(ack.client, ack.seq);
            assert!(
                before < Some(ack.seq),
                "{context}: client {} was acknowledged {:?} after {before:?}",
                ack.client,
                ack.seq
            );
            self.acked_last = self.acked_last.max(Some(ack.index));
        }
        self.acked.extend_from_slice(acks);
    }
}

/// Counts for the summary.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Children killed.
    pub(crate) kills: u64,
    /// Kills that came before the child's report (during its startup and recovery).
    pub(crate) kills_before_report: u64,
    /// Kills that waited for a number of acknowledgements.
    pub(crate) kills_after_acks: u64,
    /// The acknowledgements those kills waited for, summed.
    pub(crate) acks_awaited: u64,
    /// Acknowledged writes found in the final check run of each directory, summed.
    pub(crate) acked_in_final_reports: u64,
    /// Kills after the report, before any acknowledgement.
    pub(crate) kills_before_first_ack: u64,
    /// Writes acknowledged.
    pub(crate) acked: u64,
    /// Acknowledged writes found in reports, summed over the reports.
    pub(crate) acked_checked: u64,
    /// Reports checked.
    pub(crate) reports: u64,
    /// Writes found applied, never acknowledged: those in flight at a kill that made it.
    pub(crate) unacked_applied: u64,
    /// Log directories used.
    pub(crate) directories: u64,
    /// The most entries a report held.
    pub(crate) largest_log_entries: usize,
    /// The most writes a report showed in one entry.
    pub(crate) largest_entry_writes: u64,
    /// Kills that left a log purged (its first entry past 0).
    pub(crate) kills_after_purge: u64,
    /// The furthest a log was purged: its highest first index.
    pub(crate) purged_first_max: u64,
    /// What verify found in the directories as the kills left them, by kind.
    pub(crate) problems: BTreeMap<&'static str, u64>,
}

/// Checks a report (what the state machine applied after recovery) against the model.
pub(crate) fn check_report(
    report: &[Applied],
    model: &mut Model,
    cycle: u64,
    tally: &mut Tally,
    context: &str,
) {
    // Where each write was applied: its entry's index and its place among the entry's
    // writes, which are applied in the entry's order, one after the other.
    let mut at = HashMap::with_capacity(report.len());
    let mut last_seq: HashMap<u64, u64> = HashMap::new();
    let mut last_index = None;
    let mut position = 0;
    for one in report {
        let written = (model.first_cycle..cycle).contains(&(one.seq >> SEQ_CYCLE_SHIFT));
        assert!(
            (1..=CLIENTS_MAX).contains(&one.client) && written && one.payload_ok,
            "{context}: applied {one:?}, which no child wrote to this log"
        );
        assert!(
            last_index <= Some(one.index),
            "{context}: applied index {} after {last_index:?}",
            one.index
        );
        position = if last_index == Some(one.index) {
            position + 1
        } else {
            0
        };
        last_index = Some(one.index);
        tally.largest_entry_writes = tally.largest_entry_writes.max(position + 1);
        if let Some(first) = at.insert((one.client, one.seq), (one.index, position)) {
            panic!(
                "{context}: client {} seq {} applied twice, at {first:?} and {}",
                one.client, one.seq, one.index
            );
        }
        let before = last_seq.insert(one.client, one.seq);
        assert!(
            before < Some(one.seq),
            "{context}: client {} seq {} applied after its seq {before:?}",
            one.client,
            one.seq
        );
    }
    for ack in &model.acked {
        assert_eq!(
            at.get(&(ack.client, ack.seq)),
            Some(&(ack.index, ack.position)),
            "{context}: an acknowledged write is not applied at its index and place: {ack:?}"
        );
    }
    tally.reports += 1;
    tally.acked_checked += model.acked.len() as u64;
    // An applied entry was committed: applied once, it is applied after every restart.
    assert!(
        report.starts_with(&model.last_report),
        "{context}: the {} entries of the last report are not where they were",
        model.last_report.len()
    );
    // Every acknowledged write is in the report, so what is new since the last report and
    // not acknowledged since is what the kills let through unacknowledged.
    let new_entries = report.len() - model.last_report.len();
    let new_acked = model.acked.len() - model.acked_at_last_report;
    tally.unacked_applied += new_entries.saturating_sub(new_acked) as u64;
    model.last_report = report.to_vec();
    model.acked_at_last_report = model.acked.len();
    tally.largest_log_entries = tally.largest_log_entries.max(report.len());
}

/// Checks the directory as the kill left it, before any recovery: what `verify` finds must
/// be what a process killed at any moment may leave, and nothing at or before the last
/// acknowledged index.
pub(crate) fn check_directory(dir: &Path, model: &Model, tally: &mut Tally, context: &str) {
    if !dir.exists() {
        // Killed before `LogStore::open` created it: nothing was written.
        assert!(model.acked.is_empty(), "{context}: the log is gone");
        return;
    }
    let verification = wal_recovery::verify(dir, model.acked_last)
        .unwrap_or_else(|e| panic!("{context}: verify failed: {e}"));
    if let Some(first) = verification.first_offset.filter(|&first| first > 0) {
        tally.kills_after_purge += 1;
        tally.purged_first_max = tally.purged_first_max.max(first);
    }
    for problem in &verification.problems {
        *tally.problems.entry(problem.kind.name()).or_default() += 1;
        // What a kill can leave, and nothing else:
        // - a torn tail: a record half copied into the map when the kill came (a SIGKILL
        //   keeps the page cache, so everything written before it is there); past every
        //   acknowledged index, since an acknowledged entry was synced, so uncommitted;
        // - a temporary file: every file the log replaces is written whole to a `.tmp`,
        //   synced and renamed (the raft metadata `META.tmp` on every vote and commit, a
        //   sealed segment's index and the next data file at a rotation), and a kill
        //   before the rename leaves it beside the old file, which still stands.
        // Not an index missing: a rotation writes the sealed segment's index before it
        // creates the next segment, so a kill never leaves a sealed segment without one.
        // Any other kind is damage a kill cannot explain, and any problem at or before
        // the last acknowledged index (`committed`) is the loss of a promise.
        let acceptable = matches!(problem.kind, ProblemKind::TornTail | ProblemKind::TempFile);
        assert!(
            acceptable && !problem.committed,
            "{context}: verify found {problem:?}"
        );
    }
    if let Some(acked_last) = model.acked_last {
        assert!(
            verification.last_valid_offset >= Some(acked_last),
            "{context}: the log's valid entries end at {:?}, before the acknowledged {acked_last}",
            verification.last_valid_offset
        );
    }
}
