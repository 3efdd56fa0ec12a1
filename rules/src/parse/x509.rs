//! Certificates and private keys to facts.
//!
//! Certificates are read with `x509-parser` (PEM bundles with any text around
//! the blocks, CRLF or LF, or DER); public keys, private keys and signatures
//! go through OpenSSL, the library MySQL itself links, so bit sizes, curve
//! names and the SubjectPublicKeyInfo encoding that matches a key to its
//! certificate are the ones OpenSSL sees.
//!
//! Private keys are reduced to [`PrivateKeyFacts`] and dropped: no key
//! material is kept or put into an error message, and OpenSSL's PEM readers
//! (which may prompt for a passphrase on a terminal) are never called: PEM is
//! decoded here and only OpenSSL's DER readers are used.

use std::net::{Ipv4Addr, Ipv6Addr};

use openssl::asn1::Asn1Object;
use openssl::ec::EcKey;
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use sha2::{Digest, Sha256};
use x509_parser::asn1_rs::{Tag, ToDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::facts::{Certificate, KeyAlgorithm, PrivateKeyFacts, PublicKeyInfo};

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

/// Every certificate of a PEM bundle or DER file, in file order.
///
/// PEM: every `CERTIFICATE` (and `TRUSTED CERTIFICATE`, `X509 CERTIFICATE`)
/// block; other blocks (a private key in a combined file) and text around
/// blocks (`openssl x509 -text` output) are skipped. Input without any
/// `-----BEGIN` line is read as DER (one or several concatenated
/// certificates).
///
/// Subject and issuer are RFC 4514 strings (most specific RDN first,
/// `CN=db-master,O=Example Corp,C=US`, special characters backslash-escaped).
/// `subject_alt_names` holds DNS names and IP addresses as plain values
/// (`db-master`, `10.0.0.10`, `::1`); other name types are left out.
pub fn parse_certificates(path: &str, bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(CertError::TooLarge {
            path: path.to_string(),
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    if is_pem(bytes) {
        parse_pem_certificates(path, bytes)
    } else {
        parse_der_certificates(path, bytes)
    }
}

fn parse_pem_certificates(path: &str, bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
    let blocks = pem_blocks(bytes);
    // Counted before any decoding so an oversized bundle fails fast.
    let cert_blocks = blocks
        .iter()
        .filter(|b| CERT_LABELS.contains(&b.label.as_str()))
        .count();
    if cert_blocks > MAX_CERTIFICATES {
        return Err(CertError::TooMany {
            path: path.to_string(),
            limit: MAX_CERTIFICATES,
        });
    }
    let mut certs = Vec::new();
    let mut other_labels: Vec<&str> = Vec::new();
    for block in &blocks {
        if !CERT_LABELS.contains(&block.label.as_str()) {
            other_labels.push(&block.label);
            continue;
        }
        let number = certs.len() + 1;
        let invalid = |message: String| CertError::Invalid {
            path: path.to_string(),
            block: number,
            line: Some(block.line),
            message,
        };
        let decoded = block.decode().map_err(invalid)?;
        let (_, x509) = x509_parser::parse_x509_certificate(&decoded.der)
            .map_err(|e| invalid(der_error(&decoded.der, &e)))?;
        // Trailing bytes are ignored, as OpenSSL does: in a TRUSTED
        // CERTIFICATE they are the trust settings.
        certs.push(certificate_facts(path, certs.len(), &x509));
    }
    if certs.is_empty() {
        let message = if other_labels.is_empty() {
            "no CERTIFICATE block found".to_string()
        } else {
            format!(
                "no CERTIFICATE block found (blocks found: {})",
                other_labels.join(", ")
            )
        };
        return Err(CertError::NoCertificate {
            path: path.to_string(),
            message,
        });
    }
    Ok(certs)
}

fn parse_der_certificates(path: &str, bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CertError::NoCertificate {
            path: path.to_string(),
            message: "file is empty".to_string(),
        });
    }
    let mut certs = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let number = certs.len() + 1;
        if number > MAX_CERTIFICATES {
            return Err(CertError::TooMany {
                path: path.to_string(),
                limit: MAX_CERTIFICATES,
            });
        }
        match x509_parser::parse_x509_certificate(rest) {
            Ok((remaining, x509)) => {
                certs.push(certificate_facts(path, certs.len(), &x509));
                rest = remaining;
            }
            Err(_) if certs.is_empty() && !looks_like_der_sequence(rest) => {
                return Err(CertError::NoCertificate {
                    path: path.to_string(),
                    message: "not PEM (no -----BEGIN line) and not DER (no ASN.1 SEQUENCE)"
                        .to_string(),
                });
            }
            Err(e) => {
                let offset = bytes.len() - rest.len();
                let message = match offset {
                    0 => der_error(rest, &e),
                    _ => format!("at byte {offset}: {}", der_error(rest, &e)),
                };
                return Err(CertError::Invalid {
                    path: path.to_string(),
                    block: number,
                    line: None,
                    message,
                });
            }
        }
    }
    Ok(certs)
}

