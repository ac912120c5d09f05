//! `walctl migrate`: v1 segments to v2, through the recovery crate's journaled migration.

use wal_format::Codec;

use crate::cli::{CodecArg, MigrateArgs};
use crate::error::{CliError, Exit, Result, existing_dir};
use crate::output::Out;

pub fn run(args: &MigrateArgs, out: &mut Out) -> Result<Exit> {
    existing_dir(&args.dir)?;
    let to = match args.to {
        CodecArg::V2 => Codec::V2,
        CodecArg::V1 => {
            return Err(CliError::usage(
                "migration goes from v1 to v2 only: '--to v1' is not possible".to_owned(),
            ));
        }
    };
    let migration = wal_recovery::migrate_with_segment_bytes(&args.dir, to, args.segment_size)?;
    if args.json {
        out.json(&serde_json::json!({
            "converted": migration.converted,
            "rechained": migration.rechained,
            "segments": migration.segments,
            "segment_bytes": migration.segment_bytes,
            "rolled_forward": migration.rolled_forward,
        }))?;
        return Ok(Exit::Clean);
    }
    if migration.rolled_forward {
        out.line("completed an interrupted change first")?;
    }
    if migration.converted.is_empty() && migration.rechained.is_empty() {
        out.line(format_args!(
            "{}: every segment is already v2; nothing to do",
            args.dir.display()
        ))?;
    } else {
        out.line(format_args!(
            "{}: converted {} v1 segments to v2 and rechained {} v2 segments after them, \
             now {} segments of at most {} bytes of records",
            args.dir.display(),
            migration.converted.len(),
            migration.rechained.len(),
            migration.segments.len(),
            migration.segment_bytes
        ))?;
    }
    Ok(Exit::Clean)
}
