//! SARIF output: schema validity and what GitHub code scanning relies on.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use common::{sample_report, with_rules};
use serde_json::Value;
use sslaudit_reports::json::to_json;
use sslaudit_reports::sarif::{SarifOptions, to_sarif, to_sarif_string};
use sslaudit_rules::report::{FileExtent, ScanReport};
use sslaudit_rules::{Finding, Location, RuleMeta, Severity};

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        // The schema as serde-sarif 0.8 ships it. Its two `language` patterns
        // have a stray `]` that a strict draft-7 meta-schema check rejects as
        // a regex; OASIS's published schema has the corrected pattern, applied
        // here so the vendored file stays a verbatim copy.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/sarif-schema-2.1.0.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
        assert_eq!(
            text.matches(broken).count(),
            2,
            "the vendored schema changed"
        );
        let text = text.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    })
}

/// Every SARIF a test looks at goes through here: schema-valid or the test fails.
fn sarif_json(report: &ScanReport, rules: &[&RuleMeta], opts: &SarifOptions) -> Value {
    let text = to_sarif_string(report, rules, opts);
    assert!(text.ends_with("}\n"));
    let value: Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF fails the 2.1.0 schema:\n{}",
        errors.join("\n")
    );
    // The typed value and its string agree.
    assert_eq!(
        serde_json::to_value(to_sarif(report, rules, opts)).unwrap(),
        value
    );
    value
}

/// The validator is not vacuous: it rejects what GitHub would reject.
#[test]
fn validator_rejects_invalid_logs() {
    let good = sample();
    assert!(validator().is_valid(&good));
    let mut bad = good.clone();
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        serde_json::json!(0);
    assert!(!validator().is_valid(&bad), "startLine 0");
    let mut bad = good.clone();
    bad["runs"][0]["tool"]["driver"]["informationUri"] = serde_json::json!("not a uri");
    assert!(!validator().is_valid(&bad), "informationUri format");
    let mut bad = good.clone();
    bad["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator().is_valid(&bad), "level enum");
    let mut bad = good;
    bad["runs"][0]["invocations"][0]["startTimeUtc"] = serde_json::json!("yesterday");
    assert!(!validator().is_valid(&bad), "date-time format");
}

fn sample() -> Value {
    with_rules(|rules| sarif_json(&sample_report(), rules, &SarifOptions::default()))
}

fn results(sarif: &Value) -> &Vec<Value> {
    sarif["runs"][0]["results"].as_array().unwrap()
}

fn result_for<'a>(sarif: &'a Value, rule: &str) -> &'a Value {
    results(sarif)
        .iter()
        .find(|r| r["ruleId"] == rule)
        .unwrap_or_else(|| panic!("no result of {rule}"))
}

#[test]
fn snapshot() {
    let opts = SarifOptions {
        category: Some("sslaudit/production/".into()),
        inventory_uri: Some("fleet/production.toml".into()),
        start_time: Some("2026-06-01T04:00:00Z".into()),
        end_time: Some("2026-06-01T04:02:13Z".into()),
    };
    let text = with_rules(|rules| {
        sarif_json(&sample_report(), rules, &opts);
        to_sarif_string(&sample_report(), rules, &opts)
    });
    insta::assert_snapshot!(text);
}

#[test]
fn header_and_driver() {
    let sarif = sample();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let driver = &sarif["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "sslaudit");
    assert_eq!(driver["version"], "0.1.0");
    assert_eq!(driver["semanticVersion"], "0.1.0");
    assert_eq!(driver["informationUri"], env!("CARGO_PKG_REPOSITORY"));
    let ids: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "ORG001", "SCAN001", "SCAN002", "SSL001", "SSL004", "SSL005", "SSL020"
        ],
        "sorted by id"
    );
}

