//! `walctl compare`: where two logs part ways, found through their chained crcs.

use crate::cli::CompareArgs;
use crate::error::{Exit, Result, existing_dir};
use crate::output::Out;

/// Exit 0 when the logs are identical, 1 when they differ (as `cmp` does).
pub fn run(args: &CompareArgs, out: &mut Out) -> Result<Exit> {
    existing_dir(&args.dir_a)?;
    existing_dir(&args.dir_b)?;
    let found = wal_recovery::compare(&args.dir_a, &args.dir_b)?;
    let exit = if found.identical {
        Exit::Clean
    } else {
        Exit::Problems
    };
    if args.json {
        out.json(&serde_json::json!({
            "identical": found.identical,
            "first_divergent_offset": found.first_divergent_offset,
            "common_last_offset": found.common_last_offset,
        }))?;
        return Ok(exit);
    }
    let common = found.common_last_offset.map_or_else(
        || "no common entry".to_owned(),
        |o| format!("equal up to entry {o}"),
    );
    match found.first_divergent_offset {
        None => out.line(format_args!("identical ({common})"))?,
        Some(first) => out.line(format_args!("differ from entry {first} on ({common})"))?,
    }
    Ok(exit)
}
