//! OSCAL assessment results (`scan --oscal FILE`): the scan as audit
//! evidence for GRC tools that import NIST OSCAL.
//!
//! One document, one result for the scan: its start and end, the NIST SP
//! 800-53 controls the enabled rules map to (`reviewed-controls`), every
//! host as an inventory item, every finding as an observation whose subject
//! is its host, and per mapped NIST control a finding whose target is that
//! control's objective, not satisfied. A waived finding is also a risk
//! (`deviation-approved`) with the waiver's justification and its expiry as
//! the deadline. Identifiers are UUID v5 of names built from the findings'
//! fingerprints, the hosts and the rules (docs/oscal.md), so two scans of
//! the same state produce the same identifiers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use sslaudit_rules::report::{HostSummary, ScanReport};
use sslaudit_rules::{Control, Finding, RuleMeta};

/// The OSCAL version the document declares and is validated against.
pub const OSCAL_VERSION: &str = "1.2.1";

/// The namespace of sslaudit's own properties (`ns` of every `prop`).
pub const NS: &str = "https://example.invalid/sslaudit/ns/oscal";

/// The UUID namespace every identifier is derived in: itself the UUID v5 of
/// [`NS`] in the URL namespace of RFC 9562.
pub fn namespace() -> uuid::Uuid {
    uuid_v5(&uuid::Uuid::from_u128(URL_NAMESPACE), NS)
}

/// RFC 9562's namespace for URLs (6ba7b811-9dad-11d1-80b4-00c04fd430c8).
const URL_NAMESPACE: u128 = 0x6ba7b811_9dad_11d1_80b4_00c04fd430c8;

