//! Readers running beside a writer that appends, rotates tiny segments constantly,
//! truncates and trims only ever see whole, correct entries: each payload describes its
//! own offset and generation, v2 crcs chain, forward iteration is contiguous, and the only
//! error a reader may get is `OffsetOutOfRange` (for what was trimmed, truncated or is not
//! visible yet). With `Synced` visibility a reader never sees an entry that is not yet
//! durable. Afterwards the log holds exactly what the writer believes, and reopens so.
//!
//! A wall-clock duration bounds how long the threads run; no assert depends on how much
//! they did in that time.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test (clippy.toml allows unwrap only inside #[test] functions)"
)]

mod common_b;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use common_b::Rng;
use wal_store::format::crc;
use wal_store::{Entry, ReadVisibility, StoreError, SyncPolicy, Wal, WalOptions};

/// How long the writer keeps going once it has done `MIN_WRITER_STEPS`.
const RUN_FOR: Duration = Duration::from_millis(2500);
/// Steps the writer always does, whatever the clock says. Its choices come from a seeded
/// generator and its own state only, so these steps are the same on every run.
const MIN_WRITER_STEPS: u64 = 400;
/// Entries a reader follows with one iterator before starting another.
const MAX_ITER_STEPS: usize = 200;
/// Tiny segments: about 20 entries each, so rotation happens all the time.
const SEGMENT_BYTES: u32 = 1024;
/// Entries the writer appends after its last truncation or trim, so that the readers'
/// final round has something to read.
const FINAL_ENTRIES: u64 = 10;

/// A payload that describes itself: `o=<offset>;g=<generation>;` then padding bytes that
/// depend on both, of a length that depends on both.
fn payload(offset: u64, generation: u64) -> Vec<u8> {
    let mut bytes = format!("o={offset};g={generation};").into_bytes();
    let seed = offset
        .wrapping_mul(0x9E37_79B9)
        .wrapping_add(generation.wrapping_mul(131));
    let pad_len = seed % 40 + 1;
    bytes.extend((0..pad_len).map(|i| u8::try_from(seed.wrapping_add(i * 7) % 251).unwrap()));
    bytes
}

fn parse_field(field: &[u8], name: &str) -> u64 {
    let text = std::str::from_utf8(field).unwrap();
    let value = text
        .strip_prefix(name)
        .unwrap_or_else(|| panic!("field {text:?} lacks {name:?}"));
    value.parse().unwrap()
}

/// Checks everything one entry can prove on its own and returns its generation: the
/// payload names the entry's offset and is exactly the payload of that offset and
/// generation, and its crc is the chain of its seed and payload.
fn check_entry(entry: &Entry) -> u64 {
    let mut fields = entry.payload.splitn(3, |&b| b == b';');
    let offset = parse_field(fields.next().unwrap(), "o=");
    let generation = parse_field(fields.next().unwrap(), "g=");
    assert_eq!(
        offset, entry.offset,
        "payload names another offset: {entry:?}"
    );
    assert_eq!(
        entry.payload,
        payload(offset, generation),
        "torn or wrong payload: {entry:?}"
    );
    let prev_crc = entry.prev_crc.unwrap();
    assert_eq!(
        entry.crc,
        Some(crc::chain(prev_crc, &entry.payload)),
        "crc does not match: {entry:?}"
    );
    generation
}

fn allow_out_of_range(error: StoreError) {
    assert!(
        matches!(error, StoreError::OffsetOutOfRange { .. }),
        "a reader got an error other than OffsetOutOfRange: {error:?}"
    );
}

struct Shared {
    wal: Wal,
    synced_visibility: bool,
    /// Bumped before and after every truncation and trim, so odd while one runs: a reader
    /// that sees the same even value before a read and after its checks knows that none
    /// ran in between.
    changes: AtomicU64,
    /// The writer's next offset, for readers choosing where to read.
    next_hint: AtomicU64,
    /// Set once the writer has finished and the log is synced: readers do one last round.
    final_round: AtomicBool,
}

impl Shared {
    /// With `Synced` visibility, an entry a reader got was durable when it was read, so
    /// the last synced offset read afterwards covers it unless a truncation lowered it or
    /// a trim moved the first offset past it meanwhile. Returns whether it could check.
    fn check_durable(&self, offset: u64, changes_before: u64) -> bool {
        if !self.synced_visibility {
            return false;
        }
        let synced = self.wal.last_synced_offset();
        let changes_after = self.changes.load(SeqCst);
        if changes_before != changes_after || changes_before % 2 == 1 {
            return false;
        }
        assert!(
            synced >= Some(offset),
            "a reader saw entry {offset}, but the last synced offset is {synced:?}"
        );
        true
    }
}

