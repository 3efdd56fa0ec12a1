//! The JSON report: its exact shape (snapshot) and that it reads back.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;

use common::sample_report;
use serde_json::Value;
use sslaudit_reports::ReportError;
use sslaudit_reports::json::{from_json, to_json, write_json};

#[test]
fn snapshot() {
    insta::assert_snapshot!(to_json(&sample_report()));
}

#[test]
fn round_trips() {
    let report = sample_report();
    let text = to_json(&report);
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    assert_eq!(from_json(&text).unwrap(), report);
    // Stable bytes: writing what was read gives the same text.
    assert_eq!(to_json(&from_json(&text).unwrap()), text);
}

#[test]
fn the_streamed_report_is_the_same_bytes() {
    let report = sample_report();
    let mut written = Vec::new();
    write_json(&report, &mut written).unwrap();
    assert_eq!(String::from_utf8(written).unwrap(), to_json(&report));
}

#[test]
fn shape_of_a_finding() {
    let json: Value = serde_json::from_str(&to_json(&sample_report())).unwrap();
    let top: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // Parsed back, keys keep the order on disk: the struct's.
    assert_eq!(
        top,
        [
            "schema_version",
            "tool",
            "as_of",
            "hosts",
            "findings",
            "expired_waivers"
        ]
    );
    let findings = json["findings"].as_array().unwrap();
    let waived = findings.iter().find(|f| f["rule_id"] == "SSL005").unwrap();
    assert_eq!(waived["severity"], "high");
    assert_eq!(
        waived["suppressed"],
        serde_json::json!({"justification": "legacy reporting job, ticket OPS-12", "expires": "2027-01-31"})
    );
    assert_eq!(
        waived["location"],
        serde_json::json!({"object": "account:deploy@%"})
    );
    // Absent optional parts are omitted, not null.
    assert!(waived.get("evidence").is_none());
    let unreachable = findings.iter().find(|f| f["rule_id"] == "SCAN001").unwrap();
    assert_eq!(
        unreachable["location"],
        serde_json::json!({"object": "host:reachability"})
    );
    assert!(unreachable.get("suppressed").is_none());
    assert_eq!(json["hosts"][1]["status"], "unreachable");
}

#[test]
fn expired_waivers_are_omitted_when_none() {
    let mut report = sample_report();
    report.expired_waivers.clear();
    let text = to_json(&report);
    assert!(!text.contains("expired_waivers"));
    assert_eq!(from_json(&text).unwrap(), report);
}

#[test]
fn reading_a_sarif_log_says_so() {
    let sarif = common::with_rules(|rules| {
        sslaudit_reports::sarif::to_sarif_string(
            &sample_report(),
            rules,
            &sslaudit_reports::sarif::SarifOptions::default(),
        )
    });
    let e = from_json(&sarif).unwrap_err();
    assert!(matches!(e, ReportError::NotAReport { .. }));
    assert!(e.to_string().contains("SARIF"), "{e}");
}

#[test]
fn bad_severity_is_rejected_with_its_line() {
    let text = to_json(&sample_report()).replacen(
        "\"severity\": \"critical\"",
        "\"severity\": \"CRIT\"",
        1,
    );
    let e = from_json(&text).unwrap_err().to_string();
    assert!(e.contains("unknown variant `CRIT`"), "{e}");
    let line = text.lines().position(|l| l.contains("CRIT")).unwrap() + 1;
    assert!(e.contains(&format!("line {line}")), "{e}");
}
