//! The files of a log directory, sorted by what their names say.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use wal_format::Codec;

use crate::closed::CLOSED_FILE_NAME;
use crate::error::{IoContext, Result, StoreError};
use crate::holes::{self, HOLES_FILE_NAME};
use crate::meta::META_FILE_NAME;
use crate::naming::{self, FileName, TEMP_SUFFIX};
use crate::seed::{self, LogStart, SEED_FILE_NAME};

/// The files of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentFiles {
    /// Entry offset of its first entry, from its name.
    pub base: u64,
    /// Its codec, from its data file's extension.
    pub codec: Codec,
    /// Its data file's path in the directory.
    pub data_path: PathBuf,
    /// Where the data file's bytes are read from: `data_path`, unless the names were
    /// given with other sources (see [`DirLayout::from_sources`]).
    pub data_source: PathBuf,
    /// Its index file's path in the directory (whether or not there is one).
    pub index_path: PathBuf,
    /// Where the index file's bytes are read from; `None` when the directory holds no
    /// index file of the segment's codec.
    pub index_source: Option<PathBuf>,
}

/// The files of a log directory, by name.
///
/// Built from reading the directory ([`DirLayout::read`]) or from a list of names
/// ([`DirLayout::from_names`], [`DirLayout::from_sources`]), for a caller that knows
/// what the directory will hold (recovery replays an unfinished journaled change that
/// way). Names the store does not know are left to the caller to classify
/// ([`other_names`](DirLayout::other_names)).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DirLayout {
    /// The directory.
    pub dir: PathBuf,
    /// Segments by increasing base offset; for a base with data files of two codecs,
    /// the latest codec's.
    pub segments: Vec<SegmentFiles>,
    /// Data files shadowed by a later codec's data file for the same base.
    pub duplicates: Vec<SegmentFiles>,
    /// Index files with no data file of their codec (or whose data file is shadowed):
    /// base, codec and path.
    pub orphan_indexes: Vec<(u64, Codec, PathBuf)>,
    /// Files left unfinished by a crash: `<segment file>.tmp`, and the store's own small
    /// files' `.tmp`.
    pub temp_files: Vec<PathBuf>,
    /// Where the holes file is read from, if the directory has one.
    pub holes_source: Option<PathBuf>,
    /// Where the close record is read from, if the directory has one.
    pub close_record_source: Option<PathBuf>,
    /// Where the seed file (the chain seed of a log with no entry) is read from, if the
    /// directory has one.
    pub seed_source: Option<PathBuf>,
    /// Where the caller's metadata file (`META`) is read from, if the directory has one.
    pub meta_source: Option<PathBuf>,
    /// Every other name, sorted: not the store's (the caller's own files, or unknown).
    pub other_names: Vec<String>,
}

