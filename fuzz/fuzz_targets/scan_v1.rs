//! A v1 segment (`.txn`): scan, decode at offsets from the input, resume.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wal_format::Codec;

fuzz_target!(|data: &[u8]| {
    wal_fuzz::scan::check_segment(Codec::V1, data);
});
