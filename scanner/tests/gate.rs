//! The CI gate end to end: exit codes, waivers (expired ones warned about on
//! stderr), baselines with `--fail-on-new`, `sslaudit merge` of `--limit`ed
//! scans, and the CI report formats, all by running the binary on the demo
//! fleet as of its collection day.
//!
//! The tests derive what they expect from a first scan's JSON (which rules
//! fire where), so they keep holding when the demo fleet grows.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sslaudit_scanner::snapshot;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn demo() -> String {
    root().join("fixtures/demo-fleet").display().to_string()
}

/// The demo fleet's own collection day, so expiry findings never rot.
fn as_of() -> String {
    let m = snapshot::read_manifest(&root().join("fixtures/demo-fleet")).unwrap();
    m.collected_at.unwrap()[..10].to_string()
}

fn sslaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// `sslaudit scan` of the demo fleet as of its day, plus `args`.
fn scan(args: &[&str]) -> Output {
    let as_of = as_of();
    let demo = demo();
    let mut all = vec![
        "scan",
        "--snapshot",
        &demo,
        "--as-of",
        &as_of,
        "--color",
        "never",
    ];
    all.extend_from_slice(args);
    sslaudit(&all)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

fn active(report: &Value) -> impl Iterator<Item = &Value> {
    findings(report)
        .iter()
        .filter(|f| f.get("suppressed").is_none())
}

fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 3,
        "high" => 2,
        "medium" => 1,
        _ => 0,
    }
}

