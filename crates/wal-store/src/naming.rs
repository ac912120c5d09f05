//! File names inside a WAL directory.
//!
//! A segment is `<base>.<data ext>` plus `<base>.<index ext>`, where `<base>` is the entry
//! offset of its first entry in decimal without zero padding. A file being written is
//! `<name>.tmp` until it is complete, synced and renamed.

use std::path::{Path, PathBuf};

use wal_format::Codec;

/// The lock file held (with `flock`) by the one writer of a directory.
pub const LOCK_FILE_NAME: &str = "LOCK";
/// Suffix of a file that is still being written.
pub const TEMP_SUFFIX: &str = ".tmp";

/// What a file name in a WAL directory says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileName {
    /// A segment's data file.
    Data {
        /// Base offset.
        base: u64,
        /// Codec, from the extension.
        codec: Codec,
    },
    /// A segment's index file.
    Index {
        /// Base offset.
        base: u64,
        /// Codec, from the extension.
        codec: Codec,
    },
    /// An unfinished file (`<segment file>.tmp`), left by a crash.
    Temp,
    /// The lock file.
    Lock,
    /// Anything else: never ours to delete.
    Unknown,
}

/// Name of the data file of the segment at `base`.
pub fn data_file_name(base: u64, codec: Codec) -> String {
    format!("{base}.{}", codec.data_extension())
}

/// Name of the index file of the segment at `base`.
pub fn index_file_name(base: u64, codec: Codec) -> String {
    format!("{base}.{}", codec.index_extension())
}

/// Path of the data file of the segment at `base` in `dir`.
pub fn data_path(dir: &Path, base: u64, codec: Codec) -> PathBuf {
    dir.join(data_file_name(base, codec))
}

/// Path of the index file of the segment at `base` in `dir`.
pub fn index_path(dir: &Path, base: u64, codec: Codec) -> PathBuf {
    dir.join(index_file_name(base, codec))
}

/// The temporary name under which `path` is written before it is renamed into place.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

/// Parses a decimal offset written the canonical way (no sign, no zero padding).
fn parse_base(text: &str) -> Option<u64> {
    let canonical = text == "0" || (!text.starts_with('0') && !text.is_empty());
    if !canonical || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Classifies a file name found in a WAL directory.
///
/// ```
/// use wal_store::internal::naming::{parse_file_name, FileName};
/// use wal_store::format::Codec;
/// assert_eq!(parse_file_name("1024.txnx"), FileName::Data { base: 1024, codec: Codec::V2 });
/// assert_eq!(parse_file_name("0.idx"), FileName::Index { base: 0, codec: Codec::V1 });
/// assert_eq!(parse_file_name("0.txnx.tmp"), FileName::Temp);
/// assert_eq!(parse_file_name("007.txnx"), FileName::Unknown);
/// ```
pub fn parse_file_name(name: &str) -> FileName {
    if name == LOCK_FILE_NAME {
        return FileName::Lock;
    }

    if let Some(inner) = name.strip_suffix(TEMP_SUFFIX) {
        return match parse_file_name(inner) {
            FileName::Data { .. } | FileName::Index { .. } => FileName::Temp,
            _ => FileName::Unknown,
        };
    }
    let Some((stem, extension)) = name.split_once('.') else {
        return FileName::Unknown;
    };
    let Some(base) = parse_base(stem) else {
        return FileName::Unknown;
    };
    if let Some(codec) = Codec::from_data_extension(extension) {
        FileName::Data { base, codec }
    } else if let Some(codec) = Codec::from_index_extension(extension) {
        FileName::Index { base, codec }
    } else {
        FileName::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for codec in Codec::ALL_LATEST_FIRST {
            for base in [0, 1, 1024, u64::MAX] {
                assert_eq!(
                    parse_file_name(&data_file_name(base, codec)),
                    FileName::Data { base, codec }
                );
                assert_eq!(
                    parse_file_name(&index_file_name(base, codec)),
                    FileName::Index { base, codec }
                );
            }
        }
    }

    #[test]
    fn strange_names_are_unknown() {
        for name in [
            "",
            ".",
            "txnx",
            ".txnx",
            "1.",
            "-1.txnx",
            "+1.txnx",
            "01.txnx",
            "1.txnx.bak",
            "18446744073709551616.txnx",
            "1.TXNX",
            "1 .txnx",
            "cursor",
            "x.tmp",
            "1.idxx.x",
        ] {
            assert_eq!(parse_file_name(name), FileName::Unknown, "{name:?}");
        }
        assert_eq!(parse_file_name("LOCK"), FileName::Lock);
        assert_eq!(parse_file_name("5.idxx.tmp"), FileName::Temp);
    }

    #[test]
    fn temp_path_appends_the_suffix() {
        assert_eq!(
            temp_path(Path::new("/w/10.idxx")),
            PathBuf::from("/w/10.idxx.tmp")
        );
    }
}
