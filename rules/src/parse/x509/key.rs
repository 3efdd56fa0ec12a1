//! Private keys to facts: algorithm, size, curve, whether encrypted, and
//! the fingerprint that matches a key to its certificate. Key material is
//! dropped once described and never put into an error.

use openssl::ec::EcKey;
use openssl::error::ErrorStack;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;

use super::der::is_encrypted_pkcs8;
use super::pem::{is_pem, pem_blocks};
use super::{
    KeyError, MAX_INPUT_BYTES, clear_openssl_errors, key_info, openssl_reason, sha256_hex,
};
use crate::facts::{KeyAlgorithm, PrivateKeyFacts};

/// The facts of a private key: algorithm, size, curve, whether it is
/// encrypted, and the SHA-256 of its public key's DER SubjectPublicKeyInfo
/// (equal to [`Certificate::spki_sha256`](crate::facts::Certificate::spki_sha256)
/// of its certificate).
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::pem::pem_blocks;
    use super::*;
    use crate::parse::x509::MAX_INPUT_BYTES;

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
}
