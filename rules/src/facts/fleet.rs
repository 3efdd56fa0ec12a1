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

use super::{Certificate, Fleet, HostFacts, Role, TlsIdentity};

/// One host as rules that compare hosts see it.
#[derive(Debug, Clone)]
pub struct HostDigest {
    pub name: String,
    pub environment: String,
    pub roles: BTreeSet<Role>,
    pub app_user: Option<String>,
    /// The server's account list was collected (`mysql.accounts` is set).
    pub accounts_collected: bool,
    /// Literal (non-ERB) usernames of the host's database.yml environments:
    /// (file, username), in file and environment order.
    pub yml_usernames: Vec<(String, String)>,
    pub identities: Vec<TlsIdentity>,
    /// The certificate files the identities name (`ca` and `cert`), by
    /// path. Shared: hosts holding the same file share one copy.
    pub certificates: BTreeMap<String, Arc<Vec<Certificate>>>,
}

impl HostDigest {
    /// The digest of a host's facts.
    pub fn of(host: &HostFacts) -> Self {
        let yml_usernames = host
            .database_ymls
            .iter()
            .flat_map(|y| {
                y.environments.iter().filter_map(|e| {
                    e.username
                        .as_ref()
                        .filter(|u| !u.erb)
                        .map(|u| (y.path.clone(), u.value.clone()))
                })
            })
            .collect();
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
            app_user: host.app_user.clone(),
            accounts_collected: host.mysql.as_ref().is_some_and(|m| m.accounts.is_some()),
            yml_usernames,
            identities: host.identities.clone(),
            certificates,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The certificates of a file the identities name.
    pub fn certificates_of(&self, path: &str) -> Option<&[Certificate]> {
        self.certificates.get(path).map(|c| c.as_slice())
    }

    /// The server's own identity, if its options name one.
    pub fn server_identity(&self) -> Option<&TlsIdentity> {
        self.identities
            .iter()
            .find(|i| i.kind == super::IdentityKind::Server)
    }
}

/// The hosts of a scan as rules see them besides the one they check.
///
/// In [`crate::Rule::check_host`] the answers about the host's own
/// environment are complete; [`FleetView::digests`] is complete in
/// [`crate::Rule::check_fleet`] (while hosts are checked it may hold only
/// the environment being checked).
pub trait FleetView: Sync {
    /// MySQL usernames the applications of `environment` connect as: the
    /// hosts' application user and the literal usernames of their
    /// database.yml files.
    fn app_usernames(&self, environment: &str) -> BTreeSet<&str>;

    /// Where an application of `environment` names `user`, for messages:
    /// `used by the application in <database.yml>` (the first file naming
    /// it), else `the application user of <host>`.
    fn app_use(&self, environment: &str, user: &str) -> Option<String>;

    /// True when a db_master of `environment` had its account list collected.
    fn master_accounts_collected(&self, environment: &str) -> bool;

    /// Every host's digest, in inventory order.
    fn digests(&self) -> Cow<'_, [HostDigest]>;
}

/// A fleet held as full facts (tests, small live scans) answers from them.
impl FleetView for Fleet {
    fn app_usernames(&self, environment: &str) -> BTreeSet<&str> {
        let mut users = BTreeSet::new();
        for host in self.hosts_in(environment) {
            if let Some(u) = &host.app_user {
                users.insert(u.as_str());
            }
            for yml in &host.database_ymls {
                for env in &yml.environments {
                    if let Some(u) = &env.username
                        && !u.erb
                    {
                        users.insert(u.value.as_str());
                    }
                }
            }
        }
        users
    }

