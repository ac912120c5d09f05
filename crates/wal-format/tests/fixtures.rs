//! Golden segment and index files (tests/fixtures/, described in its README.md).
//!
//! For each fixture: (i) it is rebuilt from its recipe with the library's encoder and must
//! equal the checked-in file byte for byte, so the codec can never drift from files that
//! already exist; (ii) the checked-in file is scanned or parsed and must give exactly the
//! outcome written here (records, crcs, end, problem with its offsets and values).
//!
//! A missing fixture is created only when `WAL_FORMAT_WRITE_MISSING_FIXTURES=1` is set; a
//! fixture that exists is never overwritten: if it differs from its recipe, the test fails.

// As clippy.toml allows inside `#[test]` functions, for the helpers too: a panic in a test
// crate is a failed test, not a crash in a user's process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::{Scanned, encode_index, encode_segment, oracle_chain, scan};
use wal_format::{Codec, FileOffset, FormatError, IndexView, ScanEnd, Scanner};

const WRITE_MISSING_VAR: &str = "WAL_FORMAT_WRITE_MISSING_FIXTURES";

/// Serialises fixture checks so that two tests never create the same missing file at once.
static FIXTURE_LOCK: Mutex<()> = Mutex::new(());

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Checks the checked-in fixture `name` against `recipe` and returns the file's bytes as
/// read from disk. A missing file is created from the recipe only if the environment
/// variable asks for it; an existing file is never written.
fn checked_fixture(name: &str, recipe: &[u8]) -> Vec<u8> {
    let _serial = FIXTURE_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = fixtures_dir().join(name);
    let on_disk = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            assert!(
                std::env::var(WRITE_MISSING_VAR).as_deref() == Ok("1"),
                "fixture {name} is missing; run the tests once with {WRITE_MISSING_VAR}=1 to \
                 create it from its recipe, then review and commit it"
            );
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            // `create_new`: never replace a file, even one that appeared meanwhile.
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .unwrap();
            file.write_all(recipe).unwrap();
            file.sync_all().unwrap();
            fs::read(&path).unwrap()
        }
        Err(e) => panic!("cannot read fixture {name}: {e}"),
    };
    let first_difference = on_disk
        .iter()
        .zip(recipe)
        .position(|(a, b)| a != b)
        .or((on_disk.len() != recipe.len()).then_some(on_disk.len().min(recipe.len())));
    assert!(
        first_difference.is_none(),
        "fixture {name} ({} bytes) differs from its recipe ({} bytes) from byte {:?} on. \
         Fixtures are files in the wild: fix the codec (or the recipe), never regenerate a \
         fixture to make this pass",
        on_disk.len(),
        recipe.len(),
        first_difference,
    );
    on_disk
}

// ---------------------------------------------------------------------------------------
// Recipes. README.md describes each one in words; keep the two in step.

const FOX: &[u8] = b"the quick brown fox jumps over the lazy dog";

/// 100 bytes: 11, 48, 85, ... (i * 37 + 11 mod 256).
fn pattern_100() -> Vec<u8> {
    (0u8..100)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect()
}

/// The payloads of the clean segments: sizes 1, 10, 43, 100 and 3.
fn clean_payloads() -> Vec<Vec<u8>> {
    vec![
        b"a".to_vec(),
        b"hello, wal".to_vec(),
        FOX.to_vec(),
        pattern_100(),
        vec![0x00, 0xFF, 0x00],
    ]
}

const CLEAN_SEGMENT_BYTES: usize = 256;

fn v1_clean_txn() -> Vec<u8> {
    encode_segment(Codec::V1, 0, &clean_payloads(), CLEAN_SEGMENT_BYTES).bytes
}

fn v1_clean_idx() -> Vec<u8> {
    let seg = encode_segment(Codec::V1, 0, &clean_payloads(), CLEAN_SEGMENT_BYTES);
    encode_index(Codec::V1, &seg.offsets())
}

fn v2_clean_txnx() -> Vec<u8> {
    encode_segment(Codec::V2, 0, &clean_payloads(), CLEAN_SEGMENT_BYTES).bytes
}

