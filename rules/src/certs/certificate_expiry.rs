use crate::certs::{cert_name, certificates_in_scope};
use crate::facts::HostFacts;
use crate::{Context, Finding, Rule, RuleMeta, Severity};

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
);

const HELP: &str = r#"## What it checks

Every certificate the scan found: each certificate of every certificate file
on the host (the server's `root.crt` and `server.crt`, the per-user keys under
`/db/mysql/keygen/<user>/`, copies in `~<user>/.mysql/`, application client
certificates named in database.yml, every member of a bundle) and the chain
the server presented to the TLS probe (keys parked in `/db/old_keys/` by Key
Maintenance are left out). A certificate is reported when it has
expired (critical), or when it expires within `expiry_high_days` (high) or
`expiry_medium_days` (medium) of the scan date. A presented certificate that
is also a file on the host is reported once, for the file.

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
"#;

impl Rule for CertificateExpiry {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        let t = cx.thresholds;
        for c in certificates_in_scope(host) {
            let cert = c.cert;
            let left = cert.not_after - cx.as_of;
            let (severity, when) = if cert.is_expired(cx.as_of) {
                (
                    Severity::Critical,
                    format!("expired on {}", cert.not_after_date()),
                )
            } else if left <= t.expiry_high_days.saturating_mul(86_400) {
                (Severity::High, expires_in(cert.days_left(cx.as_of), cert))
            } else if left <= t.expiry_medium_days.saturating_mul(86_400) {
                (Severity::Medium, expires_in(cert.days_left(cx.as_of), cert))
            } else {
                continue;
            };
            let message = format!(
                "certificate {} {when} ({})",
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
    }
}

fn expires_in(days: i64, cert: &crate::facts::Certificate) -> String {
    let date = cert.not_after_date();
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

    #[test]
    fn nothing_collected_nothing_reported() {
        let h = host("db-master", "production", &[]);
        assert!(run_at(&CertificateExpiry, vec![h], ts("2026-06-01")).is_empty());
    }
}
