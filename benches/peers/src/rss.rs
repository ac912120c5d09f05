//! Resident memory of this process, from `/proc/self/status`.

use std::fs;

/// A field of `/proc/self/status` given in kB (`VmRSS`, `VmHWM`), in MiB.
pub fn status_mib(field: &str) -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kib: f64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024.0)
    })
}

/// Current resident set, in MiB.
pub fn rss_mib() -> f64 {
    status_mib("VmRSS").unwrap_or(f64::NAN)
}

/// Anonymous memory (heap, stacks) resident, in MiB.
pub fn anon_mib() -> f64 {
    status_mib("RssAnon").unwrap_or(f64::NAN)
}

/// File-backed pages resident in this process's mappings, in MiB.
pub fn file_mib() -> f64 {
    status_mib("RssFile").unwrap_or(f64::NAN)
}

/// Peak resident set since the process started, in MiB.
pub fn hwm_mib() -> f64 {
    status_mib("VmHWM").unwrap_or(f64::NAN)
}
