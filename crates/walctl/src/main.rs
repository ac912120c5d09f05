//! `walctl`, the command line of the walrs write-ahead log.
//!
//! Every command ends with one of three exit codes, which scripts rely on:
//!
//! - 0: the command did what it was asked, and found nothing wrong;
//! - 1: the log's data has a problem (verify found one, dump stopped at one, recovery
//!   refused to cut committed entries); what was found is printed;
//! - 2: a usage or I/O error, reported as exactly one `walctl: error: ...` line on stderr.
//!
//! The contract (arguments, output, JSON fields) is documented in `crates/walctl/README.md`;
//! change both together.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod error;
mod json;
mod output;
mod payload;
mod progress;
mod render;
mod scan;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::{CliError, Exit};
use crate::output::Out;

fn main() -> ExitCode {
    install_panic_hook();
    init_logger();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::exit_for_clap_error(&e),
    };
    let mut out = Out::stdout();
    let outcome = commands::run(cli.command, &mut out).and_then(|exit| {
        out.flush()?;
        Ok(exit)
    });
    match outcome {
        Ok(Exit::Clean) => ExitCode::SUCCESS,
        Ok(Exit::Problems) => ExitCode::from(1),
        // The reader of our output went away (`walctl dump | head`): not an error.
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            error::print_error_line(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logging goes to stderr through `env_logger`, and only when `RUST_LOG` asks for it: the
/// contract promises exactly one stderr line per error, so nothing is logged by default.
fn init_logger() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
        .format_timestamp_millis()
        .init();
}

/// A panic is a bug, but a user still gets one line and exit status 2, never a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = render::one_line(&info.to_string());
        let _ = writeln!(
            std::io::stderr(),
            "walctl: error: internal error (a bug in walctl, please report it): {message}"
        );
        std::process::exit(2);
    }));
}
