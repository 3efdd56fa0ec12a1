//! CA-rotation readiness: for every client trust store a scan found, does
//! it trust the chain its server presents today, and will it trust the
//! server once the server's certificate comes from the next CA
//! (`scan --next-ca FILE`)? "Who breaks when the CA changes": what the
//! 2024 RDS CA rotation (rds-ca-2019 to rds-ca-rsa2048-g1), Azure's move
//! from Baltimore to DigiCert Global Root G2 and Cloud SQL's server CA
//! rotations asked of every application team.
//!
//! The trust stores are the client identities of the fleet's hosts: a
//! database.yml environment's `sslca`, a user's `~/.mysql/root.crt`, the
//! `[client]` `ssl-ca`. Each concerns a server of its own environment: the
//! database host its database.yml `host:` names, else the environment's
//! db_master. The server's current chain is what the probe saw it present
//! (leaf first, with any intermediates), else its `ssl-cert` file.

use serde::{Deserialize, Serialize};

use crate::certs::{cert_name, chains_to, identity_description};
use crate::facts::{Certificate, HostDigest, IdentityKind, Role, TlsIdentity, YmlTarget};

/// A CA a server's certificate will come from after an announced rotation:
/// the certificates of one `--next-ca` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextCa {
    /// The file on the scanning machine, as given.
    pub path: String,
    /// The environment whose servers move to it (`--next-ca ENV=FILE`);
    /// `None`: every environment's.
    pub environment: Option<String>,
    pub certificates: Vec<Certificate>,
}

impl NextCa {
    /// `CN=Amazon RDS eu-west-1 Root CA RSA2048 G1 (next-ca.pem)`, with
    /// `, for production` when it is for one environment.
    pub fn label(&self) -> String {
        let names: Vec<String> = self.anchors().map(cert_name).collect();
        let scope = match &self.environment {
            Some(e) => format!(", for {e}"),
            None => String::new(),
        };
        format!("{} ({}{scope})", names.join(", "), self.path)
    }

    /// True when servers of `environment` move to this CA.
    pub fn applies_to(&self, environment: &str) -> bool {
        self.environment.as_deref().is_none_or(|e| e == environment)
    }

    /// The certificates a client must trust: the file's self-signed roots,
    /// or all of it when it holds none (an intermediate to trust as is).
    fn anchors(&self) -> impl Iterator<Item = &Certificate> {
        let roots = self.certificates.iter().any(Certificate::is_self_signed);
        self.certificates
            .iter()
            .filter(move |c| !roots || c.is_self_signed())
    }

    /// True when `store` trusts this CA: it holds one of its anchors (the
    /// same certificate, or the same subject and key re-issued), or one of
    /// them chains to a certificate of `store` (a cross-signed next CA).
    pub fn trusted_by(&self, store: &[Certificate]) -> bool {
        self.anchors().any(|a| {
            store
                .iter()
                .any(|s| s.subject == a.subject && s.spki_sha256 == a.spki_sha256)
                || chains_to(std::slice::from_ref(a), store)
        })
    }
}

/// One client trust store (a CA file of a host) and the server it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRow {
    pub environment: String,
    /// The host holding the trust store.
    pub host: String,
    /// Who uses it: `database.yml production (/data/shop/...:2)`, and any
    /// other client of the host with the same file for the same server.
    pub client: String,
    /// The CA file (`sslca`, `ssl-ca`, `root.crt`).
    pub ca_file: String,
    /// The database host the client connects to.
    pub server: String,
    /// Trusts the chain the server presents today; `None` when the server's
    /// chain is unknown (not probed, no `ssl-cert` read) or the store could
    /// not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusts_current: Option<bool>,
    /// Trusts every `--next-ca` of its environment; `None` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusts_next: Option<bool>,
    /// The next CAs it does not trust, by label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_next: Vec<String>,
}

/// Rows in report order: environment, host, CA file, clients.
pub fn sort(rows: &mut [TrustRow]) {
    rows.sort_by(|a, b| {
        (&a.environment, &a.host, &a.ca_file, &a.client).cmp(&(
            &b.environment,
            &b.host,
            &b.ca_file,
            &b.client,
        ))
    });
}

