//! A certificate's public key to facts: algorithm, size, curve, and the
//! SHA-256 of the SubjectPublicKeyInfo as OpenSSL encodes it (the value a
//! private key's facts are matched on).
//!
//! The common keys (RSA, EC on a curve of [`oids::CURVES`] with an
//! uncompressed point, Ed25519, Ed448) are read from x509-parser's view of
//! the key. OpenSSL 3 loads a public key through its decoder framework,
//! which looks providers up under locks for every key; on a large fleet
//! that was the dearest part of a scan. Such a key is read here only when
//! its encoding is exactly the one OpenSSL would write back (DER, minimal
//! integers, `NULL` RSA parameters...), so the fingerprint over the bytes
//! found is the fingerprint over OpenSSL's re-encoding. An EC point is still
//! checked to lie on its curve, by OpenSSL's point arithmetic (no decoder),
//! as loading the key does. Anything else (explicit EC parameters, a
//! compressed point, RSA-PSS or DSA keys, unusual encodings, broken keys)
//! goes through OpenSSL as before, so the facts never depend on the path.

use std::borrow::Cow;
use std::sync::OnceLock;

use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use x509_parser::asn1_rs::Oid;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::oids::{self, CURVES, Curve};
use super::{clear_openssl_errors, key_info, sha256_hex};
use crate::facts::{KeyAlgorithm, PublicKeyInfo};

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const ED25519: &str = "1.3.101.112";
const ED448: &str = "1.3.101.113";
/// OpenSSL's `OPENSSL_RSA_MAX_MODULUS_BITS`: larger moduli are left to it.
const MAX_RSA_BITS: u32 = 16_384;

/// The key's facts and the SHA-256 of its SubjectPublicKeyInfo.
pub(super) fn public_key_facts(spki: &SubjectPublicKeyInfo<'_>) -> (PublicKeyInfo, String) {
    common_key_facts(spki).unwrap_or_else(|| openssl_public_key_facts(spki))
}

/// The key as OpenSSL reads it; the fingerprint is taken over OpenSSL's
/// re-encoding so that it equals the one derived from the private key.
/// Algorithms OpenSSL cannot load fall back to x509-parser's view.
fn openssl_public_key_facts(spki: &SubjectPublicKeyInfo<'_>) -> (PublicKeyInfo, String) {
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
        _ => KeyAlgorithm::Other(super::cert::oid_long_name(&oid)),
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

/// The facts of a common key in OpenSSL's own encoding, or `None` for
/// OpenSSL to read.
fn common_key_facts(spki: &SubjectPublicKeyInfo<'_>) -> Option<(PublicKeyInfo, String)> {
    let key = &spki.subject_public_key;
    if key.unused_bits != 0 {
        return None;
    }
    let algorithm = &spki.algorithm;
    let oid = algorithm.algorithm.to_id_string();
    let (info, canonical) = match oid.as_str() {
        RSA_ENCRYPTION => {
            let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
                return None;
            };
            let bits = positive_integer_bits(rsa.modulus).filter(|b| *b <= MAX_RSA_BITS)?;
            positive_integer_bits(rsa.exponent)?;
            let mut body = Vec::with_capacity(rsa.modulus.len() + rsa.exponent.len() + 16);
            tlv(0x02, rsa.modulus, &mut body);
            tlv(0x02, rsa.exponent, &mut body);
            let info = PublicKeyInfo {
                algorithm: KeyAlgorithm::Rsa,
                bits,
                curve: None,
            };
            let mut seq = Vec::with_capacity(body.len() + 8);
            tlv(0x30, &body, &mut seq);
            (
                info,
                encode_spki(algorithm.algorithm.as_bytes(), Some(&[0x05, 0x00]), &seq),
            )
        }
        EC_PUBLIC_KEY => {
            let params = algorithm.parameters.as_ref()?;
            let curve_oid = Oid::new(Cow::Borrowed(params.data)).to_id_string();
            let (index, curve) = oids::curve_by_oid(&curve_oid)?;
            let point: &[u8] = &key.data;
            if point.len() != 1 + 2 * curve.field_bytes
                || point[0] != 0x04
                || !on_curve(index, point)
            {
                return None;
            }
            let mut named = Vec::with_capacity(params.data.len() + 2);
            tlv(0x06, params.data, &mut named);
            let info = PublicKeyInfo {
                algorithm: KeyAlgorithm::Ec,
                bits: curve.bits,
                curve: Some(curve.short_name.to_string()),
            };
            (
                info,
                encode_spki(algorithm.algorithm.as_bytes(), Some(&named), point),
            )
        }
        ED25519 | ED448 => {
            let (algorithm_fact, len, bits) = if oid == ED25519 {
                (KeyAlgorithm::Ed25519, 32, 256)
            } else {
                (KeyAlgorithm::Other("ed448".to_string()), 57, 456)
            };
            if key.data.len() != len {
                return None;
            }
            let info = PublicKeyInfo {
                algorithm: algorithm_fact,
                bits,
                curve: None,
            };
            (
                info,
                encode_spki(algorithm.algorithm.as_bytes(), None, &key.data),
            )
        }
        _ => return None,
    };
    (canonical == spki.raw).then(|| (info, sha256_hex(spki.raw)))
}

