//! Baselines: reading JSON and SARIF baselines, the comparison, and how the
//! JSON report and the SARIF log carry it.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;
mod sarif_schema;

use common::{sample_report, with_rules};
use serde_json::Value;
use sslaudit_reports::baseline::{
    BaselineError, BaselineFormat, BaselineState, apply_to_sarif, compare, parse,
    to_json_with_baseline,
};
use sslaudit_reports::json::{from_json, to_json};
use sslaudit_reports::sarif::{SarifOptions, to_sarif, to_sarif_string};
use sslaudit_rules::report::ScanReport;
use sslaudit_rules::{Finding, Location, Severity};

fn opts() -> SarifOptions {
    SarifOptions {
        inventory_uri: Some("fleet/production.toml".into()),
        ..SarifOptions::default()
    }
}

fn sarif_text(report: &ScanReport) -> String {
    with_rules(|rules| to_sarif_string(report, rules, &opts()))
}

/// The sample scan a week later: SSL004 fixed, a new SSL001 elsewhere, the
/// SSL001 on db-master moved to another line with another message.
fn later() -> ScanReport {
    let mut r = sample_report();
    r.findings.retain(|f| f.rule_id != "SSL004");
    for f in &mut r.findings {
        if f.rule_id == "SSL001" {
            f.location.line = Some(40);
            f.message = "have_ssl is DISABLED (now at line 40)".into();
        }
    }
    r.findings.push(Finding::new(
        "SSL001",
        Severity::High,
        "staging-db",
        "staging",
        "have_ssl is DISABLED",
        Location::object("variable:have_ssl"),
    ));
    sslaudit_rules::finding::sort_findings(&mut r.findings);
    r
}

fn fp(report: &ScanReport, rule: &str, host: &str) -> String {
    report
        .findings
        .iter()
        .find(|f| f.rule_id == rule && f.host == host)
        .unwrap()
        .fingerprint
        .clone()
}

#[test]
fn json_baseline_compares_by_fingerprint() {
    let before = sample_report();
    let baseline = parse(&to_json(&before)).unwrap();
    assert_eq!(baseline.format, BaselineFormat::Json);
    assert_eq!(baseline.findings, before.findings);

    let now = later();
    let cmp = compare(&now, &baseline);
    let new_fp = fp(&now, "SSL001", "staging-db");
    assert_eq!(cmp.new.iter().collect::<Vec<_>>(), [&new_fp]);
    // The moved and reworded SSL001 is the same finding.
    let moved = now
        .findings
        .iter()
        .find(|f| f.rule_id == "SSL001" && f.host == "db-master")
        .unwrap();
    assert_eq!(cmp.state(moved), BaselineState::Unchanged);
    assert_eq!(cmp.unchanged.len(), 6);
    assert_eq!(cmp.absent.len(), 1);
    assert_eq!(cmp.absent[0].rule_id, "SSL004");
    // Waived findings are compared too.
    let waived = now
        .findings
        .iter()
        .find(|f| f.suppressed.is_some())
        .unwrap();
    assert_eq!(cmp.state(waived), BaselineState::Unchanged);
}

#[test]
fn sarif_baseline_rebuilds_the_findings() {
    // Everything the SARIF writer puts in a result comes back: rule, host,
    // environment, severity, message, file (percent-decoded), line, object,
    // evidence, waiver and fingerprint.
    let before = sample_report();
    let baseline = parse(&sarif_text(&before)).unwrap();
    assert_eq!(baseline.format, BaselineFormat::Sarif);
    assert_eq!(baseline.findings, before.findings);
    let cmp = compare(&later(), &baseline);
    let from_json = compare(&later(), &parse(&to_json(&before)).unwrap());
    assert_eq!(cmp, from_json);
}

