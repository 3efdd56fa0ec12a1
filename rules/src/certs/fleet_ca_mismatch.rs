use std::collections::BTreeMap;

use crate::certs::{cert_name, chains_to, identity_description, identity_label};
use crate::facts::{Certificate, HostDigest, IdentityKind, Role, TlsIdentity};
use crate::pending::KeySighting;
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL012: a host's CA or client certificate does not belong to its
/// environment's db_master CA, or two environments share a server key.
pub struct FleetCaMismatch;

static META: RuleMeta = RuleMeta::new(
    "SSL012",
    "fleet-ca-mismatch",
    Severity::High,
    "a host's CA or client certificate differs from its db_master's, or environments share a server key",
    HELP,
    &["Overview", "Key Maintenance", "Keys for Named Users"],
)
.controls(&[
    Control::nist("SC-17", "PKI certificates: every host must trust the environment's one CA (seed: Overview, Key Maintenance)"),
    Control::nist("SC-12", "key management: environments must not share server keys"),
])
.from_host_files();

const HELP: &str = r#"## What it checks

The seed's stack generates one self-signed CA on the db_master and
distributes it, with the server keys, to the other databases and, with each
user's client keys, to application hosts. Within each environment the rule
compares every host with the db_master's CA (the certificate of the master's
`ssl-ca` file that issued its server certificate):

- a replica's `ssl-ca`, or the CA of a client identity (database.yml
  `sslca`, `~<user>/.mysql/root.crt`, `/db/mysql/keygen/<user>/root.crt`,
  `[client] ssl-ca`) that does not contain that CA;
- a client certificate (or a replica's server certificate) that was not
  issued by the master's CA.

Across environments, it reports a server certificate whose key is the same
as another environment's, on every host of the later environment (sorted by
name), naming the earlier one.

## Why it matters

A client whose CA differs from the master's cannot verify the server, and a
client certificate the master's CA did not issue is rejected for accounts
that `REQUIRE X509`: connections fail at the next restart or failover. Two
environments with the same server key (typically staging booted from a
production snapshot) can impersonate each other, and a key leaked from the
weaker environment exposes the stronger one.

## How to fix

Compare fingerprints on the hosts:

```sh
openssl x509 -noout -fingerprint -sha256 -in /db/mysql/5.6/data/root.crt
openssl verify -CAfile /db/mysql/5.6/data/root.crt /home/deploy/.mysql/mysql.crt
```

Redistribute the master's keys by clicking "Apply" on the environment
dashboard; for users added by hand run
`/engineyard/bin/remote_key_copy.sh <username>` on the master. For an
environment booted from another's snapshot, regenerate its keys with the Key
Maintenance steps (move the old keys to `/db/old_keys/`, run
`/engineyard/bin/db_server_ssl_keys.sh`, restart MySQL with
`/etc/init.d/mysql restart`, click "Apply").
"#;

/// The master's CA as clients must know it.
struct MasterCa<'a> {
    master: &'a HostDigest,
    path: &'a str,
    /// Every certificate of the master's CA file (a bundle is fine for
    /// issuing client certificates).
    bundle: &'a [Certificate],
    /// The one that issued the master's server certificate, else the first.
    anchor: &'a Certificate,
}

impl Rule for FleetCaMismatch {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_fleet(&self, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let digests = cx.fleet.digests();
        let mut environments: BTreeMap<&str, Vec<&HostDigest>> = BTreeMap::new();
        for host in digests.iter() {
            environments
                .entry(host.environment.as_str())
                .or_default()
                .push(host);
        }
        for hosts in environments.values() {
            let Some(master) = hosts.iter().find(|h| h.has_role(Role::DbMaster)) else {
                continue;
            };
            let Some(ca) = master_ca(master) else {
                continue;
            };
            for host in hosts {
                let is_master = std::ptr::eq(*host, *master);
                for id in &host.identities {
                    let in_scope = match id.kind {
                        IdentityKind::Server => !is_master && host.has_role(Role::DbReplica),
                        IdentityKind::ClientOptions
                        | IdentityKind::Keygen { .. }
                        | IdentityKind::UserHome { .. }
                        | IdentityKind::App { .. } => true,
                    };
                    if in_scope {
                        self.compare(host, id, &ca, out);
                    }
                }
            }
        }
        self.shared_server_keys(&digests, out);
    }
}

fn master_ca(master: &HostDigest) -> Option<MasterCa<'_>> {
    let id = master.server_identity()?;
    let path = id.ca.as_deref()?;
    let bundle = master.certificates_of(path)?;
    let server_chain = id
        .cert
        .as_deref()
        .and_then(|p| master.certificates_of(p))
        .unwrap_or_default();
    let anchor = bundle
        .iter()
        .find(|ca| chains_to(server_chain, std::slice::from_ref(*ca)))
        .or(bundle.first())?;
    Some(MasterCa {
        master,
        path,
        bundle,
        anchor,
    })
}

