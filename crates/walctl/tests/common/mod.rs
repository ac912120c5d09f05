//! Running the `walctl` binary and checking its contract: exit codes, the one-line
//! errors, JSON output; making and damaging log directories.
#![allow(dead_code, reason = "each test file uses only some of the helpers")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test (clippy.toml allows these only inside #[test] functions)"
)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and an empty stderr, and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        assert_eq!(self.stderr, "", "expected a quiet stderr: {self:#?}");
        &self.stdout
    }

    /// The stdout lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// stdout as exactly one JSON value on one line.
    pub fn json(&self) -> Value {
        let lines = self.lines();
        assert_eq!(lines.len(), 1, "expected one JSON line: {self:#?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("bad JSON ({e}): {self:#?}"))
    }

    /// stdout as one JSON value per line.
    pub fn json_lines(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }
}

pub fn walctl() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_walctl"));
    command.env_remove("RUST_LOG").env_remove("RUST_BACKTRACE");
    command
}

fn finish(command: &mut Command, stdin: Option<&[u8]>) -> Run {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn walctl");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().expect("walctl was killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs walctl with `args`.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    finish(walctl().args(args), None)
}

/// Runs walctl with `args` and `input` on its standard input.
pub fn run_with_stdin<I, S>(args: I, input: &[u8]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    finish(walctl().args(args), Some(input))
}

/// A path as a `&str` argument.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Asserts the contract of a usage or I/O error: exit 2, nothing on stdout, and exactly
/// one `walctl: error:` line on stderr that contains `needle`.
pub fn assert_usage_error(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "expected exit 2: {run:#?}");
    assert_eq!(run.stdout, "", "expected nothing on stdout: {run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line: {run:#?}");
    assert!(
        lines[0].starts_with("walctl: error: "),
        "expected a 'walctl: error:' line: {run:#?}"
    );
    assert!(
        lines[0].contains(needle),
        "expected {needle:?} in the error: {run:#?}"
    );
    assert!(run.stderr.ends_with('\n'));
}

/// Asserts that `value` is an object with exactly these keys.
pub fn assert_keys(value: &Value, keys: &[&str]) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    let mut found: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected = keys.to_vec();
    found.sort_unstable();
    expected.sort_unstable();
    assert_eq!(found, expected, "keys of {value}");
}

/// A new scratch directory (tmpfs when there is one: see `wal_testkit::scratch_parent`).
#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::tempdir;

/// Writes `count` entries of `size` bytes with walctl, in segments of `segment_bytes`.
pub fn write_entries(dir: &Path, count: u64, size: u64, segment_bytes: u32) {
    let count = count.to_string();
    let size = size.to_string();
    let segment = segment_bytes.to_string();
    let run = run([
        "write",
        s(dir),
        "--count",
        &count,
        "--size",
        &size,
        "--segment-size",
        &segment,
    ]);
    run.ok();
}

/// The data files of a log, oldest first.
pub fn data_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let (stem, ext) = name.split_once('.')?;
            if ext != "txnx" && ext != "txn" {
                return None;
            }
            Some((stem.parse().ok()?, p.clone()))
        })
        .collect();
    found.sort();
    found
}

/// The data file of the last (active) segment, and its base offset.
pub fn active_segment(dir: &Path) -> (u64, PathBuf) {
    data_files(dir).pop().expect("a log with a segment")
}

#[allow(
    unused_imports,
    reason = "each test file uses only some of the helpers"
)]
pub use wal_testkit::flip_byte;

/// Every file and folder under `dir` (recursively) with its content: to show a command
/// changed nothing.
pub fn snapshot(dir: &Path) -> wal_testkit::snapshot::Tree {
    wal_testkit::snapshot::Tree::take(dir)
}

/// `flock DIR/LOCK sleep 30`, started in a process group of its own and killed (the
/// whole group: flock and the sleep that inherits the lock) when dropped.
pub struct LockHolder {
    child: Child,
}

impl LockHolder {
    pub fn hold(dir: &Path) -> LockHolder {
        use std::os::unix::process::CommandExt;
        let lock = dir.join("LOCK");
        let child = Command::new("/usr/bin/flock")
            .arg(&lock)
            .args(["sleep", "30"])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn flock");
        let holder = LockHolder { child };
        // Wait until the lock is taken: a non-blocking flock then fails.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let free = Command::new("/usr/bin/flock")
                .args(["-n", "-E", "75"])
                .arg(&lock)
                .arg("true")
                .status()
                .unwrap();
            if free.code() == Some(75) {
                return holder;
            }
            assert!(Instant::now() < deadline, "flock never took the lock");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Hex of bytes, as walctl prints `payload_hex`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