/// The chain a database host presents: the probe's, else its `ssl-cert`
/// file (leaf first); empty when neither is known.
pub fn current_chain(server: &HostDigest) -> &[Certificate] {
    if !server.presented.is_empty() {
        return &server.presented;
    }
    server
        .server_identity()
        .and_then(|i| i.cert.as_deref())
        .and_then(|p| server.certificates_of(p))
        .unwrap_or(&[])
}

/// The identities of a host that are client trust stores: a user's
/// `~/.mysql`, `[client]` options, and database.yml environments that
/// connect (not templates such as `default:`, which only feed merges).
fn trust_stores(host: &HostDigest) -> impl Iterator<Item = &TlsIdentity> {
    host.identities.iter().filter(|i| {
        i.ca.is_some()
            && match &i.kind {
                IdentityKind::App { path, environment } => host
                    .yml_uses
                    .iter()
                    .any(|u| &u.path == path && &u.environment == environment),
                IdentityKind::UserHome { .. } | IdentityKind::ClientOptions => true,
                IdentityKind::Server | IdentityKind::Keygen { .. } => false,
            }
    })
}

/// The database host of `environment` a trust store concerns.
fn server_of<'a>(
    host: &HostDigest,
    identity: &TlsIdentity,
    environment: &[&'a HostDigest],
) -> Option<&'a HostDigest> {
    let master = || {
        environment
            .iter()
            .copied()
            .find(|d| d.has_role(Role::DbMaster))
    };
    let IdentityKind::App {
        path,
        environment: env,
    } = &identity.kind
    else {
        return master();
    };
    let target = host
        .yml_uses
        .iter()
        .find(|u| &u.path == path && &u.environment == env)
        .map(|u| &u.target);
    match target {
        Some(YmlTarget::Named(name)) => environment
            .iter()
            .copied()
            .find(|d| d.is_db() && d.names.matches(name))
            .or_else(master),
        Some(YmlTarget::Local) if host.is_db() => {
            environment.iter().copied().find(|d| d.name == host.name)
        }
        _ => master(),
    }
}

/// A trust store judged against its server, with what it was judged from.
pub struct Judged<'a> {
    pub row: TrustRow,
    pub host: &'a HostDigest,
    /// The identities using the store, the application's first.
    pub identities: Vec<&'a TlsIdentity>,
    pub server: &'a HostDigest,
}

/// Every trust store of `hosts` against its server, in inventory order.
pub fn rows(hosts: &[HostDigest], next: &[NextCa]) -> Vec<TrustRow> {
    judge(hosts, next).into_iter().map(|j| j.row).collect()
}