impl FleetCaMismatch {
    fn compare(
        &self,
        host: &HostDigest,
        id: &TlsIdentity,
        ca: &MasterCa<'_>,
        out: &mut Vec<Finding>,
    ) {
        let label = identity_label(&id.kind);
        let master_ca_name = format!("{}:{} ({})", ca.master.name, ca.path, cert_name(ca.anchor));
        if let Some(path) = id.ca.as_deref()
            && let Some(certs) = host.certificates_of(path)
            && let Some(first) = certs.first()
            && !certs.iter().any(|c| c.sha256 == ca.anchor.sha256)
        {
            let message = format!(
                "the CA {path} ({}) of {} differs from the db_master's CA {master_ca_name}",
                cert_name(first),
                identity_description(id)
            );
            out.push(
                self.finding_on(
                    host,
                    message,
                    object_at(id, path, &format!("identity:{label}:{path}:ca")),
                )
                .evidence("ca_sha256", first.sha256.clone())
                .evidence("master", ca.master.name.clone())
                .evidence("master_ca_sha256", ca.anchor.sha256.clone()),
            );
        }
        if let Some(path) = id.cert.as_deref()
            && let Some(chain) = host.certificates_of(path)
            && let Some(leaf) = chain.first()
            && !chains_to(chain, ca.bundle)
        {
            let what = if id.kind == IdentityKind::Server {
                "server certificate"
            } else {
                "client certificate"
            };
            let message = format!(
                "{what} {path} ({}, issued by {}) of {} is not issued by the db_master's CA {master_ca_name}",
                cert_name(leaf),
                leaf.issuer,
                identity_description(id)
            );
            out.push(
                self.finding_on(
                    host,
                    message,
                    object_at(id, path, &format!("identity:{label}:{path}:cert")),
                )
                .evidence("issuer", leaf.issuer.clone())
                .evidence("master", ca.master.name.clone())
                .evidence("master_ca_subject", ca.anchor.subject.clone()),
            );
        }
    }

    /// Every database server's key, awaiting the comparison across
    /// environments ([`crate::pending`]): [`crate::pending::completions`] words the
    /// findings once every host is known.
    fn shared_server_keys(&self, hosts: &[HostDigest], out: &mut Vec<Finding>) {
        for host in hosts {
            let Some(leaf) = host
                .server_identity()
                .and_then(|id| id.cert.as_deref())
                .and_then(|p| host.certificates_of(p))
                .and_then(|c| c.first())
            else {
                continue;
            };
            let mut f = self
                .finding_on(
                    host,
                    String::new(),
                    Location::file(leaf.path.clone(), None)
                        .with_object(crate::Subject::server_key(&leaf.path)),
                )
                .evidence("spki_sha256", leaf.spki_sha256.clone());
            f.awaiting = Some(Box::new(KeySighting {
                spki_sha256: leaf.spki_sha256.clone(),
                master: host.has_role(Role::DbMaster),
                path: leaf.path.clone(),
                name: cert_name(leaf),
            }));
            out.push(f);
        }
    }
}

