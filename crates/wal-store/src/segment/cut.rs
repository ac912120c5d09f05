//! Cutting a segment's tail: the zeros that keep a dropped record from coming back.

use std::sync::atomic::Ordering;

use crate::error::{IoContext, Result, StoreError};
use crate::fs;
use crate::segment::{Segment, lock_poisoned};

impl Segment {
    /// Drops every entry from `position` on: zeroes their bytes in the file and msyncs
    /// the zeros, so that no dropped record can come back after a crash. The caller holds
    /// the exclusive segment-list lock (readers may have published these bytes).
    pub(crate) fn cut(&self, position: u64) -> Result<()> {
        // Bytes from `position` on change: recovery vouches for none of them any more.
        self.checked_by_recovery
            .fetch_min(position, Ordering::AcqRel);
        let body = self.body()?;
        let mut guard = body.offsets.write().map_err(lock_poisoned)?;
        let offsets = guard.owned();
        let keep = usize::try_from(position).unwrap_or(usize::MAX);
        let Some(&cut_at) = offsets.get(keep) else {
            return Ok(());
        };
        let end = self.data_len();
        if !body.map.is_writable() {
            return Err(StoreError::Io {
                op: "zero",
                path: self.data_path.clone(),
                source: std::io::Error::other("segment is not mapped for writing"),
            });
        }
        // Through the file, like recovery's cut (see `fs::zero_tail`); the mapping shares
        // its pages, and the msync below makes them durable on the log's sync path.
        fs::zero_tail(
            &body.file,
            u64::from(cut_at)..u64::from(end),
            &self.data_path,
        )
        .io_context("zero", &self.data_path)?;
        body.map
            .flush(cut_at as usize..end as usize, &self.data_path)
            .io_context("msync", &self.data_path)?;
        offsets.truncate(keep);
        self.data_len.store(cut_at, Ordering::Release);
        self.published_len.fetch_min(cut_at, Ordering::AcqRel);
        self.synced_len.fetch_min(cut_at, Ordering::AcqRel);
        self.written_back.fetch_min(cut_at, Ordering::AcqRel);
        Ok(())
    }
}