#[derive(Debug, Default)]
struct ReaderReport {
    entries: u64,
    durability_checks: u64,
}

#[derive(Debug, Clone, Copy)]
enum ReaderKind {
    Random,
    Forward,
    Reverse,
}

fn read_random(shared: &Shared, rng: &mut Rng, report: &mut ReaderReport, final_round: bool) {
    let first = shared.wal.first_offset();
    let next = shared.next_hint.load(SeqCst);
    let offsets: Vec<u64> = if final_round {
        (first..next).collect()
    } else {
        (0..50)
            .map(|_| rng.between(first.saturating_sub(2), next + 2))
            .collect()
    };
    for offset in offsets {
        let changes = shared.changes.load(SeqCst);
        match shared.wal.read(offset) {
            Ok(entry) => {
                assert_eq!(entry.offset, offset);
                check_entry(&entry);
                report.entries += 1;
                report.durability_checks += u64::from(shared.check_durable(offset, changes));
            }
            Err(e) => allow_out_of_range(e),
        }
    }
}

fn read_forward(shared: &Shared, rng: &mut Rng, report: &mut ReaderReport, final_round: bool) {
    let first = shared.wal.first_offset();
    let next = shared.next_hint.load(SeqCst);
    let start = if final_round {
        first
    } else {
        rng.between(first.saturating_sub(1), next + 1)
    };
    let mut iter = match shared.wal.iter_from(start) {
        Ok(iter) => iter,
        Err(e) => return allow_out_of_range(e),
    };
    let steps = if final_round {
        usize::MAX
    } else {
        MAX_ITER_STEPS
    };
    // (offset, generation, crc) of the entry before.
    let mut previous: Option<(u64, u64, Option<u32>)> = None;
    for _ in 0..steps {
        let changes = shared.changes.load(SeqCst);
        let entry = match iter.next() {
            None => break,
            Some(Ok(entry)) => entry,
            Some(Err(e)) => {
                allow_out_of_range(e);
                break;
            }
        };
        let generation = check_entry(&entry);
        let expected = previous.map_or(start, |(offset, _, _)| offset + 1);
        assert_eq!(
            entry.offset, expected,
            "forward iteration skipped or repeated"
        );
        if let Some((_, previous_generation, previous_crc)) = previous {
            // Entry o + 1 is read after entry o, so it cannot be older than it: a
            // truncation that removed it would have removed o too.
            assert!(
                generation >= previous_generation,
                "entry {} of generation {generation} follows generation {previous_generation}",
                entry.offset
            );
            // Appended with no truncation in between: o + 1 was chained from this o.
            if generation == previous_generation {
                assert_eq!(
                    entry.prev_crc, previous_crc,
                    "chain broken at {}",
                    entry.offset
                );
            }
        }
        report.entries += 1;
        report.durability_checks += u64::from(shared.check_durable(entry.offset, changes));
        previous = Some((entry.offset, generation, entry.crc));
    }
}

/// Reads the newest visible entry, over and over: the entry most likely to have just been
/// published.
fn read_newest(shared: &Shared, report: &mut ReaderReport) {
    for _ in 0..20 {
        let changes = shared.changes.load(SeqCst);
        match shared.wal.iter_rev().next() {
            None => {}
            Some(Ok(entry)) => {
                check_entry(&entry);
                report.entries += 1;
                report.durability_checks += u64::from(shared.check_durable(entry.offset, changes));
            }
            Some(Err(e)) => allow_out_of_range(e),
        }
    }
}

fn read_reverse(shared: &Shared, report: &mut ReaderReport, final_round: bool) {
    read_newest(shared, report);
    let mut iter = shared.wal.iter_rev();
    let steps = if final_round {
        usize::MAX
    } else {
        MAX_ITER_STEPS
    };
    // (offset, generation, prev_crc) of the entry yielded before (the newer one).
    let mut newer: Option<(u64, u64, Option<u32>)> = None;
    for _ in 0..steps {
        let changes = shared.changes.load(SeqCst);
        let entry = match iter.next() {
            None => break,
            Some(Ok(entry)) => entry,
            Some(Err(e)) => {
                allow_out_of_range(e);
                break;
            }
        };
        let generation = check_entry(&entry);
        if let Some((newer_offset, newer_generation, newer_prev_crc)) = newer {
            assert!(
                entry.offset < newer_offset,
                "reverse iteration went forward"
            );
            // Neighbours of one generation were appended with no truncation in between.
            if entry.offset + 1 == newer_offset && generation == newer_generation {
                assert_eq!(newer_prev_crc, entry.crc, "chain broken at {newer_offset}");
            }
        }
        report.entries += 1;
        report.durability_checks += u64::from(shared.check_durable(entry.offset, changes));
        newer = Some((entry.offset, generation, entry.prev_crc));
    }
}

