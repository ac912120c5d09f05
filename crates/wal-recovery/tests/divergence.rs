//! Finding where a replica parted from its leader, through the chained crcs.

// Helpers outside #[test] functions panic on failure too: in a test, a panic is a failed
// test, not a crash in a user's process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use wal_format::Codec;
use wal_recovery::{Divergence, compare};
use wal_store::{Wal, WalOptions};

fn write(dir: &Path, codec: Codec, payloads: impl IntoIterator<Item = Vec<u8>>) -> Wal {
    let wal = Wal::open(
        dir,
        WalOptions::default()
            .with_segment_bytes(300)
            .with_codec(codec),
    )
    .unwrap();
    for p in payloads {
        wal.append(&p).unwrap();
    }
    wal
}

fn payload(o: u64) -> Vec<u8> {
    wal_testkit::payload::labelled(o, 0)
}

#[test]
fn identical_logs_are_identical() {
    for codec in [Codec::V2, Codec::V1] {
        let (a, b) = (wal_testkit::tempdir(), wal_testkit::tempdir());
        write(a.path(), codec, (0..100).map(payload))
            .close()
            .unwrap();
        write(b.path(), codec, (0..100).map(payload))
            .close()
            .unwrap();
        assert_eq!(
            compare(a.path(), b.path()).unwrap(),
            Divergence {
                identical: true,
                first_divergent_offset: None,
                common_last_offset: Some(99)
            }
        );
    }
}

#[test]
fn a_rewritten_suffix_is_found_at_its_first_entry() {
    for codec in [Codec::V2, Codec::V1] {
        for diverge_at in [0u64, 1, 13, 57, 99] {
            let (a, b) = (wal_testkit::tempdir(), wal_testkit::tempdir());
            write(a.path(), codec, (0..100).map(payload))
                .close()
                .unwrap();
            let replica = write(b.path(), codec, (0..100).map(payload));
            if diverge_at == 0 {
                replica.clear().unwrap();
                replica.close().unwrap();
                // A log rewritten from scratch: same offsets, other entries.
                std::fs::remove_dir_all(b.path()).unwrap();
                write(
                    b.path(),
                    codec,
                    (0..100).map(|o| format!("other {o}").into_bytes()),
                )
                .close()
                .unwrap();
            } else {
                replica.truncate_after(diverge_at - 1).unwrap();
                for o in diverge_at..100 {
                    replica.append(format!("other {o}").as_bytes()).unwrap();
                }
                replica.close().unwrap();
            }
            let found = compare(a.path(), b.path()).unwrap();
            assert_eq!(
                found,
                Divergence {
                    identical: false,
                    first_divergent_offset: Some(diverge_at),
                    common_last_offset: diverge_at.checked_sub(1),
                },
                "{codec} at {diverge_at}"
            );
            assert_eq!(compare(b.path(), a.path()).unwrap(), found);
        }
    }
}

#[test]
fn a_shorter_replica_diverges_where_it_ends() {
    let (a, b) = (wal_testkit::tempdir(), wal_testkit::tempdir());
    write(a.path(), Codec::V2, (0..100).map(payload))
        .close()
        .unwrap();
    write(b.path(), Codec::V2, (0..80).map(payload))
        .close()
        .unwrap();
    assert_eq!(
        compare(a.path(), b.path()).unwrap(),
        Divergence {
            identical: false,
            first_divergent_offset: Some(80),
            common_last_offset: Some(79)
        }
    );
}

#[test]
fn empty_logs() {
    let (a, b) = (wal_testkit::tempdir(), wal_testkit::tempdir());
    write(a.path(), Codec::V2, []).close().unwrap();
    write(b.path(), Codec::V2, []).close().unwrap();
    let found = compare(a.path(), b.path()).unwrap();
    assert!(found.identical);
    assert_eq!(found.common_last_offset, None);
    write(b.path(), Codec::V2, [payload(0)]).close().unwrap();
    let found = compare(a.path(), b.path()).unwrap();
    assert_eq!(found.first_divergent_offset, Some(0));
    assert!(!found.identical);
}
