//! SSL023: the name an application connects to is not a name of the
//! certificate the server presents, so identity checking fails, or is being
//! skipped.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::app::driver::{EnvTls, Tri};
use crate::facts::{Certificate, HostDigest, HostNames};
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct AppServerNameMismatch;

const HELP: &str = r#"## What it checks

For every MySQL environment of every database.yml whose `host:` is a
literal name or address of a database host of its environment (its inventory name,
address or alias, or the server's `@@hostname`), the certificate that server
presents (to the probe; else the file its `ssl-cert` names) must carry that
name, as TLS clients check it (RFC 6125, OpenSSL's `X509_check_host`):

- a DNS name must match a `DNS:` subject alternative name (a `*.` wildcard
  stands for exactly one leftmost label), or, only when the certificate has
  no DNS name at all, its common name;
- an IP address must match an `IP:` subject alternative name.

The finding says what the application's driver (docs/drivers.md) makes of
it: where identity is checked the connection fails; where it is not
(mysql2 on MariaDB Connector/C before 3.4 never checks it, even with
`sslverify: true`), nothing notices.

## Why it matters

A client that checks the server's name cannot connect, so someone will
switch verification off to make it work. A client that does not check it
accepts any certificate of the same CA: every other server, replica or
leaked key of that CA can impersonate the database. Either way the
certificate does not say what the application relies on.

## How to fix

Issue the server's certificate with every name clients use in its
subjectAltName (`DNS:db-master.internal,IP:10.0.0.10`), e.g. with `sslaudit
keygen --server-name`, install it and restart the server (master first,
then replicas); or point database.yml at a name the certificate has.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL023",
    "app-server-name-mismatch",
    Severity::Medium,
    "the name an application connects to is not in the server certificate's SAN/CN",
    HELP,
    &[
        "RFC 6125: Representation and Verification of Domain-Based Application Service Identity",
        "https://github.com/brianmario/mysql2/issues/879",
        "docs/drivers.md: the driver behaviour table",
    ],
)
.controls(&[
    Control::nist("IA-3", "device identification and authentication: the server's identity does not match the name used"),
    Control::nist("SC-23", "session authenticity: the client cannot bind the session to the server it meant"),
]);

/// True when `cert` is valid for `host` as a TLS client checks it.
pub fn certificate_names(cert: &Certificate, host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return cert
            .subject_alt_names
            .iter()
            .any(|san| san.parse::<IpAddr>().is_ok_and(|s| s == ip));
    }
    let host = HostNames::normalize(host);
    let dns: Vec<&String> = cert
        .subject_alt_names
        .iter()
        .filter(|s| s.parse::<IpAddr>().is_err())
        .collect();
    if dns.is_empty() {
        return cert
            .common_name()
            .is_some_and(|cn| dns_match(&HostNames::normalize(cn), &host));
    }
    dns.iter()
        .any(|san| dns_match(&HostNames::normalize(san), &host))
}

/// `pattern` (a SAN, lowercase) names `host`: equal, or `*.rest` for one
/// label followed by `rest`.
fn dns_match(pattern: &str, host: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix("*.") {
        return host
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest);
    }
    pattern == host
}

/// The certificate's names, for messages.
fn names_of(cert: &Certificate) -> String {
    if cert.subject_alt_names.is_empty() {
        format!(
            "no subjectAltName, CN {}",
            cert.common_name().unwrap_or("(none)")
        )
    } else {
        format!("subjectAltName {}", cert.subject_alt_names.join(", "))
    }
}

impl AppServerNameMismatch {
    fn check(&self, app: &HostDigest, e: &EnvTls, server: &HostDigest, out: &mut Vec<Finding>) {
        let Some(host) = e.host.as_deref() else {
            return;
        };
        let Some(cert) = server.server_certificate() else {
            return;
        };
        if certificate_names(cert, host) {
            return;
        }
        let consequence = match e.identity {
            Tri::Yes => "its driver checks the name, so the connection fails",
            Tri::No => {
                "its driver does not check the name, so nothing notices: any certificate of the same CA is accepted as this server"
            }
            Tri::Unknown => {
                "connections that check the server's identity fail, and ones that do not are open to any certificate of the same CA"
            }
        };
        let msg = format!(
            "database.yml environment {} ({}{}) connects to {host}, a name the certificate of {} does not carry ({}): {consequence}",
            e.environment,
            e.path,
            e.host_line.map(|l| format!(":{l}")).unwrap_or_default(),
            server.name,
            names_of(cert)
        );
        let loc = Location::file(e.path.clone(), e.host_line)
            .with_object(crate::Subject::database_yml(&e.environment, Some("host")));
        out.push(
            self.finding_on(app, msg, loc)
                .evidence("environment", e.environment.clone())
                .evidence("host", host)
                .evidence("server", server.name.clone())
                .evidence("certificate", cert.path.clone())
                .evidence("identity_checked", e.identity.as_str()),
        );
    }
}