fn v2_clean_idxx() -> Vec<u8> {
    let seg = encode_segment(Codec::V2, 0, &clean_payloads(), CLEAN_SEGMENT_BYTES);
    encode_index(Codec::V2, &seg.offsets())
}

fn v2_vectors_txnx() -> Vec<u8> {
    encode_segment(Codec::V2, 0, &[[0x00u8], [0x01], [0x02]], 39).bytes
}

/// The crc of entry 999, as a follower installing a snapshot at entry 1000 is given it.
const MID_STREAM_SEED: u32 = 0xDEAD_BEEF;
const MID_STREAM_BASE_OFFSET: u64 = 1000;

fn mid_stream_payloads() -> [&'static [u8]; 3] {
    [b"entry 1000", b"entry 1001", b"entry 1002"]
}

fn v2_mid_stream_txnx() -> Vec<u8> {
    encode_segment(Codec::V2, MID_STREAM_SEED, &mid_stream_payloads(), 96).bytes
}

fn v2_mid_stream_idxx() -> Vec<u8> {
    let seg = encode_segment(Codec::V2, MID_STREAM_SEED, &mid_stream_payloads(), 96);
    encode_index(Codec::V2, &seg.offsets())
}

/// The base the damaged fixtures are made from: records at file offsets 0, 17 and 42,
/// end marker at 59, 96 bytes in all (v2); records at 0, 9 and 26, end marker at 35, 64
/// bytes in all (v1).
fn damage_base_payloads() -> [&'static [u8]; 3] {
    [b"first", b"second record", b"third"]
}

fn v2_damage_base() -> Vec<u8> {
    encode_segment(Codec::V2, 0, &damage_base_payloads(), 96).bytes
}

/// The file ends 2 bytes into the third record's payload.
fn v2_torn_tail_txnx() -> Vec<u8> {
    let mut bytes = v2_damage_base();
    bytes.truncate(42 + 12 + 2);
    bytes
}

/// The preallocated file keeps its length, but only the third record's header and the
/// first 2 payload bytes reached the disk: the rest of its payload is zero.
fn v2_torn_tail_preallocated_txnx() -> Vec<u8> {
    let mut bytes = v2_damage_base();
    bytes[42 + 12 + 2..59].fill(0);
    bytes
}

/// Bit 5 of the first payload byte of the middle record: "second" -> "Second".
fn v2_crc_mismatch_txnx() -> Vec<u8> {
    let mut bytes = v2_damage_base();
    bytes[17 + 12] ^= 0x20;
    bytes
}

/// The middle record is replaced by the same payload chained from another history: a
/// self-consistent record whose previous crc is 0x0BADC0DE.
fn v2_chain_break_txnx() -> Vec<u8> {
    let mut bytes = v2_damage_base();
    let encoded = Codec::V2
        .encode_record(&mut bytes[17..42], 0x0BAD_C0DE, b"second record")
        .unwrap();
    assert_eq!(encoded.len, 25);
    bytes
}

/// Bytes 17..29 (the middle record's whole header) are zero, as after a lost page.
fn v2_lost_page_txnx() -> Vec<u8> {
    let mut bytes = v2_damage_base();
    bytes[17..29].fill(0);
    bytes
}

/// The index of the damage base (offsets 0, 17, 42) with bit 0 of its crc's last byte
/// flipped.
fn v2_bad_index_idxx() -> Vec<u8> {
    let offsets = [FileOffset(0), FileOffset(17), FileOffset(42)];
    let mut bytes = encode_index(Codec::V2, &offsets);
    bytes[3] ^= 0x01;
    bytes
}

/// The v1 damage base with bit 0 of byte 2 of the third record's size flipped: 5 -> 261,
/// which runs past the end of the 64-byte file.
fn v1_out_of_bounds_txn() -> Vec<u8> {
    let mut bytes = encode_segment(Codec::V1, 0, &damage_base_payloads(), 64).bytes;
    bytes[26 + 2] ^= 0x01;
    bytes
}

