//! SSL002 ssl-config-missing: the server option files lack ssl-ca, ssl-cert
//! or ssl-key, or name a file that is not there.

use crate::facts::HostFacts;
use crate::mysql::support::{
    SSL_FILE_OPTIONS, bad_ssl_paths, main_option_file, server_tls, server_version, set_option,
};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL002: a database host's server options miss an ssl file option, or one
/// names a path that is missing or unreadable.
pub struct SslConfigMissing;

const HELP: &str = r#"## What it checks

The options mysqld reads from its option files (`[mysqld]`, `[server]`, `[mariadb]`...) on
every database host whose option files were read:

- each of `ssl-ca`, `ssl-cert` and `ssl-key` must be set (one finding per missing option;
  `ssl-capath` stands in for `ssl-ca`);
- each path they name must exist and be readable. Relative paths are taken from the data
  directory, as mysqld does. A path the collector never looked at is unknown and not
  reported.

MariaDB 11.4 and later with SSL on (`have_ssl` = `YES`) are not reported for missing
options: they generate a certificate at startup when none is configured, so the absence is
the supported zero-configuration setup, not a broken one. MySQL 5.7 and 8.0 also fall back
to auto-generated `ca.pem`/`server-cert.pem` in the data directory, but those are
self-signed by a throw-away CA that no client of the fleet trusts, so there the missing
options are still reported.

## Why it matters

Without all three the server either starts without SSL (`have_ssl` = `DISABLED`) or
cannot verify client certificates (no CA means `REQUIRE X509` accounts cannot log in). A
path that does not exist makes the next restart come up without SSL even if it has SSL
today.

## How to fix

1. See what is configured: `cat /etc/mysql/my.cnf | grep ssl-*`; the output should name
   `ssl-ca`, `ssl-cert` and `ssl-key`, e.g. under `/db/mysql/5.6/data`.
2. If the options are missing, upgrade the environment stack to at least Stable-v4 2.0.123
   or Stable-v5 3.0.30, which generates the keys and configures them; on other layouts add
   them to `[mysqld]`:
   ```
   ssl-ca=/db/mysql/5.6/data/root.crt
   ssl-cert=/db/mysql/5.6/data/server.crt
   ssl-key=/db/mysql/5.6/data/server.key
   ```
3. If a file is missing, regenerate the keys with the Key Maintenance steps
   (`/engineyard/bin/db_server_ssl_keys.sh` on the db_master), make sure the `mysql` user
   can read them, then restart MySQL: `/etc/init.d/mysql restart`.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL002",
    "ssl-config-missing",
    Severity::High,
    "the server option files lack ssl-ca, ssl-cert or ssl-key, or name a missing file",
    HELP,
    &[
        "MySQL SSL Support: Verify SSL is Enabled",
        "MySQL SSL Support: Verifying the validity of the SSL certificates",
        "MySQL SSL Support: Key Maintenance",
        "MySQL 8.0 Reference Manual: Configuring MySQL to Use Encrypted Connections",
        "MariaDB Server Documentation: Securing Connections for Client and Server",
    ],
)
.controls(&[
    Control::nist(
        "SC-8(1)",
        "cryptographic protection needs the server's ssl-ca, ssl-cert and ssl-key configured",
    ),
    Control::nist(
        "CM-6",
        "configuration settings: the SSL options are missing from or wrong in the option files",
    ),
    Control::pci(
        "4.2.1",
        "strong cryptography during transmission: the server's keys are not configured",
    ),
])
.from_host_files();

/// True when the server is MariaDB 11.4+ and has SSL on: it generates its own
/// certificate when no ssl option is set (zero-configuration TLS).
fn zero_config_tls(host: &HostFacts) -> bool {
    let Some(v) = server_version(host) else {
        return false;
    };
    if !(v.is_mariadb() && v.at_least(11, 4, 0)) {
        return false;
    }
    server_tls(host).enabled == Some(true)
}