/// [`rows`], each with its host, identities and server.
pub fn judge<'a>(hosts: &'a [HostDigest], next: &[NextCa]) -> Vec<Judged<'a>> {
    let mut environments: std::collections::HashMap<&str, Vec<&HostDigest>> =
        std::collections::HashMap::new();
    for d in hosts {
        environments
            .entry(d.environment.as_str())
            .or_default()
            .push(d);
    }
    let mut out = Vec::new();
    for host in hosts {
        let environment = &environments[host.environment.as_str()];
        let next: Vec<&NextCa> = next
            .iter()
            .filter(|n| n.applies_to(&host.environment))
            .collect();
        // One row per CA file and server: the clients sharing it break together.
        let mut stores: Vec<(&str, &HostDigest, Vec<&TlsIdentity>)> = Vec::new();
        for identity in trust_stores(host) {
            let (Some(server), Some(ca)) = (
                server_of(host, identity, environment),
                identity.ca.as_deref(),
            ) else {
                continue;
            };
            match stores
                .iter_mut()
                .find(|(c, s, _)| *c == ca && std::ptr::eq(*s, server))
            {
                Some((_, _, ids)) => ids.push(identity),
                None => stores.push((ca, server, vec![identity])),
            }
        }
        for (ca_file, server, mut identities) in stores {
            identities.sort_by_key(|i| !matches!(i.kind, IdentityKind::App { .. }));
            let store = host.certificates_of(ca_file);
            let chain = current_chain(server);
            let trusts_current = match store {
                Some(store) if !chain.is_empty() => Some(chains_to(chain, store)),
                _ => None,
            };
            let missing_next: Vec<String> = match store {
                Some(store) => next
                    .iter()
                    .filter(|n| !n.trusted_by(store))
                    .map(|n| n.label())
                    .collect(),
                None => Vec::new(),
            };
            let trusts_next =
                (!next.is_empty() && store.is_some()).then_some(missing_next.is_empty());
            let client: Vec<String> = identities.iter().map(|i| identity_description(i)).collect();
            out.push(Judged {
                row: TrustRow {
                    environment: host.environment.clone(),
                    host: host.name.clone(),
                    client: client.join("; "),
                    ca_file: ca_file.to_string(),
                    server: server.name.clone(),
                    trusts_current,
                    trusts_next,
                    missing_next,
                },
                host,
                identities,
                server,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::x509::extension::BasicConstraints;
    use openssl::x509::{X509, X509Name};

    use super::*;
    use crate::parse::x509::parse_certificates;

    fn key() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    }

    fn name(cn: &str) -> X509Name {
        let mut n = X509Name::builder().unwrap();
        n.append_entry_by_text("CN", cn).unwrap();
        n.build()
    }

    /// A CA certificate for `subject`'s key, signed by `issuer` (itself when None).
    fn ca(
        subject: (&str, &PKey<Private>),
        issuer: Option<(&str, &PKey<Private>)>,
        serial: u32,
    ) -> Certificate {
        let (issuer_cn, issuer_key) = issuer.unwrap_or(subject);
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name(subject.0)).unwrap();
        b.set_issuer_name(&name(issuer_cn)).unwrap();
        b.set_pubkey(subject.1).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(3650).unwrap())
            .unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.sign(issuer_key, MessageDigest::sha256()).unwrap();
        let pem = b.build().to_pem().unwrap();
        parse_certificates("/ca.pem", &pem).unwrap().remove(0)
    }

    fn next(certificates: Vec<Certificate>) -> NextCa {
        NextCa {
            path: "next.pem".into(),
            environment: None,
            certificates,
        }
    }

    /// The ways a store can be ready for a next CA other than holding the
    /// very file: the same root re-issued, and a next CA cross-signed by a
    /// root the store holds; and the ways it is not.
    #[test]
    fn a_store_trusts_the_next_ca_by_certificate_key_or_cross_signature() {
        let (current_key, next_key) = (key(), key());
        let current = ca(("Current Root", &current_key), None, 1);
        let next_root = ca(("Next Root", &next_key), None, 2);
        // The same subject and key, re-issued (a new validity, a new serial).
        let reissued = ca(("Next Root", &next_key), None, 3);
        // The next CA cross-signed by the current root, sent without its
        // self-signed twin: it is trusted as it chains to the store.
        let cross = ca(
            ("Next Root", &next_key),
            Some(("Current Root", &current_key)),
            4,
        );

        let old_only = vec![current.clone()];
        let both = vec![current.clone(), next_root.clone()];
        assert!(!next(vec![next_root.clone()]).trusted_by(&old_only));
        assert!(next(vec![next_root.clone()]).trusted_by(&both));
        assert!(next(vec![reissued]).trusted_by(&both), "re-issued root");
        assert!(
            next(vec![cross.clone()]).trusted_by(&old_only),
            "cross-signed"
        );
        // A file with the self-signed next root is judged by that root: the
        // cross-signed copy beside it does not make an old store ready.
        assert!(!next(vec![cross, next_root.clone()]).trusted_by(&old_only));
        // Another key under the same name is another CA.
        let impostor = ca(("Next Root", &key()), None, 5);
        assert!(!next(vec![impostor]).trusted_by(&both));
        // Scope: a next CA for one environment applies to it alone.
        let scoped = NextCa {
            environment: Some("production".into()),
            ..next(vec![next_root])
        };
        assert!(scoped.applies_to("production") && !scoped.applies_to("staging"));
    }
}
