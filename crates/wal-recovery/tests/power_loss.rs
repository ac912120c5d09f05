//! Power-loss images: what a machine that loses power may leave of a log, and what
//! recovery must make of it.
//!
//! The library has no fault-injecting file layer, so the images are built by editing
//! copies of real files. A log is written with tiny segments and `SyncPolicy::Manual`;
//! right after a `sync()` the bytes of every file are what is durable (the sealed segments
//! and their indexes were made durable when they were sealed, the active segment up to
//! what the sync covered); more entries are then appended without a sync, and the files
//! at that moment are what the page cache held. A power loss leaves each 4 KiB page the
//! appends dirtied in its old state, its new state, torn (the first sectors new, the rest
//! old) or, on media that do not zero what they lose, holding garbage; pages persist in
//! any order. Renames and file creations the store did not yet make durable may be
//! missing.
//!
//! For every image, recovery in the default mode must succeed and keep every entry up to
//! the last synced offset with its exact payload; what it keeps after that must be
//! exactly what was appended — in fact exactly the entries whose bytes all survived, no
//! fewer and no more; `verify` must then be clean, and a second open clean too and ready
//! for appends. Enumeration is exhaustive where it is cheap (every subset of the dirty
//! pages, every tear point) and seeded where it is not (the garbage).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test: a panic is a failure (clippy.toml allows these only inside #[test] functions, not in helpers)"
)]

mod support;

use support::{Files, records, snapshot, temp_files, tempdir, write_files};
use wal_format::{Codec, crc};
use wal_recovery::{CursorState, Log, RecoveryOptions, RecoveryReport, cursor};
use wal_store::internal::naming;
use wal_store::{SyncPolicy, WalOptions};

/// The unit of a page-cache writeback.
const PAGE_BYTES: usize = 4096;
/// The unit a disk writes atomically (the small one; 4 KiB sectors are `PAGE_BYTES`).
const SECTOR_BYTES: usize = 512;
/// Eight pages a segment: every subset of a segment's dirty pages is at most 256 images.
const SEGMENT_BYTES: u32 = 8 * 4096;
const _: () = assert!(SEGMENT_BYTES as usize == 8 * PAGE_BYTES);
/// Header bytes of a v2 record.
const HEADER_BYTES: usize = 12;
/// Seeds the garbage of the "garbage instead of zeros" images.
const GARBAGE_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The payload of the entry at `offset`: 100 to 1499 bytes naming the offset, so that
/// records straddle pages and an entry read at the wrong offset never passes.
fn payload(offset: u64) -> Vec<u8> {
    let len = 100 + usize::try_from(offset.wrapping_mul(787) % 1400).unwrap();
    let unit = format!("p{offset};");
    let mut bytes = unit.repeat(len / unit.len() + 1).into_bytes();
    bytes.truncate(len);
    bytes
}

fn wal_options() -> WalOptions {
    WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_sync_policy(SyncPolicy::Manual)
}

fn recovery_options() -> RecoveryOptions {
    RecoveryOptions::default().with_wal(wal_options())
}

fn data_name(base: u64) -> String {
    naming::data_file_name(base, Codec::V2)
}

fn index_name(base: u64) -> String {
    naming::index_file_name(base, Codec::V2)
}

/// A log being written, with its own account of where every record goes, so that a test
/// knows before an append whether it will rotate.
struct Writer {
    dir: tempfile::TempDir,
    log: Log,
    next: u64,
    /// Base offset of the active segment.
    active_base: u64,
    /// Bytes of records in the active segment.
    active_len: usize,
}

impl Writer {
    fn new() -> Writer {
        let dir = tempdir();
        let log = wal_recovery::open(dir.path(), recovery_options())
            .unwrap()
            .log;
        Writer {
            dir,
            log,
            next: 0,
            active_base: 0,
            active_len: 0,
        }
    }

    fn record_bytes(offset: u64) -> usize {
        HEADER_BYTES + payload(offset).len()
    }

    /// Whether the next append fits in the active segment (no rotation).
    fn next_fits(&self) -> bool {
        self.active_len + Writer::record_bytes(self.next) <= SEGMENT_BYTES as usize
    }