/// Every fixture file and its recipe.
fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("v1-clean/0.txn", v1_clean_txn()),
        ("v1-clean/0.idx", v1_clean_idx()),
        ("v2-clean/0.txnx", v2_clean_txnx()),
        ("v2-clean/0.idxx", v2_clean_idxx()),
        ("v2-vectors.txnx", v2_vectors_txnx()),
        ("v2-mid-stream/1000.txnx", v2_mid_stream_txnx()),
        ("v2-mid-stream/1000.idxx", v2_mid_stream_idxx()),
        ("v2-torn-tail.txnx", v2_torn_tail_txnx()),
        (
            "v2-torn-tail-preallocated.txnx",
            v2_torn_tail_preallocated_txnx(),
        ),
        ("v2-crc-mismatch.txnx", v2_crc_mismatch_txnx()),
        ("v2-chain-break.txnx", v2_chain_break_txnx()),
        ("v2-lost-page.txnx", v2_lost_page_txnx()),
        ("v2-bad-index.idxx", v2_bad_index_idxx()),
        ("v1-out-of-bounds.txn", v1_out_of_bounds_txn()),
    ]
}

/// The checked fixture `name`, by its entry in [`fixtures`].
fn fixture(name: &str) -> Vec<u8> {
    let (_, recipe) = fixtures()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is not in fixtures()"));
    checked_fixture(name, &recipe)
}

#[test]
fn every_fixture_file_equals_its_recipe() {
    for (name, recipe) in fixtures() {
        checked_fixture(name, &recipe);
    }
}

#[test]
fn the_fixtures_directory_holds_only_known_files() {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                let relative = path.strip_prefix(base).unwrap();
                out.insert(relative.to_str().unwrap().replace('\\', "/"));
            }
        }
    }
    // Make sure every fixture exists first (or is created, when asked to).
    every_fixture_file_equals_its_recipe();
    let dir = fixtures_dir();
    let mut found = BTreeSet::new();
    walk(&dir, &dir, &mut found);
    let mut known: BTreeSet<String> = fixtures().into_iter().map(|(n, _)| n.to_owned()).collect();
    known.insert("README.md".to_owned());
    known.insert(".gitattributes".to_owned());
    assert_eq!(
        found, known,
        "every file under tests/fixtures needs a recipe and a README entry"
    );
}

// ---------------------------------------------------------------------------------------
// What each checked-in file scans or parses to.

fn payloads(records: &[Scanned]) -> Vec<&[u8]> {
    records.iter().map(|r| &r.payload[..]).collect()
}

fn offsets(raw: &[u32]) -> Vec<FileOffset> {
    raw.iter().copied().map(FileOffset).collect()
}

fn v2_record(index: u32, file_offset: u32, prev_crc: u32, crc: u32, payload: &[u8]) -> Scanned {
    Scanned {
        index,
        file_offset,
        prev_crc: Some(prev_crc),
        crc: Some(crc),
        payload: payload.to_vec(),
    }
}

/// The v2 damage base's good records, as a scan returns them.
fn damage_base_record(index: usize) -> Scanned {
    let (file_offset, prev_crc, crc) = [
        (0, 0, 0xE523_FF55),
        (17, 0xE523_FF55, 0x63E5_C584),
        (42, 0x63E5_C584, 0x131E_DF55),
    ][index];
    Scanned {
        index: u32::try_from(index).unwrap(),
        file_offset,
        prev_crc: Some(prev_crc),
        crc: Some(crc),
        payload: damage_base_payloads()[index].to_vec(),
    }
}