/// The identity's origin when it has a file, else the file in question.
fn object_at(id: &TlsIdentity, path: &str, object: &str) -> Location {
    if id.origin.file.is_some() {
        id.origin.clone().with_object(object)
    } else {
        Location::file(path, None).with_object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::HostFacts;
    use crate::testkit::*;

    const DIR: &str = "/db/mysql/5.6/data";
    const HOME: &str = "/home/deploy/.mysql";

    fn master(env: &str, ca: &str) -> HostFacts {
        let mut h = host("db-master", env, &[Role::DbMaster]);
        h.identities.push(server_identity(DIR));
        let ca_path = format!("{DIR}/root.crt");
        h.certificates
            .insert(ca_path.clone(), pem_certs(&ca_path, ca));
        let crt = format!("{DIR}/server.crt");
        let mut leaf = cert(&crt, 0, "CN=db-master", "CN=x", ts("2030-01-01"));
        leaf.spki_sha256 = format!("{env}-server-key");
        h.certificates.insert(crt, vec![leaf]);
        h
    }

    fn app(env: &str, ca: &str, client: &str) -> HostFacts {
        let mut h = host("app-1", env, &[Role::App]);
        let ca_path = format!("{HOME}/root.crt");
        let crt = format!("{HOME}/mysql.crt");
        h.certificates
            .insert(ca_path.clone(), pem_certs(&ca_path, ca));
        h.certificates.insert(crt.clone(), pem_certs(&crt, client));
        h.identities.push(identity(
            IdentityKind::App {
                path: "/data/shop/current/config/database.yml".into(),
                environment: env.into(),
            },
            Location::file("/data/shop/current/config/database.yml", Some(20)),
            Some(&ca_path),
            Some(&crt),
            Some(&format!("{HOME}/mysql.key")),
        ));
        h
    }

    #[test]
    fn one_ca_per_environment_is_fine() {
        let out = run_at(
            &FleetCaMismatch,
            vec![
                master("production", PROD_CA),
                app("production", PROD_CA, PROD_DEPLOY),
            ],
            AS_OF,
        );
        assert!(out.is_empty(), "{out:#?}");
    }

    #[test]
    fn app_with_another_ca_and_certificate() {
        let out = run_at(
            &FleetCaMismatch,
            vec![
                master("production", PROD_CA),
                app("production", STAGING_CA, STAGING_DEPLOY),
            ],
            AS_OF,
        );
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out.iter().all(|f| f.host == "app-1"));
        assert_eq!(
            out[0].message,
            "the CA /home/deploy/.mysql/root.crt (CN=staging-mysql-ca) of database.yml production \
             (/data/shop/current/config/database.yml:20) differs from the db_master's CA \
             db-master:/db/mysql/5.6/data/root.crt (CN=production-mysql-ca)"
        );
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("identity:app/production:/home/deploy/.mysql/root.crt:ca")
        );
        assert!(out[1].message.starts_with(
            "client certificate /home/deploy/.mysql/mysql.crt (CN=deploy, issued by "
        ));
        assert_distinct(&out);
    }

    #[test]
    fn client_certificate_of_another_ca_with_the_right_ca_file() {
        let out = run_at(
            &FleetCaMismatch,
            vec![
                master("production", PROD_CA),
                app("production", PROD_CA, STAGING_DEPLOY),
            ],
            AS_OF,
        );
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(
            out[0]
                .message
                .contains("is not issued by the db_master's CA")
        );
    }

    #[test]
    fn replica_server_identity_is_compared_but_not_the_masters() {
        let mut replica = master("production", STAGING_CA);
        replica.name = "db-replica".into();
        replica.roles = [Role::DbReplica].into_iter().collect();
        // Same server key as the master: that is the seed's distribution.
        replica
            .certificates
            .get_mut(&format!("{DIR}/server.crt"))
            .unwrap()[0]
            .spki_sha256 = "production-server-key".into();
        let out = run_at(
            &FleetCaMismatch,
            vec![master("production", PROD_CA), replica],
            AS_OF,
        );
        // Hand-built server certificates have no DER, so they chain to nothing.
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out.iter().all(|f| f.host == "db-replica"));
        assert!(out[0].message.starts_with(
            "the CA /db/mysql/5.6/data/root.crt (CN=staging-mysql-ca) of the server's ssl options"
        ));
        assert!(
            out[1]
                .message
                .starts_with("server certificate /db/mysql/5.6/data/server.crt")
        );
    }

    #[test]
    fn no_master_ca_nothing_to_compare() {
        let mut m = master("production", PROD_CA);
        m.identities.clear();
        let out = run_at(
            &FleetCaMismatch,
            vec![m, app("production", STAGING_CA, STAGING_DEPLOY)],
            AS_OF,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn server_key_shared_across_environments() {
        let mut staging = master("staging", STAGING_CA);
        let mut replica = staging.clone();
        replica.name = "db-replica".into();
        replica.roles = [Role::DbReplica].into_iter().collect();
        for h in [&mut staging, &mut replica] {
            h.certificates
                .get_mut(&format!("{DIR}/server.crt"))
                .unwrap()[0]
                .spki_sha256 = "production-server-key".into();
        }
        // Replica certificates must chain to the master CA: give them none.
        replica.identities[0].cert = Some(format!("{DIR}/server.crt"));
        let out = run_at(
            &FleetCaMismatch,
            vec![master("production", PROD_CA), staging, replica],
            AS_OF,
        );
        let shared: Vec<_> = out
            .iter()
            .filter(|f| {
                f.location.object.as_deref() == Some("server-key:/db/mysql/5.6/data/server.crt")
            })
            .collect();
        assert_eq!(shared.len(), 2, "{out:#?}");
        assert!(shared.iter().all(|f| f.environment == "staging"));
        assert_eq!(
            shared[0].message,
            "server certificate /db/mysql/5.6/data/server.crt (CN=db-master) uses the same key as \
             production/db-master (/db/mysql/5.6/data/server.crt)"
        );
    }
}
