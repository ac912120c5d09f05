//! A v1 index (`.idx`): parse, compare with the model, re-encode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wal_format::Codec;

fuzz_target!(|data: &[u8]| {
    wal_fuzz::index::check_index(Codec::V1, data);
});
