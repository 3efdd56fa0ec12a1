//! SSL005 account-missing-require-x509: an account that crosses the network
//! can log in without a client certificate.

use crate::facts::{Account, HostFacts, Require, Role};
use crate::mysql::support::sql_account;
use crate::rule::Control;
use crate::{Context, Finding, Location, Rule, RuleMeta, Severity};

/// SSL005: an application, remote or listed account lacks `REQUIRE X509`
/// (or `REQUIRE ISSUER`/`SUBJECT`).
pub struct AccountMissingRequireX509;

const HELP: &str = r#"## What it checks

The accounts of the environment's db_master (`mysql.user` / `mysql.global_priv`). Replicas
replicate the `mysql` schema, so their accounts are only checked when no db_master of the
environment had its accounts collected. An account is reported when it does not require a
client certificate (`REQUIRE X509`, `REQUIRE ISSUER` or `REQUIRE SUBJECT`) and it is:

- used by an application: its user is named by a database.yml environment whose `host:`
  names this server or another database host of the environment (its name, address, an
  inventory alias, or the server's `@@hostname`), or that connects locally on a host that is
  one; or it is the hosts' `app_user` (docs/verdicts.md, "Attribution");
- remote: its host is anything but `localhost`, `127.0.0.1` or `::1`;
- or listed in the policy's `thresholds.require_x509_accounts` (`user` or `user@host`).

`REQUIRE NONE` is high; `REQUIRE SSL` and a cipher-only `REQUIRE CIPHER` are medium (the
connection is encrypted, but any client can make it without a certificate).

Never reported: the server's own accounts (`mysql.sys`, `mysql.session`,
`mysql.infoschema`, `mariadb.sys`, `PUBLIC`), roles (nobody logs in as a role), and locked
accounts (`ACCOUNT LOCK`: nobody can log in at all, with or without a certificate). A
loopback account is reported only when listed: its traffic never leaves the host, and
`localhost` makes the client use the Unix socket, where TLS is never negotiated, so
`REQUIRE X509` there would lock the application out.

## Why it matters

Without `REQUIRE X509` the server takes a password alone, over a connection the client
chose not to encrypt: SSL on the server does nothing for an account that does not demand
it. A client certificate also ties the login to a key the environment distributed.

## How to fix

Enforce X509 for the account (here the `deploy` user), as root on the db_master:

```
sudo su -
mysql -e "GRANT USAGE ON *.* TO deploy@'%' REQUIRE X509;"
exit
```

On MySQL 8.0+ use `ALTER USER deploy@'%' REQUIRE X509;`. Before that, give the application
its keys in database.yml:

```
sslca: '/home/deploy/.mysql/root.crt'
sslkey: '/home/deploy/.mysql/mysql.key'
sslcert: '/home/deploy/.mysql/mysql.crt'
```

To remove the setting rerun the same command with `REQUIRE NONE`. For additional named
users generate keys with `sudo -i /engineyard/bin/db_user_ssl_keys.sh` and distribute them
with `/engineyard/bin/remote_key_copy.sh <username>`.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL005",
    "account-missing-require-x509",
    Severity::High,
    "an application or remote MySQL account does not REQUIRE X509",
    HELP,
    &[
        "MySQL SSL Support: Enforce SSL Connections",
        "MySQL SSL Support: Keys for Named Users",
        "MySQL 8.0 Reference Manual: CREATE USER Statement (SSL/TLS Options)",
        "CIS Oracle MySQL 8.0 Benchmark 8.2: Ensure 'ssl_type' is set to 'ANY', 'X509', or 'SPECIFIED' for all remote users",
    ],
)
.controls(&[
    Control::nist("IA-5(2)", "public key-based authentication: accounts must authenticate with a certificate (REQUIRE X509)"),
    Control::nist("SC-8(1)", "an account without REQUIRE X509 may connect without TLS"),
    Control::pci("8.3.2", "authentication factors must be unreadable in transmission, which TLS on every remote account ensures"),
    Control::pci("4.2.1", "strong cryptography protects account data during transmission over open, public networks"),
    Control::cis(crate::rule::CIS_MYSQL_8, "8.2", "Ensure 'ssl_type' is set to 'ANY', 'X509', or 'SPECIFIED' for all remote users (the rule's own reference)"),
    Control::cis(crate::rule::CIS_MYSQL_57, "8.2", "Ensure 'ssl_type' Is Set to 'ANY', 'X509', or 'SPECIFIED' for All Remote Users"),
]);

/// `user` or `user@host` (host optionally quoted) from the policy list.
fn listed(entries: &[String], a: &Account) -> bool {
    let unquote = |s: &str| s.trim().trim_matches(['\'', '"', '`']).to_string();
    entries.iter().any(|e| match e.rsplit_once('@') {
        Some((user, host)) => unquote(user) == a.user && unquote(host) == a.host,
        None => unquote(e) == a.user,
    })
}

