//! The front door keeps the consumers' cursors true as the log changes (issue 20): a
//! truncation below a cursor clamps it, a trim past one is refused unless its caller drops
//! the unread entries (then the cursors move and the drop is recorded), a clear moves
//! them; named cursors are independent; a cursor never moves back by accident. And a
//! crash at every system call of a truncation or a trim that moves cursors leaves every
//! cursor inside the log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod support;

use std::path::Path;

use support::{append_range, open, options, payload, tempdir};
use wal_recovery::cursor::{self, CursorRecord, read_named_cursor};
use wal_recovery::{CursorState, DEFAULT_CURSOR, Error, Log, ProblemKind, RecoveryOptions};
use wal_store::faults::{Call, EIO, FaultPlan, Rule};

/// Ten entries a segment (see `crash_points.rs`).
const SEGMENT_BYTES: u32 = 256;

fn entries(iter: impl Iterator<Item = wal_recovery::Result<wal_recovery::Entry>>) -> Vec<u64> {
    iter.map(|e| e.unwrap().offset).collect()
}

fn cursor_on_disk(dir: &Path, name: &str) -> CursorState {
    read_named_cursor(dir, name).unwrap().state
}

/// Issue 20, point 1: append 10, cursor 9, truncate after 4 on the same handle, append
/// 8 more (5..=12), restart: replay hands out 5..=12, not 10..=12.
#[test]
fn entries_appended_after_a_truncation_below_the_cursor_are_replayed() {
    let dir = tempdir();
    let log = open(dir.path(), &options(SEGMENT_BYTES)).log;
    append_range(&log, 0..10);
    log.set_cursor(9).unwrap();
    log.truncate_after(4).unwrap();
    assert_eq!(log.cursor(DEFAULT_CURSOR).unwrap(), Some(4));
    assert_eq!(
        cursor_on_disk(dir.path(), DEFAULT_CURSOR),
        CursorState::At(4)
    );
    for offset in 5..=12 {
        assert_eq!(log.append(&payload(offset)).unwrap().offset, offset);
    }
    assert_eq!(entries(log.replay().unwrap()), (5..=12).collect::<Vec<_>>());
    drop(log);

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(
        entries(recovered.replay().unwrap()),
        (5..=12).collect::<Vec<_>>()
    );
    assert_eq!(
        entries(recovered.log.replay().unwrap()),
        (5..=12).collect::<Vec<_>>()
    );
}

/// A log of 40 entries in segments 0, 10, 20, 30, every one durable.
fn forty_entries(dir: &Path) -> Log {
    let log = open(dir, &options(SEGMENT_BYTES)).log;
    append_range(&log, 0..40);
    log.sync().unwrap();
    log
}

/// Issue 20, point 2: cursor 5, trim before 39: refused, naming how many unread entries
/// it would drop; with the caller's word it happens, the cursor moves and the drop is
/// recorded, so that verify does not report it.
#[test]
fn a_trim_past_the_cursor_is_refused_unless_it_drops_unread_entries() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_cursor(5).unwrap();
    match log.trim_before(39) {
        Err(Error::TrimDropsUnread {
            name,
            cursor,
            before,
            unread,
        }) => {
            assert_eq!((name.as_str(), cursor, before), (DEFAULT_CURSOR, 5, 39));
            // The log would start at 39: 6..=38 are unread.
            assert_eq!(unread, 33);
        }
        other => panic!("expected TrimDropsUnread, got {other:?}"),
    }
    assert_eq!(log.first_offset(), 0, "a refused trim changed the log");
    assert_eq!(entries(log.replay().unwrap()), (6..40).collect::<Vec<_>>());
    // Up to the cursor, a trim is no loss.
    assert_eq!(log.trim_before(6).unwrap(), 0);

    assert_eq!(log.trim_before_dropping_unread(39).unwrap(), 3);
    assert_eq!(log.first_offset(), 39);
    assert_eq!(log.cursor(DEFAULT_CURSOR).unwrap(), Some(38));
    assert_eq!(entries(log.replay().unwrap()), [39]);
    let found = read_named_cursor(dir.path(), DEFAULT_CURSOR).unwrap();
    assert_eq!(found.state, CursorState::At(38));
    assert_eq!(found.dropped_unread, Some(6..39));
    drop(log);

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(verification.ok, "{verification:#?}");
    assert!(verification.problems.is_empty(), "{verification:#?}");
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(entries(recovered.replay().unwrap()), [39]);
}

