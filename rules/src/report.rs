//! The scan result every output format presents: JSON, SARIF, terminal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::facts::{Access, FileStatus, HostFacts, Reachability};
use crate::pending::Pending;
use crate::policy::ExpiredWaiver;
use crate::readiness::TrustRow;
use crate::rows::Rows;
use crate::rule::{Evidence, RuleMeta};
use crate::{Finding, Location};

/// Version of the JSON report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    /// Reached, and every fact collected.
    Scanned,
    /// Reached, but some facts could not be collected (SCAN002).
    Partial,
    /// Not reached or not authenticated (SCAN001).
    Unreachable,
}

/// How far a file that a finding points at as a whole reaches: what a
/// SARIF region needs to span it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileExtent {
    /// A text file of this many lines.
    Lines(u32),
    /// A file of this many bytes that is not text, or was not read (a
    /// private key).
    Bytes(u64),
    /// The path does not exist on the host.
    Absent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSummary {
    pub name: String,
    pub environment: String,
    pub roles: Vec<String>,
    pub status: HostStatus,
    /// Where the host is declared: its inventory line, or its snapshot
    /// folder's `host.toml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_at: Option<Location>,
    /// The extent of each file that a finding about the host points at as
    /// a whole (no line), and of the files its TLS identities name (which
    /// the fleet rules point at).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileExtent>,
    /// `wire` for a host audited from its MySQL port alone (`ssh: none`);
    /// absent for a host reached over SSH.
    #[serde(default, skip_serializing_if = "Access::is_ssh")]
    pub access: Access,
    /// On a host audited from the wire: the enabled rules that judge files
    /// and so could not judge it (what could not be seen), by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applicable: Vec<NotApplicable>,
    /// What the TLS probe of the host's MySQL port saw, when it was probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireSummary>,
    /// Per MySQL environment of the host's database.yml files: encrypted,
    /// verified, identity checked, as its real driver does it
    /// (docs/drivers.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_tls: Vec<crate::app::driver::EnvTls>,
    /// Who was connected to the host's server at scan time, and how (the
    /// session census; database hosts whose SQL facts were collected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub census: Option<crate::facts::SessionCensus>,
}

/// What the credential-less probe saw of a server, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSummary {
    pub address: String,
    /// Negotiated with a modern client's offer (`TLSv1.3`); absent without TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// The protocol versions the server accepted, of those tested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<String>,
    /// The server asked for a client certificate in the TLS handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_client_cert: Option<bool>,
    /// How it answered a plaintext login of an unknown user:
    /// `1045 (28000) Access denied ...`; absent when not attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext_answer: Option<String>,
}

impl WireSummary {
    fn of(p: &crate::facts::ProbeFacts) -> Self {
        WireSummary {
            address: p.address.clone(),
            protocol: p.protocol.clone(),
            cipher: p.cipher.clone(),
            accepted: p
                .accepted
                .iter()
                .filter(|(_, ok)| **ok)
                .map(|(v, _)| v.clone())
                .collect(),
            requests_client_cert: p.requests_client_cert,
            plaintext_answer: p.plaintext.as_ref().map(|a| match (a.code, &a.sql_state) {
                (Some(code), Some(state)) => format!("{code} ({state}) {}", a.message),
                (Some(code), None) => format!("{code} {}", a.message),
                _ => a.message.clone(),
            }),
        }
    }
}

/// A rule that could not judge a host, and what it would have needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplicable {
    pub rule: String,
    pub name: String,
    /// What the rule reads that the host did not show: `files on the host`.
    pub needs: String,
}

impl NotApplicable {
    /// The rules of `metas` that cannot judge a host reached as `access` says.
    pub fn of<'a>(access: Access, metas: impl IntoIterator<Item = &'a RuleMeta>) -> Vec<Self> {
        metas
            .into_iter()
            .filter(|m| !m.applies_to(access))
            .map(|m| NotApplicable {
                rule: m.id.to_string(),
                name: m.name.to_string(),
                needs: match m.evidence {
                    Evidence::HostFiles => "files on the host".to_string(),
                    Evidence::Any => String::new(),
                },
            })
            .collect()
    }
}

