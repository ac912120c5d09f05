//! Operations on a log with tiny segments (append, batches, sync, truncate, trim, clear,
//! cursor, reopen through recovery or the store, reads and iterators, some held across a
//! change), each checked exactly against an in-memory model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wal_fuzz::api::run(data);
});
