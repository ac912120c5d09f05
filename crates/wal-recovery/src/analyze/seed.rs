//! The store's `SEED` file: the chain seed of a log with no entry (FORMAT.md §9).

use std::path::Path;

use wal_store::StoreError;

use super::classify::file_problem;
use crate::error::{RecoveryError, Result};
use crate::problem::{Problem, ProblemKind};

/// The problem of a seed file that was read but is damaged. A file that cannot be read
/// at all is the caller's I/O error: a failed read says nothing about the seed.
pub(super) fn seed_problem(dir: &Path) -> Result<Option<Problem>> {
    match wal_store::internal::seed::read_seed(dir) {
        Ok(_) => Ok(None),
        Err(e @ StoreError::Layout { .. }) => Ok(Some(file_problem(
            ProblemKind::SeedCorrupt,
            &wal_store::internal::seed::seed_path(dir),
            &format!("{e}: the seed of an empty log comes from the options instead"),
        ))),
        Err(StoreError::Io { op, path, source }) => Err(RecoveryError::Io { op, path, source }),
        Err(other) => Err(RecoveryError::Store(other)),
    }
}
