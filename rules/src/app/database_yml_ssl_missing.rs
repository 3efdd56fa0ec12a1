//! SSL006: a database.yml environment that talks to MySQL over TCP without
//! the client keys the seed's "Enforce SSL Connections" asks for, or naming
//! key files that are not on the application host.

use crate::app::transport::{Transport, host_display, literal, set_value, transport};
use crate::facts::{DatabaseYml, DbEnvironment, FileStatus, HostFacts, YmlValue};
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct DatabaseYmlSslMissing;

const HELP: &str = r#"## What it checks

Every environment of every database.yml on an application host that uses a
MySQL adapter (mysql2, trilogy, makara) and reaches its server over TCP (a
host other than `localhost`, or one computed by ERB) must set `sslca`,
`sslkey` and `sslcert` (`sslcapath` counts as `sslca`). Each literal path
named there must exist on the host: a path the collector found missing (or
could not read) is reported with the line that names it. Relative paths are
resolved against the application root (the folder holding `config/`), which
is where a Rails process runs.

## Why it matters

Without the keys the client either connects in clear text or, once the
account is made to `REQUIRE X509`, cannot log in at all. A path that does not
exist makes libmysqlclient fail the connection (or, on older clients,
silently fall back to an unencrypted one), so the application breaks or loses
its protection the moment the setting is relied on.

## How to fix

Add the keys the stack distributes to the application user's home to each
environment, by overriding the database.yml template (Stable-v5) or with the
`database_yml_custom` cookbook (Stable-v4):

```yaml
sslca: '/home/deploy/.mysql/root.crt'
sslkey: '/home/deploy/.mysql/mysql.key'
sslcert: '/home/deploy/.mysql/mysql.crt'
```

If a named file is missing, redistribute the user's keys from the database
master (`/engineyard/bin/remote_key_copy.sh <username>`, or regenerate them
with `sudo -i /engineyard/bin/db_user_ssl_keys.sh`), then enforce
certificates for the account:

```sh
sudo su -
mysql -e "GRANT USAGE ON *.* TO deploy@'%' REQUIRE X509;"
exit
```

Verify with `mysql -u <user> -h <hostname> <dbname>` and `\s`: the output
must show `SSL: Cipher in use is ...`.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL006",
    "database-yml-ssl-missing",
    Severity::High,
    "a database.yml environment connects over TCP without sslca, sslkey and sslcert, or names key files that do not exist",
    HELP,
    &[
        "MySQL SSL Support: Enforce SSL Connections",
        "MySQL SSL Support: Keys for Named Users",
        "MySQL Reference Manual: Command Options for Encrypted Connections",
    ],
)
.controls(&[
    Control::nist("SC-8(1)", "the application's connection is not protected by TLS with verified keys (seed: Enforce SSL Connections)"),
    Control::nist("IA-5(2)", "public key-based authentication: the application presents no client certificate (seed: Keys for Named Users)"),
    Control::pci("4.2.1", "strong cryptography protects account data during transmission over open, public networks"),
    Control::pci("8.3.2", "the application's password crosses the network unencrypted without TLS"),
])
.from_host_files();

