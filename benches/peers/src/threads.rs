//! Many writers at once: threads released together by a barrier, each timing its own
//! operations.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::Result;

/// Runs `op(thread, i)` for `i` in `0..per_thread` on each of `threads` threads, all
/// released at once. Returns the wall time from the release to the end of the last
/// thread, and appends every operation's latency (ns) to `latencies`.
pub fn run<F>(threads: usize, per_thread: u64, latencies: &mut Vec<u64>, op: F) -> Result<Duration>
where
    F: Fn(usize, u64) -> Result<()> + Sync,
{
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (op, barrier) = (&op, &barrier);
                scope.spawn(move || -> Result<Vec<u64>> {
                    let mut own = Vec::with_capacity(per_thread as usize);
                    barrier.wait();
                    for i in 0..per_thread {
                        let started = Instant::now();
                        op(t, i)?;
                        own.push(started.elapsed().as_nanos() as u64);
                    }
                    Ok(own)
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let mut outcomes = Vec::with_capacity(threads);
        for handle in handles {
            outcomes.push(handle.join().map_err(|_| "a writer thread panicked")?);
        }
        let elapsed = started.elapsed();
        for outcome in outcomes {
            latencies.extend(outcome?);
        }
        Ok(elapsed)
    })
}