    fn app_use(&self, environment: &str, user: &str) -> Option<String> {
        for h in self.hosts_in(environment) {
            for yml in &h.database_ymls {
                if yml.environments.iter().any(|e| {
                    e.username
                        .as_ref()
                        .is_some_and(|u| !u.erb && u.value == user)
                }) {
                    return Some(format!("used by the application in {}", yml.path));
                }
            }
        }
        self.hosts_in(environment)
            .find(|h| h.app_user.as_deref() == Some(user))
            .map(|h| format!("the application user of {}", h.name))
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
    /// Every application username, with where it is used (first wins:
    /// database.yml files before application users).
    app_users: BTreeMap<String, String>,
    master_accounts: bool,
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
        let mut environments: BTreeMap<String, EnvironmentIndex> = BTreeMap::new();
        for h in &hosts {
            let env = environments.entry(h.environment.clone()).or_default();
            env.master_accounts |= h.has_role(Role::DbMaster) && h.accounts_collected;
            for (path, user) in &h.yml_usernames {
                env.app_users
                    .entry(user.clone())
                    .or_insert_with(|| format!("used by the application in {path}"));
            }
        }
        // Application users only where no database.yml names them.
        for h in &hosts {
            if let Some(user) = &h.app_user
                && let Some(env) = environments.get_mut(&h.environment)
            {
                env.app_users
                    .entry(user.clone())
                    .or_insert_with(|| format!("the application user of {}", h.name));
            }
        }
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
    fn app_usernames(&self, environment: &str) -> BTreeSet<&str> {
        self.environments
            .get(environment)
            .map(|e| e.app_users.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn app_use(&self, environment: &str, user: &str) -> Option<String> {
        self.environments
            .get(environment)
            .and_then(|e| e.app_users.get(user))
            .cloned()
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

    fn yml_user(path: &str, user: &str) -> DatabaseYml {
        let text =
            format!("production:\n  adapter: mysql2\n  username: {user}\n  host: 10.0.0.10\n");
        crate::parse::dbyml::parse_database_yml(path, &text).expect("valid database.yml")
    }

    fn fleet() -> Fleet {
        let mut master = HostFacts::new("db-master", "production", Layout::engineyard());
        master.roles.insert(Role::DbMaster);
        master.mysql = Some(MysqlFacts {
            accounts: Some(Vec::new()),
            ..MysqlFacts::default()
        });
        let mut app = HostFacts::new("app-1", "production", Layout::engineyard());
        app.roles.insert(Role::App);
        app.app_user = Some("deploy".into());
        app.database_ymls = vec![
            yml_user("/data/a/database.yml", "shop"),
            yml_user("/data/b/database.yml", "\"<%= ENV['U'] %>\""),
        ];
        let mut other = HostFacts::new("app-2", "staging", Layout::engineyard());
        other.app_user = Some("stage".into());
        Fleet {
            hosts: vec![master, app, other],
        }
    }

    /// The summary answers exactly as the full facts do.
    #[test]
    fn summary_and_full_facts_agree() {
        let fleet = fleet();
        let summary = FleetSummary::new(fleet.hosts.iter().map(HostDigest::of).collect());
        for env in ["production", "staging", "nowhere"] {
            assert_eq!(
                fleet.app_usernames(env),
                summary.app_usernames(env),
                "{env}"
            );
            assert_eq!(
                fleet.master_accounts_collected(env),
                summary.master_accounts_collected(env)
            );
            for user in ["deploy", "shop", "stage", "root"] {
                assert_eq!(
                    fleet.app_use(env, user),
                    summary.app_use(env, user),
                    "{env} {user}"
                );
            }
        }
        assert_eq!(
            summary.app_usernames("production"),
            ["deploy", "shop"].into_iter().collect()
        );
        assert_eq!(
            summary.app_use("production", "shop").as_deref(),
            Some("used by the application in /data/a/database.yml")
        );
        assert_eq!(
            summary.app_use("production", "deploy").as_deref(),
            Some("the application user of app-1")
        );
        assert!(summary.master_accounts_collected("production"));
        assert!(!summary.master_accounts_collected("staging"));
        assert_eq!(summary.digests().len(), 3);
    }
}
