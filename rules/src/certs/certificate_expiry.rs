use crate::certs::managed_ca::{self, ManagedCa};
use crate::certs::{InScope, cert_name, certificates_in_scope};
use crate::facts::{Certificate, HostFacts};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL004: a certificate is expired or expires within the policy windows.
pub struct CertificateExpiry;

static META: RuleMeta = RuleMeta::new(
    "SSL004",
    "certificate-expiry",
    Severity::High,
    "a certificate is expired or about to expire",
    HELP,
    &[
        "Verifying the validity of the SSL certificates",
        "Key Maintenance",
        "MySQL Reference Manual: Creating SSL and RSA Certificates and Keys",
    ],
)
.controls(&[
    Control::nist("SC-17", "PKI certificates: certificates must be valid when they are relied on (seed: Verifying the validity of the SSL certificates)"),
    Control::nist("SC-12", "key management: certificates must be renewed before they expire (seed: Key Maintenance)"),
    Control::pci("4.2.1", "requires the certificates safeguarding transmissions to be confirmed valid and not expired"),
]);

const HELP: &str = r#"## What it checks

Every certificate the scan found: each certificate of every certificate file
on the host (the server's `root.crt` and `server.crt`, the per-user keys under
`/db/mysql/keygen/<user>/`, copies in `~<user>/.mysql/`, application client
certificates named in database.yml, the certificates a Galera node's
replication and state transfers use (`wsrep_provider_options`
`socket.ssl_ca`/`socket.ssl_cert`, `[sst]` `tca`/`tcert`: the message says
`used by Galera replication` or `SST`, whose expiry stops nodes from
joining, not clients from connecting), every member of a bundle) and the chain
the server presented to the TLS probe (keys parked in `/db/old_keys/` by Key
Maintenance are left out). A certificate is reported when it has
expired (critical), or when it expires within `expiry_high_days` (high) or
`expiry_medium_days` (medium) of the scan date. A presented certificate that
is also a file on the host is reported once, for the file. Every certificate
of the presented chain is judged, intermediates and a root included.

A managed database (Amazon RDS and Aurora, Azure Database for MySQL, Google
Cloud SQL) is issued by its provider's CA, and that CA expires on a date the
provider publishes. When the chain leads to a CA of the table of well-known
managed-database CAs (`docs/managed-cas.md`) whose certificate neither the
server nor the host has, its published expiry is judged the same way: the
server's chain fails with its CA whether or not the CA is sent. A provider CA
that is reported names its generation and the one the provider says to move
to.

## Why it matters

An expired server certificate breaks every client that verifies it, and an
expired client certificate breaks every account that must `REQUIRE X509`:
the application loses its database. This is the connectivity failure the
seed document's "Verifying the validity of the SSL certificates" describes.

## How to fix

Check the dates on the database master:

```sh
cat /etc/mysql/my.cnf | grep ssl-*
cd /db/mysql/5.6/data
openssl x509 -enddate -noout -in server.crt
```

If the certificate has expired or is about to, follow the Key Maintenance
steps in a maintenance window: move the old keys aside
(`mkdir -p /db/old_keys/server /db/old_keys/user`, then
`mv /db/mysql/*/data/root.crt /db/mysql/*/data/server.crt /db/mysql/*/data/server.key /db/old_keys/server/`
and `mv /db/mysql/keygen/mysql /db/mysql/keygen/deploy /db/old_keys/user/`),
run `/engineyard/bin/db_server_ssl_keys.sh`, restart MySQL
(`/etc/init.d/mysql restart`) and click "Apply" on the cloud dashboard so the
new keys are distributed. For users added by hand, regenerate with
`sudo -i /engineyard/bin/db_user_ssl_keys.sh [expire_in_days]` and copy with
`/engineyard/bin/remote_key_copy.sh <username>`.