fn fingerprints(report: &Value) -> BTreeSet<String> {
    findings(report)
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

/// A JSON report of the demo fleet (`limit` = an environment or none).
fn report(dir: &Path, name: &str, limit: Option<&str>) -> (PathBuf, Value) {
    let path = dir.join(name);
    let mut args = vec!["-q", "--fail-on", "never", "--json", p(&path)];
    if let Some(l) = limit {
        args.extend_from_slice(&["--limit", l]);
    }
    assert_exit(&scan(&args), 0);
    let value = read_json(&path);
    (path, value)
}

#[test]
fn default_threshold_is_high_and_never_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (_, full) = report(dir.path(), "full.json", None);
    assert!(
        active(&full).any(|f| f["rule_id"] == "SCAN001"),
        "the demo fleet has an unreachable host"
    );

    let o = scan(&[]);
    assert_exit(&o, 1);
    assert!(stdout(&o).contains("gate: FAILED ("), "{}", stdout(&o));

    let o = scan(&["--fail-on", "never"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("gate: never fails (--fail-on never)"));

    // The unreachable host alone: no finding reaches the threshold, yet the
    // gate fails.
    let unreachable = active(&full).find(|f| f["rule_id"] == "SCAN001").unwrap()["host"]
        .as_str()
        .unwrap()
        .to_string();
    let o = scan(&["--fail-on", "critical", "--limit", &unreachable]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains(
            "gate: FAILED (hosts that could not be (fully) scanned always fail an audit)"
        ),
        "{}",
        stdout(&o)
    );

    let o = scan(&["--fail-on", "severe"]);
    assert_exit(&o, 2);
    // clap words the error and lists what is accepted.
    assert!(
        stderr(&o).contains("invalid value 'severe' for '--fail-on <SEVERITY>'")
            && stderr(&o).contains("[possible values: critical, high, medium, low, never]"),
        "{}",
        stderr(&o)
    );
    // Case does not matter, as before.
    assert_exit(&scan(&["-q", "--fail-on", "NEVER"]), 0);
}

#[test]
fn exit_code_follows_the_threshold() {
    // Production has no unreachable host: only the threshold decides.
    let dir = tempfile::tempdir().unwrap();
    let (_, prod) = report(dir.path(), "prod.json", Some("production"));
    assert!(!active(&prod).any(|f| f["rule_id"] == "SCAN001"));
    let worst = active(&prod)
        .map(|f| rank(f["severity"].as_str().unwrap()))
        .max()
        .unwrap();
    for (threshold, r) in [("critical", 3), ("high", 2), ("medium", 1), ("low", 0)] {
        let o = scan(&["-q", "--limit", "production", "--fail-on", threshold]);
        assert_exit(&o, if worst >= r { 1 } else { 0 });
    }
}

/// A policy waiving every rule in `waive` (until 2099), plus `extra` TOML.
fn policy(dir: &Path, waive: &BTreeSet<String>, extra: &str) -> PathBuf {
    let mut text = String::new();
    for rule in waive {
        text.push_str(&format!(
            "[[waiver]]\nrule = \"{rule}\"\nhost = \"*\"\njustification = \"accepted in CHG-{rule}\"\nexpires = 2099-12-31\n\n"
        ));
    }
    text.push_str(extra);
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn waivers_pass_the_gate_and_expired_ones_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (_, prod) = report(dir.path(), "prod.json", Some("production"));
    let high: BTreeSet<String> = active(&prod)
        .filter(|f| rank(f["severity"].as_str().unwrap()) >= 2)
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!high.is_empty(), "production has high findings");

    // Every high rule waived, and one waiver long expired.
    let expired = "[[waiver]]\nrule = \"SSL004\"\nhost = \"nowhere-*\"\n\
                   justification = \"old exception\"\nexpires = 2020-01-01\n";
    let pol = policy(dir.path(), &high, expired);
    let json = dir.path().join("waived.json");
    let junit = dir.path().join("junit.xml");
    let md = dir.path().join("summary.md");
    let o = scan(&[
        "--limit",
        "production",
        "--policy",
        p(&pol),
        "--json",
        p(&json),
        "--junit",
        p(&junit),
        "--markdown",
        p(&md),
    ]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("gate: passed (no findings at or above high)"),
        "{}",
        stdout(&o)
    );
    let warning = format!(
        "warning: waiver for SSL004 on nowhere-* expired on 2020-01-01 ({}:",
        pol.display()
    );
    assert!(stderr(&o).contains(&warning), "{}", stderr(&o));
    let waived = read_json(&json);
    for f in findings(&waived) {
        let rule = f["rule_id"].as_str().unwrap();
        assert_eq!(f.get("suppressed").is_some(), high.contains(rule), "{f}");
    }
    assert_eq!(waived["expired_waivers"].as_array().unwrap().len(), 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<skipped message=\"waived until 2099-12-31: accepted in CHG-"));
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.contains("**Gate: passed**"), "{summary}");
    assert!(summary.contains("**1 waiver expired**"), "{summary}");

    // The waiver of one high rule expired: its findings count again.
    let mut rest = high.clone();
    let first = rest.pop_first().unwrap();
    let extra = format!(
        "[[waiver]]\nrule = \"{first}\"\nhost = \"*\"\njustification = \"lapsed\"\nexpires = 2021-06-30\n"
    );
    let pol = policy(dir.path(), &rest, &extra);
    let o = scan(&[
        "--limit",
        "production",
        "--policy",
        p(&pol),
        "--json",
        p(&json),
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!(
            "warning: waiver for {first} on * expired on 2021-06-30"
        )),
        "{}",
        stderr(&o)
    );
    let lapsed = read_json(&json);
    assert!(
        active(&lapsed).any(|f| f["rule_id"] == first.as_str()),
        "{first} counts again"
    );
}

#[test]
fn an_unreachable_host_fails_unless_waived_or_never() {
    let dir = tempfile::tempdir().unwrap();
    let (_, full) = report(dir.path(), "full.json", None);
    let mut high: BTreeSet<String> = active(&full)
        .filter(|f| rank(f["severity"].as_str().unwrap()) >= 2)
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    high.remove("SCAN001");
    let pol = policy(dir.path(), &high, "");
    let o = scan(&["--policy", p(&pol)]);
    assert_exit(&o, 1);
    let n = active(&full).filter(|f| f["rule_id"] == "SCAN001").count();
    assert!(
        stdout(&o).contains(&format!(
            "gate: FAILED ({n} finding{} at or above high; hosts that could not be (fully) scanned always fail an audit)",
            if n == 1 { "" } else { "s" }
        )),
        "{}",
        stdout(&o)
    );
    assert_exit(&scan(&["--policy", p(&pol), "--fail-on", "never"]), 0);
    // Waiving SCAN001 is an explicit decision: then the gate passes.
    high.insert("SCAN001".into());
    let pol = policy(dir.path(), &high, "");
    assert_exit(&scan(&["--policy", p(&pol)]), 0);
}