/// The same trim through the plain store drops the unread entries without a word; the
/// front door's verify then says so.
#[test]
fn a_trim_that_bypasses_the_front_door_is_reported_by_verify() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_cursor(5).unwrap();
    assert_eq!(log.store().trim_before(39).unwrap(), 3);
    drop(log);
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(!verification.ok);
    let kinds: Vec<ProblemKind> = verification.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::UnreadEntriesGone]);
}

/// With no cursor, nothing is unread: a trim goes as asked.
#[test]
fn a_log_without_cursors_is_trimmed_as_asked() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    assert_eq!(log.trim_before(39).unwrap(), 3);
    assert_eq!(log.first_offset(), 39);
}

/// The lowest cursor holds a trim back, whichever consumer it belongs to.
#[test]
fn the_lowest_named_cursor_holds_a_trim_back() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_cursor(35).unwrap();
    log.set_named_cursor("slow", 12).unwrap();
    match log.trim_before(35) {
        Err(Error::TrimDropsUnread {
            name,
            cursor,
            unread,
            ..
        }) => assert_eq!((name.as_str(), cursor, unread), ("slow", 12, 22)),
        other => panic!("expected TrimDropsUnread, got {other:?}"),
    }
    // Up to the lowest cursor, nothing is unread by anyone.
    assert_eq!(log.trim_before(13).unwrap(), 1);
    assert_eq!(log.first_offset(), 13);
}

#[test]
fn a_clear_moves_every_cursor_to_the_end() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_cursor(5).unwrap();
    log.set_named_cursor("b", 39).unwrap();
    log.clear().unwrap();
    assert_eq!(
        log.cursors(),
        [("b".to_owned(), 39), ("default".to_owned(), 39)]
    );
    let found = read_named_cursor(dir.path(), DEFAULT_CURSOR).unwrap();
    assert_eq!(found.dropped_unread, Some(6..40));
    append_range(&log, 40..43);
    drop(log);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(
        entries(recovered.log.replay_for("b").unwrap()),
        [40, 41, 42]
    );
}

/// Each consumer's cursor is its own file and survives a crash (the log dropped, not
/// closed) on its own; replay is per cursor; a new consumer replays everything.
#[test]
fn named_cursors_survive_a_crash_independently() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_cursor(3).unwrap();
    log.set_named_cursor("indexer", 17).unwrap();
    log.set_named_cursor("shipper-2", 31).unwrap();
    // A cursor write that fails leaves the others, and its own old value.
    let plan = FaultPlan::install(dir.path());
    plan.fail(Rule::from_then_on(Call::Rename, 1, EIO));
    assert!(log.set_named_cursor("indexer", 25).is_err());
    drop(plan);
    drop(log);

    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    // The failed write's temporary file is all recovery finds.
    assert!(
        recovered
            .report
            .problems
            .iter()
            .all(|p| p.kind == ProblemKind::TempFile),
        "{:#?}",
        recovered.report
    );
    let log = &recovered.log;
    assert_eq!(
        log.cursors(),
        [
            ("default".to_owned(), 3),
            ("indexer".to_owned(), 17),
            ("shipper-2".to_owned(), 31)
        ]
    );
    assert_eq!(entries(log.replay().unwrap()), (4..40).collect::<Vec<_>>());
    assert_eq!(
        entries(log.replay_for("indexer").unwrap()),
        (18..40).collect::<Vec<_>>()
    );
    assert_eq!(
        entries(log.replay_for("shipper-2").unwrap()),
        (32..40).collect::<Vec<_>>()
    );
    assert_eq!(entries(log.replay_for("new").unwrap()).len(), 40);
    assert!(log.remove_cursor("shipper-2").unwrap());
    assert!(!dir.path().join("CURSOR.shipper-2").exists());
    assert_eq!(log.cursor("shipper-2").unwrap(), None);
}

