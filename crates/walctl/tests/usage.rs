//! The command line as a whole: help, version, and clap's own usage errors, which follow
//! the same contract as every other error (exit 2, one `walctl: error:` line).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod common;

use common::*;

#[test]
fn help_and_version_go_to_stdout_with_exit_0() {
    let help = run(["--help"]);
    let text = help.ok();
    for command in [
        "demo",
        "write",
        "dump",
        "stat",
        "verify",
        "repair",
        "rebuild-index",
        "truncate",
        "trim",
        "cursor",
        "replay",
        "bench",
    ] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
    assert!(run(["dump", "--help"]).ok().contains("--from"));
    assert!(run(["--version"]).ok().starts_with("walctl "));
}

#[test]
fn no_command_is_a_usage_error() {
    assert_usage_error(&run::<[&str; 0], &str>([]), "a command is required");
}

#[test]
fn unknown_commands_and_flags_are_usage_errors() {
    assert_usage_error(&run(["frobnicate"]), "unrecognized subcommand 'frobnicate'");
    assert_usage_error(
        &run(["stat", "/tmp", "--colour"]),
        "unexpected argument '--colour'",
    );
    assert_usage_error(
        &run(["verify"]),
        "required arguments were not provided: <DIR>",
    );
    assert_usage_error(&run(["migrat", "/tmp"]), "unrecognized subcommand");
}