#[test]
fn rule_descriptors() {
    let sarif = sample();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let ssl001 = rules.iter().find(|r| r["id"] == "SSL001").unwrap();
    assert_eq!(ssl001["name"], "have-ssl-disabled");
    assert_eq!(
        ssl001["shortDescription"]["text"],
        "the server runs without SSL"
    );
    assert_eq!(
        ssl001["fullDescription"]["text"],
        "the server runs without SSL. That the server reports have_ssl = YES: an ssl-ca in \
         my.cnf is not enough until mysqld is restarted."
    );
    let md = ssl001["help"]["markdown"].as_str().unwrap();
    assert!(md.starts_with("## What it checks\n"));
    assert!(md.contains("```sh\n/etc/init.d/mysql restart\n```"));
    assert!(md.ends_with(
        "## References\n\n- MySQL SSL Support: Verify SSL is Enabled\n- CIS Oracle MySQL 8.0 Benchmark 8.1\n"
    ));
    let text = ssl001["help"]["text"].as_str().unwrap();
    assert!(text.starts_with("What it checks\n"));
    assert!(!text.contains('#') && !text.contains('`'));
    assert_eq!(
        ssl001["properties"]["tags"],
        serde_json::json!(["security", "tls", "mysql", "cis"])
    );
    assert_eq!(ssl001["properties"]["precision"], "high");
    assert!(ssl001.get("helpUri").is_none());

    let by_id = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap();
    let ssl004 = by_id("SSL004");
    assert_eq!(
        ssl004["helpUri"],
        "https://dev.mysql.com/doc/refman/8.0/en/using-encrypted-connections.html"
    );
    assert_eq!(by_id("SCAN001")["properties"]["tags"][2], "scan");

    // A rule-pack rule with no help still has a usable descriptor.
    let pack = by_id("ORG001");
    assert_eq!(
        pack["properties"]["tags"],
        serde_json::json!(["security", "tls", "rule-pack"])
    );
    assert_eq!(pack["help"]["text"], "an application still pins TLS 1.0\n");
    assert_eq!(
        pack["fullDescription"]["text"],
        "an application still pins TLS 1.0"
    );
    for r in rules {
        let full = r["fullDescription"]["text"].as_str().unwrap();
        assert!(full.chars().count() <= 1024, "{}", r["id"]);
    }
}

#[test]
fn security_severity_bands_and_default_levels() {
    let cases = [
        (Severity::Critical, "9.5", "error"),
        (Severity::High, "8.0", "error"),
        (Severity::Medium, "5.5", "warning"),
        (Severity::Low, "2.0", "note"),
    ];
    for (sev, score, level) in cases {
        let meta = RuleMeta::new("SSL042", "some-rule", sev, "some summary", "", &[]);
        let sarif = sarif_json(&sample_report(), &[&meta], &SarifOptions::default());
        let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let rule = rules.iter().find(|r| r["id"] == "SSL042").unwrap();
        assert_eq!(rule["properties"]["security-severity"], score, "{sev}");
        assert_eq!(rule["defaultConfiguration"]["level"], level, "{sev}");
        // GitHub's bands: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
        let n: f64 = score.parse().unwrap();
        let band = match n {
            n if n > 9.0 => Severity::Critical,
            n if n >= 7.0 => Severity::High,
            n if n >= 4.0 => Severity::Medium,
            _ => Severity::Low,
        };
        assert_eq!(band, sev);
    }
}

#[test]
fn result_levels_follow_the_finding_not_the_rule() {
    let sarif = sample();
    // SSL004 is nominally high; this finding was graded critical.
    let r = result_for(&sarif, "SSL004");
    assert_eq!(r["level"], "error");
    assert_eq!(r["properties"]["severity"], "critical");
    assert_eq!(result_for(&sarif, "SSL020")["level"], "warning");
    assert_eq!(result_for(&sarif, "ORG001")["level"], "note");
}

#[test]
fn rule_index_points_at_the_rule() {
    let sarif = sample();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(results(&sarif).len(), sample_report().findings.len());
    for r in results(&sarif) {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
}

#[test]
fn unknown_rule_ids_get_a_descriptor() {
    let mut report = sample_report();
    report.findings.push(Finding::new(
        "SSL099",
        Severity::Medium,
        "db-master",
        "production",
        "a finding from a newer catalogue",
        Location::object("variable:x"),
    ));
    let sarif = sarif_json(&report, &[&common::SSL001], &SarifOptions::default());
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"SSL001") && ids.contains(&"SSL099"));
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "described and undescribed rules, sorted by id");
    for r in results(&sarif) {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    // SSL004's only finding is critical: its fallback descriptor says so.
    let ssl004 = rules.iter().find(|r| r["id"] == "SSL004").unwrap();
    assert_eq!(ssl004["properties"]["security-severity"], "9.5");
}

