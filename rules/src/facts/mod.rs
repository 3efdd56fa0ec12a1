//! The typed facts model. Collectors (live over SSH/MySQL, or a snapshot
//! folder) fill it; rules only read it.
//!
//! Every optional part is an `Option`: `None` means "not collected" (and a
//! [`CollectionProblem`] says why), which is different from "collected and
//! empty". Rules that need a missing fact report nothing rather than guess.

mod attribution;
mod cert;
mod config;
mod fleet;
pub mod galera;
mod mysql;
mod net;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use attribution::{HostNames, YmlTarget, YmlUse};
pub(crate) use cert::rfc4514_attributes;
pub use cert::{Certificate, KeyAlgorithm, PrivateKeyFacts, PublicKeyInfo, common_name_of};
pub use config::{
    ClientLibrary, DatabaseYml, DbEnvironment, GemfileLock, LibraryFamily, OpensslCnf, OptionSet,
    OptionValue, OsUser, YmlKey, YmlValue, normalize_option_name, resolve_app_path,
};
pub use fleet::{AppAccount, FleetSummary, FleetView, GaleraDigest, HostDigest};
pub use galera::{GaleraFacts, GaleraPort, GaleraValue, ReplicationTls, SstTls};
pub use mysql::{
    Account, CensusSource, Flavor, LiveSession, MysqlFacts, MysqlVersion, ReplicationChannel,
    Require, SessionCensus, SessionTransport,
};
pub use net::{
    ConnectionFacts, ER_ACCESS_DENIED_ERROR, ER_SECURE_TRANSPORT_REQUIRED, PlaintextAnswer,
    PlaintextOutcome, ProbeFacts,
};

use crate::layout::Layout;

/// Every host of a scan, in inventory order, with all its facts. Rules see
/// other hosts through [`FleetView`], which this implements.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fleet {
    pub hosts: Vec<HostFacts>,
}

impl Fleet {
    /// Environment names, sorted.
    pub fn environments(&self) -> BTreeSet<&str> {
        self.hosts.iter().map(|h| h.environment.as_str()).collect()
    }

    pub fn hosts_in<'a, 'e>(
        &'a self,
        environment: &'e str,
    ) -> impl Iterator<Item = &'a HostFacts> + use<'a, 'e> {
        self.hosts
            .iter()
            .filter(move |h| h.environment == environment)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DbMaster,
    DbReplica,
    App,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::DbMaster => "db_master",
            Role::DbReplica => "db_replica",
            Role::App => "app",
        }
    }
}

/// Whether the scanner could reach and log in to a host at all (SCAN001).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reachability {
    Reachable,
    Unreachable { reason: String },
}

/// How the scanner reached a host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Logged in over SSH: files, the host's own client, and the wire.
    #[default]
    Ssh,
    /// Only its MySQL port, from the scanner (`ssh: none` in the
    /// inventory: a managed database, a server of another team): SQL facts
    /// and the TLS probe, no files. Rules that judge files
    /// ([`crate::Evidence::HostFiles`]) do not apply.
    Wire,
}

impl Access {
    pub fn is_ssh(&self) -> bool {
        *self == Access::Ssh
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Ssh => "ssh",
            Access::Wire => "wire",
        }
    }
}

/// A fact that could not be collected or parsed (SCAN002).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CollectionProblem {
    /// What was being collected: `option file`, `certificate`, `mysql accounts`...
    /// (the [`what`] constants name the ones rules grade).
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

