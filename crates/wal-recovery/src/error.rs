//! The one error type of the recovery crate, and of the front door.

use std::io;
use std::path::PathBuf;

use wal_store::StoreError;

use crate::advice::Advice;
use crate::problem::Problem;

/// Everything opening, recovering, appending to or reading the log can refuse or fail at:
/// the one error a user of the front door ([`open`](crate::open) and
/// [`Log`](crate::Log)) matches. What the store refuses or fails at comes as
/// [`Error::Store`], carrying the store's [`StoreError`] unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Damage at or before the commit point: the mode does not cut committed entries.
    /// Nothing on disk was changed. (Damage wholly at or before the consumer's cursor is
    /// not refused: see [`Problem::consumed`].)
    #[error("committed corruption, nothing changed: {problem}; {advice}")]
    CommittedCorruption {
        /// The first committed problem (every problem is in `problems`).
        problem: Box<Problem>,
        /// Every problem found.
        problems: Vec<Problem>,
        /// What cutting it would cost the consumer.
        advice: Advice,
    },

    /// `AbsoluteConsistency` found problems. Nothing on disk was changed.
    #[error("the log is not consistent ({} problems), nothing changed; first: {}", problems.len(), problems.first().map(ToString::to_string).unwrap_or_default())]
    Inconsistent {
        /// Every problem found.
        problems: Vec<Problem>,
    },

    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// An operating-system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error the operating system returned.
        source: io::Error,
    },

    /// A caller's argument cannot work.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A cursor name that is not allowed (see
    /// [`check_cursor_name`](crate::cursor::check_cursor_name)).
    #[error("invalid cursor name {name:?}: {reason}")]
    InvalidCursorName {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// Setting a cursor would move it back: a consumer's cursor moves backwards only
    /// through [`Log::rewind_cursor`](crate::Log::rewind_cursor). Nothing changed.
    #[error(
        "cursor {name} is at {current}; setting it to {requested} would move it back (rewind it instead)"
    )]
    CursorRegression {
        /// The cursor ([`DEFAULT_CURSOR`](crate::cursor::DEFAULT_CURSOR) for `CURSOR`).
        name: String,
        /// Where it is.
        current: u64,
        /// Where the caller asked it to go.
        requested: u64,
    },

    /// A trim would remove entries a consumer has not finalized. Nothing changed;
    /// [`Log::trim_before_dropping_unread`](crate::Log::trim_before_dropping_unread) drops
    /// them and moves the cursors past them.
    #[error(
        "trimming before {before} would drop {unread} unread entries of cursor {name} (at {cursor}); nothing changed"
    )]
    TrimDropsUnread {
        /// The lowest cursor the trim passes.
        name: String,
        /// Where it is.
        cursor: u64,
        /// The offset the caller asked to trim before.
        before: u64,
        /// How many entries after that cursor the trim would remove.
        unread: u64,
    },
    /// A trim through the front door would remove entries while a consumer's cursor file
    /// is unreadable (recovery found it corrupt and left it in place): that consumer
    /// replays from the first entry, so any entry may be unread. Nothing changed; set,
    /// rewind or remove that cursor first, or trim with
    /// [`trim_before_dropping_unread`](crate::Log::trim_before_dropping_unread).
    #[error(
        "trimming before {before} might drop unread entries: cursor {name} is unreadable (its consumer replays from the first entry); nothing changed"
    )]
    TrimPastUnreadableCursor {
        /// The cursor whose file is unreadable.
        name: String,
        /// The offset the caller asked to trim before.
        before: u64,
    },
}

/// The name [`Error`] had before it became the front door's one error type: the same
/// type, kept so that code naming it (and `RecoveryError::Store(..)` patterns) compiles
/// unchanged.
pub type RecoveryError = Error;

/// The recovery crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches an operation and a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn io_context(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn io_context(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.into(),
            source,
        })
    }
}
