//! SSL020: a setting that switches TLS off on purpose, in a database.yml
//! environment, a client option group or the server's options.

use crate::app::driver::{SslMode, Tri, env_tls};
use crate::app::transport::literal;
use crate::facts::{HostFacts, OptionSet, OptionValue};
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct ClientTlsDisabled;

const HELP: &str = r#"## What it checks

Settings that turn TLS off explicitly:

- database.yml (MySQL adapters): `ssl_mode: disabled` in any spelling
  (`DISABLED`, `:disabled`, `SSL_MODE_DISABLED`), unless the application's
  driver is known to ignore it and negotiate TLS anyway (mysql2 before 0.5.4
  on MariaDB Connector/C, Connector/C 3.4: see docs/drivers.md; SSL024
  reports the ignored setting). Whether a database.yml connection verifies
  the server's certificate (`sslverify` and the rest) is SSL022's to judge,
  by the same driver table.
- `[client]`-family option groups: `ssl-mode=DISABLED`, `skip-ssl`,
  `disable-ssl`, `ssl=0|OFF|FALSE`; with `tls_only`, also
  `ssl-verify-server-cert=0` / `skip-ssl-verify-server-cert` (medium).
- the server's option groups (`[mysqld]`, `[server]`, `[mariadb]`...):
  `skip-ssl`, `disable-ssl`, `ssl=0|OFF|FALSE`, or an empty `tls_version`.

For the on/off switches (`ssl`, `skip-ssl`, `disable-ssl`, `enable-ssl`,
`ssl-mode`) the last one in option-file read order decides, as it does for
the programs themselves.

## Why it matters

A switch like this wins over everything else: the stack may have generated
keys, `have_ssl` may read `YES` elsewhere and database.yml may name
`sslca`/`sslkey`/`sslcert`, yet the connection stays in clear text (or, on the
server, `have_ssl` becomes `DISABLED`). It usually survives from a debugging
session or a copied template, and nothing else points at it.

## How to fix

Remove the line (or set `ssl_mode: verify_identity` / `ssl-mode=VERIFY_CA`
on clients), then restart what reads it: the application, or the server
with `/etc/init.d/mysql restart` during a maintenance window. Confirm with
`mysql -e "show global variables like 'have_ssl'"` (must be `YES`) and, from
the client, `mysql -u <user> -h <hostname> <dbname>` then `\s`, which must
show `SSL: Cipher in use is ...`.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL020",
    "client-tls-disabled",
    Severity::High,
    "a database.yml environment, client option group or server option switches TLS off",
    HELP,
    &[
        "MySQL SSL Support: Verify SSL is Enabled",
        "MySQL SSL Support: Enforce SSL Connections",
        "MySQL Reference Manual: Command Options for Encrypted Connections",
        "CIS Oracle MySQL 8.0 Benchmark 8.1: Ensure 'require_secure_transport' is set to 'ON' and/or 'have_ssl' is set to 'YES'",
    ],
)
.controls(&[
    Control::nist("SC-8(1)", "cryptographic protection is switched off by a client or server option"),
    Control::nist("CM-6", "configuration settings: ssl-mode=DISABLED, skip-ssl and the like"),
    Control::pci("4.2.1", "strong cryptography protects account data during transmission over open, public networks"),
    Control::cis(crate::rule::CIS_MYSQL_8, "8.1", "Ensure 'require_secure_transport' is set to 'ON' and/or 'have_ssl' is set to 'YES' (the rule's own reference)"),
])
.from_host_files();

/// A boolean as MySQL's option parser (and YAML 1.1, for database.yml) reads it.
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Some(true),
        "0" | "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// mysql2 accepts `disabled`, `:disabled`, `DISABLED` and `SSL_MODE_DISABLED`.
fn is_disabled_mode(s: &str) -> bool {
    SslMode::of(s) == SslMode::Disabled
}

