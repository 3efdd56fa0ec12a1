//! Key generation: a CA, server certificates and per-user client
//! certificates, in memory, with the OpenSSL the crate already links (one
//! crypto backend). Nothing here touches a file: [`layout_files`] only says
//! which files a keygen run puts where, with their modes and owners, and the
//! apply engine writes them.
//!
//! Keys are written in the PEM forms old servers read: PKCS#1 `RSA PRIVATE
//! KEY` (yaSSL builds of MySQL 5.5/5.6 read nothing else) and SEC1 `EC
//! PRIVATE KEY`. The seed's scripts default to 1825 days (five years).

use std::fmt;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{Asn1Flag, EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder, X509ReqBuilder};
use sslaudit_rules::digest::sha256_hex;
use sslaudit_rules::layout::Layout;
use sslaudit_rules::parse::x509::parse_certificates;

/// The seed's `db_user_ssl_keys.sh [expire_in_days]` default: five years.
pub const DEFAULT_DAYS: u32 = 1825;
/// Smallest RSA key generated (below it SSL016 reports the key as weak).
pub const MIN_RSA_BITS: u32 = 2048;
/// Largest RSA key generated (larger keys take minutes and gain nothing).
pub const MAX_RSA_BITS: u32 = 8192;
/// Longest certificate lifetime accepted, so `not_after` stays in range.
pub const MAX_DAYS: u32 = 36_500;
/// `not_before` is set this far in the past so that a host whose clock is a
/// little behind the control machine's does not reject a fresh certificate.
const BACKDATE_SECS: i64 = 5 * 60;
/// X.520 upper bound of a common name.
const MAX_CN_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error("RSA keys must be {MIN_RSA_BITS} to {MAX_RSA_BITS} bits, got {0}")]
    RsaBits(u32),
    #[error("validity must be 1 to {MAX_DAYS} days, got {0}")]
    Days(u32),
    #[error("invalid common name `{name}`: {why}")]
    CommonName { name: String, why: String },
    #[error("invalid subject alternative name `{name}`: {why}")]
    SubjectAltName { name: String, why: String },
    #[error("{what}: {message}")]
    Openssl { what: String, message: String },
    #[error("CA certificate: {0}")]
    CaCertificate(String),
    #[error("CA private key could not be read: {0}")]
    CaKey(String),
    #[error("the CA private key does not belong to the CA certificate ({subject})")]
    KeyMismatch { subject: String },
    #[error("the signed certificate was refused: {0}")]
    Signed(String),
    #[error("certificate {subject} is not a CA (basicConstraints CA:TRUE missing)")]
    NotCa { subject: String },
}

/// Wraps an OpenSSL failure with what was being done. Only OpenSSL's reason
/// strings are kept, never data handed to it (which may be key material).
fn ossl(what: &str) -> impl FnOnce(ErrorStack) -> KeygenError + '_ {
    move |e| KeygenError::Openssl {
        what: what.to_string(),
        message: reason(&e),
    }
}

fn reason(e: &ErrorStack) -> String {
    let reasons: Vec<&str> = e.errors().iter().filter_map(|e| e.reason()).collect();
    if reasons.is_empty() {
        "unknown OpenSSL error".to_string()
    } else {
        reasons.join("; ")
    }
}

/// The key type of a generated key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgo {
    /// RSA with this many bits (2048 to 8192).
    Rsa(u32),
    /// ECDSA on NIST P-256 (`prime256v1`). Not read by yaSSL builds.
    EcdsaP256,
}

impl Default for KeyAlgo {
    fn default() -> Self {
        KeyAlgo::Rsa(MIN_RSA_BITS)
    }
}

/// What to put in one leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    /// The subject's CN: the host name for a server, the MySQL user name for
    /// a client (so `REQUIRE SUBJECT '/CN=deploy'` can match).
    pub common_name: String,
    /// DNS names and IP addresses (told apart by parsing). A server
    /// certificate always also carries its CN here.
    pub sans: Vec<String>,
    pub days: u32,
    pub algo: KeyAlgo,
}

impl CertSpec {
    /// A spec with no SANs, [`DEFAULT_DAYS`] and RSA 2048.
    pub fn new(common_name: &str) -> Self {
        CertSpec {
            common_name: common_name.to_string(),
            sans: Vec::new(),
            days: DEFAULT_DAYS,
            algo: KeyAlgo::default(),
        }
    }
}