impl Rule for AppServerNameMismatch {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_fleet(&self, cx: &Context<'_>, out: &mut Vec<Finding>) {
        // Names resolve within the application's environment: host names
        // repeat across environments (`db-master` in production and in
        // staging), and staging's application does not reach production's.
        let digests = cx.fleet.digests();
        let mut by_name: HashMap<(&str, &str), &HostDigest> = HashMap::new();
        for d in digests.iter().filter(|d| d.is_db()) {
            for name in d.names.iter() {
                by_name.entry((&d.environment, name)).or_insert(d);
            }
        }
        for app in digests.iter() {
            for e in &app.client_tls {
                if e.encrypted == Tri::No {
                    continue;
                }
                let Some(host) = e.host.as_deref() else {
                    continue;
                };
                let name = HostNames::normalize(host);
                if let Some(server) = by_name.get(&(app.environment.as_str(), name.as_str())) {
                    self.check(app, e, server, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str, sans: &[&str]) -> Certificate {
        let mut c = crate::testkit::cert(
            "/db/server.crt",
            0,
            &format!("CN={cn},O=Example"),
            "CN=CA",
            0,
        );
        c.subject_alt_names = sans.iter().map(|s| s.to_string()).collect();
        c
    }

    /// Two environments with a `db-master` each: an application is
    /// judged against the certificate of its own environment's server,
    /// whichever environment comes first.
    #[test]
    fn a_name_resolves_within_the_applications_environment() {
        use crate::facts::Role;
        use crate::testkit::{app_host, probe_with_chain, run_fleet, tcp_env, with_seed_keys};
        let server = |env: &str, sans: &[&str]| {
            let mut h = crate::testkit::host("db-master", env, &[Role::DbMaster]);
            h.address = Some(format!("10.0.{}.10", env.len()));
            h.probe = Some(probe_with_chain(
                "db-master:3306",
                vec![cert("db-master", sans)],
            ));
            h
        };
        let app = |env: &str| {
            let mut h = app_host(vec![with_seed_keys(tcp_env("production", 1, "db-master"))]);
            h.environment = env.to_string();
            h
        };
        for order in [["production", "staging"], ["staging", "production"]] {
            let mut hosts = Vec::new();
            for env in order {
                // Production's certificate carries the name; staging's does not.
                let sans: &[&str] = if env == "production" {
                    &["db-master"]
                } else {
                    &["db.staging.internal"]
                };
                hosts.push(server(env, sans));
                hosts.push(app(env));
            }
            // The rule itself resolves within an environment, whether it
            // is shown one environment (as the engine does) or several.
            let per_env = run_fleet(&AppServerNameMismatch, hosts.clone(), &Default::default());
            let fleet = crate::facts::Fleet { hosts };
            let cx = Context {
                as_of: crate::testkit::AS_OF,
                thresholds: &Default::default(),
                fleet: &fleet,
                next_ca: &[],
            };
            let mut found = Vec::new();
            AppServerNameMismatch.check_fleet(&cx, &mut found);
            assert_eq!(found, per_env);
            let envs: Vec<&str> = found.iter().map(|f| f.environment.as_str()).collect();
            assert_eq!(envs, ["staging"], "{order:?}: {found:#?}");
            assert!(
                found[0].message.contains("db.staging.internal"),
                "{}",
                found[0].message
            );
        }
    }

    #[test]
    fn names_as_tls_clients_check_them() {
        let c = cert(
            "db-master",
            &["db-master.internal", "10.0.0.10", "*.db.example.com"],
        );
        assert!(certificate_names(&c, "db-master.internal"));
        assert!(certificate_names(&c, "DB-Master.Internal."));
        assert!(certificate_names(&c, "10.0.0.10"));
        assert!(certificate_names(&c, "a.db.example.com"));
        assert!(
            !certificate_names(&c, "a.b.db.example.com"),
            "one label only"
        );
        assert!(!certificate_names(&c, "db.example.com"));
        // The CN does not count once there are DNS names.
        assert!(!certificate_names(&c, "db-master"));
        assert!(!certificate_names(&c, "10.0.0.11"));
        // No SAN at all: the CN is the name; never for an address.
        let old = cert("db-master", &[]);
        assert!(certificate_names(&old, "db-master"));
        assert!(!certificate_names(&old, "10.0.0.10"));
        // An IP-only SAN leaves the CN for names.
        let ip_only = cert("db-master", &["10.0.0.10"]);
        assert!(certificate_names(&ip_only, "db-master"));
    }
}