/// `skip-ssl` as written, with `=value` when it has one.
fn shown(o: &OptionValue) -> String {
    match &o.value {
        Some(v) => format!("{}={v}", o.spelled),
        None => o.spelled.clone(),
    }
}

/// What one option says about TLS being on, if it is a switch.
fn switch(key: &str, o: &OptionValue) -> Option<bool> {
    match key {
        // A bare `ssl` turns it on; `ssl=junk` is rejected by the program, so no verdict.
        "ssl" | "enable_ssl" => o.value.as_deref().map_or(Some(true), parse_bool),
        // `skip-ssl=0` is a double negative; a bare flag is the usual form.
        "skip_ssl" | "disable_ssl" => o
            .value
            .as_deref()
            .map_or(Some(false), |v| parse_bool(v).map(|b| !b)),
        "ssl_mode" => o.value.as_deref().map(|v| !is_disabled_mode(v)),
        _ => None,
    }
}

/// The switch that decides, by read order (file order of `option_files`,
/// then line): later settings override earlier ones.
fn deciding_switch<'a>(
    host: &HostFacts,
    opts: &'a OptionSet,
    keys: &[&'static str],
) -> Option<(&'static str, &'a OptionValue, bool)> {
    keys.iter()
        .filter_map(|k| {
            let o = opts.options.get(*k)?;
            switch(k, o).map(|on| (*k, o, on))
        })
        .max_by_key(|(_, o, _)| host.option_read_order(o))
}

impl ClientTlsDisabled {
    fn check_ymls(&self, host: &HostFacts, out: &mut Vec<Finding>) {
        for yml in &host.database_ymls {
            for env in &yml.environments {
                if env.is_template() || !env.is_mysql() {
                    continue;
                }
                // A driver that ignores the setting still encrypts.
                let ignored = env_tls(host, yml, env).is_some_and(|t| t.encrypted == Tri::Yes);
                if let Some(m) = literal(&env.ssl_mode)
                    .filter(|m| is_disabled_mode(&m.value))
                    .filter(|_| !ignored)
                {
                    let msg = format!(
                        "database.yml environment {} sets ssl_mode: {} ({}:{}): the application never negotiates TLS",
                        env.name,
                        m.value.trim(),
                        yml.path,
                        m.line
                    );
                    let loc = Location::file(yml.path.clone(), Some(m.line))
                        .with_object(crate::Subject::database_yml(&env.name, Some("ssl_mode")));
                    out.push(
                        self.finding(host, msg, loc)
                            .evidence("environment", env.name.clone())
                            .evidence("ssl_mode", m.value.trim()),
                    );
                }
            }
        }
    }

    fn option_finding(
        &self,
        host: &HostFacts,
        kind: &str,
        key: &str,
        o: &OptionValue,
        effect: &str,
    ) -> Finding {
        let msg = format!(
            "{} in [{}] of {}:{} {effect}",
            shown(o),
            o.group,
            o.file,
            o.line
        );
        self.finding(host, msg, o.location().with_object(format!("{kind}:{key}")))
            .evidence("option", shown(o))
            .evidence("group", o.group.clone())
    }

    fn check_client(
        &self,
        cx: &Context<'_>,
        host: &HostFacts,
        opts: &OptionSet,
        out: &mut Vec<Finding>,
    ) {
        let keys = ["ssl", "enable_ssl", "skip_ssl", "disable_ssl", "ssl_mode"];
        if let Some((key, o, false)) = deciding_switch(host, opts, &keys) {
            out.push(self.option_finding(
                host,
                "client-option",
                key,
                o,
                "switches TLS off for MySQL clients on this host",
            ));
        }
        if !cx.thresholds.tls_only {
            return;
        }
        let verify_off = |key: &str, negated: bool| {
            let o = opts.options.get(key)?;
            let on = o.value.as_deref().map_or(Some(true), parse_bool)?;
            (on == negated).then_some(o)
        };
        for (key, negated) in [
            ("ssl_verify_server_cert", false),
            ("skip_ssl_verify_server_cert", true),
            ("disable_ssl_verify_server_cert", true),
        ] {
            if let Some(o) = verify_off(key, negated) {
                let mut f = self.option_finding(
                    host,
                    "client-option",
                    key,
                    o,
                    "turns off server certificate verification for MySQL clients on this host",
                );
                // Still encrypted; only the server's identity goes unchecked.
                f.severity = Severity::Medium;
                out.push(f);
            }
        }
    }

