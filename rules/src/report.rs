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
}

impl ScanReport {
    /// Unsuppressed findings.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }
}