/// A certificate and its key, in PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub cert_pem: String,
    /// PKCS#1 `RSA PRIVATE KEY` for RSA, SEC1 `EC PRIVATE KEY` for EC.
    pub key_pem: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex (the
    /// `spki_sha256` of the project's certificate and key facts).
    pub spki_sha256: String,
    /// Unix seconds.
    pub not_after: i64,
}

// Hand-written so that logging a plan or a test failure never prints a key.
impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("spki_sha256", &self.spki_sha256)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A certificate authority: its certificate and private key.
pub struct Ca {
    cert: X509,
    key: PKey<Private>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = name_string(&self.cert);
        f.debug_struct("Ca")
            .field("subject", &subject)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A new self-signed CA valid for `days` days.
    pub fn generate(cn: &str, days: u32, algo: KeyAlgo) -> Result<Ca, KeygenError> {
        check_days(days)?;
        check_cn(cn)?;
        let key = generate_key(algo)?;
        let (mut b, _) = leaf_builder(cn, days, &key)?;
        let name = subject_name(cn)?;
        b.set_issuer_name(&name)
            .map_err(ossl("setting the issuer"))?;
        let bc = BasicConstraints::new()
            .critical()
            .ca()
            .build()
            .map_err(ossl("basicConstraints"))?;
        b.append_extension(bc).map_err(ossl("basicConstraints"))?;
        let ku = KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
            .map_err(ossl("keyUsage"))?;
        b.append_extension(ku).map_err(ossl("keyUsage"))?;
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .map_err(ossl("subjectKeyIdentifier"))?;
        b.append_extension(ski)
            .map_err(ossl("subjectKeyIdentifier"))?;
        // Self-signed: the authority key identifier is its own.
        let aki = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&b.x509v3_context(None, None))
            .map_err(ossl("authorityKeyIdentifier"))?;
        b.append_extension(aki)
            .map_err(ossl("authorityKeyIdentifier"))?;
        b.sign(&key, MessageDigest::sha256())
            .map_err(ossl("signing the CA certificate"))?;
        Ok(Ca {
            cert: b.build(),
            key,
        })
    }

    /// An existing CA (the master's `root.crt` and `root.key`). Refuses a
    /// key that does not belong to the certificate and a certificate that
    /// is not a CA.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, KeygenError> {
        let facts = parse_certificates("CA certificate", cert_pem.as_bytes())
            .map_err(|e| KeygenError::CaCertificate(e.to_string()))?;
        let Some(first) = facts.first() else {
            return Err(KeygenError::CaCertificate(
                "no certificate found".to_string(),
            ));
        };
        let cert =
            X509::from_der(&first.der).map_err(|e| KeygenError::CaCertificate(reason(&e)))?;
        if !first.is_ca {
            return Err(KeygenError::NotCa {
                subject: first.subject.clone(),
            });
        }
        // Never pass a passphrase callback: an encrypted key fails here
        // instead of prompting on the terminal.
        let key = PKey::private_key_from_pem_passphrase(key_pem.as_bytes(), b"")
            .map_err(|e| KeygenError::CaKey(reason(&e)))?;
        let public = cert
            .public_key()
            .map_err(|e| KeygenError::CaCertificate(reason(&e)))?;
        if !public.public_eq(&key) {
            return Err(KeygenError::KeyMismatch {
                subject: first.subject.clone(),
            });
        }
        Ok(Ca { cert, key })
    }

    pub fn cert_pem(&self) -> String {
        // Encoding a certificate that was parsed or built cannot fail short
        // of memory exhaustion; an empty string would then fail every later
        // parse loudly.
        self.cert
            .to_pem()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .unwrap_or_default()
    }

    /// The CA key in the PEM form [`Issued::key_pem`] uses.
    pub fn key_pem(&self) -> String {
        key_pem(&self.key).unwrap_or_default()
    }

    /// SHA-256 of the CA's DER SubjectPublicKeyInfo, lowercase hex.
    pub fn spki_sha256(&self) -> String {
        self.key
            .public_key_to_der()
            .map(|d| sha256_hex(&d))
            .unwrap_or_default()
    }

    /// A server certificate: serverAuth, SANs = the CN plus `spec.sans`.
    pub fn issue_server(&self, spec: &CertSpec) -> Result<Issued, KeygenError> {
        let mut sans = vec![spec.common_name.clone()];
        sans.extend(
            spec.sans
                .iter()
                .filter(|s| **s != spec.common_name)
                .cloned(),
        );
        self.issue(spec, &sans, Usage::Server)
    }

    /// A client certificate: clientAuth, CN = the MySQL user name, SANs as given.
    pub fn issue_client(&self, spec: &CertSpec) -> Result<Issued, KeygenError> {
        self.issue(spec, &spec.sans, Usage::Client)
    }

    fn issue(&self, spec: &CertSpec, sans: &[String], usage: Usage) -> Result<Issued, KeygenError> {
        check_days(spec.days)?;
        check_cn(&spec.common_name)?;
        let parsed_sans = sans
            .iter()
            .map(|s| parse_san(s))
            .collect::<Result<Vec<_>, _>>()?;
        let key = generate_key(spec.algo)?;
        let (mut b, not_after) = leaf_builder(&spec.common_name, spec.days, &key)?;
        b.set_issuer_name(self.cert.subject_name())
            .map_err(ossl("setting the issuer"))?;
        let bc = BasicConstraints::new()
            .critical()
            .build()
            .map_err(ossl("basicConstraints"))?;
        b.append_extension(bc).map_err(ossl("basicConstraints"))?;
        let mut ku = KeyUsage::new();
        ku.critical().digital_signature();
        // Key encipherment is RSA key transport; an EC key cannot do it.
        if matches!(spec.algo, KeyAlgo::Rsa(_)) {
            ku.key_encipherment();
        }
        let ku = ku.build().map_err(ossl("keyUsage"))?;
        b.append_extension(ku).map_err(ossl("keyUsage"))?;
        let mut eku = ExtendedKeyUsage::new();
        match usage {
            Usage::Server => eku.server_auth(),
            Usage::Client => eku.client_auth(),
        };
        let eku = eku.build().map_err(ossl("extendedKeyUsage"))?;
        b.append_extension(eku).map_err(ossl("extendedKeyUsage"))?;
        if !parsed_sans.is_empty() {
            let mut san = SubjectAlternativeName::new();
            for s in &parsed_sans {
                match s {
                    San::Dns(d) => san.dns(d),
                    San::Ip(ip) => san.ip(ip),
                };
            }
            let san = san
                .build(&b.x509v3_context(Some(&self.cert), None))
                .map_err(ossl("subjectAltName"))?;
            b.append_extension(san).map_err(ossl("subjectAltName"))?;
        }
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(Some(&self.cert), None))
            .map_err(ossl("subjectKeyIdentifier"))?;
        b.append_extension(ski)
            .map_err(ossl("subjectKeyIdentifier"))?;
        let aki = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&b.x509v3_context(Some(&self.cert), None))
            .map_err(ossl("authorityKeyIdentifier"))?;
        b.append_extension(aki)
            .map_err(ossl("authorityKeyIdentifier"))?;
        b.sign(&self.key, MessageDigest::sha256())
            .map_err(ossl("signing the certificate"))?;
        let cert = b.build();
        let cert_pem = cert.to_pem().map_err(ossl("encoding the certificate"))?;
        let spki = key
            .public_key_to_der()
            .map_err(ossl("encoding the public key"))?;
        Ok(Issued {
            cert_pem: String::from_utf8_lossy(&cert_pem).into_owned(),
            key_pem: key_pem(&key)?,
            spki_sha256: sha256_hex(&spki),
            not_after,
        })
    }
}

