//! The host mysql client's `--batch` output (stdout sections) and its
//! `ERROR ... at line N` lines (stderr). The input's first line is the
//! run's nonce, the rest is fed as both streams.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sslaudit_scanner::collect::mysql::batch;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (nonce, rest) = text.split_once('\n').unwrap_or(("n0nce", &text));
    let parsed = batch::parse_batch(rest, nonce);
    for (name, set) in &parsed.sections {
        if !parsed.malformed.contains_key(name) {
            for row in &set.rows {
                assert_eq!(row.len(), set.columns.len());
            }
        }
    }
    for e in batch::parse_errors(rest) {
        assert!(e.message.starts_with("ERROR"));
    }
});
