//! SSL008 legacy-ssl-version: a MySQL build whose SSL support is known broken.

use crate::facts::{Flavor, HostFacts, MysqlVersion};
use crate::mysql::support::server_version;
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL008: MySQL 5.5 <= 5.5.40, 5.6 <= 5.6.22, anything before 5.5, or a
/// yaSSL build.
pub struct LegacySslVersion;

const HELP: &str = r#"## What it checks

The version of every database server (from `SELECT VERSION()`, else the protocol
greeting the TLS probe saw), for Oracle MySQL and Percona Server:

- 5.5.40 and earlier 5.5 releases, and 5.6.22 and earlier 5.6 releases: built with an older
  SSL library that does not properly support the SSL feature (the seed's stack disables SSL
  for them);
- anything before 5.5 (5.0, 5.1): end of life, with no working SSL support to speak of;
- builds linked against yaSSL: `version_ssl_library` or `ssl_library` names yaSSL, or, on
  5.x, `have_openssl` is `NO`/`DISABLED` while `have_ssl` is `YES`.

MariaDB is never reported here: its 5.5 and 10.x lines have their own SSL history.

## Why it matters

These builds negotiate only old protocol versions and ciphers, mishandle certificate
chains, and have known SSL defects: turning SSL on gives a false sense of security, and
clients with modern TLS defaults cannot connect at all.

## How to fix

Perform a minor version upgrade to the latest release of the same series (5.5.41+ or
5.6.23+; better, the last release of the series), then check again with
`mysql -e "select version()"` and
`mysql -e "show global variables like 'have_ssl'"`. For servers before 5.5 plan a major
upgrade. On the seed's stack, upgrade the environment (Stable-v4 2.0.124 or later) and click
"Apply".
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL008",
    "legacy-ssl-version",
    Severity::High,
    "the MySQL server is a version or build whose SSL support is broken",
    HELP,
    &[
        "MySQL SSL Support: Caveats (Older Versions of 5.5 and 5.6)",
        "MySQL 5.6 Reference Manual: OpenSSL Versus yaSSL",
        "MySQL 5.6 Release Notes",
    ],
)
.controls(&[
    Control::nist("SC-13", "cryptographic protection: the build's SSL implementation is broken (seed: Caveats, Older Versions of 5.5 and 5.6)"),
    Control::nist("SI-2", "flaw remediation: the fix is an upgrade to a version whose SSL works"),
    Control::pci("4.2.1", "strong cryptography during transmission cannot be had from a broken SSL build"),
]);

fn product(v: &MysqlVersion) -> &'static str {
    match v.flavor {
        Flavor::Percona => "Percona Server",
        Flavor::Mysql | Flavor::Mariadb => "MySQL",
    }
}

/// Why this build's SSL cannot be trusted, and the object to point at.
fn legacy_reason(host: &HostFacts, v: &MysqlVersion) -> Option<(String, &'static str)> {
    let broken_library = |series: &str, last: &str| {
        format!(
            "is built with an SSL library that does not properly support SSL ({series} <= {last}); upgrade to the latest {series}"
        )
    };
    match v.triple() {
        (5, 5, p) if p <= 40 => return Some((broken_library("5.5", "5.5.40"), "variable:version")),
        (5, 6, p) if p <= 22 => return Some((broken_library("5.6", "5.6.22"), "variable:version")),
        (major, minor, _) if (major, minor) < (5, 5) => {
            return Some((
                format!(
                    "is end of life and predates working SSL support (before 5.5); upgrade to a supported {} series",
                    product(v)
                ),
                "variable:version",
            ));
        }
        _ => {}
    }
    let m = host.mysql.as_ref()?;
    for name in ["version_ssl_library", "ssl_library"] {
        if let Some(lib) = m.variable(name)
            && lib.to_ascii_lowercase().contains("yassl")
        {
            return Some((
                format!(
                    "is built with yaSSL ({name} is {lib}), which does not properly support SSL; upgrade to a build linked against OpenSSL"
                ),
                "variable:ssl_library",
            ));
        }
    }
    let have = |name: &str| m.variable(name).map(|s| s.trim().to_ascii_uppercase());
    if v.major == 5
        && have("have_ssl").as_deref() == Some("YES")
        && let Some(openssl) = have("have_openssl")
        && (openssl == "NO" || openssl == "DISABLED")
    {
        return Some((
            format!(
                "is built with yaSSL (have_openssl is {openssl} while have_ssl is YES), which does not properly support SSL; upgrade to a build linked against OpenSSL"
            ),
            "variable:have_openssl",
        ));
    }
    None
}