impl Rule for AccountMissingRequireX509 {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_db() {
            return;
        }
        let Some(accounts) = host.mysql.as_ref().and_then(|m| m.accounts.as_ref()) else {
            return;
        };
        // Replicas hold copies of the master's accounts: report them once,
        // on the master, whenever the master's list was collected.
        if !host.has_role(Role::DbMaster) && cx.fleet.master_accounts_collected(&host.environment) {
            return;
        }
        let app_accounts = cx.fleet.app_accounts(&host.environment);
        for a in accounts {
            if a.is_system() || a.is_role || a.locked || a.require.requires_certificate() {
                continue;
            }
            let is_listed = listed(&cx.thresholds.require_x509_accounts, a);
            if a.is_local() && !is_listed {
                continue;
            }
            let app = app_accounts.get(&a.user).map(|u| u.why.clone());
            let mut why = Vec::new();
            if let Some(app) = &app {
                why.push(app.clone());
            }
            if is_listed {
                why.push("listed in require_x509_accounts".to_string());
            }
            if why.is_empty() {
                why.push(format!("remote account: connects from '{}'", a.host));
            }
            let (clause, severity) = match &a.require {
                Require::None => ("REQUIRE NONE".to_string(), Severity::High),
                Require::Ssl => (
                    "REQUIRE SSL but no certificate".to_string(),
                    Severity::Medium,
                ),
                Require::Specified { cipher, .. } => (
                    format!(
                        "REQUIRE CIPHER '{}' but no certificate",
                        cipher.as_deref().unwrap_or("")
                    ),
                    Severity::Medium,
                ),
                // requires_certificate() is true for X509: skipped above.
                Require::X509 => continue,
            };
            let message = format!(
                "account {} has {clause} ({})",
                sql_account(&a.user, &a.host),
                why.join("; ")
            );
            let mut f = self
                .finding(
                    host,
                    message,
                    Location::object(crate::Subject::account(&a.user, &a.host)),
                )
                .evidence("ssl_type", a.require.as_sql())
                .evidence("account", a.name());
            if let Some(app) = app {
                f = f.evidence("application", app);
            }
            f.severity = severity;
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{DatabaseYml, DbEnvironment, YmlValue};
    use crate::layout::Layout;
    use crate::policy::Thresholds;
    use crate::testkit::*;

    fn acct(user: &str, host: &str, require: Require) -> Account {
        Account {
            user: user.into(),
            host: host.into(),
            require,
            is_role: false,
            locked: false,
        }
    }

    fn with_accounts(name: &str, role: Role, accounts: Vec<Account>) -> HostFacts {
        let mut h = db_host(name);
        h.roles = [role].into_iter().collect();
        mysql_mut(&mut h).accounts = Some(accounts);
        h
    }

    fn app_host(user: &str) -> HostFacts {
        let mut h = HostFacts::new("app1", "production", Layout::engineyard());
        h.roles.insert(Role::App);
        let v = |s: &str| YmlValue {
            value: s.into(),
            line: 3,
            erb: false,
        };
        h.database_ymls.push(DatabaseYml {
            path: "/data/shop/current/config/database.yml".into(),
            environments: vec![DbEnvironment {
                name: "production".into(),
                line: 1,
                adapter: Some(v("mysql2")),
                host: Some(v("10.0.0.10")),
                username: Some(v(user)),
                database: Some(v("shop")),
                ..DbEnvironment::default()
            }],
            gemfile_lock: None,
        });
        h
    }

    #[test]
    fn application_account_with_require_none_is_high() {
        let master = with_accounts(
            "db-master",
            Role::DbMaster,
            vec![acct("deploy", "%", Require::None)],
        );
        let f = run_fleet(
            &AccountMissingRequireX509,
            vec![master, app_host("deploy")],
            &Thresholds::default(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "account deploy@'%' has REQUIRE NONE (used by the application in /data/shop/current/config/database.yml, environment production)"
        );
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].location, Location::object("account:deploy@%"));
    }

