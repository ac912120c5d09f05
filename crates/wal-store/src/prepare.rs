//! Preparing the next segment ahead of time, off the writer's path.
//!
//! A segment file preallocated with `fallocate` has "unwritten" extents: the first write
//! into each one turns into metadata work at the next fdatasync, and each first touch of a
//! mapped page faults in a fresh page. A file whose zeros were really written has neither
//! cost. A background thread therefore writes the next segment's zeros into an unnamed
//! file (`O_TMPFILE`, in the log's directory) and syncs it; at rotation the writer links it
//! into place under the segment's name and fsyncs the directory, instead of creating a
//! file on its own path. The prepared file has no name until then, so it is invisible in
//! the directory, and a crash leaves nothing behind. Where the file system has no
//! `O_TMPFILE`, preparing fails once and rotation creates files itself.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Gives the unnamed `file` the name `path` (in the directory it was created in).
pub(crate) fn link_into_place(file: &File, path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // Linking an open file through its /proc entry needs no privilege (unlike
    // AT_EMPTY_PATH).
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        proc_path.as_str(),
        rustix::fs::CWD,
        path,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )?;
    Ok(())
}

#[derive(Debug)]
enum State {
    /// A file should be prepared.
    Wanted,
    /// A prepared file, synced, of the configured length.
    Ready(File),
    /// Preparing failed; the writer creates its segments itself (the error was logged:
    /// nothing was promised about this file).
    Failed,
    /// The log is closing.
    Stopped,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// Set when the log closes, so that a file being written is abandoned at once.
    stop: AtomicBool,
}

/// The preparer of the next segment file.
#[derive(Debug)]
pub(crate) struct Preparer {
    len: u32,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// An unnamed file of zeros for records of up to `segment_bytes` bytes (one byte longer,
/// as `Segment::create` makes it), written and synced.
fn write_zeros(dir: &Path, segment_bytes: u32, stop: &AtomicBool) -> io::Result<File> {
    const CHUNK: usize = 1 << 20;
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    let file = File::from(fd);
    let zeros = vec![0u8; CHUNK];
    let mut at = 0u64;
    let len = wal_format::data_file_bytes(segment_bytes);
    while at < len {
        if stop.load(Ordering::Acquire) {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = usize::try_from(len - at).unwrap_or(CHUNK).min(CHUNK);
        file.write_all_at(zeros.get(..n).unwrap_or(&zeros), at)?;
        at += n as u64;
    }
    file.sync_all()?;
    Ok(file)
}

impl Preparer {
    /// Starts preparing files for segments of `len` bytes in `dir`.
    pub(crate) fn start(dir: &Path, len: u32) -> io::Result<Preparer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::Wanted),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let thread_shared = Arc::clone(&shared);
        let thread_dir = dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("wal-prepare".to_owned())
            .spawn(move || {
                let Shared {
                    state,
                    changed,
                    stop,
                } = &*thread_shared;
                loop {
                    let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
                    while !matches!(*guard, State::Wanted | State::Stopped) {
                        guard = changed.wait(guard).unwrap_or_else(|p| p.into_inner());
                    }
                    if matches!(*guard, State::Stopped) {
                        return;
                    }
                    drop(guard);
                    let prepared = write_zeros(&thread_dir, len, stop);
                    let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
                    if matches!(*guard, State::Stopped) {
                        return;
                    }
                    *guard = match prepared {
                        Ok(file) => State::Ready(file),
                        Err(e) => {
                            log::warn!(
                                target: "wal_store::segment",
                                "could not prepare the next segment ({e}); segments are created on rotation"
                            );
                            State::Failed
                        }
                    };
                    changed.notify_all();
                }
            })?;
        Ok(Preparer {
            len,
            shared,
            thread: Some(thread),
        })
    }

    /// The prepared (unnamed) file, if one for a segment of `len` bytes is ready; the caller links it
    /// into place. Asks for the next one.
    pub(crate) fn take(&self, len: u32) -> Option<File> {
        if len != self.len {
            return None;
        }
        let mut guard = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(*guard, State::Ready(_)) {
            return None;
        }
        let State::Ready(file) = std::mem::replace(&mut *guard, State::Wanted) else {
            return None;
        };
        self.shared.changed.notify_all();
        Some(file)
    }

    /// Whether a prepared file is ready.
    pub(crate) fn is_ready(&self) -> bool {
        matches!(
            *self.shared.state.lock().unwrap_or_else(|p| p.into_inner()),
            State::Ready(_)
        )
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let mut guard = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            *guard = State::Stopped;
        }
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            // The thread only writes a temporary file; a panic in it was reported by the
            // panic hook and leaves nothing the log relies on.
            let _ = thread.join();
        }
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        self.stop();
    }
}
