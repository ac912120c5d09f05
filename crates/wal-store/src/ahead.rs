//! Checking the crcs of sealed segments ahead of a long visit, on another core.
//!
//! A visit hands out entries in order on the caller's thread, and checking each record's
//! crc is most of its cost. Sealed segments are read-only, so their records can be
//! checked before the visit reaches them: a helper thread checks every other sealed
//! segment of the range while the visit checks the others itself, as it goes. The visit
//! then reads a segment the helper found whole without computing its crcs again. Every
//! record handed out has had its crc checked in this process, once.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};

use crate::segment::Segment;

/// A segment the helper has not finished yet.
const PENDING: u8 = 0;
/// Every record of the segment is whole with a valid crc.
const CHECKED: u8 = 1;
/// The helper found a damaged record, or gave up: the visit checks the segment itself
/// (and reports the damage where it lies).
const UNCHECKED: u8 = 2;

/// Whether checking ahead pays off: at least two sealed segments of at least this many
/// bytes in all, and more than one core.
const MIN_BYTES: u64 = 16 << 20;

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// See [`CheckAhead::stop_on_drop`].
pub(crate) struct StopOnDrop<'a>(&'a CheckAhead);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Sealed segments of a visit's range, every other one checked by a helper thread.
pub(crate) struct CheckAhead {
    /// The sealed, read-only segments after the one the visit starts in, in order.
    segments: Vec<Arc<Segment>>,
    states: Vec<AtomicU8>,
    stop: AtomicBool,
    changed: Mutex<()>,
    wake: Condvar,
}

impl CheckAhead {
    /// The segments after `start` (the position in `segments` of the one the visit starts
    /// in) worth checking ahead, or `None` when checking ahead would not pay off.
    pub(crate) fn plan(segments: &[Arc<Segment>], start: usize) -> Option<CheckAhead> {
        let sealed: Vec<Arc<Segment>> = segments
            .iter()
            .skip(start + 1)
            .take_while(|s| !s.is_writable())
            .filter(|s| !s.is_checked())
            .cloned()
            .collect();
        let bytes: u64 = sealed.iter().map(|s| s.bytes_hint()).sum();
        if sealed.len() < 2 || bytes < MIN_BYTES || cores() < 2 {
            return None;
        }
        let states = sealed.iter().map(|_| AtomicU8::new(PENDING)).collect();
        Some(CheckAhead {
            segments: sealed,
            states,
            stop: AtomicBool::new(false),
            changed: Mutex::new(()),
            wake: Condvar::new(),
        })
    }

    /// The helper's work: the first, third, fifth... segment of the plan (the visit
    /// checks the one it starts in, then the second, fourth...). Runs until done or
    /// [`stop`](CheckAhead::stop); whatever it leaves unfinished is marked unchecked.
    /// Each segment is read while holding the shared side of the log's segment list
    /// (`list`), as every reader does (rule 3 of the mmap contract), and only if it is
    /// still in the list.
    pub(crate) fn run(&self, list: &RwLock<Vec<Arc<Segment>>>) {
        /// Marks what is left unchecked even if the helper unwinds, so that no visit
        /// waits for it forever.
        struct Finish<'a>(&'a CheckAhead);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                for state in &self.0.states {
                    let _ = state.compare_exchange(
                        PENDING,
                        UNCHECKED,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                }
                self.0.notify();
            }
        }
        let _finish = Finish(self);
        for (segment, state) in self.segments.iter().zip(&self.states).step_by(2) {
            let Ok(current) = list.read() else {
                return;
            };
            let outcome = if current.iter().any(|s| Arc::ptr_eq(s, segment)) {
                match segment.check_records(&self.stop) {
                    Some(true) => CHECKED,
                    Some(false) => UNCHECKED,
                    None => return,
                }
            } else {
                UNCHECKED
            };
            drop(current);
            state.store(outcome, Ordering::Release);
            self.notify();
        }
    }

    fn notify(&self) {
        let _guard = self.changed.lock().unwrap_or_else(|p| p.into_inner());
        self.wake.notify_all();
    }

    /// Tells the helper to finish early (the visit ended).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Tells the helper to finish early when dropped: however the visit ends, a panic
    /// in its callback included.
    pub(crate) fn stop_on_drop(&self) -> StopOnDrop<'_> {
        StopOnDrop(self)
    }

    /// Whether every record of `segment` was checked by the helper. For a segment the
    /// helper is still checking, waits for it; for one that is not the helper's (or not
    /// in the plan, or replaced since), returns `false` at once.
    pub(crate) fn checked(&self, segment: &Arc<Segment>) -> bool {
        let Some(i) = self.segments.iter().position(|s| Arc::ptr_eq(s, segment)) else {
            return false;
        };
        if i % 2 != 0 {
            return false;
        }
        let Some(state) = self.states.get(i) else {
            return false;
        };
        let mut guard = self.changed.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match state.load(Ordering::Acquire) {
                PENDING => {
                    guard = self.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
                }
                outcome => return outcome == CHECKED,
            }
        }
    }
}
