//! End-to-end runs of the `sslaudit` binary: the demo fleet, exit codes, and
//! errors that name their file and line.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::process::{Command, Output};

use fleet_util::{demo, demo_as_of, root};
use sslaudit_rules::registry;

fn sslaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run sslaudit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn demo_fleet_triggers_every_rule_and_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("demo.json");
    let sarif = dir.path().join("demo.sarif");
    let as_of = demo_as_of();
    let out = sslaudit(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--as-of",
        &as_of,
        "--next-ca",
        &format!(
            "production={}",
            root().join("fixtures/demo-fleet-next-ca.pem").display()
        ),
        "--json",
        json.to_str().unwrap(),
        "--sarif",
        sarif.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("gate: FAILED"), "{stdout}");
    // Microsoft's validator: no error, no warning (SARIF1004 relative
    // references, SARIF2017 regions...).
    fleet_util::assert_sarif_validates(&sarif);

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let fired: std::collections::BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    let missing: Vec<&str> = registry::RULES
        .iter()
        .map(|r| r.meta().id.as_ref())
        .filter(|id| !fired.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "the demo fleet does not trigger {missing:?}"
    );
    assert!(report["hosts"].as_array().unwrap().len() >= 6);
    // Each finding a runner fixes names the command that plans the fix.
    for f in report["findings"].as_array().unwrap() {
        let (rule, fix) = (f["rule_id"].as_str().unwrap(), f["fix"].as_str());
        let expected = match rule {
            "SSL002" | "SSL005" | "SSL006" | "SSL009" | "SSL010" | "SSL014" | "SSL017" => {
                Some(format!("--finding {}", f["fingerprint"].as_str().unwrap()))
            }
            "SSL001" | "SSL003" | "SSL004" | "SSL011" | "SSL012" | "SSL016" | "SSL018" => {
                Some("sslaudit rotate --inventory INVENTORY --environment ".to_string())
            }
            "SSL013" => Some("sslaudit keygen --inventory INVENTORY".to_string()),
            _ => None,
        };
        match (expected, fix) {
            (Some(e), Some(fix)) => assert!(fix.contains(&e), "{rule}: {fix}"),
            (None, None) => {}
            (e, fix) => panic!("{rule}: expected {e:?}, got {fix:?}"),
        }
    }

    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    for result in sarif["runs"][0]["results"].as_array().unwrap() {
        assert!(result["ruleId"].is_string());
        assert!(result["level"].is_string());
        assert!(result["message"]["text"].is_string());
        assert!(!result["locations"].as_array().unwrap().is_empty());
        assert!(result["properties"]["host"].is_string());
    }
    // The rules' control mappings are SARIF tags.
    let ssl001 = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "SSL001")
        .unwrap();
    let tags = ssl001["properties"]["tags"].as_array().unwrap();
    for tag in [
        "NIST-800-53:SC-8(1)",
        "PCI-DSS-4.0:4.2.1",
        "CIS-MySQL-8.0:8.1",
    ] {
        assert!(tags.iter().any(|t| t == tag), "{tag} not in {tags:?}");
    }
}

