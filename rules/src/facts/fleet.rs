//! What rules see of the hosts other than the one they check.
//!
//! A scan does not keep every host's facts until the end: the engine runs a
//! host's rules, then reduces the host to a [`HostDigest`] (who it is, the
//! application users it names, whether its accounts were collected, its TLS
//! identities and the certificates they name) and drops the rest. Rules
//! reach other hosts only through [`FleetView`]: host rules ask about their
//! own environment, fleet rules read every digest.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::attribution::is_loopback;
pub use super::galera::GaleraDigest;
use super::{Certificate, Fleet, HostFacts, HostNames, Role, TlsIdentity, YmlTarget, YmlUse};

/// One host as rules that compare hosts see it.
#[derive(Debug, Clone)]
pub struct HostDigest {
    pub name: String,
    pub environment: String,
    pub roles: BTreeSet<Role>,
    /// How database.yml files name this host (database hosts only).
    pub names: HostNames,
    pub app_user: Option<String>,
    /// The server's account list was collected (`mysql.accounts` is set).
    pub accounts_collected: bool,
    /// The host's database.yml environments that name a literal username.
    pub yml_uses: Vec<YmlUse>,
    pub identities: Vec<TlsIdentity>,
    /// The certificate files the identities name (`ca` and `cert`), by
    /// path. Shared: hosts holding the same file share one copy.
    pub certificates: BTreeMap<String, Arc<Vec<Certificate>>>,
    /// The chain a database host presented to the probe, leaf first.
    pub presented: Vec<Certificate>,
    /// What each MySQL environment of the host's database.yml files does
    /// with its TLS settings, on its driver (application hosts).
    pub client_tls: Vec<crate::app::driver::EnvTls>,
    /// A Galera node's cluster and the TLS settings its members must agree on.
    pub galera: Option<GaleraDigest>,
}

impl HostDigest {
    /// The digest of a host's facts.
    pub fn of(host: &HostFacts) -> Self {
        let certificates = host
            .identities
            .iter()
            .flat_map(|i| [i.ca.as_deref(), i.cert.as_deref()])
            .flatten()
            .filter_map(|p| {
                host.certificates
                    .get(p)
                    .map(|c| (p.to_string(), Arc::new(c.clone())))
            })
            .collect();
        HostDigest {
            name: host.name.clone(),
            environment: host.environment.clone(),
            roles: host.roles.clone(),
            names: if host.is_db() {
                HostNames::of(host)
            } else {
                HostNames::default()
            },
            app_user: host.app_user.clone(),
            accounts_collected: host.mysql.as_ref().is_some_and(|m| m.accounts.is_some()),
            yml_uses: YmlUse::of(host),
            identities: host.identities.clone(),
            certificates,
            presented: match &host.probe {
                Some(p) if host.is_db() => p.chain.clone(),
                _ => Vec::new(),
            },
            client_tls: crate::app::driver::client_tls(host),
            galera: host.galera.as_ref().map(|g| g.digest(host)),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_db(&self) -> bool {
        self.has_role(Role::DbMaster) || self.has_role(Role::DbReplica)
    }

    /// The certificates of a file the identities name.
    pub fn certificates_of(&self, path: &str) -> Option<&[Certificate]> {
        self.certificates.get(path).map(|c| c.as_slice())
    }

    /// The certificate the server presents: the probe's leaf, else the
    /// first certificate of the file its `ssl-cert` names.
    pub fn server_certificate(&self) -> Option<&Certificate> {
        self.presented.first().or_else(|| {
            let path = self.server_identity()?.cert.as_deref()?;
            self.certificates_of(path)?.first()
        })
    }

    /// The server's own identity, if its options name one.
    pub fn server_identity(&self) -> Option<&TlsIdentity> {
        self.identities
            .iter()
            .find(|i| i.kind == super::IdentityKind::Server)
    }
}

/// A MySQL user an application of an environment connects as, and the
/// evidence that it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAccount {
    /// For messages: `used by the application in <database.yml>
    /// (environment production)` or `the application user of app-1`.
    pub why: String,
    /// Named by a database.yml environment that concerns one of the
    /// environment's database hosts (else it is an inventory `app_user`).
    pub from_database_yml: bool,
}

/// The hosts of a scan as rules see them besides the one they check.
///
/// In [`crate::Rule::check_host`] the answers about the host's own
/// environment are complete; [`FleetView::digests`] is complete in
/// [`crate::Rule::check_fleet`] (while hosts are checked it may hold only
/// the environment being checked).
pub trait FleetView: Sync {
    /// MySQL users the applications of `environment` connect to its
    /// database servers as (docs/verdicts.md, "Attribution"): usernames of
    /// database.yml environments whose `host:` names one of the
    /// environment's database hosts (the master and its replicas share
    /// accounts) or that connect locally on a host that is one, first; then
    /// the hosts' inventory `app_user`.
    fn app_accounts(&self, environment: &str) -> BTreeMap<String, AppAccount>;

