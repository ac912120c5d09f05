//! The front door's operations on where the log starts: resetting it to any offset.
//! (The logical trim is [`Log::trim_before`], beside the other cuts.)

use crate::error::Result;
use crate::log::Log;

impl Log {
    /// Drops every entry and continues the log at `next_offset`, forward or backward,
    /// chained from `seed_crc`: durable and atomic, a crash leaves the old log or the new
    /// empty one (see [`Wal::reset_to`](wal_store::Wal::reset_to)). For a consumer that
    /// installs a snapshot past the log's end, or starts an empty log at a given index.
    pub fn reset_to(&self, next_offset: u64, seed_crc: u32) -> Result<()> {
        Ok(self.wal.reset_to(next_offset, seed_crc)?)
    }
}