#[test]
fn baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let base_json = dir.path().join("base.json");
    let base_sarif = dir.path().join("base.sarif");
    assert_exit(
        &scan(&[
            "-q",
            "--fail-on",
            "never",
            "--json",
            p(&base_json),
            "--sarif",
            p(&base_sarif),
        ]),
        0,
    );
    let base = read_json(&base_json);
    let all = fingerprints(&base);

    for baseline in [&base_json, &base_sarif] {
        // Nothing is new, yet the gate fails: the unreachable host is not
        // new either, but an audit that could not reach a host never passes.
        let cur = dir.path().join("cur.json");
        let sarif = dir.path().join("cur.sarif");
        let o = scan(&[
            "--baseline",
            p(baseline),
            "--fail-on-new",
            "--json",
            p(&cur),
            "--sarif",
            p(&sarif),
        ]);
        assert_exit(&o, 1);
        let out = stdout(&o);
        assert!(
            out.contains(&format!(
                "baseline {}: 0 new, {} unchanged, 0 fixed",
                baseline.display(),
                all.len()
            )),
            "{out}"
        );
        assert!(
            out.contains(
                "gate: FAILED (hosts that could not be (fully) scanned always fail an audit)"
            ),
            "{out}"
        );
        let cur = read_json(&cur);
        let b = &cur["baseline"];
        assert_eq!(b["new"], 0);
        assert_eq!(b["absent"], 0);
        assert_eq!(b["unchanged"], all.len());
        assert_eq!(cur["findings"], base["findings"]);
        let log = read_json(&sarif);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert!(results.iter().all(|r| r["baselineState"] == "unchanged"));

        // With `never`, nothing fails.
        assert_exit(
            &scan(&[
                "-q",
                "--baseline",
                p(baseline),
                "--fail-on-new",
                "--fail-on",
                "never",
            ]),
            0,
        );
    }

    // Production alone: nothing new and every host reached, so it passes,
    // although it has high findings; staging's findings are absent.
    let prod = dir.path().join("prod.json");
    let psarif = dir.path().join("prod.sarif");
    let o = scan(&[
        "--limit",
        "production",
        "--baseline",
        p(&base_json),
        "--fail-on-new",
        "--json",
        p(&prod),
        "--sarif",
        p(&psarif),
    ]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("gate: passed (no new findings at or above high)"),
        "{}",
        stdout(&o)
    );
    let prod = read_json(&prod);
    let staging: BTreeSet<String> = findings(&base)
        .iter()
        .filter(|f| f["environment"] == "staging")
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert!(!staging.is_empty());
    assert_eq!(prod["baseline"]["absent"], staging.len());
    let log = read_json(&psarif);
    let absent: Vec<&Value> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["baselineState"] == "absent")
        .collect();
    assert_eq!(absent.len(), staging.len());
    assert!(absent.iter().all(|r| r["level"] == "none"));
    // Without --fail-on-new the same scan fails on its high findings.
    assert_exit(
        &scan(&["-q", "--limit", "production", "--baseline", p(&base_json)]),
        1,
    );

    // A baseline of production only: staging's findings are new.
    let (prod_base, _) = report(dir.path(), "prod-base.json", Some("production"));
    let cur = dir.path().join("staging.json");
    let o = scan(&[
        "--limit",
        "staging",
        "--baseline",
        p(&prod_base),
        "--fail-on-new",
        "--json",
        p(&cur),
    ]);
    assert_exit(&o, 1);
    let cur = read_json(&cur);
    assert_eq!(cur["baseline"]["new"], staging.len());
}

