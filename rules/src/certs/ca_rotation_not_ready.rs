//! SSL021 ca-rotation-not-ready: a client trust store will not trust its
//! server once the server's certificate comes from the announced next CA,
//! or does not trust the chain a server seen only on the wire presents.

use crate::certs::{cert_name, identity_label};
use crate::facts::{HostDigest, TlsIdentity};
use crate::readiness::{self, TrustRow, current_chain};
use crate::rule::Control;
use crate::{Context, Finding, Rule, RuleMeta, Severity};

/// SSL021: trust stores that break when the server's CA changes.
pub struct CaRotationNotReady;

static META: RuleMeta = RuleMeta::new(
    "SSL021",
    "ca-rotation-not-ready",
    Severity::High,
    "a client's trust store will not trust its server after the announced CA rotation",
    HELP,
    &[
        "MySQL SSL Support: Key Maintenance",
        "Amazon RDS: Rotating your SSL/TLS certificate (rds-ca-2019 to rds-ca-rsa2048-g1)",
        "Azure Database for MySQL: root CA change (Baltimore to DigiCert Global Root G2)",
        "NIST SP 800-53 SC-12, SC-17",
    ],
)
.controls(&[
    Control::nist("SC-17", "PKI certificates: clients must trust the CA their servers' certificates will come from (the rule's own reference)"),
    Control::nist("SC-12", "key management: a CA rotation must not break the clients (seed: Key Maintenance)"),
]);

const HELP: &str = r#"## What it checks

Every client trust store the scan found, against the database server it is
for (the host its database.yml `host:` names, else its environment's
db_master): a database.yml environment's `sslca`, a user's
`~/.mysql/root.crt`, the `[client]` `ssl-ca`.

- With `sslaudit scan --next-ca FILE` (repeatable: the CA a provider
  announced, or the CA `sslaudit rotate --ca` staged), a store that does not
  hold that CA (the same certificate, the same subject and key re-issued, or
  a certificate it is cross-signed by) is reported: once the server's
  certificate comes from the next CA, that client cannot verify the server.
- For a server whose own `ssl-cert` was not seen (audited from the wire,
  `ssh: none`), a store that does not verify the chain the server presents
  today is reported too. For servers reached over SSH, SSL012 compares the
  stores with the master's CA files instead.

Every store is listed with both answers in the report's CA-rotation
readiness table (JSON `readiness`, the HTML report), whether or not it is
reported.

## Why it matters

When a server's certificate changes to a new CA (RDS moved from rds-ca-2019
to rds-ca-rsa2048-g1 in 2024, Azure from Baltimore CyberTrust Root to
DigiCert Global Root G2, and the seed's Key Maintenance replaces a
self-signed CA), every client that verifies the server and does not trust
the new CA stops connecting at that moment: the application goes down, not
the database. Adding the next CA to the stores before the rotation costs
nothing; finding the stores after the outage is the expensive way.

## How to fix

Append the next CA to the client's bundle (keep the current one until the
rotation is done), then check both:

```sh
cat next-ca.pem >> /home/deploy/.mysql/root.crt
openssl verify -CAfile /home/deploy/.mysql/root.crt next-ca.pem
mysql --ssl-ca=/home/deploy/.mysql/root.crt --ssl-verify-server-cert -h db-master -e 'status'
```

Restart the application so it reads the bundle again. For a fleet whose CA
the seed's scripts generate, `sslaudit rotate --ca` distributes the new CA
to every client before any server certificate changes.
"#;

impl Rule for CaRotationNotReady {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_fleet(&self, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let digests = cx.fleet.digests();
        for j in readiness::judge(&digests, cx.next_ca) {
            self.judge(&j.row, j.host, &j.identities, j.server, out);
        }
    }
}

