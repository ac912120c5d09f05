//! The one error type of the recovery crate.

use std::io;
use std::path::PathBuf;

use wal_store::StoreError;

use crate::problem::Problem;

/// Everything recovery can refuse or fail at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// Damage at or before the commit point: the mode does not cut committed entries.
    /// Nothing on disk was changed.
    #[error("committed corruption, nothing changed: {problem}")]
    CommittedCorruption {
        /// The first committed problem (every problem is in `problems`).
        problem: Box<Problem>,
        /// Every problem found.
        problems: Vec<Problem>,
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
}

/// The recovery crate's result type.
pub type Result<T, E = RecoveryError> = std::result::Result<T, E>;

/// Attaches an operation and a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn io_context(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn io_context(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| RecoveryError::Io {
            op,
            path: path.into(),
            source,
        })
    }
}