#[test]
fn json_report_gets_a_baseline_block() {
    let now = later();
    let cmp = compare(&now, &parse(&to_json(&sample_report())).unwrap());
    let summary = cmp.summary("baseline/main.json", BaselineFormat::Json);
    let text = to_json_with_baseline(&now, &summary);
    // The report's own bytes are unchanged: the block is a last key.
    let plain = to_json(&now);
    assert_eq!(
        text[..plain.len() - 3],
        plain[..plain.len() - 3],
        "the report part differs"
    );
    assert!(text.ends_with("}\n"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let b = &v["baseline"];
    assert_eq!(b["source"], "baseline/main.json");
    assert_eq!(b["format"], "json");
    assert_eq!(
        (
            b["new"].as_u64(),
            b["unchanged"].as_u64(),
            b["absent"].as_u64()
        ),
        (Some(1), Some(6), Some(1))
    );
    assert_eq!(
        b["new_fingerprints"],
        serde_json::json!([fp(&now, "SSL001", "staging-db")])
    );
    let absent = &b["absent_findings"][0];
    assert_eq!(absent["rule_id"], "SSL004");
    assert_eq!(absent["host"], "db-master");
    assert_eq!(absent["severity"], "critical");
    assert_eq!(
        absent["fingerprint"],
        fp(&sample_report(), "SSL004", "db-master")
    );
    // It still reads back, and can be the next baseline.
    assert_eq!(from_json(&text).unwrap(), now);
    assert_eq!(parse(&text).unwrap().findings, now.findings);
}

#[test]
fn sarif_results_get_baseline_states() {
    let now = later();
    let cmp = compare(&now, &parse(&sarif_text(&sample_report())).unwrap());
    let log = with_rules(|rules| {
        let mut log = serde_json::to_value(to_sarif(&now, rules, &opts())).unwrap();
        apply_to_sarif(&mut log, &cmp, rules, &opts());
        log
    });
    sarif_schema::assert_valid(&log);
    sarif_schema::assert_rule_indices(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), now.findings.len() + 1);
    let state = |r: &Value| r["baselineState"].as_str().unwrap().to_string();
    let new: Vec<&Value> = results.iter().filter(|r| state(r) == "new").collect();
    assert_eq!(new.len(), 1);
    assert_eq!(
        new[0]["partialFingerprints"]["sslaudit/v1"],
        fp(&now, "SSL001", "staging-db")
    );
    assert_eq!(
        results.iter().filter(|r| state(r) == "unchanged").count(),
        6
    );

    let absent = results.last().unwrap();
    assert_eq!(state(absent), "absent");
    assert_eq!(absent["level"], "none");
    assert_eq!(absent["kind"], "pass");
    assert_eq!(absent["ruleId"], "SSL004");
    assert_eq!(
        absent["message"]["text"],
        "fixed since the baseline: production/db-master: server certificate expired on 2026-05-01 (31 days before 2026-06-01)"
    );
    assert_eq!(
        absent["locations"][0]["physicalLocation"]["artifactLocation"],
        serde_json::json!({"uri": "db/mysql/5.7/data/server.crt", "uriBaseId": "HOST_db_master"})
    );

    // Marked logs read back as baselines without their absent results.
    let again = parse(&serde_json::to_string(&log).unwrap()).unwrap();
    assert_eq!(again.findings, now.findings);
    // ... and a log marked against itself has no absent results.
    let same = compare(&now, &again);
    assert!(same.new.is_empty() && same.absent.is_empty());
}

#[test]
fn absent_findings_of_rules_and_hosts_the_scan_no_longer_has() {
    // The baseline knows a rule-pack rule and a host the current scan lacks:
    // the rule gets a descriptor, the host a base id, and indices stay right.
    let mut before = sample_report();
    before.findings.push(Finding::new(
        "ACME-9",
        Severity::Low,
        "old-db",
        "production",
        "legacy rule",
        Location::file("/etc/acme.cnf", Some(2)),
    ));
    let mut now = sample_report();
    now.findings.retain(|f| f.rule_id != "SSL001");
    let cmp = compare(&now, &parse(&to_json(&before)).unwrap());
    assert_eq!(cmp.absent.len(), 2);
    let log = with_rules(|rules| {
        let mut log = serde_json::to_value(to_sarif(&now, rules, &opts())).unwrap();
        apply_to_sarif(&mut log, &cmp, rules, &opts());
        log
    });
    sarif_schema::assert_valid(&log);
    sarif_schema::assert_rule_indices(&log);
    let run = &log["runs"][0];
    let ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.last(), Some(&"ACME-9"));
    assert_eq!(
        run["originalUriBaseIds"]["HOST_old_db"]["uri"],
        "ssh://old-db/"
    );
    let acme = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "ACME-9")
        .unwrap();
    assert_eq!(
        acme["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
        "HOST_old_db"
    );
}

#[test]
fn sarif_baselines_need_sslaudit_fingerprints() {
    let mut log: Value = serde_json::from_str(&sarif_text(&sample_report())).unwrap();
    log["runs"][0]["results"][2]
        .as_object_mut()
        .unwrap()
        .remove("partialFingerprints");
    let e = parse(&log.to_string()).unwrap_err();
    assert!(matches!(e, BaselineError::Sarif { .. }));
    assert_eq!(
        e.to_string(),
        "SARIF runs[0].results[2]: has no partialFingerprints[\"sslaudit/v1\"] (not written by sslaudit?)"
    );

    let mut log: Value = serde_json::from_str(&sarif_text(&sample_report())).unwrap();
    log["runs"][0]["results"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("host");
    let e = parse(&log.to_string()).unwrap_err().to_string();
    assert!(
        e.contains("runs[0].results[0]: has no properties.host"),
        "{e}"
    );
}

#[test]
fn other_tools_runs_are_skipped() {
    let mut log: Value = serde_json::from_str(&sarif_text(&sample_report())).unwrap();
    let other = serde_json::json!({
        "tool": {"driver": {"name": "trivy"}},
        "results": [{"ruleId": "X", "message": {"text": "x"}}]
    });
    log["runs"].as_array_mut().unwrap().insert(0, other);
    let b = parse(&log.to_string()).unwrap();
    assert_eq!(b.findings, sample_report().findings);
}

#[test]
fn wrong_documents_say_what_they_are() {
    let e = parse("{\"schema_version\": 99}").unwrap_err().to_string();
    assert_eq!(
        e,
        "sslaudit JSON report has schema_version 99, this sslaudit reads 1"
    );
    let e = parse("{\"a\": 1}").unwrap_err().to_string();
    assert!(e.starts_with("neither an sslaudit JSON report"), "{e}");
    let e = parse("{\n  \"runs\": [\n").unwrap_err().to_string();
    assert!(e.starts_with("not JSON:") && e.contains("line 3"), "{e}");
}
