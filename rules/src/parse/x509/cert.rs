//! Certificates to facts: every certificate of a PEM bundle or DER file,
//! with its names, validity, key and fingerprints, and the issuer check by
//! signature.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use openssl::asn1::Asn1Object;
use openssl::nid::Nid;
use openssl::x509::X509;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::der::{der_tlv, looks_like_der_sequence};
use super::name::format_name;
use super::pem::{is_pem, pem_blocks};
use super::spki::public_key_facts;
use super::{
    CERT_LABELS, CertError, MAX_CERTIFICATES, MAX_INPUT_BYTES, clear_openssl_errors, sha256_hex,
};
use crate::facts::Certificate;

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
    let (public_key, spki_sha256) = public_key_facts(&tbs.subject_pki);
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

/// OpenSSL's long name for a dotted OID (`sha256WithRSAEncryption`,
/// `ecdsa-with-SHA256`, `ED25519`), or the dotted OID when OpenSSL has none.
/// The common ones come from [`oids`](super::oids), the others from
/// OpenSSL's object table.
pub(super) fn oid_long_name(oid: &str) -> String {
    if let Some(name) = super::oids::long_name(oid) {
        return name.to_string();
    }
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

/// True when `ca` issued `cert`: `cert`'s issuer name equals `ca`'s subject
/// (OpenSSL's canonical name comparison) and `cert`'s signature verifies
/// with `ca`'s public key. A self-signed certificate is issued by itself.
pub fn is_issued_by(cert: &Certificate, ca: &Certificate) -> bool {
    let issued = (|| {
        let cert_x509 = decoded(&cert.der)?;
        let ca_x509 = decoded(&ca.der)?;
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

/// Past this many decoded certificates a thread starts over: enough for the
/// certificates of the environments a thread works on at once.
const DECODED_LIMIT: usize = 256;

thread_local! {
    static DECODED: RefCell<HashMap<[u8; 32], X509>> = RefCell::new(HashMap::new());
}

/// Certificates decoded by OpenSSL on this thread, kept by the SHA-256 of
/// their DER. Loading a certificate, OpenSSL 3 also loads its public key
/// through the decoder framework (provider look-ups under locks), and the
/// issuer check meets the same CA once per certificate of its environment:
/// each certificate is decoded once per thread while it is in use. Per
/// thread, so no lock is taken and no OpenSSL object is shared between
/// threads; failures are not kept.
fn decoded(der: &[u8]) -> Option<X509> {
    let key: [u8; 32] = Sha256::digest(der).into();
    if let Some(hit) = DECODED.with_borrow(|m| m.get(&key).cloned()) {
        return Some(hit);
    }
    let x509 = X509::from_der(der).ok()?;
    DECODED.with_borrow_mut(|m| {
        if m.len() >= DECODED_LIMIT {
            m.clear();
        }
        m.insert(key, x509.clone());
    });
    Some(x509)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::facts::{KeyAlgorithm, PublicKeyInfo};
    use crate::parse::x509::{CertError, MAX_CERTIFICATES, MAX_INPUT_BYTES};

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
    fn decoded_certificates_are_kept_by_content_and_bounded() {
        let chain = certs("chain.pem");
        let (server, ca) = (&chain[0], &chain[1]);
        let fake = one_cert("fake-ca.crt");
        // The second round is answered from this thread's decoded copies.
        for _ in 0..2 {
            assert!(is_issued_by(server, ca));
            assert!(!is_issued_by(server, &fake));
            assert!(is_issued_by(&fake, &fake));
        }
        // Certificates that differ in their serial only are decoded apart.
        let der = fixture("server.der");
        let serial = der
            .windows(4)
            .position(|w| w == [0x02, 0x02, 0x10, 0x01])
            .unwrap()
            + 2;
        for n in 0x1000..0x1000 + 2 * DECODED_LIMIT as u16 {
            let mut other = der.clone();
            other[serial..serial + 2].copy_from_slice(&n.to_be_bytes());
            let x509 = decoded(&other).unwrap();
            assert_eq!(
                x509.serial_number()
                    .to_bn()
                    .unwrap()
                    .to_hex_str()
                    .unwrap()
                    .to_string(),
                format!("{n:X}")
            );
            assert!(DECODED.with_borrow(HashMap::len) <= DECODED_LIMIT);
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
}
