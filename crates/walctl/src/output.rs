//! Standard output, buffered, with a closed pipe turned into a quiet stop.
//!
//! Rust ignores SIGPIPE, so writing to a pipe whose reader is gone (`walctl dump | head
//! -1`) fails with `BrokenPipe`; every write goes through here so that this becomes
//! [`CliError::BrokenPipe`], which ends the command with exit 0 and no message.

use std::fmt::Display;
use std::io::{self, BufWriter, StdoutLock, Write};

use serde::Serialize;

use crate::error::{CliError, Result};

/// Buffered standard output.
pub struct Out {
    inner: BufWriter<StdoutLock<'static>>,
}

fn write_error(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CliError::BrokenPipe
    } else {
        CliError::usage(format!("write to standard output: {e}"))
    }
}

impl Out {
    /// The process's standard output.
    pub fn stdout() -> Out {
        Out {
            inner: BufWriter::new(io::stdout().lock()),
        }
    }

    /// Writes one line.
    pub fn line(&mut self, text: impl Display) -> Result<()> {
        writeln!(self.inner, "{text}").map_err(write_error)
    }

    /// Writes one value as compact JSON on a line of its own.
    pub fn json(&mut self, value: &impl Serialize) -> Result<()> {
        let bytes =
            serde_json::to_vec(value).map_err(|e| CliError::usage(format!("encode JSON: {e}")))?;
        self.inner.write_all(&bytes).map_err(write_error)?;
        self.inner.write_all(b"\n").map_err(write_error)
    }

    /// Pushes everything written so far to the reader (after an acknowledgement, and at
    /// the end).
    pub fn flush(&mut self) -> Result<()> {
        self.inner.flush().map_err(write_error)
    }
}
