//! A WAL directory built from the input (a valid log written by the store, then edited,
//! plus files named from a small alphabet), recovered in every mode: `verify` changes
//! nothing, a refusal changes nothing, a recovered log is whole and stays clean.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wal_testkit::scratch::Reaped as Scratch;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let dir = Scratch::new();
    let setup = wal_fuzz::damaged_dir::build(&mut u, dir.path());
    wal_fuzz::recover::check(dir.path(), &setup);
});
