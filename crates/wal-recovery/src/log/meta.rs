//! The front door's part of issue 17's items 4 to 6: the caller's metadata blob, the
//! shutdown through a shared reference, and readers that wait for entries. Each method is
//! the store's, with this crate's error type.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use wal_store::Wal;

use crate::error::{Error, Result};
use crate::log::Log;

/// The caller's metadata blob of the log in `dir`, read without opening the log: `None`
/// when none was written (or there is no such directory). It is what a caller may need
/// before [`open`](crate::open): a raft node keeps there the commit offset it passes to
/// recovery. A damaged file is an error
/// ([`StoreError::MetaCorrupt`](wal_store::StoreError::MetaCorrupt)), never a blob nor
/// `None`. The file is replaced atomically, so a concurrent writer is seen before or
/// after, never in between.
pub fn read_meta(dir: impl AsRef<Path>) -> Result<Option<Vec<u8>>> {
    Ok(wal_store::internal::meta::read_meta(dir.as_ref())?)
}

impl Log {
    /// Replaces the caller's metadata blob (at most
    /// [`META_MAX_BYTES`](wal_store::META_MAX_BYTES)), atomically and durably, in the
    /// directory's `META` file (see [`Wal::write_meta`]). Independent of the entries:
    /// truncating, trimming and clearing leave it alone.
    pub fn write_meta(&self, bytes: &[u8]) -> Result<()> {
        Ok(self.store().write_meta(bytes)?)
    }

    /// The caller's metadata blob, or `None` if none was written (see [`Wal::meta`]). A
    /// damaged file is an error, never a blob, until the caller writes a new one; every
    /// open through recovery reports it (`meta_corrupt`) and leaves it in place.
    pub fn meta(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.store().meta()?)
    }

    /// What [`close`](Log::close) does, through a shared reference (see
    /// [`Wal::shutdown`]): every entry appended so far is made durable and the close record
    /// written, and from then on every call that reads or changes the log fails with
    /// [`StoreError::Closed`](wal_store::StoreError::Closed), waiting readers included. A
    /// second shutdown returns that error too.
    pub fn shutdown(&self) -> Result<()> {
        Ok(self.store().shutdown()?)
    }

    /// Waits until the entry at `offset` is visible to readers, for at most `timeout`:
    /// `Ok(true)` once it is, `Ok(false)` on timeout; a truncation below `offset`, a
    /// shutdown and a failed sync end the wait with an error (see [`Wal::wait_visible`]).
    pub fn wait_visible(&self, offset: u64, timeout: Option<Duration>) -> Result<bool> {
        Ok(self.store().wait_visible(offset, timeout)?)
    }

    /// A future that resolves once the entry at `offset` is visible to readers, with the
    /// answers of [`wait_visible`](Log::wait_visible); no runtime needed (see
    /// [`Wal::visible`]).
    pub fn visible(&self, offset: u64) -> impl Future<Output = Result<()>> + Send + '_ {
        let visible = Wal::visible(self.store(), offset);
        async move { visible.await.map_err(Error::from) }
    }
}