    fn check_server(&self, host: &HostFacts, opts: &OptionSet, out: &mut Vec<Finding>) {
        let keys = ["ssl", "enable_ssl", "skip_ssl", "disable_ssl"];
        if let Some((key, o, false)) = deciding_switch(host, opts, &keys) {
            out.push(self.option_finding(
                host,
                "server-option",
                key,
                o,
                "switches TLS off for the server",
            ));
        }
        // MySQL 8.0's replacement for --ssl=OFF: an empty protocol list.
        if let Some(o) = opts.options.get("tls_version")
            && o.value
                .as_deref()
                .is_some_and(|v| v.trim().trim_matches(['\'', '"']).trim().is_empty())
        {
            out.push(self.option_finding(
                host,
                "server-option",
                "tls_version",
                o,
                "leaves the server no TLS protocol, which switches TLS off",
            ));
        }
    }
}

impl Rule for ClientTlsDisabled {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        self.check_ymls(host, out);
        if let Some(opts) = &host.client_options {
            self.check_client(cx, host, opts, out);
        }
        if let Some(opts) = &host.server_options {
            self.check_server(host, opts, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Thresholds;
    use crate::testkit::{YML, app_host, erb, run, run_fleet, tcp_env, yv};

    fn opt(
        key: &str,
        spelled: &str,
        value: Option<&str>,
        group: &str,
        file: &str,
        line: u32,
    ) -> (String, OptionValue) {
        (
            key.to_string(),
            OptionValue {
                value: value.map(str::to_string),
                spelled: spelled.to_string(),
                group: group.to_string(),
                file: file.to_string(),
                line,
            },
        )
    }

    fn set(opts: Vec<(String, OptionValue)>) -> OptionSet {
        OptionSet {
            options: opts.into_iter().collect(),
        }
    }

    #[test]
    fn ssl_mode_disabled_in_any_spelling() {
        for spelling in [
            "disabled",
            "DISABLED",
            ":disabled",
            "SSL_MODE_DISABLED",
            " Disabled ",
        ] {
            let mut e = tcp_env("production", 10, "db.internal");
            e.ssl_mode = Some(yv(spelling, 18));
            let f = run(&ClientTlsDisabled, &app_host(vec![e]));
            assert_eq!(f.len(), 1, "{spelling}");
            assert_eq!(
                f[0].location.object.as_deref(),
                Some("database.yml:production:ssl_mode")
            );
            assert_eq!(f[0].location.line, Some(18));
            assert_eq!(f[0].severity, Severity::High);
        }
        let mut e = tcp_env("production", 10, "db.internal");
        e.ssl_mode = Some(yv(":disabled", 18));
        let f = run(&ClientTlsDisabled, &app_host(vec![e]));
        assert_eq!(
            f[0].message,
            format!(
                "database.yml environment production sets ssl_mode: :disabled ({YML}:18): the application never negotiates TLS"
            )
        );
    }

    #[test]
    fn other_modes_erb_and_templates_pass() {
        let mut a = tcp_env("production", 1, "db.internal");
        a.ssl_mode = Some(yv("verify_identity", 5));
        let mut b = tcp_env("staging", 10, "db.internal");
        b.ssl_mode = Some(erb("<%= ENV['SSL_MODE'] %>", 15));
        let mut c = tcp_env("default", 20, "db.internal");
        c.ssl_mode = Some(yv("disabled", 25));
        let mut d = tcp_env("reporting", 30, "db.internal");
        d.ssl_mode = Some(yv("preferred", 35));
        d.sslverify = Some(yv("true", 36));
        assert!(run(&ClientTlsDisabled, &app_host(vec![a, b, c, d])).is_empty());
    }

    #[test]
    fn sslverify_false_is_not_this_rules_business() {
        // Verification is judged by SSL022 from the driver table.
        let mut e = tcp_env("production", 10, "db.internal");
        e.sslverify = Some(yv("false", 19));
        assert!(run(&ClientTlsDisabled, &app_host(vec![e])).is_empty());
    }

    #[test]
    fn ssl_mode_disabled_that_the_driver_ignores() {
        let mut e = tcp_env("production", 10, "db.internal");
        e.ssl_mode = Some(yv("disabled", 18));
        e.sslca = Some(yv("/home/deploy/.mysql/root.crt", 19));
        let mut h = app_host(vec![e]);
        // Unknown driver: most of them turn TLS off; the setting's intent stands.
        assert_eq!(run(&ClientTlsDisabled, &h).len(), 1);
        // mysql2 0.5.3 on Connector/C ignores it and negotiates TLS (measured).
        h.client_libraries = vec![crate::facts::ClientLibrary {
            family: crate::facts::LibraryFamily::Libmariadb,
            package: "libmariadb3".into(),
            version: Some("1:10.11.19".into()),
            evidence: "/var/lib/dpkg/info/libmariadb3:amd64.shlibs".into(),
        }];
        h.database_ymls[0].gemfile_lock = Some(crate::facts::GemfileLock {
            path: "/data/shop/current/Gemfile.lock".into(),
            mysql2: Some("0.5.3".into()),
            ..Default::default()
        });
        assert!(run(&ClientTlsDisabled, &h).is_empty());
    }

    #[test]
    fn client_switches_off() {
        for (key, spelled, value) in [
            ("skip_ssl", "skip-ssl", None),
            ("disable_ssl", "disable-ssl", None),
            ("ssl", "ssl", Some("0")),
            ("ssl", "ssl", Some("OFF")),
            ("ssl", "ssl", Some("false")),
            ("ssl_mode", "ssl-mode", Some("DISABLED")),
        ] {
            let mut h = app_host(vec![]);
            h.client_options = Some(set(vec![opt(
                key,
                spelled,
                value,
                "client",
                "/etc/mysql/my.cnf",
                22,
            )]));
            let f = run(&ClientTlsDisabled, &h);
            assert_eq!(f.len(), 1, "{spelled}={value:?}");
            assert_eq!(
                f[0].location.object.as_deref(),
                Some(format!("client-option:{key}").as_str())
            );
            assert_eq!(f[0].location.file.as_deref(), Some("/etc/mysql/my.cnf"));
            assert_eq!(f[0].location.line, Some(22));
        }
        let mut h = app_host(vec![]);
        h.client_options = Some(set(vec![opt(
            "skip_ssl",
            "skip-ssl",
            None,
            "client",
            "/etc/mysql/my.cnf",
            22,
        )]));
        assert_eq!(
            run(&ClientTlsDisabled, &h)[0].message,
            "skip-ssl in [client] of /etc/mysql/my.cnf:22 switches TLS off for MySQL clients on this host"
        );
    }

    #[test]
    fn the_last_switch_in_read_order_decides() {
        let mut h = app_host(vec![]);
        h.option_files = vec![
            "/etc/mysql/my.cnf".into(),
            "/etc/mysql/conf.d/ssl.cnf".into(),
        ];
        // skip-ssl early in my.cnf, re-enabled by an included file read later.
        h.client_options = Some(set(vec![
            opt(
                "skip_ssl",
                "skip-ssl",
                None,
                "client",
                "/etc/mysql/my.cnf",
                40,
            ),
            opt(
                "ssl_mode",
                "ssl-mode",
                Some("REQUIRED"),
                "client",
                "/etc/mysql/conf.d/ssl.cnf",
                2,
            ),
        ]));
        assert!(run(&ClientTlsDisabled, &h).is_empty());
        // The other way round: the later file turns it off.
        h.client_options = Some(set(vec![
            opt("ssl", "ssl", None, "client", "/etc/mysql/my.cnf", 40),
            opt(
                "disable_ssl",
                "disable-ssl",
                None,
                "mysql",
                "/etc/mysql/conf.d/ssl.cnf",
                2,
            ),
        ]));
        let f = run(&ClientTlsDisabled, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("client-option:disable_ssl")
        );
        // Same file: the later line wins.
        h.client_options = Some(set(vec![
            opt(
                "skip_ssl",
                "skip-ssl",
                None,
                "client",
                "/etc/mysql/my.cnf",
                3,
            ),
            opt("ssl", "ssl", Some("1"), "client", "/etc/mysql/my.cnf", 9),
        ]));
        assert!(run(&ClientTlsDisabled, &h).is_empty());
    }

    #[test]
    fn client_verification_off_under_tls_only() {
        let mut h = app_host(vec![]);
        h.client_options = Some(set(vec![
            opt(
                "ssl_verify_server_cert",
                "ssl-verify-server-cert",
                Some("0"),
                "client",
                "/etc/my.cnf",
                5,
            ),
            opt(
                "skip_ssl_verify_server_cert",
                "skip-ssl-verify-server-cert",
                None,
                "mariadb-client",
                "/etc/my.cnf",
                6,
            ),
        ]));
        let f = run(&ClientTlsDisabled, &h);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.severity == Severity::Medium));
        let lax = Thresholds {
            tls_only: false,
            ..Thresholds::default()
        };
        assert!(run_fleet(&ClientTlsDisabled, vec![h.clone()], &lax).is_empty());
        h.client_options = Some(set(vec![opt(
            "ssl_verify_server_cert",
            "ssl-verify-server-cert",
            None,
            "client",
            "/etc/my.cnf",
            5,
        )]));
        assert!(run(&ClientTlsDisabled, &h).is_empty());
    }

