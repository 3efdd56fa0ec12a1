//! SSL024: a TLS setting in database.yml that the environment's adapter
//! never reads (`ssl_ca` under mysql2, `sslca` under trilogy, `sslmode`),
//! or reads and then ignores on the driver the application runs on.

use crate::app::driver::{Adapter, env_tls};
use crate::facts::{DatabaseYml, DbEnvironment, HostFacts};
use crate::parse::dbyml::looks_like_tls_key;
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct DatabaseYmlUnreadKey;

const HELP: &str = r#"## What it checks

Every key of every MySQL environment of every database.yml that reads as a
TLS setting (its name starts with `ssl` or `tls`, in any spelling) and that
the adapter does not read:

- mysql2 reads `sslca`, `sslcapath`, `sslkey`, `sslcert`, `sslcipher`,
  `sslverify` and `ssl_mode`: the trilogy spellings (`ssl_ca`, `ssl_key`,
  `ssl_cert`...) and misspellings (`sslmode`, `ssl-mode`, `ssl_verify`) are
  never read;
- Rails' Trilogy adapter reads `ssl_mode`, `ssl_ca`, `ssl_capath`,
  `ssl_cert`, `ssl_key`, `ssl_cipher`, `ssl_crl`, `ssl_crlpath` and
  `tls_*`: mysql2's `sslca`, `sslkey`, `sslcert`, `sslverify` are not.

It also reports a setting the adapter reads but the driver underneath
ignores, where the driver table (docs/drivers.md) says so: `ssl_mode` with
mysql2 before 0.5.4 on MariaDB Connector/C (it warns once on stderr and goes
on), `ssl_mode: preferred`/`verify_ca` with later mysql2 on Connector/C, and
`ssl_mode: disabled` on Connector/C 3.4.

## Why it matters

The file says what the team meant, and nothing enforces it: `ssl_ca:` under
mysql2 leaves the connection in plaintext (or unverified), `ssl_mode:
verify_identity` on a driver that ignores it checks nothing. Reviews and
audits read the file and believe it.

## How to fix

Use the adapter's own spelling (mysql2: `sslca`, `sslkey`, `sslcert`;
trilogy: `ssl_ca`, `ssl_key`, `ssl_cert` with `ssl_mode: verify_identity`),
or move to a driver that honours the setting (mysql2 0.5.4 or later for
`ssl_mode` on Connector/C). Then confirm from the application host that a
server with a certificate from another CA is refused.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL024",
    "database-yml-unread-key",
    Severity::High,
    "a database.yml TLS setting is not read by the environment's adapter, or is ignored by its driver",
    HELP,
    &[
        "MySQL SSL Support: Enforce SSL Connections",
        "docs/drivers.md: the driver behaviour table",
        "https://github.com/brianmario/mysql2/blob/master/README.md",
    ],
)
.controls(&[
    Control::nist("CM-6", "configuration settings: the intended TLS setting is silently not applied"),
    Control::nist("SC-8(1)", "cryptographic protection the configuration asks for is not in effect"),
])
.from_host_files();

impl DatabaseYmlUnreadKey {
    fn check_env(
        &self,
        host: &HostFacts,
        yml: &DatabaseYml,
        env: &DbEnvironment,
        out: &mut Vec<Finding>,
    ) {
        if env.is_template() || !env.is_mysql() {
            return;
        }
        let Some(adapter) = Adapter::of(env) else {
            return;
        };
        let reads = adapter.tls_keys();
        for key in &env.keys {
            if !looks_like_tls_key(&key.name) || reads.contains(&key.name.as_str()) {
                continue;
            }
            let msg = format!(
                "database.yml environment {} sets {} ({}:{}), which the {} adapter never reads: the setting has no effect",
                env.name,
                key.name,
                yml.path,
                key.line,
                adapter.as_str()
            );
            let loc = Location::file(yml.path.clone(), Some(key.line))
                .with_object(crate::Subject::database_yml(&env.name, Some(&key.name)));
            out.push(
                self.finding(host, msg, loc)
                    .evidence("environment", env.name.clone())
                    .evidence("key", key.name.clone())
                    .evidence("adapter", adapter.as_str()),
            );
        }
        let Some(tls) = env_tls(host, yml, env) else {
            return;
        };
        for ignored in &tls.ignored {
            let msg = format!(
                "database.yml environment {} sets {} ({}:{}), which {} ignores: {}",
                env.name,
                ignored.key,
                yml.path,
                ignored.line,
                tls.driver.describe(),
                ignored.why
            );
            let loc = Location::file(yml.path.clone(), Some(ignored.line))
                .with_object(crate::Subject::database_yml(&env.name, Some(&ignored.key)));
            out.push(
                self.finding(host, msg, loc)
                    .evidence("environment", env.name.clone())
                    .evidence("key", ignored.key.clone())
                    .evidence("driver", tls.driver.describe()),
            );
        }
    }
}