impl DirLayout {
    /// The files of `dir`, as they are.
    pub fn read(dir: &Path) -> Result<DirLayout> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).io_context("list directory", dir)? {
            let entry = entry.io_context("list directory", dir)?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(DirLayout::from_names(dir, names))
    }

    /// The files of `dir`, if it held exactly `names`.
    pub fn from_names(dir: &Path, names: impl IntoIterator<Item = String>) -> DirLayout {
        DirLayout::from_sources(
            dir,
            names.into_iter().map(|name| {
                let source = dir.join(&name);
                (name, source)
            }),
        )
    }

    /// The files of `dir`, if it held exactly the names listed, each name's bytes read
    /// from the path beside it.
    pub fn from_sources(
        dir: &Path,
        names: impl IntoIterator<Item = (String, PathBuf)>,
    ) -> DirLayout {
        let names: BTreeMap<String, PathBuf> = names.into_iter().collect();
        let mut layout = DirLayout {
            dir: dir.to_path_buf(),
            ..DirLayout::default()
        };
        let mut data: BTreeMap<u64, Vec<(Codec, PathBuf)>> = BTreeMap::new();
        let mut indexes: BTreeMap<(u64, Codec), PathBuf> = BTreeMap::new();
        for (name, source) in names {
            match naming::parse_file_name(&name) {
                FileName::Data { base, codec } => {
                    data.entry(base).or_default().push((codec, source))
                }
                FileName::Index { base, codec } => {
                    indexes.insert((base, codec), source);
                }
                FileName::Temp => layout.temp_files.push(dir.join(&name)),
                FileName::Lock => {}
                FileName::Unknown if name == HOLES_FILE_NAME => layout.holes_source = Some(source),
                FileName::Unknown if name == CLOSED_FILE_NAME => {
                    layout.close_record_source = Some(source);
                }
                FileName::Unknown if name == SEED_FILE_NAME => layout.seed_source = Some(source),
                FileName::Unknown if name == META_FILE_NAME => layout.meta_source = Some(source),
                // The store's own small files, interrupted while being replaced.
                FileName::Unknown
                    if name.strip_suffix(TEMP_SUFFIX).is_some_and(|n| {
                        [
                            HOLES_FILE_NAME,
                            CLOSED_FILE_NAME,
                            SEED_FILE_NAME,
                            META_FILE_NAME,
                        ]
                        .contains(&n)
                    }) =>
                {
                    layout.temp_files.push(dir.join(&name));
                }
                FileName::Unknown => layout.other_names.push(name),
            }
        }
        for (base, mut codecs) in data {
            codecs.sort_unstable_by_key(|(codec, _)| *codec);
            let Some((latest, source)) = codecs.pop() else {
                continue;
            };
            let index_source = indexes.remove(&(base, latest));
            layout
                .segments
                .push(SegmentFiles::new(dir, base, latest, source, index_source));
            for (older, source) in codecs {
                layout
                    .duplicates
                    .push(SegmentFiles::new(dir, base, older, source, None));
            }
        }
        layout.orphan_indexes = indexes
            .into_iter()
            .map(|((base, codec), _)| (base, codec, naming::index_path(dir, base, codec)))
            .collect();
        // In the order of their names, like every other list of files here.
        layout.orphan_indexes.sort_by(|a, b| a.2.cmp(&b.2));
        layout
    }

    /// The segments' bases and codecs, in order, refusing a base with data files of two
    /// codecs (the store cannot tell which one holds the log).
    pub fn segments_without_duplicates(&self) -> Result<Vec<(u64, Codec)>> {
        if let Some(shadowed) = self.duplicates.first() {
            let latest = self
                .segments
                .iter()
                .find(|s| s.base == shadowed.base)
                .map_or(shadowed.codec, |s| s.codec);
            return Err(StoreError::Layout {
                segment: shadowed.base,
                detail: format!(
                    "both a {} and a {latest} data file for one base offset",
                    shadowed.codec
                ),
            });
        }
        Ok(self.segments.iter().map(|s| (s.base, s.codec)).collect())
    }

    /// Where the log starts, from the seed file (`SEED`, FORMAT.md §9): `None` without
    /// one. A file that cannot be read is [`StoreError::Io`]; one that was read but is
    /// damaged is [`StoreError::Layout`]. What the start means depends on where it falls
    /// against the records (see [`segments_below`](DirLayout::segments_below)): at or
    /// below the first segment's base, nothing; inside the records, the first entry (the
    /// ones below are trimmed); at or past their end, an empty log continuing there. With
    /// [`LogStart::resetting`], every segment file is void: the log is the empty one at
    /// the start.
    pub fn read_start(&self) -> Result<Option<LogStart>> {
        match &self.seed_source {
            Some(path) => seed::read_seed_from(path),
            None => Ok(None),
        }
    }

    /// How many segments, from the first, hold no entry at or past `start`: every one
    /// when a reset is under way; otherwise those the next segment's base shows to end
    /// at or before the start (trimmed: never read, never checked, and their damage
    /// does not matter). Whether the start also lies past the records of the segments
    /// that remain is known only from their records.
    pub fn segments_below(&self, start: Option<&LogStart>) -> usize {
        match start {
            None => 0,
            Some(start) if start.resetting => self.segments.len(),
            Some(start) => self
                .segments
                .iter()
                .skip(1)
                .take_while(|next| next.base <= start.offset)
                .count(),
        }
    }

    /// The recorded holes (the `HOLES` file): none without a holes file. A file that
    /// cannot be read is [`StoreError::Io`]; one that was read but is damaged is
    /// [`StoreError::Layout`].
    pub fn read_holes(&self) -> Result<Vec<Range<u64>>> {
        match &self.holes_source {
            Some(path) => holes::read_holes_from(path),
            None => Ok(Vec::new()),
        }
    }
}