    #[test]
    fn server_switches_off() {
        let mut h = app_host(vec![]);
        h.server_options = Some(set(vec![
            opt(
                "skip_ssl",
                "skip_ssl",
                None,
                "mysqld",
                "/etc/mysql/my.cnf",
                30,
            ),
            opt(
                "ssl_ca",
                "ssl-ca",
                Some("/db/mysql/5.6/data/root.crt"),
                "mysqld",
                "/etc/mysql/my.cnf",
                12,
            ),
        ]));
        let f = run(&ClientTlsDisabled, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("server-option:skip_ssl")
        );
        assert_eq!(
            f[0].message,
            "skip_ssl in [mysqld] of /etc/mysql/my.cnf:30 switches TLS off for the server"
        );
        h.server_options = Some(set(vec![opt(
            "tls_version",
            "tls_version",
            Some("''"),
            "mysqld",
            "/etc/my.cnf",
            4,
        )]));
        let f = run(&ClientTlsDisabled, &h);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("server-option:tls_version")
        );
        // ssl_mode is a client option; a server ssl=1 or a TLS list is fine.
        h.server_options = Some(set(vec![
            opt("ssl", "ssl", None, "mariadb", "/etc/my.cnf", 3),
            opt(
                "tls_version",
                "tls_version",
                Some("TLSv1.2,TLSv1.3"),
                "mysqld",
                "/etc/my.cnf",
                4,
            ),
            opt(
                "ssl_mode",
                "ssl-mode",
                Some("DISABLED"),
                "mysqld",
                "/etc/my.cnf",
                5,
            ),
        ]));
        assert!(run(&ClientTlsDisabled, &h).is_empty());
    }

    #[test]
    fn nothing_collected_nothing_reported() {
        assert!(run(&ClientTlsDisabled, &app_host(vec![])).is_empty());
    }
}