/// The `what` of the problems that say why a server's SQL facts are
/// missing as a whole. The collectors record them; SCAN002 grades them.
pub mod what {
    /// The server refused the scanner's login.
    pub const MYSQL_LOGIN: &str = "mysql login";
    /// No connection came about: refused, timed out, a protocol error.
    pub const MYSQL_CONNECTION: &str = "mysql connection";
    /// The TLS handshake failed or the server's certificate could not be
    /// verified; the client identity could not be loaded.
    pub const MYSQL_TLS: &str = "mysql tls";
    /// The host's own mysql client could not be run.
    pub const MYSQL_CLIENT: &str = "mysql client";
    /// The server offers no TLS (no CLIENT_SSL in its greeting), so the
    /// scanner did not send its credentials. Not a scanner failure: the
    /// server's state, which SSL001 reports from the greeting.
    pub const MYSQL_NO_TLS: &str = "mysql no tls";
    /// The credential-less TLS probe got no MySQL greeting.
    pub const TLS_PROBE: &str = "tls probe";
}

impl CollectionProblem {
    /// A problem with no file.
    pub fn new(what: &str, message: impl Into<String>) -> Self {
        CollectionProblem {
            what: what.to_string(),
            path: None,
            line: None,
            message: message.into(),
        }
    }

    /// True when the scanner could not get into the database at all: it
    /// refused the login, its TLS could not be verified, no connection came
    /// about, or the client could not be run. The host's SQL facts are
    /// missing for a reason the user must fix before the audit is complete
    /// (SCAN002 at high severity, which fails the gate like SCAN001). A
    /// server that offers no TLS is not one: that is a finding (SSL001).
    pub fn is_access_failure(&self) -> bool {
        matches!(
            self.what.as_str(),
            what::MYSQL_LOGIN | what::MYSQL_CONNECTION | what::MYSQL_TLS | what::MYSQL_CLIENT
        )
    }

    /// True when the server's greeting offered no TLS and the scanner
    /// therefore did not log in.
    pub fn is_tls_not_offered(&self) -> bool {
        self.what == what::MYSQL_NO_TLS
    }
}

/// What the collector saw of one path on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub path: String,
    pub status: FileStatus,
    /// Permission bits (`0o600`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Lines of a text file whose content was read (a file not ending in a
    /// newline counts its last line too); what a whole-file finding's
    /// region spans in SARIF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u32>,
}

