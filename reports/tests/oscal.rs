//! The OSCAL assessment results: valid against NIST's published OSCAL
//! JSON schema (vendored, tests/data/OSCAL-SCHEMA.md), identifiers stable
//! across runs and unique, findings targeting the mapped controls'
//! objectives, waived findings as risks with their justification and
//! deadline.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::Value;
use sslaudit_reports::oscal::{OSCAL_VERSION, OscalOptions, to_oscal_string};
use sslaudit_rules::RuleMeta;
use sslaudit_rules::registry::RULES;

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/oscal-assessment-results-schema-1.2.1.json"
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(
            schema["$id"]
                .as_str()
                .unwrap()
                .contains(&format!("/{OSCAL_VERSION}/")),
            "the vendored schema is not OSCAL {OSCAL_VERSION}"
        );
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    })
}

fn opts() -> OscalOptions {
    OscalOptions {
        title: None,
        start: "2026-06-01T00:00:00Z".into(),
        end: "2026-06-01T00:00:00Z".into(),
        source: Some("fixtures/demo-fleet".into()),
    }
}

/// The compiled rules (with their control mappings) and the pack's rule.
fn rules() -> Vec<RuleMeta> {
    let mut rules: Vec<RuleMeta> = RULES.iter().map(|r| r.meta().clone()).collect();
    rules.push(common::rule_pack_rule());
    rules
}

/// Every document a test looks at goes through here: schema-valid or the test fails.
fn oscal() -> (String, Value) {
    let rules = rules();
    let refs: Vec<&RuleMeta> = rules.iter().collect();
    let text = to_oscal_string(&common::sample_report(), &refs, &opts());
    let value: Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}\n{text}", errors.join("\n"));
    (text, value)
}

fn uuids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "uuid" {
                    out.push(v.as_str().unwrap().to_string());
                }
                uuids(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| uuids(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_valid_oscal_and_a_function_of_its_inputs() {
    let (a, doc) = oscal();
    let (b, _) = oscal();
    assert_eq!(a, b);
    let ar = &doc["assessment-results"];
    assert_eq!(ar["metadata"]["oscal-version"], OSCAL_VERSION);
    // import-ap points at the placeholder plan in back-matter.
    let href = ar["import-ap"]["href"].as_str().unwrap();
    assert_eq!(
        href.trim_start_matches('#'),
        ar["back-matter"]["resources"][0]["uuid"].as_str().unwrap()
    );
    let mut all = Vec::new();
    uuids(&doc, &mut all);
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "UUIDs repeat");
    for u in &all {
        assert_eq!(&u[14..15], "5", "{u} is not a v5 UUID");
    }
    // The schema is no rubber stamp: OSCAL requires import-ap.
    let mut broken = doc.clone();
    broken["assessment-results"]
        .as_object_mut()
        .unwrap()
        .remove("import-ap");
    assert!(!validator().is_valid(&broken));
}

#[test]
fn hosts_findings_and_waivers_are_where_auditors_look() {
    let (_, doc) = oscal();
    let result = &doc["assessment-results"]["results"][0];
    let items = result["local-definitions"]["inventory-items"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 4);
    let replica = items
        .iter()
        .find(|i| {
            i["description"]
                .as_str()
                .unwrap()
                .starts_with("db-replica ")
        })
        .unwrap();
    let props: Vec<(&str, &str)> = replica["props"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    for p in [
        ("environment", "production"),
        ("status", "unreachable"),
        ("role", "db_replica"),
        ("access", "ssh"),
    ] {
        assert!(props.contains(&p), "{p:?} not in {props:?}");
    }
    // Every finding is an observation on its host.
    let observations = result["observations"].as_array().unwrap();
    assert_eq!(observations.len(), common::sample_report().findings.len());
    let ssl001 = observations
        .iter()
        .find(|o| o["title"].as_str().unwrap().starts_with("SSL001 "))
        .unwrap();
    assert_eq!(ssl001["methods"], serde_json::json!(["TEST"]));
    assert!(
        ssl001["relevant-evidence"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("/etc/mysql/my.cnf:12 on db-master (production)")
    );
    let master = items
        .iter()
        .find(|i| i["description"].as_str().unwrap().starts_with("db-master "))
        .unwrap();
    assert_eq!(ssl001["subjects"][0]["subject-uuid"], master["uuid"]);
    // Its findings target the mapped NIST controls' objectives.
    let findings = result["findings"].as_array().unwrap();
    let targets: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f["related-observations"][0]["observation-uuid"] == ssl001["uuid"])
        .map(|f| {
            assert_eq!(f["target"]["status"]["state"], "not-satisfied");
            f["target"]["target-id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        targets,
        BTreeSet::from(["sc-8_obj", "sc-8.1_obj", "cm-6_obj"])
    );
    // Reviewed controls: what the enabled rules map to.
    let reviewed: Vec<&str> =
        result["reviewed-controls"]["control-selections"][0]["include-controls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["control-id"].as_str().unwrap())
            .collect();
    for c in [
        "sc-8", "sc-8.1", "sc-12", "sc-13", "sc-17", "sc-23", "ia-5.2", "cm-6", "ca-7",
    ] {
        assert!(reviewed.contains(&c), "{c} not in {reviewed:?}");
    }
    // The waived SSL005 is a risk with the justification and the expiry.
    let risks = result["risks"].as_array().unwrap();
    assert_eq!(risks.len(), 1);
    assert_eq!(risks[0]["status"], "deviation-approved");
    // The waiver applies through 2027-01-31 (UTC).
    assert_eq!(risks[0]["deadline"], "2027-02-01T00:00:00Z");
    assert!(
        risks[0]["statement"]
            .as_str()
            .unwrap()
            .contains("legacy reporting job, ticket OPS-12")
    );
    assert!(
        findings
            .iter()
            .any(|f| f["related-risks"][0]["risk-uuid"] == risks[0]["uuid"])
    );
    // A rule pack's rule without mappings: an observation only.
    assert!(
        observations
            .iter()
            .any(|o| o["title"].as_str().unwrap().starts_with("ORG001 "))
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["title"].as_str().unwrap().starts_with("ORG001 "))
    );
}

#[test]
fn identifiers_follow_the_fingerprints_not_the_order() {
    let rules = rules();
    let refs: Vec<&RuleMeta> = rules.iter().collect();
    let report = common::sample_report();
    let mut shuffled = report.clone();
    shuffled.findings.reverse();
    shuffled.hosts.reverse();
    let ids = |r: &sslaudit_rules::report::ScanReport| {
        let v = sslaudit_reports::oscal::to_oscal(r, &refs, &opts());
        let mut all = Vec::new();
        uuids(&v, &mut all);
        all.into_iter().collect::<BTreeSet<_>>()
    };
    assert_eq!(ids(&report), ids(&shuffled));
    // A finding's observation UUID is derived from its fingerprint.
    let f = &report.findings[0];
    assert!(
        ids(&report).contains(&sslaudit_reports::oscal::stable_uuid(&format!(
            "observation:{}",
            f.fingerprint
        )))
    );
}