/// UUID v5: SHA-1 of the namespace and the name (RFC 9562, section 5.5).
fn uuid_v5(namespace: &uuid::Uuid, name: &str) -> uuid::Uuid {
    let mut h = Sha1::new();
    h.update(namespace.as_bytes());
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// The identifier of `name` in sslaudit's namespace (docs/oscal.md lists
/// the names).
pub fn stable_uuid(name: &str) -> String {
    uuid_v5(&namespace(), name).to_string()
}

/// What the document says about the run besides the report.
#[derive(Debug, Clone, Default)]
pub struct OscalOptions {
    /// The document's title (default: "sslaudit assessment results").
    pub title: Option<String>,
    /// RFC 3339 instants the scan started and ended (with `--as-of`, that
    /// instant for both, so the document is a function of its inputs).
    pub start: String,
    pub end: String,
    /// What was scanned: the snapshot or inventory, as the reports name it.
    pub source: Option<String>,
}

/// The assessment-results document.
pub fn to_oscal(report: &ScanReport, rules: &[&RuleMeta], opts: &OscalOptions) -> Value {
    let by_id: BTreeMap<&str, &RuleMeta> = rules.iter().map(|m| (m.id.as_ref(), *m)).collect();
    let tool_uuid = stable_uuid("component:sslaudit");
    let plan_uuid = stable_uuid("assessment-plan:placeholder");
    let source = opts.source.as_deref().unwrap_or("the fleet");

    let mut hosts: BTreeMap<(&str, &str), String> = BTreeMap::new();
    let inventory: Vec<Value> = report
        .hosts
        .iter()
        .map(|h| {
            let id = host_uuid(&h.environment, &h.name);
            hosts.insert((h.environment.as_str(), h.name.as_str()), id.clone());
            inventory_item(h, &id)
        })
        .collect();

    let mut observations = Vec::new();
    let mut findings = Vec::new();
    let mut risks = Vec::new();
    let mut used = BTreeSet::new();
    for f in &report.findings {
        // Fingerprints are unique within a report; a repeat still gets an
        // identifier of its own.
        let mut key = f.fingerprint.clone();
        let mut n = 1;
        while !used.insert(key.clone()) {
            n += 1;
            key = format!("{}#{n}", f.fingerprint);
        }
        let meta = by_id.get(f.rule_id.as_str()).copied();
        let controls: &[Control] = meta.map(|m| m.controls).unwrap_or(&[]);
        let host = hosts
            .get(&(f.environment.as_str(), f.host.as_str()))
            .cloned();
        let obs_uuid = stable_uuid(&format!("observation:{key}"));
        observations.push(observation(
            f, meta, controls, &obs_uuid, host, &tool_uuid, &opts.end,
        ));
        let risk_uuid = f.suppressed.as_ref().map(|s| {
            let id = stable_uuid(&format!("risk:{key}"));
            risks.push(risk(f, s, &id, &obs_uuid));
            id
        });
        for c in controls {
            let Some(control_id) = c.oscal_id() else {
                continue;
            };
            let mut finding = json!({
                "uuid": stable_uuid(&format!("finding:{key}:{control_id}")),
                "title": format!("{} {} on {}: {} {}", f.rule_id, rule_name(meta, f), f.host, c.framework, c.id),
                "description": format!("{} ({} on {} in {}). Why it bears on {}: {}.", sentence(&f.message), f.rule_id, f.host, f.environment, c.id, c.source),
                "target": {
                    "type": "objective-id",
                    "target-id": format!("{control_id}_obj"),
                    "title": format!("{} {}", c.framework, c.id),
                    "status": { "state": "not-satisfied", "reason": "fail" },
                },
                "related-observations": [{ "observation-uuid": obs_uuid }],
            });
            if let Some(r) = &risk_uuid {
                finding["related-risks"] = json!([{ "risk-uuid": r }]);
            }
            findings.push(finding);
        }
    }

    let reviewed: BTreeSet<String> = rules
        .iter()
        .flat_map(|m| m.controls.iter().filter_map(Control::oscal_id))
        .collect();
    // Rule packs map to no NIST control: a scan of them alone reviewed the
    // whole catalogue's worth of nothing in particular.
    let selection = if reviewed.is_empty() {
        json!({ "description": "The enabled rules map to no NIST SP 800-53 control.", "include-all": {} })
    } else {
        json!({
            "description": "The NIST SP 800-53 Rev. 5 controls the enabled rules map to.",
            "include-controls": reviewed.iter().map(|c| json!({ "control-id": c })).collect::<Vec<_>>(),
        })
    };

    let mut local = json!({
        "components": [{
            "uuid": tool_uuid,
            "type": "software",
            "title": "sslaudit",
            "description": format!("sslaudit {}: automated SSL/TLS compliance scanner for MySQL and MariaDB fleets.", report.tool.version),
            "props": [{ "name": "version", "value": report.tool.version }],
            "status": { "state": "operational" },
        }],
    });
    if !inventory.is_empty() {
        local["inventory-items"] = Value::Array(inventory);
    }

    let mut result = json!({
        "uuid": stable_uuid(&format!("result:{}:{}", source, report.as_of)),
        "title": format!("sslaudit scan of {source} as of {}", report.as_of),
        "description": format!(
            "Automated scan of {} hosts ({source}) by sslaudit {}, expiry and waivers judged as of {}: {} findings, {} of them waived.",
            report.hosts.len(),
            report.tool.version,
            report.as_of,
            report.findings.len(),
            report.findings.iter().filter(|f| f.suppressed.is_some()).count(),
        ),
        "start": opts.start,
        "end": opts.end,
        "props": [{ "name": "as-of", "ns": NS, "value": report.as_of }],
        "local-definitions": local,
        "reviewed-controls": { "control-selections": [selection] },
    });
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
    }
    if !risks.is_empty() {
        result["risks"] = Value::Array(risks);
    }
    if !findings.is_empty() {
        result["findings"] = Value::Array(findings);
    }

    json!({
        "assessment-results": {
            "uuid": stable_uuid(&format!("assessment-results:{}:{}", source, report.as_of)),
            "metadata": {
                "title": opts.title.clone().unwrap_or_else(|| "sslaudit assessment results".to_string()),
                "last-modified": opts.end,
                "version": report.tool.version,
                "oscal-version": OSCAL_VERSION,
                "remarks": "Generated by sslaudit scan --oscal. Control mappings and identifiers: docs/oscal.md.",
            },
            "import-ap": { "href": format!("#{plan_uuid}") },
            "results": [result],
            "back-matter": {
                "resources": [{
                    "uuid": plan_uuid,
                    "title": "sslaudit assessment plan (placeholder)",
                    "description": "sslaudit scans without an OSCAL assessment plan. The plan it follows is its rule catalogue: every enabled rule (`sslaudit rules`, `sslaudit explain ID`) run against every host in scope, with the control mappings each rule declares. Replace this reference with your organisation's assessment plan when importing (docs/oscal.md).",
                }],
            },
        }
    })
}

/// The document as pretty JSON with a trailing newline.
pub fn to_oscal_string(report: &ScanReport, rules: &[&RuleMeta], opts: &OscalOptions) -> String {
    let value = to_oscal(report, rules, opts);
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

fn host_uuid(environment: &str, name: &str) -> String {
    stable_uuid(&format!("inventory-item:{environment}/{name}"))
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "ns": NS, "value": value.into() })
}

/// A prop value must not be empty or start or end with white space.
fn tidy(value: &str) -> String {
    let t = value.trim();
    if t.is_empty() {
        "-".to_string()
    } else {
        t.to_string()
    }
}

