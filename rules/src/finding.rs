use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Severity;
use crate::subject::Subject;

/// Where a finding points: a file (and line) on the host, or a named object
/// such as `account:deploy@%` or `variable:have_ssl`. Both may be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Subject>,
}

impl Location {
    pub fn file(path: impl Into<String>, line: Option<u32>) -> Self {
        Location {
            file: Some(path.into()),
            line,
            object: None,
        }
    }

    pub fn object(object: impl Into<Subject>) -> Self {
        Location {
            file: None,
            line: None,
            object: Some(object.into()),
        }
    }

    pub fn with_object(mut self, object: impl Into<Subject>) -> Self {
        self.object = Some(object.into());
        self
    }

    /// `file:line`, `file`, or the object, for terminal output.
    pub fn display(&self) -> String {
        match (&self.file, self.line, &self.object) {
            (Some(f), Some(l), _) => format!("{f}:{l}"),
            (Some(f), None, _) => f.clone(),
            (None, _, Some(o)) => o.to_string(),
            (None, _, None) => String::new(),
        }
    }
}

/// A waiver that matched a finding: the finding stays in reports, marked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Suppression {
    pub justification: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// SCAN001 host-unreachable: nothing on the host was checked.
const AUDIT_GAP_HOST: &str = "SCAN001";
/// SCAN002 collection-incomplete: at high severity, the database was not queried.
const AUDIT_GAP_FACTS: &str = "SCAN002";

/// One problem found on one host by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub host: String,
    pub environment: String,
    pub message: String,
    pub location: Location,
    /// Facts that back the message, as shown to a person (never a secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, String>,
    /// Stable identity of the problem across runs: a hash of the rule, the
    /// host and the file or object, never of a line number or a time.
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// The command that plans this finding's fix (set by the scanner from
    /// the remediation runners; absent where the fix is by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Set while the finding waits for a comparison across environments
    /// (see [`crate::pending`]); never written.
    #[serde(skip)]
    pub awaiting: Option<Box<crate::pending::KeySighting>>,
}

impl Finding {
    /// Starts a finding; the fingerprint is computed from rule, host and location.
    pub fn new(
        rule_id: impl Into<String>,
        severity: Severity,
        host: &str,
        environment: &str,
        message: impl Into<String>,
        location: Location,
    ) -> Self {
        let rule_id = rule_id.into();
        let fingerprint = fingerprint(&rule_id, environment, host, &location);
        Finding {
            rule_id,
            severity,
            host: host.to_string(),
            environment: environment.to_string(),
            message: message.into(),
            location,
            evidence: BTreeMap::new(),
            fingerprint,
            suppressed: None,
            fix: None,
            awaiting: None,
        }
    }

    pub fn evidence(mut self, key: &str, value: impl Into<String>) -> Self {
        self.evidence.insert(key.to_string(), value.into());
        self
    }

    /// True when the finding says part of the audit did not happen: SCAN001
    /// (nothing on a host was checked) or a high SCAN002 (a database that
    /// could not be queried at all). An audit never passes by silence:
    /// unwaived, such a finding fails every gate but `never`, new or not,
    /// and remediation refuses to plan or verify on such facts.
    pub fn is_audit_gap(&self) -> bool {
        self.rule_id == AUDIT_GAP_HOST
            || (self.rule_id == AUDIT_GAP_FACTS && self.severity >= Severity::High)
    }

    /// What the location's object says, typed ([`Subject`]).
    pub fn subject_kind(&self) -> Option<&crate::subject::SubjectKind> {
        self.location.object.as_ref().map(Subject::kind)
    }

    /// The object named in fingerprints: the location's object, else its file.
    pub fn subject(&self) -> &str {
        self.location
            .object
            .as_deref()
            .or(self.location.file.as_deref())
            .unwrap_or("")
    }

    /// The deterministic order every report uses.
    pub fn sort_key(&self) -> (&str, &str, &str, &Location, &str) {
        (
            &self.environment,
            &self.host,
            &self.rule_id,
            &self.location,
            &self.message,
        )
    }
}

/// `sha256(rule \0 environment \0 host \0 file \0 object)`, first 16
/// bytes as hex. The environment is part of it because host names repeat
/// across environments (`db-master` in production and in staging).
pub fn fingerprint(rule_id: &str, environment: &str, host: &str, location: &Location) -> String {
    let mut h = Sha256::new();
    for part in [
        rule_id,
        environment,
        host,
        location.file.as_deref().unwrap_or(""),
        location.object.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Sorts findings into the order every report uses and drops exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.sort_key() == b.sort_key());
}
