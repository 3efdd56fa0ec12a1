//! SSL017 secure-transport-not-required: the server lets clients connect over
//! TCP without TLS.

use crate::facts::HostFacts;
use crate::mysql::support::server_version;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL017: `require_secure_transport` is `OFF` on a server that has it.
pub struct SecureTransportNotRequired;

const HELP: &str = r#"## What it checks

The `require_secure_transport` variable of every database server whose SQL facts were
collected (`source: sql`). The variable exists from MySQL 5.7.8 and MariaDB 10.5.2; where
the server reports it, `OFF` fails. Servers without it are not reported (they cannot
enforce transport security server-wide: use `REQUIRE X509` per account, SSL005).

Where the variable was not collected but the server's version has it, the scanner's own
session is evidence (`source: session`): a server that accepted the scanner's login over an
unencrypted TCP connection does not require secure transport. The TLS probe cannot show
this: it never logs in, and a server checks `require_secure_transport` only at login.

## Why it matters

With it `OFF`, any account without a `REQUIRE` clause may connect over TCP in clear text,
including accounts created later by someone who forgot the clause. With it `ON` the server
refuses TCP connections without TLS (Unix socket and shared-memory connections stay
allowed), which makes encryption a property of the server rather than of every grant.

## How to fix

1. Make sure every client can use TLS first (SSL018 and the application's database.yml).
2. Set it at runtime and persist it:
   - MySQL 8.0+: `SET PERSIST require_secure_transport = ON;`
   - MySQL 5.7 and MariaDB: `SET GLOBAL require_secure_transport = ON;` and add
     `require_secure_transport = ON` to the `[mysqld]` section of `/etc/mysql/my.cnf`.
3. The server refuses to turn it on while SSL is disabled: fix SSL001 first.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL017",
    "secure-transport-not-required",
    Severity::Medium,
    "require_secure_transport is OFF: clients may connect without TLS",
    HELP,
    &[
        "MySQL SSL Support: Enforce SSL Connections",
        "MySQL 8.0 Reference Manual: Configuring Encrypted Connections as Mandatory",
        "CIS Oracle MySQL 8.0 Benchmark 8.1: Ensure 'require_secure_transport' is set to 'ON' and/or 'have_ssl' is set to 'YES'",
    ],
);

fn is_off(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "OFF" | "0" | "FALSE" | "NO"
    )
}

impl Rule for SecureTransportNotRequired {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_db() {
            return;
        }
        // Present means supported (MySQL 5.7.8+, MariaDB 10.5.2+).
        let Some(value) = host
            .mysql
            .as_ref()
            .and_then(|m| m.variable("require_secure_transport"))
        else {
            self.plaintext_session_accepted(host, out);
            return;
        };
        if !is_off(value) {
            return;
        }
        let configured = host
            .server_options
            .as_ref()
            .and_then(|o| o.get("require_secure_transport"));
        let (message, location) = match configured {
            Some(o) => (
                format!(
                    "require_secure_transport is {} (set to {} in {}:{}): clients may connect over TCP without TLS",
                    value.trim(),
                    o.as_str(),
                    o.file,
                    o.line
                ),
                o.location()
                    .with_object("variable:require_secure_transport"),
            ),
            None => (
                format!(
                    "require_secure_transport is {}: clients may connect over TCP without TLS",
                    value.trim()
                ),
                Location::object("variable:require_secure_transport"),
            ),
        };
        let mut f = self
            .finding(host, message, location)
            .evidence("require_secure_transport", value.trim())
            .evidence("source", "sql");
        if let Some(v) = server_version(host) {
            f = f.evidence("version", v.raw);
        }
        out.push(f);
    }
}

impl SecureTransportNotRequired {
    /// Without the variable: a server whose version has it and which took
    /// the scanner's login over plain TCP does not require secure transport.
    fn plaintext_session_accepted(&self, host: &HostFacts, out: &mut Vec<Finding>) {
        let Some(c) = &host.connection else { return };
        if !c.is_tcp() || c.is_encrypted() {
            return;
        }
        let Some(v) = server_version(host) else {
            return;
        };
        let has_variable = if v.is_mariadb() {
            v.at_least(10, 5, 2)
        } else {
            v.at_least(5, 7, 8)
        };
        if !has_variable {
            return;
        }
        out.push(
            self.finding(
                host,
                format!(
                    "the server accepted the scanner's unencrypted {} login at {}: \
                     require_secure_transport is not in force",
                    c.via, c.endpoint
                ),
                Location::object("variable:require_secure_transport"),
            )
            .evidence("source", "session")
            .evidence("endpoint", c.endpoint.clone())
            .evidence("version", v.raw),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn on_passes_off_fails() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("require_secure_transport", "ON")]));
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
        set_mysql(&mut h, mysql(&[("require_secure_transport", "OFF")]));
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(
            f[0].message,
            "require_secure_transport is OFF: clients may connect over TCP without TLS"
        );
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(
            f[0].location,
            Location::object("variable:require_secure_transport")
        );
    }

    #[test]
    fn cites_the_option_that_sets_it() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("require_secure_transport", "OFF")]));
        my_cnf(&mut h, &[("require_secure_transport", "0")]);
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(
            f[0].message,
            "require_secure_transport is OFF (set to 0 in /etc/mysql/my.cnf:2): clients may connect over TCP without TLS"
        );
        assert_eq!(f[0].location.line, Some(2));
    }

    #[test]
    fn a_plaintext_login_accepted_proves_it_off() {
        let mut h = db_host("db-master");
        let mut m = mysql(&[("have_ssl", "YES")]);
        m.version = Some(version(crate::facts::Flavor::Mariadb, "10.11.9-MariaDB"));
        set_mysql(&mut h, m);
        h.connection = Some(crate::facts::ConnectionFacts {
            via: "tcp".into(),
            endpoint: "10.0.0.10:3306".into(),
            tls_version: None,
            cipher: None,
        });
        let f = run(&SecureTransportNotRequired, &h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "the server accepted the scanner's unencrypted tcp login at 10.0.0.10:3306: \
             require_secure_transport is not in force"
        );
        assert_eq!(f[0].evidence["source"], "session");
        // Encrypted, or a version without the variable: nothing proven.
        let mut old = h.clone();
        old.mysql.as_mut().unwrap().version = Some(version(crate::facts::Flavor::Mysql, "5.6.51"));
        assert!(run(&SecureTransportNotRequired, &old).is_empty());
        h.connection.as_mut().unwrap().cipher = Some("TLS_AES_256_GCM_SHA384".into());
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
    }

    #[test]
    fn absent_variable_means_unsupported_or_not_collected() {
        let mut h = db_host("db-master");
        set_mysql(
            &mut h,
            mysql(&[("version", "5.6.21-log"), ("have_ssl", "YES")]),
        );
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
        h.mysql = None;
        assert!(run(&SecureTransportNotRequired, &h).is_empty());
    }
}
