//! SSL015 weak-tls-protocol: the server accepts a TLS version the policy does not allow.

use std::collections::BTreeSet;

use crate::facts::{Flavor, HostFacts, MysqlVersion};
use crate::mysql::support::{server_version, set_option, sql_tls};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL015: `tls_version` (or, on servers without it, the protocol the
/// version implies, or the probe) allows SSLv3, TLSv1 or TLSv1.1.
pub struct WeakTlsProtocol;

const HELP: &str = r#"## What it checks

Which protocol versions the server accepts, against the policy's
`thresholds.allowed_tls_versions` (default `TLSv1.2`, `TLSv1.3`):

- the `tls_version` variable (`SHOW GLOBAL VARIABLES LIKE 'tls_version'`), when SSL is not
  known to be off;
- servers too old to have `tls_version` (MySQL and Percona before 5.6.46 or 5.7.10, MariaDB
  before 10.4.6) with SSL on: MySQL then speaks only TLSv1, MariaDB accepts whatever its SSL
  library offers. When the TLS probe tried each version, its result is used instead;
- the TLS probe (`probe:TLSv1.1`): each version the server actually accepted, when the
  `tls_version` finding does not already name it.

## Why it matters

TLSv1 and TLSv1.1 were deprecated by RFC 8996 (and SSLv3 is broken: POODLE): they rely on
SHA-1 and CBC constructions with known attacks, and compliance regimes (PCI DSS among them)
forbid them. A server that still accepts them lets a downgrading attacker or an old client
use them.

## How to fix

1. Check: `mysql -e "show global variables like 'tls_version'"`.
2. Set the versions in the `[mysqld]` section of `/etc/mysql/my.cnf`:
   `tls_version=TLSv1.2,TLSv1.3`, then restart MySQL (`/etc/init.d/mysql restart`, the
   master before any replicas) or, on MySQL 8.0.16+,
   `SET PERSIST tls_version='TLSv1.2,TLSv1.3'; ALTER INSTANCE RELOAD TLS;`.
3. Servers without `tls_version` (MySQL 5.5, 5.6 before 5.6.46, 5.7 before 5.7.10) cannot
   speak TLSv1.2 at all: perform a minor version upgrade within the series.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL015",
    "weak-tls-protocol",
    Severity::High,
    "the server accepts TLS protocol versions the policy does not allow",
    HELP,
    &[
        "MySQL 8.0 Reference Manual: Encrypted Connection TLS Protocols and Ciphers",
        "MariaDB Server Documentation: TLS and Cryptography Libraries Used by MariaDB (tls_version)",
        "RFC 8996: Deprecating TLS 1.0 and TLS 1.1",
    ],
)
.controls(&[
    Control::nist("SC-8(1)", "cryptographic protection: protocol versions the policy forbids (RFC 8996) still protect connections"),
    Control::nist("SC-13", "cryptographic protection: the accepted protocols are not approved cryptography"),
    Control::pci("4.2.1", "requires secure versions and configurations of protocols only"),
]);

/// `TLSv1.0` and `tlsv1` name the same protocol.
fn norm(p: &str) -> String {
    let p = p.trim().to_ascii_lowercase();
    match p.as_str() {
        "tlsv1.0" | "tls1.0" | "tls1" => "tlsv1".to_string(),
        _ => p,
    }
}

/// What a server without `tls_version` accepts: MySQL before 5.6.46/5.7.10
/// speaks TLSv1 only; MariaDB before 10.4.6 whatever its SSL library offers.
fn implied_protocols(v: &MysqlVersion) -> Option<&'static [&'static str]> {
    if v.is_mariadb() {
        return (!v.at_least(10, 4, 6)).then_some(&["TLSv1", "TLSv1.1", "TLSv1.2"][..]);
    }
    let old = match (v.major, v.minor) {
        (5, 6) => v.patch < 46,
        (5, 7) => v.patch < 10,
        (major, minor) => (major, minor) <= (5, 5),
    };
    old.then_some(&["TLSv1"][..])
}

fn product(v: &MysqlVersion) -> &'static str {
    match v.flavor {
        Flavor::Mysql => "MySQL",
        Flavor::Percona => "Percona Server",
        Flavor::Mariadb => "MariaDB",
    }
}

impl Rule for WeakTlsProtocol {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_db() {
            return;
        }
        let allowed: BTreeSet<String> = cx
            .thresholds
            .allowed_tls_versions
            .iter()
            .map(|a| norm(a))
            .collect();
        let allowed_shown = cx.thresholds.allowed_tls_versions.join(", ");
        let weak = |p: &&str| !p.trim().is_empty() && !allowed.contains(&norm(p));
        let probe_tried = host
            .probe
            .as_ref()
            .is_some_and(|p| p.error.is_none() && !p.accepted.is_empty());
        let mut covered: BTreeSet<String> = BTreeSet::new();

