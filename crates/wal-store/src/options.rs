//! What a caller can configure.

use std::time::Duration;

use wal_format::Codec;

use crate::error::{Result, StoreError};
use crate::retention::{Retention, RetentionHook};

/// Default size of a segment's data file: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u32 = 64 * 1024 * 1024;
/// Smallest segment size accepted (tests use tiny segments to rotate often).
pub const MIN_SEGMENT_BYTES: u32 = 64;

/// Fewest segments a limit must leave room for: the active segment a rotation seals, and
/// the new one.
const MIN_LIMIT_SEGMENTS: usize = 2;

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
    /// The most bytes the log's data files may take, counted as the store allocates them:
    /// each segment's data file is preallocated whole when it is created
    /// ([`segment_bytes`](WalOptions::segment_bytes) + 1 bytes, more for a segment grown
    /// for an entry larger than a segment) and keeps that length once sealed, so a log of
    /// `n` ordinary segments counts `n * (segment_bytes + 1)` however full they are. Index
    /// files (4 bytes per entry and a few more per segment) and the small files are not
    /// counted. Checked when a new data file would be created or one grown (never per
    /// append; an entry larger than a segment counts its grown file and the new segment
    /// that follows it, since its segment is sealed at once): sealed segments are removed as [`retention`](WalOptions::retention) allows,
    /// and if that does not make room the append fails with
    /// [`StoreError::AtCapacity`]. `None` (the default): no limit. At least two segments'
    /// worth: the active segment and the next.
    pub max_log_bytes: Option<u64>,
    /// The most segments (data files) the log may hold, the active one included. Checked
    /// as [`max_log_bytes`](WalOptions::max_log_bytes) is. `None` (the default): no
    /// limit. At least 2: a rotation needs the segment it seals and the new one.
    pub max_segments: Option<usize>,
    /// When sealed segments the consumers no longer need are removed (see
    /// [`Retention`]). What they need is asked of
    /// [`retention_hook`](WalOptions::retention_hook); without one, nothing is removed.
    pub retention: Retention,
    /// Tells the store the lowest offset any consumer still needs (see
    /// [`RetentionHook`]). `None` (the default): the store never removes a segment on its
    /// own, so reaching a limit fails appends with [`StoreError::AtCapacity`] until the
    /// caller trims. The recovery crate's front door installs one that follows its
    /// cursors.
    pub retention_hook: Option<RetentionHook>,
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
            max_log_bytes: None,
            max_segments: None,
            retention: Retention::WhenFull,
            retention_hook: None,
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

    /// Sets [`max_log_bytes`](WalOptions::max_log_bytes): the most bytes the log's data
    /// files may take.
    #[must_use]
    pub fn with_max_log_bytes(mut self, max_log_bytes: u64) -> Self {
        self.max_log_bytes = Some(max_log_bytes);
        self
    }

    /// Sets [`max_segments`](WalOptions::max_segments): the most segments the log may
    /// hold.
    #[must_use]
    pub fn with_max_segments(mut self, max_segments: usize) -> Self {
        self.max_segments = Some(max_segments);
        self
    }

    /// Sets [`retention`](WalOptions::retention): when consumed segments are removed.
    #[must_use]
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Sets [`retention_hook`](WalOptions::retention_hook): what the consumers still
    /// need.
    #[must_use]
    pub fn with_retention_hook(mut self, hook: RetentionHook) -> Self {
        self.retention_hook = Some(hook);
        self
    }

    /// Whether the store may have anything to do at a rotation beyond rotating: a limit
    /// to check, or consumed segments to remove.
    pub(crate) fn limits_or_retention(&self) -> bool {
        self.max_log_bytes.is_some()
            || self.max_segments.is_some()
            || self.retention == Retention::AtEveryRotation
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
        self.validate_limits()?;
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

impl WalOptions {
    /// The limits leave room for a rotation: the segment it seals and the new one.
    fn validate_limits(&self) -> Result<()> {
        if let Some(max) = self.max_segments
            && max < MIN_LIMIT_SEGMENTS
        {
            return Err(StoreError::InvalidOption {
                name: "max_segments",
                value: max.to_string(),
                reason: "must be at least 2: a rotation needs the segment it seals and the new one",
            });
        }
        let two_segments = wal_format::data_file_bytes(self.segment_bytes)
            .saturating_mul(MIN_LIMIT_SEGMENTS as u64);
        if let Some(max) = self.max_log_bytes
            && max < two_segments
        {
            return Err(StoreError::InvalidOption {
                name: "max_log_bytes",
                value: max.to_string(),
                reason: "must hold at least two data files (2 * (segment_bytes + 1)): a rotation needs the segment it seals and the new one",
            });
        }
        Ok(())
    }
}
