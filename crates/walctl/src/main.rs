//! `walctl`, the command line of the walrs write-ahead log.
//!
//! A skeleton for now: the commands (demo, write, dump, stat, verify, repair, ...) are
//! built in their own issue, once the store and recovery crates exist. Until then every
//! invocation says so and exits with status 2, the status for a usage error.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    eprintln!(
        "walctl: error: command {command:?} is not available yet (the command line is still being built)"
    );
    ExitCode::from(2)
}
