//! The caller's metadata blob (`Wal::write_meta`, `Wal::meta`): a round trip through the
//! `META` file, the size limit, independence from the entries, and damage reported as an
//! error while the log itself still opens.

use std::fs;

use wal_store::{META_FILE_NAME, META_MAX_BYTES, StoreError, Wal, WalOptions};
use wal_testkit::damage::{set_len, xor_byte};
use wal_testkit::tempdir;

#[test]
fn a_blob_is_written_read_overwritten_and_kept_across_a_reopen() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.meta().unwrap(), None, "no blob before the first write");
    assert!(!dir.path().join(META_FILE_NAME).exists());

    wal.write_meta(b"term=3;vote=2").unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"term=3;vote=2"[..]));
    wal.write_meta(b"term=4").unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"term=4"[..]));
    wal.close().unwrap();

    // After a clean close and after a drop without one.
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"term=4"[..]));
    wal.write_meta(b"term=5").unwrap();
    drop(wal);
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"term=5"[..]));
    // No temporary file is left behind.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn an_empty_blob_is_a_blob_and_the_largest_one_fits() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    wal.write_meta(b"").unwrap();
    assert_eq!(wal.meta().unwrap(), Some(Vec::new()), "empty, not absent");

    let largest: Vec<u8> = (0..META_MAX_BYTES)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    wal.write_meta(&largest).unwrap();
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.meta().unwrap(), Some(largest.clone()));

    // One byte more is refused, and the blob on disk stays as it was.
    let refused = wal.write_meta(&vec![1; META_MAX_BYTES + 1]);
    assert!(
        matches!(refused, Err(StoreError::MetaTooLarge { size, max })
            if size == META_MAX_BYTES + 1 && max == META_MAX_BYTES),
        "{refused:?}"
    );
    assert_eq!(wal.meta().unwrap(), Some(largest));
}

#[test]
fn truncating_trimming_and_clearing_leave_the_blob_alone() {
    let dir = tempdir();
    let options = WalOptions::default().with_segment_bytes(wal_store::MIN_SEGMENT_BYTES * 64);
    let wal = Wal::open(dir.path(), options.clone()).unwrap();
    wal.write_meta(b"kept").unwrap();
    for i in 0..200u32 {
        wal.append(&[u8::try_from(i % 200).unwrap() + 1; 100])
            .unwrap();
    }
    assert!(wal.stats().segments > 2);
    wal.truncate_after(150).unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"kept"[..]));
    assert!(wal.trim_before(100).unwrap() > 0);
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"kept"[..]));
    wal.clear().unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"kept"[..]));
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), options).unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"kept"[..]));
}

#[test]
fn a_damaged_blob_is_an_error_never_a_blob_and_the_log_still_opens() {
    let dir = tempdir();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    wal.append(b"entry").unwrap();
    wal.write_meta(b"commit=17").unwrap();
    wal.close().unwrap();
    let path = dir.path().join(META_FILE_NAME);
    let len = fs::metadata(&path).unwrap().len();

    // Every byte flipped in turn: an error each time, and the log opens and reads.
    for at in 0..usize::try_from(len).unwrap() {
        xor_byte(&path, at, 0x10);
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        let read = wal.meta();
        assert!(
            matches!(&read, Err(StoreError::MetaCorrupt { path: p, .. }) if *p == path),
            "byte {at}: {read:?}"
        );
        assert_eq!(wal.read(0).unwrap().payload, b"entry");
        drop(wal);
        xor_byte(&path, at, 0x10);
    }
    // Cut short, and grown past anything a blob makes.
    for cut in [0, 3, 15, len - 1] {
        let bytes = fs::read(&path).unwrap();
        set_len(&path, cut);
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        assert!(
            matches!(wal.meta(), Err(StoreError::MetaCorrupt { .. })),
            "{cut} bytes"
        );
        drop(wal);
        fs::write(&path, &bytes).unwrap();
    }
    set_len(&path, (META_MAX_BYTES + 100) as u64);
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert!(matches!(wal.meta(), Err(StoreError::MetaCorrupt { .. })));
    // A new blob replaces the damaged file.
    wal.write_meta(b"again").unwrap();
    assert_eq!(wal.meta().unwrap().as_deref(), Some(&b"again"[..]));
}