fn as_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn inventory_item(h: &HostSummary, id: &str) -> Value {
    let mut props = vec![
        prop("environment", tidy(&h.environment)),
        prop("status", as_str(&h.status)),
        prop("access", as_str(&h.access)),
    ];
    props.extend(h.roles.iter().map(|r| prop("role", tidy(r))));
    let roles = if h.roles.is_empty() {
        String::new()
    } else {
        format!(", {}", h.roles.join(", "))
    };
    json!({
        "uuid": id,
        "description": format!("{} ({}{roles}): {}", h.name, h.environment, as_str(&h.status)),
        "props": props,
    })
}

fn rule_name<'a>(meta: Option<&'a RuleMeta>, f: &'a Finding) -> &'a str {
    meta.map(|m| m.name.as_ref()).unwrap_or(f.rule_id.as_str())
}

/// The message without a trailing period (it starts as the rule wrote it:
/// `database.yml ...` keeps its case).
fn sentence(message: &str) -> String {
    message.trim().trim_end_matches('.').to_string()
}

fn observation(
    f: &Finding,
    meta: Option<&RuleMeta>,
    controls: &[Control],
    id: &str,
    host: Option<String>,
    tool: &str,
    collected: &str,
) -> Value {
    let mut props = vec![
        prop("rule", f.rule_id.clone()),
        prop("severity", f.severity.to_string()),
        prop("fingerprint", tidy(&f.fingerprint)),
    ];
    props.extend(controls.iter().map(|c| prop("control", c.tag())));
    if f.suppressed.is_some() {
        props.push(prop("waived", "true"));
    }
    let location = f.location.display();
    let mut evidence = if location.is_empty() {
        format!("On {} ({})", f.host, f.environment)
    } else {
        format!("{location} on {} ({})", f.host, f.environment)
    };
    for (k, v) in &f.evidence {
        evidence.push_str(&format!("; {k}: {v}"));
    }
    let mut o = json!({
        "uuid": id,
        "title": format!("{} {} on {}", f.rule_id, rule_name(meta, f), f.host),
        "description": sentence(&f.message) + ".",
        "props": props,
        "methods": ["TEST"],
        "types": ["finding"],
        "origins": [{ "actors": [{ "type": "tool", "actor-uuid": tool }] }],
        "relevant-evidence": [{ "description": evidence }],
        "collected": collected,
    });
    if let Some(host) = host {
        o["subjects"] =
            json!([{ "subject-uuid": host, "type": "inventory-item", "title": f.host }]);
    }
    if let Some(fix) = &f.fix {
        o["remarks"] = json!(format!("Fix: {fix}"));
    }
    o
}

fn risk(f: &Finding, s: &sslaudit_rules::finding::Suppression, id: &str, obs: &str) -> Value {
    let expiry = s
        .expires
        .as_deref()
        .map(|e| format!(", until {e}"))
        .unwrap_or_default();
    let mut r = json!({
        "uuid": id,
        "title": format!("Waived: {} on {}", f.rule_id, f.host),
        "description": sentence(&f.message) + ".",
        "statement": format!("Accepted by a waiver{expiry}: {}", s.justification.trim()),
        "props": [prop("rule", f.rule_id.clone()), prop("fingerprint", tidy(&f.fingerprint))],
        "status": "deviation-approved",
        "related-observations": [{ "observation-uuid": obs }],
    });
    if let Some(deadline) = s.expires.as_deref().and_then(deadline) {
        r["deadline"] = json!(deadline);
    }
    r
}

/// A waiver's `expires` date (`2027-01-31`) as the instant it stops
/// applying: the waiver covers that whole day (UTC), as the policy judges
/// it, so midnight UTC at the end of it (`2027-02-01T00:00:00Z`).
fn deadline(expires: &str) -> Option<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(expires.trim(), &format)
        .ok()?
        .next_day()?;
    Some(format!("{}T00:00:00Z", day.format(&format).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_5_and_stable() {
        let a = stable_uuid("observation:abc");
        assert_eq!(a, stable_uuid("observation:abc"));
        assert_ne!(a, stable_uuid("observation:abd"));
        let u = uuid::Uuid::parse_str(&a).unwrap_or_default();
        assert_eq!(u.get_version_num(), 5);
        // RFC 9562's own v5 test vector: "www.example.com" in the DNS namespace.
        let dns = uuid::Uuid::from_u128(0x6ba7b810_9dad_11d1_80b4_00c04fd430c8);
        assert_eq!(
            uuid_v5(&dns, "www.example.com").to_string(),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2"
        );
    }

    #[test]
    fn deadlines_are_instants() {
        // The waiver covers 2027-01-31 through its last second.
        assert_eq!(
            deadline("2027-01-31").as_deref(),
            Some("2027-02-01T00:00:00Z")
        );
        assert_eq!(
            deadline("2026-12-31").as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(deadline("someday"), None);
    }
}
