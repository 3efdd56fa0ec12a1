//! Certificates and private keys to facts.
//!
//! Certificates are read with `x509-parser` (PEM bundles with any text around
//! the blocks, CRLF or LF, or DER). Bit sizes, curve names, algorithm names
//! and the SubjectPublicKeyInfo encoding that matches a key to its
//! certificate are the ones OpenSSL, the library MySQL itself links, sees:
//! a certificate's common public keys (RSA, named-curve EC, Ed25519, Ed448)
//! are read from `x509-parser`'s view when their encoding is OpenSSL's own
//! (`spki`), names of common OIDs come from a table checked against OpenSSL
//! (`oids`), and anything else goes through OpenSSL. Private keys and
//! signatures always go through OpenSSL.
//!
//! Private keys are reduced to [`PrivateKeyFacts`] and dropped: no key
//! material is kept or put into an error message, and OpenSSL's PEM readers
//! (which may prompt for a passphrase on a terminal) are never called: PEM is
//! decoded here and only OpenSSL's DER readers are used.
//!
//! `cert` reads certificates (`name` writes their subject and issuer,
//! `spki` describes their public key), `key` private keys; both find their
//! input with `pem` (blocks and their base64) or, for DER, the structure
//! checks of `der`. This module
//! holds the limits, the errors and the sniffing that tells one kind of
//! file from another.
//!
//! [`PrivateKeyFacts`]: crate::facts::PrivateKeyFacts

mod cert;
mod der;
#[cfg(test)]
mod fixtures;
mod key;
mod name;
mod oids;
mod pem;
mod spki;

use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKeyRef};

use crate::digest::sha256_hex;
use crate::facts::{KeyAlgorithm, PublicKeyInfo};
use der::der_key_shape;
use pem::{is_pem, pem_labels};

pub use cert::{is_issued_by, parse_certificates};
pub use key::parse_private_key;

/// Largest certificate or key file read ([`super::limits`]).
pub const MAX_INPUT_BYTES: usize = super::limits::CERT_FILE_BYTES;
/// Most certificates read from one file ([`super::limits`]).
pub const MAX_CERTIFICATES: usize = super::limits::CERTS_PER_FILE;

/// PEM labels holding a certificate. `TRUSTED CERTIFICATE` is OpenSSL's
/// certificate followed by trust settings; `X509 CERTIFICATE` an old spelling.
const CERT_LABELS: [&str; 3] = ["CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"];

/// Why a certificate file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("{path}: file is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        path: String,
        size: usize,
        limit: usize,
    },
    #[error("{path}: more than {limit} certificates in one file")]
    TooMany { path: String, limit: usize },
    #[error("{path}: {message}")]
    NoCertificate { path: String, message: String },
    /// `block` counts certificates from 1 in file order; `line` is the line
    /// of the `-----BEGIN` of a PEM block (`None` for DER).
    #[error("{path}: {}: {message}", block_label(*.block, *.line))]
    Invalid {
        path: String,
        block: usize,
        line: Option<u32>,
        message: String,
    },
}

impl CertError {
    /// Line of the failing PEM block, when there is one.
    pub fn line(&self) -> Option<u32> {
        match self {
            CertError::Invalid { line, .. } => *line,
            _ => None,
        }
    }
}

fn block_label(block: usize, line: Option<u32>) -> String {
    match line {
        Some(line) => format!("certificate block {block} (line {line})"),
        None => format!("DER certificate {block}"),
    }
}

/// Why a private key file could not be described. Messages never contain
/// key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("no private key found: {message}")]
    NotAKey { message: String },
    #[error("block `{label}` at line {line}: {message}")]
    Pem {
        label: String,
        line: u32,
        message: String,
    },
    #[error("`{format}` key could not be read: {message}")]
    Invalid { format: String, message: String },
    #[error("`{format}` keys are not supported (MySQL reads OpenSSL PEM or DER keys)")]
    Unsupported { format: String },
}

/// True when the bytes hold a PEM private key block (`RSA PRIVATE KEY`,
/// `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`...) or are a DER private key
/// (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1) by structure.
pub fn looks_like_private_key(bytes: &[u8]) -> bool {
    if is_pem(bytes) {
        return pem_labels(bytes).any(|l| l.ends_with("PRIVATE KEY"));
    }
    der_key_shape(bytes) && !looks_like_der_certificate(bytes)
}

/// True when the bytes hold a PEM certificate block or are a DER certificate.
pub fn looks_like_certificate(bytes: &[u8]) -> bool {
    if is_pem(bytes) {
        return pem_labels(bytes).any(|l| CERT_LABELS.contains(&l.as_str()));
    }
    looks_like_der_certificate(bytes)
}

/// True when the bytes are PEM holding public keys only (`PUBLIC KEY`,
/// `RSA PUBLIC KEY`), such as the `public_key.pem` MySQL keeps in its data
/// directory for `sha256_password` and `caching_sha2_password`: a key, never
/// a certificate, whatever its file name says.
pub fn looks_like_public_key(bytes: &[u8]) -> bool {
    let mut labels = pem_labels(bytes).peekable();
    labels.peek().is_some() && labels.all(|l| l.ends_with("PUBLIC KEY"))
}

