//! Hand-built facts for the certs rules' unit tests.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

use crate::facts::{
    Certificate, FileMeta, FileStatus, Fleet, HostFacts, IdentityKind, KeyAlgorithm, OsUser,
    PrivateKeyFacts, ProbeFacts, PublicKeyInfo, Role, TlsIdentity,
};
use crate::layout::Layout;
use crate::policy::{Thresholds, parse_date};
use crate::{Context, Finding, Location, Rule};

/// Real certificates made by `testdata/gen.sh` (for signature checks).
pub const PROD_CA: &str = include_str!("testdata/prod-ca.crt");
pub const PROD_DEPLOY: &str = include_str!("testdata/prod-deploy.crt");
pub const STAGING_CA: &str = include_str!("testdata/staging-ca.crt");
pub const STAGING_DEPLOY: &str = include_str!("testdata/staging-deploy.crt");
pub const INTER: &str = include_str!("testdata/inter.crt");
pub const INTER_LEAF: &str = include_str!("testdata/inter-leaf.crt");

/// `YYYY-MM-DD` at midnight UTC.
pub fn ts(date: &str) -> i64 {
    parse_date(date).unwrap()
}

pub fn host(name: &str, env: &str, roles: &[Role]) -> HostFacts {
    let mut h = HostFacts::new(name, env, Layout::engineyard());
    h.roles = roles.iter().copied().collect();
    h
}

/// A certificate with a 2048-bit RSA key and a SHA-256 signature; the
/// hashes are derived from the subject so distinct subjects differ.
pub fn cert(path: &str, index: usize, subject: &str, issuer: &str, not_after: i64) -> Certificate {
    let digest = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
    Certificate {
        path: path.to_string(),
        index,
        subject: subject.to_string(),
        issuer: issuer.to_string(),
        serial: "01".into(),
        not_before: not_after - 365 * 86_400,
        not_after,
        public_key: PublicKeyInfo {
            algorithm: KeyAlgorithm::Rsa,
            bits: 2048,
            curve: None,
        },
        signature_algorithm: "sha256WithRSAEncryption".into(),
        is_ca: false,
        subject_alt_names: Vec::new(),
        sha256: digest(&format!("cert {path} {index} {subject}")),
        spki_sha256: digest(&format!("spki {subject}")),
        der: Vec::new(),
    }
}

/// Every certificate of a PEM text, as the loader would describe it.
pub fn pem_certs(path: &str, pem: &str) -> Vec<Certificate> {
    Pem::iter_from_buffer(pem.as_bytes())
        .enumerate()
        .map(|(index, p)| {
            let p = p.unwrap();
            let (_, x) = X509Certificate::from_der(&p.contents).unwrap();
            let (algorithm, bits) = match x.public_key().parsed().unwrap() {
                x509_parser::public_key::PublicKey::RSA(r) => (KeyAlgorithm::Rsa, r.key_size()),
                x509_parser::public_key::PublicKey::EC(e) => (KeyAlgorithm::Ec, e.key_size()),
                _ => (KeyAlgorithm::Other("other".into()), 0),
            };
            let sig_oid = &x.signature_algorithm.algorithm;
            Certificate {
                path: path.to_string(),
                index,
                subject: x.subject().to_string(),
                issuer: x.issuer().to_string(),
                serial: x.raw_serial_as_string().replace(':', ""),
                not_before: x.validity().not_before.timestamp(),
                not_after: x.validity().not_after.timestamp(),
                public_key: PublicKeyInfo {
                    algorithm,
                    bits: bits as u32,
                    curve: None,
                },
                signature_algorithm: x509_parser::objects::oid2sn(
                    sig_oid,
                    x509_parser::objects::oid_registry(),
                )
                .unwrap_or("unknown")
                .to_string(),
                is_ca: x.is_ca(),
                subject_alt_names: Vec::new(),
                sha256: hex::encode(Sha256::digest(&p.contents)),
                spki_sha256: hex::encode(Sha256::digest(x.public_key().raw)),
                der: p.contents.clone(),
            }
        })
        .collect()
}