/// The three client key settings, with what satisfies each.
fn key_settings(env: &DbEnvironment) -> [(&'static str, Option<&YmlValue>); 3] {
    // sslcapath is libmysqlclient's directory alternative to a CA file.
    let ca = set_value(&env.sslca).or_else(|| set_value(&env.sslcapath));
    [
        ("sslca", ca),
        ("sslkey", set_value(&env.sslkey)),
        ("sslcert", set_value(&env.sslcert)),
    ]
}

impl DatabaseYmlSslMissing {
    fn check_env(
        &self,
        host: &HostFacts,
        yml: &DatabaseYml,
        env: &DbEnvironment,
        out: &mut Vec<Finding>,
    ) {
        let settings = key_settings(env);
        let missing: Vec<&str> = settings
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| *k)
            .collect();
        // `url: <%= ENV["DATABASE_URL"] %>` may carry the keys in its
        // query at runtime: nothing can be said about what is missing.
        let runtime_url = env.url.as_ref().is_some_and(|u| u.erb);
        if !missing.is_empty() && !runtime_url {
            let list = missing.join(", ");
            let msg = format!(
                "database.yml environment {} ({}:{}) connects to {} over TCP without {list}",
                env.name,
                yml.path,
                env.line,
                host_display(env)
            );
            let loc = Location::file(yml.path.clone(), Some(env.line))
                .with_object(crate::Subject::database_yml(&env.name, None));
            out.push(
                self.finding(host, msg, loc)
                    .evidence("environment", env.name.clone())
                    .evidence("host", host_display(env))
                    .evidence("missing", list),
            );
        }

        for (key, value) in [
            ("sslca", &env.sslca),
            ("sslcapath", &env.sslcapath),
            ("sslkey", &env.sslkey),
            ("sslcert", &env.sslcert),
        ] {
            let Some(v) = literal(value) else { continue };
            let path = yml.resolve(v.value.trim());
            let (state, severity, reason) = match host.file(&path).map(|m| &m.status) {
                Some(FileStatus::Missing) => ("does not exist", Severity::High, None),
                // The collector could not read it, but the application user
                // may well be able to: likely, not certain, breakage.
                Some(FileStatus::Unreadable { reason }) => {
                    ("could not be read", Severity::Medium, Some(reason.clone()))
                }
                Some(FileStatus::Present) | None => continue,
            };
            let shown = match &reason {
                Some(r) => format!("{state} ({r})"),
                None => state.to_string(),
            };
            let msg = format!(
                "{key} {path} named by database.yml environment {} ({}:{}) {shown} on this host",
                env.name, yml.path, v.line
            );
            let loc = Location::file(yml.path.clone(), Some(v.line))
                .with_object(crate::Subject::database_yml(&env.name, Some(key)));
            let mut f = self
                .finding(host, msg, loc)
                .evidence("environment", env.name.clone())
                .evidence("path", path.clone());
            if let Some(r) = reason {
                f = f.evidence("reason", r);
            }
            f.severity = severity;
            out.push(f);
        }
    }
}

impl Rule for DatabaseYmlSslMissing {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        for yml in &host.database_ymls {
            for env in &yml.environments {
                if env.is_template() || !env.is_mysql() || transport(env) != Transport::Tcp {
                    continue;
                }
                self.check_env(host, yml, env, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{YML, app_host, env, erb, run, set_file, tcp_env, with_seed_keys, yv};

    #[test]
    fn tcp_environment_without_keys_lists_what_is_missing() {
        let mut e = tcp_env("production", 10, "10.0.0.10");
        e.sslca = Some(yv("/home/deploy/.mysql/root.crt", 14));
        let f = run(&DatabaseYmlSslMissing, &app_host(vec![e]));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(
            f[0].message,
            format!(
                "database.yml environment production ({YML}:10) connects to 10.0.0.10 over TCP without sslkey, sslcert"
            )
        );
        assert_eq!(f[0].location.line, Some(10));
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("database.yml:production")
        );
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].evidence["missing"], "sslkey, sslcert");
    }

    #[test]
    fn a_url_from_the_environment_is_not_judged() {
        let mut e = env("production", 10);
        e.adapter = Some(yv("mysql2", 11));
        e.url = Some(erb("<%= ENV['DATABASE_URL'] %>", 12));
        assert!(run(&DatabaseYmlSslMissing, &app_host(vec![e])).is_empty());
    }

    #[test]
    fn seed_keys_that_exist_pass() {
        let mut h = app_host(vec![with_seed_keys(tcp_env(
            "production",
            10,
            "db.internal",
        ))]);
        for p in ["root.crt", "mysql.key", "mysql.crt"] {
            set_file(
                &mut h,
                &format!("/home/deploy/.mysql/{p}"),
                FileStatus::Present,
            );
        }
        assert!(run(&DatabaseYmlSslMissing, &h).is_empty());
        // Not collected at all: nothing to say about existence.
        let h = app_host(vec![with_seed_keys(tcp_env(
            "production",
            10,
            "db.internal",
        ))]);
        assert!(run(&DatabaseYmlSslMissing, &h).is_empty());
    }

