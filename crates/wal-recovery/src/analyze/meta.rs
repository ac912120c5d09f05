//! The caller's `META` file: its metadata blob (FORMAT.md §9).

use std::path::Path;

use wal_store::StoreError;
use wal_store::internal::meta;

use super::classify::file_problem;
use crate::error::{RecoveryError, Result};
use crate::problem::{Problem, ProblemKind};

/// The problem of a metadata file that was read but is damaged. A file that cannot be
/// read at all is the caller's I/O error: a failed read says nothing about the blob.
///
/// No mode moves or removes a damaged file: the blob may be a raft node's vote, and a
/// log that answered "no blob" after losing it could vote twice. It stays in place, byte
/// for byte, so that `Wal::meta` keeps failing with `MetaCorrupt` and every open and
/// `verify` keep reporting it, until the caller writes a new blob over it.
pub(super) fn meta_problem(dir: &Path) -> Result<Option<Problem>> {
    match meta::read_meta(dir) {
        Ok(_) => Ok(None),
        Err(e @ StoreError::MetaCorrupt { .. }) => Ok(Some(file_problem(
            ProblemKind::MetaCorrupt,
            &meta::meta_path(dir),
            &format!("{e}: kept in place, and refused as a blob until the caller writes one"),
        ))),
        Err(StoreError::Io { op, path, source }) => Err(RecoveryError::Io { op, path, source }),
        Err(other) => Err(RecoveryError::Store(other)),
    }
}