fn reader(shared: &Shared, kind: ReaderKind, seed: u64) -> ReaderReport {
    let mut rng = Rng::new(seed);
    let mut report = ReaderReport::default();
    let mut round = |final_round: bool, report: &mut ReaderReport| match kind {
        ReaderKind::Random => read_random(shared, &mut rng, report, final_round),
        ReaderKind::Forward => read_forward(shared, &mut rng, report, final_round),
        ReaderKind::Reverse => read_reverse(shared, report, final_round),
    };
    while !shared.final_round.load(SeqCst) {
        round(false, &mut report);
    }
    round(true, &mut report);
    report
}

/// What the writer believes the log holds: the payload and crc of every offset from 0
/// (entries before the log's first offset were trimmed, but are kept here).
#[derive(Debug, Default)]
struct Model {
    payloads: Vec<Vec<u8>>,
    crcs: Vec<u32>,
    truncations: u64,
    trims: u64,
}

impl Model {
    fn next(&self) -> u64 {
        self.payloads.len() as u64
    }

    fn append(&mut self, wal: &Wal, generation: u64) {
        let offset = self.next();
        let bytes = payload(offset, generation);
        let appended = wal.append(&bytes).unwrap();
        assert_eq!(appended.offset, offset);
        assert_eq!(appended.crc, Some(self.record(bytes)), "entry {offset}");
    }

    fn append_batch(&mut self, wal: &Wal, generation: u64, count: u64) {
        let first = self.next();
        let batch: Vec<Vec<u8>> = (first..first + count)
            .map(|o| payload(o, generation))
            .collect();
        let appended = wal.append_batch(&batch).unwrap();
        assert_eq!(
            (appended.first_offset, appended.last_offset),
            (first, first + count - 1)
        );
        let last_crc = batch.into_iter().map(|bytes| self.record(bytes)).last();
        assert_eq!(
            appended.last_crc,
            last_crc,
            "batch {first}..{}",
            first + count
        );
    }

    /// Records an appended payload and returns the crc it must have: the chain continues
    /// from the crc of the entry before (after a truncation, the kept entry's), or from
    /// the seed 0.
    fn record(&mut self, bytes: Vec<u8>) -> u32 {
        let seed = self.crcs.last().copied().unwrap_or(0);
        let crc = crc::chain(seed, &bytes);
        self.payloads.push(bytes);
        self.crcs.push(crc);
        crc
    }

    fn truncate(&mut self, shared: &Shared, cut: u64) {
        shared.changes.fetch_add(1, SeqCst);
        shared.wal.truncate_after(cut - 1).unwrap();
        shared.changes.fetch_add(1, SeqCst);
        let keep = usize::try_from(cut).unwrap();
        self.payloads.truncate(keep);
        self.crcs.truncate(keep);
        self.truncations += 1;
    }

    fn trim(&mut self, shared: &Shared, before: u64) {
        let first = shared.wal.first_offset();
        shared.changes.fetch_add(1, SeqCst);
        shared.wal.trim_before(before).unwrap();
        shared.changes.fetch_add(1, SeqCst);
        let now = shared.wal.first_offset();
        assert!(
            first <= now && now <= before.max(first),
            "trim moved first {first} to {now}"
        );
        self.trims += 1;
    }

    /// Checks that the log shows exactly the entries, from its first offset to the end,
    /// that the writer believes it holds, chained as it expects.
    fn check_log(&self, wal: &Wal) {
        let first = wal.first_offset();
        let entries: Vec<Entry> = wal.iter().map(|e| e.unwrap()).collect();
        let offsets: Vec<u64> = entries.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, (first..self.next()).collect::<Vec<_>>());
        for entry in &entries {
            let at = usize::try_from(entry.offset).unwrap();
            let crc_before = at
                .checked_sub(1)
                .map_or(Some(0), |b| self.crcs.get(b).copied());
            assert_eq!(
                Some(&entry.payload),
                self.payloads.get(at),
                "entry {}",
                entry.offset
            );
            assert_eq!(entry.prev_crc, crc_before, "entry {}", entry.offset);
            assert_eq!(
                entry.crc,
                self.crcs.get(at).copied(),
                "entry {}",
                entry.offset
            );
        }
        assert_eq!(wal.next_offset(), self.next());
        assert_eq!(wal.last_crc(), self.crcs.last().copied());
    }
}