    #[test]
    fn missing_and_unreadable_files_are_reported_at_their_line() {
        let mut h = app_host(vec![with_seed_keys(tcp_env(
            "production",
            10,
            "db.internal",
        ))]);
        set_file(&mut h, "/home/deploy/.mysql/root.crt", FileStatus::Missing);
        set_file(
            &mut h,
            "/home/deploy/.mysql/mysql.key",
            FileStatus::Unreadable {
                reason: "Permission denied".into(),
            },
        );
        set_file(&mut h, "/home/deploy/.mysql/mysql.crt", FileStatus::Present);
        let f = run(&DatabaseYmlSslMissing, &h);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("database.yml:production:sslca")
        );
        assert_eq!(f[0].location.line, Some(15));
        assert!(f[0].message.contains("/home/deploy/.mysql/root.crt"));
        assert!(
            f[0].message.ends_with("does not exist on this host"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[1].location.object.as_deref(),
            Some("database.yml:production:sslkey")
        );
        assert!(
            f[1].message
                .contains("could not be read (Permission denied)")
        );
        assert_eq!(f[1].severity, Severity::Medium);
        assert_ne!(f[0].fingerprint, f[1].fingerprint);
    }

    #[test]
    fn relative_paths_resolve_against_the_app_root() {
        let mut e = tcp_env("production", 10, "db.internal");
        e.sslca = Some(yv("config/certs/../certs/ca.pem", 15));
        e.sslkey = Some(yv("/k", 16));
        e.sslcert = Some(yv("/c", 17));
        let mut h = app_host(vec![e]);
        set_file(
            &mut h,
            "/data/shop/current/config/certs/ca.pem",
            FileStatus::Missing,
        );
        let f = run(&DatabaseYmlSslMissing, &h);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(
            f[0].evidence["path"],
            "/data/shop/current/config/certs/ca.pem"
        );
        assert_eq!(
            crate::facts::resolve_app_path("/srv/database.yml", "ca.pem"),
            "/srv/ca.pem"
        );
    }

    #[test]
    fn erb_values_count_as_set_and_are_not_checked_for_existence() {
        let mut e = tcp_env("production", 10, "db.internal");
        e.sslca = Some(erb("<%= ENV['DB_CA'] %>", 15));
        e.sslcapath = None;
        e.sslkey = Some(erb("<%= ENV['DB_KEY'] %>", 16));
        e.sslcert = Some(erb("<%= ENV['DB_CERT'] %>", 17));
        assert!(run(&DatabaseYmlSslMissing, &app_host(vec![e])).is_empty());
    }

    #[test]
    fn sslcapath_satisfies_sslca_and_blank_values_do_not() {
        let mut e = with_seed_keys(tcp_env("production", 10, "db.internal"));
        e.sslca = None;
        e.sslcapath = Some(yv("/etc/ssl/certs", 18));
        assert!(run(&DatabaseYmlSslMissing, &app_host(vec![e.clone()])).is_empty());
        e.sslcapath = None;
        e.sslkey = Some(yv("  ", 16));
        let f = run(&DatabaseYmlSslMissing, &app_host(vec![e]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["missing"], "sslca, sslkey");
    }

    #[test]
    fn socket_templates_and_other_adapters_are_skipped() {
        let local = tcp_env("production", 1, "localhost");
        let no_host = env("staging", 20);
        let template = tcp_env("default", 30, "db.internal");
        let mut pg = tcp_env("analytics", 40, "pg.internal");
        pg.adapter = Some(yv("postgresql", 41));
        let h = app_host(vec![local, no_host, template, pg]);
        assert!(run(&DatabaseYmlSslMissing, &h).is_empty());
    }

    #[test]
    fn erb_host_is_assumed_remote() {
        let mut e = env("production", 10);
        e.host = Some(erb("<%= ENV['DB_HOST'] %>", 12));
        let f = run(&DatabaseYmlSslMissing, &app_host(vec![e]));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("connects to <%= ENV['DB_HOST'] %> over TCP")
        );
    }
}
