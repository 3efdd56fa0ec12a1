//! Raw evidence of one host, exactly as a collector gathered it: host
//! metadata, files with their metadata, and SQL/connection/probe facts as
//! recorded. A snapshot folder is this, serialized; [`crate::build`] turns
//! it into the `HostFacts` rules read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sslaudit_rules::Location;
use sslaudit_rules::facts::{
    Access, Account, CollectionProblem, ConnectionFacts, FileMeta, GaleraPort, PlaintextAnswer,
    PrivateKeyFacts, Reachability, ReplicationChannel, Role,
};
use sslaudit_rules::parse::{FileSource, SourceError};

/// `host.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Other names database.yml files may use for the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default = "default_layout")]
    pub layout: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layout_overrides: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_user: Option<String>,
    /// OS users the inventory names as named users (SSL013).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub database_yml: Vec<String>,
    #[serde(default = "reachable")]
    pub reachability: Reachability,
    /// `wire`: the host was audited from its MySQL port alone (`ssh: none`).
    #[serde(default, skip_serializing_if = "Access::is_ssh")]
    pub access: Access,
    #[serde(default, rename = "problem", skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<CollectionProblem>,
}

fn default_layout() -> String {
    "engineyard".into()
}

fn reachable() -> Reachability {
    Reachability::Reachable
}

/// One `files.json` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    #[serde(default = "present")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Octal string: `"0600"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PrivateKeyFacts>,
    /// A file the rules read whose content is not in `fs/` because its
    /// secrets could not be removed by its structure (it does not parse):
    /// why. Scanning the snapshot reports it (SCAN002).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    /// A file no rule reads (a script in /etc/mysql): listed, never copied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_kept: bool,
}

fn present() -> String {
    "present".into()
}

/// `mysql.json`: SQL facts as the server answered them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlRecord {
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub status: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<Account>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Vec<ReplicationChannel>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tls_channels: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<sslaudit_rules::facts::SessionCensus>,
}

/// `probe.json`: the TLS probe as recorded, with the chain as PEM.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRecord {
    pub address: String,
    #[serde(default)]
    pub greeting_version: Option<String>,
    #[serde(default)]
    pub advertises_ssl: bool,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub cipher: Option<String>,
    #[serde(default)]
    pub chain_pem: Vec<String>,
    #[serde(default)]
    pub accepted: BTreeMap<String, bool>,
    #[serde(default)]
    pub error: Option<String>,
    /// The answer to the plaintext login attempt (no SSLRequest, a user that
    /// does not exist, no credential); absent in snapshots from before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<PlaintextAnswer>,
    /// Whether the first handshake's server sent a TLS CertificateRequest;
    /// absent when no TLS was negotiated (or in older snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_client_cert: Option<bool>,
    /// The CA names listed in that CertificateRequest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ca_names: Vec<String>,
}

/// A file of the host: what the collector saw, and its bytes when copied.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub meta: FileMeta,
    /// `None` for missing/unreadable files and for private keys (never copied).
    pub content: Option<Vec<u8>>,
    pub key: Option<PrivateKeyFacts>,
}

/// Everything gathered about one host.
#[derive(Debug, Clone)]
pub struct HostEvidence {
    pub meta: HostMeta,
    /// Where the evidence came from (`snapshot/production/db-master`), for messages.
    pub origin: String,
    /// Where the host is declared (its inventory line, or its host.toml).
    pub declared_at: Option<Location>,
    pub files: BTreeMap<String, FileEntry>,
    pub mysql: Option<MysqlRecord>,
    pub connection: Option<ConnectionFacts>,
    pub probe: Option<ProbeRecord>,
    /// A Galera node's replication port, as a bare TLS handshake found it
    /// (`galera_ports.json`).
    pub galera_ports: Vec<GaleraPort>,
    /// Problems met while reading the evidence itself (a broken mysql.json).
    pub problems: Vec<CollectionProblem>,
}

impl FileSource for HostEvidence {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        match self.files.get(path) {
            Some(FileEntry {
                content: Some(c), ..
            }) => Ok(c.clone()),
            Some(FileEntry { meta, .. }) => match &meta.status {
                sslaudit_rules::facts::FileStatus::Unreadable { reason } => {
                    Err(SourceError::Unreadable(reason.clone()))
                }
                sslaudit_rules::facts::FileStatus::Missing => Err(SourceError::Missing),
                sslaudit_rules::facts::FileStatus::Present => {
                    Err(SourceError::Unreadable("content not collected".to_string()))
                }
            },
            None => Err(SourceError::Missing),
        }
    }

    fn list_dir(&self, path: &str) -> Result<Vec<String>, SourceError> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let mut names: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(_, e)| e.meta.status != sslaudit_rules::facts::FileStatus::Missing)
            .filter_map(|(p, _)| p[prefix.len()..].split('/').next().map(str::to_string))
            .collect();
        names.dedup();
        if !names.is_empty() {
            return Ok(names);
        }
        // The SSH collector records a directory it listed as a present entry
        // without content: an empty directory, not a missing one.
        match self.files.get(path.trim_end_matches('/')) {
            Some(e)
                if e.meta.status == sslaudit_rules::facts::FileStatus::Present
                    && e.content.is_none()
                    && e.key.is_none()
                    && e.meta.size.is_none() =>
            {
                Ok(Vec::new())
            }
            _ => Err(SourceError::Missing),
        }
    }
}