        if let Some(m) = &host.mysql {
            let tls = sql_tls(host, m);
            if let Some(tv) = m.variable("tls_version") {
                let bad: Vec<&str> = tv.split(',').map(str::trim).filter(weak).collect();
                if tls.enabled != Some(false) && !bad.is_empty() {
                    let configured = host
                        .server_options
                        .as_ref()
                        .and_then(|o| set_option(o, "tls_version"));
                    let (whence, location) = match configured {
                        Some(o) => (
                            format!("set in {}:{}", o.file, o.line),
                            o.location().with_object("variable:tls_version"),
                        ),
                        None => (
                            "the server's default".to_string(),
                            Location::object("variable:tls_version"),
                        ),
                    };
                    out.push(
                        self.finding(
                            host,
                            format!(
                                "tls_version allows {} ({whence}; allowed: {allowed_shown})",
                                bad.join(",")
                            ),
                            location,
                        )
                        .evidence("tls_version", tv),
                    );
                    covered.extend(bad.iter().map(|p| norm(p)));
                }
            } else if tls.enabled == Some(true)
                && !probe_tried
                && let Some(v) = server_version(host)
                && let Some(protocols) = implied_protocols(&v)
            {
                let bad: Vec<&str> = protocols.iter().copied().filter(|p| weak(p)).collect();
                if !bad.is_empty() {
                    let how = match protocols {
                        [only] => format!("it speaks only {only}"),
                        _ => format!(
                            "it accepts every protocol its SSL library offers, {} included",
                            bad.join(" and ")
                        ),
                    };
                    out.push(
                        self.finding(
                            host,
                            format!(
                                "{} {v} has no tls_version variable: {how} (allowed: {allowed_shown})",
                                product(&v)
                            ),
                            Location::object("variable:tls_version"),
                        )
                        .evidence("version", v.raw.clone())
                        .evidence("basis", tls.basis),
                    );
                    covered.extend(bad.iter().map(|p| norm(p)));
                }
            }
        }

