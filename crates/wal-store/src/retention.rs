//! Retention: how a caller tells the store which old entries its consumers still need,
//! and when the store asks.
//!
//! The store knows nothing of consumers or cursors (those live in the recovery crate):
//! it asks one question through a [`RetentionHook`], "from which offset on does any
//! consumer still need the log?", and removes the sealed segments wholly below the
//! answer, never more. Without a hook it removes nothing on its own.

use std::fmt;
use std::sync::Arc;

/// When the store removes sealed segments its consumers no longer need (see
/// [`WalOptions::retention`](crate::WalOptions::retention)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Only when a rotation (or a segment grown for a large entry) would take the log past
    /// [`max_log_bytes`](crate::WalOptions::max_log_bytes) or
    /// [`max_segments`](crate::WalOptions::max_segments) (the default): the log keeps
    /// consumed history up to its limits, and removes it only to make room.
    #[default]
    WhenFull,
    /// At every rotation, whether or not a limit is set or reached: the log keeps little
    /// more than what its consumers have not finalized (the segment holding the next
    /// entry they need, and the newer ones).
    AtEveryRotation,
}

/// The question the store asks when it may remove old segments: the lowest offset any
/// consumer still needs. Every sealed segment whose entries all lie below the answer may
/// be removed; the segment holding the answer, and every later one, stays. An answer at or
/// before the log's first entry keeps everything.
///
/// The hook is called at a rotation, with the log's write position held: it must return
/// quickly and must not call the log (an append from it would wait for itself). Read a
/// value the consumers publish (an atomic, say); the front door
/// (`wal_recovery::open`) installs one that follows its cursors.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use wal_store::{RetentionHook, WalOptions};
///
/// let needed_from = Arc::new(AtomicU64::new(0));
/// let published = Arc::clone(&needed_from);
/// let options = WalOptions::default()
///     .with_max_segments(8)
///     .with_retention_hook(RetentionHook::new(move || published.load(Ordering::Acquire)));
/// // The consumer has finalized every entry up to 99: entries from 100 on are needed.
/// needed_from.store(100, Ordering::Release);
/// assert_eq!(options.retention_hook.map(|hook| hook.needed_from()), Some(100));
/// ```
#[derive(Clone)]
pub struct RetentionHook {
    needed_from: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl RetentionHook {
    /// A hook that answers with `needed_from()`.
    pub fn new(needed_from: impl Fn() -> u64 + Send + Sync + 'static) -> RetentionHook {
        RetentionHook {
            needed_from: Arc::new(needed_from),
        }
    }

    /// The lowest offset any consumer still needs, as the hook answers now.
    pub fn needed_from(&self) -> u64 {
        (self.needed_from)()
    }
}

impl fmt::Debug for RetentionHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetentionHook(..)")
    }
}