/// A readable reason for a DER certificate that did not parse; truncation is
/// told from the outer length, which x509-parser reports less clearly.
fn der_error(der: &[u8], err: &x509_parser::nom::Err<x509_parser::error::X509Error>) -> String {
    if let (Some(0x30), Some((header, content))) = (der.first(), der_tlv(der)) {
        if header + content > der.len() {
            return format!(
                "truncated DER: the certificate declares {} bytes, {} are present",
                header + content,
                der.len()
            );
        }
    }
    if der.is_empty() {
        return "empty certificate data".to_string();
    }
    match err {
        x509_parser::nom::Err::Incomplete(_) => "truncated DER".to_string(),
        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => {
            format!("invalid DER certificate: {e}")
        }
    }
}

fn certificate_facts(path: &str, index: usize, x509: &X509Certificate<'_>) -> Certificate {
    let der = x509.as_raw().to_vec();
    let tbs = &x509.tbs_certificate;
    let (public_key, spki_sha256) = public_key_facts(x509);
    let is_ca = matches!(x509.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let mut subject_alt_names = Vec::new();
    if let Ok(Some(san)) = x509.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => subject_alt_names.push((*dns).to_string()),
                GeneralName::IPAddress(ip) => {
                    if let Some(ip) = format_ip(ip) {
                        subject_alt_names.push(ip);
                    }
                }
                _ => {}
            }
        }
    }
    Certificate {
        path: path.to_string(),
        index,
        subject: format_name(&tbs.subject),
        issuer: format_name(&tbs.issuer),
        serial: serial_hex(x509.raw_serial()),
        not_before: tbs.validity.not_before.timestamp(),
        not_after: tbs.validity.not_after.timestamp(),
        public_key,
        signature_algorithm: oid_long_name(&x509.signature_algorithm.algorithm.to_id_string()),
        is_ca,
        subject_alt_names,
        sha256: sha256_hex(&der),
        spki_sha256,
        der,
    }
}

/// The certificate's key as OpenSSL reads it; the fingerprint is taken over
/// OpenSSL's re-encoding so that it equals the one derived from the private
/// key. Algorithms OpenSSL cannot load fall back to x509-parser's view.
fn public_key_facts(x509: &X509Certificate<'_>) -> (PublicKeyInfo, String) {
    let spki = &x509.tbs_certificate.subject_pki;
    let reencoded = PKey::public_key_from_der(spki.raw)
        .and_then(|pkey| pkey.public_key_to_der().map(|der| (pkey, der)));
    if let Ok((pkey, der)) = reencoded {
        return (key_info(&pkey), sha256_hex(&der));
    }
    clear_openssl_errors();
    let oid = spki.algorithm.algorithm.to_id_string();
    let algorithm = match oid.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => KeyAlgorithm::Rsa,
        "1.2.840.10045.2.1" => KeyAlgorithm::Ec,
        "1.3.101.112" => KeyAlgorithm::Ed25519,
        "1.2.840.10040.4.1" => KeyAlgorithm::Dsa,
        _ => KeyAlgorithm::Other(oid_long_name(&oid)),
    };
    let bits = spki
        .parsed()
        .map(|k| u32::try_from(k.key_size()).unwrap_or(0))
        .unwrap_or(0);
    (
        PublicKeyInfo {
            algorithm,
            bits,
            curve: None,
        },
        sha256_hex(spki.raw),
    )
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

/// OpenSSL's long name for a dotted OID (`sha256WithRSAEncryption`,
/// `ecdsa-with-SHA256`, `ED25519`), or the dotted OID when OpenSSL has none.
fn oid_long_name(oid: &str) -> String {
    let name = Asn1Object::from_str(oid)
        .ok()
        .map(|o| o.nid())
        .filter(|nid| *nid != Nid::UNDEF)
        .and_then(|nid| nid.long_name().ok());
    clear_openssl_errors();
    name.map_or_else(|| oid.to_string(), str::to_string)
}

fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    let significant = &raw[start.min(raw.len())..];
    if significant.is_empty() {
        "00".to_string()
    } else {
        hex::encode(significant)
    }
}

fn format_ip(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => {
            let octets: [u8; 4] = bytes.try_into().ok()?;
            Some(Ipv4Addr::from(octets).to_string())
        }
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}

/// RFC 4514: RDNs from the most specific (last in the DER) to the least,
/// joined by `,`; attributes of a multi-valued RDN joined by `+`.
fn format_name(name: &X509Name<'_>) -> String {
    let mut rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(format_attribute)
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.reverse();
    rdns.join(",")
}

fn format_attribute(atv: &AttributeTypeAndValue<'_>) -> String {
    let oid = atv.attr_type().to_id_string();
    let value = atv.attr_value();
    let text = match string_value(value.tag(), value.as_bytes()) {
        Some(s) => escape_rfc4514(&s),
        // RFC 4514 2.4: a value that is not a string is `#` and its BER.
        None => format!("#{}", hex::encode(value.to_der_vec().unwrap_or_default())),
    };
    format!("{}={text}", attribute_name(&oid))
}

fn attribute_name(oid: &str) -> String {
    let short = match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => {
            let name = Asn1Object::from_str(oid)
                .ok()
                .map(|o| o.nid())
                .filter(|nid| *nid != Nid::UNDEF)
                .and_then(|nid| nid.short_name().ok());
            clear_openssl_errors();
            return name.map_or_else(|| oid.to_string(), str::to_string);
        }
    };
    short.to_string()
}

