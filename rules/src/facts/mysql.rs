use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Mysql,
    Mariadb,
    Percona,
}

/// A parsed server version string: `5.6.21-log`, `10.11.19-MariaDB-0+deb12u1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MysqlVersion {
    pub flavor: Flavor,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The string as the server reported it.
    pub raw: String,
}

impl MysqlVersion {
    pub fn triple(&self) -> (u32, u32, u32) {
        (self.major, self.minor, self.patch)
    }

    pub fn is_mariadb(&self) -> bool {
        self.flavor == Flavor::Mariadb
    }

    /// True for `>= (major, minor, patch)`.
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.triple() >= (major, minor, patch)
    }
}

impl fmt::Display for MysqlVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// An account's `REQUIRE` clause (`mysql.user.ssl_type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Require {
    None,
    Ssl,
    X509,
    /// `REQUIRE ISSUER/SUBJECT/CIPHER ...`
    Specified {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cipher: Option<String>,
    },
}

impl Require {
    /// True when the account must present a client certificate.
    pub fn requires_certificate(&self) -> bool {
        match self {
            Require::X509 => true,
            Require::Specified {
                issuer, subject, ..
            } => issuer.is_some() || subject.is_some(),
            Require::None | Require::Ssl => false,
        }
    }

    pub fn as_sql(&self) -> &'static str {
        match self {
            Require::None => "NONE",
            Require::Ssl => "SSL",
            Require::X509 => "X509",
            Require::Specified { .. } => "SPECIFIED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: String,
    pub host: String,
    pub require: Require,
    #[serde(default)]
    pub is_role: bool,
    #[serde(default)]
    pub locked: bool,
}

impl Account {
    /// `deploy@%`, as used in locations: `account:deploy@%`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// Loopback-only accounts never cross a network.
    pub fn is_local(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1")
    }

    /// Accounts the server itself owns (never flagged).
    pub fn is_system(&self) -> bool {
        matches!(
            self.user.as_str(),
            "mariadb.sys" | "mysql.sys" | "mysql.session" | "mysql.infoschema" | "PUBLIC"
        ) || (self.is_role && self.user == "PUBLIC")
    }
}

/// One replication channel of a replica (`SHOW REPLICA STATUS` / `SHOW ALL SLAVES STATUS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationChannel {
    /// `""` for the default channel.
    pub name: String,
    pub source_host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_user: Option<String>,
    /// `Master_SSL_Allowed`: Yes/No/Ignored -> true/false/false.
    pub ssl_allowed: bool,
    /// `Master_SSL_Verify_Server_Cert`.
    pub ssl_verify_server_cert: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_key: Option<String>,
}

/// SQL facts of one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MysqlFacts {
    pub version: Option<MysqlVersion>,
    /// Global variables, lowercase names (`have_ssl`, `ssl_ca`, `tls_version`).
    pub variables: BTreeMap<String, String>,
    /// Status variables, lowercase names (`ssl_server_not_after`, `ssl_cipher`).
    pub status: BTreeMap<String, String>,
    /// `None` when the account list could not be read.
    pub accounts: Option<Vec<Account>>,
    /// `None` when replica status could not be read; empty on a non-replica.
    pub replication: Option<Vec<ReplicationChannel>>,
    /// MySQL 8 `performance_schema.tls_channel_status`: channel -> property -> value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tls_channels: BTreeMap<String, BTreeMap<String, String>>,
    /// Who is connected right now, and how: `None` when not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionCensus>,
}

/// The server's live client sessions at scan time (the scanner's own
/// excluded), grouped by who and how: no query text, no passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCensus {
    pub source: CensusSource,
    /// Why the sessions could not be seen (`source: unavailable`), or what
    /// the fallback cannot show (`processlist`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<LiveSession>,
    /// How many times the sessions were listed (`scan --census 30s`: once,
    /// then once a second through the window); 1 is a single look.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub samples: u32,
    /// The sampling window, in seconds (0: a single look).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub window_secs: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SessionCensus {
    /// A census of one look.
    pub fn single(source: CensusSource, note: Option<String>, sessions: Vec<LiveSession>) -> Self {
        SessionCensus {
            source,
            note,
            sessions,
            samples: 1,
            window_secs: 0,
        }
    }

    /// "in 3 of 31 looks over 30 s" for a sampled census, "" otherwise.
    pub fn seen_note(&self, s: &LiveSession) -> String {
        match s.seen {
            Some(seen) if self.samples > 1 => format!(
                ", seen in {seen} of {} looks over {} s",
                self.samples, self.window_secs
            ),
            _ => String::new(),
        }
    }
}

/// Where the census comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CensusSource {
    /// `performance_schema.threads` (connection type) and
    /// `status_by_thread` (cipher): who and how.
    PerformanceSchema,
    /// `information_schema.PROCESSLIST`: who, not how
    /// (`performance_schema` is off, or too old to say).
    Processlist,
    /// Neither could be read.
    Unavailable,
}

/// Sessions of one account from one client host over one transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSession {
    pub user: String,
    /// The client host, without a port.
    pub host: String,
    pub transport: SessionTransport,
    /// The session's `Ssl_cipher`, when encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// The client's `program_name` connection attribute, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// How many sessions (the most seen at once, in a sampled census).
    pub count: u32,
    /// In how many of a sampled census's looks it was seen (`None` for a
    /// single look).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<u32>,
}

/// `performance_schema.threads.CONNECTION_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionTransport {
    /// `SSL/TLS`.
    Tls,
    /// `TCP/IP`: in plaintext over the network.
    Tcp,
    /// `Socket`, `Named Pipe`, `Shared Memory`: local.
    Local,
    /// Not known (processlist only).
    Unknown,
}

impl SessionTransport {
    pub fn of(connection_type: Option<&str>) -> Self {
        match connection_type.map(|c| c.trim().to_ascii_lowercase()) {
            Some(c) if c == "ssl/tls" => SessionTransport::Tls,
            Some(c) if c == "tcp/ip" => SessionTransport::Tcp,
            Some(c) if c == "socket" || c == "named pipe" || c == "shared memory" => {
                SessionTransport::Local
            }
            _ => SessionTransport::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SessionTransport::Tls => "TLS",
            SessionTransport::Tcp => "TCP without TLS",
            SessionTransport::Local => "local socket",
            SessionTransport::Unknown => "unknown",
        }
    }
}

impl MysqlFacts {
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn status_value(&self, name: &str) -> Option<&str> {
        self.status
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}
