//! SSL022: an application that encrypts its MySQL connection but, with the
//! driver it really runs on, never checks the server's certificate.

use crate::app::driver::{EnvTls, Tri, client_tls};
use crate::facts::HostFacts;
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct AppTlsUnverified;

const HELP: &str = r#"## What it checks

Every MySQL environment of every database.yml, judged by what its driver
really does with the settings (the adapter from database.yml, the mysql2 or
trilogy version from the application's `Gemfile.lock`, and the client
library installed on the host; the table and its sources are in
docs/drivers.md). The rule fires when the connection is encrypted but the
server's certificate chain is not verified:

- mysql2 on MariaDB Connector/C before 3.4 (Debian and Ubuntu's
  `libmariadb3`): `sslkey`/`sslcert`, `sslcipher` or the `sslverify` key
  without `sslca` (or `sslcapath`) encrypt and accept any certificate;
  `sslverify: true` does not change that;
- mysql2 on libmysqlclient: `ssl_mode: preferred` or `required`;
- Rails' Trilogy adapter: `ssl_mode: preferred` or `required`, which Rails
  maps to trilogy's `*_NOVERIFY` modes.

When the facts leave more than one driver possible (no `Gemfile.lock`, no
visible client library) and those drivers disagree, the rule says nothing:
the host's report shows the verdict as `unknown`.

## Why it matters

An encrypted connection to a server that was never authenticated is open to
anyone who can get between the application and the database: a man in the
middle presents any certificate, reads the credentials and every query. The
file looks protected (`sslkey`, `sslcert`, `sslverify: true` are there), so
nobody looks again.

## How to fix

Give the driver the CA the servers' certificates come from and make it
verify:

```yaml
# mysql2
sslca: '/home/deploy/.mysql/root.crt'
sslkey: '/home/deploy/.mysql/mysql.key'
sslcert: '/home/deploy/.mysql/mysql.crt'
# trilogy
ssl_mode: verify_identity
ssl_ca: '/home/deploy/.mysql/root.crt'
```

On libmysqlclient set `ssl_mode: verify_identity` (or `verify_ca`) next to
`sslca`. Then restart the application and check that a server with a
certificate from another CA is refused.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL022",
    "app-tls-unverified",
    Severity::High,
    "an application encrypts its MySQL connection but its driver does not verify the server's certificate",
    HELP,
    &[
        "MySQL SSL Support: Enforce SSL Connections",
        "docs/drivers.md: the driver behaviour table",
        "https://github.com/brianmario/mysql2/issues/936",
    ],
)
.controls(&[
    Control::nist("SC-8(1)", "cryptographic protection without authenticating the peer does not protect against interception"),
    Control::nist("IA-3", "device identification and authentication: the database server is never authenticated"),
    Control::pci("4.2.1", "certificates used to safeguard account data during transmission are confirmed as valid"),
])
.from_host_files();

impl AppTlsUnverified {
    fn check(&self, host: &HostFacts, e: &EnvTls, out: &mut Vec<Finding>) {
        if e.encrypted != Tri::Yes || e.verified != Tri::No {
            return;
        }
        let line = e.host_line;
        let msg = format!(
            "database.yml environment {} ({}{}) encrypts its connection but {} does not verify the server's certificate: any certificate is accepted",
            e.environment,
            e.path,
            line.map(|l| format!(":{l}")).unwrap_or_default(),
            e.driver.describe()
        );
        let loc = Location::file(e.path.clone(), line)
            .with_object(crate::Subject::database_yml(&e.environment, None));
        let mut f = self
            .finding(host, msg, loc)
            .evidence("environment", e.environment.clone())
            .evidence("driver", e.driver.describe())
            .evidence("driver_rows", e.rows.join(","));
        if let Some(lock) = &e.driver.gemfile_lock {
            f = f.evidence("gemfile_lock", lock.clone());
        }
        out.push(f);
    }
}

impl Rule for AppTlsUnverified {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        for e in client_tls(host) {
            self.check(host, &e, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ClientLibrary, GemfileLock, LibraryFamily};
    use crate::testkit::{app_host, run, tcp_env, yv};

    fn on_debian(mut h: HostFacts, mysql2: &str) -> HostFacts {
        h.client_libraries = vec![ClientLibrary {
            family: LibraryFamily::Libmariadb,
            package: "libmariadb3".into(),
            version: Some("1:10.11.19".into()),
            evidence: "/var/lib/dpkg/info/libmariadb3:amd64.shlibs".into(),
        }];
        h.database_ymls[0].gemfile_lock = Some(GemfileLock {
            path: "/data/shop/current/Gemfile.lock".into(),
            mysql2: Some(mysql2.into()),
            ..GemfileLock::default()
        });
        h
    }

    #[test]
    fn client_keys_without_a_ca_encrypt_unverified() {
        let mut e = tcp_env("production", 1, "db.internal");
        e.sslkey = Some(yv("/home/deploy/.mysql/mysql.key", 5));
        e.sslcert = Some(yv("/home/deploy/.mysql/mysql.crt", 6));
        e.sslverify = Some(yv("true", 7));
        let f = run(
            &AppTlsUnverified,
            &on_debian(app_host(vec![e.clone()]), "0.5.3"),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].location.line, Some(3));
        assert!(
            f[0].message
                .contains("mysql2 0.5.3 on libmariadb3 1:10.11.19"),
            "{}",
            f[0].message
        );
        // With the CA, the chain is verified: nothing to say.
        e.sslca = Some(yv("/home/deploy/.mysql/root.crt", 8));
        assert!(run(&AppTlsUnverified, &on_debian(app_host(vec![e]), "0.5.3")).is_empty());
    }

    #[test]
    fn plaintext_and_unknown_drivers_are_not_this_rule() {
        // Plaintext is SSL006/SSL020's business.
        let e = tcp_env("production", 1, "db.internal");
        assert!(run(&AppTlsUnverified, &on_debian(app_host(vec![e]), "0.5.3")).is_empty());
        // No Gemfile.lock, no library: mysql2 on libmysqlclient would not
        // verify sslca alone, Connector/C would; the rule does not guess.
        let mut e = tcp_env("production", 1, "db.internal");
        e.sslca = Some(yv("/home/deploy/.mysql/root.crt", 5));
        assert!(run(&AppTlsUnverified, &app_host(vec![e])).is_empty());
    }

    #[test]
    fn trilogy_required_does_not_verify() {
        let mut e = tcp_env("production", 1, "db.internal");
        e.adapter = Some(yv("trilogy", 2));
        e.ssl_mode = Some(yv("required", 5));
        e.sslca = Some(yv("/home/deploy/.mysql/root.crt", 6));
        assert_eq!(run(&AppTlsUnverified, &app_host(vec![e.clone()])).len(), 1);
        e.ssl_mode = Some(yv("verify_identity", 5));
        assert!(run(&AppTlsUnverified, &app_host(vec![e])).is_empty());
    }
}