/// A new key pair and a certificate request for it, for a CA whose key
/// lives elsewhere: `openssl x509 -req -extfile <extfile> -extensions v3`
/// run where the CA key is signs it with the same extensions
/// [`Ca::issue_server`]/[`Ca::issue_client`] would set.
pub struct LeafRequest {
    key: PKey<Private>,
    pub csr_pem: String,
    pub extfile: String,
    pub days: u32,
}

impl fmt::Debug for LeafRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafRequest")
            .field("extfile", &self.extfile)
            .finish_non_exhaustive()
    }
}

/// A request for a server (`server`) or client certificate per `spec`
/// (a server's CN is also its first SAN).
pub fn leaf_request(spec: &CertSpec, server: bool) -> Result<LeafRequest, KeygenError> {
    check_days(spec.days)?;
    check_cn(&spec.common_name)?;
    let mut sans = Vec::new();
    if server {
        sans.push(spec.common_name.clone());
    }
    sans.extend(
        spec.sans
            .iter()
            .filter(|s| !server || **s != spec.common_name)
            .cloned(),
    );
    let parsed = sans
        .iter()
        .map(|s| parse_san(s))
        .collect::<Result<Vec<_>, _>>()?;
    let key = generate_key(spec.algo)?;
    let mut b = X509ReqBuilder::new().map_err(ossl("building the request"))?;
    let subject = subject_name(&spec.common_name)?;
    b.set_subject_name(&subject)
        .map_err(ossl("setting the subject"))?;
    b.set_pubkey(&key).map_err(ossl("setting the public key"))?;
    b.sign(&key, MessageDigest::sha256())
        .map_err(ossl("signing the request"))?;
    let csr = b.build().to_pem().map_err(ossl("encoding the request"))?;
    // Only values checked by parse_san reach this text: letters, digits,
    // `-`, `_`, `.`, `*` and IP addresses.
    let mut ext = String::from("[v3]\nbasicConstraints=critical,CA:FALSE\n");
    ext.push_str(if matches!(spec.algo, KeyAlgo::Rsa(_)) {
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
    } else {
        "keyUsage=critical,digitalSignature\n"
    });
    ext.push_str(if server {
        "extendedKeyUsage=serverAuth\n"
    } else {
        "extendedKeyUsage=clientAuth\n"
    });
    if !parsed.is_empty() {
        let list: Vec<String> = parsed
            .iter()
            .map(|s| match s {
                San::Dns(d) => format!("DNS:{d}"),
                San::Ip(ip) => format!("IP:{ip}"),
            })
            .collect();
        ext.push_str(&format!("subjectAltName={}\n", list.join(",")));
    }
    ext.push_str("subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    Ok(LeafRequest {
        key,
        csr_pem: String::from_utf8_lossy(&csr).into_owned(),
        extfile: ext,
        days: spec.days,
    })
}