impl Rule for SslConfigMissing {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_db() {
            return;
        }
        let Some(opts) = &host.server_options else {
            return;
        };

        if !zero_config_tls(host) {
            let main = main_option_file(host);
            let read = if host.option_files.is_empty() {
                main.clone()
            } else {
                host.option_files.join(", ")
            };
            for name in SSL_FILE_OPTIONS {
                if set_option(opts, name).is_some()
                    || (name == "ssl_ca" && set_option(opts, "ssl_capath").is_some())
                {
                    continue;
                }
                let shown = name.replace('_', "-");
                let object = crate::Subject::option(name);
                let running = host
                    .mysql
                    .as_ref()
                    .and_then(|m| m.variable(name))
                    .filter(|v| !v.trim().is_empty());
                let fallback = running
                    .map(|v| format!("; the running server uses {v}"))
                    .unwrap_or_default();
                let (message, location) = match opts.get(name) {
                    // `ssl-ca=` or a bare `ssl-ca`: written, but names nothing.
                    Some(empty) => (
                        format!(
                            "{} is set without a value in {}:{}{fallback}",
                            empty.spelled, empty.file, empty.line
                        ),
                        empty.location().with_object(object),
                    ),
                    None => (
                        format!(
                            "{shown} is not set in the server option files (read: {read}{fallback})"
                        ),
                        Location::file(main.clone(), None).with_object(object),
                    ),
                };
                let mut f = self
                    .finding(host, message, location)
                    .evidence("option_files", read.clone());
                if let Some(v) = running {
                    f = f.evidence("running_value", v);
                }
                out.push(f);
            }
        }

        for bad in bad_ssl_paths(host, opts) {
            let message = format!(
                "{} names {}, which {}",
                bad.value.spelled, bad.path, bad.problem
            );
            out.push(
                self.finding(
                    host,
                    message,
                    bad.value
                        .location()
                        .with_object(crate::Subject::option(bad.option)),
                )
                .evidence("path", bad.path.clone())
                .evidence("status", bad.problem.clone()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Flavor, Role};
    use crate::testkit::*;

    const CA: &str = "/db/mysql/5.6/data/root.crt";
    const CERT: &str = "/db/mysql/5.6/data/server.crt";
    const KEY: &str = "/db/mysql/5.6/data/server.key";

    #[test]
    fn all_three_present_and_existing_passes() {
        let mut h = db_host("db-master");
        my_cnf(
            &mut h,
            &[("ssl-ca", CA), ("ssl-cert", CERT), ("ssl-key", KEY)],
        );
        for p in [CA, CERT, KEY] {
            present(&mut h, p);
        }
        assert!(run(&SslConfigMissing, &h).is_empty());
        // Paths never collected are unknown, not missing.
        h.files.clear();
        assert!(run(&SslConfigMissing, &h).is_empty());
    }

    #[test]
    fn one_finding_per_missing_option() {
        let mut h = db_host("db-master");
        my_cnf(
            &mut h,
            &[("datadir", "/db/mysql/5.6/data"), ("ssl-cert", CERT)],
        );
        let f = run(&SslConfigMissing, &h);
        let objects: Vec<_> = f.iter().map(|f| f.subject().to_string()).collect();
        assert_eq!(objects, ["option:ssl_ca", "option:ssl_key"]);
        assert_eq!(
            f[0].message,
            "ssl-ca is not set in the server option files (read: /etc/mysql/my.cnf)"
        );
        assert_eq!(f[0].location.file.as_deref(), Some("/etc/mysql/my.cnf"));
        assert_ne!(f[0].fingerprint, f[1].fingerprint);
    }

    #[test]
    fn no_option_file_read_points_at_the_layout() {
        let mut h = db_host("db-master");
        h.server_options = Some(Default::default());
        let f = run(&SslConfigMissing, &h);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].location.file.as_deref(), Some("/etc/my.cnf"));
        // Not collected at all: nothing to say.
        h.server_options = None;
        assert!(run(&SslConfigMissing, &h).is_empty());
    }