#[test]
fn fingerprints_match_the_json_report() {
    let report = sample_report();
    let json: Value = serde_json::from_str(&to_json(&report)).unwrap();
    let from_json: BTreeMap<(String, String), String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (
                    f["rule_id"].as_str().unwrap().into(),
                    f["host"].as_str().unwrap().into(),
                ),
                f["fingerprint"].as_str().unwrap().into(),
            )
        })
        .collect();
    let sarif = sample();
    let from_sarif: BTreeMap<(String, String), String> = results(&sarif)
        .iter()
        .map(|r| {
            (
                (
                    r["ruleId"].as_str().unwrap().into(),
                    r["properties"]["host"].as_str().unwrap().into(),
                ),
                r["partialFingerprints"]["sslaudit/v1"]
                    .as_str()
                    .unwrap()
                    .into(),
            )
        })
        .collect();
    assert_eq!(from_json.len(), report.findings.len());
    assert_eq!(from_sarif, from_json);
}

#[test]
fn output_is_stable_across_runs_and_input_order() {
    let opts = SarifOptions {
        category: Some("fleet".into()),
        ..SarifOptions::default()
    };
    let first = with_rules(|rules| to_sarif_string(&sample_report(), rules, &opts));
    let second = with_rules(|rules| to_sarif_string(&sample_report(), rules, &opts));
    assert_eq!(first, second);

    let mut shuffled = sample_report();
    shuffled.hosts.reverse();
    shuffled.findings.reverse();
    shuffled.findings.rotate_left(3);
    let third = with_rules(|rules| {
        sarif_json(&shuffled, rules, &opts);
        to_sarif_string(&shuffled, rules, &opts)
    });
    assert_eq!(first, third);
}

#[test]
fn every_result_has_a_location() {
    let sarif = sample();
    for r in results(&sarif) {
        let locations = r["locations"].as_array().unwrap();
        assert!(!locations.is_empty(), "{}", r["ruleId"]);
        let uri = locations[0]["physicalLocation"]["artifactLocation"]["uri"].as_str();
        assert!(uri.is_some_and(|u| !u.is_empty()), "{}", r["ruleId"]);
    }
}