    /// Appends the next entry; returns whether it rotated.
    fn append(&mut self) -> bool {
        let rotates = !self.next_fits();
        if rotates {
            self.active_base = self.next;
            self.active_len = 0;
        }
        let appended = self.log.append(&payload(self.next)).unwrap();
        assert_eq!(appended.offset, self.next);
        self.active_len += Writer::record_bytes(self.next);
        self.next += 1;
        rotates
    }

    /// Appends until `sealed` segments are sealed and the active one holds at least
    /// `bytes` bytes of records.
    fn fill(&mut self, sealed: u64, bytes: usize) {
        while self.sealed() < sealed || self.active_len < bytes {
            self.append();
        }
    }

    fn sealed(&self) -> u64 {
        wal_store::list_segments(self.dir.path()).unwrap().len() as u64 - 1
    }

    /// Syncs and checks that everything appended is reported durable.
    fn sync(&self) -> Option<u64> {
        self.log.sync().unwrap();
        let synced = self.log.last_synced_offset();
        assert_eq!(
            synced,
            self.next.checked_sub(1),
            "sync() makes every entry durable"
        );
        synced
    }

    fn snapshot(&self) -> Files {
        snapshot(self.dir.path())
    }
}

/// Two moments of one log: right after its last sync, and after more appends.
#[derive(Clone)]
struct Moments {
    /// What was durable at the power loss: the files as they were right after the last
    /// sync (or, for a segment created since, as it was created: zeros).
    durable: Files,
    /// The last synced offset the writer was told about.
    synced: Option<u64>,
    /// The files at the power loss, as the page cache held them.
    current: Files,
    /// Entries `0..appended_end` were appended.
    appended_end: u64,
    /// The active segment: base offset and data file name.
    active_base: u64,
    active: String,
    /// Bytes of the active segment that were durable.
    durable_len: usize,
}

impl Moments {
    /// The pages of the active segment that differ between the two moments.
    fn dirty_pages(&self) -> Vec<usize> {
        let old = &self.durable[&self.active];
        let new = &self.current[&self.active];
        assert_eq!(old.len(), new.len());
        (0..new.len() / PAGE_BYTES)
            .filter(|&p| old[page(p)] != new[page(p)])
            .collect()
    }

    /// The files of an image: the durable files, the active segment as `active`.
    fn image(&self, active: Vec<u8>) -> Files {
        let mut files = self.durable.clone();
        files.insert(self.active.clone(), active);
        files
    }

    /// Entries an image of the active segment keeps: every record before the first one
    /// whose bytes did not all survive.
    fn intact_end(&self, active: &[u8]) -> u64 {
        let new = &self.current[&self.active];
        let intact = records(new)
            .into_iter()
            .take_while(|&(start, end)| active[start..end] == new[start..end])
            .count();
        self.active_base + intact as u64
    }
}

fn page(p: usize) -> std::ops::Range<usize> {
    p * PAGE_BYTES..(p + 1) * PAGE_BYTES
}

/// What became of one dirty page at the power loss.
#[derive(Debug, Clone, Copy)]
enum Fate {
    /// Never written back: its durable content (zeros past the synced bytes).
    Old,
    /// Written back whole.
    New,
    /// Written back in part: its first `sectors` sectors of `sector_bytes` new, the rest old.
    Torn { sectors: usize, sector_bytes: usize },
    /// Not written back, and the medium returns garbage instead of zeros past the synced
    /// bytes.
    Garbage(Garbage),
}

/// Kinds of garbage a lost page may read back as.
#[derive(Debug, Clone, Copy)]
enum Garbage {
    /// Random bytes.
    Random(u64),
    /// All ones (erased flash).
    Ones,
    /// The bytes at the same place of an older segment: whole, valid records that chain
    /// from somewhere else (a block reused without being cleared).
    Stale,
    /// Record headers that claim a plausible size and chain from the last durable record,
    /// with a wrong crc and random payloads.
    PlausibleHeaders(u64),
    /// The page's new content, shifted: a misdirected write.
    Shifted,
}

const GARBAGE_KINDS: usize = 5;

