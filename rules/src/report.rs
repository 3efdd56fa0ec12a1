//! The scan result every output format presents: JSON, SARIF, terminal.

use serde::{Deserialize, Serialize};

use crate::Finding;
use crate::facts::{HostFacts, Reachability};
use crate::policy::ExpiredWaiver;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSummary {
    pub name: String,
    pub environment: String,
    pub roles: Vec<String>,
    pub status: HostStatus,
}

impl HostSummary {
    pub fn of(host: &HostFacts) -> Self {
        let status = match host.reachability {
            Reachability::Unreachable { .. } => HostStatus::Unreachable,
            Reachability::Reachable if host.problems.is_empty() => HostStatus::Scanned,
            Reachability::Reachable => HostStatus::Partial,
        };
        HostSummary {
            name: host.name.clone(),
            environment: host.environment.clone(),
            roles: host.roles.iter().map(|r| r.as_str().to_string()).collect(),
            status,
        }
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
    /// Every certificate seen in the fleet, for expiry timelines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateSummary>,
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
}

impl CertificateSummary {
    /// Summaries of every certificate of a host, files first then the
    /// presented chain (skipping presented ones also found in a file).
    pub fn of_host(host: &HostFacts, as_of: i64, soon_days: i64) -> Vec<Self> {
        let mut seen = std::collections::BTreeSet::new();
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
}