impl FileMeta {
    /// A path with a status and no metadata (yet).
    pub fn bare(path: &str, status: FileStatus) -> Self {
        FileMeta {
            path: path.to_string(),
            status,
            mode: None,
            owner: None,
            group: None,
            size: None,
            lines: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FileStatus {
    Present,
    Missing,
    Unreadable { reason: String },
}

/// A set of TLS files that belong together (CA, certificate, key) and who
/// uses them. Built from the server's ssl-* options, the keygen directory,
/// users' `~/.mysql`, `[client]` options and database.yml environments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsIdentity {
    pub kind: IdentityKind,
    /// Where this identity was declared: an option line, a database.yml
    /// environment, or the layout directory it was found in.
    pub origin: crate::Location,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdentityKind {
    /// The server's own ssl-ca/ssl-cert/ssl-key.
    Server,
    /// Client keys a database host keeps for a MySQL user (keygen directory).
    Keygen { user: String },
    /// Client keys in an OS user's `~/.mysql`.
    UserHome { user: String },
    /// Client TLS options of a `[client]`-family option group.
    ClientOptions,
    /// An environment of an application's database.yml.
    App { path: String, environment: String },
}

/// Everything collected about one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostFacts {
    pub name: String,
    pub environment: String,
    pub roles: BTreeSet<Role>,
    /// Where the host is declared: its line in the inventory, or its
    /// snapshot folder's `host.toml`. Findings about the host's accounts
    /// and variables point there in SARIF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_at: Option<crate::Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Other names other hosts reach this host by (DNS names, a virtual
    /// IP), from the inventory: a database.yml `host:` naming one concerns
    /// this host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub layout: Layout,
    /// The application's OS and MySQL user (the seed's `deploy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_user: Option<String>,
    /// OS users the inventory says are named users (their client keys kept
    /// under the keygen directory) even below uid 1000.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_users: Vec<String>,
    pub reachability: Reachability,
    /// Over SSH, or from the wire alone.
    pub access: Access,
    pub problems: Vec<CollectionProblem>,
    /// Every path the collector looked at, found or not.
    pub files: BTreeMap<String, FileMeta>,
    /// Option files mysqld read, in read order.
    pub option_files: Vec<String>,
    /// Effective options of the groups mysqld reads; `None` if no option file was read.
    pub server_options: Option<OptionSet>,
    /// Effective options of the groups the mysql client reads.
    pub client_options: Option<OptionSet>,
    /// Parsed certificates, by file path (a file may hold a bundle).
    pub certificates: BTreeMap<String, Vec<Certificate>>,
    /// Private keys, by file path, described by derived facts only.
    pub private_keys: BTreeMap<String, PrivateKeyFacts>,
    pub identities: Vec<TlsIdentity>,
    pub database_ymls: Vec<DatabaseYml>,
    /// MySQL client libraries installed (application hosts), where visible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_libraries: Vec<ClientLibrary>,
    /// `/etc/passwd`, when collected.
    pub os_users: Option<BTreeMap<String, OsUser>>,
    pub openssl_cnf: Option<OpensslCnf>,
    /// SQL facts of the host's MySQL server, when it runs one and they were collected.
    pub mysql: Option<MysqlFacts>,
    /// The scanner's own connection to the server.
    pub connection: Option<ConnectionFacts>,
    /// The credential-less TLS probe of the server's port.
    pub probe: Option<ProbeFacts>,
    /// The node's Galera settings, when it replicates with Galera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub galera: Option<GaleraFacts>,
}

impl HostFacts {
    /// A host with nothing collected yet.
    pub fn new(name: &str, environment: &str, layout: Layout) -> Self {
        HostFacts {
            name: name.to_string(),
            environment: environment.to_string(),
            roles: BTreeSet::new(),
            declared_at: None,
            address: None,
            aliases: Vec::new(),
            layout,
            app_user: None,
            named_users: Vec::new(),
            reachability: Reachability::Reachable,
            access: Access::Ssh,
            problems: Vec::new(),
            files: BTreeMap::new(),
            option_files: Vec::new(),
            server_options: None,
            client_options: None,
            certificates: BTreeMap::new(),
            private_keys: BTreeMap::new(),
            identities: Vec::new(),
            database_ymls: Vec::new(),
            client_libraries: Vec::new(),
            os_users: None,
            openssl_cnf: None,
            mysql: None,
            connection: None,
            probe: None,
            galera: None,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_db(&self) -> bool {
        self.has_role(Role::DbMaster) || self.has_role(Role::DbReplica)
    }

    pub fn is_reachable(&self) -> bool {
        self.reachability == Reachability::Reachable
    }

    pub fn file(&self, path: &str) -> Option<&FileMeta> {
        self.files.get(path)
    }

    /// True when the path was seen and is present.
    pub fn file_exists(&self, path: &str) -> bool {
        matches!(
            self.files.get(path),
            Some(FileMeta {
                status: FileStatus::Present,
                ..
            })
        )
    }

    /// Where an option stands in mysqld's read order: the position of its
    /// file in `option_files`, then its line. Of two settings, the later one
    /// wins; options from files not in the list sort last, by path.
    pub fn option_read_order<'a>(&self, o: &'a OptionValue) -> (usize, &'a str, u32) {
        let file = self
            .option_files
            .iter()
            .position(|f| *f == o.file)
            .unwrap_or(usize::MAX);
        (file, o.file.as_str(), o.line)
    }

    /// The first certificate of a file (the leaf, in a chain file).
    pub fn leaf_certificate(&self, path: &str) -> Option<&Certificate> {
        self.certificates.get(path).and_then(|c| c.first())
    }

    /// The server's own identity, if its options name one.
    pub fn server_identity(&self) -> Option<&TlsIdentity> {
        self.identities
            .iter()
            .find(|i| i.kind == IdentityKind::Server)
    }
}

/// Unix seconds to `YYYY-MM-DD` (UTC).
pub fn format_date(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => unix.to_string(),
    }
}