    /// An application is tied to this master only when its database.yml
    /// names it: one pointing at another environment's server explains
    /// nothing here (the remote account is still reported, as remote).
    #[test]
    fn an_application_of_another_server_is_not_attributed() {
        let master = with_accounts(
            "db-master",
            Role::DbMaster,
            vec![acct("shop", "%", Require::None)],
        );
        let mut app = app_host("shop");
        app.app_user = None;
        app.database_ymls[0].environments[0].host = Some(YmlValue {
            value: "db-master.staging.internal".into(),
            line: 3,
            erb: false,
        });
        let f = run_fleet(
            &AccountMissingRequireX509,
            vec![master, app],
            &Thresholds::default(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "account shop@'%' has REQUIRE NONE (remote account: connects from '%')"
        );
        assert!(!f[0].evidence.contains_key("application"));
    }

    #[test]
    fn grading_ssl_and_cipher_only_are_medium_certificates_pass() {
        let master = with_accounts(
            "db-master",
            Role::DbMaster,
            vec![
                acct("a", "%", Require::Ssl),
                acct(
                    "b",
                    "10.0.0.%",
                    Require::Specified {
                        issuer: None,
                        subject: None,
                        cipher: Some("DHE-RSA-AES256-SHA".into()),
                    },
                ),
                acct("c", "%", Require::X509),
                acct(
                    "d",
                    "%",
                    Require::Specified {
                        issuer: None,
                        subject: Some("/CN=d".into()),
                        cipher: None,
                    },
                ),
            ],
        );
        let f = run(&AccountMissingRequireX509, &master);
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].message,
            "account a@'%' has REQUIRE SSL but no certificate (remote account: connects from '%')"
        );
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(
            f[1].message
                .contains("REQUIRE CIPHER 'DHE-RSA-AES256-SHA' but no certificate")
        );
        assert_eq!(f[1].severity, Severity::Medium);
    }

    #[test]
    fn system_roles_locked_and_loopback_accounts_are_skipped() {
        let mut role = acct("app_rw", "%", Require::None);
        role.is_role = true;
        let mut locked = acct("old", "%", Require::None);
        locked.locked = true;
        let master = with_accounts(
            "db-master",
            Role::DbMaster,
            vec![
                acct("mysql.sys", "localhost", Require::None),
                acct("mariadb.sys", "localhost", Require::None),
                acct("PUBLIC", "", Require::None),
                role,
                locked,
                acct("root", "localhost", Require::None),
                acct("deploy", "127.0.0.1", Require::None),
                acct("deploy", "::1", Require::None),
            ],
        );
        let f = run_fleet(
            &AccountMissingRequireX509,
            vec![master, app_host("deploy")],
            &Thresholds::default(),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn policy_list_reaches_loopback_accounts() {
        let master = with_accounts(
            "db-master",
            Role::DbMaster,
            vec![
                acct("root", "localhost", Require::None),
                acct("deploy", "localhost", Require::Ssl),
                acct("ops", "localhost", Require::None),
            ],
        );
        let t = Thresholds {
            require_x509_accounts: vec!["root@'localhost'".into(), "deploy".into(), "ops@%".into()],
            ..Thresholds::default()
        };
        let f = run_fleet(&AccountMissingRequireX509, vec![master], &t);
        let names: Vec<_> = f.iter().map(|f| f.subject().to_string()).collect();
        assert_eq!(
            names,
            ["account:root@localhost", "account:deploy@localhost"]
        );
        assert_eq!(
            f[0].message,
            "account root@'localhost' has REQUIRE NONE (listed in require_x509_accounts)"
        );
    }

    #[test]
    fn replicas_defer_to_a_master_with_accounts() {
        let accounts = vec![acct("deploy", "%", Require::None)];
        let master = with_accounts("db-master", Role::DbMaster, accounts.clone());
        let replica = with_accounts("db-replica", Role::DbReplica, accounts.clone());
        let f = run_fleet(
            &AccountMissingRequireX509,
            vec![master.clone(), replica.clone()],
            &Thresholds::default(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].host, "db-master");

        // The master's accounts were not collected: the replica reports.
        let mut master = master;
        mysql_mut(&mut master).accounts = None;
        let f = run_fleet(
            &AccountMissingRequireX509,
            vec![master, replica.clone()],
            &Thresholds::default(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].host, "db-replica");

        // No master at all: every replica with accounts reports.
        let mut other = replica.clone();
        other.name = "db-replica-2".into();
        let f = run_fleet(
            &AccountMissingRequireX509,
            vec![replica, other],
            &Thresholds::default(),
        );
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn app_user_without_database_yml_is_named() {
        let master = with_accounts(
            "db-master",
            Role::DbMaster,
            vec![acct("deploy", "%", Require::None)],
        );
        let mut app = HostFacts::new("app1", "production", Layout::engineyard());
        app.roles.insert(Role::App);
        app.app_user = Some("deploy".into());
        let f = run_fleet(
            &AccountMissingRequireX509,
            vec![master, app],
            &Thresholds::default(),
        );
        assert_eq!(
            f[0].message,
            "account deploy@'%' has REQUIRE NONE (the application user of app1)"
        );
    }

    #[test]
    fn anonymous_remote_account_is_named_as_mysql_does() {
        let master = with_accounts(
            "db-master",
            Role::DbMaster,
            vec![acct("", "%", Require::None)],
        );
        let f = run(&AccountMissingRequireX509, &master);
        assert_eq!(
            f[0].message,
            "account ''@'%' has REQUIRE NONE (remote account: connects from '%')"
        );
    }

    #[test]
    fn accounts_not_collected_report_nothing() {
        let mut h = db_host("db-master");
        mysql_mut(&mut h).accounts = None;
        assert!(run(&AccountMissingRequireX509, &h).is_empty());
    }
}