pub fn present(path: &str, mode: u32, owner: &str, group: &str) -> FileMeta {
    FileMeta {
        path: path.to_string(),
        status: FileStatus::Present,
        mode: Some(mode),
        owner: Some(owner.to_string()),
        group: Some(group.to_string()),
        size: None,
        lines: None,
    }
}

pub fn missing(path: &str) -> FileMeta {
    FileMeta {
        path: path.to_string(),
        status: FileStatus::Missing,
        mode: None,
        owner: None,
        group: None,
        size: None,
        lines: None,
    }
}

/// Records a file as present (0600 mysql:mysql).
pub fn touch(h: &mut HostFacts, path: &str) {
    h.files
        .insert(path.to_string(), present(path, 0o600, "mysql", "mysql"));
}

pub fn rsa_key(spki: &str, bits: u32) -> PrivateKeyFacts {
    PrivateKeyFacts {
        algorithm: KeyAlgorithm::Rsa,
        bits,
        curve: None,
        encrypted: false,
        spki_sha256: Some(spki.to_string()),
        format: "RSA PRIVATE KEY".into(),
    }
}

pub fn identity(
    kind: IdentityKind,
    origin: Location,
    ca: Option<&str>,
    cert: Option<&str>,
    key: Option<&str>,
) -> TlsIdentity {
    TlsIdentity {
        kind,
        origin,
        ca: ca.map(str::to_string),
        cert: cert.map(str::to_string),
        key: key.map(str::to_string),
    }
}

/// The server identity of `/etc/mysql/my.cnf:10` with engineyard paths under `dir`.
pub fn server_identity(dir: &str) -> TlsIdentity {
    identity(
        IdentityKind::Server,
        Location::file("/etc/mysql/my.cnf", Some(10)),
        Some(&format!("{dir}/root.crt")),
        Some(&format!("{dir}/server.crt")),
        Some(&format!("{dir}/server.key")),
    )
}

pub fn os_user(name: &str, uid: u32, home: &str) -> OsUser {
    OsUser {
        name: name.to_string(),
        uid,
        gid: uid,
        home: home.to_string(),
        shell: "/bin/bash".into(),
    }
}

pub fn users(list: &[OsUser]) -> Option<BTreeMap<String, OsUser>> {
    Some(list.iter().map(|u| (u.name.clone(), u.clone())).collect())
}

pub fn probe(address: &str, chain: Vec<Certificate>) -> ProbeFacts {
    ProbeFacts {
        address: address.to_string(),
        greeting_version: None,
        advertises_ssl: true,
        protocol: Some("TLSv1.2".into()),
        cipher: None,
        chain,
        accepted: BTreeMap::new(),
        error: None,
    }
}

/// Runs `rule` on a fleet of `hosts` as the engine does (every host, then the fleet).
pub fn run_with(
    rule: &dyn Rule,
    hosts: Vec<HostFacts>,
    as_of: i64,
    thresholds: &Thresholds,
) -> Vec<Finding> {
    let fleet = Fleet { hosts };
    let cx = Context {
        as_of,
        thresholds,
        fleet: &fleet,
    };
    let mut out = Vec::new();
    for h in &fleet.hosts {
        rule.check_host(&cx, h, &mut out);
    }
    rule.check_fleet(&cx, &mut out);
    // As a whole scan does: the comparisons across environments complete.
    crate::pending::settle(&mut out);
    for f in &out {
        assert_eq!(f.rule_id, rule.meta().id, "finding of another rule");
        assert!(
            !f.message.ends_with('.') && f.message.starts_with(|c: char| !c.is_uppercase()),
            "message style: {}",
            f.message
        );
    }
    out
}

pub fn run(rule: &dyn Rule, hosts: Vec<HostFacts>, as_of: i64) -> Vec<Finding> {
    run_with(rule, hosts, as_of, &Thresholds::default())
}

/// Asserts that every finding has a distinct fingerprint on its host.
pub fn assert_distinct(findings: &[Finding]) {
    let mut seen = std::collections::BTreeSet::new();
    for f in findings {
        assert!(
            seen.insert((f.host.clone(), f.fingerprint.clone())),
            "duplicate fingerprint for {:?}",
            f.location
        );
    }
}