impl Rule for LegacySslVersion {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_db() {
            return;
        }
        let Some(v) = server_version(host) else {
            return;
        };
        // MariaDB's own 5.5 line and 10.x+ are not the MySQL builds at issue;
        // a greeting like `5.5.5-10.6.18-MariaDB` must not read as MySQL 5.5.5.
        if v.is_mariadb() || v.raw.to_ascii_lowercase().contains("mariadb") {
            return;
        }
        let Some((reason, object)) = legacy_reason(host, &v) else {
            return;
        };
        let source = if host.mysql.as_ref().is_some_and(|m| m.version.is_some()) {
            "SELECT VERSION()"
        } else {
            "protocol greeting"
        };
        out.push(
            self.finding(
                host,
                format!("{} {} {reason}", product(&v), v.raw),
                Location::object(object),
            )
            .evidence("version", v.raw.clone())
            .evidence("version_source", source),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    fn host_with(flavor: Flavor, raw: &str, vars: &[(&str, &str)]) -> HostFacts {
        let mut h = db_host("db-master");
        let mut m = mysql(vars);
        m.version = Some(version(flavor, raw));
        set_mysql(&mut h, m);
        h
    }

    #[test]
    fn old_56_and_55_fail_with_the_seed_message() {
        let f = run(
            &LegacySslVersion,
            &host_with(Flavor::Mysql, "5.6.21-log", &[]),
        );
        assert_eq!(
            f[0].message,
            "MySQL 5.6.21-log is built with an SSL library that does not properly support SSL (5.6 <= 5.6.22); upgrade to the latest 5.6"
        );
        assert_eq!(f[0].location, Location::object("variable:version"));
        let f = run(&LegacySslVersion, &host_with(Flavor::Mysql, "5.5.40", &[]));
        assert!(f[0].message.contains("(5.5 <= 5.5.40)"));
        let f = run(
            &LegacySslVersion,
            &host_with(Flavor::Percona, "5.6.22-71.0-log", &[]),
        );
        assert!(
            f[0].message
                .starts_with("Percona Server 5.6.22-71.0-log is built")
        );
    }

    #[test]
    fn boundaries_pass() {
        for raw in ["5.5.41", "5.6.23-log", "5.7.44", "8.0.36", "8.4.3"] {
            let h = host_with(Flavor::Mysql, raw, &[("have_ssl", "YES")]);
            assert!(run(&LegacySslVersion, &h).is_empty(), "{raw}");
        }
    }

    #[test]
    fn before_55_is_end_of_life() {
        let f = run(
            &LegacySslVersion,
            &host_with(Flavor::Mysql, "5.1.73-log", &[]),
        );
        assert_eq!(
            f[0].message,
            "MySQL 5.1.73-log is end of life and predates working SSL support (before 5.5); upgrade to a supported MySQL series"
        );
    }

    #[test]
    fn yassl_builds() {
        let h = host_with(
            Flavor::Mysql,
            "5.7.20",
            &[("version_ssl_library", "YaSSL 2.4.4")],
        );
        let f = run(&LegacySslVersion, &h);
        assert!(
            f[0].message
                .contains("yaSSL (version_ssl_library is YaSSL 2.4.4)")
        );
        let h = host_with(
            Flavor::Mysql,
            "5.6.40",
            &[("have_ssl", "YES"), ("have_openssl", "DISABLED")],
        );
        let f = run(&LegacySslVersion, &h);
        assert_eq!(f[0].location, Location::object("variable:have_openssl"));
        // The usual alias: both YES.
        let h = host_with(
            Flavor::Mysql,
            "5.6.40",
            &[("have_ssl", "YES"), ("have_openssl", "YES")],
        );
        assert!(run(&LegacySslVersion, &h).is_empty());
    }

    #[test]
    fn never_mariadb() {
        for raw in [
            "5.5.40-MariaDB",
            "10.1.48-MariaDB-0+deb9u2",
            "5.5.5-10.6.18-MariaDB",
        ] {
            let h = host_with(
                Flavor::Mariadb,
                raw,
                &[("version_ssl_library", "YaSSL 2.3.9b")],
            );
            assert!(run(&LegacySslVersion, &h).is_empty(), "{raw}");
        }
    }

    #[test]
    fn probe_greeting_when_sql_facts_are_missing() {
        let mut h = db_host("db-master");
        h.mysql = None;
        let mut p = probe("10.0.0.10:3306");
        p.greeting_version = Some("5.6.19-log".into());
        h.probe = Some(p.clone());
        let f = run(&LegacySslVersion, &h);
        assert_eq!(f[0].evidence["version_source"], "protocol greeting");
        p.greeting_version = Some("5.5.5-10.3.39-MariaDB".into());
        h.probe = Some(p);
        assert!(run(&LegacySslVersion, &h).is_empty());
        h.probe = None;
        assert!(run(&LegacySslVersion, &h).is_empty());
    }
}
