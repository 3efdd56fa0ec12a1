//! Merging shard reports: JSON unions, SARIF rule indices and base ids, and
//! the inputs that must be refused.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod common;
mod sarif_schema;

use common::{SCAN001, SCAN002, SSL001, SSL004, SSL005, SSL020, rule_pack_rule, sample_report};
use serde_json::{Value, json};
use sslaudit_reports::json::to_json;
use sslaudit_reports::merge::{MergeError, MergeOptions, Merged, merge, merge_reports};
use sslaudit_reports::sarif::{SarifOptions, to_sarif_string};
use sslaudit_rules::report::{HostStatus, ScanReport};
use sslaudit_rules::{Finding, Location, RuleMeta, Severity};

/// The part of a report for one environment, as `--limit <env>` writes it.
fn shard(report: &ScanReport, env: &str) -> ScanReport {
    let mut r = report.clone();
    r.hosts.retain(|h| h.environment == env);
    r.findings.retain(|f| f.environment == env);
    r
}

/// The full report in the order a scan writes it (hosts sorted).
fn full() -> ScanReport {
    let mut r = sample_report();
    r.hosts
        .sort_by(|a, b| (&a.environment, &a.name).cmp(&(&b.environment, &b.name)));
    r
}

fn opts() -> SarifOptions {
    SarifOptions {
        inventory_uri: Some("fleet.toml".into()),
        ..SarifOptions::default()
    }
}

fn sarif(report: &ScanReport, rules: &[&RuleMeta], category: Option<&str>) -> String {
    let o = SarifOptions {
        category: category.map(str::to_string),
        ..opts()
    };
    to_sarif_string(report, rules, &o)
}

fn merged_sarif(inputs: &[(&str, &str)], opts: &MergeOptions) -> Value {
    match merge(inputs, opts).unwrap() {
        Merged::Sarif(v) => {
            sarif_schema::assert_valid(&v);
            sarif_schema::assert_rule_indices(&v);
            v
        }
        Merged::Json(_) => panic!("SARIF inputs gave JSON"),
    }
}

fn without_rule_index(results: &Value) -> Vec<Value> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("ruleIndex");
            r
        })
        .collect()
}

#[test]
fn json_shards_merge_into_the_full_report() {
    let all = full();
    let prod = to_json(&shard(&all, "production"));
    let staging = to_json(&shard(&all, "staging"));
    let Merged::Json(m) = merge(
        &[("staging.json", &staging), ("prod.json", &prod)],
        &MergeOptions::default(),
    )
    .unwrap() else {
        panic!("JSON inputs gave SARIF")
    };
    assert_eq!(*m, all);
    // The text is the scan's own format.
    assert_eq!(
        Merged::Json(m.clone()).to_text(),
        to_json(&all),
        "merged bytes differ"
    );
}

#[test]
fn overlapping_shards_keep_one_of_each() {
    let all = full();
    let mut a = shard(&all, "production");
    let mut b = all.clone();
    // The same host seen as partial by one shard: the worse status wins and
    // the roles are united.
    a.hosts
        .iter_mut()
        .find(|h| h.name == "db-master")
        .unwrap()
        .status = HostStatus::Partial;
    b.hosts
        .iter_mut()
        .find(|h| h.name == "db-master")
        .unwrap()
        .roles
        .push("app".into());
    // Same fingerprint as an SSL001 finding but another line: both stay.
    let mut twin = all
        .findings
        .iter()
        .find(|f| f.rule_id == "SSL001")
        .unwrap()
        .clone();
    twin.location.line = Some(99);
    b.findings.push(twin);
    let m = merge_reports(&[("a.json", a), ("b.json", b)]).unwrap();
    assert_eq!(m.findings.len(), all.findings.len() + 1);
    let db = m.hosts.iter().find(|h| h.name == "db-master").unwrap();
    assert_eq!(db.status, HostStatus::Partial);
    assert_eq!(db.roles, ["db_master", "app"]);
    assert_eq!(m.hosts.len(), all.hosts.len());
    assert_eq!(m.expired_waivers, all.expired_waivers);
    let mut sorted = m.findings.clone();
    sslaudit_rules::finding::sort_findings(&mut sorted);
    assert_eq!(sorted, m.findings);
}