fn garbage(kind: usize, seed: u64) -> Garbage {
    match kind % GARBAGE_KINDS {
        0 => Garbage::Random(seed),
        1 => Garbage::Ones,
        2 => Garbage::Stale,
        3 => Garbage::PlausibleHeaders(seed),
        _ => Garbage::Shifted,
    }
}

/// The active segment's bytes after a power loss that left the dirty pages as `fates`
/// say (pages not named keep their durable content).
fn active_after(moments: &Moments, fates: &[(usize, Fate)]) -> Vec<u8> {
    let old = &moments.durable[&moments.active];
    let new = &moments.current[&moments.active];
    let mut bytes = old.clone();
    for &(p, fate) in fates {
        let range = page(p);
        // Bytes below the synced length are the same in both states and durable: a
        // sector holding them is rewritten with the same bytes, never garbled.
        let unsynced = range.start.max(moments.durable_len)..range.end;
        match fate {
            Fate::Old => {}
            Fate::New => bytes[range.clone()].copy_from_slice(&new[range]),
            Fate::Torn {
                sectors,
                sector_bytes,
            } => {
                let torn = range.start..range.start + sectors * sector_bytes;
                bytes[torn.clone()].copy_from_slice(&new[torn]);
            }
            Fate::Garbage(kind) => {
                if unsynced.is_empty() {
                    continue;
                }
                let filler = garbage_page(moments, p, kind);
                let from = unsynced.start - range.start;
                bytes[unsynced].copy_from_slice(&filler[from..]);
            }
        }
    }
    bytes
}

/// A page of garbage of `kind` for page `p` of the active segment.
fn garbage_page(moments: &Moments, p: usize, kind: Garbage) -> Vec<u8> {
    let new = &moments.current[&moments.active];
    let mut bytes = vec![0u8; PAGE_BYTES];
    match kind {
        Garbage::Random(seed) => wal_testkit::rng::Rng::new(seed).fill(&mut bytes),
        Garbage::Ones => bytes.fill(0xFF),
        Garbage::Stale => {
            let older = moments
                .current
                .get(&data_name(0))
                .filter(|_| moments.active_base != 0)
                .expect("an older segment to take stale bytes from");
            bytes.copy_from_slice(&older[page(p)]);
        }
        Garbage::PlausibleHeaders(seed) => {
            let mut rng = wal_testkit::rng::Rng::new(seed);
            rng.fill(&mut bytes);
            let last_crc = last_durable_crc(moments);
            for header in bytes.chunks_mut(512) {
                let size = 1 + u32::try_from(rng.next_u64() % 400).unwrap();
                header[0..4].copy_from_slice(&size.to_be_bytes());
                header[4..8].copy_from_slice(&last_crc.to_be_bytes());
            }
        }
        Garbage::Shifted => {
            let start = p * PAGE_BYTES;
            let from = if start >= 37 { start - 37 } else { start + 37 };
            bytes.copy_from_slice(&new[from..from + PAGE_BYTES]);
        }
    }
    bytes
}

/// The crc of the last entry that was durable (the seed a lying header would claim).
fn last_durable_crc(moments: &Moments) -> u32 {
    let mut prev = 0u32;
    for offset in 0..moments.synced.map_or(0, |s| s + 1) {
        prev = crc::chain(prev, &payload(offset));
    }
    prev
}

/// Every entry of the log, checking the chain on the way: each record chains from the
/// one before (from 0 for the first) and its crc is the chain of its payload.
fn chained_entries(log: &Log, label: &str) -> Vec<(u64, Vec<u8>)> {
    let mut prev = 0u32;
    let mut entries = Vec::new();
    for entry in log.iter() {
        let entry = entry.unwrap_or_else(|e| panic!("{label}: read after recovery: {e}"));
        assert_eq!(
            entry.offset,
            entries.len() as u64,
            "{label}: offsets contiguous from 0"
        );
        assert_eq!(
            entry.prev_crc,
            Some(prev),
            "{label}: entry {} chains",
            entry.offset
        );
        let crc = crc::chain(prev, &entry.payload);
        assert_eq!(
            entry.crc,
            Some(crc),
            "{label}: crc of entry {}",
            entry.offset
        );
        prev = crc;
        entries.push((entry.offset, entry.payload));
    }
    entries
}