fn string_value(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_string),
        // T61 in practice carries Latin-1.
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// The facts of a private key: algorithm, size, curve, whether it is
/// encrypted, and the SHA-256 of its public key's DER SubjectPublicKeyInfo
/// (equal to [`Certificate::spki_sha256`] of its certificate).
///
/// Reads PEM `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1), `DSA
/// PRIVATE KEY`, `PRIVATE KEY` (PKCS#8: RSA, EC, Ed25519, ...), `ENCRYPTED
/// PRIVATE KEY` and legacy `Proc-Type: 4,ENCRYPTED` keys (both reported as
/// encrypted, without opening them), and DER (PKCS#8, then PKCS#1, then
/// SEC1). In a PEM file the first `... PRIVATE KEY` block is read; other
/// blocks (`EC PARAMETERS`, certificates) are skipped.
pub fn parse_private_key(bytes: &[u8]) -> Result<PrivateKeyFacts, KeyError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(KeyError::TooLarge {
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    clear_openssl_errors();
    let result = if is_pem(bytes) {
        parse_pem_key(bytes)
    } else {
        parse_der_key(bytes)
    };
    clear_openssl_errors();
    result
}

fn parse_pem_key(bytes: &[u8]) -> Result<PrivateKeyFacts, KeyError> {
    let blocks = pem_blocks(bytes);
    let Some(block) = blocks.iter().find(|b| b.label.ends_with("PRIVATE KEY")) else {
        let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
        return Err(KeyError::NotAKey {
            message: if labels.is_empty() {
                "no PEM block".to_string()
            } else {
                format!("PEM blocks found: {}", labels.join(", "))
            },
        });
    };
    let label = block.label.as_str();
    let decoded = block.decode().map_err(|message| KeyError::Pem {
        label: label.to_string(),
        line: block.line,
        message,
    })?;
    let legacy_encrypted = decoded
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("Proc-Type") && v.contains("ENCRYPTED"));
    if legacy_encrypted {
        let algorithm = match label {
            "RSA PRIVATE KEY" => KeyAlgorithm::Rsa,
            "EC PRIVATE KEY" => KeyAlgorithm::Ec,
            "DSA PRIVATE KEY" => KeyAlgorithm::Dsa,
            _ => KeyAlgorithm::Other("unknown".to_string()),
        };
        return Ok(encrypted_facts(algorithm, label));
    }
    let der = &decoded.der;
    let invalid = |what: &str, e: ErrorStack| KeyError::Invalid {
        format: label.to_string(),
        message: format!("not a valid {what} ({})", openssl_reason(&e)),
    };
    let pkey = match label {
        "ENCRYPTED PRIVATE KEY" => {
            if is_encrypted_pkcs8(der) {
                return Ok(encrypted_facts(
                    KeyAlgorithm::Other("unknown".to_string()),
                    label,
                ));
            }
            return Err(KeyError::Invalid {
                format: label.to_string(),
                message: "not a PKCS#8 EncryptedPrivateKeyInfo".to_string(),
            });
        }
        "PRIVATE KEY" => {
            PKey::private_key_from_pkcs8(der).map_err(|e| invalid("PKCS#8 private key", e))?
        }
        "RSA PRIVATE KEY" => Rsa::private_key_from_der(der)
            .and_then(PKey::from_rsa)
            .map_err(|e| invalid("PKCS#1 RSA private key", e))?,
        "EC PRIVATE KEY" => EcKey::private_key_from_der(der)
            .and_then(PKey::from_ec_key)
            .map_err(|e| invalid("SEC1 EC private key", e))?,
        // No type-specific DSA reader in the bindings: the generic one, on a
        // structure already known not to be encrypted (so it cannot ask for a
        // passphrase).
        "DSA PRIVATE KEY" => {
            if is_encrypted_pkcs8(der) {
                return Err(KeyError::Invalid {
                    format: label.to_string(),
                    message: "not a DSA private key".to_string(),
                });
            }
            let pkey =
                PKey::private_key_from_der(der).map_err(|e| invalid("DSA private key", e))?;
            if pkey.id() != Id::DSA {
                return Err(KeyError::Invalid {
                    format: label.to_string(),
                    message: "not a DSA private key".to_string(),
                });
            }
            pkey
        }
        _ => {
            return Err(KeyError::Unsupported {
                format: label.to_string(),
            });
        }
    };
    key_facts(&pkey, label)
}

fn parse_der_key(bytes: &[u8]) -> Result<PrivateKeyFacts, KeyError> {
    let der = bytes;
    if is_encrypted_pkcs8(der) {
        return Ok(encrypted_facts(
            KeyAlgorithm::Other("unknown".to_string()),
            "DER",
        ));
    }
    let pkey = PKey::private_key_from_pkcs8(der)
        .or_else(|_| Rsa::private_key_from_der(der).and_then(PKey::from_rsa))
        .or_else(|_| EcKey::private_key_from_der(der).and_then(PKey::from_ec_key))
        .map_err(|_| KeyError::NotAKey {
            message: "not PEM (no -----BEGIN line) and not a DER private key \
                      (PKCS#8, PKCS#1 or SEC1)"
                .to_string(),
        })?;
    key_facts(&pkey, "DER")
}

