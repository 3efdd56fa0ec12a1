//! SSL001 have-ssl-disabled: the running server does not accept SSL connections.

use crate::facts::HostFacts;
use crate::mysql::support::{
    bad_ssl_paths, configured_ssl_files, describe_option, server_tls, server_version,
    ssl_switched_off,
};
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL001: `have_ssl` is `DISABLED` or `NO` (or, where have_ssl is gone, the
/// server's TLS channel is off), or, without SQL facts, the server's
/// protocol greeting offers no SSL.
pub struct HaveSslDisabled;

const HELP: &str = r#"## What it checks

Whether the running server accepts SSL connections, on every database host, from the
strongest evidence the scan has (the finding's `source` says which):

1. **SQL** (`source: sql`): the server's `have_ssl` variable. `YES` passes. `DISABLED`
   (built with SSL, but started without usable `ssl-ca`/`ssl-cert`/`ssl-key`, or with
   `skip-ssl`) and `NO` (built without SSL) fail.
2. **The wire** (`source: probe`), when SQL facts were not collected or cannot tell: the
   server's MySQL protocol greeting, which the credential-less TLS probe reads. A greeting
   without the `CLIENT_SSL` capability proves the server does not accept SSL connections;
   a completed TLS handshake proves it does.
3. **The scanner's own connection** (`source: session`): a greeting without SSL that made
   the scanner refuse to send its credentials (it never logs in in clear text), or an
   encrypted session.

A host that gave none of these evidence is not judged (SCAN001 or SCAN002 says why).

MySQL 8.0.26 deprecated `have_ssl` and 8.4 removed it: there the verdict comes from
`performance_schema.tls_channel_status` (channel `mysql_main`, property `Enabled`), else
from `Ssl_server_not_after` (empty when no certificate is loaded), else from whether the
`ssl_cert` file exists. MariaDB 11.4 and later turn TLS on with an auto-generated
certificate when nothing is configured, so they count as enabled. The message says where
the option files configure SSL, or which option switches it off.

## Why it matters

Without SSL every connection to the server, the application's included, crosses the
network in clear text, and accounts that `REQUIRE X509` cannot log in at all. This is the
first check of the seed document: nothing else about SSL matters until the server has it.

## How to fix

1. On the db_master, as root (`sudo su -`), check the value:
   `mysql -e "show global variables like 'have_ssl'"` (`YES` means SSL is enabled).
2. Check that the configuration names the CA: `cat /etc/mysql/my.cnf | grep 'ssl-ca'`.
   If the configuration file shows SSL is on and the server says it is off, restart MySQL
   during a maintenance window: `/etc/init.d/mysql restart` (the master before any
   attached replicas).
3. If SSL is not in the configuration file, upgrade the environment stack to at least
   Stable-v4 2.0.123 or Stable-v5 3.0.30 (it generates and configures the keys); on other
   layouts add `ssl-ca`, `ssl-cert` and `ssl-key` to `[mysqld]` and restart.
4. Remove `skip-ssl`, `ssl=0` or an empty `tls_version` from the option files.
5. `have_ssl` = `NO`: the server binary has no SSL support; install a build that has.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL001",
    "have-ssl-disabled",
    Severity::High,
    "the MySQL server does not accept SSL connections",
    HELP,
    &[
        "MySQL SSL Support: Verify SSL is Enabled",
        "MySQL 8.0 Reference Manual: Configuring MySQL to Use Encrypted Connections",
        "MySQL 8.0 Reference Manual: Server System Variables (have_ssl)",
        "CIS Oracle MySQL 8.0 Benchmark 8.1: Ensure 'require_secure_transport' is set to 'ON' and/or 'have_ssl' is set to 'YES'",
    ],
)
.controls(&[
    Control::nist("SC-8", "transmission confidentiality and integrity: without SSL every connection is in clear text"),
    Control::nist("SC-8(1)", "cryptographic protection of transmissions is not available at all (seed: Verify SSL is Enabled)"),
    Control::nist("CM-6", "configuration settings: have_ssl is a server setting that must be YES"),
    Control::pci("4.2.1", "strong cryptography during transmission: the server cannot offer TLS"),
    Control::cis(crate::rule::CIS_MYSQL_8, "8.1", "Ensure 'require_secure_transport' is set to 'ON' and/or 'have_ssl' is set to 'YES' (the rule's own reference)"),
]);

impl Rule for HaveSslDisabled {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_db() {
            return;
        }
        let verdict = server_tls(host);
        if verdict.enabled != Some(false) {
            return;
        }
        let opts = host.server_options.as_ref();
        let configured = opts.map(configured_ssl_files).unwrap_or_default();
        let switched_off = opts.and_then(|o| ssl_switched_off(host, o));
        let bad = opts.map(|o| bad_ssl_paths(host, o)).unwrap_or_default();

        let (detail, at) = if verdict.built_without_ssl {
            let detail = match configured.first() {
                Some((_, o)) => format!(
                    "{}, but the server was built without SSL support",
                    describe_option(o)
                ),
                None => "the server was built without SSL support".to_string(),
            };
            (Some(detail), configured.first().map(|(_, o)| o.location()))
        } else if let Some(off) = switched_off {
            let shown = match &off.value {
                Some(v) => format!("{}={v}", off.spelled),
                None => off.spelled.clone(),
            };
            (
                Some(format!(
                    "switched off by {shown} in {}:{}",
                    off.file, off.line
                )),
                Some(off.location()),
            )
        } else if let Some(b) = bad.first() {
            (
                Some(format!(
                    "{} but not loaded: {} {}",
                    describe_option(b.value),
                    b.path,
                    b.problem
                )),
                Some(b.value.location()),
            )
        } else if let Some((_, o)) = configured.first() {
            (
                Some(format!("{} but not loaded", describe_option(o))),
                Some(o.location()),
            )
        } else if opts.is_some() {
            (
                Some("no ssl-ca, ssl-cert or ssl-key in the server option files".to_string()),
                None,
            )
        } else {
            (None, None)
        };

        let message = match &detail {
            Some(d) => format!("{} ({d})", verdict.basis),
            None => verdict.basis.clone(),
        };
        let location = match at {
            Some(l) => l.with_object(verdict.object.clone()),
            None => Location::object(verdict.object.clone()),
        };
        let mut f = self
            .finding(host, message, location)
            .evidence("basis", verdict.basis.clone())
            .evidence("source", verdict.source.as_str());
        if let Some(have) = host.mysql.as_ref().and_then(|m| m.variable("have_ssl")) {
            f = f.evidence("have_ssl", have);
        }
        if let Some(v) = server_version(host) {
            f = f.evidence("version", v.raw);
        }
        for (name, o) in &configured {
            f = f.evidence(name, format!("{} ({}:{})", o.as_str(), o.file, o.line));
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Flavor, Role};
    use crate::testkit::*;

    const CA: &str = "/db/mysql/5.6/data/root.crt";

    fn configured(h: &mut HostFacts) {
        my_cnf(
            h,
            &[
                ("ssl-ca", CA),
                ("ssl-cert", "/db/mysql/5.6/data/server.crt"),
                ("ssl-key", "/db/mysql/5.6/data/server.key"),
            ],
        );
    }

    #[test]
    fn yes_passes() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("have_ssl", "YES")]));
        configured(&mut h);
        assert!(run(&HaveSslDisabled, &h).is_empty());
    }

    #[test]
    fn disabled_cites_the_configured_option() {
        let mut h = db_host("db-master");
        set_mysql(
            &mut h,
            mysql(&[("have_ssl", "DISABLED"), ("version", "5.6.21-log")]),
        );
        configured(&mut h);
        let f = run(&HaveSslDisabled, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "have_ssl is DISABLED (ssl-ca configured in /etc/mysql/my.cnf:2 but not loaded)"
        );
        assert_eq!(f[0].location.display(), "/etc/mysql/my.cnf:2");
        assert_eq!(f[0].location.object.as_deref(), Some("variable:have_ssl"));
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[0].evidence["ssl_ca"],
            format!("{CA} (/etc/mysql/my.cnf:2)")
        );
    }

    #[test]
    fn disabled_names_a_missing_file_or_a_switch_off() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("have_ssl", "DISABLED")]));
        configured(&mut h);
        missing(&mut h, CA);
        let f = run(&HaveSslDisabled, &h);
        assert!(
            f[0].message
                .ends_with(&format!("but not loaded: {CA} does not exist)"))
        );

        my_cnf(&mut h, &[("ssl-ca", CA), ("skip-ssl", "")]);
        h.server_options
            .as_mut()
            .unwrap()
            .options
            .get_mut("skip_ssl")
            .unwrap()
            .value = None;
        let f = run(&HaveSslDisabled, &h);
        assert_eq!(
            f[0].message,
            "have_ssl is DISABLED (switched off by skip-ssl in /etc/mysql/my.cnf:3)"
        );
    }

    #[test]
    fn no_means_built_without_ssl() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("have_ssl", "NO")]));
        my_cnf(&mut h, &[("datadir", "/db/mysql/5.1/data")]);
        let f = run(&HaveSslDisabled, &h);
        assert_eq!(
            f[0].message,
            "have_ssl is NO (the server was built without SSL support)"
        );
        assert_eq!(f[0].location, Location::object("variable:have_ssl"));
    }

    #[test]
    fn nothing_configured_says_so() {
        let mut h = db_host("db-master");
        set_mysql(&mut h, mysql(&[("have_ssl", "DISABLED")]));
        my_cnf(&mut h, &[("datadir", "/db/mysql/5.6/data")]);
        let f = run(&HaveSslDisabled, &h);
        assert!(
            f[0].message.contains("no ssl-ca, ssl-cert or ssl-key"),
            "{}",
            f[0].message
        );
        // Option files not collected: the value alone.
        h.server_options = None;
        assert_eq!(run(&HaveSslDisabled, &h)[0].message, "have_ssl is DISABLED");
    }

    #[test]
    fn mysql_84_without_have_ssl_reads_the_tls_channel() {
        let mut h = db_host("db-master");
        let mut m = mysql(&[("version", "8.4.3")]);
        m.version = Some(version(Flavor::Mysql, "8.4.3"));
        channel(&mut m, "Yes");
        set_mysql(&mut h, m.clone());
        assert!(run(&HaveSslDisabled, &h).is_empty());

        channel(&mut m, "No");
        set_mysql(&mut h, m.clone());
        let f = run(&HaveSslDisabled, &h);
        assert_eq!(
            f[0].message,
            "tls_channel_status reports mysql_main Enabled = No"
        );
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("tls_channel:mysql_main")
        );

        // No channel table collected, no status: cannot tell, no finding.
        m.tls_channels.clear();
        set_mysql(&mut h, m);
        assert!(run(&HaveSslDisabled, &h).is_empty());
    }

    #[test]
    fn mariadb_114_zero_config_is_enabled() {
        let mut h = db_host("db-master");
        let mut m = mysql(&[]);
        m.version = Some(version(Flavor::Mariadb, "11.4.4-MariaDB-deb12"));
        set_mysql(&mut h, m);
        assert!(run(&HaveSslDisabled, &h).is_empty());
    }

    #[test]
    fn without_sql_the_greeting_proves_it() {
        let mut h = db_host("db-master");
        h.mysql = None;
        configured(&mut h);
        let mut p = probe("10.0.0.10:3306");
        p.greeting_version = Some("10.11.9-MariaDB-0+deb12u1".into());
        p.advertises_ssl = false;
        h.probe = Some(p);
        let f = run(&HaveSslDisabled, &h);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "the server at 10.0.0.10:3306 offers no SSL in its protocol greeting \
             (ssl-ca configured in /etc/mysql/my.cnf:2 but not loaded)"
        );
        assert_eq!(f[0].evidence["source"], "probe");
        assert_eq!(f[0].evidence["version"], "10.11.9-MariaDB-0+deb12u1");
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("probe:10.0.0.10:3306")
        );
        // A probe that saw a TLS handshake: enabled, nothing to report.
        let p = h.probe.as_mut().unwrap();
        p.advertises_ssl = true;
        p.protocol = Some("TLSv1.3".into());
        assert!(run(&HaveSslDisabled, &h).is_empty());
    }

    #[test]
    fn only_db_hosts_with_sql_facts() {
        let mut h = db_host("app1");
        set_mysql(&mut h, mysql(&[("have_ssl", "DISABLED")]));
        h.roles.clear();
        h.roles.insert(Role::App);
        assert!(run(&HaveSslDisabled, &h).is_empty());
        let mut h = db_host("db-replica");
        h.mysql = None;
        assert!(run(&HaveSslDisabled, &h).is_empty());
    }
}