        let Some(p) = &host.probe else { return };
        if p.error.is_some() {
            return;
        }
        let mut accepted: Vec<&str> = p
            .accepted
            .iter()
            .filter(|(_, ok)| **ok)
            .map(|(proto, _)| proto.as_str())
            .collect();
        if p.accepted.is_empty()
            && let Some(proto) = p.protocol.as_deref()
        {
            accepted.push(proto);
        }
        for proto in accepted {
            if !weak(&proto) || covered.contains(&norm(proto)) {
                continue;
            }
            out.push(
                self.finding(
                    host,
                    format!(
                        "server at {} accepts {proto} (TLS probe; allowed: {allowed_shown})",
                        p.address
                    ),
                    Location::object(crate::Subject::probe(proto)),
                )
                .evidence("address", p.address.clone()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Flavor;
    use crate::policy::Thresholds;
    use crate::testkit::*;

    fn host(vars: &[(&str, &str)]) -> HostFacts {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(vars));
        h
    }

    #[test]
    fn modern_tls_version_passes() {
        let h = host(&[("have_ssl", "YES"), ("tls_version", "TLSv1.2,TLSv1.3")]);
        assert!(run(&WeakTlsProtocol, &h).is_empty());
    }

    #[test]
    fn tls_version_with_old_protocols_fails_and_cites_the_option() {
        let mut h = host(&[
            ("have_ssl", "YES"),
            ("tls_version", "TLSv1,TLSv1.1,TLSv1.2"),
        ]);
        let f = run(&WeakTlsProtocol, &h);
        assert_eq!(
            f[0].message,
            "tls_version allows TLSv1,TLSv1.1 (the server's default; allowed: TLSv1.2, TLSv1.3)"
        );
        my_cnf(&mut h, &[("tls_version", "TLSv1,TLSv1.1,TLSv1.2")]);
        let f = run(&WeakTlsProtocol, &h);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("(set in /etc/mysql/my.cnf:2;"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("variable:tls_version")
        );
    }

    #[test]
    fn policy_decides_what_is_weak() {
        let h = host(&[("have_ssl", "YES"), ("tls_version", "TLSv1.1,TLSv1.2")]);
        let t = Thresholds {
            allowed_tls_versions: vec!["TLSv1.1".into(), "TLSv1.2".into()],
            ..Thresholds::default()
        };
        assert!(run_fleet(&WeakTlsProtocol, vec![h.clone()], &t).is_empty());
        let t = Thresholds {
            allowed_tls_versions: vec!["TLSv1.3".into()],
            ..Thresholds::default()
        };
        let f = run_fleet(&WeakTlsProtocol, vec![h], &t);
        assert!(
            f[0].message
                .starts_with("tls_version allows TLSv1.1,TLSv1.2 ")
        );
    }

    #[test]
    fn disabled_ssl_or_empty_tls_version_is_not_this_rule() {
        let h = host(&[("have_ssl", "DISABLED"), ("tls_version", "TLSv1,TLSv1.1")]);
        assert!(run(&WeakTlsProtocol, &h).is_empty());
        let h = host(&[("tls_version", "")]);
        assert!(run(&WeakTlsProtocol, &h).is_empty());
    }

    #[test]
    fn old_servers_without_tls_version_imply_tlsv1() {
        let mut h = host(&[("have_ssl", "YES")]);
        mysql_mut(&mut h).version = Some(version(Flavor::Mysql, "5.6.21-log"));
        let f = run(&WeakTlsProtocol, &h);
        assert_eq!(
            f[0].message,
            "MySQL 5.6.21-log has no tls_version variable: it speaks only TLSv1 (allowed: TLSv1.2, TLSv1.3)"
        );
        mysql_mut(&mut h).version = Some(version(Flavor::Mysql, "5.7.9"));
        assert_eq!(run(&WeakTlsProtocol, &h).len(), 1);
        mysql_mut(&mut h).version = Some(version(Flavor::Mariadb, "10.1.48-MariaDB"));
        let f = run(&WeakTlsProtocol, &h);
        assert_eq!(
            f[0].message,
            "MariaDB 10.1.48-MariaDB has no tls_version variable: it accepts every protocol its SSL library offers, TLSv1 and TLSv1.1 included (allowed: TLSv1.2, TLSv1.3)"
        );
        // Newer versions without the variable: not collected, nothing implied.
        mysql_mut(&mut h).version = Some(version(Flavor::Mysql, "5.6.46"));
        assert!(run(&WeakTlsProtocol, &h).is_empty());
        // SSL off: SSL001's business.
        mysql_mut(&mut h).version = Some(version(Flavor::Mysql, "5.6.21"));
        mysql_mut(&mut h)
            .variables
            .insert("have_ssl".into(), "DISABLED".into());
        assert!(run(&WeakTlsProtocol, &h).is_empty());
    }

    #[test]
    fn probe_results_add_what_the_variable_missed() {
        let mut h = host(&[("have_ssl", "YES"), ("tls_version", "TLSv1.1,TLSv1.2")]);
        let mut p = probe("10.0.0.10:3306");
        for (v, ok) in [
            ("TLSv1", true),
            ("TLSv1.1", true),
            ("TLSv1.2", true),
            ("TLSv1.3", false),
        ] {
            p.accepted.insert(v.into(), ok);
        }
        h.probe = Some(p.clone());
        let f = run(&WeakTlsProtocol, &h);
        let objects: Vec<_> = f.iter().map(|f| f.subject().to_string()).collect();
        assert_eq!(objects, ["variable:tls_version", "probe:TLSv1"]);
        assert_eq!(
            f[1].message,
            "server at 10.0.0.10:3306 accepts TLSv1 (TLS probe; allowed: TLSv1.2, TLSv1.3)"
        );

        // Without SQL facts the probe alone speaks; the negotiated protocol
        // counts when the probe did not try each version.
        h.mysql = None;
        p.accepted.clear();
        p.protocol = Some("TLSv1.1".into());
        h.probe = Some(p.clone());
        let f = run(&WeakTlsProtocol, &h);
        assert_eq!(f[0].location, Location::object("probe:TLSv1.1"));
        p.error = Some("handshake failure".into());
        h.probe = Some(p);
        assert!(run(&WeakTlsProtocol, &h).is_empty());
    }

    #[test]
    fn probe_overrides_the_implied_protocols() {
        let mut h = host(&[("have_ssl", "YES")]);
        mysql_mut(&mut h).version = Some(version(Flavor::Mariadb, "10.3.39-MariaDB"));
        let mut p = probe("10.0.0.10:3306");
        p.accepted.insert("TLSv1".into(), false);
        p.accepted.insert("TLSv1.1".into(), false);
        p.accepted.insert("TLSv1.2".into(), true);
        h.probe = Some(p);
        assert!(run(&WeakTlsProtocol, &h).is_empty());
    }
}