#[test]
fn v1_clean_segment_and_index_scan_to_their_records() {
    let bytes = fixture("v1-clean/0.txn");
    assert_eq!(bytes.len(), 256);
    let (records, summary) = scan(Codec::V1, &bytes, None);
    assert_eq!(payloads(&records), clean_payloads());
    let found: Vec<(u32, u32, Option<u32>, Option<u32>)> = records
        .iter()
        .map(|r| (r.index, r.file_offset, r.prev_crc, r.crc))
        .collect();
    assert_eq!(
        found,
        [
            (0, 0, None, None),
            (1, 5, None, None),
            (2, 19, None, None),
            (3, 66, None, None),
            (4, 170, None, None),
        ]
    );
    assert_eq!(summary.records, 5);
    assert_eq!(summary.valid_len, FileOffset(177));
    assert_eq!(summary.last_crc, None);
    assert_eq!(
        summary.end,
        ScanEnd::EndMarker {
            file_offset: FileOffset(177)
        }
    );

    let index = fixture("v1-clean/0.idx");
    assert_eq!(
        index,
        [
            0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 19, 0, 0, 0, 66, 0, 0, 0, 170
        ]
    );
    let view = IndexView::parse(Codec::V1, &index).unwrap();
    assert_eq!(
        view.iter().collect::<Vec<_>>(),
        offsets(&[0, 5, 19, 66, 170])
    );
    // Resuming at an index entry reads the same record as a full scan.
    let mut resumed = Scanner::new(Codec::V1, &bytes).resume_at(view.get(3).unwrap(), 3);
    assert_eq!(resumed.next().map(|r| r.payload), Some(&pattern_100()[..]));
}

#[test]
fn v2_clean_segment_and_index_scan_to_their_chained_records() {
    let bytes = fixture("v2-clean/0.txnx");
    assert_eq!(bytes.len(), 256);
    let (records, summary) = scan(Codec::V2, &bytes, Some(0));
    assert_eq!(payloads(&records), clean_payloads());
    let found: Vec<(u32, u32, Option<u32>, Option<u32>)> = records
        .iter()
        .map(|r| (r.index, r.file_offset, r.prev_crc, r.crc))
        .collect();
    assert_eq!(
        found,
        [
            (0, 0, Some(0), Some(0x28E4_6E78)),
            (1, 13, Some(0x28E4_6E78), Some(0x0EB3_E8DB)),
            (2, 35, Some(0x0EB3_E8DB), Some(0x708F_CE14)),
            (3, 90, Some(0x708F_CE14), Some(0xB5E2_6C24)),
            (4, 202, Some(0xB5E2_6C24), Some(0xB21E_C501)),
        ]
    );
    for r in &records {
        assert_eq!(r.crc, Some(oracle_chain(r.prev_crc.unwrap(), &r.payload)));
    }
    assert_eq!(summary.records, 5);
    assert_eq!(summary.valid_len, FileOffset(217));
    assert_eq!(summary.last_crc, Some(0xB21E_C501));
    assert_eq!(
        summary.end,
        ScanEnd::EndMarker {
            file_offset: FileOffset(217)
        }
    );

    let index = fixture("v2-clean/0.idxx");
    assert_eq!(
        index,
        [
            0x24, 0x16, 0x20, 0x5F, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0, 0, 35, 0, 0, 0, 90, 0, 0, 0, 202
        ]
    );
    assert_eq!(oracle_chain(0, &index[4..]), 0x2416_205F);
    let view = IndexView::parse(Codec::V2, &index).unwrap();
    assert_eq!(
        view.iter().collect::<Vec<_>>(),
        offsets(&[0, 13, 35, 90, 202])
    );
}

#[test]
fn v2_vectors_match_the_published_bytes_and_crcs() {
    let bytes = fixture("v2-vectors.txnx");
    // Written out from the format facts, independently of the encoder.
    #[rustfmt::skip]
    let published: [u8; 39] = [
        0x00, 0x00, 0x00, 0x01,  0x00, 0x00, 0x00, 0x00,  0x49, 0x25, 0x8f, 0xd2,  0x00,
        0x00, 0x00, 0x00, 0x01,  0x49, 0x25, 0x8f, 0xd2,  0x6b, 0x86, 0x10, 0x46,  0x01,
        0x00, 0x00, 0x00, 0x01,  0x6b, 0x86, 0x10, 0x46,  0x62, 0x48, 0x94, 0xc6,  0x02,
    ];
    assert_eq!(bytes, published);
    let (records, summary) = scan(Codec::V2, &bytes, Some(0));
    assert_eq!(
        records,
        [
            v2_record(0, 0, 0, 0x4925_8fd2, &[0x00]),
            v2_record(1, 13, 0x4925_8fd2, 0x6b86_1046, &[0x01]),
            v2_record(2, 26, 0x6b86_1046, 0x6248_94c6, &[0x02]),
        ]
    );
    assert_eq!(summary.last_crc, Some(0x6248_94c6));
    assert_eq!(
        summary.end,
        ScanEnd::EndOfInput {
            file_offset: FileOffset(39)
        }
    );
}

