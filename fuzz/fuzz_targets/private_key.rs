//! Private key files: PEM (PKCS#1, SEC1, PKCS#8, encrypted) and DER.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sslaudit_rules::parse::x509;

fuzz_target!(|data: &[u8]| {
    let _ = x509::looks_like_private_key(data);
    if let Ok(facts) = x509::parse_private_key(data) {
        assert!(!facts.format.is_empty());
    }
});