fn key_facts(pkey: &PKey<Private>, format: &str) -> Result<PrivateKeyFacts, KeyError> {
    let info = key_info(pkey);
    let spki = pkey.public_key_to_der().map_err(|e| KeyError::Invalid {
        format: format.to_string(),
        message: format!("public key not derivable ({})", openssl_reason(&e)),
    })?;
    Ok(PrivateKeyFacts {
        algorithm: info.algorithm,
        bits: info.bits,
        curve: info.curve,
        encrypted: false,
        spki_sha256: Some(sha256_hex(&spki)),
        format: format.to_string(),
    })
}

fn encrypted_facts(algorithm: KeyAlgorithm, format: &str) -> PrivateKeyFacts {
    PrivateKeyFacts {
        algorithm,
        bits: 0,
        curve: None,
        encrypted: true,
        spki_sha256: None,
        format: format.to_string(),
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

/// True when `ca` issued `cert`: `cert`'s issuer name equals `ca`'s subject
/// (OpenSSL's canonical name comparison) and `cert`'s signature verifies
/// with `ca`'s public key. A self-signed certificate is issued by itself.
pub fn is_issued_by(cert: &Certificate, ca: &Certificate) -> bool {
    let issued = (|| {
        let cert_x509 = X509::from_der(&cert.der).ok()?;
        let ca_x509 = X509::from_der(&ca.der).ok()?;
        let same_name = cert_x509
            .issuer_name()
            .try_cmp(ca_x509.subject_name())
            .ok()?
            .is_eq();
        if !same_name {
            return Some(false);
        }
        let key = ca_x509.public_key().ok()?;
        cert_x509.verify(&key).ok()
    })();
    clear_openssl_errors();
    issued.unwrap_or(false)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// --- DER structure sniffing -------------------------------------------------

/// Header and content lengths of the DER element at the start of `der`.
fn der_tlv(der: &[u8]) -> Option<(usize, usize)> {
    let first_len = *der.get(1)?;
    if first_len < 0x80 {
        return Some((2, usize::from(first_len)));
    }
    let n = usize::from(first_len & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len_bytes = der.get(2..2 + n)?;
    let len = len_bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((2 + n, len))
}

/// The elements of the SEQUENCE that spans all of `der`: (tag, content).
fn der_sequence_items(der: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    if *der.first()? != 0x30 {
        return None;
    }
    let (header, len) = der_tlv(der)?;
    if header + len != der.len() {
        return None;
    }
    let mut content = &der[header..];
    let mut items = Vec::new();
    while !content.is_empty() && items.len() < 4 {
        let tag = content[0];
        let (h, l) = der_tlv(content)?;
        let end = h.checked_add(l)?;
        items.push((tag, content.get(h..end)?));
        content = &content[end..];
    }
    Some(items)
}

fn looks_like_der_sequence(der: &[u8]) -> bool {
    der.first() == Some(&0x30) && der_tlv(der).is_some()
}

/// EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    matches!(
        der_sequence_items(der).as_deref(),
        Some([(0x30, _), (0x04, _), ..])
    )
}

/// PKCS#8 `SEQ { INT 0, SEQ, OCTET }`, PKCS#1 `SEQ { INT 0, INT, INT, ... }`,
/// SEC1 `SEQ { INT 1, OCTET, ... }`, or encrypted PKCS#8.
fn der_key_shape(der: &[u8]) -> bool {
    matches!(
        der_sequence_items(der).as_deref(),
        Some(
            [(0x02, [0]), (0x30, _), (0x04, _), ..]
                | [(0x02, [0]), (0x02, _), (0x02, _), ..]
                | [(0x02, [1]), (0x04, _), ..]
                | [(0x30, _), (0x04, _)]
        )
    )
}

// --- PEM --------------------------------------------------------------------

/// A PEM block as found; decoded on demand so blocks of no interest cost
/// nothing and cannot fail the file.
struct PemBlock<'a> {
    label: String,
    /// 1-based line of the `-----BEGIN`.
    line: u32,
    body: Vec<&'a [u8]>,
    /// Why the block is malformed before decoding (missing END...).
    problem: Option<String>,
}

struct DecodedPem {
    headers: Vec<(String, String)>,
    der: Vec<u8>,
}

/// The decoded bytes may be a private key: overwritten before the memory
/// is released (best effort, without `unsafe`).
impl Drop for DecodedPem {
    fn drop(&mut self) {
        self.der.fill(0);
        std::hint::black_box(&self.der);
    }
}

impl PemBlock<'_> {
    fn decode(&self) -> Result<DecodedPem, String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        let mut headers = Vec::new();
        let mut lines = self.body.iter().map(|l| l.trim_ascii()).peekable();
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) come before a blank
        // line; base64 never contains `:`.
        if lines.peek().is_some_and(|l| l.contains(&b':')) {
            for line in lines.by_ref() {
                if line.is_empty() {
                    break;
                }
                let text = String::from_utf8_lossy(line);
                if let Some((k, v)) = text.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
        }
        let mut b64 = Vec::new();
        for line in lines {
            b64.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
        }
        if b64.is_empty() {
            return Err("empty PEM block".to_string());
        }
        let der = base64_decode(&b64).ok_or_else(|| "invalid base64 in PEM block".to_string())?;
        Ok(DecodedPem { headers, der })
    }
}