#[test]
fn v2_segment_starting_mid_stream_continues_the_chain_from_its_seed() {
    let name = "v2-mid-stream/1000.txnx";
    let bytes = fixture(name);
    let stem = Path::new(name).file_stem().unwrap().to_str().unwrap();
    let base_offset: u64 = stem.parse().unwrap();
    assert_eq!(base_offset, MID_STREAM_BASE_OFFSET);

    let (records, summary) = scan(Codec::V2, &bytes, Some(MID_STREAM_SEED));
    assert_eq!(
        records,
        [
            v2_record(0, 0, 0xDEAD_BEEF, 0x00FB_0D91, b"entry 1000"),
            v2_record(1, 22, 0x00FB_0D91, 0xE170_27D0, b"entry 1001"),
            v2_record(2, 44, 0xE170_27D0, 0xE026_51D7, b"entry 1002"),
        ]
    );
    // The entry offset is the base offset (from the file name) plus the position.
    let entry_offsets: Vec<u64> = records
        .iter()
        .map(|r| base_offset + u64::from(r.index))
        .collect();
    assert_eq!(entry_offsets, [1000, 1001, 1002]);
    for r in &records {
        assert_eq!(
            r.payload,
            format!("entry {}", base_offset + u64::from(r.index)).as_bytes()
        );
    }
    assert_eq!(summary.last_crc, Some(0xE026_51D7));
    assert_eq!(
        summary.end,
        ScanEnd::EndMarker {
            file_offset: FileOffset(66)
        }
    );

    // Scanned as if it started a new log (seed 0), its first link is broken.
    let (records, summary) = scan(Codec::V2, &bytes, Some(0));
    assert!(records.is_empty());
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::ChainBreak {
            file_offset: FileOffset(0),
            expected: 0,
            actual: MID_STREAM_SEED
        })
    );
    assert_eq!(summary.last_crc, Some(0));

    let index = fixture("v2-mid-stream/1000.idxx");
    let view = IndexView::parse(Codec::V2, &index).unwrap();
    assert_eq!(view.iter().collect::<Vec<_>>(), offsets(&[0, 22, 44]));
}

#[test]
fn v2_torn_tail_scans_to_the_records_before_the_tear() {
    let bytes = fixture("v2-torn-tail.txnx");
    assert_eq!(bytes.len(), 56);
    let (records, summary) = scan(Codec::V2, &bytes, Some(0));
    assert_eq!(records, [damage_base_record(0), damage_base_record(1)]);
    assert_eq!(summary.valid_len, FileOffset(42));
    assert_eq!(summary.last_crc, Some(0x63E5_C584));
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::OutOfBounds {
            file_offset: FileOffset(42),
            needed: 17,
            available: 14
        })
    );
}

#[test]
fn v2_torn_tail_in_a_preallocated_file_is_a_crc_mismatch() {
    let bytes = fixture("v2-torn-tail-preallocated.txnx");
    assert_eq!(bytes.len(), 96);
    let (records, summary) = scan(Codec::V2, &bytes, Some(0));
    assert_eq!(records, [damage_base_record(0), damage_base_record(1)]);
    assert_eq!(summary.valid_len, FileOffset(42));
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::ChecksumMismatch {
            file_offset: FileOffset(42),
            expected: 0xC0E1_E977,
            actual: 0x131E_DF55
        })
    );
    assert_eq!(oracle_chain(0x63E5_C584, b"th\0\0\0"), 0xC0E1_E977);
}