/// Significant bits of a DER INTEGER's content that is positive, non-zero
/// and minimally encoded (as OpenSSL writes it); `None` otherwise.
fn positive_integer_bits(content: &[u8]) -> Option<u32> {
    let (first, rest) = content.split_first()?;
    if *first & 0x80 != 0 {
        return None;
    }
    let (lead, rest) = match first {
        0 => {
            let (second, rest) = rest.split_first()?;
            if *second & 0x80 == 0 {
                return None;
            }
            (*second, rest)
        }
        _ => (*first, rest),
    };
    let rest_bits = u32::try_from(rest.len()).ok()?.checked_mul(8)?;
    rest_bits.checked_add(8 - lead.leading_zeros())
}

/// True when the uncompressed point lies on the curve `CURVES[index]`, as
/// OpenSSL checks when it loads the key. The group is built once per
/// process.
fn on_curve(index: usize, point: &[u8]) -> bool {
    static GROUPS: [OnceLock<Option<EcGroup>>; CURVES.len()] =
        [const { OnceLock::new() }; CURVES.len()];
    let group = GROUPS[index].get_or_init(|| group_of(&CURVES[index]));
    let ok = group.as_ref().is_some_and(|group| {
        BigNumContext::new()
            .is_ok_and(|mut ctx| EcPoint::from_bytes(group, point, &mut ctx).is_ok())
    });
    clear_openssl_errors();
    ok
}

fn group_of(curve: &Curve) -> Option<EcGroup> {
    let nid = openssl::asn1::Asn1Object::from_str(curve.oid)
        .ok()
        .map(|o| o.nid())
        .filter(|nid| *nid != Nid::UNDEF)?;
    let group = EcGroup::from_curve_name(nid).ok();
    clear_openssl_errors();
    group
}

/// `SEQUENCE { SEQUENCE { OID, params }, BIT STRING { 0 unused, key } }`.
fn encode_spki(algorithm_oid: &[u8], params: Option<&[u8]>, key: &[u8]) -> Vec<u8> {
    let params = params.unwrap_or_default();
    let mut alg = Vec::with_capacity(algorithm_oid.len() + params.len() + 4);
    tlv(0x06, algorithm_oid, &mut alg);
    alg.extend_from_slice(params);
    let mut body = Vec::with_capacity(alg.len() + key.len() + 16);
    tlv(0x30, &alg, &mut body);
    let mut bits = Vec::with_capacity(key.len() + 1);
    bits.push(0);
    bits.extend_from_slice(key);
    tlv(0x03, &bits, &mut body);
    let mut out = Vec::with_capacity(body.len() + 6);
    tlv(0x30, &body, &mut out);
    out
}

