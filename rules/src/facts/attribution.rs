//! Which database host a database.yml environment concerns, on evidence
//! only (docs/verdicts.md, "Attribution"): its `host:` names the database
//! host (inventory name, address, an inventory alias, or the server's own
//! `@@hostname`), or it connects locally on an application host that is
//! itself a database host. An ERB host is unknown until runtime and a host
//! no inventory entry names is nobody's here: neither is attributed.

use std::collections::BTreeSet;

use super::{DbEnvironment, HostFacts};

/// Where a database.yml environment connects, as far as the file tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YmlTarget {
    /// No `host:`, `localhost`, or only a `socket:`: the server on the
    /// application host itself.
    Local,
    /// A literal host name or address, as written (trimmed). A loopback
    /// address (`127.0.0.1`, `::1`) names the application host itself,
    /// unless an inventory entry has exactly that address.
    Named(String),
    /// An ERB value, known only at runtime.
    Unknown,
}

impl YmlTarget {
    pub fn of(env: &DbEnvironment) -> Self {
        if env.host.is_none() && env.url.as_ref().is_some_and(|u| u.erb) {
            // `url: <%= ENV["DATABASE_URL"] %>`: known at runtime only.
            return YmlTarget::Unknown;
        }
        match &env.host {
            Some(h) if h.erb => YmlTarget::Unknown,
            Some(h) => {
                let v = h.value.trim();
                if v.is_empty() || v.eq_ignore_ascii_case("localhost") {
                    YmlTarget::Local
                } else {
                    YmlTarget::Named(v.to_string())
                }
            }
            None => YmlTarget::Local,
        }
    }
}

/// True for a loopback address: the host the client runs on.
pub fn is_loopback(v: &str) -> bool {
    let v = v.trim().trim_start_matches('[').trim_end_matches(']');
    match v.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => v.eq_ignore_ascii_case("localhost"),
    }
}

/// Lowercase, without a trailing dot: `DB-Master.Example.COM.` names
/// `db-master.example.com`.
fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The names by which other hosts reach a database host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostNames {
    names: BTreeSet<String>,
}

impl HostNames {
    /// The inventory name, address and aliases, and the server's
    /// `@@hostname` when its SQL facts were collected.
    pub fn of(host: &HostFacts) -> Self {
        let sql_hostname = host.mysql.as_ref().and_then(|m| m.variable("hostname"));
        let names = std::iter::once(host.name.as_str())
            .chain(host.address.as_deref())
            .chain(host.aliases.iter().map(String::as_str))
            .chain(sql_hostname)
            .map(normalize)
            .filter(|n| !n.is_empty())
            .collect();
        HostNames { names }
    }

    /// The names, normalized (lowercase, no trailing dot).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// `value` as [`HostNames`] holds names: lowercase, no trailing dot.
    pub fn normalize(value: &str) -> String {
        normalize(value)
    }

    /// True when `value` (a database.yml `host:`) names this host.
    pub fn matches(&self, value: &str) -> bool {
        self.names.contains(&normalize(value))
    }
}

/// A database.yml environment that names a MySQL user, as the fleet rules
/// see it after the application host's facts are gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YmlUse {
    /// The database.yml file.
    pub path: String,
    /// The environment (`production`).
    pub environment: String,
    /// The literal username.
    pub username: String,
    pub target: YmlTarget,
}

impl YmlUse {
    /// Every environment of a host's database.yml files that names a
    /// literal username, in file and environment order (templates such as
    /// `default:` only feed `<<:` merges and are left out).
    pub fn of(host: &HostFacts) -> Vec<YmlUse> {
        host.database_ymls
            .iter()
            .flat_map(|y| {
                y.environments
                    .iter()
                    .filter(|e| e.is_mysql() && !e.is_template())
                    .filter_map(|e| {
                        let u = e.username.as_ref().filter(|u| !u.erb)?;
                        Some(YmlUse {
                            path: y.path.clone(),
                            environment: e.name.clone(),
                            username: u.value.clone(),
                            target: YmlTarget::of(e),
                        })
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::parse::dbyml::parse_database_yml;

    #[test]
    fn targets_and_names() {
        let yml = parse_database_yml(
            "/data/shop/config/database.yml",
            "default: &d\n  adapter: mysql2\n  username: deploy\n\
             production:\n  <<: *d\n  host: DB-Master.internal.\n\
             development:\n  <<: *d\n  host: localhost\n\
             test:\n  <<: *d\n  username: tester\n\
             reporting:\n  <<: *d\n  username: reports\n  host: 127.0.0.1\n\
             staging:\n  <<: *d\n  host: \"<%= ENV['DB_HOST'] %>\"\n",
        )
        .expect("valid");
        let mut app = HostFacts::new("app-1", "production", Layout::engineyard());
        app.database_ymls.push(yml);
        let uses = YmlUse::of(&app);
        let got: Vec<(&str, &str, &YmlTarget)> = uses
            .iter()
            .map(|u| (u.environment.as_str(), u.username.as_str(), &u.target))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "production",
                    "deploy",
                    &YmlTarget::Named("DB-Master.internal.".into())
                ),
                ("development", "deploy", &YmlTarget::Local),
                ("test", "tester", &YmlTarget::Local),
                (
                    "reporting",
                    "reports",
                    &YmlTarget::Named("127.0.0.1".into())
                ),
                ("staging", "deploy", &YmlTarget::Unknown),
            ]
        );

        let mut db = HostFacts::new("db-master", "production", Layout::engineyard());
        db.address = Some("10.0.0.10".into());
        db.aliases = vec!["db-master.internal".into()];
        let names = HostNames::of(&db);
        assert!(names.matches("DB-Master.internal."));
        assert!(names.matches("10.0.0.10"));
        assert!(names.matches("db-master"));
        assert!(!names.matches("db-master.example.com"), "no guessing");
        assert!(!names.matches("10.0.0.11"));
    }
}
