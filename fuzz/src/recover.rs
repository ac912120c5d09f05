//! Checks of recovery on a directory built by [`damaged_dir`](crate::damaged_dir).
//!
//! `verify` must change nothing. Then each mode, on its own copy of the directory:
//! - if `open` refuses, nothing changed (a committed redo journal is rolled forward
//!   first, by design: the expected state is computed here); only `AbsoluteConsistency`
//!   may refuse with `Inconsistent`, only `TolerateCorruptTail` with `CommittedCorruption`
//!   (and only over a committed data problem); `PointInTime` and `SkipCorrupted` never
//!   refuse;
//! - if it succeeds, the log it returns is whole: offsets run from the first to the end,
//!   stepping over exactly the holes of the `HOLES` file; every v2 crc is
//!   `chain(prev_crc, payload)` and entries next to each other link; `read`, `iter`,
//!   `iter_rev` and `replay` agree; the report agrees with the log; an append chains from
//!   the last crc; `verify` then finds nothing wrong, and a second `open` finds nothing
//!   to do and the same entries.
//!
//! An `open` that took the clean restart (the report's `from_close_record`) trusted the
//! close record and the indexes instead of checking every record, by design. It is taken
//! only where a close record is; over a directory `verify` finds nothing wrong in, it
//! must pass every check above. Over damage, only what the store promises is checked:
//! the report agrees with the log, every entry handed out has a right crc and lies in
//! the log, and once a deferred check has removed the close record, the next `open` is
//! a full one.

use std::path::{Path, PathBuf};

use wal_format::crc;
use wal_recovery::CursorState;
use wal_recovery::{
    JOURNAL_FILE_NAME, PENDING_SUFFIX, Problem, ProblemKind, RecoveryError, RecoveryMode,
    RecoveryOptions,
};
use wal_store::internal::naming::LOCK_FILE_NAME;
use wal_store::internal::{closed, holes};
use wal_store::{Entry, StoreError, Wal};
use wal_testkit::scratch::Reaped as Scratch;
use wal_testkit::snapshot::{Node, Tree as Snapshot};

use crate::damaged_dir::Setup;

/// Every recovery mode.
pub const MODES: [RecoveryMode; 4] = [
    RecoveryMode::AbsoluteConsistency,
    RecoveryMode::TolerateCorruptTail,
    RecoveryMode::PointInTime,
    RecoveryMode::SkipCorrupted,
];

/// The payload appended after a successful recovery.
const PROBE_PAYLOAD: &[u8] = b"appended after recovery";

/// Every check, on the directory `dir` (which is left as it was).
pub fn check(dir: &Path, setup: &Setup) {
    let before = Snapshot::take(dir);
    if std::env::var_os("WAL_FUZZ_TRACE").is_some() {
        eprintln!("recover {setup:?}");
        for (path, node) in before.iter() {
            match node {
                Node::File(bytes) => {
                    eprintln!("file {path:?} ({} bytes): {bytes:02x?}", bytes.len());
                }
                Node::Dir => eprintln!("folder {path:?}"),
            }
        }
    }
    let verification = wal_recovery::verify(dir, setup.commit_offset)
        .unwrap_or_else(|e| panic!("verify failed on a directory of regular files: {e}"));
    let after_verify = Snapshot::take(dir);
    assert!(
        after_verify == before,
        "verify changed files: {:?}",
        before.changed(&after_verify)
    );
    let expected = Expected::new(&before, &verification);
    for mode in MODES {
        let copy = Scratch::new();
        before.write_to(copy.path());
        check_open(copy.path(), mode, setup, &expected);
    }
}

/// What the checks of one `open` compare with.
struct Expected<'a> {
    verification: &'a wal_recovery::Verification,
    /// The directory after a refusal: as it was, with a committed redo journal rolled
    /// forward (the lock file aside).
    after_refusal: Snapshot,
    /// Whether `verify` saw what `open` analyses: there is no redo journal, which `open`
    /// rolls forward before it looks.
    verify_saw_it_all: bool,
    /// A redo journal that is not UTF-8: `open` cannot read it and fails.
    unreadable_journal: bool,
    /// Whether the directory holds a close record (the clean restart needs one).
    close_record: bool,
}