    /// True when a db_master of `environment` had its account list collected.
    fn master_accounts_collected(&self, environment: &str) -> bool;

    /// The digest of every host the view holds, in inventory order: one
    /// environment's when the engine runs [`crate::Rule::check_fleet`].
    fn digests(&self) -> Cow<'_, [HostDigest]>;
}

/// A fleet held as full facts (tests, small live scans) answers from the
/// digests of the environment asked about, so both views agree by
/// construction.
impl FleetView for Fleet {
    fn app_accounts(&self, environment: &str) -> BTreeMap<String, AppAccount> {
        let digests: Vec<HostDigest> = self.hosts_in(environment).map(HostDigest::of).collect();
        EnvironmentIndex::of(digests.iter()).app_accounts
    }

    fn master_accounts_collected(&self, environment: &str) -> bool {
        self.hosts_in(environment).any(|h| {
            h.has_role(Role::DbMaster) && h.mysql.as_ref().is_some_and(|m| m.accounts.is_some())
        })
    }

    fn digests(&self) -> Cow<'_, [HostDigest]> {
        Cow::Owned(self.hosts.iter().map(HostDigest::of).collect())
    }
}

/// What host rules ask about one environment, worked out once.
#[derive(Debug, Default, Clone)]
struct EnvironmentIndex {
    app_accounts: BTreeMap<String, AppAccount>,
    master_accounts: bool,
}

impl EnvironmentIndex {
    /// The index of one environment's hosts. The answers do not depend on
    /// the order hosts come in (an inventory's, a snapshot folder's): where
    /// several hosts name a user, the first by host name explains it.
    fn of<'a>(hosts: impl Iterator<Item = &'a HostDigest>) -> Self {
        let mut hosts: Vec<&HostDigest> = hosts.collect();
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        let dbs: Vec<&HostDigest> = hosts.iter().copied().filter(|h| h.is_db()).collect();
        let mut index = EnvironmentIndex::default();
        for h in &hosts {
            index.master_accounts |= h.has_role(Role::DbMaster) && h.accounts_collected;
            for u in &h.yml_uses {
                let concerns_a_db = match &u.target {
                    YmlTarget::Local => h.is_db(),
                    // An inventory address first: a test fleet (or a
                    // container network) may give hosts loopback addresses.
                    YmlTarget::Named(v) => {
                        dbs.iter().any(|d| d.names.matches(v)) || (is_loopback(v) && h.is_db())
                    }
                    YmlTarget::Unknown => false,
                };
                if concerns_a_db {
                    index
                        .app_accounts
                        .entry(u.username.clone())
                        .or_insert_with(|| AppAccount {
                            why: format!(
                                "used by the application in {}, environment {}",
                                u.path, u.environment
                            ),
                            from_database_yml: true,
                        });
                }
            }
        }
        // Application users only where no database.yml names them.
        for h in &hosts {
            if let Some(user) = &h.app_user {
                index
                    .app_accounts
                    .entry(user.clone())
                    .or_insert_with(|| AppAccount {
                        why: format!("the application user of {}", h.name),
                        from_database_yml: false,
                    });
            }
        }
        index
    }
}

/// The fleet as digests: what the engine keeps once hosts were checked.
#[derive(Debug, Default, Clone)]
pub struct FleetSummary {
    hosts: Vec<HostDigest>,
    environments: BTreeMap<String, EnvironmentIndex>,
}

impl FleetSummary {
    /// Indexes `hosts` (in inventory order).
    pub fn new(hosts: Vec<HostDigest>) -> Self {
        let names: BTreeSet<&str> = hosts.iter().map(|h| h.environment.as_str()).collect();
        let environments = names
            .into_iter()
            .map(|env| {
                let index = EnvironmentIndex::of(hosts.iter().filter(|h| h.environment == env));
                (env.to_string(), index)
            })
            .collect();
        FleetSummary {
            hosts,
            environments,
        }
    }

    pub fn hosts(&self) -> &[HostDigest] {
        &self.hosts
    }

    pub fn into_hosts(self) -> Vec<HostDigest> {
        self.hosts
    }
}

impl FleetView for FleetSummary {
    fn app_accounts(&self, environment: &str) -> BTreeMap<String, AppAccount> {
        self.environments
            .get(environment)
            .map(|e| e.app_accounts.clone())
            .unwrap_or_default()
    }