#[test]
fn json_shards_must_share_as_of_and_tool() {
    let all = full();
    let a = to_json(&shard(&all, "production"));
    let mut other = shard(&all, "staging");
    other.as_of = "2026-06-02".into();
    let e = merge(
        &[("a.json", &a), ("b.json", &to_json(&other))],
        &MergeOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, MergeError::AsOfDiffers { .. }));
    assert_eq!(
        e.to_string(),
        "as_of differs: a.json has `2026-06-01`, b.json has `2026-06-02`: merge the shards of one scan (same --as-of) only"
    );
    let mut other = shard(&all, "staging");
    other.tool.version = "0.2.0".into();
    let e = merge(
        &[("a.json", &a), ("b.json", &to_json(&other))],
        &MergeOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("a.json was written by `sslaudit 0.1.0`, b.json by `sslaudit 0.2.0`"),
        "{e}"
    );
}

#[test]
fn inputs_of_mixed_or_unknown_kinds_are_refused() {
    let all = full();
    let rules: Vec<&RuleMeta> = vec![&SCAN001, &SSL001];
    let j = to_json(&all);
    let s = sarif(&all, &rules, None);
    let e = merge(
        &[("a.json", &j), ("b.sarif", &s), ("c.json", &j)],
        &MergeOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "cannot merge JSON reports (a.json, c.json) with SARIF logs (b.sarif): merge files of one kind"
    );
    let e = merge(&[("x.txt", "{\"a\": 1}")], &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("x.txt: neither an sslaudit JSON report"),
        "{e}"
    );
    let e = merge(&[("x.json", "{")], &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.json: not JSON: EOF"), "{e}");
    assert!(matches!(
        merge(&[], &MergeOptions::default()),
        Err(MergeError::NoInput)
    ));
}

#[test]
fn sarif_shards_merge_with_consistent_rule_indices() {
    let all = full();
    let pack = rule_pack_rule();
    // Each shard described its rules in its own order (another catalogue
    // order, rule packs on one side only): every index differs.
    let prod_rules: Vec<&RuleMeta> = vec![&SSL005, &SSL004, &SSL001, &pack, &SCAN002, &SCAN001];
    let staging_rules: Vec<&RuleMeta> = vec![&SSL020, &SCAN001];
    let prod = sarif(
        &shard(&all, "production"),
        &prod_rules,
        Some("sslaudit/fleet/"),
    );
    let staging = sarif(
        &shard(&all, "staging"),
        &staging_rules,
        Some("sslaudit/fleet/"),
    );
    let m = merged_sarif(
        &[("prod.sarif", &prod), ("staging.sarif", &staging)],
        &MergeOptions::default(),
    );
    let run = &m["runs"][0];
    let ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "ORG001", "SCAN001", "SCAN002", "SSL001", "SSL004", "SSL005", "SSL020"
        ]
    );
    assert_eq!(m["runs"].as_array().unwrap().len(), 1);
    assert_eq!(run["automationDetails"]["id"], "sslaudit/fleet/");
    // One scan's invocation: one of them, the shards' notifications in it.
    assert_eq!(run["invocations"].as_array().unwrap().len(), 1);

    // The same results, in the same order, as one scan of the whole fleet.
    let all_rules: Vec<&RuleMeta> = vec![
        &SCAN001, &SCAN002, &SSL001, &SSL004, &SSL005, &SSL020, &pack,
    ];
    let one: Value =
        serde_json::from_str(&sarif(&all, &all_rules, Some("sslaudit/fleet/"))).unwrap();
    assert_eq!(
        without_rule_index(&run["results"]),
        without_rule_index(&one["runs"][0]["results"])
    );
    assert_eq!(
        run["originalUriBaseIds"],
        one["runs"][0]["originalUriBaseIds"]
    );

    // Input order does not matter.
    let swapped = merged_sarif(
        &[("staging.sarif", &staging), ("prod.sarif", &prod)],
        &MergeOptions::default(),
    );
    assert_eq!(swapped["runs"][0]["results"], run["results"]);
    assert_eq!(swapped["runs"][0]["tool"], run["tool"]);

    // Merging a merged log with a shard of it changes nothing.
    let text = serde_json::to_string(&m).unwrap();
    let again = merged_sarif(
        &[("m.sarif", &text), ("prod.sarif", &prod)],
        &MergeOptions::default(),
    );
    assert_eq!(again["runs"][0]["results"], run["results"]);
}

