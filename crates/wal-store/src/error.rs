//! The one error type of the store.

use std::io;
use std::path::PathBuf;

use wal_format::FormatError;

/// Everything the store can report. Each variant says where it happened and what was
/// expected and found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An operating-system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`"create"`, `"fsync"`, `"msync"`, ...).
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The error the operating system returned.
        source: io::Error,
    },

    /// Another writer, in this process or another one, holds the directory's lock.
    #[error("{path} is locked by another writer")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },

    /// An empty payload cannot be appended: a size of 0 marks the end of the data.
    #[error("empty payload: a size of 0 is the end-of-data marker and cannot be appended")]
    EmptyPayload,

    /// A batch append was given no payload.
    #[error("empty batch: nothing to append")]
    EmptyBatch,

    /// The payload is larger than the configured maximum entry size.
    #[error("entry of {size} bytes is larger than the maximum entry size of {max} bytes")]
    EntryTooLarge {
        /// The payload's length.
        size: usize,
        /// The configured maximum.
        max: usize,
    },

    /// An entry offset outside what the operation accepts.
    #[error("offset {offset} is out of range: {reason} (first {first}, next {next})")]
    OffsetOutOfRange {
        /// The offset asked for.
        offset: u64,
        /// First offset the log holds.
        first: u64,
        /// Offset the next append will get.
        next: u64,
        /// Why the offset is not accepted.
        reason: &'static str,
    },

    /// A configuration value that cannot work.
    #[error("invalid option {name} = {value}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// The append needs a new segment (or a larger one) that would take the log past
    /// `limit`, and no sealed segment may be removed to make room: the consumers still
    /// need every one (see [`RetentionHook`](crate::RetentionHook)), or no hook says what
    /// they need. Backpressure: nothing was appended and the log is not poisoned; the same
    /// append succeeds once the consumers have moved on (or the caller trims).
    #[error(
        "the log is at capacity: {limit} is {max}, the log holds {held} and the append needs {needed} more; {}",
        needed_from_text(*needed_from, *first_offset)
    )]
    AtCapacity {
        /// The limit that would be passed: `"max_log_bytes"` or `"max_segments"`.
        limit: &'static str,
        /// Its value.
        max: u64,
        /// What the log holds now, in the limit's unit (data file bytes, or segments),
        /// after removing what retention allowed.
        held: u64,
        /// What the append needs on top of it, in the same unit.
        needed: u64,
        /// Offset of the first entry the log holds.
        first_offset: u64,
        /// The lowest offset the consumers still need, as the retention hook answered;
        /// `None` without a hook.
        needed_from: Option<u64>,
    },

    /// A sync failed earlier (after a failed fsync the kernel may have dropped dirty
    /// pages, so retrying would prove nothing), or a truncation stopped after it had
    /// started removing files; the log refuses writes until it is reopened.
    #[error("the log refuses writes after a failed sync ({cause}); reopen it to recover")]
    Poisoned {
        /// The error of the failed sync or truncation.
        cause: String,
    },

    /// A segment's bytes are not a clean, complete log; the recovery crate decides what
    /// to keep. Opening for writing never appends after such bytes.
    #[error("segment {segment} needs recovery: {problem}")]
    NeedsRecovery {
        /// Base offset of the segment.
        segment: u64,
        /// What was found.
        problem: FormatError,
    },

    /// An entry read back from a segment failed its checks (bit rot after the log was
    /// opened, or a file changed behind the store's back).
    #[error("entry {offset} in segment {segment} is corrupt: {problem}")]
    Corrupt {
        /// Base offset of the segment.
        segment: u64,
        /// Offset of the entry.
        offset: u64,
        /// What the codec found.
        problem: FormatError,
    },

    /// The segments of a directory do not form one contiguous log.
    #[error("segment layout needs recovery: {detail}")]
    Layout {
        /// Base offset of the segment where the problem shows.
        segment: u64,
        /// What is wrong (a gap, an overlap, a duplicate codec, a missing index, ...).
        detail: String,
    },

    /// The log was shut down ([`Wal::shutdown`](crate::Wal::shutdown) or
    /// [`Wal::close`](crate::Wal::close)): it refuses every call from then on, and every
    /// thread waiting in it is woken with this error.
    #[error("the log is shut down")]
    Closed,

    /// A metadata blob larger than [`META_MAX_BYTES`](crate::META_MAX_BYTES) was given to
    /// [`Wal::write_meta`](crate::Wal::write_meta); nothing was written.
    #[error("metadata of {size} bytes is larger than the limit of {max} bytes")]
    MetaTooLarge {
        /// The blob's length.
        size: usize,
        /// The limit.
        max: usize,
    },

    /// The `META` file (the caller's metadata blob, FORMAT.md §9) was read but is not an
    /// intact one: it is never taken as a blob. Recovery reports it (`meta_corrupt`) and
    /// moves it to quarantine.
    #[error("{path} is corrupt: {detail}")]
    MetaCorrupt {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        detail: String,
    },

    /// An entry could not be encoded (a bug guard: the store checks sizes first).
    #[error("encoding failed: {0}")]
    Format(#[from] FormatError),
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches an operation and a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn io_context(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn io_context(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            op,
            path: path.into(),
            source,
        })
    }
}

/// What an [`StoreError::AtCapacity`] says about the consumers.
fn needed_from_text(needed_from: Option<u64>, first_offset: u64) -> String {
    match needed_from {
        Some(from) => format!(
            "consumers still need every entry from offset {from} (the log starts at {first_offset}): move their cursors on to make room"
        ),
        None => format!(
            "no retention hook says what consumers still need, so nothing is removed (the log starts at {first_offset}): trim to make room"
        ),
    }
}