fn expected(end: u64) -> Vec<(u64, Vec<u8>)> {
    (0..end).map(|o| (o, payload(o))).collect()
}

/// Recovers an image in the default mode and checks that it keeps exactly entries
/// `0..end` (which holds every synced entry), that `verify` is clean afterwards, no
/// temporary file is left, and a second open is clean, keeps the same entries and
/// appends at `end`. Returns the first recovery's report.
fn assert_recovers(label: &str, files: &Files, synced: Option<u64>, end: u64) -> RecoveryReport {
    if let Some(synced) = synced {
        assert!(
            end > synced,
            "{label}: the test's model drops a synced entry"
        );
    }
    let dir = tempdir();
    write_files(dir.path(), files);
    let recovered = match wal_recovery::open(dir.path(), recovery_options()) {
        Ok(recovered) => recovered,
        Err(e) => panic!("{label}: recovery refused: {e:?}"),
    };
    let report = recovered.report.clone();
    let entries = chained_entries(&recovered.log, label);
    let kept = entries.len() as u64;
    assert!(
        synced.is_none_or(|s| kept > s),
        "{label}: synced entries lost: kept 0..{kept}, synced up to {synced:?}: {report:#?}"
    );
    assert_eq!(
        entries,
        expected(end),
        "{label}: kept 0..{kept}, expected 0..{end}: {report:#?}"
    );
    assert_eq!(recovered.log.next_offset(), end, "{label}");
    assert!(
        report.problems.iter().all(|p| !p.committed),
        "{label}: committed problems: {report:#?}"
    );
    drop(recovered);
    assert_eq!(temp_files(dir.path()), Vec::<String>::new(), "{label}");
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(
        verification.ok,
        "{label}: verify after recovery: {verification:#?}"
    );

    let again = wal_recovery::open(dir.path(), recovery_options())
        .unwrap_or_else(|e| panic!("{label}: second open: {e:?}"));
    assert!(
        again.report.is_clean(),
        "{label}: second open: {:#?}",
        again.report
    );
    assert_eq!(chained_entries(&again.log, label), expected(end), "{label}");
    assert_eq!(
        again.log.append(&payload(end)).unwrap().offset,
        end,
        "{label}"
    );
    again.log.close().unwrap();
    let verification = wal_recovery::verify(dir.path(), None).unwrap();
    assert!(
        verification.ok,
        "{label}: verify after an append: {verification:#?}"
    );
    assert_eq!(verification.last_valid_offset, Some(end), "{label}");
    report
}

/// Recovers the image whose active segment is `active`, expecting the intact prefix.
fn assert_active_image(label: &str, moments: &Moments, active: Vec<u8>) {
    let end = moments.intact_end(&active);
    assert_recovers(label, &moments.image(active), moments.synced, end);
}

/// A log with two sealed segments, synced while its active segment holds about one and
/// a half pages, then appended to without a sync until the segment is nearly full
/// (no rotation): the sync point is in the middle of a page.
fn synced_mid_segment() -> Moments {
    let mut writer = Writer::new();
    writer.fill(2, PAGE_BYTES * 3 / 2);
    let synced = writer.sync();
    let durable = writer.snapshot();
    let durable_len = writer.active_len;
    while writer.next_fits() {
        assert!(!writer.append());
    }
    moments(&writer, durable, synced, durable_len)
}

/// A log synced right after a rotation (its active segment holds one record), then
/// appended to without a sync until the segment is nearly full: all eight pages dirty.
fn synced_after_rotation() -> Moments {
    let mut writer = Writer::new();
    writer.fill(2, 0);
    while !writer.append() {}
    let synced = writer.sync();
    let durable = writer.snapshot();
    let durable_len = writer.active_len;
    while writer.next_fits() {
        assert!(!writer.append());
    }
    moments(&writer, durable, synced, durable_len)
}