#[test]
fn colliding_base_ids_are_renamed() {
    // `db-1` and `db_1` both sanitize to HOST_db_1, each in its own shard.
    let mut a = full();
    a.hosts.clear();
    a.findings = vec![Finding::new(
        "SSL001",
        Severity::High,
        "db-1",
        "production",
        "a",
        Location::file("/etc/my.cnf", Some(1)),
    )];
    let mut b = a.clone();
    b.findings = vec![Finding::new(
        "SSL001",
        Severity::High,
        "db_1",
        "staging",
        "b",
        Location::file("/etc/my.cnf", Some(1)),
    )];
    let rules: Vec<&RuleMeta> = vec![&SSL001];
    let m = merged_sarif(
        &[
            ("a.sarif", &sarif(&a, &rules, None)),
            ("b.sarif", &sarif(&b, &rules, None)),
        ],
        &MergeOptions::default(),
    );
    let run = &m["runs"][0];
    assert_eq!(
        run["originalUriBaseIds"],
        json!({
            "HOST_db_1": {"uri": "ssh://db-1/", "description": {"text": "host db-1"}},
            "HOST_db_1_2": {"uri": "ssh://db_1/", "description": {"text": "host db_1"}}
        })
    );
    // Each result still resolves to its own host.
    for r in run["results"].as_array().unwrap() {
        let base = r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]
            .as_str()
            .unwrap();
        let host = r["properties"]["host"].as_str().unwrap();
        assert_eq!(
            run["originalUriBaseIds"][base]["uri"],
            format!("ssh://{host}/")
        );
    }
}

#[test]
fn sarif_shards_must_agree() {
    let all = full();
    let rules: Vec<&RuleMeta> = vec![&SCAN001, &SSL001, &SSL004, &SSL005, &SSL020, &SCAN002];
    let prod = shard(&all, "production");
    let staging = shard(&all, "staging");
    let a = sarif(&prod, &rules, Some("sslaudit/production/"));
    let b = sarif(&staging, &rules, Some("sslaudit/staging/"));
    let e = merge(
        &[("a.sarif", &a), ("b.sarif", &b)],
        &MergeOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "category (automationDetails.id) differs: a.sarif (runs[0]) has `sslaudit/production/`, \
         b.sarif (runs[0]) has `sslaudit/staging/`: give the merged run one with --category"
    );
    let m = merged_sarif(
        &[("a.sarif", &a), ("b.sarif", &b)],
        &MergeOptions {
            category: Some("sslaudit/fleet/".into()),
        },
    );
    assert_eq!(m["runs"][0]["automationDetails"]["id"], "sslaudit/fleet/");

    let mut later = staging.clone();
    later.as_of = "2026-07-01".into();
    let e = merge(
        &[
            ("a.sarif", &sarif(&prod, &rules, None)),
            ("b.sarif", &sarif(&later, &rules, None)),
        ],
        &MergeOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, MergeError::AsOfDiffers { .. }), "{e}");

    let mut foreign: Value = serde_json::from_str(&a).unwrap();
    foreign["runs"][0]["tool"]["driver"]["name"] = json!("trivy");
    let e = merge(
        &[("a.sarif", &a), ("t.sarif", &foreign.to_string())],
        &MergeOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "t.sarif: runs[0]: is a run of `trivy`, not sslaudit: merge combines the shards of one sslaudit scan"
    );

    let mut old: Value = serde_json::from_str(&a).unwrap();
    old["version"] = json!("2.0.0");
    let e = merge(&[("old.sarif", &old.to_string())], &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "old.sarif: version: is `2.0.0`, this sslaudit merges SARIF 2.1.0 only"
    );
}

#[test]
fn results_naming_rules_by_index_only_are_rewritten() {
    // Another producer may omit ruleId and rely on ruleIndex alone.
    let all = full();
    let rules: Vec<&RuleMeta> = vec![&SSL020, &SSL001, &SSL004, &SSL005, &SCAN001, &SCAN002];
    let mut log: Value =
        serde_json::from_str(&sarif(&shard(&all, "production"), &rules, None)).unwrap();
    for r in log["runs"][0]["results"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("ruleId");
    }
    let m = merged_sarif(&[("a.sarif", &log.to_string())], &MergeOptions::default());
    let results = m["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["ruleId"].is_string()));
    assert!(results.iter().any(|r| r["ruleId"] == "SSL004"));
}