impl Rule for DatabaseYmlUnreadKey {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        for yml in &host.database_ymls {
            for env in &yml.environments {
                self.check_env(host, yml, env, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ClientLibrary, GemfileLock, LibraryFamily, YmlKey};
    use crate::testkit::{app_host, run, tcp_env, yv};

    fn key(name: &str, line: u32) -> YmlKey {
        YmlKey {
            name: name.into(),
            line,
        }
    }

    #[test]
    fn trilogy_spellings_under_mysql2_and_misspellings() {
        let mut e = tcp_env("production", 1, "db.internal");
        e.keys = vec![
            key("ssl_ca", 4),
            key("sslmode", 5),
            key("sslca", 6),
            key("SSL-Verify", 7),
        ];
        let f = run(&DatabaseYmlUnreadKey, &app_host(vec![e]));
        let lines: Vec<_> = f.iter().map(|f| f.location.line.unwrap()).collect();
        assert_eq!(lines, [4, 5, 7]);
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("database.yml:production:ssl_ca")
        );
        assert!(f[0].message.contains("the mysql2 adapter never reads"));
    }

    #[test]
    fn mysql2_spellings_under_trilogy() {
        let mut e = tcp_env("production", 1, "db.internal");
        e.adapter = Some(yv("trilogy", 2));
        e.keys = vec![
            key("sslca", 4),
            key("ssl_ca", 5),
            key("ssl_mode", 6),
            key("tls_min_version", 7),
        ];
        let f = run(&DatabaseYmlUnreadKey, &app_host(vec![e]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.line, Some(4));
    }

    #[test]
    fn ssl_mode_ignored_by_old_mysql2_on_connector_c() {
        let mut e = tcp_env("production", 1, "db.internal");
        e.keys = vec![key("ssl_mode", 5)];
        e.ssl_mode = Some(yv("verify_identity", 5));
        let mut h = app_host(vec![e]);
        // Without versions the drivers disagree: no claim.
        assert!(run(&DatabaseYmlUnreadKey, &h).is_empty());
        h.client_libraries = vec![ClientLibrary {
            family: LibraryFamily::Libmariadb,
            package: "libmariadb3".into(),
            version: Some("1:10.11.19".into()),
            evidence: "/var/lib/dpkg/info/libmariadb3:amd64.shlibs".into(),
        }];
        h.database_ymls[0].gemfile_lock = Some(GemfileLock {
            path: "/data/shop/current/Gemfile.lock".into(),
            mysql2: Some("0.5.3".into()),
            ..GemfileLock::default()
        });
        let f = run(&DatabaseYmlUnreadKey, &h);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("which mysql2 0.5.3 on libmariadb3"),
            "{}",
            f[0].message
        );
        // 0.5.6 maps verify_identity: nothing ignored.
        h.database_ymls[0].gemfile_lock.as_mut().unwrap().mysql2 = Some("0.5.6".into());
        assert!(run(&DatabaseYmlUnreadKey, &h).is_empty());
    }

    #[test]
    fn unknown_adapters_and_templates_are_left_alone() {
        let mut e = tcp_env("default", 1, "db.internal");
        e.keys = vec![key("ssl_ca", 4)];
        let mut erb = tcp_env("production", 10, "db.internal");
        erb.adapter = Some(crate::testkit::erb("<%= ENV['ADAPTER'] %>", 11));
        erb.keys = vec![key("ssl_ca", 14)];
        assert!(run(&DatabaseYmlUnreadKey, &app_host(vec![e, erb])).is_empty());
    }
}
