//! Certificate files: PEM bundles (with text around blocks) and DER.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sslaudit_rules::parse::x509;

fuzz_target!(|data: &[u8]| {
    let _ = x509::looks_like_certificate(data);
    let _ = x509::looks_like_private_key(data);
    match x509::parse_certificates("/etc/mysql/ssl/ca.pem", data) {
        Ok(certs) => {
            assert!(!certs.is_empty());
            assert!(certs.len() <= x509::MAX_CERTIFICATES);
            for (i, c) in certs.iter().enumerate() {
                assert_eq!(c.index, i);
            }
            // Chain checks run over every pair in a bundle; keep it small.
            for a in certs.iter().take(4) {
                for b in certs.iter().take(4) {
                    let _ = x509::is_issued_by(a, b);
                }
            }
        }
        Err(e) => {
            assert!(e.to_string().contains("/etc/mysql/ssl/ca.pem"));
        }
    }
});