#[test]
fn file_findings_resolve_against_their_host() {
    let sarif = sample();
    let run = &sarif["runs"][0];
    let r = result_for(&sarif, "SSL001");
    let physical = &r["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "etc/mysql/my.cnf");
    assert_eq!(physical["artifactLocation"]["uriBaseId"], "HOST_db_master");
    assert_eq!(physical["region"]["startLine"], 12);
    assert_eq!(
        run["originalUriBaseIds"]["HOST_db_master"]["uri"],
        "ssh://db-master/"
    );
    // The object beside the file stays visible to viewers of logical locations.
    assert_eq!(
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "mysql://db-master/variable:have_ssl"
    );

    // No line: the whole file, from the extent the report recorded. A
    // space in the path is percent-encoded.
    let cert = &result_for(&sarif, "SSL004")["locations"][0]["physicalLocation"];
    assert_eq!(
        cert["region"],
        serde_json::json!({"startLine": 1, "endLine": 20})
    );
    let yml = &result_for(&sarif, "SSL020")["locations"][0]["physicalLocation"];
    assert_eq!(
        yml["artifactLocation"]["uri"],
        "data/shop/current/config/my%20database.yml"
    );
    assert_eq!(
        run["originalUriBaseIds"]["HOST_staging_db"]["uri"],
        "ssh://staging-db/"
    );
    // Hosts without file findings need no base id.
    assert!(run["originalUriBaseIds"].get("HOST_db_replica").is_none());
}

#[test]
fn object_findings_point_at_the_host_declaration() {
    let sarif = sample();
    let location = &result_for(&sarif, "SSL005")["locations"][0];
    // db-master's own line of the inventory.
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        "fleet/production.yaml"
    );
    assert!(
        location["physicalLocation"]["artifactLocation"]
            .get("uriBaseId")
            .is_none()
    );
    assert_eq!(location["physicalLocation"]["region"]["startLine"], 4);
    assert_eq!(
        location["logicalLocations"],
        serde_json::json!([{
            "name": "account:deploy@%",
            "fullyQualifiedName": "mysql://db-master/account:deploy@%",
            "kind": "resource"
        }])
    );
    let scan001 = &result_for(&sarif, "SCAN001")["locations"][0];
    assert_eq!(
        scan001["logicalLocations"][0]["fullyQualifiedName"],
        "mysql://db-replica/host:reachability"
    );

    // A finding with neither file nor object names the host.
    let mut report = sample_report();
    report.findings.push(Finding::new(
        "SSL001",
        Severity::High,
        "staging-db",
        "staging",
        "about the host as a whole",
        Location::default(),
    ));
    let sarif = with_rules(|rules| sarif_json(&report, rules, &SarifOptions::default()));
    let r = results(&sarif)
        .iter()
        .find(|r| r["properties"]["host"] == "staging-db" && r["ruleId"] == "SSL001")
        .unwrap();
    // An absolute inventory path is a file:// URI (a relative reference
    // must not start with a slash).
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "file:///srv/inventories/staging.yaml"
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert_eq!(
        r["locations"][0]["logicalLocations"][0],
        serde_json::json!({"name": "staging-db", "fullyQualifiedName": "mysql://staging-db/", "kind": "resource"})
    );

    // A host without a declaration (a report from elsewhere) falls back to
    // the inventory the options name, line 1.
    let opts = SarifOptions {
        inventory_uri: Some("snapshots/2026-06-01 prod".into()),
        ..SarifOptions::default()
    };
    let mut report = sample_report();
    for h in &mut report.hosts {
        h.declared_at = None;
    }
    let sarif = with_rules(|rules| sarif_json(&report, rules, &opts));
    let physical = &result_for(&sarif, "SSL005")["locations"][0]["physicalLocation"];
    assert_eq!(
        physical["artifactLocation"]["uri"],
        "snapshots/2026-06-01%20prod"
    );
    assert_eq!(physical["region"]["startLine"], 1);
    let opts = SarifOptions {
        inventory_uri: Some("/srv/fleet.yaml".into()),
        ..SarifOptions::default()
    };
    let sarif = with_rules(|rules| sarif_json(&report, rules, &opts));
    assert_eq!(
        result_for(&sarif, "SSL005")["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "file:///srv/fleet.yaml"
    );
}

/// A finding about a path the host does not have cannot point into it: it
/// points at the host's declaration and names the path as a logical
/// location of kind `file`, which a baseline read back restores.
#[test]
fn missing_files_point_at_the_declaration() {
    let mut report = sample_report();
    let missing = "/db/mysql/keygen/deploy/mysql.key";
    report.findings.push(Finding::new(
        "SSL004",
        Severity::Medium,
        "db-master",
        "production",
        "client key is missing",
        Location::file(missing, None).with_object("user-key:deploy"),
    ));
    report.hosts[0]
        .files
        .insert(missing.to_string(), FileExtent::Absent);
    let sarif = with_rules(|rules| sarif_json(&report, rules, &SarifOptions::default()));
    let r = results(&sarif)
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .ends_with("client key is missing")
        })
        .unwrap();
    let location = &r["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        "fleet/production.yaml"
    );
    assert_eq!(
        location["logicalLocations"],
        serde_json::json!([
            {"name": "user-key:deploy", "fullyQualifiedName": "mysql://db-master/user-key:deploy", "kind": "resource"},
            {"name": missing, "fullyQualifiedName": "ssh://db-master/db/mysql/keygen/deploy/mysql.key", "kind": "file"}
        ])
    );
    // Read back as a baseline, the finding is the one written.
    let text = with_rules(|rules| to_sarif_string(&report, rules, &SarifOptions::default()));
    let back = sslaudit_reports::baseline::parse(&text).unwrap();
    let mut want = report.findings.clone();
    want.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let got: Vec<(&str, &Location)> = back
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), &f.location))
        .collect();
    let want: Vec<(&str, &Location)> = want
        .iter()
        .map(|f| (f.fingerprint.as_str(), &f.location))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn result_properties() {
    let sarif = sample();
    let r = result_for(&sarif, "SSL001");
    assert_eq!(
        r["message"]["text"],
        "production/db-master: have_ssl is DISABLED (ssl-ca configured in /etc/mysql/my.cnf:12 \
         but not loaded)"
    );
    assert_eq!(r["properties"]["host"], "db-master");
    assert_eq!(r["properties"]["environment"], "production");
    assert_eq!(r["properties"]["severity"], "high");
    assert_eq!(r["properties"]["evidence"]["have_ssl"], "DISABLED");
}