    fn master_accounts_collected(&self, environment: &str) -> bool {
        self.environments
            .get(environment)
            .is_some_and(|e| e.master_accounts)
    }

    fn digests(&self) -> Cow<'_, [HostDigest]> {
        Cow::Borrowed(&self.hosts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{DatabaseYml, MysqlFacts};
    use crate::layout::Layout;

    fn yml(path: &str, envs: &[(&str, &str, &str)]) -> DatabaseYml {
        let mut text = String::new();
        for (env, user, host) in envs {
            text.push_str(&format!("{env}:\n  adapter: mysql2\n  username: {user}\n"));
            if !host.is_empty() {
                text.push_str(&format!("  host: {host}\n"));
            }
        }
        crate::parse::dbyml::parse_database_yml(path, &text).expect("valid database.yml")
    }

    fn fleet() -> Fleet {
        let mut master = HostFacts::new("db-master", "production", Layout::engineyard());
        master.roles.insert(Role::DbMaster);
        master.address = Some("10.0.0.10".into());
        master.mysql = Some(MysqlFacts {
            accounts: Some(Vec::new()),
            ..MysqlFacts::default()
        });
        let mut replica = HostFacts::new("db-replica-1", "production", Layout::engineyard());
        replica.roles.insert(Role::DbReplica);
        replica.aliases = vec!["reports-db.internal".into()];
        let mut app = HostFacts::new("app-1", "production", Layout::engineyard());
        app.roles.insert(Role::App);
        app.app_user = Some("deploy".into());
        app.database_ymls = vec![yml(
            "/data/a/database.yml",
            &[
                ("production", "shop", "10.0.0.10"),
                ("reporting", "reports", "reports-db.internal"),
                // Not this environment's database hosts: not attributed.
                ("development", "dev", "localhost"),
                ("legacy", "old", "db-master.staging"),
                ("dynamic", "dyn", "\"<%= ENV['DB_HOST'] %>\""),
            ],
        )];
        let mut other = HostFacts::new("app-2", "staging", Layout::engineyard());
        other.app_user = Some("stage".into());
        let mut other2 = HostFacts::new("app-0", "staging", Layout::engineyard());
        other2.app_user = Some("stage".into());
        // A database host that is also an application host: localhost is
        // itself.
        let mut combined = HostFacts::new("db-master", "staging", Layout::engineyard());
        combined.roles.extend([Role::DbMaster, Role::App]);
        combined.database_ymls = vec![yml(
            "/var/www/database.yml",
            &[("staging", "shop_staging", "localhost")],
        )];
        Fleet {
            hosts: vec![master, replica, app, other, combined, other2],
        }
    }

    /// The summary answers exactly as the full facts do.
    #[test]
    fn summary_and_full_facts_agree() {
        let fleet = fleet();
        let summary = FleetSummary::new(fleet.hosts.iter().map(HostDigest::of).collect());
        for env in ["production", "staging", "nowhere"] {
            assert_eq!(fleet.app_accounts(env), summary.app_accounts(env), "{env}");
            assert_eq!(
                fleet.master_accounts_collected(env),
                summary.master_accounts_collected(env)
            );
        }
        assert!(summary.master_accounts_collected("production"));
        assert!(!summary.master_accounts_collected("staging"));
        assert_eq!(summary.digests().len(), 6);
        // Host order (an inventory's, a snapshot folder's) changes nothing.
        let mut reversed = fleet.clone();
        reversed.hosts.reverse();
        for env in ["production", "staging"] {
            assert_eq!(fleet.app_accounts(env), reversed.app_accounts(env), "{env}");
        }
    }

    /// Only environments whose host names one of the environment's database
    /// hosts (or connect locally on one) are attributed (docs/verdicts.md).
    #[test]
    fn attribution_needs_evidence() {
        let fleet = fleet();
        let prod = fleet.app_accounts("production");
        let users: Vec<&str> = prod.keys().map(String::as_str).collect();
        assert_eq!(users, ["deploy", "reports", "shop"]);
        assert_eq!(
            prod["shop"].why,
            "used by the application in /data/a/database.yml, environment production"
        );
        assert!(prod["reports"].from_database_yml, "an inventory alias");
        assert_eq!(prod["deploy"].why, "the application user of app-1");
        assert!(!prod["deploy"].from_database_yml);
        let staging = fleet.app_accounts("staging");
        let users: Vec<&str> = staging.keys().map(String::as_str).collect();
        assert_eq!(users, ["shop_staging", "stage"]);
        assert_eq!(
            staging["stage"].why, "the application user of app-0",
            "first by name"
        );
    }
}
