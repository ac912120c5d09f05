//! A v2 segment (`.txnx`): scan without and with seeds, decode at offsets from the input,
//! resume; then the same on a copy whose crcs and links are repaired.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wal_format::Codec;

fuzz_target!(|data: &[u8]| {
    wal_fuzz::scan::check_segment(Codec::V2, data);
    wal_fuzz::scan::check_segment(Codec::V2, &wal_fuzz::repair::v2_segment(data));
});
