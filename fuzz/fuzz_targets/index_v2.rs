//! A v2 index (`.idxx`): parse, compare with the model, re-encode; then the same with the
//! index crc repaired, so that the order checks are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wal_format::Codec;

fuzz_target!(|data: &[u8]| {
    wal_fuzz::index::check_index(Codec::V2, data);
    if let Some(repaired) = wal_fuzz::repair::v2_index(data) {
        wal_fuzz::index::check_index(Codec::V2, &repaired);
    }
});