#[test]
fn a_cursor_regression_is_refused_and_a_rewind_moves_it_back() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_named_cursor("a", 20).unwrap();
    match log.set_named_cursor("a", 7) {
        Err(Error::CursorRegression {
            name,
            current,
            requested,
        }) => assert_eq!((name.as_str(), current, requested), ("a", 20, 7)),
        other => panic!("expected CursorRegression, got {other:?}"),
    }
    assert_eq!(cursor_on_disk(dir.path(), "a"), CursorState::At(20));
    log.set_named_cursor("a", 20).unwrap();
    log.rewind_cursor("a", 7).unwrap();
    assert_eq!(cursor_on_disk(dir.path(), "a"), CursorState::At(7));
    assert_eq!(log.cursor("a").unwrap(), Some(7));

    // The default cursor, through the log and through the free function.
    log.set_cursor(9).unwrap();
    assert!(matches!(
        log.set_cursor(8),
        Err(Error::CursorRegression { current: 9, .. })
    ));
    assert!(matches!(
        wal_recovery::set_cursor(log.store(), 8),
        Err(Error::CursorRegression { current: 9, .. })
    ));
    assert_eq!(
        cursor_on_disk(dir.path(), DEFAULT_CURSOR),
        CursorState::At(9)
    );

    for bad in ["", "Upper", "a.b", "../x"] {
        assert!(matches!(
            log.set_named_cursor(bad, 10),
            Err(Error::InvalidCursorName { .. })
        ));
    }
}

/// A `CURSOR` file of version 1 (what walrs wrote before named cursors) is read, and
/// the next set replaces it with version 2.
#[test]
fn a_version_1_cursor_file_stays_readable() {
    let dir = tempdir();
    drop(forty_entries(dir.path()));
    std::fs::write(
        cursor::cursor_path(dir.path()),
        cursor::encode_cursor_v1(11),
    )
    .unwrap();
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(recovered.report.cursor, CursorState::At(11));
    assert_eq!(recovered.log.cursor(DEFAULT_CURSOR).unwrap(), Some(11));
    recovered.log.set_cursor(12).unwrap();
    assert_eq!(
        std::fs::read(cursor::cursor_path(dir.path())).unwrap(),
        cursor::encode_record(&CursorRecord {
            offset: 12,
            dropped_unread: None
        })
    );
}

/// Runs `op` on a fresh log of 40 entries with cursors default 20, `a` 5 and `b` 33,
/// once to learn its system calls, then once for each of them with a crash there (that
/// call and every later one fail, as if the process had died), and after each crash
/// checks what `check` says about the directory, reopened through recovery.
fn crash_at_every_call(op: fn(&Log), check: fn(&Path, &Log)) {
    let setup = |dir: &Path| {
        let log = forty_entries(dir);
        log.set_cursor(20).unwrap();
        log.set_named_cursor("a", 5).unwrap();
        log.set_named_cursor("b", 33).unwrap();
        log
    };
    let dir = tempdir();
    let log = setup(dir.path());
    let plan = FaultPlan::install(dir.path());
    op(&log);
    let calls = plan.seen();
    drop(plan);
    assert!(!calls.is_empty());
    for crash_at in 0..=calls.len() {
        let dir = tempdir();
        let log = setup(dir.path());
        let plan = FaultPlan::install(dir.path());
        for call in Call::ALL {
            let before = calls
                .iter()
                .take(crash_at)
                .filter(|s| s.call == call)
                .count();
            plan.fail(Rule::from_then_on(call, before + 1, EIO));
        }
        op(&log);
        drop(log);
        drop(plan);
        let label = format!(
            "crash at call {crash_at} of {} ({:?})",
            calls.len(),
            calls.get(crash_at)
        );
        // Every cursor lies inside the log, before any repair. (A reset caught between
        // its commit point and its new segment leaves no segment at all, which the next
        // open finishes: verify then reports every cursor against an absent log.)
        let verification = wal_recovery::verify(dir.path(), None).unwrap();
        assert!(
            verification.segments.is_empty()
                || verification.problems.iter().all(|p| !matches!(
                    p.kind,
                    ProblemKind::CursorOutOfRange | ProblemKind::UnreadEntriesGone
                ) || p.is_informational()),
            "{label}: {verification:#?}"
        );
        let recovered = open(dir.path(), &options(SEGMENT_BYTES));
        assert!(
            !recovered.report.actions.iter().any(|a| matches!(
                a,
                wal_recovery::Action::CursorClamped { .. }
                    | wal_recovery::Action::NamedCursorClamped { .. }
            )),
            "{label}: {:#?}",
            recovered.report
        );
        check(dir.path(), &recovered.log);
        // Whatever the crash left, an entry appended now is replayed for every consumer.
        let next = recovered.log.next_offset();
        recovered.log.append(&payload(next)).unwrap();
        for (name, _) in recovered.log.cursors() {
            let replayed = entries(recovered.log.replay_for(&name).unwrap());
            assert_eq!(replayed.last(), Some(&next), "{label}: cursor {name}");
        }
    }
}