fn moments(writer: &Writer, durable: Files, synced: Option<u64>, durable_len: usize) -> Moments {
    let current = writer.snapshot();
    assert_eq!(
        writer.log.last_synced_offset(),
        synced,
        "appends without a sync or a rotation make nothing durable"
    );
    let active = data_name(writer.active_base);
    for (name, bytes) in &durable {
        if *name != active {
            assert_eq!(&current[name], bytes, "{name} changed without a rotation");
        }
    }
    assert_eq!(
        current.len(),
        durable.len(),
        "a file appeared without a rotation"
    );
    Moments {
        durable,
        synced,
        current,
        appended_end: writer.next,
        active_base: writer.active_base,
        active,
        durable_len,
    }
}

/// Both scenarios of an unsynced tail in one segment.
fn scenarios() -> Vec<(&'static str, Moments)> {
    let scenarios = vec![
        ("synced mid-segment", synced_mid_segment()),
        ("synced after a rotation", synced_after_rotation()),
    ];
    for (name, moments) in &scenarios {
        let dirty = moments.dirty_pages();
        assert!(
            (5..=8).contains(&dirty.len()),
            "{name}: {} dirty pages",
            dirty.len()
        );
        assert!(
            moments.appended_end > moments.synced.unwrap() + 10,
            "{name}"
        );
    }
    scenarios
}

/// Every subset of `pages`, as fates: in the subset `New`, the others `lost`.
fn subsets(pages: &[usize], lost: impl Fn(usize, usize) -> Fate) -> Vec<Vec<(usize, Fate)>> {
    assert!(pages.len() <= 8, "2^{} images is not cheap", pages.len());
    (0u32..1 << pages.len())
        .map(|mask| {
            pages
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    if mask & (1 << i) != 0 {
                        (p, Fate::New)
                    } else {
                        (p, lost(mask as usize, i))
                    }
                })
                .collect()
        })
        .collect()
}

