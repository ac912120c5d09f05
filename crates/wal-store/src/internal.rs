//! Not API: plumbing the other crates of this workspace (recovery, the command line, the
//! fuzz harness, the benchmarks and the tests) share with the store. Hidden from the
//! documentation, and it may change or go without notice; a user of the log needs none of
//! it.
//!
//! Everything here names, reads or writes whole files the way the store does (durably,
//! through the store's system calls, where the fault seam sees them). Nothing here makes
//! the store trust bytes it has not checked: every file written here is checked by the
//! store when it reads it, as if any other program had written it, and a log opened
//! after a change made here checks every record it reads (see `Wal::open_checked`).

/// The names of a log directory's files.
pub mod naming {
    pub use crate::naming::{
        FileName, LOCK_FILE_NAME, TEMP_SUFFIX, data_file_name, data_path, index_file_name,
        index_path, parse_file_name, temp_path,
    };
}

/// The holes file: offsets a recovery gave up, recorded so that the gaps they leave
/// between segments are known.
pub mod holes {
    pub use crate::holes::{
        HOLES_FILE_NAME, decode_holes, encode_holes, holes_path, read_holes, read_holes_from,
        write_holes,
    };
}

/// The close record: its name, and its removal (a change to the log's files first
/// removes it, since it describes them as they were). It is written only by a clean
/// close.
pub mod closed {
    pub use crate::closed::{CLOSED_FILE_NAME, consume};
}

/// Durable file operations.
pub mod fs {
    pub use crate::fs::{
        create_dir_durably, create_with_content, remove_if_present, sync_dir, write_atomically,
        write_index, zero_tail,
    };
}

/// The system calls that can fail in a way that matters, through the fault seam.
pub mod sys {
    pub use crate::sys::{
        Call, create, create_dir_all, fsync, fsync_dir, open, open_read, rename, unlink, write_all,
        write_all_at,
    };
}

/// The seed file: where the log starts (its logical start, or the next offset of a log
/// with no entry), what that entry chains from, and whether a reset is under way.
pub mod seed {
    pub use crate::seed::{
        ChainSeed, LogStart, encode_seed, read_seed, read_seed_from, seed_path, write_seed,
    };
}

/// The caller's metadata file: its name, its path, and its reading (recovery reports a
/// damaged one). It is written only through [`Wal::write_meta`](crate::Wal::write_meta).
pub mod meta {
    pub use crate::meta::{META_FILE_NAME, meta_path, read_meta};
}