fn looks_like_der_certificate(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_INPUT_BYTES && x509_parser::parse_x509_certificate(bytes).is_ok()
}

fn key_info<T: HasPublic>(pkey: &PKeyRef<T>) -> PublicKeyInfo {
    let id = pkey.id();
    let (algorithm, curve) = match id {
        Id::RSA | Id::RSA_PSS => (KeyAlgorithm::Rsa, None),
        Id::EC => {
            let curve = pkey
                .ec_key()
                .ok()
                .and_then(|k| k.group().curve_name())
                .and_then(|nid| nid.short_name().ok())
                .map(str::to_string);
            (KeyAlgorithm::Ec, curve)
        }
        Id::ED25519 => (KeyAlgorithm::Ed25519, None),
        Id::DSA => (KeyAlgorithm::Dsa, None),
        other => {
            let name = Nid::from_raw(other.as_raw())
                .short_name()
                .map(str::to_ascii_lowercase)
                .unwrap_or_else(|_| format!("pkey-{}", other.as_raw()));
            (KeyAlgorithm::Other(name), None)
        }
    };
    clear_openssl_errors();
    PublicKeyInfo {
        algorithm,
        bits: pkey.bits(),
        curve,
    }
}

/// OpenSSL's reason string only: never the data it was given.
fn openssl_reason(e: &ErrorStack) -> String {
    e.errors()
        .iter()
        .find_map(|e| e.reason())
        .unwrap_or("unknown OpenSSL error")
        .to_string()
}

/// OpenSSL keeps failures of earlier calls in a per-thread queue; drained so
/// a later error report shows only its own cause.
fn clear_openssl_errors() {
    drop(ErrorStack::get());
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn public_keys_are_told_from_certificates() {
        let rsa = openssl::rsa::Rsa::generate(1024).unwrap();
        let spki = rsa.public_key_to_pem().unwrap();
        let pkcs1 = rsa.public_key_to_pem_pkcs1().unwrap();
        assert!(looks_like_public_key(&spki));
        assert!(looks_like_public_key(&pkcs1));
        assert!(!looks_like_certificate(&spki));
        assert!(!looks_like_public_key(&rsa.private_key_to_pem().unwrap()));
        assert!(!looks_like_public_key(b"not pem"));
        let mut mixed = spki.clone();
        mixed.extend_from_slice(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n");
        assert!(!looks_like_public_key(&mixed), "a certificate beside it");
    }
    #[test]
    fn sniffing_classifies_files() {
        for name in [
            "server.crt",
            "chain.pem",
            "chain-crlf.pem",
            "ca-trusted.pem",
            "server.der",
        ] {
            assert!(looks_like_certificate(&fixture(name)), "{name}");
            assert!(!looks_like_private_key(&fixture(name)), "{name}");
        }
        for name in [
            "server-pkcs1.key",
            "server-pkcs8.key",
            "server-pkcs8.der",
            "server-pkcs1.der",
            "ec-sec1.key",
            "ed25519.key",
            "encrypted-pkcs8.key",
            "legacy-encrypted.key",
        ] {
            assert!(looks_like_private_key(&fixture(name)), "{name}");
            assert!(!looks_like_certificate(&fixture(name)), "{name}");
        }
        for name in ["garbage.pem", "truncated.der"] {
            assert!(!looks_like_private_key(&fixture(name)), "{name}");
            assert!(!looks_like_certificate(&fixture(name)), "{name}");
        }
        let mut combined = fixture("server.crt");
        combined.extend(fixture("server-pkcs1.key"));
        assert!(looks_like_certificate(&combined) && looks_like_private_key(&combined));
        assert_eq!(
            parse_certificates("combined.pem", &combined).unwrap().len(),
            1
        );
        assert_eq!(
            parse_private_key(&combined).unwrap().spki_sha256.as_deref(),
            Some(SERVER_SPKI)
        );
    }

    /// Guards the "never panic on bad input" contract: every prefix and
    /// many single-byte corruptions of real files.
    #[test]
    fn damaged_inputs_never_panic() {
        for name in [
            "server.der",
            "server-pkcs8.der",
            "server-pkcs1.der",
            "ec-sec1.key",
            "chain.pem",
        ] {
            let data = fixture(name);
            let step = if data.len() > 2000 { 11 } else { 1 };
            for end in (0..data.len()).step_by(step) {
                let part = &data[..end];
                let _ = parse_certificates(name, part);
                let _ = parse_private_key(part);
                let _ = looks_like_certificate(part) || looks_like_private_key(part);
            }
            for i in (0..data.len()).step_by(7) {
                let mut bad = data.clone();
                bad[i] ^= 0x5a;
                if let Ok(c) = parse_certificates(name, &bad) {
                    let _ = is_issued_by(&c[0], &c[0]);
                }
                let _ = parse_private_key(&bad);
            }
        }
        let ed = one_cert("ed25519.crt");
        assert_eq!(ed.public_key.bits, 256);
    }
}
