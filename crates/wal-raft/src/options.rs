//! How a [`LogStore`](crate::LogStore) opens its directory.

use wal_store::{ReadVisibility, SyncPolicy, WalOptions};

/// How to open a raft log: the walrs log's options, with what a raft log needs of them
/// enforced at [`open`](crate::LogStore::open).
///
/// Start from [`Options::default`] and change what differs with the `with_*` methods. The
/// struct is `#[non_exhaustive]` so that a new option is not a breaking change:
///
/// ```
/// use wal_raft::Options;
///
/// let options = Options::default().with_segment_bytes(1 << 20);
/// assert_eq!(options.wal.segment_bytes, 1 << 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The walrs log's options. Two are decided by the raft log, whatever they say here:
    /// readers see every appended entry ([`ReadVisibility::Appended`]: openraft sends
    /// entries to followers before they are durable here, and learns when they are
    /// through its flush callback), and the sync policy must make entries durable on its
    /// own ([`SyncPolicy::GroupCommit`], the default, [`SyncPolicy::Always`] or
    /// [`SyncPolicy::Interval`]): under [`SyncPolicy::Manual`] no append would ever be
    /// reported flushed, so `open` refuses it.
    pub wal: WalOptions,
}

impl Default for Options {
    /// Group commit: concurrent appends share one sync, each reported to openraft when
    /// its sync is done.
    fn default() -> Self {
        Options {
            wal: WalOptions::default().with_sync_policy(SyncPolicy::GroupCommit),
        }
    }
}

impl Options {
    /// Sets the size of each new segment file (see
    /// [`WalOptions::segment_bytes`](wal_store::WalOptions::segment_bytes)).
    #[must_use]
    pub fn with_segment_bytes(mut self, segment_bytes: u32) -> Self {
        self.wal = self.wal.with_segment_bytes(segment_bytes);
        self
    }

    /// Sets [`wal`](Options::wal), the walrs log's options.
    #[must_use]
    pub fn with_wal(mut self, wal: WalOptions) -> Self {
        self.wal = wal;
        self
    }

    /// The options the log is opened with: these, readers seeing every appended entry.
    pub(crate) fn wal_for_raft(&self) -> WalOptions {
        self.wal
            .clone()
            .with_read_visibility(ReadVisibility::Appended)
    }
}