impl LeafRequest {
    /// Accepts the certificate signed for this request: it must carry this
    /// request's public key and verify against `ca_cert_pem`.
    pub fn accept(&self, cert_pem: &str, ca_cert_pem: &str) -> Result<Issued, KeygenError> {
        let bad = |why: &str| KeygenError::Signed(why.to_string());
        let cert = X509::from_pem(cert_pem.as_bytes())
            .map_err(|e| bad(&format!("not a PEM certificate: {}", reason(&e))))?;
        let public = cert
            .public_key()
            .map_err(|e| bad(&format!("no public key: {}", reason(&e))))?;
        if !public.public_eq(&self.key) {
            return Err(bad("it does not carry the requested key"));
        }
        let ca = X509::from_pem(ca_cert_pem.as_bytes())
            .map_err(|e| KeygenError::CaCertificate(reason(&e)))?;
        let ca_key = ca
            .public_key()
            .map_err(|e| KeygenError::CaCertificate(reason(&e)))?;
        if !cert.verify(&ca_key).unwrap_or(false) {
            return Err(bad(
                "its signature does not verify against the CA certificate",
            ));
        }
        let spki = self
            .key
            .public_key_to_der()
            .map_err(ossl("encoding the public key"))?;
        let not_after = parse_certificates("signed certificate", cert_pem.as_bytes())
            .ok()
            .and_then(|c| c.first().map(|c| c.not_after))
            .unwrap_or_default();
        Ok(Issued {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem(&self.key)?,
            spki_sha256: sha256_hex(&spki),
            not_after,
        })
    }
}

#[derive(Clone, Copy)]
enum Usage {
    Server,
    Client,
}

enum San {
    Dns(String),
    Ip(String),
}