    #[test]
    fn capath_stands_in_for_ca_and_empty_values_count_as_missing() {
        let mut h = db_host("db-master");
        my_cnf(
            &mut h,
            &[
                ("ssl-capath", "/etc/mysql/cacerts"),
                ("ssl-cert", CERT),
                ("ssl-key", ""),
            ],
        );
        let f = run(&SslConfigMissing, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "ssl-key is set without a value in /etc/mysql/my.cnf:4"
        );
        assert_eq!(f[0].location.line, Some(4));
    }

    #[test]
    fn running_fallback_is_mentioned() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("have_ssl", "YES"), ("ssl_ca", "ca.pem")]));
        my_cnf(&mut h, &[("ssl-cert", CERT), ("ssl-key", KEY)]);
        let f = run(&SslConfigMissing, &h);
        assert_eq!(
            f[0].message,
            "ssl-ca is not set in the server option files (read: /etc/mysql/my.cnf; the running server uses ca.pem)"
        );
    }

    #[test]
    fn missing_and_unreadable_paths_point_at_the_option_line() {
        let mut h = db_host("db-master");
        my_cnf(
            &mut h,
            &[("ssl-ca", CA), ("ssl-cert", CERT), ("ssl-key", KEY)],
        );
        present(&mut h, CA);
        missing(&mut h, CERT);
        unreadable(&mut h, KEY, "Permission denied");
        let f = run(&SslConfigMissing, &h);
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].message,
            format!("ssl-cert names {CERT}, which does not exist")
        );
        assert_eq!(f[0].location.display(), "/etc/mysql/my.cnf:3");
        assert_eq!(f[0].location.object.as_deref(), Some("option:ssl_cert"));
        assert_eq!(
            f[1].message,
            format!("ssl-key names {KEY}, which is unreadable (Permission denied)")
        );
    }

    #[test]
    fn relative_paths_resolve_against_datadir() {
        let mut h = db_host("db-master");
        my_cnf(
            &mut h,
            &[
                ("datadir", "/var/lib/mysql"),
                ("ssl-ca", "ca.pem"),
                ("ssl-cert", "c.pem"),
                ("ssl-key", "k.pem"),
            ],
        );
        // No identity: the rule resolves on its own.
        h.identities.clear();
        missing(&mut h, "/var/lib/mysql/ca.pem");
        let f = run(&SslConfigMissing, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "ssl-ca names /var/lib/mysql/ca.pem, which does not exist"
        );
    }

    #[test]
    fn mariadb_114_zero_config_is_not_reported() {
        let mut h = db_host("db-master");
        let mut m = mysql(&[("have_ssl", "YES")]);
        m.version = Some(version(Flavor::Mariadb, "11.4.5-MariaDB-ubu2404"));
        set_mysql(&mut h, m.clone());
        my_cnf(&mut h, &[("datadir", "/var/lib/mysql")]);
        assert!(run(&SslConfigMissing, &h).is_empty());

        // 10.11 has no zero-config TLS.
        m.version = Some(version(Flavor::Mariadb, "10.11.9-MariaDB"));
        set_mysql(&mut h, m.clone());
        assert_eq!(run(&SslConfigMissing, &h).len(), 3);

        // 11.4 with SSL off: the missing options are the reason.
        m.version = Some(version(Flavor::Mariadb, "11.4.5-MariaDB"));
        m.variables.insert("have_ssl".into(), "DISABLED".into());
        set_mysql(&mut h, m);
        assert_eq!(run(&SslConfigMissing, &h).len(), 3);
    }

    #[test]
    fn app_hosts_are_skipped() {
        let mut h = db_host("app1");
        h.roles = [Role::App].into_iter().collect();
        my_cnf(&mut h, &[]);
        assert!(run(&SslConfigMissing, &h).is_empty());
    }
}