/// A truncation after 12 moves `default` (20) and `b` (33) back to 12, `a` (5) stays.
#[test]
fn a_crash_at_each_step_of_a_truncation_below_cursors_leaves_them_inside_the_log() {
    crash_at_every_call(
        |log| {
            let _ = log.truncate_after(12);
        },
        |_, log| {
            let last = log.last_offset().unwrap();
            assert!(last >= 12, "the truncation cut too much: last {last}");
            for (name, cursor) in log.cursors() {
                assert!(cursor <= last, "cursor {name} at {cursor}, last {last}");
                let expected_cursor = match name.as_str() {
                    "a" => 5,
                    "default" => 20,
                    _ => 33,
                };
                // Never moved forward, and moved back no further than the cut.
                assert!(cursor <= expected_cursor && cursor >= expected_cursor.min(12));
            }
        },
    );
}

/// A trim dropping unread entries before 25 moves `a` (5) and `default` (20) to 24 (the
/// log then starts at 25) and records the drop; `b` (33) stays.
#[test]
fn a_crash_at_each_step_of_a_trim_dropping_unread_entries_leaves_cursors_true() {
    crash_at_every_call(
        |log| {
            let _ = log.trim_before_dropping_unread(25);
        },
        |dir, log| {
            let first = log.first_offset();
            assert!(first == 0 || first == 25, "first {first}");
            let a = log.cursor("a").unwrap().unwrap();
            assert!(a == 5 || a == 24, "cursor a at {a}");
            // Once the start has moved, the cursor has moved with it.
            assert!(a + 1 >= first, "cursor a at {a}, first entry {first}");
            if a == 24 {
                let found = read_named_cursor(dir, "a").unwrap();
                assert_eq!(found.dropped_unread, Some(6..25));
            }
            // The default cursor (20) is passed too; `b` (33) is not.
            let default = log.cursor(DEFAULT_CURSOR).unwrap().unwrap();
            assert!(
                default == 20 || default == 24,
                "default cursor at {default}"
            );
            assert!(
                default + 1 >= first,
                "default cursor at {default}, first {first}"
            );
            assert_eq!(log.cursor("b").unwrap(), Some(33));
            assert_eq!(support::all_entries(log).first().map(|e| e.0), Some(first));
        },
    );
}

/// Damage is in consumed entries only once every consumer is past it: a named consumer
/// still behind the damage keeps it unconsumed (the default mode refuses, as for any
/// committed damage); once its cursor is past the damaged segment too, the log opens.
#[test]
fn damage_is_consumed_only_once_every_cursor_is_past_it() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_cursor(30).unwrap();
    log.set_named_cursor("slow", 2).unwrap();
    drop(log);
    // A payload byte of entry 3, in the sealed segment 0.
    let path = support::data_path(dir.path(), 0);
    let bytes = std::fs::read(&path).unwrap();
    let (_, end) = support::records(&bytes)[3];
    wal_testkit::damage::flip_byte(&path, end - 1);

    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(verification.damage_before_cursor, None, "{verification:#?}");
    assert!(verification.problems.iter().all(|p| !p.consumed));
    assert!(matches!(
        wal_recovery::open(dir.path(), options(SEGMENT_BYTES)),
        Err(Error::CommittedCorruption { .. })
    ));

    std::fs::write(dir.path().join("CURSOR.slow"), cursor::encode_cursor(25)).unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert_eq!(verification.damage_before_cursor, Some(3..10));
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert_eq!(
        entries(recovered.log.replay_for("slow").unwrap()),
        (26..40).collect::<Vec<_>>()
    );
}