fn parse_san(s: &str) -> Result<San, KeygenError> {
    let bad = |why: &str| KeygenError::SubjectAltName {
        name: s.to_string(),
        why: why.to_string(),
    };
    // `[::1]` is how an IPv6 address is often written next to a port.
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(San::Ip(ip.to_string()));
    }
    if s.is_empty() || s.len() > 253 {
        return Err(bad("a DNS name must be 1 to 253 characters"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    let mut labels: Vec<&str> = s.trim_end_matches('.').split('.').collect();
    // A wildcard is allowed as the whole leftmost label only.
    if labels.len() > 1 && labels[0] == "*" {
        labels.remove(0);
    }
    if !labels.iter().all(|l| label_ok(l)) {
        return Err(bad(
            "not an IP address, and not a DNS name (letters, digits, `-`, `_` in dot-separated labels)",
        ));
    }
    Ok(San::Dns(s.trim_end_matches('.').to_string()))
}

fn check_days(days: u32) -> Result<(), KeygenError> {
    if days == 0 || days > MAX_DAYS {
        return Err(KeygenError::Days(days));
    }
    Ok(())
}

fn check_cn(cn: &str) -> Result<(), KeygenError> {
    let bad = |why: &str| KeygenError::CommonName {
        name: cn.to_string(),
        why: why.to_string(),
    };
    if cn.is_empty() {
        return Err(bad("empty"));
    }
    if cn.chars().count() > MAX_CN_LEN {
        return Err(bad("longer than 64 characters"));
    }
    if cn.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    Ok(())
}

fn generate_key(algo: KeyAlgo) -> Result<PKey<Private>, KeygenError> {
    match algo {
        KeyAlgo::Rsa(bits) => {
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(KeygenError::RsaBits(bits));
            }
            let rsa = Rsa::generate(bits).map_err(ossl("generating an RSA key"))?;
            PKey::from_rsa(rsa).map_err(ossl("generating an RSA key"))
        }
        KeyAlgo::EcdsaP256 => {
            let mut group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)
                .map_err(ossl("loading curve P-256"))?;
            // A named curve, not explicit parameters: TLS peers only accept those.
            group.set_asn1_flag(Asn1Flag::NAMED_CURVE);
            let ec = EcKey::generate(&group).map_err(ossl("generating an EC key"))?;
            PKey::from_ec_key(ec).map_err(ossl("generating an EC key"))
        }
    }
}

/// PKCS#1 for RSA, SEC1 for EC: the traditional forms every MySQL build reads.
fn key_pem(key: &PKey<Private>) -> Result<String, KeygenError> {
    let pem = match key.id() {
        Id::RSA => key
            .rsa()
            .and_then(|r| r.private_key_to_pem())
            .map_err(ossl("encoding the RSA key"))?,
        Id::EC => key
            .ec_key()
            .and_then(|k| k.private_key_to_pem())
            .map_err(ossl("encoding the EC key"))?,
        _ => key
            .private_key_to_pem_pkcs8()
            .map_err(ossl("encoding the key"))?,
    };
    Ok(String::from_utf8_lossy(&pem).into_owned())
}

fn subject_name(cn: &str) -> Result<openssl::x509::X509Name, KeygenError> {
    let mut n = X509NameBuilder::new().map_err(ossl("building the subject"))?;
    n.append_entry_by_nid(Nid::COMMONNAME, cn)
        .map_err(ossl("setting the common name"))?;
    Ok(n.build())
}

