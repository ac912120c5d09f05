//! The quarantine folder: whatever recovery cuts is copied here first, so that no byte
//! disappears without a trace.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use wal_store::internal::sys;

use crate::error::{IoContext, Result};

/// Name of the quarantine folder inside a WAL directory.
pub const QUARANTINE_DIR_NAME: &str = "quarantine";

/// One recovery's folder inside the quarantine folder, created when first needed.
#[derive(Debug)]
pub(crate) struct Quarantine {
    wal_dir: PathBuf,
    dir: PathBuf,
    created: bool,
    manifest: Vec<String>,
}

impl Quarantine {
    pub(crate) fn new(wal_dir: &Path) -> Quarantine {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!("{}-{:09}", now.as_secs(), now.subsec_nanos());
        Quarantine {
            wal_dir: wal_dir.to_path_buf(),
            dir: wal_dir.join(QUARANTINE_DIR_NAME).join(name),
            created: false,
            manifest: Vec::new(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    fn ensure(&mut self) -> Result<()> {
        if !self.created {
            sys::create_dir_all(&self.dir).io_context("create quarantine", &self.dir)?;
            sync_dir(&self.wal_dir.join(QUARANTINE_DIR_NAME))?;
            sync_dir(&self.wal_dir)?;
            self.created = true;
        }
        Ok(())
    }

    /// Copies `bytes` (cut from `source` at `file_offset`) into the quarantine, durably.
    pub(crate) fn keep_bytes(
        &mut self,
        source: &Path,
        file_offset: u64,
        bytes: &[u8],
        why: &str,
    ) -> Result<PathBuf> {
        self.ensure()?;
        let name = format!(
            "{}@{file_offset}",
            source
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let path = self.dir.join(name);
        let file = sys::create(OpenOptions::new().write(true).create_new(true), &path)
            .io_context("create", &path)?;
        sys::write_all(&file, bytes, &path).io_context("write", &path)?;
        sys::fsync(&file, &path).io_context("fsync", &path)?;
        sync_dir(&self.dir)?;
        self.manifest.push(format!(
            "{}: bytes {file_offset}..{} of {} ({why})",
            path.display(),
            file_offset + bytes.len() as u64,
            source.display()
        ));
        Ok(path)
    }

    /// Moves a whole file into the quarantine (a rename: the bytes stay as they were).
    pub(crate) fn keep_file(&mut self, source: &Path, why: &str) -> Result<PathBuf> {
        self.ensure()?;
        let name = source
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let path = self.dir.join(name);
        sys::rename(source, &path).io_context("move to quarantine", source)?;
        sync_dir(&self.dir)?;
        self.manifest.push(format!(
            "{}: was {} ({why})",
            path.display(),
            source.display()
        ));
        Ok(path)
    }

    /// Writes the manifest (what each file is and why it is here) and syncs the folders.
    pub(crate) fn finish(self) -> Result<()> {
        if !self.created {
            return Ok(());
        }
        let path = self.dir.join("MANIFEST");
        let mut text = self.manifest.join("\n");
        text.push('\n');
        wal_store::internal::fs::write_atomically(&self.dir, &path, text.as_bytes())?;
        sync_dir(&self.wal_dir)
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    Ok(wal_store::internal::fs::sync_dir(dir)?)
}
