//! Latency percentiles from per-operation samples.

/// Summary of per-operation latencies (nanoseconds in, microseconds out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Number of operations.
    pub count: usize,
    /// Median, in microseconds.
    pub p50_us: f64,
    /// 99th percentile, in microseconds.
    pub p99_us: f64,
    /// 99.9th percentile, in microseconds.
    pub p999_us: f64,
    /// Slowest operation, in microseconds.
    pub max_us: f64,
    /// Mean, in microseconds.
    pub mean_us: f64,
}

impl Latency {
    /// Summarises `samples_ns` (sorted in place). `None` when there are none.
    pub fn from_samples(samples_ns: &mut [u64]) -> Option<Latency> {
        if samples_ns.is_empty() {
            return None;
        }
        samples_ns.sort_unstable();
        let at = |q: f64| {
            let rank = ((samples_ns.len() as f64) * q).ceil() as usize;
            samples_ns[rank.clamp(1, samples_ns.len()) - 1] as f64 / 1e3
        };
        let sum: u128 = samples_ns.iter().map(|&s| u128::from(s)).sum();
        Some(Latency {
            count: samples_ns.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: samples_ns[samples_ns.len() - 1] as f64 / 1e3,
            mean_us: sum as f64 / samples_ns.len() as f64 / 1e3,
        })
    }

    /// As a JSON object.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"count\": {}, \"p50_us\": {:.2}, \"p99_us\": {:.2}, \"p999_us\": {:.2}, \"max_us\": {:.2}, \"mean_us\": {:.2}}}",
            self.count, self.p50_us, self.p99_us, self.p999_us, self.max_us, self.mean_us
        )
    }
}
