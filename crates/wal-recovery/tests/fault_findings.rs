//! Failures the fault suite found (`failed_syscalls_in_*.rs`), each kept as the faulted
//! run that showed it. Each test fails without its fix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "case builders outside #[test] functions: a panic is a failed test"
)]

mod faults;

use std::path::PathBuf;

use faults::{Fault, run_faulted};
use wal_store::faults::Call;
use wal_store::faults::EIO;

fn once(call: Call, nth: usize, file: &str) -> Fault {
    Fault {
        call,
        nth,
        errno: EIO,
        persistent: false,
        path: PathBuf::from(file),
    }
}

/// A clear sealed the active segment (its index written), then failed to make the new
/// segment's name durable (directory fsync), and the next append went into the sealed
/// segment, after its index, while the new, empty segment file named after that entry
/// stayed: recovery then refused the log (two segments holding entry 12, committed).
/// Fixed twice over: the next append finishes the rotation first, and a segment file
/// whose directory fsync failed loses its name again.
#[test]
fn a_clear_that_fails_to_create_its_segment_appends_nothing_to_the_sealed_one() {
    run_faulted(&faults::clear_case(), &once(Call::FsyncDir, 2, "12.txnx"));
}

/// A clear whose removal of the old files failed had already made the new segment the
/// log's only one, but left the tail on the old segment: the next append went into a
/// segment the log no longer listed (recovery: overlapping segments, committed).
#[test]
fn a_clear_that_fails_to_remove_old_files_appends_to_its_new_segment() {
    run_faulted(&faults::clear_case(), &once(Call::Unlink, 2, "0.idxx"));
}

/// A truncation that failed while removing the dropped segments' files (newest first)
/// left the tail on the newest one, already unlinked: the next durable append was
/// acknowledged and lost. The log now refuses writes after such a failure.
#[test]
fn a_truncation_that_fails_while_removing_files_refuses_later_appends() {
    run_faulted(&faults::truncate_case(), &once(Call::Unlink, 3, "10.idxx"));
}