impl HostSummary {
    /// The host's line in the report; `findings` are its host findings,
    /// whose whole-file locations get their extent.
    pub fn of(host: &HostFacts, findings: &[Finding]) -> Self {
        let status = match host.reachability {
            Reachability::Unreachable { .. } => HostStatus::Unreachable,
            Reachability::Reachable if host.problems.is_empty() => HostStatus::Scanned,
            Reachability::Reachable => HostStatus::Partial,
        };
        let whole_files = findings
            .iter()
            .filter(|f| f.location.line.is_none())
            .filter_map(|f| f.location.file.as_deref());
        let identity_files = host
            .identities
            .iter()
            .flat_map(|i| [i.ca.as_deref(), i.cert.as_deref(), i.key.as_deref()])
            .flatten();
        let files = whole_files
            .chain(identity_files)
            .filter_map(|p| Some((p.to_string(), extent(host, p)?)))
            .collect();
        HostSummary {
            name: host.name.clone(),
            environment: host.environment.clone(),
            roles: host.roles.iter().map(|r| r.as_str().to_string()).collect(),
            status,
            declared_at: host.declared_at.clone(),
            files,
            access: host.access,
            not_applicable: Vec::new(),
            wire: host.probe.as_ref().map(WireSummary::of),
            client_tls: crate::app::driver::client_tls(host),
            census: host.mysql.as_ref().and_then(|m| m.sessions.clone()),
        }
    }
}

/// What the collector saw of a path, as an extent; `None` when unknown.
fn extent(host: &HostFacts, path: &str) -> Option<FileExtent> {
    let meta = host.file(path)?;
    match &meta.status {
        FileStatus::Missing => Some(FileExtent::Absent),
        FileStatus::Unreadable { .. } => meta.size.map(FileExtent::Bytes),
        FileStatus::Present => match (meta.lines, meta.size) {
            (Some(lines), _) => Some(FileExtent::Lines(lines)),
            (None, Some(size)) => Some(FileExtent::Bytes(size)),
            (None, None) => None,
        },
    }
}

/// One scan's outcome: the complete machine-readable model (`--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// The date (`YYYY-MM-DD`) or instant (RFC 3339) expiry and waivers were judged against.
    pub as_of: String,
    pub hosts: Vec<HostSummary>,
    /// Sorted by environment, host, rule, location.
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_waivers: Vec<ExpiredWaiver>,
    /// Every certificate seen in the fleet, for expiry timelines, sorted
    /// by environment, host, path and position (packed in a snapshot
    /// scan: [`crate::rows`]).
    #[serde(default, skip_serializing_if = "Rows::is_empty")]
    pub certificates: Rows<CertificateSummary>,
    /// What the scan covered (absent in reports of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// A shard's findings that compare its hosts with other environments,
    /// which `merge` completes over all the shards ([`crate::pending`]).
    /// Empty in a whole scan and in a merged report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
    /// The next CAs of an announced rotation the scan judged trust stores
    /// against (`--next-ca`), by label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_ca: Vec<String>,
    /// CA-rotation readiness: every client trust store against its
    /// server's current chain and the next CAs, sorted by environment,
    /// host, CA file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness: Vec<TrustRow>,
}

/// What a scan covered, so that `sslaudit merge` can tell the parts of one
/// scan from reports that do not belong together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// `sha256:<hex>` of what the hosts came from: the inventory file, the
    /// snapshot's manifest and host folders, or the `--host` targets.
    pub source: String,
    /// `sha256:<hex>` of the policy file and rule packs in effect (of
    /// nothing at all without them).
    pub policy: String,
    /// The `--limit` globs, as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limit: Vec<String>,
    /// The part of the selection this report holds (`--shard K/N`); absent
    /// for a whole scan and for the merge of all its shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// Shard `index` (1-based) of `count`, written `K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `K/N` with 1 <= K <= N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard `{s}`: expected K/N with 1 <= K <= N (for example 2/4)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl TryFrom<String> for Shard {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Shard::parse(&s)
    }
}