fn writer(shared: &Shared, seed: u64) -> Model {
    let wal = &shared.wal;
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    let mut generation = 0;
    let deadline = Instant::now() + RUN_FOR;
    let mut steps = 0;
    while steps < MIN_WRITER_STEPS || Instant::now() < deadline {
        steps += 1;
        let next = model.next();
        let first = wal.first_offset();
        match rng.below(100) {
            0..=2 if next > first => {
                // Drop the last 1..=30 entries (all of them, down to `first`, at most).
                let cut = next - rng.between(1, (next - first).min(30));
                if cut > 0 {
                    model.truncate(shared, cut);
                    generation += 1;
                }
            }
            3..=4 => {
                let before = next.saturating_sub(rng.below(150)).max(first);
                model.trim(shared, before);
            }
            5 => wal.sync().unwrap(),
            6..=15 => model.append_batch(wal, generation, rng.between(1, 4)),
            _ => model.append(wal, generation),
        }
        shared.next_hint.store(model.next(), SeqCst);
    }
    model.append_batch(wal, generation, FINAL_ENTRIES);
    shared.next_hint.store(model.next(), SeqCst);
    model
}

fn run(sync_policy: SyncPolicy, read_visibility: ReadVisibility, seed: u64) {
    let dir = wal_testkit::tempdir();
    let options = WalOptions::default()
        .with_segment_bytes(SEGMENT_BYTES)
        .with_sync_policy(sync_policy)
        .with_read_visibility(read_visibility);
    let shared = Arc::new(Shared {
        wal: Wal::open(dir.path(), options.clone()).unwrap(),
        synced_visibility: read_visibility == ReadVisibility::Synced,
        changes: AtomicU64::new(0),
        next_hint: AtomicU64::new(0),
        final_round: AtomicBool::new(false),
    });
    let readers: Vec<_> = [ReaderKind::Random, ReaderKind::Forward, ReaderKind::Reverse]
        .into_iter()
        .zip(1..)
        .map(|(kind, n)| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || reader(&shared, kind, seed + n))
        })
        .collect();
    let writer_shared = Arc::clone(&shared);
    let written = thread::spawn(move || writer(&writer_shared, seed)).join();
    // Whatever happened to the writer, let the readers finish before reporting it.
    let synced = shared.wal.sync();
    shared.final_round.store(true, SeqCst);
    let reports: Vec<ReaderReport> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let model = written.unwrap();
    synced.unwrap();

    // The writer's first steps are the same on every run: they truncated, trimmed and
    // rotated.
    assert!(model.truncations > 0 && model.trims > 0, "{model:?}");
    let stats = shared.wal.stats();
    assert!(stats.rotations > 0, "{stats:?}");
    for report in &reports {
        // The final round reads the whole log, which ends with FINAL_ENTRIES synced
        // entries, with nothing changing meanwhile.
        assert!(report.entries >= FINAL_ENTRIES, "{report:?}");
        if read_visibility == ReadVisibility::Synced {
            assert!(report.durability_checks >= FINAL_ENTRIES, "{report:?}");
        }
    }

    let wal = Arc::into_inner(shared).unwrap().wal;
    let first = wal.first_offset();
    model.check_log(&wal);
    assert_eq!(wal.last_synced_offset(), Some(model.next() - 1));
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), options).unwrap();
    assert_eq!(wal.first_offset(), first);
    model.check_log(&wal);
    let appended = wal.append(b"after reopening").unwrap();
    assert_eq!(appended.offset, model.next());
    wal.sync().unwrap();
    assert_eq!(
        wal.read(appended.offset).unwrap().prev_crc,
        model.crcs.last().copied()
    );
    wal.close().unwrap();
}

#[test]
fn readers_see_only_whole_entries_with_appended_visibility() {
    run(SyncPolicy::Manual, ReadVisibility::Appended, 0x5EED_0001);
}

#[test]
fn readers_see_only_durable_entries_with_synced_visibility() {
    run(
        SyncPolicy::Interval(Duration::from_millis(5)),
        ReadVisibility::Synced,
        0x5EED_0002,
    );
}