impl SegmentFiles {
    fn new(
        dir: &Path,
        base: u64,
        codec: Codec,
        data_source: PathBuf,
        index_source: Option<PathBuf>,
    ) -> SegmentFiles {
        SegmentFiles {
            base,
            codec,
            data_path: naming::data_path(dir, base, codec),
            data_source,
            index_path: naming::index_path(dir, base, codec),
            index_source,
        }
    }
}

/// The data files of `dir`, sorted by base offset. Two codecs for one base is an error.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, Codec)>> {
    DirLayout::read(dir)?.segments_without_duplicates()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn sorts_every_kind_of_name() {
        let dir = Path::new("/w");
        let layout = DirLayout::from_names(
            dir,
            names(&[
                "10.txnx",
                "10.idxx",
                "0.txn",
                "0.txnx",
                "0.idx",
                "5.idxx",
                "LOCK",
                "HOLES",
                "CLOSED.tmp",
                "META",
                "META.tmp",
                "3.txnx.tmp",
                "CURSOR",
                "zzz",
                "JOURNAL",
            ]),
        );
        let bases: Vec<(u64, Codec)> = layout.segments.iter().map(|s| (s.base, s.codec)).collect();
        assert_eq!(bases, [(0, Codec::V2), (10, Codec::V2)]);
        assert_eq!(layout.segments[0].index_source, None);
        assert_eq!(layout.segments[1].index_source, Some(dir.join("10.idxx")));
        assert_eq!(layout.duplicates.len(), 1);
        assert_eq!(layout.duplicates[0].codec, Codec::V1);
        let orphans: Vec<u64> = layout.orphan_indexes.iter().map(|o| o.0).collect();
        assert_eq!(orphans, [0, 5]);
        assert_eq!(
            layout.temp_files,
            [
                dir.join("3.txnx.tmp"),
                dir.join("CLOSED.tmp"),
                dir.join("META.tmp")
            ]
        );
        assert_eq!(layout.meta_source, Some(dir.join("META")));
        assert_eq!(layout.holes_source, Some(dir.join("HOLES")));
        assert_eq!(layout.close_record_source, None);
        assert_eq!(layout.other_names, ["CURSOR", "JOURNAL", "zzz"]);
        let refused = layout.segments_without_duplicates();
        assert!(
            matches!(&refused, Err(StoreError::Layout { segment: 0, detail }) if detail.contains("v1") && detail.contains("v2")),
            "{refused:?}"
        );
    }

    #[test]
    fn sources_say_where_bytes_are_read() {
        let dir = Path::new("/w");
        let layout = DirLayout::from_sources(
            dir,
            [
                ("4.txnx".to_owned(), dir.join("4.txnx.pending")),
                ("4.idxx".to_owned(), dir.join("4.idxx.pending")),
            ],
        );
        let segment = &layout.segments[0];
        assert_eq!(segment.data_path, dir.join("4.txnx"));
        assert_eq!(segment.data_source, dir.join("4.txnx.pending"));
        assert_eq!(segment.index_path, dir.join("4.idxx"));
        assert_eq!(segment.index_source, Some(dir.join("4.idxx.pending")));
        assert_eq!(
            layout.segments_without_duplicates().unwrap(),
            [(4, Codec::V2)]
        );
    }
}