impl CaRotationNotReady {
    fn judge(
        &self,
        row: &TrustRow,
        host: &HostDigest,
        identities: &[&TlsIdentity],
        server: &HostDigest,
        out: &mut Vec<Finding>,
    ) {
        // The store's first user (the application's, when one uses it)
        // places the finding; every user is named in the message.
        let identity = identities[0];
        let trust = if identities.len() > 1 {
            "trust"
        } else {
            "trusts"
        };
        let label = identity_label(&identity.kind);
        let location = |what: &str| {
            identity
                .origin
                .clone()
                .with_object(format!("identity:{label}:{}:{what}", row.ca_file))
        };
        let current = match row.trusts_current {
            Some(true) => "it trusts the chain the server presents today",
            Some(false) => "it does not trust the chain the server presents today either",
            None => "the server's current chain is unknown",
        };
        if row.trusts_next == Some(false) {
            let message = format!(
                "{} {trust} {}, which does not hold the next CA {}: once {}'s certificate comes \
                 from it, the client cannot verify the server ({current})",
                row.client,
                row.ca_file,
                row.missing_next.join(", "),
                row.server
            );
            out.push(
                self.finding_on(host, message, location("next-ca"))
                    .evidence("server", row.server.clone())
                    .evidence("ca_file", row.ca_file.clone()),
            );
        }
        if row.trusts_current == Some(false)
            && server.server_identity().is_none()
            && let Some(leaf) = current_chain(server).first()
        {
            let message = format!(
                "{} {trust} {}, which does not verify the chain {} presents ({}, issued by {}): \
                 the client cannot verify the server today",
                row.client,
                row.ca_file,
                row.server,
                cert_name(leaf),
                leaf.issuer
            );
            out.push(
                self.finding_on(host, message, location("current"))
                    .evidence("server", row.server.clone())
                    .evidence("ca_file", row.ca_file.clone()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{IdentityKind, Role};
    use crate::readiness::NextCa;
    use crate::testkit::*;

    /// Another CA: the one servers' certificates move to.
    const NEXT: &str = STAGING_CA;

    fn fleet(app_ca_pem: &str, master_probed: bool) -> Vec<crate::facts::HostFacts> {
        let mut master = db_host("db-master");
        if master_probed {
            let chain = pem_certs("probe:10.0.0.10:3306", PROD_DEPLOY);
            master.probe = Some(probe_with_chain("10.0.0.10:3306", chain));
        }
        let mut app = host("app-1", "production", &[Role::App]);
        let ca = "/home/deploy/.mysql/root.crt";
        app.certificates
            .insert(ca.into(), pem_certs(ca, app_ca_pem));
        app.identities.push(identity(
            IdentityKind::UserHome {
                user: "deploy".into(),
            },
            crate::Location::file("/home/deploy/.mysql", None),
            Some(ca),
            None,
            None,
        ));
        vec![master, app]
    }

    fn next() -> Vec<NextCa> {
        vec![NextCa {
            path: "next-ca.pem".into(),
            environment: None,
            certificates: pem_certs("next-ca.pem", NEXT),
        }]
    }

    fn run_next(hosts: Vec<crate::facts::HostFacts>, next: &[NextCa]) -> Vec<Finding> {
        run_with_next_ca(&CaRotationNotReady, hosts, next)
    }

    #[test]
    fn a_store_without_the_next_ca_breaks_at_the_rotation() {
        let f = run_next(fleet(PROD_CA, true), &next());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].host, "app-1");
        assert!(
            f[0].message.contains("does not hold the next CA"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message
                .contains("it trusts the chain the server presents today")
        );
        assert_distinct(&f);
    }

    #[test]
    fn a_store_with_both_cas_is_ready() {
        let both = format!("{PROD_CA}{NEXT}");
        assert!(run_next(fleet(&both, true), &next()).is_empty());
    }

    #[test]
    fn without_next_ca_only_a_wire_seen_server_is_judged() {
        // The master's own files were not seen: its presented chain is
        // what the store must verify, today.
        let f = run_next(fleet(NEXT, true), &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.contains("cannot verify the server today"),
            "{}",
            f[0].message
        );
        // Without a chain nothing is known, so nothing is said.
        assert!(run_next(fleet(NEXT, false), &[]).is_empty());
        assert!(run_next(fleet(PROD_CA, true), &[]).is_empty());
    }
}