fn is_pem(bytes: &[u8]) -> bool {
    lines(bytes).any(|(_, l)| begin_label(l).is_some())
}

fn pem_labels(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    lines(bytes).filter_map(|(_, l)| begin_label(l))
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    bytes.split(|b| *b == b'\n').enumerate().map(|(i, l)| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        (u32::try_from(i + 1).unwrap_or(u32::MAX), l)
    })
}

fn begin_label(line: &[u8]) -> Option<String> {
    let line = line.trim_ascii();
    let rest = line.strip_prefix(b"-----BEGIN ")?;
    let label = rest.strip_suffix(b"-----")?;
    Some(String::from_utf8_lossy(label).trim().to_string())
}

fn end_label(line: &[u8]) -> Option<String> {
    let line = line.trim_ascii();
    let rest = line.strip_prefix(b"-----END ")?;
    let label = rest.strip_suffix(b"-----").unwrap_or(rest);
    Some(String::from_utf8_lossy(label).trim().to_string())
}

fn pem_blocks(bytes: &[u8]) -> Vec<PemBlock<'_>> {
    let mut blocks: Vec<PemBlock<'_>> = Vec::new();
    let mut open: Option<PemBlock<'_>> = None;
    for (number, line) in lines(bytes) {
        if let Some(label) = begin_label(line) {
            if let Some(mut unfinished) = open.take() {
                unfinished.problem = Some(format!(
                    "no -----END {}----- line before the next -----BEGIN",
                    unfinished.label
                ));
                blocks.push(unfinished);
            }
            open = Some(PemBlock {
                label,
                line: number,
                body: Vec::new(),
                problem: None,
            });
            continue;
        }
        let Some(block) = open.as_mut() else {
            continue;
        };
        if let Some(label) = end_label(line) {
            if label != block.label {
                block.problem = Some(format!(
                    "-----END {label}----- does not match -----BEGIN {}-----",
                    block.label
                ));
            }
            if let Some(done) = open.take() {
                blocks.push(done);
            }
        } else {
            block.body.push(line);
        }
    }
    if let Some(mut unfinished) = open {
        unfinished.problem = Some(format!(
            "no -----END {}----- line (file truncated?)",
            unfinished.label
        ));
        blocks.push(unfinished);
    }
    blocks
}

fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let data = match input.iter().position(|c| *c == b'=') {
        Some(pad) => {
            // Padding only at the end, at most two, and completing a quantum.
            let padding = &input[pad..];
            if padding.len() > 2 || padding.iter().any(|c| *c != b'=') || input.len() % 4 != 0 {
                return None;
            }
            &input[..pad]
        }
        None => input,
    };
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for c in chunk {
            acc = (acc << 6) | value(*c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            2 => out.push((acc >> 4) as u8),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
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

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../fixtures/parsers/x509/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn certs(name: &str) -> Vec<Certificate> {
        parse_certificates(name, &fixture(name)).unwrap()
    }

    fn one_cert(name: &str) -> Certificate {
        let mut all = certs(name);
        assert_eq!(all.len(), 1, "{name}");
        all.remove(0)
    }

    fn key(name: &str) -> PrivateKeyFacts {
        parse_private_key(&fixture(name)).unwrap()
    }

    // Values below were read from the files make.sh generated, with the
    // openssl CLI (`x509 -dates -serial`, `x509 -pubkey | pkey -pubin
    // -outform der | sha256sum`).
    const SERVER_SPKI: &str = "70038ec7feaa414e32334443e888d6314096087e85e6d8e3df11b6a293e3528d";
    const CA_SPKI: &str = "f1f5b8949748470a76b2098a83652d4715a52c3930e5ac1a0a10e4120a7658d9";
    const EC_SPKI: &str = "221e42e0e2fdfd461a705fa07ef0eb10b743481aa12595e21552ffe3a4a2ae32";
    const ED25519_SPKI: &str = "c4dec2567c8e6ae92f152fe01da797bad76b9d036f51ac6b4a5624eb2f2e7795";

    #[test]
    fn chain_bundle_with_text_reads_every_field() {
        let chain = certs("chain.pem");
        assert_eq!(chain.len(), 2);
        let server = &chain[0];
        assert_eq!(server.path, "chain.pem");
        assert_eq!(server.index, 0);
        assert_eq!(server.subject, "CN=db-master,O=Example Corp,C=US");
        assert_eq!(
            server.issuer,
            "CN=MySQL_Server_Example_CA,O=Example Corp,C=US"
        );
        assert_eq!(server.common_name(), Some("db-master"));
        assert_eq!(server.serial, "1001");
        // notBefore=Nov 30 05:06:10 2026 GMT, notAfter=Nov  6 05:06:10 2126 GMT
        assert_eq!(server.not_before, 1_796_015_170);
        assert_eq!(server.not_after, 4_949_615_170);
        assert_eq!(server.not_after_date(), "2126-11-06");
        assert_eq!(
            server.public_key,
            PublicKeyInfo {
                algorithm: KeyAlgorithm::Rsa,
                bits: 2048,
                curve: None
            }
        );
        assert_eq!(server.signature_algorithm, "sha256WithRSAEncryption");
        assert!(!server.is_ca);
        assert!(!server.is_self_signed());
        assert_eq!(
            server.subject_alt_names,
            ["db-master", "db-master.internal", "10.0.0.10", "::1"]
        );
        assert_eq!(server.der, fixture("server.der"));
        assert_eq!(
            server.sha256,
            "dfd5c9784cb42902373f9bbda975f0d0217005d894fc8c877ef88e97698971c8"
        );
        assert_eq!(server.spki_sha256, SERVER_SPKI);

        let ca = &chain[1];
        assert_eq!(ca.index, 1);
        assert_eq!(ca.subject, "CN=MySQL_Server_Example_CA,O=Example Corp,C=US");
        assert!(ca.is_self_signed());
        assert!(ca.is_ca);
        assert_eq!(ca.serial, "01");
        assert_eq!(ca.not_after, 4_949_615_169);
        assert_eq!(ca.spki_sha256, CA_SPKI);
        assert!(ca.subject_alt_names.is_empty());
    }

    #[test]
    fn crlf_der_and_trusted_forms_give_the_same_certificates() {
        let lf = certs("chain.pem");
        let crlf = certs("chain-crlf.pem");
        assert_eq!(crlf.len(), 2);
        for (a, b) in lf.iter().zip(&crlf) {
            assert_eq!(a.der, b.der);
            assert_eq!(a.subject, b.subject);
        }
        let der = one_cert("server.der");
        assert_eq!(der.path, "server.der");
        assert_eq!(der.der, lf[0].der);
        assert_eq!(
            Certificate {
                path: "chain.pem".into(),
                ..der
            },
            lf[0]
        );
        let trusted = one_cert("ca-trusted.pem");
        assert_eq!(trusted.der, lf[1].der, "trust settings are not part of it");
        assert!(trusted.is_ca);
    }

    #[test]
    fn concatenated_der_certificates_are_all_read() {
        let mut two = fixture("server.der");
        two.extend(fixture("server.der"));
        let read = parse_certificates("two.der", &two).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].index, 1);
    }

    #[test]
    fn key_types_and_signature_algorithms() {
        let ec = one_cert("ec.crt");
        assert_eq!(ec.public_key.algorithm, KeyAlgorithm::Ec);
        assert_eq!(ec.public_key.bits, 256);
        assert_eq!(ec.public_key.curve.as_deref(), Some("prime256v1"));
        assert_eq!(ec.signature_algorithm, "ecdsa-with-SHA256");
        assert_eq!(ec.serial, "0a");
        assert_eq!(ec.subject, "CN=ec.example");
        assert_eq!(ec.spki_sha256, EC_SPKI);

        let ed = one_cert("ed25519.crt");
        assert_eq!(ed.public_key.algorithm, KeyAlgorithm::Ed25519);
        assert_eq!(ed.signature_algorithm, "ED25519");
        assert_eq!(ed.spki_sha256, ED25519_SPKI);

        let sha1 = one_cert("weak-sha1-1024.crt");
        assert_eq!(sha1.public_key.bits, 1024);
        assert_eq!(sha1.signature_algorithm, "sha1WithRSAEncryption");
        let md5 = one_cert("weak-md5-1024.crt");
        assert_eq!(md5.public_key.bits, 1024);
        assert_eq!(md5.signature_algorithm, "md5WithRSAEncryption");
    }

    #[test]
    fn issuer_is_proven_by_signature_not_by_name() {
        let chain = certs("chain.pem");
        let (server, ca) = (&chain[0], &chain[1]);
        let fake = one_cert("fake-ca.crt");
        // Same name as the real CA, so only the signature tells them apart.
        assert_eq!(fake.subject, ca.subject);
        assert_eq!(server.issuer, fake.subject);
        assert_ne!(fake.spki_sha256, ca.spki_sha256);

        assert!(is_issued_by(server, ca));
        assert!(!is_issued_by(server, &fake));
        assert!(is_issued_by(ca, ca), "self-signed");
        assert!(is_issued_by(&fake, &fake));
        assert!(!is_issued_by(ca, &fake));
        assert!(!is_issued_by(ca, server));
        for name in [
            "ec.crt",
            "ed25519.crt",
            "weak-sha1-1024.crt",
            "weak-md5-1024.crt",
        ] {
            let c = one_cert(name);
            assert!(is_issued_by(&c, &c), "{name}");
            assert!(!is_issued_by(&c, ca), "{name}");
        }
    }

    #[test]
    fn broken_certificate_files_say_what_and_where() {
        let err = parse_certificates("garbage.pem", &fixture("garbage.pem")).unwrap_err();
        assert!(matches!(err, CertError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().starts_with("garbage.pem: not PEM"), "{err}");

        let err = parse_certificates("empty.pem", &fixture("empty-block.pem")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "empty.pem: certificate block 1 (line 1): empty PEM block"
        );
        assert_eq!(err.line(), Some(1));

        let err = parse_certificates("t.der", &fixture("truncated.der")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.der: DER certificate 1: truncated DER: the certificate \
             declares 913 bytes, 300 are present"
        );

        let mut trailing = fixture("server.der");
        trailing.extend_from_slice(b"\x30\x03\x02\x01");
        let err = parse_certificates("x.der", &trailing).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("x.der: DER certificate 2: at byte 913: truncated"),
            "{err}"
        );

        let err = parse_certificates("k.pem", &fixture("server-pkcs1.key")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "k.pem: no CERTIFICATE block found (blocks found: RSA PRIVATE KEY)"
        );

        let err = parse_certificates("e.pem", b"").unwrap_err();
        assert_eq!(err.to_string(), "e.pem: file is empty");
    }

    #[test]
    fn a_bad_second_block_is_named_with_its_line() {
        let mut text = String::from_utf8(fixture("server.crt")).unwrap();
        let lines = text.lines().count();
        text.push_str("-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n-----END CERTIFICATE-----\n");
        let err = parse_certificates("b.pem", text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "b.pem: certificate block 2 (line {}): invalid base64 in PEM block",
                lines + 1
            )
        );

        let mut text = String::from_utf8(fixture("server.crt")).unwrap();
        text.truncate(text.len() - 30);
        let err = parse_certificates("c.pem", text.as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no -----END CERTIFICATE----- line"),
            "{err}"
        );

        // Valid base64 of something that is not a certificate.
        let err = parse_certificates(
            "d.pem",
            b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("d.pem: certificate block 1 (line 1): invalid DER certificate"),
            "{err}"
        );
    }

    #[test]
    fn limits_are_enforced() {
        let big = vec![b'A'; MAX_INPUT_BYTES + 1];
        assert!(matches!(
            parse_certificates("big", &big),
            Err(CertError::TooLarge { .. })
        ));
        let block = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
        let many = block.repeat(MAX_CERTIFICATES + 1);
        assert_eq!(
            parse_certificates("many", many.as_bytes()).unwrap_err(),
            CertError::TooMany {
                path: "many".into(),
                limit: MAX_CERTIFICATES
            }
        );
    }

    #[test]
    fn a_bundle_of_ten_thousand_certificates_is_refused_quickly() {
        // Real certificates, so nothing but the count stops the parse.
        let started = std::time::Instant::now();
        let pem = fixture("server.crt").repeat(10_000);
        assert!(pem.len() <= MAX_INPUT_BYTES, "{} bytes", pem.len());
        let err = parse_certificates("/etc/mysql/ca-bundle.pem", &pem).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/mysql/ca-bundle.pem: more than 1000 certificates in one file"
        );
        let der = fixture("server.der").repeat(10_000);
        let err = parse_certificates("/etc/mysql/ca-bundle.der", &der).unwrap_err();
        assert!(
            matches!(err, CertError::TooMany { limit: 1000, .. }),
            "{err}"
        );
        // Exactly at the cap is fine.
        let pem = fixture("server.crt").repeat(MAX_CERTIFICATES);
        assert_eq!(
            parse_certificates("ok", &pem).unwrap().len(),
            MAX_CERTIFICATES
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn names_are_rfc4514_escaped_and_common_name_survives_commas() {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::hash::MessageDigest;
        use openssl::x509::{X509Builder, X509NameBuilder};

        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let pkey = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("C", "US").unwrap();
        name.append_entry_by_text("O", "Acme; Inc").unwrap();
        name.append_entry_by_text("CN", "Smith, John").unwrap();
        let name = name.build();
        let mut builder = X509Builder::new().unwrap();
        builder.set_version(2).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&pkey).unwrap();
        builder
            .set_not_before(&openssl::asn1::Asn1Time::from_unix(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&openssl::asn1::Asn1Time::from_unix(86_400).unwrap())
            .unwrap();
        builder.sign(&pkey, MessageDigest::sha384()).unwrap();
        let der = builder.build().to_der().unwrap();

        let cert = &parse_certificates("mem", &der).unwrap()[0];
        assert_eq!(cert.subject, r"CN=Smith\, John,O=Acme\; Inc,C=US");
        assert_eq!(cert.common_name(), Some(r"Smith\, John"));
        assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA384");
        assert_eq!((cert.not_before, cert.not_after), (0, 86_400));
        assert_eq!(cert.serial, "00");
        assert!(is_issued_by(cert, cert));
    }

    #[test]
    fn private_keys_match_their_certificates_by_spki() {
        let server = one_cert("server.crt");
        let ca = one_cert("ca.crt");
        for (name, format) in [
            ("server-pkcs1.key", "RSA PRIVATE KEY"),
            ("server-pkcs8.key", "PRIVATE KEY"),
            ("server-pkcs8.der", "DER"),
            ("server-pkcs1.der", "DER"),
        ] {
            let k = key(name);
            assert_eq!(k.algorithm, KeyAlgorithm::Rsa, "{name}");
            assert_eq!(k.bits, 2048, "{name}");
            assert_eq!(k.format, format, "{name}");
            assert!(!k.encrypted);
            assert_eq!(k.spki_sha256.as_deref(), Some(SERVER_SPKI), "{name}");
            assert_eq!(k.matches(&server), Some(true), "{name}");
            assert_eq!(k.matches(&ca), Some(false), "{name}");
        }
        assert_eq!(key("ca.key").matches(&ca), Some(true));

        let ec_cert = one_cert("ec.crt");
        for (name, format) in [
            ("ec-sec1.key", "EC PRIVATE KEY"),
            ("ec-pkcs8.key", "PRIVATE KEY"),
        ] {
            let k = key(name);
            assert_eq!(k.algorithm, KeyAlgorithm::Ec, "{name}");
            assert_eq!((k.bits, k.curve.as_deref()), (256, Some("prime256v1")));
            assert_eq!(k.format, format);
            assert_eq!(k.matches(&ec_cert), Some(true), "{name}");
        }

        let ed = key("ed25519.key");
        assert_eq!(ed.algorithm, KeyAlgorithm::Ed25519);
        assert_eq!(ed.bits, one_cert("ed25519.crt").public_key.bits);
        assert_eq!(ed.spki_sha256.as_deref(), Some(ED25519_SPKI));

        let dsa = key("dsa.key");
        assert_eq!((dsa.algorithm, dsa.bits), (KeyAlgorithm::Dsa, 1024));
        assert_eq!(dsa.format, "DSA PRIVATE KEY");
    }

    #[test]
    fn ec_parameters_before_the_key_are_skipped() {
        let mut text =
            b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
                .to_vec();
        text.extend(fixture("ec-sec1.key"));
        let k = parse_private_key(&text).unwrap();
        assert_eq!(k.spki_sha256.as_deref(), Some(EC_SPKI));
    }

    #[test]
    fn encrypted_keys_are_reported_without_being_opened() {
        let k = key("encrypted-pkcs8.key");
        assert!(k.encrypted);
        assert_eq!(k.algorithm, KeyAlgorithm::Other("unknown".into()));
        assert_eq!((k.bits, k.spki_sha256.as_deref()), (0, None));
        assert_eq!(k.format, "ENCRYPTED PRIVATE KEY");
        assert_eq!(k.matches(&one_cert("server.crt")), None);

        let legacy = key("legacy-encrypted.key");
        assert!(legacy.encrypted);
        assert_eq!((legacy.algorithm, legacy.bits), (KeyAlgorithm::Rsa, 0));
        assert_eq!(legacy.format, "RSA PRIVATE KEY");
        assert_eq!(legacy.spki_sha256, None);

        // The DER of an encrypted PKCS#8 key.
        let pem = fixture("encrypted-pkcs8.key");
        let block = &pem_blocks(&pem)[0];
        let der = block.decode().unwrap().der.clone();
        let k = parse_private_key(&der).unwrap();
        assert!(k.encrypted);
        assert_eq!(k.format, "DER");
    }

    #[test]
    fn bad_keys_are_errors_that_leak_nothing() {
        assert!(matches!(
            parse_private_key(&fixture("garbage.pem")),
            Err(KeyError::NotAKey { .. })
        ));
        assert_eq!(
            parse_private_key(&fixture("server.crt"))
                .unwrap_err()
                .to_string(),
            "no private key found: PEM blocks found: CERTIFICATE"
        );
        assert!(matches!(
            parse_private_key(&fixture("server.der")),
            Err(KeyError::NotAKey { .. })
        ));
        assert!(matches!(
            parse_private_key(
                b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n"
            ),
            Err(KeyError::Unsupported { .. })
        ));

        // A PKCS#1 key with its middle cut out: valid base64, invalid key.
        let text = String::from_utf8(fixture("server-pkcs1.key")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let cut = [&lines[..3], &lines[20..]].concat().join("\n");
        let err = parse_private_key(cut.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, KeyError::Invalid { format, .. } if format == "RSA PRIVATE KEY"),
            "{err}"
        );
        let shown = format!("{err} {err:?}");
        for line in &lines[1..lines.len() - 1] {
            assert!(!shown.contains(&line[..16]), "key material in {shown}");
        }

        let truncated = &text[..text.len() / 2];
        assert_eq!(
            parse_private_key(truncated.as_bytes())
                .unwrap_err()
                .to_string(),
            "block `RSA PRIVATE KEY` at line 1: no -----END RSA PRIVATE KEY----- line (file truncated?)"
        );
        assert!(matches!(
            parse_private_key(&vec![0u8; MAX_INPUT_BYTES + 1]),
            Err(KeyError::TooLarge { .. })
        ));
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

    #[test]
    fn base64_decoder_is_strict() {
        assert_eq!(base64_decode(b"TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64_decode(b"TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(base64_decode(b"TQ==").as_deref(), Some(&b"M"[..]));
        assert_eq!(base64_decode(b"TQ").as_deref(), Some(&b"M"[..]));
        assert_eq!(base64_decode(b"T"), None);
        assert_eq!(base64_decode(b"TQ=="[..3].as_ref()), None);
        assert_eq!(base64_decode(b"TQ==TQ=="), None);
        assert_eq!(base64_decode(b"T*=="), None);
    }
}
