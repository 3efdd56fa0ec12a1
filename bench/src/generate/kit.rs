//! The key material of a synthetic fleet: one CA, server key and client keys
//! per environment (EC P-256), certificates signed with them, as PEM.

use super::*;

/// A key pair as the snapshot describes it: never the key itself.
pub(super) struct KeyPair {
    pub(super) pkey: PKey<Private>,
    spki_sha256: String,
}

impl KeyPair {
    pub(super) fn ec() -> Result<Self> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let ec = EcKey::generate(&group)?;
        let pkey = PKey::from_ec_key(ec)?;
        let spki = pkey.public_key_to_der()?;
        Ok(KeyPair {
            spki_sha256: hex::encode(openssl::sha::sha256(&spki)),
            pkey,
        })
    }

    pub(super) fn facts(&self) -> Value {
        json!({
            "algorithm": "ec", "bits": 256, "curve": "prime256v1", "encrypted": false,
            "spki_sha256": self.spki_sha256, "format": "EC PRIVATE KEY"
        })
    }
}

/// One environment's keys and certificates (PEM).
pub(super) struct Kit {
    pub(super) ca_pem: String,
    pub(super) server: KeyPair,
    pub(super) server_pem: String,
    pub(super) expired_server_pem: String,
    pub(super) clients: BTreeMap<&'static str, (KeyPair, String)>,
}

pub(super) const CLIENT_USERS: [&str; 3] = ["deploy", "reports", "repl"];

pub(super) fn name(env: &str, ou: Option<&str>, cn: &str) -> Result<openssl::x509::X509Name> {
    let mut b = X509NameBuilder::new()?;
    b.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Bench Shop")?;
    if let Some(ou) = ou {
        b.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, ou)?;
    }
    b.append_entry_by_nid(Nid::COMMONNAME, &format!("{cn}{env}"))?;
    Ok(b.build())
}

pub(super) fn serial(rng: &mut Rng) -> Result<Asn1Integer> {
    let bn = BigNum::from_slice(&rng.next().to_be_bytes())?;
    Ok(bn.to_asn1_integer()?)
}

pub(super) struct Signed<'a> {
    pub(super) subject: openssl::x509::X509Name,
    pub(super) key: &'a PKey<Private>,
    pub(super) issuer: Option<(&'a X509, &'a PKey<Private>)>,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    pub(super) ca: bool,
    /// subjectAltName: a DNS name and an IP address, each if given.
    pub(super) san: Option<String>,
    pub(super) san_ip: Option<String>,
}

pub(super) fn sign(s: Signed<'_>, rng: &mut Rng) -> Result<X509> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = serial(rng)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&s.subject)?;
    match s.issuer {
        Some((cert, _)) => b.set_issuer_name(cert.subject_name())?,
        None => b.set_issuer_name(&s.subject)?,
    }
    b.set_pubkey(s.key)?;
    let (nb, na) = (
        Asn1Time::from_unix(s.not_before)?,
        Asn1Time::from_unix(s.not_after)?,
    );
    b.set_not_before(&nb)?;
    b.set_not_after(&na)?;
    if s.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        b.append_extension(BasicConstraints::new().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_agreement()
                .build()?,
        )?;
    }
    if s.san.is_some() || s.san_ip.is_some() {
        let mut names = SubjectAlternativeName::new();
        if let Some(dns) = &s.san {
            names.dns(dns);
        }
        if let Some(ip) = &s.san_ip {
            names.ip(ip);
        }
        let ext = names.build(&b.x509v3_context(s.issuer.map(|(c, _)| &**c), None))?;
        b.append_extension(ext)?;
    }
    let signer = s.issuer.map(|(_, k)| k).unwrap_or(s.key);
    b.sign(signer, MessageDigest::sha256())?;
    Ok(b.build())
}

pub(super) fn pem(cert: &X509) -> Result<String> {
    Ok(String::from_utf8(cert.to_pem()?)?)
}

impl Kit {
    /// The CA, server and client keys of environment `env`, whose
    /// db_master (if any) has `master_address`.
    pub(super) fn new(
        env: &str,
        master_address: Option<&str>,
        now: i64,
        rng: &mut Rng,
    ) -> Result<Kit> {
        let ca_key = KeyPair::ec()?;
        let ca = sign(
            Signed {
                subject: name("", None, &format!("{env} MySQL CA"))?,
                key: &ca_key.pkey,
                issuer: None,
                not_before: now - 400 * DAY,
                not_after: now + 3250 * DAY,
                ca: true,
                san: None,
                san_ip: None,
            },
            rng,
        )?;
        let server = KeyPair::ec()?;
        let server_cert = |nb: i64, na: i64, rng: &mut Rng| {
            sign(
                Signed {
                    subject: name("", Some(env), "db-master")?,
                    key: &server.pkey,
                    issuer: Some((&ca, &ca_key.pkey)),
                    not_before: nb,
                    not_after: na,
                    ca: false,
                    san: Some(format!("db-master.{env}.internal")),
                    // The address database.yml connects to (SSL023).
                    san_ip: master_address.map(str::to_string),
                },
                rng,
            )
        };
        let current = server_cert(now - 200 * DAY, now + 500 * DAY, rng)?;
        let expired = server_cert(now - 800 * DAY, now - 35 * DAY, rng)?;
        let mut clients = BTreeMap::new();
        for user in CLIENT_USERS {
            let key = KeyPair::ec()?;
            let cert = sign(
                Signed {
                    subject: name("", Some(env), user)?,
                    key: &key.pkey,
                    issuer: Some((&ca, &ca_key.pkey)),
                    not_before: now - 200 * DAY,
                    not_after: now + 700 * DAY,
                    ca: false,
                    san: None,
                    san_ip: None,
                },
                rng,
            )?;
            clients.insert(user, (key, pem(&cert)?));
        }
        Ok(Kit {
            ca_pem: pem(&ca)?,
            server_pem: pem(&current)?,
            expired_server_pem: pem(&expired)?,
            server,
            clients,
        })
    }
}