#[test]
fn the_oscal_assessment_results_validate_and_keep_their_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let as_of = demo_as_of();
    let next_ca = format!(
        "production={}",
        root().join("fixtures/demo-fleet-next-ca.pem").display()
    );
    // A waiver, so the validators see a risk too.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[waiver]]\nrule = \"SSL010\"\njustification = \"openssl.cnf is replaced in the Q1 rebuild\"\n\
         expires = 2027-01-31\n",
    )
    .unwrap();
    let mut docs = Vec::new();
    for i in 0..2 {
        let path = dir.path().join(format!("oscal-{i}.json"));
        let out = sslaudit(&[
            "scan",
            "--snapshot",
            demo().to_str().unwrap(),
            "--next-ca",
            &next_ca,
            "--policy",
            policy.to_str().unwrap(),
            "--as-of",
            &as_of,
            "--quiet",
            "--oscal",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        docs.push(std::fs::read_to_string(&path).unwrap());
    }
    // With --as-of, the same state gives the same document, identifiers included.
    assert_eq!(docs[0], docs[1]);
    let path = dir.path().join("oscal-0.json");
    fleet_util::assert_oscal_validates(&path);
    let doc: serde_json::Value = serde_json::from_str(&docs[0]).unwrap();
    let result = &doc["assessment-results"]["results"][0];
    assert_eq!(
        result["local-definitions"]["inventory-items"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
    let observations = result["observations"].as_array().unwrap();
    assert!(!observations.is_empty());
    assert!(
        result["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["target"]["status"]["state"] == "not-satisfied")
    );
    assert!(result["start"].as_str().unwrap().starts_with(&as_of));
    let risks = result["risks"].as_array().unwrap();
    assert!(!risks.is_empty());
    for r in risks {
        assert_eq!(r["status"], "deviation-approved");
        assert_eq!(r["deadline"], "2027-02-01T00:00:00Z");
        assert!(
            r["statement"]
                .as_str()
                .unwrap()
                .contains("openssl.cnf is replaced in the Q1 rebuild")
        );
    }
    // Without --as-of the scan is dated by the clock, but a finding's
    // observation keeps its identifier.
    let out = sslaudit(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--next-ca",
        &next_ca,
        "--quiet",
        "--oscal",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_fingerprint = |obs: &serde_json::Value| {
        obs.as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let fp = o["props"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == "fingerprint")
                    .unwrap()["value"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (fp, o["uuid"].as_str().unwrap().to_string())
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (then, now) = (
        by_fingerprint(&result["observations"]),
        by_fingerprint(&again["assessment-results"]["results"][0]["observations"]),
    );
    let common: Vec<&String> = then.keys().filter(|k| now.contains_key(*k)).collect();
    assert!(!common.is_empty());
    for fp in common {
        assert_eq!(then[fp], now[fp], "{fp}");
    }
}

#[test]
fn reruns_with_the_same_as_of_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let as_of = demo_as_of();
    let mut outputs = Vec::new();
    for i in 0..2 {
        let json = dir.path().join(format!("{i}.json"));
        let out = sslaudit(&[
            "scan",
            "--snapshot",
            demo().to_str().unwrap(),
            "--as-of",
            &as_of,
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        outputs.push(std::fs::read(&json).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn fail_on_never_passes_and_limit_selects_hosts() {
    let out = sslaudit(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--fail-on",
        "never",
        "--limit",
        "staging",
        "--json",
        "-",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for h in report["hosts"].as_array().unwrap() {
        assert_eq!(h["environment"], "staging");
    }
}

#[test]
fn a_missing_snapshot_is_exit_2_with_a_clear_message() {
    let out = sslaudit(&["scan", "--snapshot", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no/such/dir does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_malformed_policy_or_rule_pack_is_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[thresholds]\nexpiry_high_days = \"soon\"\n").unwrap();
    let out = sslaudit(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("policy.toml:2:"), "{}", stderr(&out));

    let pack = dir.path().join("pack.toml");
    std::fs::write(&pack, "[[rule]]\nid = \"org1\"\n").unwrap();
    let out = sslaudit(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--rules",
        pack.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pack.toml:"), "{}", stderr(&out));
}

#[test]
fn a_waiver_suppresses_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[waiver]]\nrule = \"SCAN001\"\nhost = \"*\"\njustification = \"host retired\"\nexpires = 2099-01-01\n\n\
[[waiver]]\nrule = \"SSL004\"\njustification = \"old waiver\"\nexpires = 2000-01-01\n",
    )
    .unwrap();
    let out = sslaudit(&[
        "scan",
        "--snapshot",
        demo().to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--json",
        "-",
        "--quiet",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let scan001: Vec<_> = findings
        .iter()
        .filter(|f| f["rule_id"] == "SCAN001")
        .collect();
    assert!(!scan001.is_empty());
    assert!(
        scan001
            .iter()
            .all(|f| f["suppressed"]["justification"] == "host retired")
    );
    assert!(
        findings
            .iter()
            .filter(|f| f["rule_id"] == "SSL004")
            .all(|f| f["suppressed"].is_null())
    );
    assert_eq!(report["expired_waivers"][0]["rule"], "SSL004");
}

#[test]
fn rules_and_explain_list_the_catalogue() {
    let out = sslaudit(&["rules", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rules.as_array().unwrap().len(), registry::RULES.len());
    // Each rule's control mappings, with their sources.
    let ssl004 = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "SSL004")
        .unwrap();
    assert!(
        ssl004["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["framework"] == "NIST SP 800-53 Rev. 5"
                && c["id"] == "SC-17"
                && c["source"].as_str().is_some_and(|s| !s.is_empty())),
        "{ssl004}"
    );
    // The README's table, as rules/tests/readme.rs checks it.
    let out = sslaudit(&["rules", "--markdown"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        registry::markdown_table(registry::RULES.iter().map(|r| r.meta()))
    );
    // The table: severity and name in aligned columns.
    let out = sslaudit(&["rules"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let name_columns: std::collections::BTreeSet<usize> = text
        .lines()
        .take(registry::RULES.len())
        .map(|l| {
            l.find(
                registry::RULES
                    .iter()
                    .map(|r| r.meta().name.as_ref())
                    .find(|n| l.contains(n))
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(name_columns.len(), 1, "names not aligned:\n{text}");
    let out = sslaudit(&["explain", "SSL004"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("certificate-expiry") && text.contains("How to fix"),
        "{text}"
    );
    assert!(
        text.contains("Controls (") && text.contains("  - NIST SP 800-53 Rev. 5 SC-17: "),
        "{text}"
    );
    let out = sslaudit(&["explain", "SSL999"]);
    assert_eq!(out.status.code(), Some(2));
}