/// A v3 builder with subject, random serial, validity and public key set;
/// returns the `not_after` it used (unix seconds).
fn leaf_builder(
    cn: &str,
    days: u32,
    key: &PKey<Private>,
) -> Result<(X509Builder, i64), KeygenError> {
    let mut b = X509Builder::new().map_err(ossl("building a certificate"))?;
    b.set_version(2).map_err(ossl("setting the version"))?;
    // A random 128-bit serial: no serial file shared between runs, and no
    // two certificates of one CA share a serial (RFC 5280 4.1.2.2).
    let mut serial = BigNum::new().map_err(ossl("generating the serial"))?;
    serial
        .rand(128, MsbOption::ONE, false)
        .map_err(ossl("generating the serial"))?;
    let serial = serial
        .to_asn1_integer()
        .map_err(ossl("generating the serial"))?;
    b.set_serial_number(&serial)
        .map_err(ossl("setting the serial"))?;
    let subject = subject_name(cn)?;
    b.set_subject_name(&subject)
        .map_err(ossl("setting the subject"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let not_before = now - BACKDATE_SECS;
    let not_after = now + i64::from(days) * 86_400;
    let nb = Asn1Time::from_unix(not_before).map_err(ossl("setting notBefore"))?;
    b.set_not_before(&nb).map_err(ossl("setting notBefore"))?;
    let na = Asn1Time::from_unix(not_after).map_err(ossl("setting notAfter"))?;
    b.set_not_after(&na).map_err(ossl("setting notAfter"))?;
    b.set_pubkey(key).map_err(ossl("setting the public key"))?;
    Ok((b, not_after))
}

fn name_string(cert: &X509) -> String {
    cert.subject_name()
        .entries()
        .filter_map(|e| {
            let v = e.data().to_string().ok()?;
            Some(format!("{}={}", e.object().nid().short_name().ok()?, v))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One file of a keygen run on one host.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub host: String,
    /// Absolute path.
    pub path: String,
    pub content: String,
    /// Permission bits: 0600 for private keys, 0644 for certificates.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// A private key: created with its mode at open time, never logged.
    pub private: bool,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("KeyFile");
        d.field("host", &self.host)
            .field("path", &self.path)
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("owner", &self.owner)
            .field("group", &self.group)
            .field("private", &self.private);
        if !self.private {
            d.field("content", &self.content);
        }
        d.finish()
    }
}

/// The files of a keygen run laid out for `layout`, sorted by host and path:
///
/// - per database host (`servers`: host, its data directory, its server
///   certificate): `<datadir>/<server_ca|server_cert|server_key>`, owned by
///   the service user (mysqld reads the key);
/// - on every database host, for each of `users` (admin users and the
///   application user, the seed's distribution):
///   `<keygen_dir>/<user>/<client_ca|client_cert|client_key>` owned by root,
///   as the seed's root-run scripts leave them (skipped when the layout has
///   no keygen directory);
/// - per application host (`app_hosts`: host, user, home): that user's keys
///   in `<home>/<client_dir>/`, owned by the user. A user without an entry in
///   `users` gets nothing.
///
/// Private keys are 0600, certificates 0644.
pub fn layout_files(
    layout: &Layout,
    ca: &Ca,
    servers: &[(String, String, Issued)],
    users: &[(String, Issued)],
    app_hosts: &[(String, String, String)],
) -> Vec<KeyFile> {
    let ca_pem = ca.cert_pem();
    let service = layout.service_user.as_str();
    let mut out = Vec::new();
    let mut triple = |host: &str, dir: &str, names: [&str; 3], issued: &Issued, owner: &str| {
        let dir = dir.trim_end_matches('/');
        let [ca_name, cert_name, key_name] = names;
        for (name, content, private) in [
            (ca_name, &ca_pem, false),
            (cert_name, &issued.cert_pem, false),
            (key_name, &issued.key_pem, true),
        ] {
            out.push(KeyFile {
                host: host.to_string(),
                path: format!("{dir}/{name}"),
                content: content.clone(),
                mode: if private { 0o600 } else { 0o644 },
                owner: owner.to_string(),
                group: owner.to_string(),
                private,
            });
        }
    };
    let server_names = [
        layout.server_ca.as_str(),
        layout.server_cert.as_str(),
        layout.server_key.as_str(),
    ];
    let client_names = [
        layout.client_ca.as_str(),
        layout.client_cert.as_str(),
        layout.client_key.as_str(),
    ];
    for (host, datadir, issued) in servers {
        triple(host, datadir, server_names, issued, service);
        if let Some(keygen) = layout.keygen_dir.as_deref() {
            let keygen = keygen.trim_end_matches('/');
            for (user, issued) in users {
                triple(
                    host,
                    &format!("{keygen}/{user}"),
                    client_names,
                    issued,
                    "root",
                );
            }
        }
    }
    for (host, user, home) in app_hosts {
        if let Some((_, issued)) = users.iter().find(|(u, _)| u == user) {
            triple(
                host,
                &layout.client_dir_for(home),
                client_names,
                issued,
                user,
            );
        }
    }
    out.sort_by(|a, b| (&a.host, &a.path).cmp(&(&b.host, &b.path)));
    // A host listed twice (as two servers, or as server and app host with the
    // same paths) must not get two writes of one path.
    out.dedup_by(|a, b| a.host == b.host && a.path == b.path);
    out
}
