use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    Rsa,
    Ec,
    Ed25519,
    Dsa,
    Other(String),
}

/// The public key of a certificate, or the key pair of a private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyInfo {
    pub algorithm: KeyAlgorithm,
    /// Modulus bits for RSA/DSA, field bits for EC (256 for P-256).
    pub bits: u32,
    /// Named curve for EC keys (`prime256v1`, `secp384r1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

/// One parsed X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    /// File it was read from (or `probe:ADDR` for a presented chain).
    pub path: String,
    /// Position in the file (0 = first certificate of a bundle).
    pub index: usize,
    /// RFC 4514 string, e.g. `CN=db-master,O=Example`.
    pub subject: String,
    pub issuer: String,
    /// Hex, lowercase, no separators.
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub public_key: PublicKeyInfo,
    /// OpenSSL's long name: `sha256WithRSAEncryption`, `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    pub is_ca: bool,
    pub subject_alt_names: Vec<String>,
    /// SHA-256 of the DER encoding, lowercase hex.
    pub sha256: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo: matches [`PrivateKeyFacts::spki_sha256`].
    pub spki_sha256: String,
    /// The certificate itself, for signature checks between certificates.
    #[serde(skip)]
    pub der: Vec<u8>,
}

impl Certificate {
    /// Common name from the subject, if any: the most specific one (first in
    /// RFC 4514 order), as written there (RFC 4514 escapes such as `\,` kept).
    pub fn common_name(&self) -> Option<&str> {
        common_name_of(&self.subject)
    }

    pub fn is_self_signed(&self) -> bool {
        self.subject == self.issuer
    }

    /// Whole days from `as_of` (unix seconds) to expiry; negative once expired.
    pub fn days_left(&self, as_of: i64) -> i64 {
        (self.not_after - as_of).div_euclid(86_400)
    }

    pub fn is_expired(&self, as_of: i64) -> bool {
        self.not_after < as_of
    }

    /// `not_after` as `YYYY-MM-DD`.
    pub fn not_after_date(&self) -> String {
        crate::facts::format_date(self.not_after)
    }

    /// MySQL's auto-generated certificates (5.7+ `mysql_ssl_rsa_setup`, 8.0
    /// auto_generate_certs) carry `Auto_Generated` in their CN.
    pub fn is_auto_generated(&self) -> bool {
        self.subject.contains("Auto_Generated") || self.issuer.contains("Auto_Generated")
    }
}

/// The most specific common name of an RFC 4514 name (`CN=db-master,O=Example`
/// gives `db-master`), RFC 4514 escapes kept.
pub fn common_name_of(name: &str) -> Option<&str> {
    rfc4514_attributes(name).find_map(|atv| atv.strip_prefix("CN="))
}

/// The `type=value` parts of an RFC 4514 name, split at the `,` and `+` that
/// are not backslash-escaped (a value may contain `\,`).
pub(crate) fn rfc4514_attributes(name: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in name.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '+' => {
                parts.push(name[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(name[start..].trim());
    parts.into_iter()
}

/// A private key described by derived facts only: the key material is never
/// copied into facts, snapshots or reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateKeyFacts {
    pub algorithm: KeyAlgorithm,
    pub bits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    /// Encrypted keys (PKCS#8 EncryptedPrivateKeyInfo, or legacy
    /// `Proc-Type: 4,ENCRYPTED`) cannot be matched to a certificate.
    pub encrypted: bool,
    /// SHA-256 of the DER SubjectPublicKeyInfo derived from the key; `None`
    /// when encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spki_sha256: Option<String>,
    /// PEM label as found (`RSA PRIVATE KEY`, `EC PRIVATE KEY`, `PRIVATE KEY`,
    /// `ENCRYPTED PRIVATE KEY`), or `DER`.
    pub format: String,
}

impl PrivateKeyFacts {
    /// True when the key is known to belong to the certificate.
    pub fn matches(&self, cert: &Certificate) -> Option<bool> {
        self.spki_sha256.as_ref().map(|s| *s == cert.spki_sha256)
    }
}