impl From<Shard> for String {
    fn from(s: Shard) -> String {
        s.to_string()
    }
}

/// `sha256:<hex>` of byte strings, each length-prefixed so that no two
/// different lists hash alike: the digests of [`Scope`].
pub fn scope_digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Where a certificate stands on the expiry timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpiryStatus {
    Expired,
    /// Within the policy's medium window (`expiry_medium_days`).
    Soon,
    Ok,
}

/// One certificate of the fleet (a file's certificate, or one the server presented).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSummary {
    pub host: String,
    pub environment: String,
    /// File path, or `probe:ADDR` for a presented certificate.
    pub path: String,
    pub index: usize,
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// Whole days from `as_of` to expiry, negative once expired.
    pub days_left: i64,
    pub status: ExpiryStatus,
    pub sha256: String,
    /// For the leaf of a chain a server presented: the CA that issued it,
    /// `rds-ca-rsa2048-g1 (Amazon RDS, valid until 2061-05-25)` for a known
    /// managed-database CA, else the issuer's CN with the CA certificate's
    /// own expiry when the chain or the host holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_ca: Option<String>,
    /// The serial number, lowercase hex (absent in reports of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// `not_before` and `not_after` to the second, as Unix seconds (absent
    /// in reports of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_unix: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after_unix: Option<i64>,
}

impl CertificateSummary {
    /// Summaries of every certificate of a host, files first then the
    /// presented chain (skipping presented ones also found in a file).
    pub fn of_host(host: &HostFacts, as_of: i64, soon_days: i64) -> Vec<Self> {
        let mut seen = std::collections::BTreeSet::new();
        let on_host: Vec<&crate::facts::Certificate> =
            host.certificates.values().flatten().collect();
        let issuing = host.probe.as_ref().and_then(|p| {
            let ca = crate::certs::managed_ca::issuing_ca(&p.chain, &on_host)?;
            Some((p.chain.first()?.sha256.as_str(), ca.describe()))
        });
        let files = host.certificates.values().flatten();
        let presented = host.probe.iter().flat_map(|p| p.chain.iter());
        let mut out = Vec::new();
        for c in files.chain(presented) {
            if !seen.insert(c.sha256.clone()) {
                continue;
            }
            let days_left = c.days_left(as_of);
            out.push(CertificateSummary {
                host: host.name.clone(),
                environment: host.environment.clone(),
                path: c.path.clone(),
                index: c.index,
                subject: c.subject.clone(),
                issuer: c.issuer.clone(),
                not_before: crate::facts::format_date(c.not_before),
                not_after: c.not_after_date(),
                days_left,
                status: if c.is_expired(as_of) {
                    ExpiryStatus::Expired
                } else if days_left <= soon_days {
                    ExpiryStatus::Soon
                } else {
                    ExpiryStatus::Ok
                },
                sha256: c.sha256.clone(),
                issuing_ca: issuing
                    .as_ref()
                    .filter(|(leaf, _)| *leaf == c.sha256)
                    .map(|(_, ca)| ca.clone()),
                serial: Some(c.serial.clone()),
                not_before_unix: Some(c.not_before),
                not_after_unix: Some(c.not_after),
            });
        }
        out
    }
}

impl ScanReport {
    /// Unsuppressed findings.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    /// Completes the pending findings over the report's hosts (the merge of
    /// every shard of a scan) and sorts the findings as a scan does.
    pub fn settle(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.findings.extend(crate::pending::complete(pending));
        crate::finding::sort_findings(&mut self.findings);
    }
}