#[test]
fn suppressed_findings_carry_suppressions() {
    let sarif = sample();
    let report = sample_report();
    for r in results(&sarif) {
        let finding = report
            .findings
            .iter()
            .find(|f| f.fingerprint == r["partialFingerprints"]["sslaudit/v1"])
            .unwrap();
        match &finding.suppressed {
            Some(s) => assert_eq!(
                r["suppressions"],
                serde_json::json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": s.justification,
                    "properties": {"expires": "2027-01-31"}
                }])
            ),
            None => assert!(r.get("suppressions").is_none(), "{}", r["ruleId"]),
        }
    }
}

#[test]
fn invocation_notifications() {
    let sarif = sample();
    let inv = &sarif["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    assert!(inv.get("startTimeUtc").is_none());
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    let errors: Vec<&Value> = notes.iter().filter(|n| n["level"] == "error").collect();
    assert_eq!(errors.len(), 1, "one per unreachable host");
    assert_eq!(
        errors[0]["message"]["text"],
        "host db-replica (production) was not scanned: host could not be reached, nothing on it \
         was checked: ssh: connection refused (10.0.0.13:22)"
    );
    assert_eq!(
        errors[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "mysql://db-replica/"
    );
    let warnings: Vec<&Value> = notes.iter().filter(|n| n["level"] == "warning").collect();
    assert_eq!(warnings.len(), 1, "one per partial host");
    assert!(
        warnings[0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("host app-1 (production) was scanned partially: ")
    );

    let config = inv["toolConfigurationNotifications"].as_array().unwrap();
    assert_eq!(
        config[0]["message"]["text"],
        "waiver for SSL005 on db-master (account:reports@%) expired on 2026-01-01 (policy.toml:14): \
         its findings are reported again"
    );
}

#[test]
fn options_fill_automation_details_and_times() {
    let opts = SarifOptions {
        category: Some("sslaudit/staging/".into()),
        inventory_uri: None,
        start_time: Some("2026-06-01T04:00:00Z".into()),
        end_time: Some("2026-06-01T04:02:13Z".into()),
    };
    let sarif = with_rules(|rules| sarif_json(&sample_report(), rules, &opts));
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "sslaudit/staging/");
    assert_eq!(
        run["invocations"][0]["startTimeUtc"],
        "2026-06-01T04:00:00Z"
    );
    assert_eq!(run["invocations"][0]["endTimeUtc"], "2026-06-01T04:02:13Z");
    // Times live in the invocation only: results do not change with them.
    let plain = sample();
    assert_eq!(run["results"], plain["runs"][0]["results"]);
    assert!(plain["runs"][0].get("automationDetails").is_none());
}

#[test]
fn empty_scan_is_a_valid_log_with_an_empty_results_array() {
    let mut report = sample_report();
    report.findings.clear();
    report.hosts.truncate(1);
    report.expired_waivers.clear();
    let sarif = with_rules(|rules| sarif_json(&report, rules, &SarifOptions::default()));
    let run = &sarif["runs"][0];
    assert_eq!(run["results"], serde_json::json!([]));
    assert!(run.get("originalUriBaseIds").is_none());
    assert!(
        run["invocations"][0]
            .get("toolExecutionNotifications")
            .is_none()
    );
    // No rules either (a scan with every rule disabled) is still valid.
    sarif_json(&report, &[], &SarifOptions::default());
}

#[test]
fn a_non_semver_version_is_not_a_semantic_version() {
    let mut report = sample_report();
    report.tool.version = "dev-build".into();
    let sarif = sarif_json(&report, &[], &SarifOptions::default());
    let driver = &sarif["runs"][0]["tool"]["driver"];
    assert_eq!(driver["version"], "dev-build");
    assert!(driver.get("semanticVersion").is_none());
}
