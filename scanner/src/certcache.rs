//! Certificate parsing, remembered by content.
//!
//! A fleet carries the same CA and client certificates on every host of an
//! environment (the seed's stack copies them from the master), and decoding
//! X.509 is the dearest step of building a host's facts. Parsed certificates
//! are kept by the SHA-256 of the file's bytes, so each distinct file is
//! decoded once per scan; a hit is the same result with the path of the file
//! it came from. Failures are not kept: their messages name the file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use sslaudit_rules::facts::Certificate;
use sslaudit_rules::parse::x509::{self, CertError};

/// Distinct files kept; past this the cache starts over (memory stays
/// bounded whatever the fleet).
const LIMIT: usize = 8192;

type Cache = Mutex<HashMap<[u8; 32], Arc<Vec<Certificate>>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// [`x509::parse_certificates`], decoding each distinct content once.
pub fn parse_certificates(path: &str, bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
    let key: [u8; 32] = Sha256::digest(bytes).into();
    let hit = cache().lock().ok().and_then(|c| c.get(&key).cloned());
    let certs = match hit {
        Some(certs) => certs,
        None => {
            let certs = Arc::new(x509::parse_certificates(path, bytes)?);
            if let Ok(mut c) = cache().lock() {
                if c.len() >= LIMIT {
                    c.clear();
                }
                c.insert(key, Arc::clone(&certs));
            }
            certs
        }
    };
    Ok(certs
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if c.path != path {
                c.path = path.to_string();
            }
            c
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!(
        "../../fixtures/demo-fleet/production/db-master/fs/db/mysql/5.6/data/root.crt"
    );

    #[test]
    fn a_hit_carries_the_path_it_was_asked_for() {
        let a = parse_certificates("/a/root.crt", PEM.as_bytes()).unwrap();
        let b = parse_certificates("/b/root.crt", PEM.as_bytes()).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].path, "/a/root.crt");
        assert_eq!(b[0].path, "/b/root.crt");
        assert_eq!(a[0].sha256, b[0].sha256);
        assert_eq!(a[0].der, b[0].der);
    }

    #[test]
    fn failures_name_their_file() {
        let e = parse_certificates(
            "/x.crt",
            b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
        );
        assert!(e.unwrap_err().to_string().contains("/x.crt"));
    }
}
