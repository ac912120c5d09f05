//! What a caller can configure.

use std::time::Duration;

use wal_format::Codec;

use crate::error::{Result, StoreError};

/// Default size of a segment's data file: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u32 = 64 * 1024 * 1024;
/// Smallest segment size accepted (tests use tiny segments to rotate often).
pub const MIN_SEGMENT_BYTES: u32 = 64;

/// When appended entries become durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Every append is made durable before it returns, on its own: the appender syncs
    /// while it still holds the write position. Lowest latency for one writer.
    Always,
    /// Every append is made durable before it returns, and concurrent appenders share
    /// syncs: the first one to wait leads a sync for everybody appended so far, the
    /// others wait for it. Best throughput with many writers.
    GroupCommit,
    /// A background thread syncs at this interval; appends return at once.
    Interval(Duration),
    /// Nothing is synced until [`Wal::sync`](crate::Wal::sync) is called.
    Manual,
}

/// Which entries readers see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadVisibility {
    /// Only entries that are durable (the default): a reader never acts on an entry a
    /// crash could take back.
    Synced,
    /// Every appended entry, durable or not.
    Appended,
}

/// Configuration of a [`Wal`](crate::Wal).
///
/// Start from [`WalOptions::default`] and change what differs with the `with_*` methods,
/// one per field; the fields stay public to read. The struct is `#[non_exhaustive]` so that
/// a new option is not a breaking change:
///
/// ```
/// use wal_store::{SyncPolicy, WalOptions};
///
/// let options = WalOptions::default()
///     .with_segment_bytes(1 << 20)
///     .with_sync_policy(SyncPolicy::Manual);
/// assert_eq!(options.segment_bytes, 1 << 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WalOptions {
    /// Size of each segment's data file, preallocated at creation.
    pub segment_bytes: u32,
    /// Largest payload accepted. An entry larger than a segment gets a segment of its own.
    pub max_entry_bytes: usize,
    /// Codec of new segments.
    pub codec: Codec,
    /// When appends become durable.
    pub sync_policy: SyncPolicy,
    /// Which entries readers see.
    pub read_visibility: ReadVisibility,
    /// Offset of the first entry of a new log (a replica that starts after a snapshot
    /// starts at the snapshot's offset + 1). Used only when the directory holds no log.
    pub first_offset: u64,
    /// Crc that seeds the chain of a new log (the crc of entry `first_offset - 1` when
    /// starting mid-stream; 0 otherwise). Used only when the directory holds no log: the
    /// log keeps its seed on disk (its records, and while it holds no entry its `SEED`
    /// file), and the disk wins over a different value passed for an existing log. An
    /// existing empty log without a `SEED` file (written before the file existed) takes
    /// this value.
    pub seed_crc: u32,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_entry_bytes: DEFAULT_SEGMENT_BYTES as usize,
            codec: Codec::LATEST,
            sync_policy: SyncPolicy::GroupCommit,
            read_visibility: ReadVisibility::Synced,
            first_offset: 0,
            seed_crc: 0,
        }
    }
}

impl WalOptions {
    /// Sets [`segment_bytes`](WalOptions::segment_bytes): the size of each new data file.
    #[must_use]
    pub fn with_segment_bytes(mut self, segment_bytes: u32) -> Self {
        self.segment_bytes = segment_bytes;
        self
    }

    /// Sets [`max_entry_bytes`](WalOptions::max_entry_bytes): the largest payload accepted.
    #[must_use]
    pub fn with_max_entry_bytes(mut self, max_entry_bytes: usize) -> Self {
        self.max_entry_bytes = max_entry_bytes;
        self
    }

    /// Sets [`codec`](WalOptions::codec): the codec of new segments.
    #[must_use]
    pub fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Sets [`sync_policy`](WalOptions::sync_policy): when appends become durable.
    #[must_use]
    pub fn with_sync_policy(mut self, sync_policy: SyncPolicy) -> Self {
        self.sync_policy = sync_policy;
        self
    }

    /// Sets [`read_visibility`](WalOptions::read_visibility): which entries readers see.
    #[must_use]
    pub fn with_read_visibility(mut self, read_visibility: ReadVisibility) -> Self {
        self.read_visibility = read_visibility;
        self
    }

    /// Sets [`first_offset`](WalOptions::first_offset): where a new log starts. An existing
    /// log keeps the offsets on disk.
    #[must_use]
    pub fn with_first_offset(mut self, first_offset: u64) -> Self {
        self.first_offset = first_offset;
        self
    }

    /// Sets [`seed_crc`](WalOptions::seed_crc): the crc that seeds the chain of a new log.
    /// An existing log keeps the seed it has on disk.
    #[must_use]
    pub fn with_seed_crc(mut self, seed_crc: u32) -> Self {
        self.seed_crc = seed_crc;
        self
    }

    /// Checks that the options can work together.
    pub fn validate(&self) -> Result<()> {
        if self.segment_bytes < MIN_SEGMENT_BYTES {
            return Err(StoreError::InvalidOption {
                name: "segment_bytes",
                value: self.segment_bytes.to_string(),
                reason: "smaller than the minimum of 64 bytes",
            });
        }
        if self.max_entry_bytes == 0 || self.max_entry_bytes > self.codec.max_payload_bytes() {
            return Err(StoreError::InvalidOption {
                name: "max_entry_bytes",
                value: self.max_entry_bytes.to_string(),
                reason: "must be between 1 and the codec's largest payload (4 GiB minus a header)",
            });
        }
        if let SyncPolicy::Interval(interval) = self.sync_policy
            && interval.is_zero()
        {
            return Err(StoreError::InvalidOption {
                name: "sync_policy",
                value: format!("{:?}", self.sync_policy),
                reason: "the interval must be longer than zero",
            });
        }
        if self.first_offset == u64::MAX {
            return Err(StoreError::InvalidOption {
                name: "first_offset",
                value: self.first_offset.to_string(),
                reason: "leaves no room for an entry",
            });
        }
        Ok(())
    }
}