impl<'a> Expected<'a> {
    fn new(before: &Snapshot, verification: &'a wal_recovery::Verification) -> Expected<'a> {
        let journal = before.file(JOURNAL_FILE_NAME);
        let unreadable_journal = journal.is_some_and(|j| std::str::from_utf8(j).is_err());
        let after_refusal = if unreadable_journal {
            before.clone()
        } else {
            rolled_forward(before)
        }
        .without(LOCK_FILE_NAME);
        Expected {
            verification,
            after_refusal,
            verify_saw_it_all: journal.is_none(),
            unreadable_journal,
            close_record: before.file(closed::CLOSED_FILE_NAME).is_some(),
        }
    }
}

/// `before` after the roll-forward of its redo journal, as the recovery crate's journal
/// module documents it: line by line, `install <name>` renames `<name>.pending` over
/// `<name>` (if there is one), `remove <name>` removes `<name>`; other lines, and names
/// that are not plain names inside the directory, are skipped; then the journal goes.
fn rolled_forward(before: &Snapshot) -> Snapshot {
    let mut after = before.clone();
    let Some(journal) = before.file(JOURNAL_FILE_NAME) else {
        return after;
    };
    let text = String::from_utf8_lossy(journal);
    for line in text.lines() {
        let Some((verb, name)) = line.split_once(' ') else {
            continue;
        };
        if name.contains('/') || name == ".." || name == "." || name.is_empty() {
            continue;
        }
        match verb {
            "install" => {
                let pending = PathBuf::from(format!("{name}{PENDING_SUFFIX}"));
                if let Some(bytes) = after.file(&pending).map(<[u8]>::to_vec) {
                    after.remove(&pending);
                    after.insert(PathBuf::from(name), Node::File(bytes));
                }
            }
            // A folder of that name is left as it is: the model moves and removes files only.
            "remove" if after.file(name).is_some() => {
                after.remove(Path::new(name));
            }
            _ => {}
        }
    }
    after.remove(Path::new(JOURNAL_FILE_NAME));
    after
}

/// Problems that may remain after a successful recovery: files recovery leaves alone, and
/// the cursor's problems (a corrupt cursor is the consumer's to rewrite; one before the
/// first entry is left as it is: it informs, or with no record of a requested drop tells
/// of lost entries recovery cannot bring back; one past the end is clamped, so it should
/// not come back).
/// Leftover temporary files stay only under `AbsoluteConsistency`, which changes nothing.
fn may_remain(mode: RecoveryMode, problem: &Problem) -> bool {
    // Damage in entries the consumer consumed: the default mode leaves it, set aside.
    if problem.consumed {
        return mode == RecoveryMode::TolerateCorruptTail;
    }
    match problem.kind {
        // The cursor's problems: a cursor before the first entry is left as it is
        // (RECOVERY.md, `unread_entries_gone`); recovery brings no entry back.
        ProblemKind::UnknownFile
        | ProblemKind::CursorCorrupt
        | ProblemKind::CursorOutOfRange
        | ProblemKind::UnreadEntriesGone => true,
        ProblemKind::TempFile => mode == RecoveryMode::AbsoluteConsistency,
        _ => false,
    }
}

/// A problem without its paths and wording, to compare the problems of two copies.
fn key(p: &Problem) -> (ProblemKind, Option<u64>, Option<u64>, Option<u32>, bool) {
    (p.kind, p.segment, p.offset, p.file_offset, p.committed)
}

fn assert_unchanged(dir: &Path, expected: &Expected<'_>, what: &str) {
    let now = Snapshot::take(dir).without(LOCK_FILE_NAME);
    assert!(
        now == expected.after_refusal,
        "{what}, yet files changed: {:?}",
        expected.after_refusal.changed(&now)
    );
}

fn check_open(dir: &Path, mode: RecoveryMode, setup: &Setup, expected: &Expected<'_>) {
    let options = RecoveryOptions::default()
        .with_mode(mode)
        .with_commit_offset(setup.commit_offset)
        .with_wal(setup.wal.clone());
    let verification = expected.verification;
    match wal_recovery::open(dir, options) {
        Ok(recovered) => {
            assert!(
                !expected.unreadable_journal,
                "open with {mode:?} read a redo journal that is not UTF-8"
            );
            let fast = recovered.report.from_close_record;
            if fast {
                assert!(
                    expected.close_record && expected.verify_saw_it_all,
                    "open with {mode:?} took the clean restart without a close record, or after rolling a journal forward"
                );
                if !verification.problems.is_empty() {
                    // The clean restart does not look for damage: the reads find it.
                    check_trusted(dir, mode, setup, recovered);
                    return;
                }
            }
            if expected.verify_saw_it_all && mode == RecoveryMode::AbsoluteConsistency {
                assert!(
                    !verification.problems.iter().any(|p| p.kind.is_data()
                        || matches!(
                            p.kind,
                            ProblemKind::IndexMissing
                                | ProblemKind::IndexCorrupt
                                | ProblemKind::IndexStale
                                | ProblemKind::EmptySegment
                                | ProblemKind::DuplicateCodec
                                | ProblemKind::TailGarbage
                        )),
                    "AbsoluteConsistency accepted a directory verify finds damaged: {verification:#?}"
                );
            }
            check_recovered(dir, mode, setup, recovered);
        }
        Err(RecoveryError::Inconsistent { problems }) => {
            assert_eq!(
                mode,
                RecoveryMode::AbsoluteConsistency,
                "only AbsoluteConsistency refuses as inconsistent: {problems:#?}"
            );
            assert!(!problems.is_empty(), "refused with no problem");
            if expected.verify_saw_it_all {
                // A sealed segment's missing or corrupt index keeps verify ok (derived
                // data), and AbsoluteConsistency still refuses it (RECOVERY.md, "Three
                // notions of clean").
                assert!(
                    !verification.ok || problems.iter().all(Problem::keeps_verify_ok),
                    "AbsoluteConsistency refused a directory verify finds ok: {problems:#?}"
                );
                let verified: Vec<_> = verification.problems.iter().map(key).collect();
                for problem in &problems {
                    assert!(
                        verified.contains(&key(problem)),
                        "open refused over a problem verify does not report: {problem}\n{verification:#?}"
                    );
                }
            }
            assert_unchanged(dir, expected, "AbsoluteConsistency refused");
        }
        Err(RecoveryError::CommittedCorruption {
            problem, problems, ..
        }) => {
            assert_eq!(
                mode,
                RecoveryMode::TolerateCorruptTail,
                "only TolerateCorruptTail refuses committed corruption: {problem}"
            );
            assert!(
                problem.committed && problem.kind.is_data(),
                "refused over a problem that is not committed data: {problem}"
            );
            assert!(
                problems.contains(&problem),
                "the problem is not in the list"
            );
            if expected.verify_saw_it_all {
                assert!(
                    verification
                        .problems
                        .iter()
                        .any(|p| p.committed && p.kind.is_data()),
                    "open refused committed corruption that verify does not see: {problem}\n{verification:#?}"
                );
            }
            assert_unchanged(dir, expected, "TolerateCorruptTail refused");
        }
        Err(RecoveryError::Io { path, .. })
            if expected.unreadable_journal && path.ends_with(JOURNAL_FILE_NAME) =>
        {
            // Not a refusal by the mode, but a typed error before anything changed.
            assert_unchanged(dir, expected, "open could not read the redo journal");
        }
        Err(e) => panic!(
            "open with {mode:?} failed (commit offset {:?}): {e}\n{e:?}\nverify saw: {verification:#?}",
            setup.commit_offset
        ),
    }
}

/// The entry's crc is the chain of its previous crc and payload (v2), or absent with its
/// previous crc (v1).
fn assert_crc(entry: &Entry) {
    match (entry.prev_crc, entry.crc) {
        (Some(prev), Some(crc)) => assert_eq!(
            crc,
            crc::chain(prev, &entry.payload),
            "entry {} carries a crc that is not chain(prev_crc, payload)",
            entry.offset
        ),
        (None, None) => {}
        other => panic!(
            "entry {} has a crc and no seed, or the reverse: {other:?}",
            entry.offset
        ),
    }
}

fn assert_out_of_range(wal: &Wal, offset: u64) {
    match wal.read(offset) {
        Err(StoreError::OffsetOutOfRange { offset: o, .. }) => assert_eq!(o, offset),
        other => panic!("read({offset}) outside the log returned {other:?}"),
    }
}

/// Reads the whole log every way the store offers and checks that they agree: the entries
/// are those of `first..next` outside the holes recorded in the directory.
fn read_all(wal: &Wal, set_aside_before: Option<u64>) -> Vec<Entry> {
    // Segments set aside (damage the consumer consumed) are not read: their reads may fail.
    let first = wal.first_offset().max(set_aside_before.unwrap_or(0));
    let next = wal.next_offset();
    let holes = match holes::read_holes(wal.dir()) {
        Ok(holes) => holes,
        Err(e) => panic!("the log opened with a holes file it cannot read: {e}"),
    };
    let in_hole = |offset: u64| holes.iter().any(|h| h.contains(&offset));
    let expected_offsets: Vec<u64> = (first..next).filter(|&o| !in_hole(o)).collect();
    let entries: Vec<Entry> = wal
        .iter_from(first)
        .unwrap_or_else(|e| panic!("iterating a recovered log failed: {e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("iterating a recovered log failed: {e}"));
    let offsets: Vec<u64> = entries.iter().map(|e| e.offset).collect();
    assert_eq!(
        offsets, expected_offsets,
        "iter yields other offsets than {first}..{next} without the holes {holes:?}"
    );
    for entry in &entries {
        assert_crc(entry);
        let read = wal
            .read(entry.offset)
            .unwrap_or_else(|e| panic!("read({}) failed: {e}", entry.offset));
        assert_eq!(&read, entry, "read and iter disagree");
    }
    for pair in entries.windows(2) {
        if let (Some(crc), Some(prev)) = (pair[0].crc, pair[1].prev_crc)
            && pair[0].offset + 1 == pair[1].offset
        {
            assert_eq!(
                prev, crc,
                "entry {} does not chain from entry {}",
                pair[1].offset, pair[0].offset
            );
        }
    }
    if let Some(last) = entries.last()
        && last.offset + 1 == next
    {
        assert_eq!(
            wal.last_crc(),
            last.crc,
            "last_crc is not the crc of the last entry"
        );
    }
    assert_out_of_range(wal, next);
    if let Some(before_first) = first.checked_sub(1)
        && set_aside_before.is_none()
    {
        assert_out_of_range(wal, before_first);
    }
    for hole in &holes {
        for offset in [hole.start, hole.end - 1] {
            if offset >= first && offset < next {
                assert_out_of_range(wal, offset);
            }
        }
    }
    let mut reversed: Vec<Entry> = wal
        .iter_rev()
        .take_while(|e| {
            e.as_ref()
                .map_or(set_aside_before.is_none(), |e| e.offset >= first)
        })
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("iterating a recovered log backwards failed: {e}"));
    reversed.reverse();
    assert_eq!(reversed, entries, "iter_rev is not iter reversed");
    entries
}

/// The report of an `open` agrees with the log it returned: first and last offsets, the
/// last crc, where replay starts.
fn assert_report_agrees(recovered: &wal_recovery::Recovered, mode: RecoveryMode) {
    let wal = recovered.log.store();
    let report = &recovered.report;
    let (first, next) = (wal.first_offset(), wal.next_offset());
    assert_eq!(report.mode, mode);
    assert_eq!(
        report.first_offset, first,
        "report and log disagree on the first offset"
    );
    assert_eq!(
        report.last_offset,
        (next > first).then(|| next - 1),
        "report and log disagree on the last offset"
    );
    assert_eq!(
        report.last_crc,
        wal.last_crc(),
        "report and log disagree on the last crc"
    );
    let replay_from = match report.cursor {
        CursorState::At(c) => c.saturating_add(1).clamp(first, next),
        _ => first,
    };
    assert_eq!(
        report.replay_from, replay_from,
        "replay starts at the wrong offset"
    );
}

/// The checks of a clean restart over a directory with damage (see the module's
/// documentation): what the store promises of a log it trusted.
fn check_trusted(
    dir: &Path,
    mode: RecoveryMode,
    setup: &Setup,
    recovered: wal_recovery::Recovered,
) {
    let report = &recovered.report;
    assert!(
        report.problems.is_empty() && report.actions.is_empty() && report.cut.is_none(),
        "the clean restart reported work: {report:#?}"
    );
    assert_report_agrees(&recovered, mode);
    let wal = recovered.log.store();
    let (first, next) = (wal.first_offset(), wal.next_offset());
    if let Some(commit) = setup.commit_offset {
        assert!(
            commit < next,
            "the clean restart accepted a log that ends before the commit offset {commit}"
        );
    }
    // Entries up to the first error: each in the log, in order, with a right crc.
    let mut previous: Option<Entry> = None;
    for entry in wal.iter().map_while(Result::ok) {
        assert!(
            (first..next).contains(&entry.offset),
            "entry {} is outside the log {first}..{next}",
            entry.offset
        );
        assert_crc(&entry);
        if let Some(previous) = &previous {
            assert!(entry.offset > previous.offset, "iter went backwards");
        }
        if let Ok(read) = wal.read(entry.offset) {
            assert_eq!(read, entry, "read and iter disagree");
        }
        previous = Some(entry);
    }
    let wal_options = wal.options().clone();
    drop(recovered);
    // A deferred check that failed removed the close record: no second clean restart.
    if !dir.join(closed::CLOSED_FILE_NAME).exists()
        && let Ok(again) = wal_recovery::open(
            dir,
            RecoveryOptions::default()
                .with_mode(mode)
                .with_wal(wal_options),
        )
    {
        assert!(
            !again.report.from_close_record,
            "a clean restart after a deferred check removed the close record"
        );
    }
}

fn check_recovered(
    dir: &Path,
    mode: RecoveryMode,
    setup: &Setup,
    recovered: wal_recovery::Recovered,
) {
    let wal = recovered.log.store();
    let report = &recovered.report;
    let first = wal.first_offset();
    let next = wal.next_offset();
    assert_report_agrees(&recovered, mode);
    match mode {
        RecoveryMode::AbsoluteConsistency => {
            assert!(
                report.actions.is_empty() && report.cut.is_none(),
                "AbsoluteConsistency changed something: {report:#?}"
            );
        }
        RecoveryMode::TolerateCorruptTail => {
            if let Some(cut) = &report.cut {
                assert!(
                    !cut.committed,
                    "TolerateCorruptTail cut committed entries: {cut:?}"
                );
            }
            if let Some(commit) = setup.commit_offset {
                assert!(
                    commit < next,
                    "TolerateCorruptTail accepted a log that ends before the commit offset {commit}: {report:#?}"
                );
            }
        }
        _ => {}
    }
    let set_aside = report.damage_before_cursor.as_ref().map(|d| d.end);
    let entries = read_all(wal, set_aside);
    let replay_from = report.replay_from;
    let replayed: Vec<Entry> = recovered
        .replay()
        .expect("replay")
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("replay failed: {e}"));
    let after_cursor: Vec<Entry> = entries
        .iter()
        .filter(|e| e.offset >= replay_from)
        .cloned()
        .collect();
    assert_eq!(
        replayed, after_cursor,
        "replay yields other entries than those after the cursor"
    );

    // The log takes an append, chained from its last crc.
    let seed = wal.last_crc();
    let appended = wal
        .append(PROBE_PAYLOAD)
        .unwrap_or_else(|e| panic!("append after recovery failed: {e}"));
    assert_eq!(
        appended.offset, next,
        "an append after recovery got the wrong offset"
    );
    let probe = wal
        .read(next)
        .expect("read the entry appended after recovery");
    assert_eq!(probe.payload, PROBE_PAYLOAD);
    assert_crc(&probe);
    if let Some(crc) = appended.crc {
        let prev = seed.unwrap_or(0);
        assert_eq!(
            probe.prev_crc,
            Some(prev),
            "the append does not chain from the last crc"
        );
        assert_eq!(crc, crc::chain(prev, PROBE_PAYLOAD));
    }
    let wal_options = wal.options().clone();
    let wal_recovery::Recovered { log, .. } = recovered;
    log.close()
        .unwrap_or_else(|e| panic!("closing a recovered log failed: {e}"));

    // Recovered means clean: verify finds nothing wrong, a second open nothing to do.
    let verification = wal_recovery::verify(dir, None).expect("verify after recovery");
    assert!(
        verification.problems.iter().all(|p| may_remain(mode, p)),
        "problems remain after recovery with {mode:?}: {verification:#?}"
    );
    assert_eq!(verification.first_offset, Some(first));
    assert_eq!(verification.last_valid_offset, Some(next));

    let again = match wal_recovery::open(
        dir,
        RecoveryOptions::default()
            .with_mode(mode)
            .with_commit_offset(None)
            .with_wal(wal_options),
    ) {
        Ok(again) => again,
        Err(e) => panic!("a second open with {mode:?} failed: {e}"),
    };
    assert!(
        again.report.actions.is_empty() && again.report.cut.is_none(),
        "a second open with {mode:?} still had work to do: {:#?}",
        again.report
    );
    assert!(
        again.report.problems.iter().all(|p| may_remain(mode, p)),
        "a second open with {mode:?} found problems: {:#?}",
        again.report
    );
    let mut expected = entries;
    expected.push(probe);
    assert_eq!(
        read_all(
            again.log.store(),
            again.report.damage_before_cursor.as_ref().map(|d| d.end)
        ),
        expected,
        "a second open reads other entries"
    );
}
