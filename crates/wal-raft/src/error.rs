//! What can go wrong in a raft log, and how openraft hears of it.

use openraft::{AnyError, ErrorSubject, ErrorVerb, NodeId, StorageError, StorageIOError};

/// Everything a [`LogStore`](crate::LogStore) can fail with.
///
/// openraft's storage traits return its own `StorageError`; each of these reaches it as
/// the error's source (its message kept whole), with the subject (logs, vote, store) and
/// the verb (read, write) of the call that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The walrs log failed: opening or recovering it, or a read, append, truncation,
    /// trim, reset or metadata write. Carries recovery's report of what it refused, where
    /// it refused.
    #[error(transparent)]
    Log(#[from] wal_recovery::Error),
    /// The options' sync policy is [`SyncPolicy::Manual`](wal_store::SyncPolicy::Manual):
    /// no append would ever be reported flushed (see [`Options::wal`](crate::Options::wal)).
    #[error("a raft log needs a sync policy that syncs on its own, not Manual")]
    ManualSyncPolicy,
    /// An entry of the log does not decode as a raft entry: damaged, or written by
    /// something else.
    #[error("the entry at offset {offset} is not a raft entry: {source}")]
    EntryDecode {
        /// The entry's offset (its raft index).
        offset: u64,
        /// What the decoder said.
        source: postcard::Error,
    },
    /// An entry decodes, but names another raft index than its offset.
    #[error("the entry at offset {offset} says it is raft index {index}")]
    IndexMismatch {
        /// Where it was read.
        offset: u64,
        /// The index in its log id.
        index: u64,
    },
    /// An append that does not continue the log: a raft log has no holes, and an entry is
    /// only replaced after a truncation. (An empty log starts at any index.)
    #[error(
        "an append at raft index {index} does not continue the log, whose next index is {next}"
    )]
    NotContiguous {
        /// The index the log expects next.
        next: u64,
        /// The first index of the append.
        index: u64,
    },
    /// An append at or below the last purged index: those entries are in the state
    /// machine already, and a raft log never holds them again.
    #[error("an append at raft index {index} is at or below the last purged index {purged}")]
    BelowPurged {
        /// The first index of the append.
        index: u64,
        /// The last purged index.
        purged: u64,
    },
    /// A truncation that would remove a committed entry: raft never truncates one, so
    /// the call is refused and the log left as it was.
    #[error(
        "a truncation from raft index {index} would remove committed entries (committed up to {committed})"
    )]
    TruncatesCommitted {
        /// The first index the truncation would remove.
        index: u64,
        /// The committed index recorded.
        committed: u64,
    },
    /// The log's metadata blob (vote, committed and purged log ids) is of a version this
    /// build does not read, or empty.
    #[error(
        "the raft metadata beside the log is of version {found:?}; this build reads {supported}"
    )]
    MetaVersion {
        /// The blob's version byte (`None`: an empty blob).
        found: Option<u8>,
        /// The version this build reads.
        supported: u8,
    },
    /// The log's metadata blob is of this build's version but does not decode.
    #[error("the raft metadata beside the log does not decode: {source}")]
    MetaDecode {
        /// What the decoder said.
        source: postcard::Error,
    },
    /// The metadata blob changed between its reading and the log's opening: another
    /// process wrote the directory meanwhile, again and again. Nothing was changed.
    #[error("the raft metadata beside the log changed while it was being opened")]
    MetaChangedDuringOpen,
    /// A value would not encode (it does not fit the metadata blob's limit, say).
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// What the encoder said.
        source: postcard::Error,
    },
}

/// A [`Result`](std::result::Result) with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error as openraft's, about `subject`, from a call that tried to `verb` it.
    pub(crate) fn into_storage<NID: NodeId>(
        self,
        subject: ErrorSubject<NID>,
        verb: ErrorVerb,
    ) -> StorageError<NID> {
        StorageIOError::new(subject, verb, AnyError::new(&self)).into()
    }
}