fn describe(fates: &[(usize, Fate)]) -> String {
    fates
        .iter()
        .map(|(p, f)| format!("page {p}: {f:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn unsynced_pages_lost_as_zeros() {
    for (name, moments) in scenarios() {
        let dirty = moments.dirty_pages();
        let images = subsets(&dirty, |_, _| Fate::Old);
        assert_eq!(images.len(), 1 << dirty.len());
        let mut ends = std::collections::BTreeSet::new();
        for fates in images {
            let active = active_after(&moments, &fates);
            ends.insert(moments.intact_end(&active));
            let label = format!("{name}, unsynced pages lost ({})", describe(&fates));
            assert_active_image(&label, &moments, active);
        }
        // The images reach from exactly the synced entries to every appended one.
        assert_eq!(ends.first(), Some(&(moments.synced.unwrap() + 1)), "{name}");
        assert_eq!(ends.last(), Some(&moments.appended_end), "{name}");
    }
}

#[test]
fn unsynced_pages_lost_as_garbage() {
    let mut rng = wal_testkit::rng::Rng::new(GARBAGE_SEED);
    for (name, moments) in scenarios() {
        let dirty = moments.dirty_pages();
        let seeds: Vec<u64> = (0..dirty.len()).map(|_| rng.next_u64()).collect();
        for fates in subsets(&dirty, |mask, i| {
            Fate::Garbage(garbage(mask + i, seeds[i] ^ mask as u64))
        }) {
            let label = format!(
                "{name}, unsynced pages lost as garbage (seed {GARBAGE_SEED:#x}; {})",
                describe(&fates)
            );
            assert_active_image(&label, &moments, active_after(&moments, &fates));
        }
        // Every kind of garbage in every dirty page alone, the others written back.
        for (i, &p) in dirty.iter().enumerate() {
            for kind in 0..GARBAGE_KINDS {
                let fates: Vec<(usize, Fate)> = dirty
                    .iter()
                    .map(|&q| {
                        if q == p {
                            (q, Fate::Garbage(garbage(kind, seeds[i])))
                        } else {
                            (q, Fate::New)
                        }
                    })
                    .collect();
                let label = format!("{name}, one page of garbage ({})", describe(&fates));
                assert_active_image(&label, &moments, active_after(&moments, &fates));
            }
        }
    }
}

#[test]
fn writes_torn_at_512_bytes_and_at_4_kib() {
    for (name, moments) in scenarios() {
        let dirty = moments.dirty_pages();
        // Torn at 4 KiB: the first `k` dirty pages written back, the rest not.
        for k in 0..=dirty.len() {
            let fates: Vec<(usize, Fate)> = dirty
                .iter()
                .enumerate()
                .map(|(i, &p)| (p, if i < k { Fate::New } else { Fate::Old }))
                .collect();
            let label = format!("{name}, torn after {k} pages ({})", describe(&fates));
            assert_active_image(&label, &moments, active_after(&moments, &fates));
        }
        // Torn at 512 bytes: one page with its first `sectors` sectors new, every page
        // before it written back, every page after it either lost or written back (pages
        // persist in any order).
        for (i, &p) in dirty.iter().enumerate() {
            for sectors in 1..PAGE_BYTES / SECTOR_BYTES {
                for later_written in [false, true] {
                    let fates: Vec<(usize, Fate)> = dirty
                        .iter()
                        .enumerate()
                        .map(|(j, &q)| {
                            let fate = match j.cmp(&i) {
                                std::cmp::Ordering::Less => Fate::New,
                                std::cmp::Ordering::Equal => Fate::Torn {
                                    sectors,
                                    sector_bytes: SECTOR_BYTES,
                                },
                                std::cmp::Ordering::Greater if later_written => Fate::New,
                                std::cmp::Ordering::Greater => Fate::Old,
                            };
                            (q, fate)
                        })
                        .collect();
                    let label = format!("{name}, torn in page {p} ({})", describe(&fates));
                    assert_active_image(&label, &moments, active_after(&moments, &fates));
                }
            }
        }
    }
}

/// A log synced in the middle of its active segment `A`, then appended to without a
/// sync until the append that rotates: `A` is sealed (its data synced, its index written,
/// the new segment `B` created, each made durable before the next step) and a few
/// entries land in `B`, unsynced.
struct Rotation {
    /// The files right after the sync in `A`, and the offset synced then.
    before: Files,
    synced_before: u64,
    /// The files at the power loss.
    current: Files,
    /// Base offsets of `A` and `B` (`B` is also where `A`'s entries end).
    a: u64,
    b: u64,
    appended_end: u64,
}

fn rotation() -> Rotation {
    let mut writer = Writer::new();
    writer.fill(2, PAGE_BYTES * 3 / 2);
    let synced_before = writer.sync().unwrap();
    let before = writer.snapshot();
    let a = writer.active_base;
    while !writer.append() {}
    let b = writer.active_base;
    while writer.active_len < PAGE_BYTES * 4 {
        assert!(!writer.append());
    }
    assert_eq!(
        writer.log.last_synced_offset(),
        Some(b - 1),
        "a rotation makes the sealed segment's entries durable"
    );
    let current = writer.snapshot();
    assert!(
        current.contains_key(&index_name(a)),
        "A was sealed with an index"
    );
    Rotation {
        before,
        synced_before,
        current,
        a,
        b,
        appended_end: writer.next,
    }
}

impl Rotation {
    /// The files of the steps of the rotation up to sealing `A`: the durable files from
    /// before it, with `A`'s data whole (synced first thing).
    fn a_synced(&self) -> Files {
        let mut files = self.before.clone();
        let a = data_name(self.a);
        files.insert(a.clone(), self.current[&a].clone());
        files
    }

    /// ...and its index renamed into place.
    fn a_sealed(&self) -> Files {
        let mut files = self.a_synced();
        let index = index_name(self.a);
        files.insert(index.clone(), self.current[&index].clone());
        files
    }

    /// ...and `B` created: what is durable after the rotation (`B` all zeros).
    fn b_created(&self) -> Files {
        let mut files = self.a_sealed();
        files.insert(
            data_name(self.b),
            vec![0; usize::try_from(wal_format::data_file_bytes(SEGMENT_BYTES)).unwrap()],
        );
        files
    }

    /// The two moments of `B`: created (all zeros), and at the power loss.
    fn moments(&self) -> Moments {
        Moments {
            durable: self.b_created(),
            synced: Some(self.b - 1),
            current: self.current.clone(),
            appended_end: self.appended_end,
            active_base: self.b,
            active: data_name(self.b),
            durable_len: 0,
        }
    }
}

fn with(files: &Files, name: &str, bytes: Vec<u8>) -> Files {
    let mut files = files.clone();
    files.insert(name.to_owned(), bytes);
    files
}

fn without(files: &Files, name: &str) -> Files {
    let mut files = files.clone();
    assert!(files.remove(name).is_some(), "{name} is not in the image");
    files
}

#[test]
fn sealed_index_present_new_segment_empty_or_missing() {
    let rotation = rotation();
    let (a, b) = (rotation.a, rotation.b);
    let synced = Some(b - 1);
    // A is whole in every image from the sync of its data on: all of it stays, whatever
    // became of B (an index proves how far A reached, and recovery keeps all of it).
    assert_recovers(
        "sealed index present, new segment all zeros",
        &rotation.b_created(),
        synced,
        b,
    );
    let sealed = rotation.a_sealed();
    assert_recovers(
        "sealed index present, new segment missing",
        &sealed,
        Some(rotation.synced_before),
        b,
    );
    // Not a state a POSIX file system leaves (the data file is complete and synced
    // before it is renamed into place), but a damaged medium can: the file is there
    // with nothing in it.
    assert_recovers(
        "sealed index present, new segment an empty file",
        &with(&sealed, &data_name(b), Vec::new()),
        Some(rotation.synced_before),
        b,
    );
    // And every subset of B's unsynced pages, zeros where lost.
    let moments = rotation.moments();
    let dirty = moments.dirty_pages();
    assert!(
        (4..=6).contains(&dirty.len()),
        "{} dirty pages",
        dirty.len()
    );
    for fates in subsets(&dirty, |_, _| Fate::Old) {
        let label = format!(
            "sealed index of {a} present, new segment's pages lost ({})",
            describe(&fates)
        );
        assert_active_image(&label, &moments, active_after(&moments, &fates));
    }
}

#[test]
fn rename_or_creation_not_persisted() {
    let rotation = rotation();
    let (a, b) = (rotation.a, rotation.b);
    let before = Some(rotation.synced_before);
    let sealed = rotation.a_sealed();
    let zeros = vec![0u8; usize::try_from(wal_format::data_file_bytes(SEGMENT_BYTES)).unwrap()];
    let b_temp = format!("{}{}", data_name(b), naming::TEMP_SUFFIX);
    let a_index = index_name(a);
    let a_index_temp = format!("{a_index}{}", naming::TEMP_SUFFIX);
    let index = rotation.current[&a_index].clone();

    // The new segment written as a temporary file whose rename was lost: created empty,
    // or preallocated.
    for (what, bytes) in [("empty", Vec::new()), ("preallocated", zeros.clone())] {
        let label = format!("new segment only as {b_temp} ({what})");
        let report = assert_recovers(&label, &with(&sealed, &b_temp, bytes), before, b);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.kind == wal_recovery::ProblemKind::TempFile),
            "{label}: the leftover is reported: {report:#?}"
        );
    }
    // The index written as a temporary file whose rename was lost (whole, or cut short
    // by the power loss), before the new segment was created.
    let a_synced = rotation.a_synced();
    for (what, bytes) in [
        ("whole", index.clone()),
        ("half written", index[..index.len() / 2].to_vec()),
        ("empty", Vec::new()),
    ] {
        let label = format!("index only as {a_index_temp} ({what}), no new segment");
        assert_recovers(&label, &with(&a_synced, &a_index_temp, bytes), before, b);
    }
    // A file system that persists directory changes out of order: the new segment's
    // creation durable, the index's rename not. Recovery rebuilds the index.
    let reordered = without(
        &with(
            &with(&rotation.b_created(), &a_index_temp, index.clone()),
            &data_name(b),
            zeros.clone(),
        ),
        &a_index,
    );
    let report = assert_recovers(
        "index only as a temporary file, new segment present",
        &reordered,
        Some(b - 1),
        b,
    );
    assert!(
        report.actions.iter().any(|action| matches!(
            action,
            wal_recovery::Action::IndexRebuilt { segment, .. } if *segment == a
        )),
        "{report:#?}"
    );
    // ...with B's pages written back too: everything appended is there.
    let mut reordered_written = reordered.clone();
    reordered_written.insert(data_name(b), rotation.current[&data_name(b)].clone());
    assert_recovers(
        "index only as a temporary file, new segment written back",
        &reordered_written,
        Some(b - 1),
        rotation.appended_end,
    );
    // The very first segment of a new log, its rename lost: an empty log.
    let first_temp = format!("{}{}", data_name(0), naming::TEMP_SUFFIX);
    for bytes in [Vec::new(), zeros] {
        let files = Files::from([(first_temp.clone(), bytes)]);
        assert_recovers(
            "a new log's first segment only as a temporary file",
            &files,
            None,
            0,
        );
    }
}

