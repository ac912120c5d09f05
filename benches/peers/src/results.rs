//! Where the figures criterion does not keep (latency percentiles, resident memory) are
//! written, as small JSON files read by `scripts/plot_benchmarks.py`.

use std::fs;
use std::io;
use std::path::PathBuf;

/// `<target>/peer-results`, next to criterion's `<target>/criterion`.
pub fn results_dir() -> PathBuf {
    target_dir().join("peer-results")
}

/// The cargo target directory of this workspace (`CARGO_TARGET_DIR` if set).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// Writes `json` to `<results>/<relative>`, creating directories.
pub fn write(relative: &str, json: &str) -> io::Result<PathBuf> {
    let path = results_dir().join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&path, json)?;
    Ok(path)
}

/// A JSON string literal (names here are plain ASCII; quotes and backslashes escaped).
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