A managed database's CA is rotated by the provider on request: on Amazon RDS,
`aws rds modify-db-instance --db-instance-identifier <id>
--ca-certificate-identifier rds-ca-rsa2048-g1` (after the clients trust the
new CA: the provider's certificate bundle); on Azure and Cloud SQL, follow the
provider's CA rotation page named in the finding's `documentation` evidence.
"#;

impl Rule for CertificateExpiry {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let scope = certificates_in_scope(host);
        for c in &scope {
            let cert = c.cert;
            let Some((severity, when)) = grade(cx, cert.not_after) else {
                continue;
            };
            // A provider CA is named with the generation to move to.
            let generation = if cert.is_ca || c.cert.index > 0 {
                managed_ca::lookup(&cert.subject)
                    .map(|ca| format!(": {}", generation_advice(ca)))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            // A certificate only Galera names breaks the cluster, not the
            // clients: say so.
            let galera = match (&host.galera, c.probe) {
                (Some(g), None) => g.uses_of(&cert.path),
                _ => Vec::new(),
            };
            let used_by = if galera.is_empty() {
                String::new()
            } else {
                format!(", used by {}", galera.join(" and "))
            };
            let message = format!(
                "certificate {} {when} ({}{used_by}){generation}",
                cert_name(cert),
                c.whereabouts()
            );
            let mut f = self
                .finding(host, message, c.location(""))
                .evidence("subject", cert.subject.clone())
                .evidence("issuer", cert.issuer.clone())
                .evidence("not_after", rfc3339(cert.not_after))
                .evidence("sha256", cert.sha256.clone());
            f.severity = severity;
            out.push(f);
        }
        self.check_published_ca_expiry(cx, host, &scope, out);
    }
}

impl CertificateExpiry {
    /// The CA generation that issued the presented chain, by its published
    /// expiry, when the table knows it: the loop above judges only the
    /// certificates the server sent and the host holds, and a provider's
    /// root is seldom among them. Left out when a certificate of the same
    /// generation in scope (the root itself, sent or on disk, or a regional
    /// CA) expires no later: that one is reported already, with the same
    /// advice.
    fn check_published_ca_expiry(
        &self,
        cx: &Context<'_>,
        host: &HostFacts,
        scope: &[InScope<'_>],
        out: &mut Vec<Finding>,
    ) {
        let Some(probe) = &host.probe else {
            return;
        };
        let on_host: Vec<&Certificate> = host.certificates.values().flatten().collect();
        let Some(issuing) = managed_ca::issuing_ca(&probe.chain, &on_host) else {
            return;
        };
        let Some(ca) = issuing.known else {
            return;
        };
        let Some(expires) = ca.expires else {
            return;
        };
        if scope
            .iter()
            .any(|c| c.cert.not_after <= expires && ca.matches(&c.cert.subject))
        {
            return;
        }
        let Some((severity, when)) = grade(cx, expires) else {
            return;
        };
        let message = format!(
            "issuing CA {} ({}) of the chain presented by the server at {} {when} (published expiry): {}",
            ca.name,
            ca.provider,
            probe.address,
            move_to(ca),
        );
        let location = Location::object(format!("cert:probe:{}#ca:{}", probe.address, ca.name));
        let mut f = self
            .finding(host, message, location)
            .evidence("source", "probe")
            .evidence("ca", ca.name.clone())
            .evidence("provider", ca.provider.clone())
            .evidence("issuer", issuing.issuer.clone())
            .evidence("not_after", rfc3339(expires))
            .evidence("documentation", ca.source.clone());
        if let Some(next) = &ca.successor {
            f = f.evidence("successor", next.clone());
        }
        f.severity = severity;
        out.push(f);
    }
}

/// Critical once expired, then high and medium within the policy windows.
fn grade(cx: &Context<'_>, not_after: i64) -> Option<(Severity, String)> {
    let t = cx.thresholds;
    let left = not_after - cx.as_of;
    let date = crate::facts::format_date(not_after);
    if not_after < cx.as_of {
        Some((Severity::Critical, format!("expired on {date}")))
    } else if left <= t.expiry_high_days.saturating_mul(86_400) {
        Some((Severity::High, expires_in(left.div_euclid(86_400), &date)))
    } else if left <= t.expiry_medium_days.saturating_mul(86_400) {
        Some((Severity::Medium, expires_in(left.div_euclid(86_400), &date)))
    } else {
        None
    }
}

/// `rds-ca-2019 (Amazon RDS), move to rds-ca-rsa2048-g1`.
fn generation_advice(ca: &ManagedCa) -> String {
    format!("{} ({}), {}", ca.name, ca.provider, move_to(ca))
}

fn move_to(ca: &ManagedCa) -> String {
    match &ca.successor {
        Some(next) => format!("move to {next}"),
        None => "move to the provider's current CA".to_string(),
    }
}

fn expires_in(days: i64, date: &str) -> String {
    match days {
        0 => format!("expires in less than a day, on {date}"),
        1 => format!("expires in 1 day, on {date}"),
        n => format!("expires in {n} days, on {date}"),
    }
}

/// `2026-06-06T00:00:00Z`; the raw number when out of range.
fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Thresholds;
    use crate::testkit::*;

    const DIR: &str = "/db/mysql/5.6/data";

    fn master_with(certs: &[(&str, i64)]) -> HostFacts {
        let mut h = host("db-master", "production", &[]);
        for (i, (cn, not_after)) in certs.iter().enumerate() {
            let path = format!("{DIR}/c{i}.crt");
            let c = cert(&path, 0, &format!("CN={cn}"), "CN=ca", *not_after);
            h.certificates.insert(path, vec![c]);
        }
        h
    }

    #[test]
    fn grades_expired_high_and_medium() {
        let as_of = ts("2026-06-01");
        let h = master_with(&[
            ("expired", ts("2026-05-01")),
            ("high", ts("2026-06-06")),
            ("medium", ts("2026-06-20")),
            ("fine", ts("2027-06-01")),
        ]);
        let out = run_at(&CertificateExpiry, vec![h], as_of);
        assert_eq!(out.len(), 3, "{out:#?}");
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(
            out[0].message,
            "certificate CN=expired expired on 2026-05-01 (/db/mysql/5.6/data/c0.crt)"
        );
        assert_eq!(out[1].severity, Severity::High);
        assert_eq!(
            out[1].message,
            "certificate CN=high expires in 5 days, on 2026-06-06 (/db/mysql/5.6/data/c1.crt)"
        );
        assert_eq!(out[2].severity, Severity::Medium);
        assert_eq!(
            out[0].location.file.as_deref(),
            Some("/db/mysql/5.6/data/c0.crt")
        );
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("cert:/db/mysql/5.6/data/c0.crt#0")
        );
        assert_eq!(out[0].evidence["not_after"], "2026-05-01T00:00:00Z");
        assert_eq!(out[0].evidence["issuer"], "CN=ca");
        assert!(out[0].evidence.contains_key("sha256"));
    }

    #[test]
    fn window_edges_follow_the_policy() {
        let as_of = ts("2026-06-01");
        // Exactly 7 days left is inside the 7-day window; one second more is not.
        let h = master_with(&[
            ("edge", as_of + 7 * 86_400),
            ("past", as_of + 7 * 86_400 + 1),
        ]);
        let out = run_at(&CertificateExpiry, vec![h.clone()], as_of);
        assert_eq!(out[0].severity, Severity::High);
        assert_eq!(out[1].severity, Severity::Medium);

        let t = Thresholds {
            expiry_high_days: 0,
            expiry_medium_days: 3,
            ..Thresholds::default()
        };
        assert!(run_with(&CertificateExpiry, vec![h], as_of, &t).is_empty());

        // Expired one second ago is critical, not "expires in 0 days".
        let h = master_with(&[("just", as_of - 1), ("soon", as_of + 3600)]);
        let out = run_at(&CertificateExpiry, vec![h], as_of);
        assert_eq!(out[0].severity, Severity::Critical);
        assert!(
            out[1].message.contains("expires in less than a day"),
            "{}",
            out[1].message
        );
    }

    #[test]
    fn every_member_of_a_bundle_is_judged() {
        let as_of = ts("2026-06-01");
        let mut h = host("app", "production", &[]);
        let path = "/home/deploy/.mysql/root.crt";
        h.certificates.insert(
            path.into(),
            vec![
                cert(path, 0, "CN=new-ca", "CN=new-ca", ts("2036-01-01")),
                cert(path, 1, "CN=old-ca", "CN=old-ca", ts("2026-01-01")),
            ],
        );
        let out = run_at(&CertificateExpiry, vec![h], as_of);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("cert:/home/deploy/.mysql/root.crt#1")
        );
        assert!(
            out[0]
                .message
                .ends_with("(/home/deploy/.mysql/root.crt, certificate 2 of the bundle)"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn probe_chain_is_judged_once() {
        let as_of = ts("2026-06-01");
        let mut h = master_with(&[("db-master", ts("2026-05-01"))]);
        let mut same = h.certificates[&format!("{DIR}/c0.crt")][0].clone();
        same.path = "probe:10.0.0.10:3306".into();
        let mut h2 = h.clone();
        h.probe = Some(probe_with_chain("10.0.0.10:3306", vec![same.clone()]));
        let out = run_at(&CertificateExpiry, vec![h], as_of);
        assert_eq!(out.len(), 1, "the leaf is the file on disk: {out:#?}");

        // The server presents a certificate that is not (or no longer) on disk.
        h2.certificates.clear();
        h2.probe = Some(probe_with_chain("10.0.0.10:3306", vec![same]));
        let out = run_at(&CertificateExpiry, vec![h2], as_of);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].location.file, None);
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("cert:probe:10.0.0.10:3306#0")
        );
        assert!(
            out[0]
                .message
                .ends_with("(presented by the server at 10.0.0.10:3306)"),
            "{}",
            out[0].message
        );
    }

    const ADDR: &str = "db.example.rds.amazonaws.com:3306";
    const RDS_2019: &str = "CN=Amazon RDS us-east-1 2019 CA,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,L=Seattle,ST=Washington,C=US";
    const RDS_2019_ROOT: &str = "CN=Amazon RDS Root 2019 CA,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,ST=Washington,L=Seattle,C=US";
    const RDS_G1: &str = "CN=Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,L=Seattle,ST=WA,C=US";
    const AZURE_ICA: &str = "CN=Microsoft Azure TLS Issuing CA 01,O=Microsoft Corporation,C=US";
    const BALTIMORE: &str = "CN=Baltimore CyberTrust Root,OU=CyberTrust,O=Baltimore,C=IE";

    fn managed(chain: &[(&str, &str, i64)]) -> HostFacts {
        let mut h = host("orders-db", "production", &[]);
        let chain = chain
            .iter()
            .enumerate()
            .map(|(i, (subject, issuer, not_after))| {
                let mut c = cert(&format!("probe:{ADDR}"), i, subject, issuer, *not_after);
                c.is_ca = i > 0;
                c
            })
            .collect();
        h.probe = Some(probe_with_chain(ADDR, chain));
        h
    }

    #[test]
    fn an_expired_provider_ca_is_reported_though_not_presented() {
        let h = managed(&[("CN=orders", RDS_2019, ts("2026-01-01"))]);
        let out = run_at(&CertificateExpiry, vec![h], ts("2024-09-01"));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(
            out[0].message,
            "issuing CA rds-ca-2019 (Amazon RDS) of the chain presented by the server at db.example.rds.amazonaws.com:3306 expired on 2024-08-22 (published expiry): move to rds-ca-rsa2048-g1"
        );
        assert_eq!(
            out[0].location.object.as_deref(),
            Some("cert:probe:db.example.rds.amazonaws.com:3306#ca:rds-ca-2019")
        );
        assert_eq!(out[0].location.file, None);
        assert_eq!(out[0].evidence["successor"], "rds-ca-rsa2048-g1");
        assert_eq!(out[0].evidence["issuer"], RDS_2019);
        assert!(out[0].evidence["documentation"].starts_with("https://docs.aws.amazon.com/"));

        // Before the windows open, nothing; within them, graded as any certificate.
        let h = managed(&[("CN=orders", RDS_2019, ts("2026-01-01"))]);
        assert!(run_at(&CertificateExpiry, vec![h.clone()], ts("2024-06-01")).is_empty());
        let out = run_at(&CertificateExpiry, vec![h.clone()], ts("2024-08-01"));
        assert_eq!(out[0].severity, Severity::Medium);
        assert!(
            out[0].message.contains("expires in 21 days, on 2024-08-22"),
            "{}",
            out[0].message
        );
        let out = run_at(&CertificateExpiry, vec![h], ts("2024-08-22"));
        assert_eq!(
            out[0].severity,
            Severity::High,
            "the whole published day counts"
        );
        assert!(
            out[0].message.contains("expires in less than a day"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn a_current_provider_ca_is_not_reported() {
        let h = managed(&[("CN=orders", RDS_G1, ts("2027-01-01"))]);
        assert!(run_at(&CertificateExpiry, vec![h], ts("2026-06-01")).is_empty());
    }

    #[test]
    fn a_presented_ca_of_the_generation_is_judged_itself_and_named() {
        // The regional CA is sent and expires with the generation: it is
        // reported once, as the certificate, with the generation's advice.
        let h = managed(&[
            ("CN=orders", RDS_2019, ts("2024-08-22")),
            (RDS_2019, RDS_2019_ROOT, ts("2024-08-22")),
        ]);
        let out = run_at(&CertificateExpiry, vec![h], ts("2024-09-01"));
        assert_eq!(out.len(), 2, "{out:#?}");
        assert_eq!(
            out[1].message,
            "certificate CN=Amazon RDS us-east-1 2019 CA expired on 2024-08-22 (chain certificate 2 presented by the server at db.example.rds.amazonaws.com:3306): rds-ca-2019 (Amazon RDS), move to rds-ca-rsa2048-g1"
        );
        assert!(
            !out[0].message.contains("rds-ca-2019"),
            "the leaf is no CA: {}",
            out[0].message
        );

        // A presented CA that outlives the generation's root leaves the
        // root's published date to report.
        let h = managed(&[
            ("CN=orders", RDS_2019, ts("2024-08-22")),
            (RDS_2019, RDS_2019_ROOT, ts("2024-10-01")),
        ]);
        let out = run_at(&CertificateExpiry, vec![h], ts("2024-09-01"));
        let objects: Vec<_> = out
            .iter()
            .filter_map(|f| f.location.object.as_deref())
            .collect();
        assert_eq!(
            objects,
            [
                "cert:probe:db.example.rds.amazonaws.com:3306#0",
                "cert:probe:db.example.rds.amazonaws.com:3306#1",
                "cert:probe:db.example.rds.amazonaws.com:3306#ca:rds-ca-2019",
            ]
        );
    }

    #[test]
    fn a_root_reached_through_the_presented_intermediate_is_judged() {
        let h = managed(&[
            (
                "CN=orders.mysql.database.azure.com",
                AZURE_ICA,
                ts("2025-12-01"),
            ),
            (AZURE_ICA, BALTIMORE, ts("2025-12-01")),
        ]);
        let out = run_at(&CertificateExpiry, vec![h.clone()], ts("2025-06-01"));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].message,
            "issuing CA Baltimore CyberTrust Root (Azure Database for MySQL single server) of the chain presented by the server at db.example.rds.amazonaws.com:3306 expired on 2025-05-12 (published expiry): move to DigiCert Global Root G2"
        );
        // The host holds the root: its own certificate is judged instead.
        let mut with_root = h;
        let root = cert(
            "/etc/ssl/baltimore.crt",
            0,
            BALTIMORE,
            BALTIMORE,
            ts("2025-05-12"),
        );
        with_root.certificates.insert(root.path.clone(), vec![root]);
        let out = run_at(&CertificateExpiry, vec![with_root], ts("2025-06-01"));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].location.file.as_deref(),
            Some("/etc/ssl/baltimore.crt")
        );
    }

    /// A certificate only Galera uses breaks the cluster, not the clients:
    /// the message says who uses it.
    #[test]
    fn galera_certificates_say_they_are_galera_s() {
        let mut h = galera_node(
            "db-1",
            "wsrep_provider_options = \"socket.ssl_cert=/etc/mysql/galera/g.crt;socket.ssl_key=/etc/mysql/galera/g.key;socket.ssl_ca=ca.pem\"\n",
        );
        let expired = cert(
            "/etc/mysql/galera/g.crt",
            0,
            "CN=galera",
            "CN=ca",
            ts("2026-05-01"),
        );
        h.certificates.insert(expired.path.clone(), vec![expired]);
        let ca = cert(
            "/var/lib/mysql/ca.pem",
            0,
            "CN=ca",
            "CN=ca",
            ts("2026-05-02"),
        );
        h.certificates.insert(ca.path.clone(), vec![ca]);
        let out = run_at(&CertificateExpiry, vec![h], ts("2026-06-01"));
        let messages: Vec<&str> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "certificate CN=galera expired on 2026-05-01 (/etc/mysql/galera/g.crt, used by Galera replication)",
                "certificate CN=ca expired on 2026-05-02 (/var/lib/mysql/ca.pem, used by Galera replication)",
            ]
        );
    }

    #[test]
    fn nothing_collected_nothing_reported() {
        let h = host("db-master", "production", &[]);
        assert!(run_at(&CertificateExpiry, vec![h], ts("2026-06-01")).is_empty());
    }
}