#[test]
fn v2_flipped_payload_bit_is_a_crc_mismatch_at_its_record() {
    let bytes = fixture("v2-crc-mismatch.txnx");
    let (records, summary) = scan(Codec::V2, &bytes, Some(0));
    assert_eq!(records, [damage_base_record(0)]);
    assert_eq!(summary.valid_len, FileOffset(17));
    assert_eq!(summary.last_crc, Some(0xE523_FF55));
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::ChecksumMismatch {
            file_offset: FileOffset(17),
            expected: 0x56F1_C1C8,
            actual: 0x63E5_C584
        })
    );
    assert_eq!(oracle_chain(0xE523_FF55, b"Second record"), 0x56F1_C1C8);
}

#[test]
fn v2_record_from_another_chain_is_a_chain_break() {
    let bytes = fixture("v2-chain-break.txnx");
    // The record itself is sound: only its link to the record before is wrong.
    match Codec::V2.decode_record(&bytes, FileOffset(17)).unwrap() {
        wal_format::Decoded::Record { record, next } => {
            assert_eq!(record.prev_crc, Some(0x0BAD_C0DE));
            assert_eq!(record.crc, Some(0x11ED_064E));
            assert_eq!(record.payload, b"second record");
            assert_eq!(next, FileOffset(42));
        }
        other => panic!("expected a record, found {other:?}"),
    }
    let expected_end = ScanEnd::Problem(FormatError::ChainBreak {
        file_offset: FileOffset(17),
        expected: 0xE523_FF55,
        actual: 0x0BAD_C0DE,
    });
    for seed in [Some(0), None] {
        // Links between records are checked whether or not the scan was given a seed.
        let (records, summary) = scan(Codec::V2, &bytes, seed);
        assert_eq!(records, [damage_base_record(0)]);
        assert_eq!(summary.valid_len, FileOffset(17));
        assert_eq!(summary.end, expected_end);
    }
}

#[test]
fn v2_lost_page_is_reported_as_non_zero_bytes_after_the_end() {
    let bytes = fixture("v2-lost-page.txnx");
    let (records, summary) = scan(Codec::V2, &bytes, Some(0));
    assert_eq!(records, [damage_base_record(0)]);
    assert_eq!(summary.valid_len, FileOffset(17));
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::NonZeroAfterEnd {
            end_file_offset: FileOffset(17),
            file_offset: FileOffset(29)
        })
    );
    // Without the zero-tail check the lost page silently ends the log, as in the
    // reference implementation: the two records after it are gone without a word.
    let relaxed = Scanner::new(Codec::V2, &bytes)
        .with_seed(0)
        .check_zero_tail(false)
        .finish();
    assert_eq!(relaxed.records, 1);
    assert_eq!(
        relaxed.end,
        ScanEnd::EndMarker {
            file_offset: FileOffset(17)
        }
    );
}

#[test]
fn v2_index_with_a_wrong_crc_is_rejected() {
    let bytes = fixture("v2-bad-index.idxx");
    assert_eq!(
        bytes,
        [0xDE, 0x0C, 0x98, 0xF1, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 42]
    );
    assert_eq!(
        IndexView::parse(Codec::V2, &bytes),
        Err(FormatError::IndexChecksumMismatch {
            expected: 0xDE0C_98F0,
            actual: 0xDE0C_98F1
        })
    );
    assert_eq!(oracle_chain(0, &bytes[4..]), 0xDE0C_98F0);
    // The same offsets without a crc are a valid v1 index: only v2 can tell.
    let v1 = IndexView::parse(Codec::V1, &bytes[4..]).unwrap();
    assert_eq!(v1.iter().collect::<Vec<_>>(), offsets(&[0, 17, 42]));
}

#[test]
fn v1_size_running_past_the_end_is_out_of_bounds() {
    let bytes = fixture("v1-out-of-bounds.txn");
    assert_eq!(bytes.len(), 64);
    let (records, summary) = scan(Codec::V1, &bytes, None);
    assert_eq!(payloads(&records), [&b"first"[..], b"second record"]);
    assert_eq!(summary.valid_len, FileOffset(26));
    assert_eq!(summary.last_crc, None);
    assert_eq!(
        summary.end,
        ScanEnd::Problem(FormatError::OutOfBounds {
            file_offset: FileOffset(26),
            needed: 265,
            available: 38
        })
    );
}
