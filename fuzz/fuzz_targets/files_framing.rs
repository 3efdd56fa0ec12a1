//! The framed output of the file collector script (files.sh) as the host
//! sends it back: netstrings behind random-token markers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sslaudit_scanner::collect::files;

/// The token of the seed corpus.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const MAX_BYTES: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let parsed = files::parse_output(data, TOKEN, MAX_BYTES);
    for r in &parsed.records {
        assert!(r.content.len() as u64 <= MAX_BYTES);
    }
});
