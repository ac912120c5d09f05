//! A sidecar file that cannot be read (`HOLES`, `CURSOR`, `META`, `JOURNAL`) is
//! `RecoveryError::Io`, for `verify` and for every entry point that takes the lock; never a
//! problem of the log (a `HOLES` file read as corrupt would turn its holes into committed
//! gaps). The files are made unreadable by making them directories (the tests may run as
//! root).

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use wal_recovery::{RecoveryError, RecoveryMode};

use support::*;

fn assert_io_error<T: std::fmt::Debug>(result: wal_recovery::Result<T>, name: &str, what: &str) {
    match result {
        Err(RecoveryError::Io { path, .. }) => {
            assert!(path.ends_with(name), "{what}: {path:?}");
        }
        other => panic!("{what}: expected an I/O error on {name}, got {other:#?}"),
    }
}

#[test]
fn a_sidecar_file_that_cannot_be_read_is_an_io_error() {
    for name in ["HOLES", "CURSOR", "META", wal_recovery::JOURNAL_FILE_NAME] {
        let dir = tempdir();
        write_log(dir.path(), 30, 256);
        std::fs::create_dir(dir.path().join(name)).unwrap();
        let before = file_names(dir.path());

        assert_io_error(wal_recovery::verify(dir.path(), None), name, "verify");
        assert_io_error(
            wal_recovery::repair(dir.path(), RecoveryMode::SkipCorrupted, None),
            name,
            "repair",
        );
        assert_io_error(wal_recovery::open(dir.path(), options(256)), name, "open");
        assert_io_error(
            wal_recovery::rebuild_index(dir.path()),
            name,
            "rebuild_index",
        );
        assert_eq!(file_names(dir.path()), before, "{name}: nothing changed");
    }
}