/// A clear moves every cursor to the last entry (39) before any segment goes.
#[test]
fn a_crash_at_each_step_of_a_clear_leaves_cursors_true() {
    crash_at_every_call(
        |log| {
            let _ = log.clear();
        },
        |_, log| {
            let first = log.first_offset();
            for (name, cursor) in log.cursors() {
                let before = match name.as_str() {
                    "a" => 5,
                    "default" => 20,
                    _ => 33,
                };
                assert!(
                    cursor == before || cursor == 39,
                    "cursor {name} at {cursor}"
                );
                assert!(
                    cursor + 1 >= first,
                    "cursor {name} at {cursor}, first {first}"
                );
            }
        },
    );
}

/// A reset moves every cursor to the entry before the new start: forward past the end (a
/// snapshot installed), recording the unread entries dropped; backward, rewinding.
#[test]
fn a_reset_moves_every_cursor_before_the_new_start() {
    let dir = tempdir();
    let log = forty_entries(dir.path());
    log.set_cursor(20).unwrap();
    log.set_named_cursor("a", 5).unwrap();
    log.reset_to(100, 0).unwrap();
    assert_eq!(
        log.cursors(),
        [("a".to_owned(), 99), ("default".to_owned(), 99)]
    );
    let found = read_named_cursor(dir.path(), "a").unwrap();
    assert_eq!(found.dropped_unread, Some(6..100));
    append_range(&log, 100..102);
    log.sync().unwrap();
    log.set_cursor(101).unwrap();
    log.reset_to(101, 0).unwrap();
    assert_eq!(
        log.cursors(),
        [("a".to_owned(), 100), ("default".to_owned(), 100)]
    );
    append_range(&log, 101..103);
    drop(log);
    assert!(wal_recovery::verify(dir.path(), None).unwrap().ok);
    let recovered = open(dir.path(), &options(SEGMENT_BYTES));
    assert!(recovered.report.is_clean(), "{:#?}", recovered.report);
    assert_eq!(entries(recovered.log.replay_for("a").unwrap()), [101, 102]);
    assert_eq!(entries(recovered.log.replay().unwrap()), [101, 102]);
}

/// A reset to 50 moves every cursor (default 20, a 5, b 33) to 49, each written where it
/// stays inside the log at every step.
#[test]
fn a_crash_at_each_step_of_a_reset_leaves_cursors_true() {
    crash_at_every_call(
        |log| {
            let _ = log.reset_to(50, 0);
        },
        |_, log| {
            let first = log.first_offset();
            assert!(first == 0 || first == 50, "first {first}");
            for (name, cursor) in log.cursors() {
                let before = match name.as_str() {
                    "a" => 5,
                    "default" => 20,
                    _ => 33,
                };
                assert!(
                    cursor == before || cursor == 49,
                    "cursor {name} at {cursor}"
                );
            }
        },
    );
}

/// Found by the fuzz `model` target: a trim dropping unread entries up to the largest
/// offset would have moved the cursors to `u64::MAX - 1`, which no cursor file can name
/// (the next strict recovery refused it as corrupt). The move is refused first, and
/// nothing changes.
#[test]
fn a_trim_dropping_unread_entries_to_the_largest_offset_is_refused_whole() {
    let dir = tempdir();
    let first = u64::MAX - 5;
    let options = RecoveryOptions::default().with_wal(
        support::wal_options(256)
            .with_first_offset(first)
            .with_seed_crc(7),
    );
    let log = open(dir.path(), &options).log;
    for offset in first..u64::MAX {
        log.append(&offset.to_be_bytes()).unwrap();
    }
    log.set_cursor(first + 1).unwrap();
    match log.trim_before_dropping_unread(u64::MAX) {
        Err(Error::InvalidArgument(message)) => assert!(message.contains("no room"), "{message}"),
        other => panic!("expected the move to be refused, got {other:?}"),
    }
    assert_eq!(log.cursor(DEFAULT_CURSOR).unwrap(), Some(first + 1));
    assert_eq!(log.first_offset(), first);
    log.close().unwrap();
    let strict = options.with_mode(wal_recovery::RecoveryMode::AbsoluteConsistency);
    let reopened = open(dir.path(), &strict);
    assert_eq!(reopened.report.replay_from, first + 2);
}