/// One DER element (definite, minimal length) appended to `out`.
fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use openssl::dsa::Dsa;
    use openssl::ec::{EcKey, PointConversionForm};
    use openssl::pkey::{Private, Public};
    use openssl::rsa::Rsa;
    use x509_parser::prelude::FromDer;

    use super::super::fixtures::*;
    use super::*;

    fn spki(der: &[u8]) -> SubjectPublicKeyInfo<'_> {
        let (rest, spki) = SubjectPublicKeyInfo::from_der(der).unwrap();
        assert!(rest.is_empty());
        spki
    }

    /// Asserts the key is read without OpenSSL's decoders, with exactly the
    /// facts OpenSSL gives.
    fn assert_read_as_openssl_does(der: &[u8], what: &str) -> PublicKeyInfo {
        let spki = spki(der);
        let ours = common_key_facts(&spki).unwrap_or_else(|| panic!("{what}: left to OpenSSL"));
        let theirs = openssl_public_key_facts(&spki);
        assert_eq!(ours, theirs, "{what}");
        assert_eq!(public_key_facts(&spki), theirs, "{what}");
        ours.0
    }

    fn ec_key(nid: Nid) -> EcKey<Private> {
        EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap()
    }

    #[test]
    fn rsa_keys_match_openssl() {
        for bits in [1024, 2048, 3072, 4096] {
            let rsa = Rsa::generate(bits).unwrap();
            let der = PKey::from_rsa(rsa).unwrap().public_key_to_der().unwrap();
            let info = assert_read_as_openssl_does(&der, &format!("RSA {bits}"));
            assert_eq!(info.bits, bits);
        }
        // A modulus whose top byte is small: the bit count is not a byte count.
        let odd = Rsa::generate(1023).unwrap();
        let der = PKey::from_rsa(odd).unwrap().public_key_to_der().unwrap();
        assert_eq!(assert_read_as_openssl_does(&der, "RSA 1023").bits, 1023);
    }

    #[test]
    fn ec_keys_on_every_listed_curve_match_openssl() {
        for curve in CURVES {
            let nid = group_of(&curve).unwrap().curve_name().unwrap();
            let pkey = PKey::from_ec_key(ec_key(nid)).unwrap();
            let der = pkey.public_key_to_der().unwrap();
            let info = assert_read_as_openssl_does(&der, curve.short_name);
            assert_eq!(info.curve.as_deref(), Some(curve.short_name));
        }
    }

    #[test]
    fn edwards_keys_match_openssl() {
        let ed25519 = PKey::generate_ed25519()
            .unwrap()
            .public_key_to_der()
            .unwrap();
        assert_eq!(
            assert_read_as_openssl_does(&ed25519, "Ed25519").algorithm,
            KeyAlgorithm::Ed25519
        );
        let ed448 = PKey::generate_ed448().unwrap().public_key_to_der().unwrap();
        assert_eq!(
            assert_read_as_openssl_does(&ed448, "Ed448").algorithm,
            KeyAlgorithm::Other("ed448".into())
        );
    }

    #[test]
    fn fixture_certificates_match_openssl() {
        for name in [
            "server.der",
            "ec.crt",
            "ed25519.crt",
            "weak-sha1-1024.crt",
            "weak-md5-1024.crt",
            "fake-ca.crt",
        ] {
            let der = match fixture(name) {
                pem if pem.starts_with(b"-----") => one_cert(name).der,
                der => der,
            };
            let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
            assert_read_as_openssl_does(cert.tbs_certificate.subject_pki.raw, name);
        }
        for cert in certs("chain.pem") {
            let (_, x509) = x509_parser::parse_x509_certificate(&cert.der).unwrap();
            assert_read_as_openssl_does(x509.tbs_certificate.subject_pki.raw, "chain.pem");
        }
    }

    /// Keys not in OpenSSL's own encoding are handed to OpenSSL, and what
    /// it says differs from a naive reading: the reason for the checks.
    #[test]
    fn unusual_keys_are_left_to_openssl() {
        // DSA: always OpenSSL's.
        let dsa = Dsa::generate(2048).unwrap();
        let der = PKey::from_dsa(dsa).unwrap().public_key_to_der().unwrap();
        let spki_dsa = spki(&der);
        assert_eq!(common_key_facts(&spki_dsa), None);
        assert_eq!(public_key_facts(&spki_dsa).0.algorithm, KeyAlgorithm::Dsa);
        assert_eq!(public_key_facts(&spki_dsa).0.bits, 2048);

        // RSA without the NULL parameters: OpenSSL writes them back, so the
        // fingerprint is not the one of the bytes found.
        let rsa = Rsa::generate(1024).unwrap();
        let pkcs1 = rsa.public_key_to_der_pkcs1().unwrap();
        let oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        let bare = encode_spki(&oid, None, &pkcs1);
        let with_null = encode_spki(&oid, Some(&[0x05, 0x00]), &pkcs1);
        assert_eq!(
            with_null,
            PKey::from_rsa(rsa).unwrap().public_key_to_der().unwrap()
        );
        let bare_spki = spki(&bare);
        assert_eq!(common_key_facts(&bare_spki), None);
        let (info, fingerprint) = public_key_facts(&bare_spki);
        assert_eq!(info.bits, 1024);
        assert_eq!(fingerprint, sha256_hex(&with_null));
        assert_ne!(fingerprint, sha256_hex(&bare));

        // A compressed EC point: OpenSSL's, whatever it writes back.
        let ec = ec_key(Nid::X9_62_PRIME256V1);
        let group = ec.group();
        let mut ctx = BigNumContext::new().unwrap();
        let compressed = ec
            .public_key()
            .to_bytes(group, PointConversionForm::COMPRESSED, &mut ctx)
            .unwrap();
        let ec_oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let der = encode_spki(&ec_oid, Some(&p256), &compressed);
        let spki_compressed = spki(&der);
        assert_eq!(common_key_facts(&spki_compressed), None);
        let (info, _) = public_key_facts(&spki_compressed);
        assert_eq!(info.curve.as_deref(), Some("prime256v1"));

        // A point off the curve: OpenSSL refuses the key, so no curve is
        // named; reading the encoding alone would name one.
        let mut point = ec
            .public_key()
            .to_bytes(group, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        *point.last_mut().unwrap() ^= 1;
        let der = encode_spki(&ec_oid, Some(&p256), &point);
        let spki_off = spki(&der);
        assert_eq!(common_key_facts(&spki_off), None);
        assert!(PKey::<Public>::public_key_from_der(&der).is_err());
        let (info, fingerprint) = public_key_facts(&spki_off);
        assert_eq!((info.algorithm, info.curve), (KeyAlgorithm::Ec, None));
        assert_eq!(fingerprint, sha256_hex(&der));
        clear_openssl_errors();

        // Explicit curve parameters: OpenSSL's.
        let mut explicit_group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        explicit_group.set_asn1_flag(openssl::ec::Asn1Flag::EXPLICIT_CURVE);
        let explicit = EcKey::from_public_key(&explicit_group, ec.public_key()).unwrap();
        let der = PKey::from_ec_key(explicit)
            .unwrap()
            .public_key_to_der()
            .unwrap();
        assert_eq!(common_key_facts(&spki(&der)), None);
    }

    #[test]
    fn integers_are_measured_as_openssl_does() {
        assert_eq!(positive_integer_bits(&[0x01]), Some(1));
        assert_eq!(positive_integer_bits(&[0x7f, 0x00]), Some(15));
        assert_eq!(positive_integer_bits(&[0x00, 0x80]), Some(8));
        assert_eq!(positive_integer_bits(&[0x00, 0x80, 0x00]), Some(16));
        assert_eq!(positive_integer_bits(&[]), None);
        assert_eq!(positive_integer_bits(&[0x00]), None, "zero");
        assert_eq!(positive_integer_bits(&[0x00, 0x7f]), None, "not minimal");
        assert_eq!(positive_integer_bits(&[0x80]), None, "negative");
    }

    #[test]
    fn lengths_are_minimal_der() {
        let mut out = Vec::new();
        tlv(0x04, &[0xaa; 0x7f], &mut out);
        assert_eq!(out[..2], [0x04, 0x7f]);
        out.clear();
        tlv(0x04, &[0xaa; 0x80], &mut out);
        assert_eq!(out[..3], [0x04, 0x81, 0x80]);
        out.clear();
        tlv(0x04, &[0xaa; 0x1234], &mut out);
        assert_eq!(out[..4], [0x04, 0x82, 0x12, 0x34]);
        assert_eq!(out.len(), 4 + 0x1234);
    }
}