#[test]
fn cursor_rename_not_persisted() {
    let mut writer = Writer::new();
    writer.fill(1, PAGE_BYTES);
    let first = writer.sync().unwrap();
    writer.log.set_cursor(first / 2).unwrap();
    let old_cursor = first / 2;
    writer.fill(2, PAGE_BYTES * 3 / 2);
    let synced = writer.sync();
    let durable = writer.snapshot();
    let durable_len = writer.active_len;
    let new_cursor = synced.unwrap() - 3;
    writer.log.set_cursor(new_cursor).unwrap();
    let with_new_cursor = writer.snapshot();
    assert_eq!(
        with_new_cursor[cursor::CURSOR_FILE_NAME],
        cursor::encode_cursor(new_cursor)
    );
    while writer.next_fits() {
        assert!(!writer.append());
    }
    let mut current = writer.snapshot();
    current.remove(cursor::CURSOR_FILE_NAME);
    let mut durable_without_cursor = durable.clone();
    durable_without_cursor.remove(cursor::CURSOR_FILE_NAME);
    let moments = Moments {
        durable: durable_without_cursor,
        synced,
        current,
        appended_end: writer.next,
        active_base: writer.active_base,
        active: data_name(writer.active_base),
        durable_len,
    };
    let cursor_temp = format!("{}{}", cursor::CURSOR_FILE_NAME, naming::TEMP_SUFFIX);
    let new_bytes = cursor::encode_cursor(new_cursor).to_vec();
    let old_bytes = cursor::encode_cursor(old_cursor).to_vec();
    let dirty = moments.dirty_pages();
    // The log's unsynced pages lost or written back, crossed with what became of the
    // cursor's replacement: the rename lost with the temporary file whole, torn, empty or
    // gone (the old cursor stays), or no cursor ever persisted.
    for fates in [
        dirty.iter().map(|&p| (p, Fate::Old)).collect::<Vec<_>>(),
        dirty.iter().map(|&p| (p, Fate::New)).collect(),
    ] {
        let active = active_after(&moments, &fates);
        let end = moments.intact_end(&active);
        let log = moments.image(active);
        for (what, cursor_file, temp, found) in [
            (
                "old cursor, temp whole",
                Some(&old_bytes),
                Some(new_bytes.clone()),
                CursorState::At(old_cursor),
            ),
            (
                "old cursor, temp torn",
                Some(&old_bytes),
                Some(new_bytes[..7].to_vec()),
                CursorState::At(old_cursor),
            ),
            (
                "old cursor, temp empty",
                Some(&old_bytes),
                Some(Vec::new()),
                CursorState::At(old_cursor),
            ),
            (
                "old cursor, no temp",
                Some(&old_bytes),
                None,
                CursorState::At(old_cursor),
            ),
            (
                "no cursor, temp whole",
                None,
                Some(new_bytes.clone()),
                CursorState::Missing,
            ),
        ] {
            let mut files = log.clone();
            if let Some(bytes) = cursor_file {
                files.insert(cursor::CURSOR_FILE_NAME.to_owned(), bytes.clone());
            }
            if let Some(bytes) = temp {
                files.insert(cursor_temp.clone(), bytes);
            }
            let label = format!(
                "cursor rename lost ({what}), log pages {}",
                describe(&fates)
            );
            let report = assert_recovers(&label, &files, synced, end);
            assert_eq!(report.cursor, found, "{label}");
            let replay_from = found.offset().map_or(0, |c| c + 1);
            assert_eq!(report.replay_from, replay_from, "{label}");
        }
    }
}
