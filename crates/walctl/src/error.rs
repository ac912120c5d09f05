//! How a command fails, and which exit code each failure gets.

use std::io::Write;
use std::path::Path;

use wal_recovery::RecoveryError;
use wal_store::StoreError;

use crate::render::one_line;

/// How a command that ran to its end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit 0: done, nothing wrong found.
    Clean,
    /// Exit 1: the log's data has problems, and they were printed.
    Problems,
}

/// Why a command stopped early.
#[derive(Debug)]
pub enum CliError {
    /// Exit 2: bad arguments, a missing or locked directory, an offset out of range, an
    /// I/O error. Printed as one `walctl: error:` line.
    Usage(String),
    /// Exit 1: the log's data stops the command (recovery refused to cut committed
    /// entries, an entry failed its checks while being read). Printed as one
    /// `walctl: error:` line.
    Damaged(String),
    /// Standard output was closed by its reader: stop quietly, exit 0.
    BrokenPipe,
}

/// The result type of the commands.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Damaged(_) => 1,
            CliError::BrokenPipe => 0,
        }
    }

    fn message(&self) -> &str {
        match self {
            CliError::Usage(m) | CliError::Damaged(m) => m,
            CliError::BrokenPipe => "",
        }
    }

    /// Adds a hint after the message.
    pub fn with_hint(self, hint: &str) -> CliError {
        match self {
            CliError::Usage(m) => CliError::Usage(format!("{m} ({hint})")),
            CliError::Damaged(m) => CliError::Damaged(format!("{m} ({hint})")),
            CliError::BrokenPipe => CliError::BrokenPipe,
        }
    }
}

/// Prints the one stderr line of an error. A failure to write to stderr cannot be
/// reported anywhere, so it is ignored.
pub fn print_error_line(error: &CliError) {
    if matches!(error, CliError::BrokenPipe) {
        return;
    }
    let _ = writeln!(
        std::io::stderr(),
        "walctl: error: {}",
        one_line(error.message())
    );
}

/// Prints a warning line on stderr (something worth knowing that does not fail the
/// command, such as a torn tail cut while opening for a write).
pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "walctl: warning: {}", one_line(message));
}

fn is_data_problem(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::NeedsRecovery { .. } | StoreError::Corrupt { .. } | StoreError::Layout { .. }
    )
}

impl From<StoreError> for CliError {
    fn from(error: StoreError) -> CliError {
        if is_data_problem(&error) {
            CliError::Damaged(error.to_string())
        } else {
            CliError::Usage(error.to_string())
        }
    }
}

impl From<RecoveryError> for CliError {
    fn from(error: RecoveryError) -> CliError {
        match error {
            RecoveryError::CommittedCorruption { .. } | RecoveryError::Inconsistent { .. } => {
                CliError::Damaged(error.to_string())
            }
            RecoveryError::Store(store) => store.into(),
            other => CliError::Usage(other.to_string()),
        }
    }
}

/// Attaches what was being done, and to which path, to an I/O error.
pub trait IoContext<T> {
    fn context(self, op: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, op: &str, path: &Path) -> Result<T> {
        self.map_err(|e| CliError::Usage(format!("{op} {}: {e}", path.display())))
    }
}

/// Checks that `dir` is an existing directory: the commands that read a log never
/// create one.
pub fn existing_dir(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(CliError::usage(format!(
            "{} is not a directory",
            dir.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::usage(format!(
            "{}: no such directory",
            dir.display()
        ))),
        Err(e) => Err(CliError::usage(format!("{}: {e}", dir.display()))),
    }
}

/// Checks that `dir` is a directory or does not exist yet (commands that may create a
/// log).
pub fn dir_or_absent(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(CliError::usage(format!(
            "{} is not a directory",
            dir.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::usage(format!("{}: {e}", dir.display()))),
    }
}
