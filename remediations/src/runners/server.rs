//! How a MySQL server is made to load new TLS files: reloaded in place
//! where the server can (no downtime), restarted otherwise.

use sslaudit_rules::facts::{Flavor, HostFacts, MysqlVersion};
use sslaudit_rules::parse::version::parse_version;

use super::HostSettings;
use crate::plan::Action;

/// The way a server picks up new key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsReload {
    /// MariaDB 10.4+: `FLUSH SSL` re-reads the files its ssl_* variables name.
    FlushSsl,
    /// MySQL 8.0.16+: `ALTER INSTANCE RELOAD TLS`.
    AlterInstanceReloadTls,
    /// Everything else: restart mysqld with this shell command (a brief
    /// downtime).
    Restart(String),
}

impl TlsReload {
    /// The step action that performs the reload.
    pub fn action(&self) -> Action {
        match self {
            TlsReload::FlushSsl => Action::RunSql {
                sql: "FLUSH SSL".to_string(),
            },
            TlsReload::AlterInstanceReloadTls => Action::RunSql {
                sql: "ALTER INSTANCE RELOAD TLS".to_string(),
            },
            TlsReload::Restart(command) => Action::RunCommand {
                command: command.clone(),
                expect_status: 0,
            },
        }
    }

    /// Whether the server keeps serving during the reload.
    pub fn is_online(&self) -> bool {
        !matches!(self, TlsReload::Restart(_))
    }
}

/// The server's version: what SQL reported, else the protocol greeting of
/// the TLS probe.
pub(crate) fn server_version(facts: &HostFacts) -> Option<MysqlVersion> {
    if let Some(v) = facts.mysql.as_ref().and_then(|m| m.version.clone()) {
        return Some(v);
    }
    let greeting = facts.probe.as_ref()?.greeting_version.as_deref()?;
    parse_version(greeting, None)
}

/// How this host's server loads new key files: `FLUSH SSL` on MariaDB
/// 10.4+, `ALTER INSTANCE RELOAD TLS` on MySQL (and Percona Server) 8.0.16+,
/// otherwise (older servers, or the version is unknown) a restart.
pub fn tls_reload(facts: &HostFacts, settings: &HostSettings) -> TlsReload {
    match server_version(facts) {
        Some(v) if v.flavor == Flavor::Mariadb && v.at_least(10, 4, 0) => TlsReload::FlushSsl,
        Some(v) if v.flavor != Flavor::Mariadb && v.at_least(8, 0, 16) => {
            TlsReload::AlterInstanceReloadTls
        }
        _ => TlsReload::Restart(restart_command(settings)),
    }
}

/// The default restart commands, in the order they are tried: the seed's
/// init script, Debian 12's MariaDB one, then systemd units.
const RESTARTS: [(&str, &str); 4] = [
    ("[ -x /etc/init.d/mysql ]", "/etc/init.d/mysql restart"),
    ("[ -x /etc/init.d/mariadb ]", "/etc/init.d/mariadb restart"),
    (
        "command -v systemctl >/dev/null 2>&1 && systemctl cat mysql.service >/dev/null 2>&1",
        "systemctl restart mysql",
    ),
    (
        "command -v systemctl >/dev/null 2>&1 && systemctl cat mariadb.service >/dev/null 2>&1",
        "systemctl restart mariadb",
    ),
];

/// The host's restart command: the inventory's `mysql.restart_command`,
/// else one shell line that runs the first of `/etc/init.d/mysql restart`
/// (the seed's), `/etc/init.d/mariadb restart` (Debian 12),
/// `systemctl restart mysql`, `systemctl restart mariadb` that exists on
/// the host, and fails loudly (exit 127, a message on stderr) when none
/// does.
pub fn restart_command(settings: &HostSettings) -> String {
    if let Some(c) = settings
        .mysql_restart_command
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    {
        return c.to_string();
    }
    let mut line = String::new();
    for (i, (test, run)) in RESTARTS.iter().enumerate() {
        line.push_str(if i == 0 { "if " } else { "; elif " });
        line.push_str(test);
        line.push_str("; then ");
        line.push_str(run);
    }
    line.push_str(
        "; else echo 'sslaudit: no MySQL restart command found (tried /etc/init.d/mysql, \
         /etc/init.d/mariadb, systemctl mysql, systemctl mariadb); set mysql.restart_command \
         in the inventory' >&2; exit 127; fi",
    );
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::testutil::{db_host, version};
    use std::process::Command;

    #[test]
    fn reload_by_flavor_and_version() {
        let s = HostSettings::default();
        let mut h = db_host("db-master");
        let at = |h: &mut HostFacts, flavor, raw: &str| {
            h.mysql.get_or_insert_with(Default::default).version = Some(version(flavor, raw));
        };
        at(&mut h, Flavor::Mariadb, "10.4.1-MariaDB");
        assert_eq!(tls_reload(&h, &s), TlsReload::FlushSsl);
        at(&mut h, Flavor::Mariadb, "10.3.39-MariaDB");
        assert!(matches!(tls_reload(&h, &s), TlsReload::Restart(_)));
        at(&mut h, Flavor::Mysql, "8.0.16");
        assert_eq!(tls_reload(&h, &s), TlsReload::AlterInstanceReloadTls);
        at(&mut h, Flavor::Percona, "8.0.36-28");
        assert_eq!(tls_reload(&h, &s), TlsReload::AlterInstanceReloadTls);
        at(&mut h, Flavor::Mysql, "8.0.15");
        assert!(matches!(tls_reload(&h, &s), TlsReload::Restart(_)));
        at(&mut h, Flavor::Mysql, "5.6.21-log");
        let custom = HostSettings {
            mysql_restart_command: Some("sv restart mysql".into()),
            ..HostSettings::default()
        };
        assert_eq!(
            tls_reload(&h, &custom),
            TlsReload::Restart("sv restart mysql".into())
        );
        assert_eq!(
            TlsReload::Restart("sv restart mysql".into()).action(),
            Action::RunCommand {
                command: "sv restart mysql".into(),
                expect_status: 0
            }
        );
        assert_eq!(
            TlsReload::FlushSsl.action(),
            Action::RunSql {
                sql: "FLUSH SSL".into()
            }
        );
        // Unknown version: restart, the one way that works everywhere.
        h.mysql = None;
        assert!(matches!(tls_reload(&h, &s), TlsReload::Restart(_)));
    }

    #[test]
    fn default_restart_tries_in_order_and_fails_loudly() {
        let cmd = restart_command(&HostSettings::default());
        let seed = cmd.find("/etc/init.d/mysql restart").expect("seed's first");
        let debian = cmd.find("/etc/init.d/mariadb restart").expect("debian");
        let sysd = cmd.find("systemctl restart mysql").expect("systemd");
        assert!(seed < debian && debian < sysd, "{cmd}");
        // The line is valid sh. On a machine with none of them (a CI
        // container), it fails with 127 and says why.
        let out = Command::new("sh").arg("-n").arg("-c").arg(&cmd).output();
        if let Ok(out) = out {
            assert!(out.status.success(), "{cmd}");
        }
        let blank = HostSettings {
            mysql_restart_command: Some("  ".into()),
            ..HostSettings::default()
        };
        assert_eq!(
            restart_command(&blank),
            cmd,
            "a blank setting is no setting"
        );
    }
}
