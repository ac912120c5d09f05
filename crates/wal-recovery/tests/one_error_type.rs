//! Through the front door, opening, appending, reading, iterating, setting the cursor and
//! closing all fail with one error type, `wal_recovery::Error`: a caller matches every
//! failure of the log in one place, whichever layer refused.

use wal_recovery::{Error, Log, RecoveryOptions, StoreError};
use wal_store::faults::Call;
use wal_store::faults::{EIO, FaultPlan, Rule};
use wal_store::{SyncPolicy, WalOptions};

/// 256-byte segments: entries of 20-odd bytes rotate every few appends.
const SEGMENT_BYTES: u32 = 256;

/// What a user of the front door does with a failure: one function, one type.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::Store(StoreError::Locked { .. }) => "locked",
        Error::Store(StoreError::EmptyPayload) => "empty payload",
        Error::Store(StoreError::EmptyBatch) => "empty batch",
        Error::Store(StoreError::OffsetOutOfRange { .. }) => "out of range",
        Error::Store(StoreError::Poisoned { .. }) => "poisoned",
        Error::Store(StoreError::Io { .. }) => "i/o",
        Error::InvalidArgument(_) => "invalid argument",
        _ => "other",
    }
}

fn options() -> RecoveryOptions {
    RecoveryOptions::default().with_wal(
        WalOptions::default()
            .with_segment_bytes(SEGMENT_BYTES)
            .with_sync_policy(SyncPolicy::Manual),
    )
}

fn payload(offset: u64) -> Vec<u8> {
    format!("entry {offset:05} of the log").into_bytes()
}

/// Opens a log in `dir` holding `entries` durable entries.
fn log_with(dir: &std::path::Path, entries: u64) -> Log {
    let log = wal_recovery::open(dir, options())
        .map(|recovered| recovered.log)
        .unwrap_or_else(|e| panic!("open: {e}"));
    for offset in 0..entries {
        assert_eq!(
            log.append(&payload(offset)).map(|a| a.offset).ok(),
            Some(offset)
        );
    }
    assert!(log.sync().is_ok());
    log
}

#[test]
fn open_append_read_and_cursor_refusals_are_one_type() {
    let dir = wal_testkit::scratch_dir("wal-one-error-");
    let log = log_with(dir.path(), 3);
    // Each refusal, from whichever layer, is a `wal_recovery::Error`: they fit in one
    // vector and one match.
    let refusals: Vec<(&str, Option<Error>)> = vec![
        ("open", wal_recovery::open(dir.path(), options()).err()),
        ("append", log.append(b"").err()),
        ("append_batch", log.append_batch::<&[u8]>(&[]).err()),
        ("read", log.read(3).err()),
        ("iter_from", log.iter_from(4).err()),
        ("truncate_after", log.truncate_after(u64::MAX).err()),
        ("set_cursor", log.set_cursor(3).err()),
    ];
    let kinds: Vec<(&str, &str)> = refusals
        .iter()
        .map(|(op, error)| (*op, error.as_ref().map_or("no error", kind)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("open", "locked"),
            ("append", "empty payload"),
            ("append_batch", "empty batch"),
            ("read", "out of range"),
            ("iter_from", "out of range"),
            ("truncate_after", "out of range"),
            ("set_cursor", "invalid argument"),
        ]
    );
    // Nothing refused changed the log.
    assert_eq!((log.first_offset(), log.next_offset()), (0, 3));
    assert!(log.close().is_ok());
}

#[test]
fn an_entry_trimmed_under_an_iterator_is_the_same_error_type() {
    let dir = wal_testkit::scratch_dir("wal-one-error-");
    let log = log_with(dir.path(), 30);
    let mut iter = log.iter();
    let removed = log.trim_before(20).unwrap_or_else(|e| panic!("trim: {e}"));
    assert!(removed > 0, "the log spans segments");
    let item = iter.next();
    assert!(
        matches!(
            item,
            Some(Err(Error::Store(StoreError::OffsetOutOfRange {
                offset: 0,
                ..
            })))
        ),
        "{item:?}"
    );
    assert!(iter.next().is_none(), "the iterator ends after its error");
}

#[test]
fn a_poisoned_log_refuses_appends_and_close_with_the_same_type() {
    let dir = wal_testkit::scratch_dir("wal-one-error-");
    let log = log_with(dir.path(), 3);
    let plan = FaultPlan::install(dir.path());
    plan.fail(Rule::once(Call::Msync, 1, EIO).on_paths(".txnx"));
    assert!(log.append(&payload(3)).is_ok());
    let failed_sync = log.sync().err();
    assert_eq!(
        failed_sync.as_ref().map(kind),
        Some("i/o"),
        "{failed_sync:?}"
    );
    plan.heal();
    let append = log.append(&payload(4)).err();
    assert_eq!(append.as_ref().map(kind), Some("poisoned"), "{append:?}");
    let close = log.close().err();
    assert_eq!(close.as_ref().map(kind), Some("poisoned"), "{close:?}");
    drop(plan);
    // The next open recovers the log; what the failed sync did not make durable may or
    // may not be there, what it did is.
    let recovered = wal_recovery::open(dir.path(), options()).unwrap_or_else(|e| panic!("{e}"));
    assert!(recovered.log.next_offset() >= 3);
}