#[test]
fn baseline_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = scan(&["--fail-on-new"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--baseline"), "{}", stderr(&o));

    let missing = dir.path().join("missing.json");
    let o = scan(&["--baseline", p(&missing)]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("reading baseline"), "{}", stderr(&o));

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let o = scan(&["--baseline", p(&bad)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&format!("baseline {}: neither", bad.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn merge_of_limited_scans_equals_the_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = |name: &str| d.join(name);
    for (env, limit) in [
        ("all", None),
        ("production", Some("production")),
        ("staging", Some("staging")),
    ] {
        let mut args = vec!["-q", "--fail-on", "never", "--category", "sslaudit/demo/"];
        let json = out(&format!("{env}.json"));
        let sarif = out(&format!("{env}.sarif"));
        args.extend_from_slice(&["--json", p(&json), "--sarif", p(&sarif)]);
        if let Some(l) = limit {
            args.extend_from_slice(&["--limit", l]);
        }
        assert_exit(&scan(&args), 0);
    }

    let merged = out("merged.json");
    let o = sslaudit(&[
        "merge",
        p(&out("staging.json")),
        p(&out("production.json")),
        "-o",
        p(&merged),
    ]);
    assert_exit(&o, 0);
    let full = read_json(&out("all.json"));
    let m = read_json(&merged);
    assert!(!findings(&full).is_empty());
    assert_eq!(m["findings"], full["findings"]);
    assert_eq!(m["hosts"], full["hosts"]);
    assert_eq!(m.get("certificates"), full.get("certificates"));
    assert_eq!(m.get("expired_waivers"), full.get("expired_waivers"));
    // The same scan but for what it says it covered: both --limit globs.
    assert_eq!(
        m["scope"]["limit"],
        serde_json::json!(["staging", "production"])
    );
    let (mut m, mut full) = (m, full);
    for r in [&mut m, &mut full] {
        r.as_object_mut().unwrap().remove("scope");
    }
    assert_eq!(m, full);

    let merged = out("merged.sarif");
    let o = sslaudit(&[
        "merge",
        p(&out("production.sarif")),
        p(&out("staging.sarif")),
        "-o",
        p(&merged),
    ]);
    assert_exit(&o, 0);
    let full = read_json(&out("all.sarif"));
    let m = read_json(&merged);
    let (mr, fr) = (&m["runs"][0], &full["runs"][0]);
    let strip = |results: &Value| -> Vec<Value> {
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
    };
    assert_eq!(strip(&mr["results"]), strip(&fr["results"]));
    assert_eq!(mr["originalUriBaseIds"], fr["originalUriBaseIds"]);
    assert_eq!(mr["automationDetails"]["id"], "sslaudit/demo/");
    // One invocation, as one scan has, with both shards' notifications.
    assert_eq!(mr["invocations"], fr["invocations"]);
    let ids: Vec<&str> = mr["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for r in mr["results"].as_array().unwrap() {
        assert_eq!(
            r["ruleIndex"].as_u64().unwrap() as usize,
            index[r["ruleId"].as_str().unwrap()],
            "{r}"
        );
    }

    // Mixed kinds and shards of other days are refused, naming the files.
    let o = sslaudit(&[
        "merge",
        p(&out("all.json")),
        p(&out("all.sarif")),
        "-o",
        p(&out("x")),
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("cannot merge JSON reports"),
        "{}",
        stderr(&o)
    );
    let other_day = out("other-day.json");
    assert_exit(
        &sslaudit(&[
            "scan",
            "--snapshot",
            &demo(),
            "--as-of",
            "2026-01-01",
            "-q",
            "--fail-on",
            "never",
            "--limit",
            "staging",
            "--json",
            p(&other_day),
        ]),
        0,
    );
    let o = sslaudit(&[
        "merge",
        p(&out("production.json")),
        p(&other_day),
        "-o",
        p(&out("x")),
    ]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("as_of differs"), "{}", stderr(&o));
    assert!(stderr(&o).contains("other-day.json"), "{}", stderr(&o));
    assert!(!out("x").exists());
}

#[test]
fn ci_report_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (_, full) = report(dir.path(), "full.json", None);
    let junit = dir.path().join("junit.xml");
    let md = dir.path().join("summary.md");
    let html = dir.path().join("report.html");
    let o = scan(&[
        "-q",
        "--junit",
        p(&junit),
        "--markdown",
        p(&md),
        "--html",
        p(&html),
        "--title",
        "demo fleet",
    ]);
    assert_exit(&o, 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let hosts = full["hosts"].as_array().unwrap().len();
    assert_eq!(xml.matches("<testsuite ").count(), hosts);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    let failures = xml.matches("<failure ").count();
    assert_eq!(failures, active(&full).count());
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.starts_with("## demo fleet\n"), "{summary}");
    assert!(summary.contains("**Gate: FAILED**"), "{summary}");
    assert!(!std::fs::read_to_string(&html).unwrap().is_empty());
}

#[test]
fn one_report_on_stdout_moves_the_summary_to_stderr() {
    let o = scan(&["--json", "-"]);
    assert_exit(&o, 1);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report["findings"].is_array());
    assert!(stderr(&o).contains("gate: FAILED"), "{}", stderr(&o));

    let o = scan(&["--json", "-", "--junit", "-"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("--json, --junit all write to stdout"),
        "{}",
        stderr(&o)
    );
}
